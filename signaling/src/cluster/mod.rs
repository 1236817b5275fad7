//! A cluster of nodes carrying one meeting together, coordinated through NATS (only with
//! `[cluster] nats_url`; without it nothing here runs and no NATS is contacted).
//!
//! - **Who is where**: JetStream KV buckets ([`records`]): `nodes` (each node's URL, region
//!   and load, rewritten every second, gone 5 s after its last beat: the bucket's TTL is the
//!   liveness), `meetings` (each meeting's origin node and its snapshot), `placement`.
//! - **One authority per meeting**: the origin (the node where it was created, or the one
//!   that took it over) holds the meeting's [`crate::meeting::State`] and applies every
//!   action. A site that opens its socket on another node is *tunneled* ([`edge`]): that node
//!   sends each of its frames to the origin on `diemcau.meeting.<id>.action` (request/reply:
//!   the origin's acknowledgement, or a clear `cluster_unavailable` when none comes), and
//!   the origin runs the very session state machine a local socket gets ([`origin`]), so a
//!   frame from another node is validated exactly like a browser's. What the session sends
//!   (its share of the meeting's effects: routing, floor, mutes, the roll call) goes back on
//!   `diemcau.meeting.<id>.effects.<tunnel>`.
//! - **Failover** ([`authority`]): the origin rewrites its meetings' entries every second
//!   with compare-and-set on the entry's revision; a node that finds an entry whose origin is
//!   no longer in `nodes` takes it over by the same compare-and-set (one winner), rebuilds the
//!   meeting from the snapshot and serves its subject. Tunnels to the dead origin close with
//!   `cluster_unavailable`; the browsers rejoin (resume) and reach the new origin.

pub mod authority;
pub mod edge;
pub mod media;
pub mod origin;
pub mod records;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_nats::jetstream::kv;
use prometheus::{IntCounter, IntGauge};

use crate::config::ClusterConfig;
use crate::state::AppState;

/// Why this node could not join its cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS server cannot be reached.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The configured URL.
        url: String,
        /// The client's reason.
        reason: String,
    },
    /// JetStream is off or a bucket cannot be made.
    #[error(
        "cannot open the JetStream KV bucket {bucket}: {reason} (is nats-server started with -js?)"
    )]
    Bucket {
        /// The bucket.
        bucket: &'static str,
        /// The client's reason.
        reason: String,
    },
    /// The metric series cannot be registered.
    #[error("cannot register the cluster metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// `diemcau_cluster_*`.
#[derive(Debug, Clone)]
pub struct ClusterMetrics {
    /// Nodes with a live entry in `nodes`, this one included.
    pub nodes_seen: IntGauge,
    /// Frames of tunneled sessions sent to their meeting's origin.
    pub actions_forwarded: IntCounter,
    /// Messages from an origin delivered to a tunneled session here.
    pub effects_received: IntCounter,
    /// Meetings whose authority this node holds.
    pub meetings_held: IntGauge,
    /// Meetings this node took over from a dead origin.
    pub takeovers: IntCounter,
    /// Frames that could not reach the origin (no authority, NATS down).
    pub unavailable: IntCounter,
}

impl ClusterMetrics {
    fn register(registry: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        Ok(ClusterMetrics {
            nodes_seen: gauge("diemcau_cluster_nodes_seen", "Live nodes in the cluster")?,
            actions_forwarded: counter(
                "diemcau_cluster_actions_forwarded_total",
                "Frames of sessions tunneled to their meeting's origin node",
            )?,
            effects_received: counter(
                "diemcau_cluster_effects_received_total",
                "Messages from an origin node delivered to a tunneled session here",
            )?,
            meetings_held: gauge(
                "diemcau_cluster_meetings_held",
                "Meetings whose authority this node holds",
            )?,
            takeovers: counter(
                "diemcau_cluster_takeovers_total",
                "Meetings taken over from an origin node that died",
            )?,
            unavailable: counter(
                "diemcau_cluster_unavailable_total",
                "Frames refused with cluster_unavailable (no origin answered)",
            )?,
        })
    }
}

