//! The rules between keys, and the few that need the outside world (secret files, TLS
//! files): the merged [`Keys`] become a [`Config`] or a [`ConfigError`] naming one key.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::keys::Keys;
use super::values::{Mode, Secret};
use super::{invalid, source_of, ClusterConfig, Config, ConfigError, Source, TlsFiles, TurnConfig};

/// Shortest relay secret accepted: it alone lets another machine into the media plane.
pub const MIN_RELAY_SECRET_BYTES: usize = 16;

/// Shortest token secret accepted in production (HMAC-SHA256 key).
pub const MIN_TOKEN_SECRET_BYTES: usize = 32;

pub(super) fn validate(
    mut keys: Keys,
    sources: BTreeMap<String, Source>,
) -> Result<Config, ConfigError> {
    let src = |k: &str| source_of(&sources, k);
    let admin_key = secret(
        "admin_key",
        "admin_key_file",
        keys.admin_key.take(),
        keys.admin_key_file.clone(),
        &sources,
    )?;
    let token_secret = secret(
        "token_secret",
        "token_secret_file",
        keys.token_secret.take(),
        keys.token_secret_file.clone(),
        &sources,
    )?;
    let turn_secret = secret(
        "turn.secret",
        "turn.secret_file",
        keys.turn.secret.take(),
        keys.turn.secret_file.clone(),
        &sources,
    )?;
    let relay_secret = secret(
        "relay.secret",
        "relay.secret_file",
        keys.relay.secret.take(),
        keys.relay.secret_file.clone(),
        &sources,
    )?;
    if let Some(s) = relay_secret
        .as_ref()
        .filter(|s| s.expose().len() < MIN_RELAY_SECRET_BYTES)
    {
        let key = if keys.relay.secret_file.is_some() {
            "relay.secret_file"
        } else {
            "relay.secret"
        };
        return Err(invalid(
            key,
            src(key),
            format!(
                "the relay secret has {} bytes; at least {MIN_RELAY_SECRET_BYTES} are needed",
                s.expose().len()
            ),
        ));
    }
    keys.relay.secret = relay_secret;
    // The summary shows what is in force: a secret read from its file counts as set.
    keys.admin_key = admin_key.clone();
    keys.token_secret = token_secret.clone();
    keys.turn.secret = turn_secret.clone();

    if let Some(url) = &keys.public_url {
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
    if let Some(url) = &keys.relay.advertise_url {
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.len() <= "https://".len()
        {
            return Err(invalid(
                "relay.advertise_url",
                src("relay.advertise_url"),
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
    }
    if keys.udp.ip().is_unspecified() && keys.announce_ip.is_none() {
        return Err(ConfigError::Missing {
            key: "announce_ip".into(),
            why: format!(
                "udp = {} binds every interface; say which address browsers send media to",
                keys.udp
            ),
        });
    }
    if keys.media.shards.0 > 1 && keys.ice_tcp.is_some() {
        return Err(invalid(
            "media.shards",
            src("media.shards"),
            format!(
                "{} shards need ice_tcp off: ICE-TCP connections are not steered between shards (set media.shards = 1 to keep ICE-TCP)",
                keys.media.shards.0
            ),
        ));
    }
    clashes(&keys)?;
    let tls = tls(&keys, &sources)?;
    let turn = turn(&keys, turn_secret, &sources)?;
    let cluster = cluster(&keys, &sources)?;
    let l = &keys.limits;
    if l.sdp_bytes.0 > l.message_bytes.0 {
        return Err(invalid(
            "limits.sdp_bytes",
            src("limits.sdp_bytes"),
            format!(
                "{} is more than limits.message_bytes ({}): an offer travels in one message",
                l.sdp_bytes.0, l.message_bytes.0
            ),
        ));
    }
    if l.message_burst.0 < l.messages_per_second.0 {
        return Err(invalid(
            "limits.message_burst",
            src("limits.message_burst"),
            format!(
                "{} is less than limits.messages_per_second ({})",
                l.message_burst.0, l.messages_per_second.0
            ),
        ));
    }
    if keys.mode == Mode::Production {
        production(&keys, &admin_key, &token_secret, tls.is_some(), &sources)?;
    }

    if let Some(url) = &mut keys.public_url {
        url.truncate(url.trim_end_matches('/').len());
    }
    Ok(Config {
        admin_key,
        token_secret,
        tls,
        drain: Duration::from_secs(keys.drain_seconds.0),
        turn,
        limits: keys.limits.limits(),
        cluster,
        sources,
        keys,
    })
}

/// `[cluster]`: nothing without nats_url; with it, a `nats://` URL and a node name that fits
/// in a NATS subject and a KV key.
fn cluster(
    keys: &Keys,
    sources: &BTreeMap<String, Source>,
) -> Result<Option<ClusterConfig>, ConfigError> {
    let c = &keys.cluster;
    let Some(url) = &c.nats_url else {
        return Ok(None);
    };
    if !url.starts_with("nats://") || url.len() <= "nats://".len() {
        return Err(invalid(
            "cluster.nats_url",
            source_of(sources, "cluster.nats_url"),
            format!("{url:?} is not a nats:// URL"),
        ));
    }
    let Some(node_id) = &c.node_id else {
        return Err(ConfigError::Missing {
            key: "cluster.node_id".into(),
            why: "a cluster node needs its name (cluster.nats_url is set)".into(),
        });
    };
    if !crate::cluster::records::valid_node_id(node_id) {
        return Err(invalid(
            "cluster.node_id",
            source_of(sources, "cluster.node_id"),
            format!("{node_id:?}: a node name is 1 to 32 letters, digits, '-' or '_'"),
        ));
    }
    Ok(Some(ClusterConfig {
        nats_url: url.clone(),
        node_id: node_id.clone(),
        region: c.node_region.clone().unwrap_or_default(),
    }))
}

/// Reads a secret from its value or its file.
fn secret(
    key: &str,
    file_key: &str,
    value: Option<Secret>,
    file: Option<PathBuf>,
    sources: &BTreeMap<String, Source>,
) -> Result<Option<Secret>, ConfigError> {
    let (text, at) = match (value, file) {
        (Some(v), _) => (v.expose().to_owned(), key),
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
    Ok(Some(Secret::new(text)))
}

/// Two listeners cannot share a TCP port.
fn clashes(keys: &Keys) -> Result<(), ConfigError> {
    if let Some(metrics) = keys.metrics_addr {
        if metrics.port() != 0
            && metrics.port() == keys.http.port()
            && overlaps(metrics.ip(), keys.http.ip())
        {
            return Err(ConfigError::Clash {
                key: "metrics_addr".into(),
                other: "http".into(),
                addr: metrics,
            });
        }
    }
    if let Some(tcp) = keys.ice_tcp {
        let others = [
            ("http", Some(keys.http)),
            ("metrics_addr", keys.metrics_addr),
        ];
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
    Ok(())
}

fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}

/// The certificate and its key: both or neither, and they must load and match.
fn tls(keys: &Keys, sources: &BTreeMap<String, Source>) -> Result<Option<TlsFiles>, ConfigError> {
    match (&keys.tls_cert, &keys.tls_key) {
        (Some(cert), Some(key)) => {
            crate::tls::load_certified_key(cert, key).map_err(|e| {
                let key = e.key();
                invalid(key, source_of(sources, key), e.to_string())
            })?;
            Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }))
        }
        (Some(_), None) => Err(ConfigError::Missing {
            key: "tls_key".into(),
            why: "tls_cert is set; HTTPS needs the certificate's private key too".into(),
        }),
        (None, Some(_)) => Err(ConfigError::Missing {
            key: "tls_cert".into(),
            why: "tls_key is set; HTTPS needs the certificate chain too".into(),
        }),
        (None, None) => Ok(None),
    }
}

/// TURN: valid URLs, and URLs and a secret together or neither.
fn turn(
    keys: &Keys,
    secret: Option<Secret>,
    sources: &BTreeMap<String, Source>,
) -> Result<Option<TurnConfig>, ConfigError> {
    let urls = &keys.turn.urls.0;
    for url in urls {
        let scheme_ok = ["turn:", "turns:", "stun:", "stuns:"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme_ok || url.split_once(':').is_none_or(|(_, rest)| rest.is_empty()) {
            return Err(invalid(
                "turn.urls",
                source_of(sources, "turn.urls"),
                format!("`{url}` is not a turn:, turns: or stun: URL (e.g. turn:turn.example.gov.vn:3478?transport=tcp)"),
            ));
        }
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
            urls: urls.clone(),
            secret,
            ttl: Duration::from_secs(keys.turn.ttl_seconds.0),
        })),
    }
}

