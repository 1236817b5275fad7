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
