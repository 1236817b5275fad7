//! Everything a request handler or session needs, shared behind one `Arc`.
//!
//! Lifecycle of the service ([`Phase`]): `Serving` → (shutdown signal) `Draining` (joins
//! refused, `/readyz` answers 503, every session told `draining`; meetings may finish) →
//! `Closing` (when no site is left or the drain time is up: every session closes) → the HTTP
//! server stops and the SFU with it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use sfu::{PeerId, Sfu};

use crate::meeting::{Meeting, Meetings};
use crate::metrics::Metrics;
use crate::protocol::IceServer;
use crate::token::TokenKeys;
use crate::turn::TurnRest;

/// Settings of the signaling service. `Debug` hides the secrets.
#[derive(Clone)]
pub struct Settings {
    /// Base URL of the web client as sites reach it, e.g. `https://hop.tinh.gov.vn`.
    pub public_url: String,
    /// Bearer credential for the admin API.
    pub admin_key: String,
    /// Secret that signs invite tokens.
    pub token_secret: Vec<u8>,
    /// ICE servers handed to every browser.
    pub ice_servers: Vec<IceServer>,
    /// Where roll calls are kept (`<dir>/attendance/<meeting>.json`); `None` keeps them in
    /// memory only.
    pub data_dir: Option<std::path::PathBuf>,
    /// `/metrics` is served on its own listener (`--metrics-addr`), not on the main port.
    pub separate_metrics: bool,
    /// Signs short-lived TURN credentials added to `ice_servers` for each site.
    pub turn: Option<TurnRest>,
    /// How long a shutdown waits for sites to leave before closing every session.
    pub drain_timeout: Duration,
    /// What connections, addresses, meetings and this node may use.
    pub limits: crate::limits::Limits,
    /// A TLS reverse proxy forwards to us: a client's address is the last entry of the
    /// `X-Forwarded-For` it adds, not the proxy's own.
    pub behind_proxy: bool,
    /// Peers whose `X-Forwarded-For` is believed when `behind_proxy` (see [`crate::proxy`]).
    pub trusted_proxies: Vec<crate::proxy::Net>,
    /// Relay links with the other nodes of a cluster (`[relay]`); `None`: refused.
    pub relay: Option<crate::relay::RelaySettings>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("public_url", &self.public_url)
            .field("admin_key", &"<redacted>")
            .field("token_secret", &"<redacted>")
            .field(
                "ice_servers",
                &self.ice_servers.iter().map(|s| &s.urls).collect::<Vec<_>>(),
            )
            .field("data_dir", &self.data_dir)
            .field("separate_metrics", &self.separate_metrics)
            .field("turn", &self.turn)
            .field("drain_timeout", &self.drain_timeout)
            .field("limits", &self.limits)
            .field("behind_proxy", &self.behind_proxy)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("relay", &self.relay)
            .finish()
    }
}

/// Where the service is in its life (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepting joins.
    Serving,
    /// Shutting down: no new join; sessions close within `seconds`.
    Draining {
        /// Drain time left when draining began.
        seconds: u64,
    },
    /// Every session closes now.
    Closing,
}

/// Shared state of the service.
#[derive(Debug)]
pub struct AppState {
    /// Settings.
    pub settings: Settings,
    /// Token signing keys.
    pub keys: TokenKeys,
    /// Meetings held.
    pub meetings: Meetings,
    /// The media plane.
    pub sfu: Arc<Sfu>,
    /// Signaling metrics.
    pub metrics: Metrics,
    /// Every metric of the process, rendered at `/metrics`.
    pub registry: prometheus::Registry,
    /// Peer → (meeting, site), to route SFU events back to meetings. The meeting decides
    /// which connection is whose; only its effects write here ([`crate::meeting::Node`]).
    pub peers: DashMap<PeerId, (Arc<Meeting>, String)>,
    /// When each peer's site sent `join`, until its first media packet (join latency).
    pub joins: DashMap<PeerId, std::time::Instant>,
    /// Joins per client address, against `limits.joins_per_second_per_ip`.
    pub join_rate: crate::limits::JoinRate,
    /// The time `join_rate` reads; tests freeze it so a verdict does not depend on speed.
    pub clock: crate::clock::Clock,
    /// The service's phase; sessions watch it to learn of a shutdown.
    pub phase: tokio::sync::watch::Sender<Phase>,
    /// WebSockets that have not joined yet, per address and in total (`limits.unjoined_*`).
    pub unjoined: crate::door::Door,
    /// Open HTTP connections per address (`limits.connections_per_ip`).
    pub connections: crate::door::Door,
    ids: AtomicU64,
    /// Held while a meeting is placed on a media shard, so two meetings starting at once
    /// see each other's choice ([`crate::shards::of_meeting`]).
    pub shard_placing: std::sync::Mutex<()>,
    /// Relay links to and from other nodes (see [`crate::relay`]).
    pub relay_links: crate::relay::Links,
    /// This node's cluster, once joined (`[cluster]`; never set on a single node).
    pub cluster: std::sync::OnceLock<Arc<crate::cluster::Cluster>>,
    /// The recorder thread, started with the node when it has a data directory
    /// ([`crate::recording::live`]).
    pub recorder: std::sync::OnceLock<sfu::record::Recorder>,
}

