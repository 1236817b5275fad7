//! What the tests of the engine core share (`core.rs`, and `estimator.rs` through `sim`): the
//! real [`Core`] on a virtual clock, and str0m clients that stand for browsers, set up and
//! negotiated the way a browser joins (offer over SDP, the core answers). Each test file
//! keeps its own network and its own media; only the setup lives here, so the two cannot
//! drift apart in how a browser is played.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use sfu::engine::{Core, CoreConfig};
use sfu::{PeerId, PeerLayout, SfuMetrics};
use str0m::change::{SdpAnswer, SdpApi, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input, Rtc};

/// The simulcast rids a browser offers, low to high.
pub const RIDS: [&str; 3] = ["q", "h", "f"];

/// The core at a fixed (virtual, never bound) address, started at `now`, with its own
/// metrics registry.
pub fn core(now: Instant) -> Core {
    str0m::crypto::from_feature_flags().install_process_default();
    let addr = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 40_000));
    let config = CoreConfig {
        announce: addr,
        tcp_announce: None,
        candidates: vec![Candidate::host(addr, "udp").expect("candidate")],
    };
    let metrics = SfuMetrics::register(&prometheus::Registry::new()).expect("metrics");
    Core::new(config, metrics, now)
}

/// A browser's peer connection at `addr` (RTP mode: the test writes packets itself).
pub fn browser(addr: SocketAddr, now: Instant) -> Rtc {
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
    rtc
}

/// Offers a microphone (`m=audio`, send only); every site's offer starts with it.
pub fn add_microphone(api: &mut SdpApi) -> Mid {
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None)
}

/// Offers a simulcast camera with the layers [`RIDS`] (send only).
pub fn add_camera(api: &mut SdpApi) -> Mid {
    let simulcast = Simulcast {
        send: RIDS.iter().map(|r| SimulcastLayer::new(r)).collect(),
        recv: Vec::new(),
    };
    api.add_media(
        MediaKind::Video,
        Direction::SendOnly,
        None,
        None,
        Some(simulcast),
    )
}

/// Offers one audio and one video slot to receive on.
pub fn add_receiving_slots(api: &mut SdpApi) {
    api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
}

/// Hands a client's offer to the core as peer `id` and applies the core's answer.
pub fn negotiate(
    core: &mut Core,
    id: PeerId,
    rtc: &mut Rtc,
    (offer, pending): (SdpOffer, SdpPendingOffer),
    now: Instant,
) -> PeerLayout {
    let layout = core
        .offer(id, &offer.to_sdp_string(), now)
        .expect("offer accepted");
    let answer = SdpAnswer::from_sdp_string(&layout.answer_sdp).expect("answer parses");
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("answer accepted");
    layout
}

/// The payload type `rtc` negotiated for `codec`, if any.
pub fn pt_of(rtc: &Rtc, codec: Codec) -> Option<Pt> {
    rtc.codec_config()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
}

/// A datagram from `source` to `destination` as a client's input at `now`; `None` if str0m
/// would not take it as one (a real socket would drop it too).
pub fn datagram_input(
    now: Instant,
    source: SocketAddr,
    destination: SocketAddr,
    contents: &[u8],
) -> Option<Input<'_>> {
    let contents = contents.try_into().ok()?;
    Some(Input::Receive(
        now,
        Receive {
            proto: Protocol::Udp,
            source,
            destination,
            contents,
        },
    ))
}
