//! The audit log: every action of the chair, a co-chair, an operator and the admin appears
//! exactly once, with its actor, target and result, and only they read it.

mod common;

use common::*;
use serde_json::json;

/// Waits until the session has handled everything sent before (its `pong`): every line its
/// actions appended is on disk by then (the session appends before it reads on).
async fn settled(ws: &mut Ws, n: u64) {
    send_json(ws, json!({"type": "ping", "id": n})).await;
    wait_for(ws, |m| (m["type"] == "pong" && m["id"] == n).then_some(())).await;
}

/// The (actor role, actor site, action, target, result) of every line.
fn lines(log: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                s(&e["actor"]["role"]),
                s(&e["actor"]["site_id"]),
                s(&e["action"]),
                s(&e["target"]),
                s(&e["result"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_audited_action_appears_exactly_once_with_its_actor() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    let (s1, s2, s3) = (&m.sites[0].link, &m.sites[1].link, &m.sites[2].link);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let _site1 = join_with_media(srv.http, s1).await;
    let _site2 = join_with_media(srv.http, s2).await;
    let mut site3 = join_with_media(srv.http, s3).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;

    // Not audited: a site's own hand, the chair's chat and grid paging.
    send_json(&mut site3, json!({"type": "raise_hand"})).await;
    settled(&mut site3, 1).await;
    for msg in [
        json!({"type": "open_meeting"}),
        json!({"type": "lock", "locked": true}),
        json!({"type": "grant_floor", "site_id": "s1"}),
        json!({"type": "revoke_floor", "site_id": "s1"}),
        json!({"type": "mute", "site_id": "s2", "muted": true}),
        json!({"type": "stop_video", "site_id": "s2", "stopped": true}),
        json!({"type": "spotlight", "site_id": "s1"}),
        json!({"type": "lower_hand", "site_id": "s3"}),
        json!({"type": "remove_site", "site_id": "s2"}),
        json!({"type": "readmit_site", "site_id": "s2"}),
        json!({"type": "reissue_link", "site_id": "s2"}),
        json!({"type": "cochair", "site_id": "s3", "on": true}),
        // Refused (the site is not removed): audited with its error code.
        json!({"type": "readmit_site", "site_id": "s1"}),
        json!({"type": "chat", "to": "all", "text": "xin chào"}),
        json!({"type": "grid", "page": 0}),
    ] {
        send_json(&mut chair, msg).await;
    }
    settled(&mut chair, 2).await;
    // The co-chair acts as a co-chair.
    send_json(
        &mut site3,
        json!({"type": "mute", "site_id": "s1", "muted": true}),
    )
    .await;
    settled(&mut site3, 3).await;
    for msg in [
        json!({"type": "notice", "site_id": "s1", "text": "Kiểm tra micro"}),
        json!({"type": "force_audio_only", "site_id": "s1", "on": true}),
        json!({"type": "reconnect", "site_id": "s1"}),
    ] {
        send_json(&mut op, msg).await;
    }
    settled(&mut op, 4).await;
    // The admin: an edit, a reissued link, a read of the roll call with the chair's token.
    let edit = json!({"title": "Giao ban tháng 12"});
    let path = format!("/meetings/{}", m.id);
    let (status, _) = api(reqwest::Method::PATCH, srv.http, ADMIN, &path, Some(edit)).await;
    assert_eq!(status, 200);
    let link = format!("/meetings/{}/sites/s1/link", m.id);
    let (status, _) = api(reqwest::Method::POST, srv.http, ADMIN, &link, None).await;
    assert_eq!(status, 200);
    let chair_token = token_of(&m.chair.link);
    let attendance = format!("/meetings/{}/attendance", m.id);
    let (status, _) = api(
        reqwest::Method::GET,
        srv.http,
        &chair_token,
        &attendance,
        None,
    )
    .await;
    assert_eq!(status, 200);
    send_json(&mut chair, json!({"type": "end_meeting"})).await;
    recv_type(&mut chair, "ended").await;

    let audit = format!("/meetings/{}/audit", m.id);
    let (status, log) = api(reqwest::Method::GET, srv.http, ADMIN, &audit, None).await;
    assert_eq!(status, 200, "{log}");
    let got = lines(&log);
    let one = |role: &str, site: &str, action: &str, target: &str, result: &str| {
        let want = (
            role.to_owned(),
            site.to_owned(),
            action.to_owned(),
            target.to_owned(),
            result.to_owned(),
        );
        let n = got.iter().filter(|l| **l == want).count();
        assert_eq!(n, 1, "{want:?} appears once in {got:#?}");
    };
    one("admin", "", "create_meeting", "", "ok");
    for (action, target) in [
        ("open_meeting", ""),
        ("lock", ""),
        ("grant_floor", "s1"),
        ("revoke_floor", "s1"),
        ("mute", "s2"),
        ("stop_video", "s2"),
        ("spotlight", "s1"),
        ("lower_hand", "s3"),
        ("remove_site", "s2"),
        ("readmit_site", "s2"),
        ("link_revoke", "s2"),
        ("cochair_grant", "s3"),
        ("end_meeting", ""),
    ] {
        one("chair", "chair", action, target, "ok");
    }
    one("chair", "chair", "readmit_site", "s1", "conflict");
    one("co_chair", "s3", "mute", "s1", "ok");
    one("operator", "operator", "notice", "s1", "ok");
    one("operator", "operator", "audio_only_on", "s1", "ok");
    one("operator", "operator", "reconnect", "s1", "ok");
    one("admin", "", "edit_meeting", "", "ok");
    one("admin", "", "link_revoke", "s1", "ok");
    one("chair", "chair", "download_attendance", "", "ok");
    one("admin", "", "download_audit", "", "ok");
    assert_eq!(got.len(), 23, "nothing else is logged: {got:#?}");
    let first = &log["entries"][0];
    assert!(first["at"].as_str().unwrap().ends_with("+07:00"), "{first}");
    assert_eq!(log["skipped_lines"], 0);
    let chair_line = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "grant_floor")
        .unwrap();
    assert_eq!(chair_line["actor"]["name"], "Điểm cầu chủ trì");
}

#[tokio::test]
async fn only_the_admin_chair_co_chairs_and_operators_read_the_audit_log() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let path = format!("/meetings/{}/audit", m.id);
    let site = token_of(&m.sites[0].link);
    let (status, body) = api(reqwest::Method::GET, srv.http, &site, &path, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let other = meeting(&srv.state, &["Xã Z"]);
    let (status, _) = api(
        reqwest::Method::GET,
        srv.http,
        &token_of(&other.chair.link),
        &path,
        None,
    )
    .await;
    assert_eq!(status, 401, "another meeting's chair");
    for reader in [&m.chair.link, &m.operator.link] {
        let (status, _) = api(
            reqwest::Method::GET,
            srv.http,
            &token_of(reader),
            &path,
            None,
        )
        .await;
        assert_eq!(status, 200);
    }
    let (status, _) = api(
        reqwest::Method::GET,
        srv.http,
        ADMIN,
        "/meetings/no-such-meeting/audit",
        None,
    )
    .await;
    assert_eq!(status, 404);
    // The refused reads are not in it; the two allowed ones are.
    let (_, log) = api(reqwest::Method::GET, srv.http, ADMIN, &path, None).await;
    let reads: Vec<_> = lines(&log)
        .into_iter()
        .filter(|l| l.2 == "download_audit")
        .map(|l| l.0)
        .collect();
    assert_eq!(reads, ["chair", "operator", "admin"]);
}

#[tokio::test]
async fn issuing_a_media_token_is_an_audited_admin_action() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let path = format!("/meetings/{}/media-tokens", m.id);
    let ok = json!({"role": "chair-camera", "ttl_seconds": 600});
    let (status, body) = api(reqwest::Method::POST, srv.http, ADMIN, &path, Some(ok)).await;
    assert_eq!(status, 201, "{body}");
    let short = json!({"role": "viewer", "ttl_seconds": 1});
    let (status, refused) = api(reqwest::Method::POST, srv.http, ADMIN, &path, Some(short)).await;
    assert_eq!(status, 422, "{refused}");
    // Without the admin key nothing is issued, and nothing is logged as the admin's.
    let wrong = json!({"role": "viewer"});
    let (status, _) = api(reqwest::Method::POST, srv.http, "wrong", &path, Some(wrong)).await;
    assert_eq!(status, 401);

    let audit = format!("/meetings/{}/audit", m.id);
    let (_, log) = api(reqwest::Method::GET, srv.http, ADMIN, &audit, None).await;
    let issued: Vec<_> = lines(&log)
        .into_iter()
        .filter(|l| l.2 == "media_token_issue")
        .collect();
    let code = refused["error"]["code"].as_str().unwrap().to_owned();
    let line = |target: &str, result: &str| {
        let s = |x: &str| x.to_owned();
        (
            s("admin"),
            s(""),
            s("media_token_issue"),
            s(target),
            s(result),
        )
    };
    assert_eq!(issued, [line("chair-camera", "ok"), line("", &code)]);
}
