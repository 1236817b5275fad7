//! A site whose WebSocket drops takes its connection back with `join.resume`: the same
//! peer connection and slots, no leave in the roll call. A stale secret, an expired grace
//! or an explicit `leave` give an ordinary join.

mod common;

use std::time::Duration;

use common::*;
use signaling::limits::Limits;
use signaling::protocol::ServerMessage;

fn limits(resume_ms: u64) -> Limits {
    Limits {
        resume: Duration::from_millis(resume_ms),
        ..Limits::default()
    }
}

/// Joins with an optional resume secret; returns the socket and `joined` as JSON.
async fn join_resuming(srv: &Server, link: &str, resume: Option<&str>) -> (Ws, serde_json::Value) {
    let mut ws = connect(srv.http).await;
    let mut msg = serde_json::json!({"type": "join", "v": 1, "token": token_of(link)});
    if let Some(r) = resume {
        msg["resume"] = r.into();
    }
    send_json(&mut ws, msg).await;
    let joined = serde_json::to_value(recv_type(&mut ws, "joined").await).unwrap();
    (ws, joined)
}

/// Joins, negotiates media, and returns the socket and its resume secret.
async fn join_media(srv: &Server, link: &str) -> (Ws, String) {
    let (mut ws, joined) = join_resuming(srv, link, None).await;
    assert_eq!(joined["resumed"], false);
    let secret = joined["resume"].as_str().unwrap().to_owned();
    assert!(
        secret.len() >= 32,
        "a resume secret is long enough not to be guessed: {secret}"
    );
    send(&mut ws, offer_message()).await;
    recv_type(&mut ws, "answer").await;
    (ws, secret)
}

fn row(srv: &Server, meeting: &str, site: &str) -> signaling::rollcall::SiteAttendance {
    let a = srv.state.meetings.get(meeting).unwrap().attendance();
    a.sites.into_iter().find(|s| s.site_id == site).unwrap()
}

#[tokio::test]
async fn a_dropped_socket_resumes_the_same_connection_without_a_leave() {
    let srv = server_with(limits(10_000)).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    send_json(&mut chair, serde_json::json!({"type": "open_meeting"})).await;
    let (a, secret) = join_media(&srv, &m.sites[0].link).await;
    let before = peer_of(&srv.state, "s1").unwrap();

    drop(a); // the TCP connection goes without a close frame, as when a proxy cuts it
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        row(&srv, &m.id, "s1").state,
        "joined",
        "still present while it may resume"
    );

    let (mut a, joined) = join_resuming(&srv, &m.sites[0].link, Some(&secret)).await;
    assert_eq!(joined["resumed"], true, "{joined}");
    assert_ne!(
        joined["resume"],
        secret.as_str(),
        "a resume secret serves once"
    );
    // Its slots come again without a new offer (the meeting is open: the chair's camera).
    let slots = wait_slots(&mut a, |video, _| video.iter().any(|s| s == "chair")).await;
    assert!(slots["slots"].as_array().unwrap().len() > 2, "{slots}");
    // A candidate needs no new offer: the connection's offer stands.
    send_json(
        &mut a,
        serde_json::json!({"type": "candidate", "candidate": ""}),
    )
    .await;
    ping(&mut a, 7).await;

    assert_eq!(
        peer_of(&srv.state, "s1"),
        Some(before),
        "the same peer connection"
    );
    assert_eq!(srv.state.peers.len(), 2);
    let s1 = row(&srv, &m.id, "s1");
    assert_eq!(
        (s1.state.as_str(), s1.joins, s1.reconnects),
        ("joined", 1, 0)
    );
    assert_eq!(srv.state.metrics.resumes.get(), 1);
    // The chair was never told the site left.
    send_json(&mut chair, serde_json::json!({"type": "ping", "id": 1})).await;
    let seen_left = wait_for(&mut chair, |v| {
        if v["type"] == "pong" {
            Some(false)
        } else {
            (v["type"] == "site_state" && v["site"]["id"] == "s1" && v["site"]["state"] == "left")
                .then_some(true)
        }
    })
    .await;
    assert!(!seen_left);
}

