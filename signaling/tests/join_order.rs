//! What a client sees first: `joined` is the first message for every role, and a
//! participant's own roster entry in it says `joined`, never `waiting`.

mod common;

use common::*;

#[tokio::test]
async fn joined_is_the_first_message_for_every_role_and_lists_oneself_as_joined() {
    let srv = server().await;
    let m = meeting(&srv.state, &["Xã A", "Xã B"]);
    // The chair first, into a meeting never routed (its first `grid` is due), then a site
    // with media, so the later joins find a meeting with routing under way.
    let mut seen = Vec::new();
    for (role, link) in [
        ("chair", &m.chair.link),
        ("site", &m.sites[1].link),
        ("operator", &m.operator.link),
    ] {
        let (_, first) = try_join(srv.http, link).await;
        assert_eq!(first["type"], "joined", "{role}: first message {first}");
        let me = first["you"]["id"].as_str().unwrap();
        let own = first["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == me)
            .unwrap_or_else(|| panic!("{role}: own entry in {first}"));
        assert_eq!(own["state"], "joined", "{role}: own entry {own}");
        if role == "chair" {
            seen.push(join_with_media(srv.http, &m.sites[0].link).await);
        }
    }
}