/// What `mode = "production"` adds: fixed secrets, the public URL, no plain HTTP in the open.
fn production(
    keys: &Keys,
    admin_key: &Option<Secret>,
    token_secret: &Option<Secret>,
    tls: bool,
    sources: &BTreeMap<String, Source>,
) -> Result<(), ConfigError> {
    let why = |what: &str| format!("mode = \"production\" needs {what}");
    if admin_key.is_none() {
        return Err(ConfigError::Missing {
            key: "admin_key".into(),
            why: why("a fixed admin key: set admin_key_file or DIEMCAU_ADMIN_KEY"),
        });
    }
    match token_secret {
        None => {
            return Err(ConfigError::Missing {
                key: "token_secret".into(),
                why: why("a fixed token secret (links must survive a restart): set token_secret_file or DIEMCAU_TOKEN_SECRET"),
            })
        }
        Some(s) if s.expose().len() < MIN_TOKEN_SECRET_BYTES => {
            let key = if sources.contains_key("token_secret") {
                "token_secret"
            } else {
                "token_secret_file"
            };
            return Err(invalid(
                key,
                source_of(sources, key),
                format!(
                    "the token secret has {} bytes; production needs at least {MIN_TOKEN_SECRET_BYTES}",
                    s.expose().len()
                ),
            ));
        }
        Some(_) => {}
    }
    if keys.public_url.is_none() {
        return Err(ConfigError::Missing {
            key: "public_url".into(),
            why: why("the URL sites open (invite links), e.g. https://hop.example.gov.vn"),
        });
    }
    if !tls && !keys.behind_proxy && !keys.http.ip().is_loopback() {
        return Err(invalid(
            "http",
            source_of(sources, "http"),
            format!(
                "mode = \"production\" refuses plain HTTP on {} (not loopback): set tls_cert and tls_key, \
                 or behind_proxy = true when a TLS reverse proxy forwards to it",
                keys.http
            ),
        ));
    }
    Ok(())
}
