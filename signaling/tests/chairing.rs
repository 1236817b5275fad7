//! Chairing over real WebSockets with real SDP: permissions by role, the floor re-routing
//! media, server-side mute, removal, lock, lobby, chat, and the roll call through the API.

mod common;

use common::*;
use serde_json::json;

fn has(v: &[String], s: &str) -> bool {
    v.iter().any(|x| x == s)
}

#[tokio::test]
async fn every_chair_action_is_refused_to_sites_and_operators() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut site, _) = join(srv.http, &m.sites[0].link).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    let moderation = [
        json!({"type": "grant_floor", "site_id": "s2"}),
        json!({"type": "revoke_floor", "site_id": "s2"}),
        json!({"type": "mute", "site_id": "s2", "muted": true}),
        json!({"type": "stop_video", "site_id": "s2", "stopped": true}),
        json!({"type": "spotlight", "site_id": "s2"}),
        json!({"type": "listen", "site_id": "s2", "on": false}),
        json!({"type": "remove_site", "site_id": "s2"}),
        json!({"type": "readmit_site", "site_id": "s2"}),
        json!({"type": "lock", "locked": true}),
        json!({"type": "open_meeting"}),
        json!({"type": "cochair", "site_id": "s2", "on": true}),
        json!({"type": "lower_hand", "site_id": "s2"}),
        json!({"type": "end_meeting"}),
        json!({"type": "grid", "page": 1}),
        json!({"type": "present", "on": true}),
    ];
    for msg in &moderation {
        send_json(&mut site, msg.clone()).await;
        assert_eq!(error_code(&mut site).await, "forbidden", "site: {msg}");
        send_json(&mut op, msg.clone()).await;
        assert_eq!(error_code(&mut op).await, "forbidden", "operator: {msg}");
    }
    send_json(&mut op, json!({"type": "raise_hand"})).await;
    assert_eq!(error_code(&mut op).await, "forbidden");
    send_json(
        &mut site,
        json!({"type": "chat", "to": "all", "text": "xin chào"}),
    )
    .await;
    assert_eq!(error_code(&mut site).await, "forbidden");
    send_json(
        &mut site,
        json!({"type": "chat", "to": "s2", "text": "xin chào"}),
    )
    .await;
    assert_eq!(error_code(&mut site).await, "forbidden");

    // A co-chair moderates, but cannot make co-chairs or choose what the hall hears.
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    send_json(
        &mut chair,
        json!({"type": "cochair", "site_id": "s1", "on": true}),
    )
    .await;
    wait_for(&mut site, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["cochair"] == true).then_some(())
    })
    .await;
    send_json(&mut site, json!({"type": "lock", "locked": true})).await;
    wait_for(&mut site, |m| {
        (m["type"] == "meeting_state" && m["locked"] == true).then_some(())
    })
    .await;
    for msg in [
        json!({"type": "cochair", "site_id": "s2", "on": true}),
        json!({"type": "listen", "site_id": "s2", "on": false}),
    ] {
        send_json(&mut site, msg.clone()).await;
        assert_eq!(error_code(&mut site).await, "forbidden", "co-chair: {msg}");
    }
    // Targets are checked.
    send_json(
        &mut chair,
        json!({"type": "mute", "site_id": "s99", "muted": true}),
    )
    .await;
    assert_eq!(error_code(&mut chair).await, "unknown_site");
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s2"})).await;
    assert_eq!(
        error_code(&mut chair).await,
        "conflict",
        "s2 is not connected"
    );
}

