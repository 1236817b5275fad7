//! Every configuration key, written once: the field, its doc comment (also its `--flag`'s
//! help) and its default. The file's table, the `DIEMCAU_*` variables, the flags, the
//! documentation check and the `--check-config` summary are all derived from these structs.
//!
//! A value's own rule (an address, a range, a list) is its type ([`super::values`]);
//! rules between keys are in [`super::validate`].

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::values::{Bounded, List, Mode, Secret};
use crate::limits::Limits;
use crate::proxy::Net;

/// Longest drain accepted.
pub const MAX_DRAIN_SECONDS: u64 = 3600;

/// One key, as the environment, the flags and the documentation know it.
#[derive(Debug)]
pub struct KeyInfo {
    /// Its path in the file: `http`, `turn.urls`, `limits.sites_per_node`.
    pub path: String,
    /// Its flag: `--http`, `--turn-urls`, `--limits-sites-per-node`.
    pub flag: String,
    /// Its doc comment.
    pub doc: &'static str,
    /// A yes/no key: its flag takes no value.
    pub switch: bool,
}

/// A key's type: a leaf (one key) or a section of keys (made by `section!`).
pub trait Key {
    /// A yes/no key.
    const SWITCH: bool = false;

    /// Appends the key (or a section's keys) at `path` to `out`.
    fn describe(path: &str, doc: &'static str, out: &mut Vec<KeyInfo>) {
        out.push(KeyInfo {
            path: path.to_owned(),
            flag: format!("--{}", path.replace(['.', '_'], "-")),
            doc,
            switch: Self::SWITCH,
        });
    }
}

impl Key for bool {
    const SWITCH: bool = true;
}
impl Key for SocketAddr {}
impl Key for IpAddr {}
impl Key for PathBuf {}
impl Key for String {}
impl Key for Mode {}
impl Key for Secret {}
impl<T: Key> Key for Option<T> {}
impl<T> Key for List<T> {}
impl<const LO: u64, const HI: u64> Key for Bounded<LO, HI> {}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Declares a section: the struct (unknown keys refused, missing keys at their default), its
/// `Default` from the defaults written beside the fields, and its keys for [`all`].
macro_rules! section {
    ($(#[doc = $sdoc:literal])* $name:ident {
        $( $(#[doc = $doc:literal])+ $field:ident : $ty:ty = $default:expr, )+
    }) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $( $(#[doc = $doc])+ pub $field: $ty, )+
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )+ }
            }
        }

        impl Key for $name {
            fn describe(path: &str, _doc: &'static str, out: &mut Vec<KeyInfo>) {
                $(
                    <$ty as Key>::describe(
                        &join(path, stringify!($field)),
                        concat!($($doc, "\n"),+),
                        out,
                    );
                )+
            }
        }
    };
}

section! {
    /// The whole configuration: the top-level keys and the `[media]`, `[turn]` and `[limits]`
    /// sections.
    Keys {
        /// `development` (missing secrets are generated) or `production` (secrets and
        /// public_url required, plain HTTP only on loopback or behind a proxy).
        mode: Mode = Mode::Development,
        /// HTTP(S) listen address: web client, WebSocket, API, health and metrics.
        http: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080)),
        /// The single UDP address every site's media uses; 0.0.0.0 needs announce_ip.
        udp: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 40000)),
        /// IP announced to browsers for the media port, when it differs from the bound one
        /// (NAT, a wildcard bind).
        announce_ip: Option<IpAddr> = None,
        /// TCP address for ICE-TCP, for sites whose firewall drops UDP. Default: off.
        ice_tcp: Option<SocketAddr> = None,
        /// Base URL sites open (invite links). Default: http(s)://<http address>.
        public_url: Option<String> = None,
        /// Serve /metrics on this address instead of the main port.
        metrics_addr: Option<SocketAddr> = None,
        /// Directory for roll-call records and meeting snapshots.
        data_dir: PathBuf = PathBuf::from("data"),
        /// Admin API bearer key: environment or flag only, never the file (prefer
        /// admin_key_file: flags show in `ps`). Default (development): generated at start.
        admin_key: Option<Secret> = None,
        /// File holding the admin API key.
        admin_key_file: Option<PathBuf> = None,
        /// Secret signing invite tokens (32+ bytes in production): environment or flag only.
        /// Default (development): generated once and kept in data_dir.
        token_secret: Option<Secret> = None,
        /// File holding the token secret.
        token_secret_file: Option<PathBuf> = None,
        /// Plain HTTP for a TLS-terminating reverse proxy (allowed off loopback in
        /// production).
        behind_proxy: bool = false,
        /// With behind_proxy: the peers whose X-Forwarded-For is believed (addresses or
        /// networks, comma-separated in the environment and flags).
        trusted_proxies: List<Net> = List(crate::proxy::loopback()),
        /// PEM certificate chain: serve HTTPS/WSS directly (reloaded on SIGHUP).
        tls_cert: Option<PathBuf> = None,
        /// PEM private key of tls_cert.
        tls_key: Option<PathBuf> = None,
        /// Seconds a shutdown waits for sites to leave before closing every session.
        drain_seconds: Bounded<0, MAX_DRAIN_SECONDS> = Bounded(30),
        /// The media plane's threads.
        media: MediaKeys = MediaKeys::default(),
        /// TURN relay handed to browsers.
        turn: TurnKeys = TurnKeys::default(),
        /// Media relay links between the nodes of a cluster.
        relay: RelayKeys = RelayKeys::default(),
        /// Several nodes carrying one meeting, coordinated through NATS.
        cluster: ClusterKeys = ClusterKeys::default(),
        /// What connections, addresses, meetings and this node may use.
        limits: LimitKeys = LimitKeys::default(),
    }
}

