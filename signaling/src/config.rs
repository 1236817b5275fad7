//! The service's configuration: built-in defaults, then one TOML file, then `DIEMCAU_*`
//! environment variables, then command-line flags, each overriding the one before.
//!
//! Lifecycle: the binary gathers the layers ([`Layers`]: file path, environment, flags),
//! [`Config::load`] merges them into one TOML table while remembering where every key came
//! from, deserializes it (unknown keys refused and reported with their path) and validates the
//! whole: addresses, listener clashes, secrets, TURN, TLS files, and the rules of
//! `mode = "production"`. Every error names the key ([`ConfigError::key`]) and where its value
//! came from.
//!
//! Secrets (admin key, token secret, TURN secret) never come from the TOML file itself: from
//! a `*_file` key (the file holds the secret) or from the environment / flags. They are held
//! as [`Secret`], whose `Debug` and the [`Config::summary`] never show the value.
//!
//! Every key, with its default, is documented in `deploy/diemcau.example.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// A secret value. `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that uses it (signing, comparing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted, {} bytes>)", self.0.len())
    }
}

/// How strict the checks are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Secrets are generated when missing; anything goes on loopback.
    #[default]
    Development,
    /// Secrets and `public_url` are required; plain HTTP only on loopback or behind a proxy.
    Production,
}

/// Where a key's value came from, for error messages and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(String),
    /// This command-line flag.
    Flag(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
            Source::Flag(v) => write!(f, "flag {v}"),
        }
    }
}

/// Why the configuration was refused. Every variant names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key's value is refused (bad type, bad address, unknown key, out of range).
    #[error("{key} ({from}): {message}")]
    Invalid {
        /// The key's path, e.g. `turn.ttl_seconds`.
        key: String,
        /// Where the value came from.
        from: Source,
        /// What is wrong.
        message: String,
    },
    /// A key the configuration needs is not set.
    #[error("{key} is required: {why}")]
    Missing {
        /// The key's path.
        key: String,
        /// Why it is needed here.
        why: String,
    },
    /// Two listeners would bind the same TCP port.
    #[error("{key} ({addr}) clashes with {other}: two listeners cannot share a TCP port")]
    Clash {
        /// The later of the two keys.
        key: String,
        /// The earlier key.
        other: String,
        /// The address both use.
        addr: SocketAddr,
    },
}

impl ConfigError {
    /// The key at fault (`""` for a file that cannot be read or parsed).
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => "",
            ConfigError::Invalid { key, .. }
            | ConfigError::Missing { key, .. }
            | ConfigError::Clash { key, .. } => key,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Bool,
    Integer,
    List,
}

/// Every key that the environment and flags may set, with its value kind. The environment
/// variable is `DIEMCAU_` + the path in upper case with `.` as `_` (`turn.urls` →
/// `DIEMCAU_TURN_URLS`, a comma-separated list).
const KEYS: &[(&str, Kind)] = &[
    ("mode", Kind::Text),
    ("http", Kind::Text),
    ("udp", Kind::Text),
    ("announce_ip", Kind::Text),
    ("ice_tcp", Kind::Text),
    ("public_url", Kind::Text),
    ("metrics_addr", Kind::Text),
    ("data_dir", Kind::Text),
    ("admin_key", Kind::Text),
    ("admin_key_file", Kind::Text),
    ("token_secret", Kind::Text),
    ("token_secret_file", Kind::Text),
    ("behind_proxy", Kind::Bool),
    ("trusted_proxies", Kind::List),
    ("tls_cert", Kind::Text),
    ("tls_key", Kind::Text),
    ("drain_seconds", Kind::Integer),
    ("turn.urls", Kind::List),
    ("turn.secret", Kind::Text),
    ("turn.secret_file", Kind::Text),
    ("turn.ttl_seconds", Kind::Integer),
    ("limits.sites_per_meeting", Kind::Integer),
    ("limits.sites_per_node", Kind::Integer),
    ("limits.joins_per_second_per_ip", Kind::Integer),
    ("limits.message_bytes", Kind::Integer),
    ("limits.messages_per_second", Kind::Integer),
    ("limits.message_burst", Kind::Integer),
    ("limits.sdp_bytes", Kind::Integer),
    ("limits.tracks_per_site", Kind::Integer),
    ("limits.resume_seconds", Kind::Integer),
    ("limits.retention_seconds", Kind::Integer),
    ("limits.join_timeout_seconds", Kind::Integer),
    ("limits.unjoined_per_ip", Kind::Integer),
    ("limits.unjoined_per_node", Kind::Integer),
    ("limits.connections_per_ip", Kind::Integer),
    ("limits.http_idle_seconds", Kind::Integer),
];

