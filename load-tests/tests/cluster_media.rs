//! A meeting over two nodes coordinated through a real `nats-server` (JetStream), with relay
//! links between their media engines (real UDP on loopback) and webrtc-rs sites that decrypt
//! every packet: the chair on node A, site s1 on node B (tunneled: its meeting's decisions
//! are A's), site s2 on A. s1's peer lives in B's SFU; the chair's tracks reach it over the
//! relay link; the floor granted to s1 brings s1's tracks to the chair and s2 over the link
//! the other way.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use load_tests::grid::HallLog;
use load_tests::pacer::Pacer;
use load_tests::site::invite::Invite;
use load_tests::site::{self, Command, Progress, SiteContext, SiteReport, SiteSpec};
use signaling::api::{CreateMeeting, SiteInput};
use signaling::cluster::Cluster;
use signaling::config::ClusterConfig;
use signaling::protocol::Role;
use signaling::relay::RelaySettings;
use tokio::sync::mpsc;

const ADMIN: &str = "cluster-media-admin-0123456789";
const CLUSTER: &str = "cluster-media-secret-0123456789abcdef";
const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A `nats-server -js` on an OS-given loopback port, its store in a fresh folder.
struct Nats {
    child: Child,
    url: String,
    dir: std::path::PathBuf,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nats() -> Nats {
    // One store per server: the tests of this file run at once, each with its own.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("diemcau-nats-media-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Process::new("nats-server")
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
    std::thread::spawn(move || for _ in lines {});
    Nats { child, url, dir }
}

/// One node: its state, cluster membership and HTTP address; dropping `stop` ends it.
struct Node {
    http: std::net::SocketAddr,
    state: Arc<signaling::AppState>,
    cluster: Arc<Cluster>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn node(nats: &Nats, id: &str) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let mut settings = common::settings(http, ADMIN);
    settings.relay = Some(RelaySettings {
        secret: CLUSTER.into(),
        advertise_url: settings.public_url.clone(),
    });
    let state = signaling::start(settings, common::sfu_config()).unwrap();
    let cluster = signaling::cluster::join(
        &state,
        &ClusterConfig {
            nats_url: nats.url.clone(),
            node_id: id.into(),
            region: String::new(),
        },
    )
    .await
    .expect("joined the cluster");
    let (stop, _server) = common::serve(listener, state.clone());
    Node {
        http,
        state,
        cluster,
        _stop: stop,
    }
}

/// The sum of the samples of `name` with `label` (or all of them) in `node`'s registry.
fn metric(node: &Node, name: &str, label: Option<(&str, &str)>) -> f64 {
    node.state
        .registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .filter(|m| {
            label.is_none_or(|(k, v)| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == k && l.value() == v)
            })
        })
        // A sample is a counter or a gauge; the other reads 0.
        .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
        .sum()
}

fn relayed(node: &Node, direction: &str) -> f64 {
    metric(
        node,
        "diemcau_relay_packets_total",
        Some(("direction", direction)),
    )
}

/// Polls `cond` every 50 ms for at most `limit`; whether it held.
async fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

fn invite(site_id: &str, role: Role, link: &str) -> Invite {
    Invite {
        site_id: site_id.into(),
        name: site_id.into(),
        role,
        token: link.split("#t=").nth(1).unwrap().to_owned(),
        ws_url: None,
    }
}

/// Runs one simulated site against `http` until told to leave.
fn spawn_site(
    http: std::net::SocketAddr,
    index: u16,
    invite: Invite,
    ctx: &Arc<SiteContext>,
) -> (
    mpsc::UnboundedSender<Command>,
    tokio::task::JoinHandle<SiteReport>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(site::diemcau::run(
        http,
        SiteSpec { index, invite },
        ctx.clone(),
        rx,
    ));
    (tx, task)
}

