//! The minutes (biên bản) and the Vietnamese roll call, over the API of a real server.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn the_minutes_tell_attendance_floor_decisions_and_chat() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let mut chair = join_with_media(srv.http, &m.chair.link).await;
    let _s1 = join_with_media(srv.http, &m.sites[0].link).await;
    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s1"})).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "floor" && m["holders"] == json!(["s1"])).then_some(())
    })
    .await;
    send_json(&mut chair, json!({"type": "revoke_floor", "site_id": "s1"})).await;
    wait_for(&mut chair, |m| {
        (m["type"] == "floor" && m["holders"] == json!([])).then_some(())
    })
    .await;
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "all", "text": "Bắt đầu"}),
    )
    .await;
    wait_for(&mut chair, |m| (m["type"] == "chat").then_some(())).await;

    let chair_token = token_of(&m.chair.link);
    let path = format!("/meetings/{}/minutes", m.id);
    let (status, minutes) = api(reqwest::Method::GET, srv.http, &chair_token, &path, None).await;
    assert_eq!(status, 200, "{minutes}");
    assert_eq!(minutes["title"], "Giao ban");
    assert_eq!(minutes["chair"], "Điểm cầu chủ trì");
    assert!(minutes["opened_at"].as_str().unwrap().ends_with("+07:00"));
    let status_of = |id: &str| {
        minutes["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["site_id"] == id)
            .map(|a| a["status_vi"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(status_of("s1"), "Có mặt");
    assert_eq!(status_of("s2"), "Vắng");
    let floor = minutes["floor"].as_array().unwrap();
    assert_eq!(floor.len(), 1, "{floor:?}");
    assert_eq!(
        (&floor[0]["site_id"], &floor[0]["name"]),
        (&json!("s1"), &json!("Xã A"))
    );
    assert!(floor[0]["to"].is_string(), "the revoke closed it");
    let decisions: Vec<&str> = minutes["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        [
            "create_meeting",
            "open_meeting",
            "grant_floor",
            "revoke_floor"
        ]
    );
    assert_eq!(minutes["chat"][0]["text"], "Bắt đầu");
    assert_eq!(minutes["recording_files"], json!([]));

    let page = reqwest::Client::new()
        .get(format!(
            "http://{}/api/v1/meetings/{}/minutes.html",
            srv.http, m.id
        ))
        .bearer_auth(&chair_token)
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("BIÊN BẢN") && html.contains("Xã B") && html.contains("Vắng"));
    // The decisions as a clerk reads them: Vietnamese actions, the site's name, not codes.
    for label in ["Khai mạc", "Cho phát biểu", "Dừng phát biểu", "(chủ trì)"] {
        assert!(html.contains(label), "{label} in the printed minutes");
    }
    assert!(
        !html.contains("grant_floor"),
        "no action codes on the printed page"
    );
    let site = token_of(&m.sites[0].link);
    let (status, _) = api(reqwest::Method::GET, srv.http, &site, &path, None).await;
    assert_eq!(status, 403, "a site does not read the minutes");
}

#[tokio::test]
async fn the_roll_call_in_vietnamese_has_vietnamese_headers_and_hanoi_times() {
    let srv = server().await;
    let m = meeting(&srv.state, &["UBND xã Tả Van"]);
    let _s1 = join_with_media(srv.http, &m.sites[0].link).await;
    let get = |lang: &'static str| {
        reqwest::Client::new()
            .get(format!(
                "http://{}/api/v1/meetings/{}/attendance.csv{lang}",
                srv.http, m.id
            ))
            .bearer_auth(ADMIN)
            .send()
    };
    let vi = get("?lang=vi").await.unwrap().text().await.unwrap();
    assert!(vi.starts_with('\u{feff}'));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(vi.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(&reader.headers().unwrap()[1], "Tên điểm cầu");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = rows.iter().find(|r| &r[0] == "s1").unwrap();
    assert_eq!((&row[1], &row[3]), ("UBND xã Tả Van", "Đang tham dự"));
    assert!(row[7].ends_with("+07:00"), "local time: {}", &row[7]);
    let en = get("?lang=en").await.unwrap().text().await.unwrap();
    assert!(en
        .trim_start_matches('\u{feff}')
        .starts_with("site_id,name,"));
}
