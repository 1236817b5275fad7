//! The smoke run of the suite: a real diemcau server in this process (`signaling::start` +
//! `signaling::run` on 127.0.0.1:0), one chair and five simulated webrtc-rs sites for about
//! 20 s (`scenarios/smoke.toml`), the floor moving every 5 s, the hall's grid of 2 tiles
//! rotating every 3 s.

use std::sync::Arc;

use load_tests::runner::{self, RunOptions};
use load_tests::scenario::Scenario;
use load_tests::target::Diemcau;

const ADMIN: &str = "smoke-admin-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sites_receive_the_chair_and_the_floor_without_loss_while_the_hall_pages_its_grid() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let settings = signaling::Settings {
        public_url: format!("http://{http}"),
        admin_key: ADMIN.into(),
        token_secret: b"smoke-token-secret-0123456789abcdef".to_vec(),
        ice_servers: Vec::new(),
        data_dir: None,
        separate_metrics: false,
        turn: None,
        drain_timeout: std::time::Duration::ZERO,
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
    let state = signaling::start(settings, sfu).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(signaling::run(listener, state, async move {
        let _ = stopped.await;
    }));

    let scenario = Scenario::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/smoke.toml"),
    )
    .unwrap();
    let r = runner::run(
        Arc::new(Diemcau::new(http, ADMIN)),
        &scenario,
        &RunOptions::default(),
    )
    .await
    .unwrap();
    let _ = stop.send(());
    let _ = server.await;

    let summary = load_tests::report::markdown(&r);
    assert_eq!(r.failed, 0, "{summary}");
    assert_eq!(r.joined, 6, "{summary}");
    assert_eq!(r.media.decode_errors, 0, "{summary}");
    assert!(r.media.loss_pct <= 1.0, "{summary}");
    assert_eq!(r.media.sites_with_chair_audio, 5, "{summary}");
    assert_eq!(r.media.sites_with_chair_video, 5, "{summary}");
    assert!(
        r.media.sites_with_floor_video >= 4,
        "the floor reached the sites: {summary}"
    );
    let sfu = r.sfu.as_ref().expect("the server's metrics were read");
    assert!(sfu.forwarded_pps > 500.0, "{summary}");
    assert!(r.problems.is_empty(), "{summary}");
    // Two of the five sites received through taps: their packets were counted from the
    // header and only a sample decrypted, yet they saw the chair (asserted above).
    let g = &r.generator;
    assert_eq!((g.full_sites, g.light_sites), (4, 2), "{summary}");
    assert!(g.tap_packets > 1000, "{summary}");
    assert!(
        g.tap_sampled_pct.is_some_and(|p| p < 25.0),
        "the taps decrypted only a sample: {summary}"
    );
    assert_hall_grid(&r, &summary);
}

/// The hall's grid in the same run: it paged through its pages, received the video of the
/// sites each page showed and of no other site, and every site was on some page.
fn assert_hall_grid(r: &load_tests::result::RunResult, summary: &str) {
    let grid = r.hall_grid.as_ref().expect("the chair saw its grid");
    assert!(grid.max_pages >= 3, "5 sites, 2 tiles a page: {summary}");
    assert!(grid.turns >= 4, "the rotation turned the page: {summary}");
    assert!(grid.pages.len() >= 3, "pages changed: {summary}");
    assert_eq!(
        grid.off_page_packets, 0,
        "only shown sites arrive: {summary}"
    );
    assert!(grid.on_page_packets > 100, "{summary}");
    for p in &grid.pages {
        assert!(
            p.received.iter().all(|s| p.sites.contains(s)),
            "page {}: {summary}",
            p.page
        );
    }
    let shown: std::collections::BTreeSet<u16> = grid
        .pages
        .iter()
        .flat_map(|p| p.received.iter().copied())
        .collect();
    assert_eq!(
        shown,
        (1..=5).collect(),
        "every site's video came on some page: {summary}"
    );
    assert_eq!(grid.sites_seen, 5, "{summary}");
}
