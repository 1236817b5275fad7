//! The OpenAPI document's parameters against the running routes: every documented path
//! parameter is in its route's template, every template variable is documented, and every
//! documented query parameter is really read by the route (a bounded one is refused out of
//! range and accepted at its bounds; an optional one may be left out).

mod common;

use common::*;
use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// Every `(path, method, operation)` of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    assert!(!out.is_empty());
    out
}

fn template_vars(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(v, _)| v.to_owned()))
        .collect()
}

#[tokio::test]
async fn every_documented_path_parameter_is_in_its_route_and_every_route_variable_is_documented() {
    let srv = server().await;
    let doc = openapi(srv.http).await;
    for (path, method, op) in operations(&doc) {
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let vars = template_vars(&path);
        for p in &params {
            let name = p["name"].as_str().unwrap();
            match p["in"].as_str().unwrap() {
                "path" => {
                    assert!(
                        vars.iter().any(|v| v == name),
                        "{method} {path}: documents path parameter {name:?}, not in the route"
                    );
                    assert_eq!(
                        p["required"], true,
                        "{method} {path}: {name} is a path parameter"
                    );
                }
                "query" | "header" => {}
                other => panic!("{method} {path}: {name} is documented `in: {other}`"),
            }
        }
        for v in vars {
            assert!(
                params
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == v.as_str()),
                "{method} {path}: route variable {v:?} is not documented"
            );
        }
    }
}

/// A request to the operation that succeeds with no optional parameter; `None` for
/// operations this test does not exercise.
fn baseline(
    srv: &Server,
    meeting_id: &str,
    path: &str,
    method: &str,
    testing: &str,
) -> Option<reqwest::RequestBuilder> {
    let url = format!("http://{}{}", srv.http, path.replace("{id}", meeting_id));
    match method {
        "get" => Some(client().get(url).bearer_auth(ADMIN)),
        // The CSV import: the form whose fields are query parameters.
        "post" if path == "/api/v1/meetings" => {
            let req = client()
                .post(url)
                .bearer_auth(ADMIN)
                .header("content-type", "text/csv")
                .body("name\nXã A\n");
            // `title` is the CSV form's one needed field: present unless it is under test.
            Some(if testing == "title" {
                req
            } else {
                req.query(&[("title", "Giao ban")])
            })
        }
        _ => None,
    }
}

#[tokio::test]
async fn every_documented_query_parameter_is_read_by_its_route() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let doc = serde_json::to_value(signaling::api_routes::openapi()).unwrap();
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in params.iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap();
            let Some(req) = baseline(&srv, &m.id, &path, &method, name) else {
                continue;
            };
            let what = format!("{method} {path} ?{name}");
            let schema = &p["schema"];
            let status = |r: reqwest::Response| r.status().as_u16();
            if p["required"] != true {
                // Optional: the baseline without it (title is the CSV form's own field).
                if name != "title" {
                    let res = req.try_clone().unwrap().send().await.unwrap();
                    assert!(res.status().is_success(), "{what}: optional, yet needed");
                }
            }
            if let (Some(lo), Some(hi)) = (schema["minimum"].as_i64(), schema["maximum"].as_i64()) {
                for (v, ok) in [(lo, true), (hi, true), (lo - 1, false), (hi + 1, false)] {
                    let res = req
                        .try_clone()
                        .unwrap()
                        .query(&[(name, v.to_string())])
                        .send()
                        .await
                        .unwrap();
                    let code = status(res);
                    if ok {
                        assert!((200..300).contains(&code), "{what}={v}: {code}");
                    } else {
                        assert!([400, 422].contains(&code), "{what}={v} accepted: {code}");
                    }
                }
            } else {
                let res = req
                    .try_clone()
                    .unwrap()
                    .query(&[(name, "Tên thử")])
                    .send()
                    .await
                    .unwrap();
                let code = status(res);
                assert!((200..300).contains(&code), "{what}: {code}");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "the CSV import's query parameters are checked ({checked})"
    );
}