/// Secrets and the file key that may hold each instead.
const SECRETS: &[(&str, &str)] = &[
    ("admin_key", "admin_key_file"),
    ("token_secret", "token_secret_file"),
    ("turn.secret", "turn.secret_file"),
];

/// Every key path, for documentation checks.
pub fn key_paths() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|(k, _)| *k)
}

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("DIEMCAU_{}", key.to_uppercase().replace('.', "_"))
}

/// The sources of one start, before merging.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    /// The TOML file (`--config` / `DIEMCAU_CONFIG`), if any.
    pub file: Option<PathBuf>,
    /// The process environment (only `DIEMCAU_<key>` variables are read; others are ignored).
    pub env: BTreeMap<String, String>,
    /// Command-line flags as (key path, value, flag name), in order.
    pub flags: Vec<(String, String, String)>,
}

impl Layers {
    /// Layers from the process environment, with no file and no flags yet.
    pub fn from_process_env() -> Self {
        Layers {
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with("DIEMCAU_"))
                .collect(),
            ..Layers::default()
        }
    }

    /// Adds a flag's value for `key` (e.g. `("http", "0.0.0.0:8080", "--http")`).
    pub fn flag(&mut self, key: &str, value: impl Into<String>, flag: &str) {
        self.flags
            .push((key.to_owned(), value.into(), flag.to_owned()));
    }
}

