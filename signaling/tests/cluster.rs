//! Three nodes and a real `nats-server` (JetStream) on loopback, in one process: one
//! authority per meeting (the origin applies every action, its effects reach the sites of
//! every node), a hosting node's death (its sites rejoin another node), the origin's death
//! (another node takes the authority from the KV snapshot within 15 s).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use signaling::cluster::Cluster;
use signaling::config::ClusterConfig;
use tokio_tungstenite::tungstenite::Message;

/// A `nats-server -js` on an OS-given loopback port, its store in a fresh folder.
struct Nats {
    child: Child,
    url: String,
    _dir: std::path::PathBuf,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn nats() -> Nats {
    let dir = std::env::temp_dir().join(format!(
        "diemcau-nats-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nats-server installed (scripts/test.sh installs it)");
    // It names the port it was given: "Listening for client connections on 127.0.0.1:N".
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("nats-server started").unwrap();
        if let Some(addr) = line.split("client connections on ").nth(1) {
            break format!("nats://{}", addr.trim());
        }
    };
    // Keep reading its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Nats {
        child,
        url,
        _dir: dir,
    }
}

async fn node(nats: &Nats, id: &str) -> (Server, Arc<Cluster>) {
    let srv = server().await;
    let cluster = signaling::cluster::join(
        &srv.state,
        &ClusterConfig {
            nats_url: nats.url.clone(),
            node_id: id.into(),
            region: String::new(),
        },
    )
    .await
    .expect("joined the cluster");
    (srv, cluster)
}

/// Polls `done` every 50 ms for at most `limit`; how long it took.
async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Every node sees `origin` as `meeting`'s origin.
async fn published(nodes: &[&Arc<Cluster>], meeting: &str, origin: &str) {
    for n in nodes {
        let seen = within(Duration::from_secs(5), async || {
            n.origin_of(meeting).await.as_deref() == Some(origin)
        })
        .await;
        assert!(
            seen.is_some(),
            "{} never saw {origin} as the origin",
            n.node_id
        );
    }
}

