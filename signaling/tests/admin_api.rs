//! The admin API on existing meetings: revoke and reissue one link, end, delete, list by
//! pages. A real server on loopback; real WebSocket sessions.

mod common;

use std::net::SocketAddr;

use common::*;

async fn post(http: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    api(reqwest::Method::POST, http, ADMIN, path, None).await
}

async fn get(http: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    api(reqwest::Method::GET, http, ADMIN, path, None).await
}

async fn delete(http: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    api(reqwest::Method::DELETE, http, ADMIN, path, None).await
}

#[tokio::test]
async fn a_revoked_link_is_refused_and_its_session_ended_while_the_new_link_and_others_work() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut leaked = join_with_media(srv.http, &m.sites[0].link).await;
    let mut other = join_with_media(srv.http, &m.sites[1].link).await;

    let (status, new) = post(srv.http, &format!("/meetings/{}/sites/s1/link", m.id)).await;
    assert_eq!(status, 200, "{new}");
    assert_eq!(new["site_id"], "s1");
    let new_link = new["link"].as_str().unwrap();
    assert_ne!(new_link, m.sites[0].link);

    assert_eq!(
        error_code(&mut leaked).await,
        "link_revoked",
        "the session joined with the old link is ended with the precise error"
    );
    assert_eq!(
        join_refused(srv.http, &m.sites[0].link).await,
        "link_revoked"
    );
    let (_, joined) = join(srv.http, new_link).await;
    let joined = serde_json::to_value(joined).unwrap();
    assert_eq!(
        joined["you"]["id"], "s1",
        "the new link joins as the same site"
    );
    // The other site's session goes on: it hears about s1, never an error.
    send(&mut other, r#"{"type":"ping","id":7}"#).await;
    let pong = wait_for(&mut other, |v| {
        assert_ne!(v["type"], "error", "{v}");
        (v["type"] == "pong").then_some(())
    })
    .await;
    assert_eq!(pong, ());

    let (status, body) = post(srv.http, &format!("/meetings/{}/sites/s9/link", m.id)).await;
    assert_eq!((status, &body["error"]["code"]), (404, &"not_found".into()));
}

#[tokio::test]
async fn a_revoked_chair_link_no_longer_reads_the_roll_call() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let url = format!("http://{}/api/v1/meetings/{}/attendance", srv.http, m.id);
    let read = |token: String| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(read(token_of(&m.chair.link)).await, 200);
    let (status, new) = post(srv.http, &format!("/meetings/{}/sites/chair/link", m.id)).await;
    assert_eq!(status, 200);
    assert_eq!(read(token_of(&m.chair.link)).await, 401);
    assert_eq!(read(token_of(new["link"].as_str().unwrap())).await, 200);
}

#[tokio::test]
async fn ending_through_the_api_closes_every_session_and_the_links() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut site = join_with_media(srv.http, &m.sites[0].link).await;
    let (status, view) = post(srv.http, &format!("/meetings/{}/end", m.id)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["ended"], true);
    let ended = wait_for(&mut site, |v| (v["type"] == "ended").then(|| v.clone())).await;
    assert_eq!(ended["type"], "ended");
    assert!(!join_refused(srv.http, &m.sites[0].link).await.is_empty());
    let (status, _) = post(srv.http, &format!("/meetings/{}/sites/s1/link", m.id)).await;
    assert_eq!(status, 409, "an ended meeting's links are not reissued");
}