/// TLS certificate and key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The `[turn]` section, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs handed to browsers, in the order to try.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: Secret,
    /// How long a handed-out credential stays valid.
    pub ttl: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `development` or `production`.
    pub mode: Mode,
    /// HTTP(S) listen address: web client, WebSocket, API, health, metrics.
    pub http: SocketAddr,
    /// The single UDP media port.
    pub udp: SocketAddr,
    /// Address announced to browsers for the media port (NAT, or a wildcard bind).
    pub announce_ip: Option<IpAddr>,
    /// TCP address for ICE-TCP (sites whose firewall drops UDP); `None`: off.
    pub ice_tcp: Option<SocketAddr>,
    /// Base of invite links; `None`: derived from the bound HTTP address.
    pub public_url: Option<String>,
    /// Separate listener for `/metrics`.
    pub metrics_addr: Option<SocketAddr>,
    /// Roll-call records live here.
    pub data_dir: PathBuf,
    /// Bearer key of the admin API; `None`: generated at start (development only).
    pub admin_key: Option<Secret>,
    /// Invite-token signing secret; `None`: generated at start (development only).
    pub token_secret: Option<Secret>,
    /// Plain HTTP is served to a TLS-terminating reverse proxy.
    pub behind_proxy: bool,
    /// Peers whose `X-Forwarded-For` is believed when `behind_proxy` (default: loopback).
    pub trusted_proxies: Vec<crate::proxy::Net>,
    /// Serve HTTPS/WSS directly.
    pub tls: Option<TlsFiles>,
    /// How long a shutdown waits for meetings to finish before closing every session.
    pub drain: Duration,
    /// TURN REST credentials for browsers.
    pub turn: Option<TurnConfig>,
    /// What connections, addresses, meetings and this node may use (`[limits]`).
    pub limits: crate::limits::Limits,
    /// Where each key's value came from (keys at their default are absent).
    pub sources: BTreeMap<String, Source>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Raw {
    mode: Mode,
    http: SocketAddr,
    udp: SocketAddr,
    announce_ip: Option<IpAddr>,
    ice_tcp: Option<SocketAddr>,
    public_url: Option<String>,
    metrics_addr: Option<SocketAddr>,
    data_dir: PathBuf,
    admin_key: Option<String>,
    admin_key_file: Option<PathBuf>,
    token_secret: Option<String>,
    token_secret_file: Option<PathBuf>,
    behind_proxy: bool,
    trusted_proxies: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    drain_seconds: u64,
    turn: RawTurn,
    limits: RawLimits,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            mode: Mode::Development,
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            udp: SocketAddr::from(([127, 0, 0, 1], 40000)),
            announce_ip: None,
            ice_tcp: None,
            public_url: None,
            metrics_addr: None,
            data_dir: PathBuf::from("data"),
            admin_key: None,
            admin_key_file: None,
            token_secret: None,
            token_secret_file: None,
            behind_proxy: false,
            trusted_proxies: None,
            tls_cert: None,
            tls_key: None,
            drain_seconds: 30,
            turn: RawTurn::default(),
            limits: RawLimits::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLimits {
    sites_per_meeting: u64,
    sites_per_node: u64,
    joins_per_second_per_ip: u64,
    message_bytes: u64,
    messages_per_second: u64,
    message_burst: u64,
    sdp_bytes: u64,
    tracks_per_site: u64,
    resume_seconds: u64,
    retention_seconds: u64,
    join_timeout_seconds: u64,
    unjoined_per_ip: u64,
    unjoined_per_node: u64,
    connections_per_ip: u64,
    http_idle_seconds: u64,
}

impl Default for RawLimits {
    fn default() -> Self {
        let d = crate::limits::Limits::default();
        RawLimits {
            sites_per_meeting: d.sites_per_meeting as u64,
            sites_per_node: d.sites_per_node as u64,
            joins_per_second_per_ip: d.joins_per_second_per_ip as u64,
            message_bytes: d.message_bytes as u64,
            messages_per_second: d.messages_per_second as u64,
            message_burst: d.message_burst as u64,
            sdp_bytes: d.sdp_bytes as u64,
            tracks_per_site: d.tracks_per_site as u64,
            resume_seconds: d.resume.as_secs(),
            retention_seconds: d.retention.as_secs(),
            join_timeout_seconds: d.join_timeout.as_secs(),
            unjoined_per_ip: d.unjoined_per_ip as u64,
            unjoined_per_node: d.unjoined_per_node as u64,
            connections_per_ip: d.connections_per_ip as u64,
            http_idle_seconds: d.http_idle.as_secs(),
        }
    }
}

/// Each `[limits]` key with the range it may take.
const LIMIT_RANGES: &[(&str, u64, u64)] = &[
    ("sites_per_meeting", 1, 100000),
    ("sites_per_node", 1, 1000000),
    ("joins_per_second_per_ip", 1, 100000),
    ("message_bytes", 1024, 16777216),
    ("messages_per_second", 1, 100000),
    ("message_burst", 1, 1000000),
    ("sdp_bytes", 1024, 16777216),
    ("tracks_per_site", 1, 16),
    ("resume_seconds", 0, 600),
    ("retention_seconds", 0, 31_536_000),
    ("join_timeout_seconds", 1, 600),
    ("unjoined_per_ip", 1, 100000),
    ("unjoined_per_node", 1, 1000000),
    ("connections_per_ip", 1, 1000000),
    ("http_idle_seconds", 1, 3600),
];

fn validate_limits(
    raw: &RawLimits,
    sources: &BTreeMap<String, Source>,
) -> Result<crate::limits::Limits, ConfigError> {
    let values = [
        raw.sites_per_meeting,
        raw.sites_per_node,
        raw.joins_per_second_per_ip,
        raw.message_bytes,
        raw.messages_per_second,
        raw.message_burst,
        raw.sdp_bytes,
        raw.tracks_per_site,
        raw.resume_seconds,
        raw.retention_seconds,
        raw.join_timeout_seconds,
        raw.unjoined_per_ip,
        raw.unjoined_per_node,
        raw.connections_per_ip,
        raw.http_idle_seconds,
    ];
    for (&(key, lo, hi), value) in LIMIT_RANGES.iter().zip(values) {
        if !(lo..=hi).contains(&value) {
            let path = format!("limits.{key}");
            let from = source_of(sources, &path);
            return Err(invalid(
                &path,
                from,
                format!("{value} is outside {lo}..={hi}"),
            ));
        }
    }
    if raw.sdp_bytes > raw.message_bytes {
        let from = source_of(sources, "limits.sdp_bytes");
        return Err(invalid(
            "limits.sdp_bytes",
            from,
            format!(
                "{} is more than limits.message_bytes ({}): an offer travels in one message",
                raw.sdp_bytes, raw.message_bytes
            ),
        ));
    }
    if raw.message_burst < raw.messages_per_second {
        let from = source_of(sources, "limits.message_burst");
        return Err(invalid(
            "limits.message_burst",
            from,
            format!(
                "{} is less than limits.messages_per_second ({})",
                raw.message_burst, raw.messages_per_second
            ),
        ));
    }
    Ok(crate::limits::Limits {
        sites_per_meeting: raw.sites_per_meeting as usize,
        sites_per_node: raw.sites_per_node as usize,
        joins_per_second_per_ip: raw.joins_per_second_per_ip as f64,
        message_bytes: raw.message_bytes as usize,
        messages_per_second: raw.messages_per_second as f64,
        message_burst: raw.message_burst as f64,
        sdp_bytes: raw.sdp_bytes as usize,
        tracks_per_site: raw.tracks_per_site as usize,
        resume: std::time::Duration::from_secs(raw.resume_seconds),
        retention: std::time::Duration::from_secs(raw.retention_seconds),
        join_timeout: std::time::Duration::from_secs(raw.join_timeout_seconds),
        unjoined_per_ip: raw.unjoined_per_ip as usize,
        unjoined_per_node: raw.unjoined_per_node as usize,
        connections_per_ip: raw.connections_per_ip as usize,
        http_idle: std::time::Duration::from_secs(raw.http_idle_seconds),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTurn {
    urls: Vec<String>,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    ttl_seconds: u64,
}

impl Default for RawTurn {
    fn default() -> Self {
        RawTurn {
            urls: Vec::new(),
            secret: None,
            secret_file: None,
            // A whole meeting day: coturn checks the expiry on every refresh of an
            // allocation, so a credential must outlive the longest meeting.
            ttl_seconds: 12 * 3600,
        }
    }
}

/// Shortest token secret accepted in production (HMAC-SHA256 key).
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

/// Longest drain accepted.
pub const MAX_DRAIN_SECONDS: u64 = 3600;

impl Config {
    /// Merges and validates the layers.
    pub fn load(layers: &Layers) -> Result<Config, ConfigError> {
        let mut merged = toml::Table::new();
        let mut sources = BTreeMap::new();
        if let Some(path) = &layers.file {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.clone(),
                error,
            })?;
            let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                path: path.clone(),
                message: e.to_string().trim_end().to_owned(),
            })?;
            let source = Source::File(path.clone());
            let mut leaves = Vec::new();
            collect_leaves(&table, "", &mut leaves);
            for (key, value) in leaves {
                if let Some((secret, file_key)) = SECRETS.iter().find(|(s, _)| *s == key) {
                    return Err(invalid(
                        secret,
                        source,
                        format!("secrets do not belong in the config file: set {file_key} (a file holding it) or {}", env_name(secret)),
                    ));
                }
                overlay(&mut merged, &mut sources, &key, value, source.clone());
            }
        }
        let mut env_layer = Vec::new();
        for (key, kind) in KEYS {
            let var = env_name(key);
            if let Some(text) = layers.env.get(&var) {
                let source = Source::Env(var);
                env_layer.push((key.to_string(), typed(key, *kind, text, &source)?, source));
            }
        }
        apply_layer(&mut merged, &mut sources, env_layer)?;
        let mut flag_layer = Vec::new();
        for (key, text, flag) in &layers.flags {
            let source = Source::Flag(flag.clone());
            let kind = KEYS
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| invalid(key, source.clone(), "not a configuration key".into()))?;
            flag_layer.push((key.clone(), typed(key, kind, text, &source)?, source));
        }
        apply_layer(&mut merged, &mut sources, flag_layer)?;

        let raw: Raw =
            serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
                let key = e.path().to_string();
                let source = source_of(&sources, &key);
                invalid(&key, source, e.inner().to_string())
            })?;
        validate(raw, sources)
    }

    /// Where `key`'s value came from.
    pub fn source(&self, key: &str) -> Source {
        source_of(&self.sources, key)
    }

    /// One line per key with its value and source; secrets show only whether they are set.
    pub fn summary(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "(not set)".into());
        let secret = |s: &Option<Secret>, generated: &str| match s {
            Some(s) => format!("<redacted, {} bytes>", s.expose().len()),
            None => generated.into(),
        };
        let mode = match self.mode {
            Mode::Development => "development",
            Mode::Production => "production",
        };
        let mut lines = vec![
            ("mode", mode.to_owned()),
            ("http", self.http.to_string()),
            ("udp", self.udp.to_string()),
            (
                "announce_ip",
                opt(self.announce_ip.map(|ip| ip.to_string())),
            ),
            (
                "ice_tcp",
                opt(self.ice_tcp.map(|a| a.to_string()))
                    .replace("(not set)", "(not set: no ICE-TCP)"),
            ),
            (
                "public_url",
                opt(self.public_url.clone()).replace("(not set)", "(not set: http(s)://<http>)"),
            ),
            (
                "metrics_addr",
                opt(self.metrics_addr.map(|a| a.to_string()))
                    .replace("(not set)", "(not set: on the http listener)"),
            ),
            ("data_dir", self.data_dir.display().to_string()),
            (
                "admin_key",
                secret(&self.admin_key, "(not set: generated at start)"),
            ),
            (
                "token_secret",
                secret(
                    &self.token_secret,
                    "(not set: generated at start; links die at restart)",
                ),
            ),
            ("behind_proxy", self.behind_proxy.to_string()),
            (
                "trusted_proxies",
                self.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "tls_cert",
                opt(self.tls.as_ref().map(|t| t.cert.display().to_string())),
            ),
            (
                "tls_key",
                opt(self.tls.as_ref().map(|t| t.key.display().to_string())),
            ),
            ("drain_seconds", self.drain.as_secs().to_string()),
        ];
        match &self.turn {
            Some(t) => {
                lines.push(("turn.urls", t.urls.join(", ")));
                lines.push((
                    "turn.secret",
                    format!("<redacted, {} bytes>", t.secret.expose().len()),
                ));
                lines.push(("turn.ttl_seconds", t.ttl.as_secs().to_string()));
            }
            None => lines.push(("turn.urls", "(none: no TURN relay offered)".into())),
        }
        let l = &self.limits;
        lines.extend([
            ("limits.sites_per_meeting", l.sites_per_meeting.to_string()),
            ("limits.sites_per_node", l.sites_per_node.to_string()),
            (
                "limits.joins_per_second_per_ip",
                l.joins_per_second_per_ip.to_string(),
            ),
            ("limits.message_bytes", l.message_bytes.to_string()),
            (
                "limits.messages_per_second",
                l.messages_per_second.to_string(),
            ),
            ("limits.message_burst", l.message_burst.to_string()),
            ("limits.sdp_bytes", l.sdp_bytes.to_string()),
            ("limits.tracks_per_site", l.tracks_per_site.to_string()),
            ("limits.resume_seconds", l.resume.as_secs().to_string()),
            (
                "limits.retention_seconds",
                l.retention.as_secs().to_string(),
            ),
            (
                "limits.join_timeout_seconds",
                l.join_timeout.as_secs().to_string(),
            ),
            ("limits.unjoined_per_ip", l.unjoined_per_ip.to_string()),
            ("limits.unjoined_per_node", l.unjoined_per_node.to_string()),
            (
                "limits.connections_per_ip",
                l.connections_per_ip.to_string(),
            ),
            (
                "limits.http_idle_seconds",
                l.http_idle.as_secs().to_string(),
            ),
        ]);
        let mut out = String::new();
        for (key, value) in lines {
            let from = match key {
                "admin_key" | "token_secret" | "turn.secret" => {
                    let file_key = format!("{key}_file");
                    match (self.sources.get(key), self.sources.get(&file_key)) {
                        (Some(s), _) => s.to_string(),
                        (None, Some(s)) => format!("{file_key}, {s}"),
                        (None, None) => "default".into(),
                    }
                }
                _ => self.source(key).to_string(),
            };
            out.push_str(&format!("{key:<17} = {value}   [{from}]\n"));
        }
        out
    }
}

