//! The admin API over real HTTP: meeting creation (JSON and CSV), authorization, validation,
//! the OpenAPI document, and `/metrics` as parsed Prometheus text.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn admin_creates_a_meeting_from_json_and_every_link_joins_its_own_site() {
    let srv = server().await;
    let url = format!("http://{}/api/v1/meetings", srv.http);
    let res = client()
        .post(&url)
        .bearer_auth(ADMIN)
        .json(&json!({"title": "Giao ban tháng 11", "sites": [{"name": "Xã A"}, {"name": "Xã B"}], "valid_hours": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["sites"].as_array().unwrap().len(), 2);
    assert_eq!(body["chair"]["role"], "chair");
    assert_eq!(body["operator"]["role"], "operator");
    let link = body["sites"][1]["link"].as_str().unwrap();
    assert!(link.starts_with(&format!("http://{}/join#t=", srv.http)));
    let (mut ws, joined) = join(srv.http, link).await;
    send(&mut ws, offer_message()).await;
    recv_type(&mut ws, "answer").await;
    let v = serde_json::to_value(joined).unwrap();
    assert_eq!(v["you"]["name"], "Xã B");
    assert_eq!(v["meeting"]["title"], "Giao ban tháng 11");

    let view: Value = client()
        .get(format!("{url}/{}", body["id"].as_str().unwrap()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let states: Vec<&str> = view["roster"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["waiting", "waiting", "joined", "waiting"]);
    assert_eq!(view["connected"], 1);
}

#[tokio::test]
async fn csv_import_creates_one_link_per_line() {
    let srv = server().await;
    let res = client()
        .post(format!(
            "http://{}/api/v1/meetings?title=H%E1%BB%8Dp",
            srv.http
        ))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body("name\nUBND xã Tả Van\nUBND xã Bản Hồ\nUBND xã Lao Chải\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let names: Vec<&str> = body["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["UBND xã Tả Van", "UBND xã Bản Hồ", "UBND xã Lao Chải"]
    );
    assert_eq!(body["title"], "Họp");
}

#[tokio::test]
async fn missing_or_wrong_admin_key_is_refused() {
    let srv = server().await;
    let url = format!("http://{}/api/v1/meetings", srv.http);
    let none = client().get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let wrong = client().get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn invalid_meetings_get_a_clear_error() {
    let srv = server().await;
    let url = format!("http://{}/api/v1/meetings", srv.http);
    let cases = [
        (
            json!({"title": "", "sites": [{"name": "A"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "title",
        ),
        (
            json!({"title": "T", "sites": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sites",
        ),
        (
            json!({"title": "T", "sites": [{"name": "A"}, {"name": "a"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "twice",
        ),
        (
            json!({"title": "T", "sites": [{"name": "A"}], "valid_hours": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "valid_hours",
        ),
        (
            json!({"title": "T", "sites": [{"nom": "A"}]}),
            StatusCode::BAD_REQUEST,
            "nom",
        ),
        (
            json!({"title": 5, "sites": [{"name": "A"}]}),
            StatusCode::BAD_REQUEST,
            "title",
        ),
    ];
    for (body, status, mentions) in cases {
        let res = client()
            .post(&url)
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{body}");
        let err: Value = res.json().await.unwrap();
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(mentions), "{body}: {msg}");
    }
    let unknown = client()
        .get(format!("{url}/m-nothere"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_malformed_query_gets_the_documented_json_error() {
    // Found by scripts/schemathesis.sh: axum's plain-text rejection broke the documented
    // `application/json` error body.
    let srv = server().await;
    let res = client()
        .post(format!(
            "http://{}/api/v1/meetings?valid_hours=AAA",
            srv.http
        ))
        .bearer_auth(ADMIN)
        .json(&json!({"title": "T", "sites": [{"name": "A"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_request");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("valid_hours"));
}

#[tokio::test]
async fn openapi_document_is_served() {
    let srv = server().await;
    let doc = openapi(srv.http).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/meetings"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["admin"].is_object());
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text_with_sites_and_meetings() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (_a, _) = join(srv.http, &m.sites[0].link).await;
    let (_b, _) = join(srv.http, &m.sites[1].link).await;
    let res = client()
        .get(format!("http://{}/metrics", srv.http))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(value("diemcau_signaling_sites_connected"), 2.0);
    assert_eq!(value("diemcau_signaling_meetings"), 1.0);
    for name in [
        "diemcau_sfu_udp_rx_packets_total",
        "diemcau_sfu_udp_tx_packets_total",
        "diemcau_sfu_udp_rx_bytes_total",
        "diemcau_sfu_udp_tx_bytes_total",
        "diemcau_sfu_peers",
        "diemcau_sfu_layer_switches_total",
        "diemcau_sfu_rtx_packets_sent_total",
        "diemcau_sfu_video_paused_slots",
        "diemcau_sfu_socket_drops_total",
        "diemcau_signaling_joins_refused_total",
    ] {
        assert!(value(name) >= 0.0, "{name}");
    }
}

#[tokio::test]
async fn web_client_is_served_at_root_and_join() {
    let srv = server().await;
    for path in ["/", "/join"] {
        let res = client()
            .get(format!("http://{}{path}", srv.http))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(res.text().await.unwrap().contains("<script"));
    }
    let js = client()
        .get(format!("http://{}/js/app.js", srv.http))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let missing = client()
        .get(format!("http://{}/nope.txt", srv.http))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_web_client_is_served_with_a_strict_content_security_policy() {
    let srv = server().await;
    for path in ["/", "/join", "/js/app.js"] {
        let res = reqwest::get(format!("http://{}{path}", srv.http))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(
            !csp.contains("'unsafe-eval'")
                && !csp
                    .split("style-src")
                    .next()
                    .unwrap()
                    .contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    }
    // And the page itself carries no inline script for the policy to forbid.
    let page = reqwest::get(format!("http://{}/", srv.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for tag in page.split("<script").skip(1) {
        assert!(
            tag.contains("src="),
            "inline script in index.html: <script{tag}"
        );
    }
}