/// The node a meeting's effects act on (see [`crate::meeting::executor`]): the one writer of
/// `peers` and `joins`.
impl crate::meeting::Node for AppState {
    fn peer_added(&self, meeting: &str, peer: PeerId, site: String) {
        if let Some(m) = self.meetings.get(meeting) {
            self.peers.insert(peer, (m, site));
            self.joins.insert(peer, Instant::now());
        }
    }

    fn remove_peer(&self, peer: PeerId) {
        if let Some(cluster) = self.cluster.get() {
            cluster.media.removed(peer);
        }
        self.sfu.remove_peer(peer);
        self.peers.remove(&peer);
        self.joins.remove(&peer);
    }

    fn subscribe(&self, peer: PeerId, subscriptions: Vec<sfu::Subscription>) {
        // In a cluster with relay links, sources and subscribers may be on other nodes.
        if let Some(cluster) = self.cluster.get() {
            if cluster.media.subscribe(self, peer, &subscriptions) {
                return;
            }
        }
        self.sfu.set_subscriptions(peer, subscriptions);
    }

    fn forget_site_metrics(&self, meeting: &str, site: &str, role: crate::protocol::Role) {
        self.metrics.sites.remove(meeting, site, role.as_str());
    }

    fn record(&self, meeting: &str, peer: PeerId, label: Option<String>) {
        crate::recording::live::record(self, meeting, peer, label);
    }
}

impl AppState {
    /// Builds the state around a running SFU whose metrics are in `registry`.
    pub fn new(
        settings: Settings,
        sfu: Arc<Sfu>,
        registry: prometheus::Registry,
    ) -> Result<Self, prometheus::Error> {
        let metrics = Metrics::register(&registry)?;
        Ok(AppState {
            keys: TokenKeys::new(&settings.token_secret),
            settings,
            meetings: Meetings::default(),
            sfu,
            metrics,
            registry,
            peers: DashMap::new(),
            joins: DashMap::new(),
            join_rate: crate::limits::JoinRate::default(),
            clock: crate::clock::Clock::default(),
            phase: tokio::sync::watch::Sender::new(Phase::Serving),
            unjoined: crate::door::Door::new("WebSockets not joined yet"),
            connections: crate::door::Door::new("open connections"),
            ids: AtomicU64::new(1),
            shard_placing: std::sync::Mutex::new(()),
            relay_links: crate::relay::Links::default(),
            cluster: std::sync::OnceLock::new(),
            recorder: std::sync::OnceLock::new(),
        })
    }

    /// A process-unique id (sessions, peers).
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// ICE servers for a site's browser: the configured ones, then TURN with credentials
    /// signed for this site now.
    pub fn ice_servers(&self, site: &str) -> Vec<IceServer> {
        let mut servers = self.settings.ice_servers.clone();
        if let Some(turn) = &self.settings.turn {
            servers.push(turn.ice_server(site, std::time::SystemTime::now()));
        }
        servers
    }

    /// True once a shutdown began: joins are refused.
    pub fn is_draining(&self) -> bool {
        *self.phase.borrow() != Phase::Serving
    }

    /// Shuts the service down gently: refuses joins, tells every session, waits until no site
    /// is connected or the drain time is up, then closes every session.
    pub async fn drain(&self) {
        let timeout = self.settings.drain_timeout;
        self.phase.send_replace(Phase::Draining {
            seconds: timeout.as_secs(),
        });
        let deadline = Instant::now() + timeout;
        tracing::info!(sites = self.peers.len(), "draining for up to {timeout:?}");
        while !self.peers.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::info!(sites = self.peers.len(), "closing every session");
        self.phase.send_replace(Phase::Closing);
        // Let the sessions send their close frames before the runtime goes away.
        let closed = Instant::now() + Duration::from_secs(2);
        while self.metrics.sessions.get() > 0 && Instant::now() < closed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_debug_hides_the_secrets() {
        let settings = Settings {
            public_url: "https://hop.example.gov.vn".into(),
            admin_key: "admin-key-never-logged".into(),
            token_secret: b"token-secret-never-logged".to_vec(),
            ice_servers: Vec::new(),
            data_dir: None,
            separate_metrics: false,
            turn: Some(TurnRest::new(&crate::config::TurnConfig {
                urls: vec!["turn:127.0.0.1:3478".into()],
                secret: crate::config::Secret::new("turn-secret-never-logged"),
                ttl: Duration::from_secs(600),
            })),
            drain_timeout: Duration::from_secs(30),
            limits: crate::limits::Limits::default(),
            behind_proxy: false,
            trusted_proxies: Vec::new(),
            relay: Some(crate::relay::RelaySettings {
                secret: "relay-secret-never-logged".into(),
                advertise_url: "http://10.0.0.5:8080".into(),
            }),
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("hop.example.gov.vn"), "{shown}");
        for secret in [
            "admin-key-never-logged",
            "token-secret-never-logged",
            "turn-secret-never-logged",
            "relay-secret-never-logged",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
