//! The media plane accepts a real Chromium offer on its single UDP port: simulcast accepted,
//! one host candidate, tracks and receive slots recognised. Bad offers are refused cleanly.

use sfu::{OfferError, PeerId, Sfu, SfuConfig, TrackKind};

const CHROMIUM_OFFER: &str = include_str!("../../signaling/fixtures/sdp/chromium-site-offer.sdp");

fn start() -> Sfu {
    let config = SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
        priority_boost: 0,
    };
    Sfu::start(config, &prometheus::Registry::new()).unwrap().0
}

#[tokio::test]
async fn chromium_offer_is_answered_with_simulcast_and_the_single_port() {
    let sfu = start();
    let layout = sfu.offer(PeerId(1), CHROMIUM_OFFER.into()).await.unwrap();
    let answer = &layout.answer_sdp;
    assert!(
        answer.contains("a=simulcast:recv q;h;f"),
        "simulcast accepted:\n{answer}"
    );
    for rid in ["q", "h", "f"] {
        assert!(
            answer.contains(&format!("a=rid:{rid} recv")),
            "rid {rid} accepted"
        );
    }
    let port = sfu.local_addr().port();
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(!candidates.is_empty());
    assert!(
        candidates
            .iter()
            .all(|c| c.contains(&format!("127.0.0.1 {port} typ host"))),
        "{candidates:?}"
    );
    assert!(answer.contains("a=ice-lite"));
    assert_eq!(layout.published, vec![TrackKind::Audio, TrackKind::Camera]);
    assert_eq!(layout.video_slots.len(), 4);
    assert_eq!(layout.audio_slots.len(), 4);
    // Opus in-band FEC is on: a lost audio packet is rebuilt from the next one.
    let audio_section = answer.split("m=audio").nth(1).unwrap();
    assert!(
        audio_section.contains("useinbandfec=1"),
        "Opus FEC negotiated"
    );
    // VP8 and H.264 are both negotiated on the camera.
    let video_section = answer.split("m=video").nth(1).unwrap();
    assert!(video_section.contains("VP8/90000"));
    assert!(video_section.contains("H264/90000"));
    sfu.shutdown();
}

#[tokio::test]
async fn with_ice_tcp_the_answer_also_offers_a_passive_tcp_candidate_on_its_port() {
    let config = SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: Some("127.0.0.1:0".parse().unwrap()),
        priority_boost: 0,
    };
    let sfu = Sfu::start(config, &prometheus::Registry::new()).unwrap().0;
    let tcp = sfu.tcp_addr().expect("ICE-TCP bound");
    assert_ne!(tcp.port(), 0);
    let layout = sfu.offer(PeerId(1), CHROMIUM_OFFER.into()).await.unwrap();
    let candidates: Vec<&str> = layout
        .answer_sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    let udp = format!("127.0.0.1 {} typ host", sfu.local_addr().port());
    let tcp = format!("127.0.0.1 {} typ host tcptype passive", tcp.port());
    assert!(
        candidates
            .iter()
            .any(|c| c.contains(&udp) && c.contains(" udp ")),
        "{candidates:?}"
    );
    assert!(
        candidates
            .iter()
            .any(|c| c.contains(&tcp) && c.contains(" tcp ")),
        "{candidates:?}"
    );
    sfu.shutdown();
}

#[tokio::test]
async fn garbage_offer_is_a_parse_error_and_the_peer_is_not_kept() {
    let sfu = start();
    let err = sfu
        .offer(PeerId(1), "v=0\r\nthis is not sdp".into())
        .await
        .unwrap_err();
    assert!(matches!(err, OfferError::Parse(_)), "{err:?}");
    // The same peer id can still offer properly afterwards.
    assert!(sfu.offer(PeerId(1), CHROMIUM_OFFER.into()).await.is_ok());
    sfu.shutdown();
}

#[tokio::test]
async fn offer_with_too_many_media_lines_is_refused() {
    let sfu = start();
    let header_end = CHROMIUM_OFFER.find("m=audio").unwrap();
    let (head, body) = CHROMIUM_OFFER.split_at(header_end);
    let recv_audio = body
        .split("m=")
        .find(|s| s.starts_with("audio") && s.contains("a=recvonly"))
        .unwrap();
    let mut big = head.to_owned();
    for i in 0..200 {
        big.push_str("m=");
        big.push_str(&recv_audio.replacen("a=mid:", &format!("a=mid:z{i}-"), 1));
    }
    let err = sfu.offer(PeerId(2), big).await.unwrap_err();
    assert!(
        matches!(&err, OfferError::Refused(m) if m.contains("media lines")),
        "{err:?}"
    );
    sfu.shutdown();
}

/// Found by fuzz/ sdp_offer: the audio section maps payload type 108 to H.264 as the video
/// section does, and str0m 0.25 asserts ("Pt locked multiple times: 108") on the media
/// thread, which used to end it for every meeting.
fn offer_with_one_payload_type_in_two_sections() -> String {
    let fingerprint = ["AB"; 32].join(":");
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:abcd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        &format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=rtcp-mux",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:108 H264/90000",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 108",
        "c=IN IP4 0.0.0.0",
        "a=mid:1",
        "a=recvonly",
        "a=rtcp-mux",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:108 H264/90000",
        "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "",
    ]
    .join("\r\n")
}

#[tokio::test]
async fn an_offer_that_makes_the_webrtc_stack_panic_costs_only_the_offering_peer() {
    let sfu = start();
    assert!(sfu.offer(PeerId(1), CHROMIUM_OFFER.into()).await.is_ok());
    let err = sfu
        .offer(PeerId(2), offer_with_one_payload_type_in_two_sections())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OfferError::Refused(m) if m.contains("payload types")),
        "{err:?}"
    );
    assert!(sfu.ping().await, "the media thread is still running");
    // Others go on; the refused peer is gone and may offer again.
    assert!(sfu.offer(PeerId(3), CHROMIUM_OFFER.into()).await.is_ok());
    assert!(sfu.offer(PeerId(2), CHROMIUM_OFFER.into()).await.is_ok());
    sfu.shutdown();
}

#[test]
fn binding_every_interface_without_an_announced_address_is_a_clear_error() {
    let config = SfuConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
        priority_boost: 0,
    };
    let err = Sfu::start(config, &prometheus::Registry::new()).unwrap_err();
    assert!(err.to_string().contains("--announce-ip"), "{err}");
}

#[tokio::test]
async fn the_media_thread_answers_a_ping_until_it_is_shut_down() {
    let sfu = std::sync::Arc::new(start());
    assert!(sfu.ping().await, "a running media thread answers");
    let stopping = sfu.clone();
    tokio::task::spawn_blocking(move || stopping.shutdown())
        .await
        .unwrap();
    assert!(!sfu.ping().await, "a stopped one does not");
}