fn holders(m: &serde_json::Value) -> Option<Vec<String>> {
    (m["type"] == "floor").then(|| {
        m["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floor_granted_on_c_reaches_b_and_a_mute_from_the_chair_reaches_every_node() {
    let nats = nats();
    let (a, ca) = node(&nats, "a").await;
    let (b, cb) = node(&nats, "b").await;
    let (c, cc) = node(&nats, "c").await;
    let m = meeting(&a.state, &["Xã B", "Xã C"]);
    published(&[&cb, &cc], &m.id, "a").await;

    let (mut chair, _) = join(a.http, &m.chair.link).await;
    let (_probe, joined_b) = join(b.http, &m.sites[0].link).await;
    let joined_b = serde_json::to_value(joined_b).unwrap();
    assert_eq!(joined_b["meeting"]["id"], m.id.as_str(), "{joined_b}");
    // Offers cross the tunnel too: the origin's SFU answers (see cluster/mod.rs on media).
    let mut on_b = join_with_media(b.http, &m.sites[0].link).await;
    let mut on_c = join_with_media(c.http, &m.sites[1].link).await;
    let (mut operator, _) = join(b.http, &m.operator.link).await;
    // The tunneled sites are the origin's members: B and C hold no copy of the meeting.
    assert!(b.state.meetings.get(&m.id).is_none() && c.state.meetings.get(&m.id).is_none());

    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s2"})).await;
    for ws in [&mut on_b, &mut on_c, &mut chair] {
        let seen = wait_for(ws, |m| holders(m).filter(|h| h == &["s2"])).await;
        assert_eq!(seen, ["s2"]);
    }

    send_json(
        &mut chair,
        json!({"type": "mute", "site_id": "s2", "muted": true}),
    )
    .await;
    let muted = |m: &serde_json::Value| {
        (m["type"] == "site_state" && m["site"]["id"] == "s2" && m["muted"] == true).then_some(())
    };
    wait_for(&mut on_c, muted).await;
    wait_for(&mut operator, muted).await;
    wait_for(&mut chair, muted).await;

    // A site's own action on another node is applied by the origin too.
    send_json(&mut on_b, json!({"type": "raise_hand"})).await;
    let hand = |m: &serde_json::Value| {
        (m["type"] == "floor"
            && m["hands"]
                .as_array()
                .is_some_and(|h| h.iter().any(|h| h["site_id"] == "s1")))
        .then_some(())
    };
    wait_for(&mut chair, hand).await;
    wait_for(&mut on_c, hand).await;

    // A forbidden action from a tunneled site is refused by the origin, as a browser's is.
    send_json(&mut on_c, json!({"type": "grant_floor", "site_id": "s2"})).await;
    assert_eq!(error_code(&mut on_c).await, "forbidden");

    // The roll call at the origin lists every site, wherever it joined.
    let attendance = a.state.meetings.get(&m.id).unwrap().attendance();
    let present = serde_json::to_value(&attendance).unwrap().to_string();
    for site in ["s1", "s2"] {
        assert!(
            present.contains(&format!("\"{site}\"")),
            "{site} in {present}"
        );
    }
    assert!(cb.metrics.actions_forwarded.get() >= 3);
    assert!(cb.metrics.effects_received.get() >= 3);
    assert!(
        ca.metrics.actions_forwarded.get() == 0,
        "the origin forwards nothing"
    );
    assert_eq!(ca.metrics.nodes_seen.get(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sites_of_a_dead_hosting_node_rejoin_another_and_the_meeting_goes_on() {
    let nats = nats();
    let (a, _ca) = node(&nats, "a").await;
    let (b, cb) = node(&nats, "b").await;
    let (c, cc) = node(&nats, "c").await;
    let m = meeting(&a.state, &["Xã B", "Xã C"]);
    published(&[&cb, &cc], &m.id, "a").await;
    let (mut chair, _) = join(a.http, &m.chair.link).await;
    let _on_b = join_with_media(b.http, &m.sites[0].link).await;
    let on_c = join_with_media(c.http, &m.sites[1].link).await;
    send_json(&mut chair, json!({"type": "open_meeting"})).await;

    // C dies: its NATS connection and its listener go.
    cc.stop().await;
    drop(on_c);
    drop(c);
    // Its site comes back through B (its link names no node) and the chair gives it the floor.
    let took = Instant::now();
    let (mut again, joined) = join(b.http, &m.sites[1].link).await;
    assert_eq!(serde_json::to_value(joined).unwrap()["you"]["id"], "s2");
    send(&mut again, offer_message()).await;
    recv_type(&mut again, "answer").await;
    assert!(
        took.elapsed() < Duration::from_secs(10),
        "{:?}",
        took.elapsed()
    );
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s2"})).await;
    wait_for(&mut again, |m| holders(m).filter(|h| h == &["s2"])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_origin_dies_another_node_takes_the_authority_within_15_s() {
    let nats = nats();
    let (a, ca) = node(&nats, "a").await;
    let (b, cb) = node(&nats, "b").await;
    let (c, cc) = node(&nats, "c").await;
    let m = meeting(&a.state, &["Xã B", "Xã C"]);
    published(&[&cb, &cc], &m.id, "a").await;
    let (mut chair, _) = join(a.http, &m.chair.link).await;
    let mut on_b = join_with_media(b.http, &m.sites[0].link).await;
    send_json(&mut chair, json!({"type": "open_meeting"})).await;
    send_json(
        &mut chair,
        json!({"type": "mute", "site_id": "s2", "muted": true}),
    )
    .await;
    wait_for(&mut chair, |m| {
        (m["type"] == "site_state" && m["site"]["id"] == "s2" && m["muted"] == true).then_some(())
    })
    .await;
    // The snapshot the others would rebuild from carries the mute.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A dies as a killed process would: no goodbye on NATS (its sockets go quiet with it).
    ca.stop().await;
    let died = Instant::now();
    // The tunneled site is told once A's heartbeat has expired, so its page rejoins.
    let told = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let Some(Ok(Message::Text(t))) = on_b.next().await else {
                return None;
            };
            let m: serde_json::Value = serde_json::from_str(&t).unwrap();
            if m["type"] == "error" {
                return m["code"].as_str().map(str::to_owned);
            }
        }
    })
    .await
    .expect("the site on B is told within 15 s");
    assert_eq!(told.as_deref(), Some("cluster_unavailable"));
    drop(chair);
    drop(a);
    let moved = within(Duration::from_secs(15), async || {
        cb.holds(&m.id) || cc.holds(&m.id)
    })
    .await;
    let moved = moved.expect("another node took the authority within 15 s");
    let after = died.elapsed();
    let (new, other) = if cb.holds(&m.id) { (&b, &c) } else { (&c, &b) };
    assert!(!(cb.holds(&m.id) && cc.holds(&m.id)), "one authority");
    eprintln!("authority moved {after:?} after the origin died (polled {moved:?})");
    assert!(after < Duration::from_secs(15));

    // The meeting goes on from its snapshot: the rules survived, sites and chair rejoin
    // on any node.
    let (mut chair, _) = join(other.http, &m.chair.link).await;
    let mut site = join_with_media(new.http, &m.sites[0].link).await;
    let (_s2, _) = join(other.http, &m.sites[1].link).await;
    let restored = new
        .state
        .meetings
        .get(&m.id)
        .expect("rebuilt on the new origin");
    assert!(restored.read(|s| s.site("s2").is_some()));
    send_json(&mut chair, json!({"type": "grant_floor", "site_id": "s1"})).await;
    wait_for(&mut site, |m| holders(m).filter(|h| h == &["s1"])).await;
    let muted = |m: &serde_json::Value| {
        (m["type"] == "site_state" && m["site"]["id"] == "s2" && m["muted"] == true).then_some(())
    };
    wait_for(&mut chair, muted).await;
}