#[tokio::test]
async fn the_floor_decides_who_each_site_hears_and_mute_overrides_it() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    let mut b = join_with_media(srv.http, &m.sites[1].link).await;
    let _c = join_with_media(srv.http, &m.sites[2].link).await;

    // Lobby: sites receive nothing yet, the hall already sees and hears them.
    let hall = wait_slots(&mut chair, |v, a| v.len() == 3 && a.len() == 3).await;
    assert_eq!(routed(&hall, "video"), ["s1", "s2", "s3"]);
    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    let open = wait_slots(&mut a, |v, au| has(v, "chair") && has(au, "chair")).await;
    assert_eq!(
        routed(&open, "audio"),
        ["chair"],
        "before any grant A hears only the chair"
    );

    // Hands and grant.
    send_json(&mut b, json!({"type": "raise_hand"})).await;
    let hands = wait_for(&mut chair, |m| {
        (m["type"] == "floor" && m["hands"].as_array().unwrap().len() == 1).then(|| m.clone())
    })
    .await;
    assert_eq!(hands["hands"][0]["site_id"], "s2");
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s2"})).await;
    let granted = wait_slots(&mut a, |v, au| has(v, "s2") && has(au, "s2")).await;
    assert_eq!(routed(&granted, "audio"), ["chair", "s2"]);
    assert!(!has(&routed(&granted, "audio"), "s3"), "A never hears C");

    // Mute overrides the floor; unmute allows again.
    send_json(
        &mut chair,
        json!({"type": "mute", "site_id": "s2", "muted": true}),
    )
    .await;
    wait_for(&mut b, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s2" && m["muted"] == true).then_some(())
    })
    .await;
    wait_slots(&mut a, |v, au| has(v, "s2") && !has(au, "s2")).await;
    send_json(
        &mut chair,
        json!({"type": "mute", "site_id": "s2", "muted": false}),
    )
    .await;
    wait_slots(&mut a, |_, au| has(au, "s2")).await;

    // Revoke: B disappears from A's program.
    send_json(&mut chair, json!({"type": "revoke_floor", "site_id": "s2"})).await;
    let after = wait_slots(&mut a, |v, au| !has(v, "s2") && !has(au, "s2")).await;
    assert_eq!(routed(&after, "audio"), ["chair"]);

    // The limit.
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s1"})).await;
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s2"})).await;
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s3"})).await;
    assert_eq!(error_code(&mut chair).await, "floor_full");
}

#[tokio::test]
async fn removed_site_cannot_return_until_readmitted_and_a_locked_meeting_takes_no_newcomers() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B", "Xã C"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    send_json(&mut chair, json!({"type": "remove_site", "site_id": "s1"})).await;
    let ended = recv_type(&mut a, "ended").await;
    assert_eq!(
        serde_json::to_value(ended).unwrap()["reason"],
        "removed_by_chair"
    );
    assert_eq!(
        join_refused(srv.http, &m.sites[0].link).await,
        "site_removed"
    );
    // A chair that reloads its page learns the removal from the server.
    drop(chair);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["removed"] == true).then_some(())
    })
    .await;
    send_json(&mut chair, json!({"type": "readmit_site", "site_id": "s1"})).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s1").then_some(())
    })
    .await;
    let _a2 = join_with_media(srv.http, &m.sites[0].link).await;

    let b = join_with_media(srv.http, &m.sites[1].link).await;
    send_json(&mut chair, json!({"type": "lock", "locked": true})).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "meeting_state" && m["locked"] == true).then_some(())
    })
    .await;
    assert_eq!(join_refused(srv.http, &m.sites[2].link).await, "locked");
    drop(b);
    let _b2 = join_with_media(srv.http, &m.sites[1].link).await; // B was in before: it may reconnect
}

#[tokio::test]
async fn chat_reaches_only_its_readers_and_keeps_markup_as_text() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    let (mut a, _) = join(srv.http, &m.sites[0].link).await;
    let (mut b, _) = join(srv.http, &m.sites[1].link).await;
    let text = "Mất tiếng <script>alert(1)</script>";
    send_json(&mut a, json!({"type": "chat", "to": "chair", "text": text})).await;
    for ws in [&mut chair, &mut op] {
        let got = wait_for(ws, |m| (m["type"] == "chat").then(|| m.clone())).await;
        assert_eq!(
            got["text"], text,
            "stored and sent verbatim; the page renders it as text"
        );
        assert_eq!(got["from"]["id"], "s1");
    }
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "s2", "text": "B: kiểm tra micrô"}),
    )
    .await;
    let to_b = wait_for(&mut b, |m| (m["type"] == "chat").then(|| m.clone())).await;
    assert_eq!(
        to_b["text"], "B: kiểm tra micrô",
        "B never saw A's message to the chair"
    );
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "all", "text": "Chuẩn bị khai mạc"}),
    )
    .await;
    let to_all = wait_for(&mut a, |m| {
        (m["type"] == "chat" && m["to"] == "all").then(|| m.clone())
    })
    .await;
    assert_eq!(to_all["from"]["role"], "chair");
    send_json(
        &mut a,
        json!({"type": "chat", "to": "chair", "text": "x".repeat(1001)}),
    )
    .await;
    assert_eq!(error_code(&mut a).await, "too_large");
}

