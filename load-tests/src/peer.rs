//! The only module that builds webrtc-rs peer connections: codecs, interceptors, loopback-only
//! ICE, and the transceivers of a site's offer in the order PROTOCOL.md "Media layout" fixes.
//!
//! A [`Peer`] is target-neutral: diemcau wants one connection that publishes and receives;
//! a Janus VideoRoom site builds a publishing [`Peer`] with no receive slots and one bare
//! [`connection`] per subscription, which answers Janus's offer.

use std::net::IpAddr;
use std::sync::Arc;

use anyhow::Context;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{
    Attribute, Interceptor, NackGeneratorBuilder, NackResponderBuilder, Packet, Registry, Slot,
    StreamInfo, TaggedPacket,
};
use rtc::media_stream::MediaStreamTrack;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::time::Instant;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    configure_rtcp_reports, configure_twcc_receiver_only, crypto, MediaEngine, PeerConnection,
    PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCPeerConnectionState, RTCSessionDescription, SettingEngineBuilder,
};
use webrtc::runtime::TokioRuntime;

use crate::payload::Layer;
use crate::synth::{extension, StreamIds};

/// Opus payload type we offer.
pub const OPUS_PT: u8 = 111;
/// VP8 payload type we offer.
pub const VP8_PT: u8 = 96;
/// RTX payload type for VP8.
pub const RTX_PT: u8 = 97;
/// Sent packets kept per stream for NACK answers (~1.5 s of the top layer).
const NACK_HISTORY: u16 = 256;

/// Pace of ICE connectivity checks.
const ICE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const RRID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

/// What happens to a peer connection, in the order it happens.
pub enum PeerEvent {
    /// Connection state changed.
    State(RTCPeerConnectionState),
    /// A receive slot started delivering.
    Track(Arc<dyn TrackRemote>),
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.send(PeerEvent::State(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send(PeerEvent::Track(track));
    }
}

/// Hands PLI and FIR to the application (inbound RTCP stops inside the chain otherwise), so
/// the synthetic encoder can answer a keyframe request like a browser does.
#[derive(Default)]
struct KeyframeRequests {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let requests: Vec<_> = packets
                .iter()
                .filter(|p| {
                    p.as_any().is::<PictureLossIndication>() || p.as_any().is::<FullIntraRequest>()
                })
                .cloned()
                .collect();
            if requests.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(requests);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _: &StreamInfo) {}
}

fn feedback(typ: &str, parameter: &str) -> RTCPFeedback {
    RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    }
}

fn codec(
    mime: &str,
    clock_rate: u32,
    channels: u16,
    fmtp: &str,
    fb: Vec<RTCPFeedback>,
) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: mime.into(),
        clock_rate,
        channels,
        sdp_fmtp_line: fmtp.into(),
        rtcp_feedback: fb,
    }
}

fn opus() -> RTCRtpCodec {
    codec(
        "audio/opus",
        48_000,
        2,
        "minptime=10;useinbandfec=1",
        vec![],
    )
}

fn vp8() -> RTCRtpCodec {
    let fb = vec![
        feedback("ccm", "fir"),
        feedback("nack", ""),
        feedback("nack", "pli"),
    ];
    codec("video/VP8", 90_000, 0, "", fb)
}

/// Opus and VP8 (with RTX) only, like a browser that prefers VP8; mid on both kinds, the
/// simulcast ids on video; transport-cc so the SFU can estimate its bandwidth to us.
fn media_engine() -> anyhow::Result<MediaEngine> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: vp8(),
            payload_type: VP8_PT,
        },
        RtpCodecKind::Video,
    )?;
    let rtx = codec("video/rtx", 90_000, 0, &format!("apt={VP8_PT}"), vec![]);
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: rtx,
            payload_type: RTX_PT,
        },
        RtpCodecKind::Video,
    )?;
    for (uri, kind) in [
        (MID_URI, RtpCodecKind::Audio),
        (MID_URI, RtpCodecKind::Video),
        (RID_URI, RtpCodecKind::Video),
        (RRID_URI, RtpCodecKind::Video),
    ] {
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: uri.into() },
            kind,
            None,
        )?;
    }
    Ok(me)
}

