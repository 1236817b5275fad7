//! An SDP offer from a browser, through the path a real one takes: the session's checks
//! (`limits.sdp_bytes`, `limits.tracks_per_site`), then the running media plane
//! (`Sfu::offer`: str0m's parser, the 128 media section cap, `accept_offer`, learning tracks
//! and slots), a renegotiation with the same offer, the `a=candidate` lines trickled as the
//! browser would, and subscriptions both ways with a well-formed Chromium peer (payload
//! type mapping between the two codec sets). The SFU runs on a loopback UDP port.
//!
//! Properties:
//! - nothing panics in this thread, and the media plane keeps running: an offer is accepted
//!   or refused, never `Stopped`. A panic on the media thread is left to unwind (libFuzzer's
//!   hook would abort at once): the engine catches one inside str0m's offer handling and
//!   drops that peer; anywhere else it ends the thread, and the next call fails here;
//! - an accepted offer's answer is SDP that parses, with one track per kind at most and
//!   slot mids that are distinct.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::limits::{published_tracks, Limits};
use sfu::{Layer, OfferError, PeerId, PeerLayout, Sfu, SfuConfig, Source, Subscription, TrackKind};
use str0m::change::SdpAnswer;

/// A real Chromium site offer (camera with three simulcast layers, microphone, receive
/// slots), the peer the fuzzed one exchanges media subscriptions with.
const CHROMIUM_OFFER: &str =
    include_str!("../../../signaling/fixtures/sdp/chromium-site-offer.sdp");

struct World {
    rt: tokio::runtime::Runtime,
    sfu: Sfu,
    /// Sends a datagram to the media port after each command: it wakes the media thread
    /// at once (it looks at commands every 5 ms otherwise), a 20x faster round trip.
    kick: std::net::UdpSocket,
    other: PeerId,
    other_layout: PeerLayout,
    next: AtomicU64,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("diemcau-media") {
                eprintln!("media thread panicked (left to unwind): {info}");
            } else {
                abort(info);
            }
        }));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let registry = prometheus::Registry::new();
        let config = SfuConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            announce_ip: None,
            tcp_bind: None,
            priority_boost: 0,
        };
        let (sfu, events) = rt
            .block_on(async { Sfu::start(config, &registry) })
            .expect("SFU starts");
        // Events are not needed; dropping the receiver is what a stopped signaling does.
        drop(events);
        let other = PeerId(1);
        let other_layout = rt
            .block_on(sfu.offer(other, CHROMIUM_OFFER.to_owned()))
            .expect("the Chromium fixture offer is accepted");
        let kick = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        World {
            rt,
            sfu,
            kick,
            other,
            other_layout,
            next: AtomicU64::new(2),
        }
    })
}

impl World {
    fn kick(&self) {
        let _ = self.kick.send_to(b"kick", self.sfu.local_addr());
    }

    /// Runs one call of the media plane's handle to completion, waking the thread once the
    /// command is queued (the first poll of `call` queues it).
    fn call<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(async {
            tokio::select! {
                biased;
                out = call => out,
                _ = async { self.kick(); std::future::pending::<()>().await } => unreachable!(),
            }
        })
    }
}

fn source(peer: PeerId, track: TrackKind) -> Option<Source> {
    Some(Source {
        peer,
        track,
        layer: Layer::High,
        priority: 0,
    })
}

/// Every slot of `sub` fed from `publisher`'s tracks: video from its camera (or screen),
/// audio from its microphone.
fn subscribe_all(
    sfu: &Sfu,
    sub: PeerId,
    sub_layout: &PeerLayout,
    publisher: PeerId,
    pub_layout: &PeerLayout,
) {
    let video = pub_layout.published.iter().copied().find(|k| !k.is_audio());
    let audio = pub_layout.published.iter().copied().find(|k| k.is_audio());
    let mut subs = Vec::new();
    for mid in &sub_layout.video_slots {
        subs.push(Subscription {
            slot: mid.clone(),
            source: video.and_then(|k| source(publisher, k)),
        });
    }
    for mid in &sub_layout.audio_slots {
        subs.push(Subscription {
            slot: mid.clone(),
            source: audio.and_then(|k| source(publisher, k)),
        });
    }
    sfu.set_subscriptions(sub, subs);
}

fn check_layout(layout: &PeerLayout) {
    SdpAnswer::from_sdp_string(&layout.answer_sdp)
        .unwrap_or_else(|e| panic!("answer does not parse ({e}):\n{}", layout.answer_sdp));
    for kind in [TrackKind::Audio, TrackKind::Camera, TrackKind::Screen] {
        assert!(
            layout.published.iter().filter(|k| **k == kind).count() <= 1,
            "two {kind:?} tracks"
        );
    }
    let mut mids: Vec<&String> = layout
        .video_slots
        .iter()
        .chain(&layout.audio_slots)
        .collect();
    let n = mids.len();
    mids.sort();
    mids.dedup();
    assert_eq!(mids.len(), n, "a slot mid appears twice");
}

/// One input; panics where it breaks a property above.
pub fn run(data: &[u8]) {
    let sdp = String::from_utf8_lossy(data).into_owned();
    // What the session refuses before the SFU sees it.
    let limits = Limits::default();
    if sdp.len() > limits.sdp_bytes || published_tracks(&sdp) > limits.tracks_per_site {
        return;
    }
    let w = world();
    let peer = PeerId(w.next.fetch_add(1, Ordering::Relaxed));
    let first = w.call(w.sfu.offer(peer, sdp.clone()));
    let layout = match first {
        Ok(layout) => layout,
        Err(OfferError::Parse(_) | OfferError::Refused(_)) => {
            assert!(
                w.call(w.sfu.ping()),
                "media plane stopped after a refused offer"
            );
            return;
        }
        Err(OfferError::Stopped) => panic!("media plane stopped"),
    };
    check_layout(&layout);
    for line in sdp.lines().filter(|l| l.starts_with("a=candidate")) {
        if let Err(sfu::CandidateError::Stopped) =
            w.call(w.sfu.add_candidate(peer, line.to_owned()))
        {
            panic!("media plane stopped on a candidate");
        }
    }
    subscribe_all(&w.sfu, peer, &layout, w.other, &w.other_layout);
    subscribe_all(&w.sfu, w.other, &w.other_layout, peer, &layout);
    w.kick();
    match w.call(w.sfu.offer(peer, sdp)) {
        Ok(again) => check_layout(&again),
        Err(OfferError::Parse(_) | OfferError::Refused(_)) => {}
        Err(OfferError::Stopped) => panic!("media plane stopped on renegotiation"),
    }
    w.sfu.remove_peer(peer);
    w.kick();
    assert!(w.call(w.sfu.ping()), "media plane stopped");
}