/// This node's membership in the cluster.
pub struct Cluster {
    /// This node's name.
    pub node_id: String,
    /// Its province or region.
    pub region: String,
    /// The NATS connection.
    pub client: async_nats::Client,
    /// `meetings`.
    pub meetings: kv::Store,
    /// `nodes`.
    pub nodes: kv::Store,
    /// `placement`.
    pub placement: kv::Store,
    /// `diemcau_cluster_*`.
    pub metrics: ClusterMetrics,
    /// The media of tunneled sites: hosted here, or hosted elsewhere for this node's meetings.
    pub media: media::Media,
    /// Meetings whose authority this node holds: the KV revision it last wrote, and the task
    /// serving its action subject.
    held: Mutex<HashMap<String, (u64, tokio::task::JoinHandle<()>)>>,
    next_tunnel: AtomicU64,
    /// Sessions of other nodes' sites that this node runs as their meetings' origin.
    tunnels: origin::Tunnels,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    state: Weak<AppState>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

/// Connects `state`'s node to the cluster `config` names: opens (or creates) the buckets,
/// starts the heartbeat and authority loop, and records the cluster in `state`.
pub async fn join(
    state: &Arc<AppState>,
    config: &ClusterConfig,
) -> Result<Arc<Cluster>, ClusterError> {
    let client = async_nats::ConnectOptions::new()
        .name(format!("diemcau-{}", config.node_id))
        .connection_timeout(std::time::Duration::from_secs(5))
        .request_timeout(Some(std::time::Duration::from_secs(3)))
        .connect(config.nats_url.as_str())
        .await
        .map_err(|e| ClusterError::Connect {
            url: config.nats_url.clone(),
            reason: e.to_string(),
        })?;
    let js = async_nats::jetstream::new(client.clone());
    let bucket = |name: &'static str, max_age: std::time::Duration| {
        let js = js.clone();
        async move {
            js.create_key_value(kv::Config {
                bucket: name.to_owned(),
                history: 1,
                max_age,
                ..Default::default()
            })
            .await
            .map_err(|e| ClusterError::Bucket {
                bucket: name,
                reason: e.to_string(),
            })
        }
    };
    let meetings = bucket(records::MEETINGS_BUCKET, std::time::Duration::ZERO).await?;
    let nodes = bucket(records::NODES_BUCKET, records::NODE_TTL).await?;
    let placement = bucket(records::PLACEMENT_BUCKET, std::time::Duration::ZERO).await?;
    let metrics = ClusterMetrics::register(&state.registry)?;
    let jobs = media::crossing::spawn(state, client.clone());
    let cluster = Arc::new(Cluster {
        node_id: config.node_id.clone(),
        region: config.region.clone(),
        client,
        meetings,
        nodes,
        placement,
        metrics,
        media: media::Media::new(&config.node_id, jobs),
        held: Mutex::new(HashMap::new()),
        next_tunnel: AtomicU64::new(1),
        tunnels: origin::Tunnels::default(),
        tasks: Mutex::new(Vec::new()),
        state: Arc::downgrade(state),
    });
    // The first beat before anything is served: the node is seen at once.
    authority::tick(&cluster, state).await;
    let task = tokio::spawn(authority::run(Arc::downgrade(&cluster)));
    let media = media::serve(&cluster, state)
        .await
        .map_err(|e| ClusterError::Connect {
            url: config.nats_url.clone(),
            reason: e.to_string(),
        })?;
    cluster
        .tasks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(std::iter::once(task).chain(media));
    let _ = state.cluster.set(cluster.clone());
    tracing::info!(node = %config.node_id, "joined the cluster");
    Ok(cluster)
}

impl Cluster {
    /// A fresh tunnel name on this node.
    fn tunnel(&self) -> String {
        records::tunnel_id(
            &self.node_id,
            self.next_tunnel.fetch_add(1, Ordering::Relaxed),
        )
    }

    /// The origin node of `meeting` as the `meetings` bucket says, if any.
    pub async fn origin_of(&self, meeting: &str) -> Option<String> {
        if !records::valid_meeting_id(meeting) {
            return None;
        }
        let entry = self.meetings.entry(meeting).await.ok()??;
        let record: records::MeetingRecord = serde_json::from_slice(&entry.value).ok()?;
        Some(record.origin)
    }

    /// Whether `node` has a live entry in `nodes`.
    pub async fn is_live(&self, node: &str) -> Result<bool, async_nats::jetstream::kv::EntryError> {
        Ok(self.nodes.get(node).await?.is_some())
    }

    /// Whether this node holds `meeting`'s authority.
    pub fn holds(&self, meeting: &str) -> bool {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(meeting)
    }

    /// Leaves the cluster as a dying node would: the loops stop and the NATS connection
    /// closes without a goodbye (its entry in `nodes` expires; others take its meetings).
    pub async fn stop(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            t.abort();
        }
        for (_, (_, t)) in self.held.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            t.abort();
        }
        let _ = self.client.drain().await;
    }
}