section! {
    /// `[relay]`: media relay links between nodes (one per meeting and node pair; each
    /// upstream track crosses once). Off unless `secret` is set.
    RelayKeys {
        /// The cluster's shared secret: another node opening a relay link to this one
        /// presents it as a bearer credential on `POST /internal/v1/relay` (16+ bytes).
        /// Environment or flag only, never the file. Unset: links are refused (401).
        secret: Option<Secret> = None,
        /// File holding the relay secret.
        secret_file: Option<PathBuf> = None,
        /// Base URL other nodes reach this node's HTTP API at for relay links (e.g.
        /// `http://10.0.0.5:8080`). Default: this node's public_url.
        advertise_url: Option<String> = None,
    }
}

section! {
    /// `[cluster]`: the nodes of a national meeting find each other through NATS (see
    /// [`crate::cluster`]). Without nats_url the node stands alone and contacts nothing.
    ClusterKeys {
        /// NATS server with JetStream (`nats://host:4222`). Default: none (a single node).
        nats_url: Option<String> = None,
        /// This node's name in the cluster: unique, letters, digits, `-` and `_`, at most
        /// 32. Required with nats_url.
        node_id: Option<String> = None,
        /// The province or region this node serves (placement puts its sites here).
        node_region: Option<String> = None,
    }
}

section! {
    /// `[media]`: how the media plane uses the node's cores.
    MediaKeys {
        /// Media threads (shards), all on the one UDP port; each meeting is served by one.
        /// 1 (default): one thread reads the port and forwards everything. More: a
        /// dispatcher thread reads the port and each shard forwards its meetings, so
        /// capacity grows with cores; set it to the cores the node gives the media (cores
        /// minus one, the dispatcher's) when it carries several large meetings at once.
        /// One meeting never spans shards. Needs ice_tcp off.
        shards: Bounded<1, 62> = Bounded(1),
        /// Nice steps above the rest of the process that the media threads ask the kernel
        /// for (0: none): on a busy machine the one thread that forwards a meeting is not
        /// starved by other work. Needs CAP_SYS_NICE (the systemd unit grants it); without
        /// it the threads stay where they are.
        priority_boost: Bounded<0, 39> = Bounded(10),
    }
}

section! {
    /// `[turn]`: TURN REST credentials (coturn's use-auth-secret) for browsers.
    TurnKeys {
        /// TURN server URLs handed to browsers, in the order to try (comma-separated in the
        /// environment and flags). Empty: no relay.
        urls: List<String> = List(Vec::new()),
        /// coturn's static-auth-secret: environment or flag only, never the file.
        secret: Option<Secret> = None,
        /// File holding coturn's static-auth-secret.
        secret_file: Option<PathBuf> = None,
        /// Lifetime of a TURN credential in seconds; coturn checks it at every allocation
        /// refresh, so it must outlast the longest meeting (a whole meeting day).
        ttl_seconds: Bounded<60, 604_800> = Bounded(12 * 3600),
    }
}

/// The built-in limits ([`Limits::default`] holds the figures).
fn d() -> Limits {
    Limits::default()
}

