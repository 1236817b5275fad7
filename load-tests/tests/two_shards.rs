//! Two meetings at once on a node with two media shards (`media.shards = 2`): each meeting is
//! placed on its own shard, both meetings' media flow over the node's single UDP port (the
//! dispatcher steers each datagram to its shard), and every site gets its own chair.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use load_tests::runner::{self, RunOptions};
use load_tests::scenario::Scenario;
use load_tests::target::{Diemcau, Target};

const ADMIN: &str = "shards-admin-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_meetings_on_two_shards_share_the_one_port_and_each_gets_its_chair() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let settings = signaling::Settings {
        public_url: format!("http://{http}"),
        admin_key: ADMIN.into(),
        token_secret: b"shards-token-secret-0123456789abcdef".to_vec(),
        ice_servers: Vec::new(),
        data_dir: None,
        separate_metrics: false,
        turn: None,
        drain_timeout: Duration::ZERO,
        limits: signaling::limits::Limits::default(),
        behind_proxy: false,
        trusted_proxies: Vec::new(),
        relay: None,
    };
    let sfu = sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
    };
    let state = signaling::start_sharded(settings, sfu, 2).unwrap();
    assert_eq!(state.sfu.shards(), 2);
    // The most peers each shard held at once, sampled while the run goes.
    let most = Arc::new(std::sync::Mutex::new(vec![0usize; 2]));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (state, most, done) = (state.clone(), most.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let now = state.sfu.shard_peers();
                {
                    let mut m = most.lock().unwrap();
                    for (m, n) in m.iter_mut().zip(now) {
                        *m = (*m).max(n);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(signaling::run(listener, state.clone(), async move {
        let _ = stopped.await;
    }));

    let scenario = Scenario::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke-two-meetings.toml"),
    )
    .unwrap();
    let target = Arc::new(Diemcau::new(http, ADMIN));
    let r = runner::run(target.clone(), &scenario, &RunOptions::default())
        .await
        .unwrap();
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let text = target.scrape().await.unwrap().expect("diemcau has metrics");
    let _ = stop.send(());
    let _ = server.await;

    let summary = load_tests::report::markdown(&r);
    assert_eq!(r.failed, 0, "{summary}");
    assert_eq!(r.joined, 8, "two chairs and six sites: {summary}");
    assert_eq!(r.media.decode_errors, 0, "{summary}");
    assert!(r.media.loss_pct <= 1.0, "{summary}");
    // Every site (three per meeting) received its own meeting's chair: a site's source 0 is
    // the chair of its meeting, whose media only its meeting's shard forwards.
    assert_eq!(r.media.sites_with_chair_audio, 6, "{summary}");
    assert_eq!(r.media.sites_with_chair_video, 6, "{summary}");
    // Each meeting had a shard of its own: four peers (chair and three sites) on each.
    assert_eq!(*most.lock().unwrap(), vec![4, 4], "{summary}");
    // Both shards' threads forwarded; the dispatcher ran beside them.
    for shard in ["0", "1", "dispatch"] {
        let line = format!("diemcau_sfu_media_thread_cpu_seconds_total{{shard=\"{shard}\"}}");
        assert!(text.contains(&line), "no {line} in\n{text}");
    }
    let sfu = r.sfu.as_ref().expect("the server's metrics were read");
    assert!(sfu.forwarded_pps > 500.0, "{summary}");
}