#[tokio::test]
async fn roll_call_records_join_leave_rejoin_and_exports_csv() {
    let srv = server().await;
    let m = meeting(&srv.state, &["UBND xã Tả Van", "UBND xã Bản Hồ"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    // Leaves (a dropped socket would keep its place for the resume grace: see resume.rs).
    send_json(&mut a, json!({"type": "leave"})).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["site"]["state"] == "left")
            .then_some(())
    })
    .await;
    let _a = join_with_media(srv.http, &m.sites[0].link).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["site"]["state"] == "joined")
            .then_some(())
    })
    .await;

    let client = reqwest::Client::new();
    let base = format!("http://{}/api/v1/meetings/{}", srv.http, m.id);
    let chair_token = token_of(&m.chair.link);
    let attendance = format!("/meetings/{}/attendance", m.id);
    let (_, json) = api(
        reqwest::Method::GET,
        srv.http,
        &chair_token,
        &attendance,
        None,
    )
    .await;
    let s1 = json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site_id"] == "s1")
        .unwrap();
    assert_eq!(
        (s1["joins"].as_u64(), s1["reconnects"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(s1["state"], "joined");
    assert_eq!(s1["sessions"].as_array().unwrap().len(), 2);
    assert!(s1["sessions"][0]["left_ms"].is_u64() && s1["sessions"][1]["left_ms"].is_null());
    let s2 = json["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site_id"] == "s2")
        .unwrap();
    assert_eq!(
        (s2["state"].as_str(), s2["joins"].as_u64()),
        (Some("waiting"), Some(0))
    );

    let csv = client
        .get(format!("{base}/attendance.csv"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows.iter().find(|r| &r[0] == "s1").unwrap();
    assert_eq!(
        (&row[1], &row[3], &row[4], &row[5]),
        ("UBND xã Tả Van", "joined", "2", "1")
    );

    // A site's token may not read it; another meeting's chair token neither.
    let site_token = token_of(&m.sites[1].link);
    let res = client
        .get(format!("{base}/attendance"))
        .bearer_auth(site_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
    let other = meeting(&srv.state, &["Xã Z"]);
    let res = client
        .get(format!("{base}/attendance"))
        .bearer_auth(token_of(&other.chair.link))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);

    // Kept on disk after the meeting ends.
    send_json(&mut chair, json!({"type": "end_meeting"})).await;
    let dir = srv.state.settings.data_dir.clone().unwrap();
    let path = signaling::rollcall::file_for(&dir, &m.id);
    let mut stored = None;
    for _ in 0..100 {
        stored = signaling::rollcall::load(&path)
            .filter(|a| a.sites.iter().all(|s| s.state != "joined"));
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let stored = stored.expect("final roll call on disk");
    let s1 = stored.sites.iter().find(|s| s.site_id == "s1").unwrap();
    assert_eq!((s1.joins, s1.state.as_str()), (2, "left"));
}

#[tokio::test]
async fn the_chair_is_told_when_a_sites_link_only_carries_audio() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let mut a = join_with_media(srv.http, &m.sites[0].link).await;
    let peer = peer_of(&srv.state, "s1").expect("A has a peer");
    // What the SFU's event task does when A's selector pauses its video.
    srv.state
        .meetings
        .get(&m.id)
        .unwrap()
        .apply(
            signaling::meeting::link::Reception {
                site: "s1".into(),
                peer,
                reception: "audio_only",
            },
            &srv.state,
        )
        .expect("never refused");
    for ws in [&mut chair, &mut a] {
        wait_for(ws, |m| {
            (m["type"] == "site_state" && m["site"]["id"] == "s1" && m["reception"] == "audio_only")
                .then_some(())
        })
        .await;
    }
}
