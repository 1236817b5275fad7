//! The signaling protocol over a real WebSocket: every kind of bad input gets its own error,
//! and another site connected at the same time is not disturbed.

mod common;

use common::*;
use signaling::protocol::{ErrorCode, Presence, Role, ServerMessage};
use signaling::token::{unix_now, Claims, TokenKeys};

async fn expect_error(ws: &mut Ws, code: ErrorCode) -> String {
    match recv_type(ws, "error").await {
        ServerMessage::Error {
            code: got, message, ..
        } => {
            assert_eq!(got, code, "message: {message}");
            assert!(!message.is_empty());
            message
        }
        _ => unreachable!(),
    }
}

async fn ping(ws: &mut Ws, id: u64) {
    send(ws, format!(r#"{{"type":"ping","id":{id}}}"#)).await;
    assert_eq!(recv_type(ws, "pong").await, ServerMessage::Pong { id });
}

#[tokio::test]
async fn bad_inputs_get_their_specific_error_and_another_site_keeps_working() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);

    // Site B joins normally and stays connected throughout.
    let (mut b, joined) = join(srv.http, &m.sites[1].link).await;
    match joined {
        ServerMessage::Joined { you, receive, .. } => {
            assert_eq!(you.name, "Xã B");
            assert_eq!(you.role, Role::Site);
            assert!(receive.video >= 1 && receive.audio >= 1);
        }
        _ => unreachable!(),
    }

    let mut a = connect(srv.http).await;
    send(&mut a, "this is not json").await;
    expect_error(&mut a, ErrorCode::BadJson).await;
    send(&mut a, r#"{"type":"teleport"}"#).await;
    expect_error(&mut a, ErrorCode::UnknownType).await;
    send(&mut a, r#"{"type":"join","v":"1","token":7}"#).await;
    expect_error(&mut a, ErrorCode::BadMessage).await;
    send(
        &mut a,
        format!(r#"{{"type":"offer","sdp":"{}"}}"#, "x".repeat(300 * 1024)),
    )
    .await;
    expect_error(&mut a, ErrorCode::TooLarge).await;
    send(&mut a, r#"{"type":"offer","sdp":"v=0"}"#).await;
    expect_error(&mut a, ErrorCode::NotJoined).await;
    send(&mut a, r#"{"type":"join","v":2,"token":"x"}"#).await;
    expect_error(&mut a, ErrorCode::UnsupportedVersion).await;

    // Tampered: chair claims with the site's signature.
    let site_token = token_of(&m.sites[0].link);
    let chair_token = token_of(&m.chair.link);
    let parts: Vec<&str> = site_token.split('.').collect();
    let chair_parts: Vec<&str> = chair_token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], chair_parts[1], parts[2]);
    send(
        &mut a,
        format!(r#"{{"type":"join","v":1,"token":"{tampered}"}}"#),
    )
    .await;
    expect_error(&mut a, ErrorCode::InvalidToken).await;

    // Expired, and unknown meeting: properly signed with the server's secret.
    let keys = TokenKeys::new(SECRET);
    let claims = |mid: &str, exp: u64| Claims {
        mid: mid.into(),
        sid: "s1".into(),
        role: Role::Site,
        exp,
        iat: unix_now() - 10,
        jti: "t".into(),
    };
    let expired = keys.sign(&claims(&m.id, unix_now() - 5));
    send(
        &mut a,
        format!(r#"{{"type":"join","v":1,"token":"{expired}"}}"#),
    )
    .await;
    expect_error(&mut a, ErrorCode::TokenExpired).await;
    let elsewhere = keys.sign(&claims("m-doesnotexist", unix_now() + 60));
    send(
        &mut a,
        format!(r#"{{"type":"join","v":1,"token":"{elsewhere}"}}"#),
    )
    .await;
    expect_error(&mut a, ErrorCode::UnknownMeeting).await;

    // A site token cannot do chair actions.
    send(
        &mut a,
        format!(r#"{{"type":"join","v":1,"token":"{site_token}"}}"#),
    )
    .await;
    recv_type(&mut a, "joined").await;
    send(&mut a, r#"{"type":"end_meeting"}"#).await;
    expect_error(&mut a, ErrorCode::Forbidden).await;
    send(
        &mut a,
        format!(r#"{{"type":"join","v":1,"token":"{site_token}"}}"#),
    )
    .await;
    expect_error(&mut a, ErrorCode::AlreadyJoined).await;
    send(
        &mut a,
        r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#,
    )
    .await;
    expect_error(&mut a, ErrorCode::NoOffer).await;
    send(&mut a, r#"{"type":"offer","sdp":"this is not sdp"}"#).await;
    expect_error(&mut a, ErrorCode::BadSdp).await;
    ping(&mut a, 1).await;

    // B never saw any of it and still works; the meeting was not ended.
    ping(&mut b, 42).await;
    let meeting = srv.state.meetings.get(&m.id).unwrap();
    assert!(!meeting.read(signaling::meeting::State::is_ended));
    let errors = srv
        .state
        .metrics
        .errors
        .with_label_values(&["bad_json"])
        .get();
    assert_eq!(errors, 1);
}

#[tokio::test]
async fn chair_sees_sites_arrive_and_leave_and_ending_closes_every_link() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, joined) = join(srv.http, &m.chair.link).await;
    let ServerMessage::Joined { sites, .. } = joined else {
        unreachable!()
    };
    assert_eq!(sites.len(), 4, "chair sees the whole roster");
    assert!(sites
        .iter()
        .filter(|s| s.role == Role::Site)
        .all(|s| s.state == Presence::Waiting));

    let (mut a, joined_a) = join(srv.http, &m.sites[0].link).await;
    let ServerMessage::Joined {
        sites: seen_by_site,
        ..
    } = joined_a
    else {
        unreachable!()
    };
    assert!(
        seen_by_site
            .iter()
            .all(|s| s.id == "s1" || s.role == Role::Chair),
        "a site sees only itself and the chair"
    );
    // Present once its media is negotiated, not when the link is opened.
    send(&mut a, offer_message()).await;
    assert!(matches!(
        recv_type(&mut a, "answer").await,
        ServerMessage::Answer { .. }
    ));
    match recv_type(&mut chair, "site_state").await {
        ServerMessage::SiteState { site, .. } => {
            assert_eq!((site.id.as_str(), site.state), ("s1", Presence::Joined))
        }
        _ => unreachable!(),
    }
    send(&mut a, r#"{"type":"leave"}"#).await;
    match recv_type(&mut chair, "site_state").await {
        ServerMessage::SiteState { site, .. } => {
            assert_eq!((site.id.as_str(), site.state), ("s1", Presence::Left))
        }
        _ => unreachable!(),
    }

    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    send(&mut chair, r#"{"type":"end_meeting"}"#).await;
    assert!(matches!(
        recv_type(&mut b, "ended").await,
        ServerMessage::Ended { .. }
    ));
    let mut again = connect(srv.http).await;
    send_join(&mut again, &m.sites[1].link).await;
    expect_error(&mut again, ErrorCode::UnknownMeeting).await;
}

#[tokio::test]
async fn rejoining_site_replaces_its_older_connection() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut first, _) = join(srv.http, &m.sites[0].link).await;
    let (mut second, _) = join(srv.http, &m.sites[0].link).await;
    expect_error(&mut first, ErrorCode::Replaced).await;
    ping(&mut second, 5).await;
    let meeting = srv.state.meetings.get(&m.id).unwrap();
    assert_eq!(meeting.read(signaling::meeting::State::connected), 1);
}

#[tokio::test]
async fn a_flooding_socket_is_rate_limited_and_another_site_is_not() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    // Far more than the burst, at once.
    let burst = signaling::session::MESSAGE_BURST as u64;
    for id in 0..burst * 3 {
        send(&mut a, format!(r#"{{"type":"ping","id":{id}}}"#)).await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    while pongs + limited < burst * 3 {
        match serde_json::to_value(recv(&mut a).await).unwrap() {
            v if v["type"] == "pong" => pongs += 1,
            v if v["type"] == "error" && v["code"] == "rate_limited" => limited += 1,
            v if v["type"] == "error" => panic!("unexpected {v}"),
            _ => {} // the join's own messages (meeting_state, floor, presence)
        }
    }
    // The join took one token of the burst.
    assert!(
        pongs + 1 >= burst && pongs < burst * 2,
        "{pongs} pongs: the burst is served, the flood is not"
    );
    assert_eq!(pongs + limited, burst * 3, "every message got an answer");
    // The other site is untouched, and the flooder recovers after a pause.
    ping(&mut b, 7).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    ping(&mut a, 8).await;
}

#[tokio::test]
async fn a_websocket_from_another_sites_page_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let srv = server().await;
    let mut req = format!("ws://{}/ws", srv.http)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("cross-origin upgrade refused");
    assert!(err.to_string().contains("403"), "{err}");
    // The page the server itself served connects.
    let mut req = format!("ws://{}/ws", srv.http)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{}", srv.http).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("same-origin upgrade accepted");
    ping(&mut ws, 1).await;
}

#[tokio::test]
async fn a_full_node_refuses_the_next_join_with_node_full_and_keeps_the_others() {
    let srv = server_with(signaling::limits::Limits {
        sites_per_node: 2,
        ..Default::default()
    })
    .await;
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let (_b, _) = join(srv.http, &m.sites[1].link).await;
    assert_eq!(srv.state.metrics.refused_capacity_total(), 0);
    let (_c, refused) = try_join(srv.http, &m.sites[2].link).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "node_full");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2 connected sites"),
        "{refused}"
    );
    ping(&mut a, 1).await;
    // The operators see why: one join refused for capacity, the two joined stay.
    assert_eq!(srv.state.metrics.refused_capacity_total(), 1);
    assert_eq!(srv.state.peers.len(), 2, "the two joined sites stay");
}

#[tokio::test]
async fn joins_beyond_the_rate_of_one_address_are_refused_and_others_go_on() {
    let srv = server_with(signaling::limits::Limits {
        joins_per_second_per_ip: 1.0,
        ..Default::default()
    })
    .await;
    // The limiter's clock stands still, so however slowly this machine runs the joins, no
    // token is refilled between them.
    srv.state.clock.freeze();
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    // A burst of twice the rate is served...
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let (_b, _) = join(srv.http, &m.sites[1].link).await;
    // ... the third join from this address at the same instant is not.
    let (_c, refused) = try_join(srv.http, &m.sites[2].link).await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("joins per second from 127.0.0.1"),
        "{refused}"
    );
    ping(&mut a, 1).await;
    // A second later (one token refilled at 1 join/s) the site gets in.
    srv.state.clock.advance(std::time::Duration::from_secs(1));
    let (_c, joined) = try_join(srv.http, &m.sites[2].link).await;
    assert_eq!(joined["type"], "joined", "{joined}");
}

#[tokio::test]
async fn an_oversized_offer_or_one_with_too_many_tracks_is_bad_sdp_with_the_figures() {
    let srv = server_with(signaling::limits::Limits {
        sdp_bytes: 4096,
        tracks_per_site: 1,
        ..Default::default()
    })
    .await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    send(&mut a, offer_message()).await;
    let msg = expect_error(&mut a, ErrorCode::BadSdp).await;
    assert!(
        msg.contains(&format!(
            "offer is {} bytes, at most 4096",
            CHROMIUM_OFFER.len()
        )),
        "{msg}"
    );
    let small = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n";
    send_json(&mut a, serde_json::json!({"type": "offer", "sdp": small})).await;
    let msg = expect_error(&mut a, ErrorCode::BadSdp).await;
    assert!(msg.contains("publishes 2 tracks, at most 1"), "{msg}");
    // More media sections than a site's layout: refused before the SFU parses it.
    let many = format!(
        "v=0\r\n{}",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n".repeat(40)
    );
    send_json(&mut a, serde_json::json!({"type": "offer", "sdp": many})).await;
    let msg = expect_error(&mut a, ErrorCode::BadSdp).await;
    assert!(
        msg.contains("offer has 40 media sections; this site's layout has 11"),
        "{msg}"
    );
    ping(&mut a, 2).await;
}

#[tokio::test]
async fn a_message_over_the_configured_size_is_too_large_with_the_figures() {
    let srv = server_with(signaling::limits::Limits {
        message_bytes: 2048,
        sdp_bytes: 2048,
        ..Default::default()
    })
    .await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let big = serde_json::json!({"type": "chat", "text": "a".repeat(3000)}).to_string();
    let len = big.len();
    send(&mut a, big).await;
    let msg = expect_error(&mut a, ErrorCode::TooLarge).await;
    assert!(
        msg.contains(&format!("message is {len} bytes, at most 2048")),
        "{msg}"
    );
    ping(&mut a, 3).await;
}

#[tokio::test]
async fn a_meeting_over_the_configured_size_is_refused_at_creation() {
    let srv = server_with(signaling::limits::Limits {
        sites_per_meeting: 2,
        ..Default::default()
    })
    .await;
    let req: signaling::api::CreateMeeting = serde_json::from_value(serde_json::json!({
        "title": "Họp tỉnh",
        "chair_name": "UBND tỉnh",
        "sites": [{"name": "Xã A"}, {"name": "Xã B"}, {"name": "Xã C"}],
    }))
    .unwrap();
    let err = signaling::api::create(&srv.state, req).unwrap_err();
    assert!(
        format!("{err:?}").contains("1 to 2 sites (limits.sites_per_meeting), got 3"),
        "{err:?}"
    );
}