fn source_of(sources: &BTreeMap<String, Source>, key: &str) -> Source {
    sources.get(key).cloned().unwrap_or(Source::Default)
}

fn invalid(key: &str, source: Source, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        from: source,
        message,
    }
}

fn collect_leaves(table: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            // Only `[turn]` is a section; any other table is kept whole so that serde reports it.
            toml::Value::Table(t) if path == "turn" => collect_leaves(t, &path, out),
            _ => out.push((path, v.clone())),
        }
    }
}

/// Sets `path` in `merged`, creating sections on the way.
fn overlay(
    merged: &mut toml::Table,
    sources: &mut BTreeMap<String, Source>,
    path: &str,
    value: toml::Value,
    source: Source,
) {
    let mut table = merged;
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    for part in parts {
        let entry = table
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        table = entry.as_table_mut().expect("made a table above");
    }
    table.insert(last.to_owned(), value);
    sources.insert(path.to_owned(), source);
}

fn remove(merged: &mut toml::Table, sources: &mut BTreeMap<String, Source>, path: &str) {
    let mut table = merged;
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("split yields at least one part");
    for part in parts {
        match table.get_mut(part).and_then(|v| v.as_table_mut()) {
            Some(t) => table = t,
            None => return,
        }
    }
    table.remove(last);
    sources.remove(path);
}

