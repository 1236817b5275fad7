//! Request ids over real WebSockets: the `error` refusing a request, and the answer to an
//! `offer` or a `reissue_link`, echo the request's `id`, so a client knows which of its
//! requests they concern; a request without an id works as before.

mod common;

use common::*;
use serde_json::{json, Value};

/// The next `error`, whole.
async fn next_error(ws: &mut Ws) -> Value {
    wait_for(ws, |m| (m["type"] == "error").then(|| m.clone())).await
}

#[tokio::test]
async fn an_error_echoes_the_id_of_the_request_it_refuses() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut site, _) = join(srv.http, &m.sites[0].link).await;
    send_json(
        &mut site,
        json!({"type": "grant_floor", "site_id": "s2", "id": 41}),
    )
    .await;
    let e = next_error(&mut site).await;
    assert_eq!(e["code"], "forbidden");
    assert_eq!(e["id"], 41, "{e}");
    // The next refusal carries its own request's id, not the last one.
    send_json(
        &mut site,
        json!({"type": "mute", "site_id": "s2", "muted": true, "id": 42}),
    )
    .await;
    assert_eq!(next_error(&mut site).await["id"], 42);
    // Refused by the meeting's rules (not the table): still echoed.
    send_json(
        &mut site,
        json!({"type": "lower_hand", "site_id": "s9", "id": 43}),
    )
    .await;
    let e = next_error(&mut site).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("forbidden"), Some(43))
    );
    // A malformed message of a known type, and an unknown type, echo it too.
    send_json(&mut site, json!({"type": "grant_floor", "id": 44})).await;
    let e = next_error(&mut site).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("bad_message"), Some(44))
    );
    send_json(&mut site, json!({"type": "fly", "id": 45})).await;
    let e = next_error(&mut site).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("unknown_type"), Some(45))
    );
}

#[tokio::test]
async fn a_request_without_an_id_still_works_and_its_answers_carry_none() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut site, _) = join(srv.http, &m.sites[0].link).await;
    send_json(&mut site, json!({"type": "end_meeting"})).await;
    let e = next_error(&mut site).await;
    assert_eq!(e["code"], "forbidden");
    assert!(e.get("id").is_none(), "no id to echo: {e}");
    send(&mut site, offer_message()).await;
    let answer = serde_json::to_value(recv_type(&mut site, "answer").await).unwrap();
    assert!(answer["sdp"].as_str().unwrap().starts_with("v=0"));
    assert!(answer.get("id").is_none(), "{answer}");
    // The same offer again with an id (a renegotiation): the answer echoes it.
    let mut offer: Value = serde_json::from_str(&offer_message()).unwrap();
    offer["id"] = json!(7);
    send_json(&mut site, offer).await;
    let answer = serde_json::to_value(recv_type(&mut site, "answer").await).unwrap();
    assert_eq!(answer["id"], 7);
}

#[tokio::test]
async fn a_refused_join_and_a_reissued_link_echo_their_ids() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut ws = connect(srv.http).await;
    send_json(
        &mut ws,
        json!({"type": "join", "v": 1, "token": "nope", "id": 1}),
    )
    .await;
    let e = next_error(&mut ws).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("invalid_token"), Some(1))
    );
    send_json(&mut ws, json!({"type": "offer", "sdp": "v=0", "id": 2})).await;
    let e = next_error(&mut ws).await;
    assert_eq!(
        (e["code"].as_str(), e["id"].as_u64()),
        (Some("not_joined"), Some(2))
    );

    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    send_json(
        &mut chair,
        json!({"type": "reissue_link", "site_id": "s1", "id": 9}),
    )
    .await;
    let link = wait_for(&mut chair, |v| (v["type"] == "link").then(|| v.clone())).await;
    assert_eq!(link["id"], 9);
    assert_eq!(link["site_id"], "s1");
}

#[tokio::test]
async fn an_id_that_is_not_a_safe_whole_number_is_refused_precisely() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut site, _) = join(srv.http, &m.sites[0].link).await;
    for (id, says) in [
        (json!("a-1"), "must be a number"),
        (
            json!(-1),
            "must be a whole number from 0 to 9007199254740991",
        ),
        (
            json!(1.5),
            "must be a whole number from 0 to 9007199254740991",
        ),
        (json!(9007199254740992u64), "at most 9007199254740991"),
        (json!({"n": 1}), "not an object"),
    ] {
        send_json(&mut site, json!({"type": "raise_hand", "id": id})).await;
        let e = next_error(&mut site).await;
        assert_eq!(e["code"], "bad_message", "{id}: {e}");
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains("field id") && msg.contains(says),
            "{id}: {msg}"
        );
        assert!(e.get("id").is_none(), "an unreadable id is not echoed: {e}");
    }
    // The largest allowed id is echoed exactly, and the socket goes on.
    send_json(
        &mut site,
        json!({"type": "end_meeting", "id": 9007199254740991u64}),
    )
    .await;
    assert_eq!(next_error(&mut site).await["id"], 9007199254740991u64);
    send(&mut site, r#"{"type":"ping","id":3}"#).await;
    assert_eq!(
        recv_type(&mut site, "pong").await,
        signaling::protocol::ServerMessage::Pong { id: 3 }
    );
}

#[tokio::test]
async fn joined_echoes_the_id_of_the_join_it_answers() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A"]);
    let mut ws = connect(srv.http).await;
    send_json(
        &mut ws,
        json!({"type": "join", "v": 1, "token": token_of(&m.sites[0].link), "id": 7}),
    )
    .await;
    let joined = wait_for(&mut ws, |m| (m["type"] == "joined").then(|| m.clone())).await;
    assert_eq!(joined["id"], 7, "{joined}");
    // Without an id the answer carries none.
    let (_, joined) = join(srv.http, &m.chair.link).await;
    let joined = serde_json::to_value(joined).unwrap();
    assert!(joined.get("id").is_none(), "{joined}");
}
