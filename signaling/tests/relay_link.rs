//! Relay links between two diemcau servers on loopback (real HTTP, real UDP): the link is
//! opened over `POST /internal/v1/relay` with the cluster secret, one per meeting and node
//! pair, and a wrong secret gets 401 and nothing else.

mod common;

use std::time::Duration;

use common::{join_with_media, meeting, Server};
use sfu::{Layer, TrackKind};
use signaling::relay::http::HttpTransport;
use signaling::relay::{want, RelaySettings, Want};

const CLUSTER: &str = "cluster-secret-0123456789abcdef";

async fn node() -> Server {
    common::server_configured(signaling::limits::Limits::default(), |s| {
        s.relay = Some(RelaySettings {
            secret: CLUSTER.into(),
            advertise_url: s.public_url.clone(),
        });
    })
    .await
}

fn gauge(server: &Server, name: &str) -> f64 {
    server
        .state
        .registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_gauge().get_value())
        .sum()
}

/// Polls `cond` every 20 ms for up to `bound`.
async fn eventually(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + bound;
    while tokio::time::Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test]
async fn a_wrong_cluster_secret_gets_401_and_nothing_else() {
    let a = node().await;
    let created = meeting(&a.state, &["Xã A"]);
    let url = format!("http://{}/internal/v1/relay", a.http);
    let body = serde_json::json!({"meeting": created.id, "node": "http://10.9.9.9", "sdp": "v=0"});
    let client = reqwest::Client::new();
    for bearer in [Some("wrong-secret-0123456789abcdef"), None, Some("")] {
        let mut request = client.post(&url).json(&body);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "bearer {bearer:?}");
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            "Bearer"
        );
        assert_eq!(response.text().await.unwrap(), "unauthorized");
    }
    // Not even a body that is not JSON, or an unknown meeting, is looked at.
    let response = client
        .post(&url)
        .bearer_auth("wrong")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let tracks = format!("http://{}/internal/v1/relay/tracks", a.http);
    let response = client
        .post(&tracks)
        .bearer_auth("wrong")
        .json(&serde_json::json!({"link": 1, "meeting": created.id, "tracks": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(a.state.relay_links.accepted_count() == 0);
    assert_eq!(gauge(&a, "diemcau_relay_links"), 0.0);

    // The right secret on a node with relay off is refused the same way: never open.
    let off = common::server().await;
    let response = client
        .post(format!("http://{}/internal/v1/relay", off.http))
        .bearer_auth(CLUSTER)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_right_secret_gets_precise_errors_without_internals() {
    let a = node().await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/internal/v1/relay", a.http);
    let post = |body: String| {
        client
            .post(&url)
            .bearer_auth(CLUSTER)
            .header("content-type", "application/json")
            .body(body)
    };
    let r = post("{not json".into()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.text().await.unwrap(),
        "bad relay request: the body is not JSON"
    );
    let r = post(r#"{"meeting": "m", "node": "n"}"#.into())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(r#"{"meeting": "nope", "node": "n", "sdp": "v=0"}"#.into())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), "no such meeting on this node");
    let created = meeting(&a.state, &["Xã A"]);
    let garbage = serde_json::json!({"meeting": created.id, "node": "n", "sdp": "v=0\r\nm=bad"});
    let r = post(garbage.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("relay link refused: "), "{text}");
    assert!(
        !text.contains("0x") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_node_holds_one_link_per_meeting_to_the_origin_and_reuses_it() {
    let a = node().await;
    let b = node().await;
    let created = meeting(&a.state, &["Xã A"]);
    let chair = created.chair.site_id.clone();
    // The chair publishes on A (a captured Chromium offer: its peer exists, media or not).
    let _chair = join_with_media(a.http, &created.chair.link).await;
    let origin = format!("http://{}", a.http);
    let transport = HttpTransport::new(CLUSTER);
    let wants = [
        Want {
            site: chair.clone(),
            track: TrackKind::Audio,
            layer: Layer::High,
        },
        Want {
            site: chair.clone(),
            track: TrackKind::Camera,
            layer: Layer::Low,
        },
    ];
    let first = want(&b.state, &transport, &created.id, &origin, &wants)
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    assert!(matches!(
        first[0].track,
        TrackKind::Relayed { audio: true, .. }
    ));
    assert!(matches!(
        first[1].track,
        TrackKind::Relayed { audio: false, .. }
    ));
    // Three more wants (three more sites on B watching): the same link, no other.
    for _ in 0..3 {
        let again = want(&b.state, &transport, &created.id, &origin, &wants)
            .await
            .unwrap();
        assert_eq!(again, first);
    }
    assert_eq!(a.state.relay_links.accepted_count(), 1);
    // The link connects over UDP between the two media engines, and on A its two slots
    // carry the chair's tracks.
    let up = eventually(Duration::from_secs(10), || {
        gauge(&a, "diemcau_relay_links") == 1.0
            && gauge(&b, "diemcau_relay_links") == 1.0
            && gauge(&a, "diemcau_relay_tracks") == 2.0
            && gauge(&b, "diemcau_sfu_peers_connected") == 1.0
    })
    .await;
    assert!(
        up,
        "links A {} B {}, tracks A {}, connected B {}",
        gauge(&a, "diemcau_relay_links"),
        gauge(&b, "diemcau_relay_links"),
        gauge(&a, "diemcau_relay_tracks"),
        gauge(&b, "diemcau_sfu_peers_connected")
    );
    // Nobody on B wants the camera any more: its slot on A goes idle.
    want(&b.state, &transport, &created.id, &origin, &wants[..1])
        .await
        .unwrap();
    let idle = eventually(Duration::from_secs(5), || {
        gauge(&a, "diemcau_relay_tracks") == 1.0
    })
    .await;
    assert!(idle, "tracks on A: {}", gauge(&a, "diemcau_relay_tracks"));
}

#[tokio::test]
async fn a_lost_link_is_opened_again_by_the_next_want() {
    let a = node().await;
    let b = node().await;
    let created = meeting(&a.state, &["Xã A"]);
    let _chair = join_with_media(a.http, &created.chair.link).await;
    let origin = format!("http://{}", a.http);
    let transport = HttpTransport::new(CLUSTER);
    let wants = [Want {
        site: created.chair.site_id.clone(),
        track: TrackKind::Audio,
        layer: Layer::High,
    }];
    let first = want(&b.state, &transport, &created.id, &origin, &wants)
        .await
        .unwrap();
    let up = eventually(Duration::from_secs(10), || {
        gauge(&b, "diemcau_sfu_peers_connected") == 1.0
    })
    .await;
    assert!(up, "the link connects");
    // The origin drops its end (a restart would too): B's end dies with it.
    for end in a.state.relay_links.accepted_links() {
        a.state.sfu.remove_peer(end);
    }
    let gone = eventually(Duration::from_secs(15), || {
        gauge(&b, "diemcau_relay_links") == 0.0
    })
    .await;
    assert!(gone, "B's end of the link is dropped");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = want(&b.state, &transport, &created.id, &origin, &wants)
        .await
        .unwrap();
    assert_ne!(again[0].peer, first[0].peer, "a new link, not the dead one");
    let up = eventually(Duration::from_secs(10), || {
        gauge(&b, "diemcau_relay_links") == 1.0 && gauge(&b, "diemcau_sfu_peers_connected") == 1.0
    })
    .await;
    assert!(up, "the new link connects");
}