/// Joins `http` as the operator and returns the node of each site in the first `stats`
/// message that lists two sites or more (10 s at most).
async fn operator_nodes(
    http: std::net::SocketAddr,
    link: &str,
) -> std::collections::HashMap<String, String> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    let token = link.split("#t=").nth(1).unwrap();
    let join = serde_json::json!({"type": "join", "v": 1, "token": token});
    ws.send(Message::Text(join.to_string().into()))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = ws.next().await {
            let Message::Text(text) = frame else { continue };
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            let sites = m["sites"].as_array().cloned().unwrap_or_default();
            if m["type"] == "stats" && sites.len() >= 2 {
                return sites
                    .iter()
                    .filter_map(|s| {
                        Some((
                            s["site_id"].as_str()?.to_owned(),
                            s["node"].as_str()?.to_owned(),
                        ))
                    })
                    .collect();
            }
        }
        std::collections::HashMap::new()
    })
    .await;
    let _ = ws.close(None).await;
    seen.expect("a stats message within 10 s")
}

/// (audio, video) packets `report`'s site received from site `source`.
fn from(report: &SiteReport, source: u16) -> (u64, u64) {
    report
        .reception
        .by_source
        .get(&source)
        .copied()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_on_another_node_gets_its_media_over_the_relay_and_its_floor_crosses_back() {
    let nats = nats();
    // B first: its relay URL usually sorts first, yet the origin (A) opens their link.
    let b = node(&nats, "b").await;
    let a = node(&nats, "a").await;
    let created = signaling::api::create(
        &a.state,
        CreateMeeting {
            title: "Giao ban hai nút".into(),
            chair_name: None,
            sites: vec![
                SiteInput {
                    name: "Xã B".into(),
                },
                SiteInput {
                    name: "Xã A".into(),
                },
            ],
            valid_hours: Some(1),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .unwrap();
    let published = {
        let start = Instant::now();
        loop {
            if b.cluster.origin_of(&created.id).await.as_deref() == Some("a") {
                break true;
            }
            if start.elapsed() > Duration::from_secs(5) {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(published, "B never saw A as the meeting's origin");

    let ctx = Arc::new(SiteContext {
        pacer: Pacer::start(),
        ip: LOOPBACK,
        keyframe_every: 60,
        site_mic: true,
        progress: Progress::default(),
        full_sites: 3,
        hall: HallLog::default(),
        feedback: load_tests::tap::feedback::FeedbackClock::start(),
    });
    let (s1_id, s2_id) = (
        created.sites[0].site_id.clone(),
        created.sites[1].site_id.clone(),
    );
    let (chair, chair_task) = spawn_site(
        a.http,
        0,
        invite(&created.chair.site_id, Role::Chair, &created.chair.link),
        &ctx,
    );
    let (s1, s1_task) = spawn_site(
        b.http,
        1,
        invite(&s1_id, Role::Site, &created.sites[0].link),
        &ctx,
    );
    let (s2, s2_task) = spawn_site(
        a.http,
        2,
        invite(&s2_id, Role::Site, &created.sites[1].link),
        &ctx,
    );
    let connected = within(Duration::from_secs(15), || {
        ctx.progress
            .connected
            .load(std::sync::atomic::Ordering::Relaxed)
            == 3
    })
    .await;
    assert!(connected, "the three sites' media connections came up");
    chair.send(Command::Open).unwrap();

    // s1's connection is in B's SFU: B hosts it, A knows it is there.
    let hosted = b.cluster.media.hosted();
    assert!(
        hosted.iter().any(|h| h.site == s1_id && h.origin == "a"),
        "{hosted:?}"
    );
    assert!(
        a.cluster.media.hosted().is_empty(),
        "A hosts nothing for others"
    );
    let s1_peer = a
        .state
        .peers
        .iter()
        .find(|e| e.value().1 == s1_id)
        .map(|e| *e.key())
        .expect("A's meeting knows s1's connection");
    assert_eq!(
        a.cluster.media.host_of(s1_peer).map(|h| h.node).as_deref(),
        Some("b")
    );

    // The operators' page says which node holds each site's connection.
    let nodes = operator_nodes(a.http, &created.operator.link).await;
    assert_eq!(
        nodes.get(&s1_id).map(String::as_str),
        Some("b"),
        "{nodes:?}"
    );
    assert_eq!(
        nodes.get(&s2_id).map(String::as_str),
        Some("a"),
        "{nodes:?}"
    );

    // The chair's audio and video cross to B and go on to s1.
    let crossing = within(Duration::from_secs(15), || {
        relayed(&b, "in") > 200.0 && relayed(&a, "out") > 200.0
    })
    .await;
    assert!(
        crossing,
        "relayed in on B {}, out on A {}",
        relayed(&b, "in"),
        relayed(&a, "out")
    );

    // The floor to s1: its tracks cross from B to A for the chair and s2.
    let before = relayed(&a, "in");
    chair.send(Command::Grant(s1_id.clone())).unwrap();
    let back = within(Duration::from_secs(15), || {
        relayed(&a, "in") > before + 200.0 && relayed(&b, "out") > 200.0
    })
    .await;
    assert!(
        back,
        "relayed in on A {} (from {before}), out on B {}",
        relayed(&a, "in"),
        relayed(&b, "out")
    );
    // Let each receiver see a few keyframes of what crosses.
    tokio::time::sleep(Duration::from_secs(3)).await;

    for tx in [&chair, &s1, &s2] {
        // A site that stopped early says why in its report.
        let _ = tx.send(Command::Leave);
    }
    let bound = Duration::from_secs(20);
    let chair = tokio::time::timeout(bound, chair_task)
        .await
        .unwrap()
        .unwrap();
    let s1 = tokio::time::timeout(bound, s1_task).await.unwrap().unwrap();
    let s2 = tokio::time::timeout(bound, s2_task).await.unwrap().unwrap();
    for r in [&chair, &s1, &s2] {
        assert!(
            r.failure.is_none(),
            "{}: {:?} {:?}",
            r.site_id,
            r.failure,
            r.errors
        );
        let errors: u64 = r.streams.iter().map(|s| s.decode_errors).sum();
        assert_eq!(errors, 0, "{} decoded every packet", r.site_id);
    }
    let (audio, video) = from(&s1, 0);
    assert!(
        audio > 50 && video > 50,
        "s1 on B received the chair: {audio} audio, {video} video packets"
    );
    let (audio, video) = from(&s2, 1);
    assert!(
        audio > 50 && video > 50,
        "s2 on A received s1 (the floor): {audio} audio, {video} video packets"
    );
    let (audio, _) = from(&chair, 1);
    assert!(audio > 50, "the chair heard s1: {audio} audio packets");
    // One link between the two nodes carries both ways (one end on each).
    assert_eq!(metric(&a, "diemcau_relay_links", None), 1.0);
    assert_eq!(metric(&b, "diemcau_relay_links", None), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_offer_on_the_hosting_node_gets_bad_sdp_and_leaves_nothing_there() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let nats = nats();
    let a = node(&nats, "a").await;
    let b = node(&nats, "b").await;
    let created = signaling::api::create(
        &a.state,
        CreateMeeting {
            title: "Giao ban".into(),
            chair_name: None,
            sites: vec![SiteInput {
                name: "Xã B".into(),
            }],
            valid_hours: Some(1),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .unwrap();
    let start = Instant::now();
    while b.cluster.origin_of(&created.id).await.as_deref() != Some("a") {
        assert!(start.elapsed() < Duration::from_secs(5), "B never saw A");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", b.http))
        .await
        .unwrap();
    let token = created.sites[0].link.split("#t=").nth(1).unwrap();
    let join = serde_json::json!({"type": "join", "v": 1, "token": token});
    ws.send(Message::Text(join.to_string().into()))
        .await
        .unwrap();
    let offer = serde_json::json!({"type": "offer", "sdp": "v=0\r\nm=bad", "id": 7});
    ws.send(Message::Text(offer.to_string().into()))
        .await
        .unwrap();
    let error = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(frame)) = ws.next().await {
            let Message::Text(text) = frame else { continue };
            let m: serde_json::Value = serde_json::from_str(&text).unwrap();
            if m["type"] == "error" {
                return m;
            }
        }
        panic!("the socket closed without an error");
    })
    .await
    .expect("an error within 10 s");
    assert_eq!(error["code"], "bad_sdp", "{error}");
    assert_eq!(error["id"], 7, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("offer ")
            && !message.contains(": offer")
            && !message.contains("127.0.0.1"),
        "{message}"
    );
    // B answered nothing: no connection is left hosted or in its SFU.
    assert!(
        b.cluster.media.hosted().is_empty(),
        "{:?}",
        b.cluster.media.hosted()
    );
    assert_eq!(metric(&b, "diemcau_sfu_peers", None), 0.0);
    assert_eq!(metric(&a, "diemcau_sfu_peers", None), 0.0, "nor in A's");
}