/// Applies one layer (environment or flags). A secret and its `_file` key replace each other
/// across layers; both in one layer is an error.
fn apply_layer(
    merged: &mut toml::Table,
    sources: &mut BTreeMap<String, Source>,
    layer: Vec<(String, toml::Value, Source)>,
) -> Result<(), ConfigError> {
    for (secret, file_key) in SECRETS {
        let set = |k: &str| {
            layer
                .iter()
                .find(|(key, _, _)| key == k)
                .map(|(_, _, s)| s.clone())
        };
        match (set(secret), set(file_key)) {
            (Some(_), Some(s)) => {
                return Err(invalid(
                    file_key,
                    s,
                    format!("both {secret} and {file_key} are set: keep one"),
                ));
            }
            (Some(_), None) => remove(merged, sources, file_key),
            (None, Some(_)) => remove(merged, sources, secret),
            (None, None) => {}
        }
    }
    for (key, value, source) in layer {
        overlay(merged, sources, &key, value, source);
    }
    Ok(())
}

fn typed(key: &str, kind: Kind, text: &str, source: &Source) -> Result<toml::Value, ConfigError> {
    Ok(match kind {
        Kind::Text => toml::Value::String(text.to_owned()),
        Kind::Bool => match text.trim() {
            "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
            "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
            other => {
                return Err(invalid(
                    key,
                    source.clone(),
                    format!("expected true or false, got `{other}`"),
                ))
            }
        },
        Kind::Integer => match text.trim().parse::<i64>() {
            Ok(n) => toml::Value::Integer(n),
            Err(_) => {
                return Err(invalid(
                    key,
                    source.clone(),
                    format!("expected a whole number, got `{text}`"),
                ))
            }
        },
        Kind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
    })
}

