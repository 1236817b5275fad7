//! What the in-process load tests share: a node's settings on an OS-given port, its server
//! task, and the scenarios they run.

// Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

pub mod publish;
pub mod ws;

use std::path::Path;
use std::time::Duration;

use load_tests::scenario::Scenario;

/// The settings of a test node reachable at `http`, with `admin` as its API key.
pub fn settings(http: std::net::SocketAddr, admin: &str) -> signaling::Settings {
    signaling::Settings {
        public_url: format!("http://{http}"),
        admin_key: admin.into(),
        token_secret: b"load-test-token-secret-0123456789abcdef".to_vec(),
        ice_servers: Vec::new(),
        data_dir: None,
        separate_metrics: false,
        turn: None,
        drain_timeout: Duration::ZERO,
        limits: signaling::limits::Limits::default(),
        behind_proxy: false,
        trusted_proxies: Vec::new(),
        relay: None,
    }
}

/// The media plane on an OS-given loopback UDP port.
pub fn sfu_config() -> sfu::SfuConfig {
    sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
        priority_boost: 0,
    }
}

/// The server task on `listener`; sending on (or dropping) the first value stops it.
pub fn serve(
    listener: tokio::net::TcpListener,
    state: std::sync::Arc<signaling::AppState>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(signaling::run(listener, state, async move {
        let _ = stopped.await;
    }));
    (stop, server)
}

/// A scenario file of `load-tests/scenarios/`.
pub fn scenario(file: &str) -> Scenario {
    Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(file),
    )
    .unwrap()
}
