//! A WHIP publisher and a WHEP player on webrtc-rs: an implementation that is not the
//! server's, speaking RFC 9725 over plain HTTP (reqwest) like a hall's encoder or a player.
//! The publisher sends the synthetic site media ([`crate::synth`]: every packet carries its
//! source and whether it starts a keyframe) and answers keyframe requests; the player
//! records what it receives per source.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use webrtc::media_stream::track_remote::TrackRemoteEvent;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

use crate::meter::StreamMeter;
use crate::pacer::{Entry, Pacer, Publisher as Control};
use crate::payload::Layer;
use crate::peer::{Peer, PeerEvent};
use crate::synth::{AudioSynth, VideoSynth};

/// An HTTP answer, as a test looks at it.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `Location`, when given.
    pub location: Option<String>,
    /// `ETag`, when given.
    pub etag: Option<String>,
    /// `Content-Type`, when given.
    pub content_type: Option<String>,
    /// The body.
    pub body: String,
}

/// `POST`s `body` as `content_type` to `url` with `token` as bearer.
pub async fn post(
    url: &str,
    token: &str,
    content_type: &str,
    body: String,
) -> anyhow::Result<Reply> {
    let r = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await?;
    reply(r).await
}

/// `DELETE`s `url` with `token` as bearer.
pub async fn delete(url: &str, token: &str) -> anyhow::Result<Reply> {
    reply(
        reqwest::Client::new()
            .delete(url)
            .bearer_auth(token)
            .send()
            .await?,
    )
    .await
}

async fn reply(r: reqwest::Response) -> anyhow::Result<Reply> {
    let header = |n: reqwest::header::HeaderName| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Reply {
        status: r.status().as_u16(),
        location: header(reqwest::header::LOCATION),
        etag: header(reqwest::header::ETAG),
        content_type: header(reqwest::header::CONTENT_TYPE),
        body: r.text().await?,
    })
}

/// The offer with its host candidate, as a non-trickling WHIP client sends it.
async fn offer(pc: &dyn PeerConnection) -> anyhow::Result<String> {
    let offer = pc.create_offer(None).await?;
    pc.set_local_description(offer).await?;
    crate::peer::local_sdp_with_candidates(pc).await
}

/// `origin` + a `Location` path.
fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{}{location}", origin.trim_end_matches('/'))
    }
}

fn origin_of(url: &str) -> &str {
    let after = url.find("://").map_or(0, |i| i + 3);
    url[after..].find('/').map_or(url, |i| &url[..after + i])
}

/// A running WHIP publication.
pub struct Publication {
    /// The connection.
    pub peer: Peer,
    /// The resource URL (`Location`).
    pub resource: String,
    /// The encoder's controls.
    pub control: Arc<Control>,
    _pacer: Pacer,
}

impl Publication {
    /// Publishes to `url` with `token` from `ip`, stamping every packet with `source`.
    pub async fn start(
        ip: IpAddr,
        url: &str,
        token: &str,
        source: u16,
    ) -> anyhow::Result<Publication> {
        let (peer, mut events) = Peer::build_publisher(ip, u32::from(source)).await?;
        let sdp = offer(peer.pc.as_ref()).await?;
        let r = post(url, token, "application/sdp", sdp).await?;
        if r.status != 201 {
            bail!("WHIP POST answered {}: {}", r.status, r.body);
        }
        let location = r.location.context("201 without Location")?;
        peer.answer(r.body).await?;
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await {
                Ok(Some(PeerEvent::State(
                    webrtc::peer_connection::RTCPeerConnectionState::Connected,
                ))) => break,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => bail!("the WHIP connection did not come up in 10 s"),
            }
        }
        let (mic_ids, [q, h, f]) = peer.stream_ids().await?;
        let control = Control::new(true);
        let pacer = Pacer::start();
        pacer.register(Entry {
            control: control.clone(),
            mic: peer.mic.clone(),
            camera: peer.camera.clone(),
            audio: AudioSynth::new(source, mic_ids),
            video: [
                VideoSynth::new(source, Layer::Low, q, 0),
                VideoSynth::new(source, Layer::Mid, h, 0),
                VideoSynth::new(source, Layer::High, f, 0),
            ],
        });
        let layers = peer.camera_ssrcs;
        let c = control.clone();
        tokio::spawn(crate::peer::keyframe_requests(
            peer.camera.clone(),
            move |ssrc| {
                if let Some(layer) = Layer::ALL.into_iter().find(|l| layers[l.index()] == ssrc) {
                    c.request_keyframe(layer);
                }
            },
        ));
        Ok(Publication {
            resource: absolute(origin_of(url), &location),
            peer,
            control,
            _pacer: pacer,
        })
    }

    /// Stops sending and closes the connection (without `DELETE`).
    pub async fn stop(&self) {
        self.control.stop();
        self.peer.close().await;
    }
}