/// The synthetic camera track: one encoding per layer, each with its rid and SSRC.
fn camera_track(ssrcs: [u32; 3]) -> MediaStreamTrack {
    let codings = Layer::ALL
        .iter()
        .zip(ssrcs)
        .map(|(layer, ssrc)| RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                rid: layer.rid().into(),
                ssrc: Some(ssrc),
                ..Default::default()
            },
            active: true,
            codec: vp8(),
            ..Default::default()
        })
        .collect();
    MediaStreamTrack::new(
        "site".into(),
        "camera".into(),
        "camera".into(),
        RtpCodecKind::Video,
        codings,
    )
}

/// The screen: one encoding, never written until the site presents.
fn screen_track(ssrc: u32) -> MediaStreamTrack {
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        active: true,
        codec: vp8(),
        ..Default::default()
    };
    MediaStreamTrack::new(
        "site".into(),
        "screen".into(),
        "screen".into(),
        RtpCodecKind::Video,
        vec![coding],
    )
}

fn mic_track(ssrc: u32) -> MediaStreamTrack {
    let coding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        active: true,
        codec: opus(),
        ..Default::default()
    };
    MediaStreamTrack::new(
        "site".into(),
        "mic".into(),
        "mic".into(),
        RtpCodecKind::Audio,
        vec![coding],
    )
}

/// A bare peer connection as every simulated site uses it: Opus and VP8 only, NACK, TWCC
/// feedback, RTCP reports, keyframe requests handed to the application, bound to `ip` only
/// (loopback in every test: no other host candidate, no mDNS name). [`Peer::build`] adds a
/// diemcau site's transceivers; where the server offers (a Janus subscriber), the remote
/// offer creates them.
///
/// A `light` connection sees only a sample of what it receives (the rest is counted by a
/// [`crate::tap`] in front of it), so it must say nothing about reception: no NACKs (every
/// unsampled packet would look lost), no receiver reports (15 in 16 lost), and no
/// transport-cc of its own: it negotiates transport-cc, and the tap, which sees every packet,
/// builds the feedback ([`crate::tap::twcc`]). It still answers NACKs for what it sends.
pub async fn connection(
    ip: IpAddr,
    light: bool,
) -> anyhow::Result<(Arc<dyn PeerConnection>, mpsc::UnboundedReceiver<PeerEvent>)> {
    let mut me = media_engine()?;
    let registry = Registry::new().with(
        Slot::NackResponder,
        NackResponderBuilder::new().with_size(NACK_HISTORY).build(),
    );
    let registry = if light {
        negotiate_transport_cc(&mut me)?;
        registry
    } else {
        let registry = registry.with(Slot::NackGenerator, NackGeneratorBuilder::new().build());
        let registry = configure_twcc_receiver_only(registry, &mut me)?;
        configure_rtcp_reports(registry)
    };
    let registry = registry.with(Slot::from(14_000), KeyframeRequests::default());
    let settings = SettingEngineBuilder::new()
        .with_crypto_provider(Arc::new(crypto::providers::AwsLcRsProvider::new()))
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        // Browsers pace connectivity checks at Ta = 50 ms (RFC 8445 14.2); webrtc-rs's 200 ms
        // default would add ~300 ms to every join time we report.
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(28))
        .build();
    let (tx, rx) = mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(me)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_runtime(Arc::new(TokioRuntime))
        .with_handler(Arc::new(Handler { events: tx }))
        .with_udp_addrs(vec![std::net::SocketAddr::new(ip, 0)])
        .build()
        .await
        .context("building the peer connection")?;
    Ok((Arc::new(pc), rx))
}

