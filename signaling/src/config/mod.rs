//! The service's configuration: built-in defaults < one TOML file < `DIEMCAU_*` environment
//! variables < command-line flags, each overriding the one before (merged with figment).
//!
//! Every key is declared once, in [`keys`]: its field, doc comment and default. From there
//! come the file's keys (unknown ones refused with their path), the variable
//! `DIEMCAU_<PATH>` (`turn.urls` → `DIEMCAU_TURN_URLS`), the flag `--<path>` (`--turn-urls`,
//! see [`flags`]) and the lines of [`Config::summary`]. A value's own rule is its type
//! ([`values`]); the rules between keys are in [`validate`]. Every error names the key
//! ([`ConfigError::key`]) and where its value came from.
//!
//! Secrets (admin key, token secret, TURN secret) never come from the TOML file itself: from
//! a `*_file` key (the file holds the secret) or from the environment / flags. They are held
//! as [`Secret`], whose `Debug` and the summary never show the value.
//!
//! Every key, with its default, is documented in `deploy/diemcau.example.toml`.

pub mod flags;
pub mod keys;
mod layers;
mod summary;
mod validate;
pub mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use keys::MAX_DRAIN_SECONDS;
pub use layers::Layers;
pub use validate::MIN_TOKEN_SECRET_BYTES;
pub use values::{Mode, Secret};

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

/// The `[cluster]` section, once validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The NATS server (`nats://`).
    pub nats_url: String,
    /// This node's name (checked by [`crate::cluster::records::valid_node_id`]).
    pub node_id: String,
    /// The province or region it serves (empty: none).
    pub region: String,
}

/// The validated configuration. It dereferences to the merged [`keys::Keys`]
/// (`config.http`, `config.data_dir`); its own fields are what several keys or the outside
/// world decide, in the types the service uses.
#[derive(Debug, Clone)]
pub struct Config {
    keys: keys::Keys,
    /// `admin_key`, or the content of `admin_key_file`; `None`: generated at start.
    pub admin_key: Option<Secret>,
    /// `token_secret`, or the content of `token_secret_file`; `None`: generated.
    pub token_secret: Option<Secret>,
    /// `tls_cert` and `tls_key`, loaded and found to match.
    pub tls: Option<TlsFiles>,
    /// `drain_seconds`.
    pub drain: Duration,
    /// `[turn]` with its URLs and secret checked together; `None`: no relay.
    pub turn: Option<TurnConfig>,
    /// `[limits]`.
    pub limits: crate::limits::Limits,
    /// `[cluster]`; `None`: a single node, no NATS contacted.
    pub cluster: Option<ClusterConfig>,
    /// Where each key's value came from (keys at their default are absent).
    pub sources: BTreeMap<String, Source>,
}

impl std::ops::Deref for Config {
    type Target = keys::Keys;

    fn deref(&self) -> &keys::Keys {
        &self.keys
    }
}

impl Config {
    /// Merges and validates the layers.
    pub fn load(layers: &Layers) -> Result<Config, ConfigError> {
        let (keys, sources) = layers::merge(layers)?;
        validate::validate(keys, sources)
    }

    /// Where `key`'s value came from.
    pub fn source(&self, key: &str) -> Source {
        source_of(&self.sources, key)
    }
}

/// Every key path (`http`, `turn.urls`, `limits.sites_per_node`), in declaration order.
pub fn key_paths() -> impl Iterator<Item = &'static str> {
    keys::all().iter().map(|k| k.path.as_str())
}

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("DIEMCAU_{}", key.to_uppercase().replace('.', "_"))
}

/// Where `key` came from; a section's key (an unknown `[tls]` table) takes its first
/// value's source.
fn source_of(sources: &BTreeMap<String, Source>, key: &str) -> Source {
    if let Some(s) = sources.get(key) {
        return s.clone();
    }
    let prefix = format!("{key}.");
    sources
        .iter()
        .find(|(k, _)| k.starts_with(&prefix))
        .map_or(Source::Default, |(_, s)| s.clone())
}

fn invalid(key: &str, source: Source, message: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        from: source,
        message,
    }
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

    #[test]
    fn keys_come_from_the_structs_sections_included_in_order() {
        let paths: Vec<&str> = key_paths().collect();
        assert_eq!(paths[..3], ["mode", "http", "udp"]);
        assert!(paths.contains(&"turn.ttl_seconds"));
        assert_eq!(paths.last(), Some(&"limits.http_idle_seconds"));
        assert!(!paths.contains(&"turn") && !paths.contains(&"limits"));
    }

    #[test]
    fn a_limit_set_by_flag_beats_the_environment_and_is_range_checked() {
        let mut layers = Layers::default();
        layers
            .env
            .insert("DIEMCAU_LIMITS_SITES_PER_NODE".into(), "300".into());
        layers.flag("limits.sites_per_node", "400", "--limits-sites-per-node");
        let c = Config::load(&layers).unwrap();
        assert_eq!(c.limits.sites_per_node, 400);
        layers.flags.clear();
        layers.flag("limits.tracks_per_site", "17", "--limits-tracks-per-site");
        let e = Config::load(&layers).unwrap_err();
        assert_eq!(
            e.to_string(),
            "limits.tracks_per_site (flag --limits-tracks-per-site): 17 is outside 1..=16"
        );
    }

    #[test]
    fn a_number_in_a_string_key_stays_text() {
        let mut layers = Layers::default();
        layers
            .env
            .insert("DIEMCAU_ADMIN_KEY".into(), "12345678".into());
        layers.env.insert("DIEMCAU_DATA_DIR".into(), "2024".into());
        let c = Config::load(&layers).unwrap();
        assert_eq!(c.admin_key.as_ref().unwrap().expose(), "12345678");
        assert_eq!(c.data_dir, PathBuf::from("2024"));
    }
}