/// What a receiver saw, per source (the synthetic payload's marker).
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Video packets per source.
    pub video: HashMap<u16, u64>,
    /// Keyframe starts per source.
    pub keyframes: HashMap<u16, u64>,
    /// Audio packets per source.
    pub audio: HashMap<u16, u64>,
    /// Video SSRCs seen.
    pub video_ssrcs: Vec<u32>,
}

/// Records every packet a connection's tracks deliver into `seen`, until the tracks end.
pub fn record(mut events: tokio::sync::mpsc::UnboundedReceiver<PeerEvent>, seen: Arc<Mutex<Seen>>) {
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let PeerEvent::Track(track) = ev else {
                continue;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
                let audio = track.kind().await == RtpCodecKind::Audio;
                let mut meters: HashMap<u32, StreamMeter> = HashMap::new();
                while let Some(ev) = track.poll().await {
                    let TrackRemoteEvent::OnRtpPacket(p) = ev else {
                        continue;
                    };
                    let ssrc = p.header.ssrc;
                    let m = meters
                        .entry(ssrc)
                        .or_insert_with(|| StreamMeter::new(audio));
                    let now = crate::clock::micros();
                    let Some(marker) = m.push(
                        p.header.sequence_number,
                        p.header.timestamp,
                        &p.payload,
                        now,
                    ) else {
                        continue;
                    };
                    let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                    if audio {
                        *s.audio.entry(marker.source).or_default() += 1;
                    } else {
                        *s.video.entry(marker.source).or_default() += 1;
                        if marker.keyframe {
                            *s.keyframes.entry(marker.source).or_default() += 1;
                        }
                        if !s.video_ssrcs.contains(&ssrc) {
                            s.video_ssrcs.push(ssrc);
                        }
                    }
                }
            });
        }
    });
}

/// A WHEP player: one video and one audio `recvonly` section.
pub struct Player {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    /// The resource URL.
    pub resource: String,
    /// What it received.
    pub seen: Arc<Mutex<Seen>>,
}

impl Player {
    /// Pulls from `url` with `token` from `ip`.
    pub async fn start(ip: IpAddr, url: &str, token: &str) -> anyhow::Result<Player> {
        use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
        use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
        let (pc, events) = crate::peer::connection(ip, false).await?;
        let recv = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                ..Default::default()
            })
        };
        pc.add_transceiver_from_kind(RtpCodecKind::Video, recv())
            .await?;
        pc.add_transceiver_from_kind(RtpCodecKind::Audio, recv())
            .await?;
        let sdp = offer(pc.as_ref()).await?;
        let r = post(url, token, "application/sdp", sdp).await?;
        if r.status != 201 {
            bail!("WHEP POST answered {}: {}", r.status, r.body);
        }
        let location = r.location.context("201 without Location")?;
        pc.set_remote_description(RTCSessionDescription::answer(r.body)?)
            .await?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        record(events, seen.clone());
        Ok(Player {
            pc,
            resource: absolute(origin_of(url), &location),
            seen,
        })
    }

    /// A copy of what it received so far.
    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
