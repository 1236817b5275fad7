//! The service's life over real sockets: `/healthz` and `/readyz`, TURN credentials in
//! `joined`, and a graceful shutdown (joins refused, sites told, drained, then closed).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use signaling::config::{Secret, TurnConfig};
use signaling::protocol::{ErrorCode, ServerMessage};
use signaling::turn::TurnRest;
use signaling::Settings;

async fn start(drain: Duration, turn: Option<TurnRest>) -> Running {
    start_in(drain, turn, None).await
}

async fn start_in(
    drain: Duration,
    turn: Option<TurnRest>,
    data_dir: Option<std::path::PathBuf>,
) -> Running {
    let adjust = |s: &mut Settings| {
        s.data_dir = data_dir;
        s.turn = turn;
        s.drain_timeout = drain;
    };
    running(signaling::limits::Limits::default(), adjust, None).await
}

async fn status(http: SocketAddr, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://{http}{path}")).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn health_and_readiness_answer_while_serving() {
    let srv = start(Duration::ZERO, None).await;
    assert_eq!(status(srv.http, "/healthz").await, (200, "ok".into()));
    assert_eq!(status(srv.http, "/readyz").await, (200, "ready".into()));
    let _ = srv.stop.send(());
    srv.served.await.unwrap().unwrap();
}

#[tokio::test]
async fn joined_carries_a_turn_credential_signed_for_the_site() {
    let turn = TurnRest::new(&TurnConfig {
        urls: vec![
            "turn:127.0.0.1:3478?transport=udp".into(),
            "turn:127.0.0.1:3478?transport=tcp".into(),
        ],
        secret: Secret::new("coturn-secret"),
        ttl: Duration::from_secs(600),
    });
    let srv = start(Duration::ZERO, Some(turn)).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (_ws, joined) = join(srv.http, &m.sites[0].link).await;
    let ServerMessage::Joined {
        ice_servers, you, ..
    } = joined
    else {
        unreachable!()
    };
    assert_eq!(ice_servers.len(), 1);
    let server = &ice_servers[0];
    assert_eq!(server.urls.len(), 2);
    let username = server.username.as_deref().unwrap();
    let (expiry, site) = username.split_once(':').unwrap();
    assert_eq!(site, you.id);
    let expiry: u64 = expiry.parse().unwrap();
    let now = signaling::token::unix_now();
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "expiry {expiry}, now {now}"
    );
    let expected = signaling::turn::credential(&Secret::new("coturn-secret"), username);
    assert_eq!(server.credential.as_deref(), Some(expected.as_str()));
    let _ = srv.stop.send(());
}

#[tokio::test]
async fn shutdown_refuses_joins_tells_sites_and_ends_once_they_left() {
    let srv = start(Duration::from_secs(20), None).await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let mut b = connect(srv.http).await; // connected, not yet joined

    let began = Instant::now();
    srv.stop.send(()).unwrap();
    assert_eq!(
        recv_type(&mut a, "draining").await,
        ServerMessage::Draining { seconds: 20 }
    );
    assert_eq!(status(srv.http, "/readyz").await, (503, "draining".into()));
    assert_eq!(
        status(srv.http, "/healthz").await.0,
        200,
        "still alive while draining"
    );

    send_join(&mut b, &m.sites[1].link).await;
    match recv_type(&mut b, "error").await {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::Draining);
            assert!(message.contains("shutting down"), "{message}");
        }
        _ => unreachable!(),
    }
    assert!(closes(&mut b).await, "a refused join closes the socket");

    // The last site leaves: the server stops long before the drain time is up.
    send(&mut a, r#"{"type":"leave"}"#).await;
    tokio::time::timeout(Duration::from_secs(10), srv.served)
        .await
        .expect("stopped after the last site left")
        .unwrap()
        .unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn shutdown_closes_sessions_that_stay_past_the_drain_time() {
    let srv = start(Duration::from_secs(1), None).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let began = Instant::now();
    srv.stop.send(()).unwrap();
    recv_type(&mut a, "draining").await;
    assert!(
        closes(&mut a).await,
        "the server closes the socket at the deadline"
    );
    assert!(
        began.elapsed() >= Duration::from_millis(900),
        "{:?}",
        began.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(10), srv.served)
        .await
        .expect("stopped after the drain time")
        .unwrap()
        .unwrap();
    assert!(srv.state.peers.is_empty());
}

#[tokio::test]
async fn a_restarted_server_restores_its_meetings_from_the_data_directory() {
    let dir = std::env::temp_dir().join(format!("diemcau-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let srv = start_in(Duration::ZERO, None, Some(dir.clone())).await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    send_json(&mut chair, serde_json::json!({"type": "open_meeting"})).await;
    send_json(
        &mut chair,
        serde_json::json!({"type": "grant_floor", "site_id": "s1"}),
    )
    .await;
    send_json(
        &mut chair,
        serde_json::json!({"type": "mute", "site_id": "s2", "muted": true}),
    )
    .await;
    send_json(
        &mut chair,
        serde_json::json!({"type": "lock", "locked": true}),
    )
    .await;
    wait_for(&mut a, |v| {
        (v["type"] == "meeting_state" && v["locked"] == true).then_some(())
    })
    .await;

    // Stopped: every socket closes, the roll call records both leaves, the files are written.
    srv.stop.send(()).unwrap();
    assert!(closes(&mut a).await && closes(&mut chair).await);
    tokio::time::timeout(Duration::from_secs(10), srv.served)
        .await
        .expect("stopped")
        .unwrap()
        .unwrap();
    drop(srv.state);

    // A new process on the same data directory: the same links work, the rules are back.
    let srv = start_in(Duration::ZERO, None, Some(dir.clone())).await;
    let mut a = connect(srv.http).await;
    send_join(&mut a, &m.sites[0].link).await;
    let state = wait_for(&mut a, |v| {
        (v["type"] == "meeting_state").then(|| v.clone())
    })
    .await;
    assert_eq!(
        (state["phase"].as_str(), state["locked"].as_bool()),
        (Some("open"), Some(true)),
        "{state}"
    );
    let floor = wait_for(&mut a, |v| (v["type"] == "floor").then(|| v.clone())).await;
    assert_eq!(floor["holders"], serde_json::json!(["s1"]), "{floor}");
    send(&mut a, offer_message()).await;
    recv_type(&mut a, "answer").await;
    // Locked before the restart: a site that never joined is still refused.
    assert_eq!(join_refused(srv.http, &m.sites[1].link).await, "locked");

    let path = format!("/meetings/{}/attendance", m.id);
    let (_, json) = api(reqwest::Method::GET, srv.http, ADMIN, &path, None).await;
    let site = |id: &str| {
        json["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site_id"] == id)
            .unwrap()
            .clone()
    };
    let (s1, chair_row) = (site("s1"), site("chair"));
    assert_eq!(
        (
            s1["state"].as_str(),
            s1["joins"].as_u64(),
            s1["reconnects"].as_u64()
        ),
        (Some("joined"), Some(2), Some(1)),
        "{s1}"
    );
    assert!(
        s1["sessions"][0]["left_ms"].is_u64(),
        "the stay before the restart is closed: {s1}"
    );
    assert_eq!(
        (chair_row["state"].as_str(), chair_row["joins"].as_u64()),
        (Some("left"), Some(1)),
        "{chair_row}"
    );
    assert_eq!(site("s2")["state"], "waiting");
    let _ = srv.stop.send(());
    let _ = std::fs::remove_dir_all(&dir);
}

/// True when the socket ends (close frame or EOF) within 5 s.
async fn closes(ws: &mut Ws) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
            Err(_) => return false,
        }
    }
    false
}