section! {
    /// `[limits]`: what connections, addresses, meetings and this node may use
    /// ([`crate::limits`] says what each refusal looks like).
    LimitKeys {
        /// Expected sites in one meeting, at creation.
        sites_per_meeting: Bounded<1, 100_000> = Bounded(d().sites_per_meeting as u64),
        /// Joined sites on this node, every meeting together. The default (420) is the
        /// measured capacity of one media thread on a 2-core node: `province-400` (401
        /// connections) ran with 0 loss and the thread at 85% ([`crate::limits::SITES_PER_NODE`]).
        sites_per_node: Bounded<1, 1_000_000> = Bounded(d().sites_per_node as u64),
        /// Joins per second from one address (bursts of twice that).
        joins_per_second_per_ip: Bounded<1, 100_000> = Bounded(d().joins_per_second_per_ip as u64),
        /// Bytes in one WebSocket message.
        message_bytes: Bounded<1024, 16_777_216> = Bounded(d().message_bytes as u64),
        /// Messages per second one connection may send, on average.
        messages_per_second: Bounded<1, 100_000> = Bounded(d().messages_per_second as u64),
        /// Messages one connection may send in a burst.
        message_burst: Bounded<1, 1_000_000> = Bounded(d().message_burst as u64),
        /// Bytes of one SDP offer.
        sdp_bytes: Bounded<1024, 16_777_216> = Bounded(d().sdp_bytes as u64),
        /// Tracks one site may publish.
        tracks_per_site: Bounded<1, 16> = Bounded(d().tracks_per_site as u64),
        /// Seconds a site whose WebSocket dropped may resume; 0: it leaves at once.
        resume_seconds: Bounded<0, 600> = Bounded(d().resume.as_secs()),
        /// Seconds an ended or expired meeting stays in memory.
        retention_seconds: Bounded<0, 31_536_000> = Bounded(d().retention.as_secs()),
        /// Seconds a WebSocket may stay open without joining.
        join_timeout_seconds: Bounded<1, 600> = Bounded(d().join_timeout.as_secs()),
        /// WebSockets not joined yet from one address.
        unjoined_per_ip: Bounded<1, 100_000> = Bounded(d().unjoined_per_ip as u64),
        /// WebSockets not joined yet on this node.
        unjoined_per_node: Bounded<1, 1_000_000> = Bounded(d().unjoined_per_node as u64),
        /// Open HTTP/WebSocket connections from one address.
        connections_per_ip: Bounded<1, 1_000_000> = Bounded(d().connections_per_ip as u64),
        /// Seconds a connection may take to send a request head, or sit idle between
        /// requests.
        http_idle_seconds: Bounded<1, 3600> = Bounded(d().http_idle.as_secs()),
    }
}

impl LimitKeys {
    /// The limits these keys set.
    pub fn limits(&self) -> Limits {
        use std::time::Duration;
        Limits {
            sites_per_meeting: self.sites_per_meeting.0 as usize,
            sites_per_node: self.sites_per_node.0 as usize,
            joins_per_second_per_ip: self.joins_per_second_per_ip.0 as f64,
            message_bytes: self.message_bytes.0 as usize,
            messages_per_second: self.messages_per_second.0 as f64,
            message_burst: self.message_burst.0 as f64,
            sdp_bytes: self.sdp_bytes.0 as usize,
            tracks_per_site: self.tracks_per_site.0 as usize,
            resume: Duration::from_secs(self.resume_seconds.0),
            retention: Duration::from_secs(self.retention_seconds.0),
            join_timeout: Duration::from_secs(self.join_timeout_seconds.0),
            unjoined_per_ip: self.unjoined_per_ip.0 as usize,
            unjoined_per_node: self.unjoined_per_node.0 as usize,
            connections_per_ip: self.connections_per_ip.0 as usize,
            http_idle: Duration::from_secs(self.http_idle_seconds.0),
        }
    }
}

/// Each secret, the key of the file that may hold it instead, and what happens without it.
/// A secret never comes from the configuration file itself; a secret and its file key set
/// in one layer is an error, and a higher layer's one replaces a lower layer's other.
pub const SECRETS: &[(&str, &str, &str)] = &[
    ("admin_key", "admin_key_file", "generated at start"),
    (
        "token_secret",
        "token_secret_file",
        "generated at start; links die at restart",
    ),
    ("turn.secret", "turn.secret_file", "no TURN relay offered"),
    (
        "relay.secret",
        "relay.secret_file",
        "relay links from other nodes refused",
    ),
];

impl Keys {
    /// Unsets a secret or secret-file key that a higher layer's counterpart replaced.
    pub fn forget(&mut self, path: &str) {
        match path {
            "admin_key" => self.admin_key = None,
            "admin_key_file" => self.admin_key_file = None,
            "token_secret" => self.token_secret = None,
            "token_secret_file" => self.token_secret_file = None,
            "turn.secret" => self.turn.secret = None,
            "turn.secret_file" => self.turn.secret_file = None,
            "relay.secret" => self.relay.secret = None,
            "relay.secret_file" => self.relay.secret_file = None,
            _ => {}
        }
    }
}

/// Every key, in the order the structs declare them.
pub fn all() -> &'static [KeyInfo] {
    static ALL: OnceLock<Vec<KeyInfo>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = Vec::new();
        Keys::describe("", "", &mut out);
        out
    })
}