/// Reads a secret from its value or its file.
fn secret(
    key: &str,
    file_key: &str,
    value: Option<String>,
    file: Option<PathBuf>,
    sources: &BTreeMap<String, Source>,
) -> Result<Option<Secret>, ConfigError> {
    let (text, at) = match (value, file) {
        (Some(v), _) => (v, key),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    file_key,
                    source_of(sources, file_key),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            (text.trim_end_matches(['\n', '\r']).to_owned(), file_key)
        }
        (None, None) => return Ok(None),
    };
    if text.trim().is_empty() {
        return Err(invalid(
            at,
            source_of(sources, at),
            "the secret is empty".into(),
        ));
    }
    Ok(Some(Secret(text)))
}

fn validate(raw: Raw, sources: BTreeMap<String, Source>) -> Result<Config, ConfigError> {
    let production = raw.mode == Mode::Production;
    let src = |k: &str| source_of(&sources, k);
    let admin_key = secret(
        "admin_key",
        "admin_key_file",
        raw.admin_key,
        raw.admin_key_file,
        &sources,
    )?;
    let token_secret = secret(
        "token_secret",
        "token_secret_file",
        raw.token_secret,
        raw.token_secret_file,
        &sources,
    )?;
    let turn_secret = secret(
        "turn.secret",
        "turn.secret_file",
        raw.turn.secret,
        raw.turn.secret_file,
        &sources,
    )?;

    if let Some(url) = &raw.public_url {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.len() <= "https://".len()
        {
            return Err(invalid(
                "public_url",
                src("public_url"),
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
    }
    if raw.udp.ip().is_unspecified() && raw.announce_ip.is_none() {
        return Err(ConfigError::Missing {
            key: "announce_ip".into(),
            why: format!(
                "udp = {} binds every interface; say which address browsers send media to",
                raw.udp
            ),
        });
    }
    if let Some(metrics) = raw.metrics_addr {
        if metrics.port() != 0
            && metrics.port() == raw.http.port()
            && overlaps(metrics.ip(), raw.http.ip())
        {
            return Err(ConfigError::Clash {
                key: "metrics_addr".into(),
                other: "http".into(),
                addr: metrics,
            });
        }
    }
    if let Some(tcp) = raw.ice_tcp {
        let others = [("http", Some(raw.http)), ("metrics_addr", raw.metrics_addr)];
        for (other, addr) in others {
            if addr.is_some_and(|a| {
                tcp.port() != 0 && a.port() == tcp.port() && overlaps(a.ip(), tcp.ip())
            }) {
                return Err(ConfigError::Clash {
                    key: "ice_tcp".into(),
                    other: other.into(),
                    addr: tcp,
                });
            }
        }
    }
    let tls = match (raw.tls_cert, raw.tls_key) {
        (Some(cert), Some(key)) => {
            crate::tls::load_certified_key(&cert, &key).map_err(|e| {
                let key = e.key();
                invalid(key, src(key), e.to_string())
            })?;
            Some(TlsFiles { cert, key })
        }
        (Some(_), None) => {
            return Err(ConfigError::Missing {
                key: "tls_key".into(),
                why: "tls_cert is set; HTTPS needs the certificate's private key too".into(),
            })
        }
        (None, Some(_)) => {
            return Err(ConfigError::Missing {
                key: "tls_cert".into(),
                why: "tls_key is set; HTTPS needs the certificate chain too".into(),
            })
        }
        (None, None) => None,
    };
    if raw.drain_seconds > MAX_DRAIN_SECONDS {
        return Err(invalid(
            "drain_seconds",
            src("drain_seconds"),
            format!(
                "{} is more than the {MAX_DRAIN_SECONDS} s allowed",
                raw.drain_seconds
            ),
        ));
    }
    let turn = validate_turn(raw.turn.urls, turn_secret, raw.turn.ttl_seconds, &sources)?;
    let limits = validate_limits(&raw.limits, &sources)?;
    let trusted_proxies = match &raw.trusted_proxies {
        None => crate::proxy::loopback(),
        Some(list) => list
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, crate::proxy::BadNet>>()
            .map_err(|e| invalid("trusted_proxies", src("trusted_proxies"), e.to_string()))?,
    };

    if production {
        let why = |what: &str| format!("mode = \"production\" needs {what}");
        if admin_key.is_none() {
            return Err(ConfigError::Missing {
                key: "admin_key".into(),
                why: why("a fixed admin key: set admin_key_file or DIEMCAU_ADMIN_KEY"),
            });
        }
        match &token_secret {
            None => {
                return Err(ConfigError::Missing {
                    key: "token_secret".into(),
                    why: why("a fixed token secret (links must survive a restart): set token_secret_file or DIEMCAU_TOKEN_SECRET"),
                })
            }
            Some(s) if s.expose().len() < MIN_TOKEN_SECRET_BYTES => {
                let key = if sources.contains_key("token_secret") { "token_secret" } else { "token_secret_file" };
                return Err(invalid(
                    key,
                    src(key),
                    format!("the token secret has {} bytes; production needs at least {MIN_TOKEN_SECRET_BYTES}", s.expose().len()),
                ));
            }
            Some(_) => {}
        }
        if raw.public_url.is_none() {
            return Err(ConfigError::Missing {
                key: "public_url".into(),
                why: why("the URL sites open (invite links), e.g. https://hop.example.gov.vn"),
            });
        }
        if tls.is_none() && !raw.behind_proxy && !raw.http.ip().is_loopback() {
            return Err(invalid(
                "http",
                src("http"),
                format!(
                    "mode = \"production\" refuses plain HTTP on {} (not loopback): set tls_cert and tls_key, \
                     or behind_proxy = true when a TLS reverse proxy forwards to it",
                    raw.http
                ),
            ));
        }
    }

    Ok(Config {
        mode: raw.mode,
        http: raw.http,
        udp: raw.udp,
        announce_ip: raw.announce_ip,
        ice_tcp: raw.ice_tcp,
        public_url: raw.public_url.map(|u| u.trim_end_matches('/').to_owned()),
        metrics_addr: raw.metrics_addr,
        data_dir: raw.data_dir,
        admin_key,
        token_secret,
        behind_proxy: raw.behind_proxy,
        trusted_proxies,
        tls,
        drain: Duration::from_secs(raw.drain_seconds),
        turn,
        limits,
        sources,
    })
}

fn validate_turn(
    urls: Vec<String>,
    secret: Option<Secret>,
    ttl_seconds: u64,
    sources: &BTreeMap<String, Source>,
) -> Result<Option<TurnConfig>, ConfigError> {
    let src = |k: &str| source_of(sources, k);
    for url in &urls {
        let scheme_ok = ["turn:", "turns:", "stun:", "stuns:"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok || url.split_once(':').is_none_or(|(_, rest)| rest.is_empty()) {
            return Err(invalid(
                "turn.urls",
                src("turn.urls"),
                format!("`{url}` is not a turn:, turns: or stun: URL (e.g. turn:turn.example.gov.vn:3478?transport=tcp)"),
            ));
        }
    }
    if !(60..=7 * 24 * 3600).contains(&ttl_seconds) {
        return Err(invalid(
            "turn.ttl_seconds",
            src("turn.ttl_seconds"),
            format!("{ttl_seconds} is outside 60..=604800 (one minute to one week)"),
        ));
    }
    match (urls.is_empty(), secret) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(ConfigError::Missing {
            key: "turn.urls".into(),
            why: "turn.secret is set but no TURN server is listed".into(),
        }),
        (false, None) => Err(ConfigError::Missing {
            key: "turn.secret".into(),
            why: "turn.urls lists TURN servers; browsers need credentials signed with coturn's static-auth-secret \
                  (set turn.secret_file or DIEMCAU_TURN_SECRET)"
                .into(),
        }),
        (false, Some(secret)) => Ok(Some(TurnConfig {
            urls,
            secret,
            ttl: Duration::from_secs(ttl_seconds),
        })),
    }
}

fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn env_names_follow_the_key_path() {
        assert_eq!(env_name("turn.ttl_seconds"), "DIEMCAU_TURN_TTL_SECONDS");
        assert_eq!(env_name("http"), "DIEMCAU_HTTP");
    }

    #[test]
    fn a_lower_layers_secret_file_gives_way_to_a_higher_layers_value() {
        let mut layers = Layers::default();
        layers
            .env
            .insert("DIEMCAU_ADMIN_KEY_FILE".into(), "/nonexistent/admin".into());
        layers.flag("admin_key", "from-flag-0123456789", "--admin-key");
        let c = Config::load(&layers).unwrap();
        assert_eq!(c.admin_key.unwrap().expose(), "from-flag-0123456789");
    }
}
