//! The signaling protocol over a real WebSocket: every kind of bad input gets its own error,
//! and another site connected at the same time is not disturbed.

mod common;

use common::*;
use signaling::protocol::{ErrorCode, Presence, Role, ServerMessage};
use signaling::token::{unix_now, Claims, TokenKeys};

async fn expect_error(ws: &mut Ws, code: ErrorCode) -> String {
    match recv_type(ws, "error").await {
        ServerMessage::Error { code: got, message } => {
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
    send(&mut a, format!(r#"{{"type":"offer","sdp":"{}"}}"#, "x".repeat(300 * 1024))).await;
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
    send(&mut a, format!(r#"{{"type":"join","v":1,"token":"{tampered}"}}"#)).await;
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
    send(&mut a, format!(r#"{{"type":"join","v":1,"token":"{expired}"}}"#)).await;
    expect_error(&mut a, ErrorCode::TokenExpired).await;
    let elsewhere = keys.sign(&claims("m-doesnotexist", unix_now() + 60));
    send(&mut a, format!(r#"{{"type":"join","v":1,"token":"{elsewhere}"}}"#)).await;
    expect_error(&mut a, ErrorCode::UnknownMeeting).await;

    // A site token cannot do chair actions.
    send(&mut a, format!(r#"{{"type":"join","v":1,"token":"{site_token}"}}"#)).await;
    recv_type(&mut a, "joined").await;
    send(&mut a, r#"{"type":"end_meeting"}"#).await;
    expect_error(&mut a, ErrorCode::Forbidden).await;
    send(&mut a, format!(r#"{{"type":"join","v":1,"token":"{site_token}"}}"#)).await;
    expect_error(&mut a, ErrorCode::AlreadyJoined).await;
    send(&mut a, r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}"#).await;
    expect_error(&mut a, ErrorCode::NoOffer).await;
    send(&mut a, r#"{"type":"offer","sdp":"this is not sdp"}"#).await;
    expect_error(&mut a, ErrorCode::BadSdp).await;
    ping(&mut a, 1).await;

    // B never saw any of it and still works; the meeting was not ended.
    ping(&mut b, 42).await;
    assert!(!srv.state.meetings.get(&m.id).unwrap().is_ended());
    let errors = srv.state.metrics.errors.with_label_values(&["bad_json"]).get();
    assert_eq!(errors, 1);
}

#[tokio::test]
async fn chair_sees_sites_arrive_and_leave_and_ending_closes_every_link() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, joined) = join(srv.http, &m.chair.link).await;
    let ServerMessage::Joined { sites, .. } = joined else { unreachable!() };
    assert_eq!(sites.len(), 4, "chair sees the whole roster");
    assert!(sites.iter().filter(|s| s.role == Role::Site).all(|s| s.state == Presence::Waiting));

    let (mut a, joined_a) = join(srv.http, &m.sites[0].link).await;
    let ServerMessage::Joined { sites: seen_by_site, .. } = joined_a else { unreachable!() };
    assert!(seen_by_site.iter().all(|s| s.id == "s1" || s.role == Role::Chair), "a site sees only itself and the chair");
    // Present once its media is negotiated, not when the link is opened.
    send(&mut a, offer_message()).await;
    assert!(matches!(recv_type(&mut a, "answer").await, ServerMessage::Answer { .. }));
    match recv_type(&mut chair, "site_state").await {
        ServerMessage::SiteState { site, .. } => assert_eq!((site.id.as_str(), site.state), ("s1", Presence::Joined)),
        _ => unreachable!(),
    }
    drop(a);
    match recv_type(&mut chair, "site_state").await {
        ServerMessage::SiteState { site, .. } => assert_eq!((site.id.as_str(), site.state), ("s1", Presence::Left)),
        _ => unreachable!(),
    }

    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    send(&mut chair, r#"{"type":"end_meeting"}"#).await;
    assert!(matches!(recv_type(&mut b, "ended").await, ServerMessage::Ended { .. }));
    let mut again = connect(srv.http).await;
    send(&mut again, format!(r#"{{"type":"join","v":1,"token":"{}"}}"#, token_of(&m.sites[1].link))).await;
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
    assert_eq!(srv.state.meetings.get(&m.id).unwrap().connected(), 1);
}
