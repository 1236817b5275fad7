//! Smaller hostile-input findings (issue 13 item 9) over real HTTP: answers that carry
//! tokens are never cached or sniffed.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn api_answers_carrying_tokens_are_not_cached_or_sniffed() {
    let srv = server().await;
    let url = format!("http://{}/api/v1/meetings", srv.http);
    let client = reqwest::Client::new();
    let created = client
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&json!({"title": "Giao ban", "sites": [{"name": "Xã A"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let listed = client.get(&url).bearer_auth(ADMIN).send().await.unwrap();
    for res in [&created, &refused, &listed] {
        let h = res.headers();
        assert_eq!(h["cache-control"], "no-store", "{}", res.url());
        assert_eq!(h["x-content-type-options"], "nosniff", "{}", res.url());
    }
    let health = client
        .get(format!("http://{}/healthz", srv.http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

async fn create_json(srv: &Server, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("http://{}/api/v1/meetings", srv.http))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn invisible_and_direction_changing_characters_are_refused_at_every_entry() {
    let srv = server().await;
    let (status, body) = create_json(
        &srv,
        json!({"title": "Giao ban", "sites": [{"name": "Xã A"}, {"name": "Xã \u{202E}B"}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["message"],
        "site 2 contains U+202E (an invisible or direction-changing character) at character 4"
    );
    let (status, body) = create_json(
        &srv,
        json!({"title": "Giao\u{7} ban", "sites": [{"name": "Xã A"}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["message"],
        "title contains U+0007 (a control character) at character 5"
    );
    let (status, body) = create_json(
        &srv,
        json!({"title": "Giao ban", "chair_name": "\u{2066}UBND", "sites": [{"name": "Xã A"}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("U+2066"),
        "{body}"
    );
    // The CSV import goes through the same rule.
    let res = reqwest::Client::new()
        .post(format!(
            "http://{}/api/v1/meetings?title=Giao%20ban",
            srv.http
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body("name\nXã A\nXã\u{200B}B\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "site 2 contains U+200B (an invisible or direction-changing character) at character 3"
    );
    assert_eq!(srv.state.meetings.all().len(), 0, "nothing was created");

    // An edit (PATCH) goes through the same rules: title, added names, look-alikes.
    let (status, created) = create_json(
        &srv,
        json!({"title": "Giao ban", "sites": [{"name": "Xã Hòa"}]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let roster = srv.state.meetings.all()[0].read(|s| s.sites().len());
    for (edit, expected) in [
        (
            json!({"title": "Giao\u{202E} ban"}),
            "title contains U+202E (an invisible or direction-changing character) at character 5",
        ),
        (
            json!({"add_sites": [{"name": "Xã\u{200F}B"}]}),
            "add_sites 1 contains U+200F (an invisible or direction-changing character) at character 3",
        ),
    ] {
        let res = reqwest::Client::new()
            .patch(format!("http://{}/api/v1/meetings/{id}", srv.http))
            .bearer_auth(ADMIN)
            .json(&edit)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{edit}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["message"], expected, "{edit}");
    }
    let res = reqwest::Client::new()
        .patch(format!("http://{}/api/v1/meetings/{id}", srv.http))
        .bearer_auth(ADMIN)
        .json(&json!({"add_sites": [{"name": "Xã Hòа"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        409,
        "a look-alike of a site already in the meeting"
    );
    assert_eq!(
        srv.state.meetings.all()[0].read(|s| s.sites().len()),
        roster,
        "no edit was applied"
    );
}

#[tokio::test]
async fn site_names_the_chair_could_not_tell_apart_are_refused() {
    let srv = server().await;
    for (a, b) in [
        ("Xã Hòa", "Xa\u{0303} Ho\u{0300}a"),
        ("Xã Hòa", "Xã Hòа"),
        ("Xã Hòa", "XÃ  HÒA"),
    ] {
        let (status, body) = create_json(
            &srv,
            json!({"title": "Giao ban", "sites": [{"name": a}, {"name": b}]}),
        )
        .await;
        assert_eq!(status, 422, "{a:?} {b:?}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("site 2 name") && message.contains("looks the same as site 1's"),
            "{message}"
        );
    }
    let (status, _) = create_json(
        &srv,
        json!({"title": "Giao ban", "sites": [{"name": "Xã Hòa"}, {"name": "Xã Hòa Bình"}]}),
    )
    .await;
    assert_eq!(status, 201);
}
