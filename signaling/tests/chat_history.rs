//! Chat history: a page that joins late (or reloads) gets the messages it may read, and
//! only those; the whole history is exported through the API.

mod common;

use common::*;
use serde_json::json;

/// The texts of the `chat` messages that arrive before the `pong` of `n`.
async fn chats_until_pong(ws: &mut Ws, n: u64) -> Vec<String> {
    send_json(ws, json!({"type": "ping", "id": n})).await;
    let mut texts = Vec::new();
    wait_for(ws, |m| {
        if m["type"] == "chat" {
            texts.push(m["text"].as_str().unwrap().to_owned());
        }
        (m["type"] == "pong" && m["id"] == n).then_some(())
    })
    .await;
    texts
}

#[tokio::test]
async fn a_late_joiner_gets_the_history_it_may_read_and_no_private_message_of_others() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    let (mut chair, _) = join(srv.http, &m.chair.link).await;
    let (mut s1, _) = join(srv.http, &m.sites[0].link).await;
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "all", "text": "chào tất cả"}),
    )
    .await;
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "s1", "text": "riêng cho xã A"}),
    )
    .await;
    send_json(
        &mut chair,
        json!({"type": "chat", "to": "s2", "text": "riêng cho xã B"}),
    )
    .await;
    chats_until_pong(&mut chair, 1).await;
    send_json(
        &mut s1,
        json!({"type": "chat", "to": "chair", "text": "xã A gửi chủ trì"}),
    )
    .await;
    chats_until_pong(&mut s1, 2).await;

    // s2 joins late: what was for everyone and for it, not s1's private exchange.
    let (mut s2, _) = join(srv.http, &m.sites[1].link).await;
    assert_eq!(
        chats_until_pong(&mut s2, 3).await,
        ["chào tất cả", "riêng cho xã B"]
    );
    // s1 reloads (a new join, not a resume): its own exchange and what was for everyone.
    drop(s1);
    let (mut s1, _) = join(srv.http, &m.sites[0].link).await;
    assert_eq!(
        chats_until_pong(&mut s1, 4).await,
        ["chào tất cả", "riêng cho xã A", "xã A gửi chủ trì"]
    );
    // The operator moderates: it reads everything.
    let (mut op, _) = join(srv.http, &m.operator.link).await;
    assert_eq!(chats_until_pong(&mut op, 5).await.len(), 4);

    // Exported whole to the chair; a site's token is refused.
    let path = format!("/meetings/{}/chat", m.id);
    let chair_token = token_of(&m.chair.link);
    let (status, history) = api(reqwest::Method::GET, srv.http, &chair_token, &path, None).await;
    assert_eq!(status, 200, "{history}");
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(history["messages"][3]["from_id"], "s1");
    let site_token = token_of(&m.sites[1].link);
    let (status, _) = api(reqwest::Method::GET, srv.http, &site_token, &path, None).await;
    assert_eq!(status, 403);
}