/// transport-cc in the offer (the feedback type and the sequence number extension) without
/// webrtc-rs's receiver: a light site's tap sees every packet and builds the feedback
/// ([`crate::tap::twcc`]); the sampled peer connection would report 15 in 16 lost.
fn negotiate_transport_cc(me: &mut MediaEngine) -> anyhow::Result<()> {
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        me.register_feedback(feedback("transport-cc", ""), kind);
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: crate::tap::twcc::URI.into(),
            },
            kind,
            None,
        )?;
    }
    Ok(())
}

/// What to put in the offer.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// `recvonly` video transceivers after the three sending ones.
    pub recv_video: u16,
    /// `recvonly` audio transceivers after those.
    pub recv_audio: u16,
}

/// A site's peer connection with its two sending tracks.
pub struct Peer {
    /// The connection.
    pub pc: Arc<dyn PeerConnection>,
    /// Microphone track.
    pub mic: Arc<TrackLocalStaticRTP>,
    /// Camera track (three simulcast encodings).
    pub camera: Arc<TrackLocalStaticRTP>,
    /// SSRC of the microphone.
    pub mic_ssrc: u32,
    /// SSRCs of the camera layers, lowest first.
    pub camera_ssrcs: [u32; 3],
}

impl Peer {
    /// Builds the connection bound to `ip` only (loopback in every test: no other host
    /// candidate, no mDNS name) with the transceivers of `layout`. `seed` makes SSRCs unique;
    /// `light`: see [`connection`].
    pub async fn build(
        ip: IpAddr,
        layout: Layout,
        seed: u32,
        light: bool,
    ) -> anyhow::Result<(Peer, mpsc::UnboundedReceiver<PeerEvent>)> {
        let (pc, rx) = connection(ip, light).await?;
        let base = seed.wrapping_mul(16).wrapping_add(0x1000_0000);
        let mic_ssrc = base;
        let camera_ssrcs = [base + 1, base + 2, base + 3];
        let mic = Arc::new(TrackLocalStaticRTP::new(mic_track(mic_ssrc)));
        let camera = Arc::new(TrackLocalStaticRTP::new(camera_track(camera_ssrcs)));
        let send = |encodings| {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: encodings,
            })
        };
        let recv = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                ..Default::default()
            })
        };
        pc.add_transceiver_from_track(mic.clone(), send(vec![]))
            .await?;
        pc.add_transceiver_from_track(camera.clone(), send(vec![]))
            .await?;
        // The screen: sendonly, no picture until the site presents.
        let screen = Arc::new(TrackLocalStaticRTP::new(screen_track(base + 4)));
        pc.add_transceiver_from_track(screen, send(vec![])).await?;
        for _ in 0..layout.recv_video {
            pc.add_transceiver_from_kind(RtpCodecKind::Video, recv())
                .await?;
        }
        for _ in 0..layout.recv_audio {
            pc.add_transceiver_from_kind(RtpCodecKind::Audio, recv())
                .await?;
        }
        Ok((
            Peer {
                pc,
                mic,
                camera,
                mic_ssrc,
                camera_ssrcs,
            },
            rx,
        ))
    }

    /// A WHIP publisher's connection (RFC 9725: what a hall's encoder offers): the
    /// microphone and the simulcast camera, `sendonly`, and nothing else.
    pub async fn build_publisher(
        ip: IpAddr,
        seed: u32,
    ) -> anyhow::Result<(Peer, mpsc::UnboundedReceiver<PeerEvent>)> {
        let (pc, rx) = connection(ip, false).await?;
        let base = seed.wrapping_mul(16).wrapping_add(0x1000_0000);
        let mic_ssrc = base;
        let camera_ssrcs = [base + 1, base + 2, base + 3];
        let mic = Arc::new(TrackLocalStaticRTP::new(mic_track(mic_ssrc)));
        let camera = Arc::new(TrackLocalStaticRTP::new(camera_track(camera_ssrcs)));
        let send = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: vec![],
            })
        };
        pc.add_transceiver_from_track(mic.clone(), send()).await?;
        pc.add_transceiver_from_track(camera.clone(), send())
            .await?;
        Ok((
            Peer {
                pc,
                mic,
                camera,
                mic_ssrc,
                camera_ssrcs,
            },
            rx,
        ))
    }

    /// Creates the offer and sets it as the local description; returns its SDP. ICE
    /// candidates are gathered into it (no trickle: one host candidate on loopback).
    pub async fn offer(&self) -> anyhow::Result<String> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer).await?;
        let desc = self
            .pc
            .local_description()
            .await
            .context("no local description")?;
        Ok(desc.sdp)
    }

    /// Applies the SFU's answer.
    pub async fn answer(&self, sdp: String) -> anyhow::Result<()> {
        let answer = RTCSessionDescription::answer(sdp)?;
        self.pc.set_remote_description(answer).await?;
        Ok(())
    }

    /// The header fields the negotiation fixed for the microphone and each camera layer.
    pub async fn stream_ids(&self) -> anyhow::Result<(StreamIds, [StreamIds; 3])> {
        let mut mic = None;
        let mut camera = None;
        for t in self.pc.get_transceivers().await {
            let (Some(sender), Some(mid)) = (t.sender().await?, t.mid().await?) else {
                continue;
            };
            let params = sender.get_parameters().await?;
            let ext = |uri: &str| {
                params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == uri)
                    .map(|e| e.id as u8)
            };
            let pt = |mime: &str| {
                params
                    .rtp_parameters
                    .codecs
                    .iter()
                    .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                    .map(|c| c.payload_type)
            };
            let ssrcs: Vec<u32> = params
                .encodings
                .iter()
                .filter_map(|e| e.rtp_coding_parameters.ssrc)
                .collect();
            if ssrcs.contains(&self.mic_ssrc) {
                let mut extensions = Vec::new();
                if let Some(id) = ext(MID_URI) {
                    extensions.push(extension(id, &mid));
                }
                mic = Some(StreamIds {
                    ssrc: self.mic_ssrc,
                    payload_type: pt("audio/opus").context("Opus not negotiated")?,
                    extensions,
                });
            } else if ssrcs.contains(&self.camera_ssrcs[0]) {
                let payload_type = pt("video/VP8").context("VP8 not negotiated")?;
                let mid_id = ext(MID_URI).context("sdes:mid not negotiated for video")?;
                let rid_id = ext(RID_URI).context("rtp-stream-id not negotiated")?;
                camera = Some(Layer::ALL.map(|layer| StreamIds {
                    ssrc: self.camera_ssrcs[layer.index()],
                    payload_type,
                    extensions: vec![extension(mid_id, &mid), extension(rid_id, layer.rid())],
                }));
            }
        }
        Ok((
            mic.context("no microphone sender")?,
            camera.context("no camera sender")?,
        ))
    }

    /// Closes the connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// The local description once its host candidate is in it (candidates are gathered in the
/// background after `set_local_description`), for a remote that needs them in the SDP: Janus
/// runs full ICE and refuses an SDP without candidates when told there is no trickle. Gives
/// up after 2 s and returns what there is.
pub async fn local_sdp_with_candidates(pc: &dyn PeerConnection) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let sdp = pc
            .local_description()
            .await
            .context("no local description")?
            .sdp;
        if sdp.contains("a=candidate:") || tokio::time::Instant::now() >= deadline {
            return Ok(sdp);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Polls a sending track for keyframe requests, calling `on_request` with the SSRC asked for.
pub async fn keyframe_requests(track: Arc<TrackLocalStaticRTP>, mut on_request: impl FnMut(u32)) {
    use webrtc::media_stream::track_local::TrackLocalEvent;
    while let Some(ev) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = ev {
            for p in packets {
                if let Some(pli) = p.as_any().downcast_ref::<PictureLossIndication>() {
                    on_request(pli.media_ssrc);
                } else if let Some(fir) = p.as_any().downcast_ref::<FullIntraRequest>() {
                    for e in &fir.fir {
                        on_request(e.ssrc);
                    }
                }
            }
        }
    }
}
