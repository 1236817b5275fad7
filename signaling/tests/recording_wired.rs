//! Recording through a real server's WebSocket and API (no media here: the files and their
//! codecs are `load-tests/tests/recording_wired.rs`'s and the browser test's): who may start
//! and stop it, that every session hears of it (a late joiner right after `joined`), the
//! API's answers and refusals, and a server without a data directory.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// The next `recording` message: (on, reason).
async fn recording(ws: &mut Ws) -> (bool, Option<String>) {
    wait_for(ws, |m| {
        (m["type"] == "recording").then(|| {
            (
                m["on"].as_bool().unwrap(),
                m["reason"].as_str().map(str::to_owned),
            )
        })
    })
    .await
}

#[tokio::test]
async fn a_site_may_not_record_and_the_chairs_start_and_stop_reach_every_session() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut s1 = join_with_media(srv.http, &m.sites[0].link).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;

    send_json(&mut s1, json!({"type": "recording", "on": true, "id": 4})).await;
    assert_eq!(error_code(&mut s1).await, "forbidden");

    send_json(&mut chair, json!({"type": "recording", "on": true})).await;
    for ws in [&mut chair, &mut s1, &mut op] {
        assert_eq!(recording(ws).await, (true, None));
    }
    send_json(&mut chair, json!({"type": "recording", "on": true})).await;
    assert_eq!(error_code(&mut chair).await, "already_recording");

    // A site that joins now is told before it enters.
    let (mut s2, _) = join(srv.http, &m.sites[1].link).await;
    assert_eq!(recording(&mut s2).await, (true, None));

    send_json(&mut chair, json!({"type": "recording", "on": false})).await;
    for ws in [&mut chair, &mut s1, &mut s2, &mut op] {
        assert_eq!(recording(ws).await, (false, Some("stopped".into())));
    }
    send_json(&mut chair, json!({"type": "recording", "on": false})).await;
    assert_eq!(error_code(&mut chair).await, "not_recording");

    // The admin API: the same rules, as HTTP answers.
    let path = format!("/meetings/{}/recording", m.id);
    let (status, body) = api(Method::POST, srv.http, ADMIN, &path, None).await;
    assert_eq!(
        (status, body["recording"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    assert_eq!(recording(&mut s1).await, (true, None));
    let (status, body) = api(Method::POST, srv.http, ADMIN, &path, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("already_recording"))
    );
    let (status, body) = api(Method::DELETE, srv.http, ADMIN, &path, None).await;
    assert_eq!(
        (status, body["recording"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    let (status, body) = api(Method::DELETE, srv.http, ADMIN, &path, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("not_recording"))
    );
    let (status, _) = api(Method::POST, srv.http, "wrong-key", &path, None).await;
    assert_eq!(status, 401);
    let (status, _) = api(
        Method::POST,
        srv.http,
        ADMIN,
        "/meetings/nope/recording",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // The files' list: the chair reads it, a site may not.
    let list = format!("/meetings/{}/recordings", m.id);
    let (status, body) = api(Method::GET, srv.http, &token_of(&m.chair.link), &list, None).await;
    assert_eq!(
        (status, body["recording"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    let (status, body) = api(
        Method::GET,
        srv.http,
        &token_of(&m.sites[0].link),
        &list,
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    // Every start and stop is one audit line with its actor and result; the site's
    // forbidden try never reached the meeting.
    let (_, log) = api(
        Method::GET,
        srv.http,
        ADMIN,
        &format!("/meetings/{}/audit", m.id),
        None,
    )
    .await;
    let lines: Vec<(String, String)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("recording_"))
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e["actor"]["role"].as_str().unwrap(),
                    e["action"].as_str().unwrap()
                ),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("chair recording_start", "ok"),
        ("chair recording_start", "already_recording"),
        ("chair recording_stop", "ok"),
        ("chair recording_stop", "not_recording"),
        ("admin recording_start", "ok"),
        ("admin recording_start", "already_recording"),
        ("admin recording_stop", "ok"),
        ("admin recording_stop", "not_recording"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect();
    assert_eq!(lines, want);
}

#[tokio::test]
async fn a_server_without_a_data_directory_refuses_to_record() {
    let srv = server_configured(signaling::limits::Limits::default(), |s| s.data_dir = None).await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    send_json(&mut chair, json!({"type": "recording", "on": true})).await;
    assert_eq!(error_code(&mut chair).await, "recording_unavailable");
}
