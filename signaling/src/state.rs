//! Everything a request handler or session needs, shared behind one `Arc`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use sfu::{PeerId, Sfu};

use crate::meeting::{Meeting, Meetings};
use crate::metrics::Metrics;
use crate::protocol::IceServer;
use crate::token::TokenKeys;

/// Settings of the signaling service.
#[derive(Debug, Clone)]
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
    /// Peer → (meeting, site), to route SFU events back to meetings.
    pub peers: DashMap<PeerId, (Arc<Meeting>, String)>,
    ids: AtomicU64,
}

impl AppState {
    /// Builds the state around a running SFU whose metrics are in `registry`.
    pub fn new(settings: Settings, sfu: Arc<Sfu>, registry: prometheus::Registry) -> Result<Self, prometheus::Error> {
        let metrics = Metrics::register(&registry)?;
        Ok(AppState {
            keys: TokenKeys::new(&settings.token_secret),
            settings,
            meetings: Meetings::default(),
            sfu,
            metrics,
            registry,
            peers: DashMap::new(),
            ids: AtomicU64::new(1),
        })
    }

    /// A process-unique id (sessions, peers).
    pub fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// ICE servers for a site's browser.
    pub fn ice_servers(&self, _site: &str) -> Vec<IceServer> {
        self.settings.ice_servers.clone()
    }
}
