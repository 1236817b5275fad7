//! The admin API over real HTTP, for tests that drive a server from outside.

use std::net::SocketAddr;

/// The OpenAPI document the server at `http` serves (asked for without any key: it is
/// public).
pub async fn openapi(http: SocketAddr) -> serde_json::Value {
    reqwest::get(format!("http://{http}/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Calls `method path` under `/api/v1` on `http` with the bearer `key` and an optional JSON
/// body: the status and the JSON answer (`null` when the answer is not JSON).
pub async fn api(
    method: reqwest::Method,
    http: SocketAddr,
    key: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("http://{http}/api/v1{path}"))
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}