#[tokio::test]
async fn a_deleted_meeting_is_gone_but_its_roll_call_stays() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let _site = join_with_media(srv.http, &m.sites[0].link).await;
    let dir = srv.state.settings.data_dir.clone().unwrap();
    let snapshot = signaling::store::snapshot_file(&dir, &m.id);
    assert!(snapshot.exists(), "stored at creation");

    let (status, _) = delete(srv.http, &format!("/meetings/{}", m.id)).await;
    assert_eq!(status, 204);
    assert_eq!(get(srv.http, &format!("/meetings/{}", m.id)).await.0, 404);
    assert_eq!(
        join_refused(srv.http, &m.sites[0].link).await,
        "unknown_meeting"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!snapshot.exists(), "not restored by a restart");
    let (status, rc) = get(srv.http, &format!("/meetings/{}/attendance", m.id)).await;
    assert_eq!(status, 200, "{rc}");
    assert_eq!(rc["sites"][1]["state"], "left", "{rc}");
    let (status, _) = delete(srv.http, &format!("/meetings/{}", m.id)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_meeting_list_comes_in_pages_after_a_cursor() {
    let srv = server().await;
    let mut ids: Vec<String> = (0..5).map(|_| meeting(&srv.state, &["Xã A"]).id).collect();
    ids.sort();
    let ids_of = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, first) = get(srv.http, "/meetings?limit=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(ids_of(&first), ids[..2]);
    let (_, second) = get(srv.http, &format!("/meetings?limit=2&after={}", ids[1])).await;
    assert_eq!(ids_of(&second), ids[2..4]);
    let (_, last) = get(srv.http, &format!("/meetings?limit=2&after={}", ids[3])).await;
    assert_eq!(ids_of(&last), ids[4..], "a short page is the last");
    assert_eq!(ids_of(&get(srv.http, "/meetings").await.1), ids);
    for bad in ["limit=0", "limit=501", "limit=x"] {
        let (status, body) = get(srv.http, &format!("/meetings?{bad}")).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &"bad_request".into()),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn an_ended_meeting_leaves_memory_after_the_retention_period_and_its_roll_call_stays() {
    let srv = server_with(signaling::limits::Limits {
        retention: std::time::Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let ended = meeting(&srv.state, &["Xã A"]);
    let running = meeting(&srv.state, &["Xã B"]);
    let (status, _) = post(srv.http, &format!("/meetings/{}/end", ended.id)).await;
    assert_eq!(status, 200);
    let dir = srv.state.settings.data_dir.clone().unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if get(srv.http, &format!("/meetings/{}", ended.id)).await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the ended meeting left memory within 10 s");
    assert!(!signaling::store::snapshot_file(&dir, &ended.id).exists());
    assert_eq!(
        get(srv.http, &format!("/meetings/{}/attendance", ended.id))
            .await
            .0,
        200,
        "its roll call is still served from disk"
    );
    assert_eq!(
        get(srv.http, &format!("/meetings/{}", running.id)).await.0,
        200
    );
}

async fn patch(http: SocketAddr, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    api(reqwest::Method::PATCH, http, ADMIN, path, Some(body)).await
}

#[tokio::test]
async fn an_edit_changes_the_title_adds_sites_with_links_and_removes_sites() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    // s1 is in the meeting; s2 never came.
    let mut present = join_with_media(srv.http, &m.sites[0].link).await;
    let (status, edited) = patch(
        srv.http,
        &format!("/meetings/{}", m.id),
        serde_json::json!({
            "title": "  Giao ban (sửa)  ",
            "add_sites": [{"name": "Xã D"}],
            "remove_sites": ["s1", "s2"]
        }),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["meeting"]["title"], "Giao ban (sửa)");
    let roster: Vec<(String, String)> = edited["meeting"]["roster"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["site_id"].as_str().unwrap().into(),
                s["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let ids: Vec<&str> = roster.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        ["chair", "s1", "s3", "s4", "operator"],
        "s1 had joined: it stays in the roll call; s2 never came: gone; s4 added before the operator"
    );
    assert_eq!(edited["added"][0]["site_id"], "s4");
    assert_eq!(edited["added"][0]["name"], "Xã D");

    let ended = wait_for(&mut present, |v| (v["type"] == "ended").then(|| v.clone())).await;
    assert_eq!(
        ended["reason"], "removed_by_chair",
        "the removed site's session ends as by remove_site"
    );
    assert_eq!(
        join_refused(srv.http, &m.sites[0].link).await,
        "site_removed"
    );
    assert_eq!(
        join_refused(srv.http, &m.sites[1].link).await,
        "site_removed"
    );
    let (_, joined) = join(srv.http, edited["added"][0]["link"].as_str().unwrap()).await;
    let joined = serde_json::to_value(joined).unwrap();
    assert_eq!(
        (
            joined["you"]["id"].as_str(),
            joined["meeting"]["title"].as_str()
        ),
        (Some("s4"), Some("Giao ban (sửa)"))
    );
    let (_, third) = join(srv.http, &m.sites[2].link).await;
    assert_eq!(
        serde_json::to_value(third).unwrap()["you"]["id"],
        "s3",
        "untouched sites go on"
    );

    for (body, code) in [
        (serde_json::json!({"remove_sites": ["chair"]}), 409),
        (serde_json::json!({"remove_sites": ["s99"]}), 409),
        (serde_json::json!({"add_sites": [{"name": "xã c"}]}), 409),
        (serde_json::json!({"title": " \t "}), 422),
        (serde_json::json!({"colour": "red"}), 400),
    ] {
        let (status, err) = patch(srv.http, &format!("/meetings/{}", m.id), body.clone()).await;
        assert_eq!(status, code, "{body}: {err}");
        assert!(err["error"]["message"].is_string(), "{err}");
    }
}

#[tokio::test]
async fn the_chair_reissues_a_leaked_link_over_the_websocket() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    let mut leaked = join_with_media(srv.http, &m.sites[0].link).await;
    send_json(
        &mut chair,
        serde_json::json!({"type": "reissue_link", "site_id": "s1"}),
    )
    .await;
    let link = wait_for(&mut chair, |v| (v["type"] == "link").then(|| v.clone())).await;
    assert_eq!(link["site_id"], "s1");
    let new_link = link["link"].as_str().unwrap();
    assert_ne!(new_link, m.sites[0].link);
    assert_eq!(error_code(&mut leaked).await, "link_revoked");
    assert_eq!(
        join_refused(srv.http, &m.sites[0].link).await,
        "link_revoked"
    );
    let (_, joined) = join(srv.http, new_link).await;
    assert_eq!(serde_json::to_value(joined).unwrap()["you"]["id"], "s1");

    send_json(
        &mut chair,
        serde_json::json!({"type": "reissue_link", "site_id": "operator"}),
    )
    .await;
    assert_eq!(error_code(&mut chair).await, "unknown_site");
    let (mut site, _) = join(srv.http, &m.sites[1].link).await;
    send_json(
        &mut site,
        serde_json::json!({"type": "reissue_link", "site_id": "s1"}),
    )
    .await;
    assert_eq!(error_code(&mut site).await, "forbidden");
}