#[tokio::test]
async fn a_wrong_secret_or_an_expired_grace_is_an_ordinary_join() {
    let srv = server_with(limits(500)).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (a, secret) = join_media(&srv, &m.sites[0].link).await;
    let first = peer_of(&srv.state, "s1").unwrap();

    // A guessed secret takes nothing over: a new connection replaces the old one.
    drop(a);
    let (a, joined) = join_resuming(
        &srv,
        &m.sites[0].link,
        Some("0123456789abcdef0123456789abcdef"),
    )
    .await;
    assert_eq!(joined["resumed"], false, "{joined}");
    let second = peer_of(&srv.state, "s1");
    assert!(
        second.is_some() && second != Some(first),
        "a new peer replaced the old"
    );
    drop(a);

    // Past the grace the site has left and an old secret is an ordinary join.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let s1 = row(&srv, &m.id, "s1");
    assert_eq!(s1.state, "left", "{s1:?}");
    assert!(
        srv.state.peers.is_empty(),
        "the dropped connection was freed"
    );
    let (_a, joined) = join_resuming(&srv, &m.sites[0].link, Some(&secret)).await;
    assert_eq!(joined["resumed"], false);
}

#[tokio::test]
async fn leave_is_final_at_once() {
    let srv = server_with(limits(10_000)).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut a, secret) = join_media(&srv, &m.sites[0].link).await;
    send_json(&mut a, serde_json::json!({"type": "leave"})).await;
    for _ in 0..50 {
        if row(&srv, &m.id, "s1").state == "left" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(row(&srv, &m.id, "s1").state, "left");
    assert!(srv.state.peers.is_empty());
    let (_a, joined) = join_resuming(&srv, &m.sites[0].link, Some(&secret)).await;
    assert_eq!(joined["resumed"], false, "a site that left does not resume");
}

async fn ping(ws: &mut Ws, id: u64) {
    send(ws, format!(r#"{{"type":"ping","id":{id}}}"#)).await;
    assert_eq!(recv_type(ws, "pong").await, ServerMessage::Pong { id });
}

fn ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
        .expect("an ice-ufrag")
        .to_owned()
}

#[tokio::test]
async fn an_ice_restart_offer_is_answered_on_the_same_connection_with_new_credentials() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    send(&mut a, offer_message()).await;
    let ServerMessage::Answer { sdp: first, .. } = recv_type(&mut a, "answer").await else {
        unreachable!()
    };
    let peer = peer_of(&srv.state, "s1").unwrap();

    // What `restartIce()` sends: the same layout with new ICE credentials.
    let restarted = CHROMIUM_OFFER
        .replace("a=ice-ufrag:/I7j", "a=ice-ufrag:Rst2")
        .replace(
            "a=ice-pwd:zM1CUWYsjOekhjFDr5zEDSah",
            "a=ice-pwd:NewPasswordForTheRestart0",
        );
    assert_ne!(restarted, CHROMIUM_OFFER);
    send_json(
        &mut a,
        serde_json::json!({"type": "offer", "sdp": restarted}),
    )
    .await;
    let ServerMessage::Answer { sdp: second, .. } = recv_type(&mut a, "answer").await else {
        unreachable!()
    };
    assert_ne!(
        ufrag(&first),
        ufrag(&second),
        "the SFU answers an ICE restart with new credentials"
    );
    assert_eq!(
        peer_of(&srv.state, "s1"),
        Some(peer),
        "on the same peer connection"
    );
    let s1 = row(&srv, &m.id, "s1");
    assert_eq!(
        (s1.state.as_str(), s1.joins),
        ("joined", 1),
        "no new stay in the roll call"
    );
}
