//! The configuration: every refused case names its key, the layers override in order, the
//! documented example loads, and secrets never show.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use signaling::config::{Config, ConfigError, Layers, Mode, Source};

const SECRET_40: &str = "0123456789abcdef0123456789abcdef01234567";

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("diemcau-config-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn layers(file: Option<&Path>, env: &[(&str, &str)], flags: &[(&str, &str, &str)]) -> Layers {
    let mut l = Layers {
        file: file.map(Path::to_owned),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        flags: Vec::new(),
    };
    for (key, value, flag) in flags {
        l.flag(key, *value, flag);
    }
    l
}

/// Loads `toml` as the config file, with the given environment.
fn load(name: &str, toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = Dir::new(name);
    let path = dir.file("diemcau.toml", toml);
    Config::load(&layers(Some(&path), env, &[]))
}

fn refused(name: &str, toml: &str, env: &[(&str, &str)]) -> ConfigError {
    match load(name, toml, env) {
        Ok(c) => panic!("{name}: accepted: {c:?}"),
        Err(e) => e,
    }
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/diemcau.example.toml")
}

#[test]
fn the_documented_example_loads_and_states_the_defaults() {
    let example = Config::load(&layers(Some(&example_path()), &[], &[])).unwrap();
    let defaults = Config::load(&Layers::default()).unwrap();
    assert_eq!(example.mode, Mode::Development);
    assert_eq!(example.http, defaults.http);
    assert_eq!(example.udp, defaults.udp);
    assert_eq!(example.data_dir, defaults.data_dir);
    assert_eq!(example.behind_proxy, defaults.behind_proxy);
    assert_eq!(example.drain, defaults.drain);
    assert_eq!(example.drain, Duration::from_secs(30));
    assert_eq!(example.turn, None);
    let values = |c: &Config| {
        c.summary()
            .lines()
            .map(|l| l.split("   [").next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        values(&example),
        values(&defaults),
        "the example's values are the defaults"
    );
}

#[test]
fn the_example_documents_every_key() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let mut section = "";
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines() {
        let line = line.trim_start_matches('#').trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line.trim_matches(['[', ']']);
        } else if let Some((k, _)) = line.split_once(" = ") {
            if !k.contains(' ') {
                seen.insert(if section.is_empty() {
                    k.to_owned()
                } else {
                    format!("{section}.{k}")
                });
            }
        }
    }
    for key in signaling::config::key_paths() {
        let secret = ["admin_key", "token_secret", "turn.secret"].contains(&key);
        assert!(
            secret || seen.contains(key),
            "{key} is not documented in deploy/diemcau.example.toml"
        );
        if secret {
            assert!(
                text.contains(&signaling::config::env_name(key)),
                "{key}: its environment variable is not documented"
            );
        }
    }
}

#[test]
fn no_configuration_at_all_is_a_loopback_development_setup() {
    let c = Config::load(&Layers::default()).unwrap();
    assert_eq!(c.mode, Mode::Development);
    assert_eq!(c.http.to_string(), "127.0.0.1:8080");
    assert_eq!(c.udp.to_string(), "127.0.0.1:40000");
    assert!(c.admin_key.is_none() && c.token_secret.is_none() && c.tls.is_none());
}

#[test]
fn flags_beat_environment_which_beats_the_file() {
    let dir = Dir::new("precedence");
    let path = dir.file(
        "d.toml",
        "http = \"127.0.0.1:1001\"\nudp = \"127.0.0.1:2001\"\ndata_dir = \"/file\"\n",
    );
    let env = [
        ("DIEMCAU_HTTP", "127.0.0.1:1002"),
        ("DIEMCAU_UDP", "127.0.0.1:2002"),
        ("DIEMCAU_BIN", "ignored"),
    ];
    let c = Config::load(&layers(
        Some(&path),
        &env,
        &[("http", "127.0.0.1:1003", "--http")],
    ))
    .unwrap();
    assert_eq!(c.http.port(), 1003);
    assert_eq!(c.udp.port(), 2002);
    assert_eq!(c.data_dir, PathBuf::from("/file"));
    assert_eq!(c.source("http"), Source::Flag("--http".into()));
    assert_eq!(c.source("udp"), Source::Env("DIEMCAU_UDP".into()));
    assert_eq!(c.source("data_dir"), Source::File(path));
    assert_eq!(c.source("drain_seconds"), Source::Default);
}

#[test]
fn a_bad_address_names_its_key() {
    let e = refused("bad-http", "http = \"localhost\"\n", &[]);
    assert_eq!(e.key(), "http");
    assert!(e.to_string().contains("invalid socket address"), "{e}");
}

#[test]
fn a_bad_address_in_the_environment_names_the_variable() {
    let e = Config::load(&layers(None, &[("DIEMCAU_UDP", "nope")], &[])).unwrap_err();
    assert_eq!(e.key(), "udp");
    assert!(e.to_string().contains("env DIEMCAU_UDP"), "{e}");
}

#[test]
fn a_bad_announce_ip_names_its_key() {
    let e = refused("bad-ip", "announce_ip = \"203.0.113\"\n", &[]);
    assert_eq!(e.key(), "announce_ip");
}

#[test]
fn listeners_sharing_a_port_clash() {
    let e = refused(
        "clash",
        "http = \"127.0.0.1:9000\"\nmetrics_addr = \"0.0.0.0:9000\"\n",
        &[],
    );
    assert!(matches!(e, ConfigError::Clash { .. }), "{e}");
    assert_eq!(e.key(), "metrics_addr");
    assert!(e.to_string().contains("http"), "{e}");
    load(
        "no-clash",
        "http = \"127.0.0.1:9000\"\nmetrics_addr = \"127.0.0.1:9100\"\n",
        &[],
    )
    .unwrap();
}

#[test]
fn ice_tcp_is_off_by_default_and_may_not_share_the_http_port() {
    assert_eq!(Config::load(&Layers::default()).unwrap().ice_tcp, None);
    let c = load("ice-tcp", "ice_tcp = \"0.0.0.0:40000\"\n", &[]).unwrap();
    assert_eq!(
        c.ice_tcp.unwrap().port(),
        40000,
        "the same number as the UDP port is fine: another protocol"
    );
    let e = refused(
        "ice-tcp-clash",
        "http = \"127.0.0.1:9000\"\nice_tcp = \"0.0.0.0:9000\"\n",
        &[],
    );
    assert!(matches!(e, ConfigError::Clash { .. }), "{e}");
    assert_eq!(e.key(), "ice_tcp");
    let e = refused("ice-tcp-bad", "ice_tcp = \"port 443\"\n", &[]);
    assert_eq!(e.key(), "ice_tcp");
}

#[test]
fn limits_have_defaults_overrides_and_precise_errors() {
    let d = Config::load(&Layers::default()).unwrap().limits;
    assert_eq!(d, signaling::limits::Limits::default());
    let example = Config::load(&layers(Some(&example_path()), &[], &[])).unwrap();
    assert_eq!(example.limits, d, "the example states the defaults");
    let c = load(
        "limits",
        "[limits]\nsites_per_node = 250\n",
        &[("DIEMCAU_LIMITS_TRACKS_PER_SITE", "2")],
    )
    .unwrap();
    assert_eq!(c.limits.sites_per_node, 250);
    assert_eq!(c.limits.tracks_per_site, 2);
    assert_eq!(
        c.source("limits.tracks_per_site"),
        Source::Env("DIEMCAU_LIMITS_TRACKS_PER_SITE".into())
    );
    let e = refused("limits-zero", "[limits]\nsites_per_node = 0\n", &[]);
    assert_eq!(e.key(), "limits.sites_per_node");
    assert!(e.to_string().contains("0 is outside 1..="), "{e}");
    let e = refused(
        "limits-sdp",
        "[limits]\nmessage_bytes = 4096\nsdp_bytes = 8192\n",
        &[],
    );
    assert_eq!(e.key(), "limits.sdp_bytes");
    let e = refused("limits-unknown", "[limits]\nsites = 4\n", &[]);
    assert!(e.to_string().contains("sites"), "{e}");
}

#[test]
fn an_unknown_key_is_refused_with_its_path() {
    let e = refused("unknown", "htpp = \"127.0.0.1:80\"\n", &[]);
    assert_eq!(e.key(), "htpp");
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = refused("unknown-nested", "[turn]\nsecrte_file = \"/x\"\n", &[]);
    assert_eq!(e.key(), "turn.secrte_file");
    let e = refused("unknown-section", "[tls]\ncert = \"/x\"\n", &[]);
    assert_eq!(e.key(), "tls");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let e = refused("wrong-type", "drain_seconds = \"ten\"\n", &[]);
    assert_eq!(e.key(), "drain_seconds");
    let e = Config::load(&layers(None, &[("DIEMCAU_BEHIND_PROXY", "maybe")], &[])).unwrap_err();
    assert_eq!(e.key(), "behind_proxy");
    let e = refused("bad-mode", "mode = \"prod\"\n", &[]);
    assert_eq!(e.key(), "mode");
}

#[test]
fn a_toml_syntax_error_says_where() {
    let e = refused("syntax", "http = \n", &[]);
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn secrets_are_refused_in_the_file_itself() {
    let e = refused(
        "secret-in-file",
        &format!("admin_key = \"{SECRET_40}\"\n"),
        &[],
    );
    assert_eq!(e.key(), "admin_key");
    assert!(e.to_string().contains("admin_key_file"), "{e}");
    assert!(!e.to_string().contains(SECRET_40), "{e}");
    let e = refused("turn-secret-in-file", "[turn]\nsecret = \"abc\"\n", &[]);
    assert_eq!(e.key(), "turn.secret");
}

#[test]
fn production_requires_the_admin_key() {
    let e = refused(
        "prod-admin",
        "mode = \"production\"\n",
        &[("DIEMCAU_TOKEN_SECRET", SECRET_40)],
    );
    assert!(matches!(e, ConfigError::Missing { .. }), "{e}");
    assert_eq!(e.key(), "admin_key");
}

#[test]
fn production_requires_a_long_token_secret() {
    let e = refused(
        "prod-token",
        "mode = \"production\"\n",
        &[("DIEMCAU_ADMIN_KEY", SECRET_40)],
    );
    assert_eq!(e.key(), "token_secret");
    let e = refused(
        "prod-short",
        "mode = \"production\"\n",
        &[
            ("DIEMCAU_ADMIN_KEY", SECRET_40),
            ("DIEMCAU_TOKEN_SECRET", "short"),
        ],
    );
    assert_eq!(e.key(), "token_secret");
    assert!(e.to_string().contains("at least 32"), "{e}");
}

#[test]
fn production_requires_the_public_url() {
    let env = [
        ("DIEMCAU_ADMIN_KEY", SECRET_40),
        ("DIEMCAU_TOKEN_SECRET", SECRET_40),
    ];
    let e = refused("prod-url", "mode = \"production\"\n", &env);
    assert_eq!(e.key(), "public_url");
}

#[test]
fn production_refuses_plain_http_off_loopback_unless_behind_a_proxy() {
    let env = [
        ("DIEMCAU_ADMIN_KEY", SECRET_40),
        ("DIEMCAU_TOKEN_SECRET", SECRET_40),
    ];
    let base = "mode = \"production\"\npublic_url = \"https://hop.example.gov.vn\"\nhttp = \"0.0.0.0:8080\"\n";
    let e = refused("prod-plain", base, &env);
    assert_eq!(e.key(), "http");
    assert!(e.to_string().contains("behind_proxy"), "{e}");
    let c = load("prod-proxy", &format!("{base}behind_proxy = true\n"), &env).unwrap();
    assert!(c.behind_proxy);
    load(
        "prod-loopback",
        "mode = \"production\"\npublic_url = \"https://hop.example.gov.vn\"\n",
        &env,
    )
    .unwrap();
}

#[test]
fn secrets_come_from_their_files_and_never_show() {
    let dir = Dir::new("secret-files");
    let admin = dir.file("admin", &format!("{SECRET_40}\n"));
    let token = dir.file("token", &format!("{SECRET_40}x\n"));
    let turn = dir.file("turn", "coturn-shared-secret\n");
    let toml = format!(
        "mode = \"production\"\npublic_url = \"https://hop.example.gov.vn\"\nadmin_key_file = \"{}\"\ntoken_secret_file = \"{}\"\n\
         [turn]\nurls = [\"turn:127.0.0.1:3478?transport=tcp\"]\nsecret_file = \"{}\"\n",
        admin.display(),
        token.display(),
        turn.display()
    );
    let path = dir.file("d.toml", &toml);
    let c = Config::load(&layers(Some(&path), &[], &[])).unwrap();
    assert_eq!(c.admin_key.as_ref().unwrap().expose(), SECRET_40);
    assert_eq!(
        c.token_secret.as_ref().unwrap().expose(),
        format!("{SECRET_40}x")
    );
    assert_eq!(
        c.turn.as_ref().unwrap().secret.expose(),
        "coturn-shared-secret"
    );
    for shown in [format!("{c:?}"), c.summary()] {
        assert!(
            !shown.contains(SECRET_40) && !shown.contains("coturn-shared-secret"),
            "{shown}"
        );
    }
}

#[test]
fn a_missing_secret_file_names_its_key() {
    let e = refused(
        "no-secret-file",
        "admin_key_file = \"/nonexistent/diemcau/admin\"\n",
        &[],
    );
    assert_eq!(e.key(), "admin_key_file");
    let e = Config::load(&layers(
        None,
        &[
            ("DIEMCAU_ADMIN_KEY", SECRET_40),
            ("DIEMCAU_ADMIN_KEY_FILE", "/x"),
        ],
        &[],
    ))
    .unwrap_err();
    assert_eq!(e.key(), "admin_key_file");
    assert!(e.to_string().contains("keep one"), "{e}");
}

#[test]
fn turn_needs_urls_and_a_secret_together() {
    let e = refused(
        "turn-no-secret",
        "[turn]\nurls = [\"turn:127.0.0.1:3478\"]\n",
        &[],
    );
    assert_eq!(e.key(), "turn.secret");
    let e = refused("turn-no-urls", "", &[("DIEMCAU_TURN_SECRET", "s")]);
    assert_eq!(e.key(), "turn.urls");
    let e = refused(
        "turn-bad-url",
        "[turn]\nurls = [\"http://127.0.0.1:3478\"]\n",
        &[("DIEMCAU_TURN_SECRET", "s")],
    );
    assert_eq!(e.key(), "turn.urls");
    let e = refused("turn-ttl", "[turn]\nttl_seconds = 5\n", &[]);
    assert_eq!(e.key(), "turn.ttl_seconds");
    let c = load(
        "turn-env-list",
        "",
        &[
            (
                "DIEMCAU_TURN_URLS",
                "turn:127.0.0.1:3478?transport=udp, turn:127.0.0.1:3478?transport=tcp",
            ),
            ("DIEMCAU_TURN_SECRET", "s"),
        ],
    )
    .unwrap();
    assert_eq!(c.turn.unwrap().urls.len(), 2);
}

/// TURN over TLS on 443 (deploy/README.md) is a `turns:` URL like any other, and its
/// credentials stay short-lived: a meeting day by default, never more than a week.
#[test]
fn a_turns_url_on_443_is_handed_out_with_credentials_of_at_most_a_week() {
    let c = load(
        "turns-443",
        "[turn]\nurls = [\"turn:turn.example.gov.vn:3478?transport=udp\", \
         \"turns:turn.example.gov.vn:443?transport=tcp\"]\n",
        &[("DIEMCAU_TURN_SECRET", "s")],
    )
    .unwrap();
    let turn = c.turn.unwrap();
    assert_eq!(turn.urls[1], "turns:turn.example.gov.vn:443?transport=tcp");
    assert_eq!(turn.ttl, Duration::from_secs(12 * 3600));
    let e = refused(
        "turn-ttl-long",
        "[turn]\nttl_seconds = 604801\n",
        &[("DIEMCAU_TURN_SECRET", "s")],
    );
    assert_eq!(e.key(), "turn.ttl_seconds");
}

#[test]
fn a_wildcard_media_bind_needs_the_announced_address() {
    let e = refused("wildcard-udp", "udp = \"0.0.0.0:40000\"\n", &[]);
    assert_eq!(e.key(), "announce_ip");
    load(
        "wildcard-announced",
        "udp = \"0.0.0.0:40000\"\nannounce_ip = \"203.0.113.10\"\n",
        &[],
    )
    .unwrap();
}

#[test]
fn an_overlong_drain_and_a_bad_public_url_are_refused() {
    assert_eq!(
        refused("drain", "drain_seconds = 7200\n", &[]).key(),
        "drain_seconds"
    );
    assert_eq!(
        refused("public-url", "public_url = \"hop.example.gov.vn\"\n", &[]).key(),
        "public_url"
    );
}

#[test]
fn tls_files_are_checked_at_start() {
    let dir = Dir::new("tls");
    let (cert, key) = common::tls::self_signed(&dir.0, "a");
    let (_, other_key) = common::tls::self_signed(&dir.0, "b");
    let toml = |c: &Path, k: &Path| {
        format!(
            "tls_cert = \"{}\"\ntls_key = \"{}\"\n",
            c.display(),
            k.display()
        )
    };
    let c = load("tls-ok", &toml(&cert, &key), &[]).unwrap();
    assert_eq!(c.tls.unwrap().cert, cert);
    assert_eq!(
        refused(
            "tls-half",
            &format!("tls_cert = \"{}\"\n", cert.display()),
            &[]
        )
        .key(),
        "tls_key"
    );
    assert_eq!(
        refused("tls-gone", &toml(Path::new("/nonexistent.pem"), &key), &[]).key(),
        "tls_cert"
    );
    assert_eq!(
        refused("tls-swapped", &toml(&key, &cert), &[]).key(),
        "tls_cert"
    );
    let e = refused("tls-mismatch", &toml(&cert, &other_key), &[]);
    assert_eq!(e.key(), "tls_key");
    assert!(e.to_string().contains("does not belong"), "{e}");
}

#[test]
fn the_binary_checks_its_configuration_and_exits_accordingly() {
    let bin = env!("CARGO_BIN_EXE_diemcau");
    let ok = Command::new(bin)
        .args(["--check-config", "--config"])
        .arg(example_path())
        .env("DIEMCAU_ADMIN_KEY", SECRET_40)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        out.contains("configuration OK") && out.contains("env DIEMCAU_ADMIN_KEY"),
        "{out}"
    );
    assert!(!out.contains(SECRET_40), "{out}");
    let bad = Command::new(bin)
        .args(["--check-config", "--http", "nope"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("http (flag --http)"), "{err}");
}

#[test]
fn trusted_proxies_are_addresses_or_networks_and_default_to_loopback() {
    let c = Config::load(&Layers::default()).unwrap();
    let shown: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(shown, ["127.0.0.0/8", "::1/128"]);
    let c = load(
        "trusted",
        "behind_proxy = true\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\n",
        &[],
    )
    .unwrap();
    assert!(c.trusted_proxies[1].contains("192.0.2.7".parse().unwrap()));
    let e = refused("trusted-bad", "trusted_proxies = [\"proxy.local\"]\n", &[]);
    assert_eq!(e.key(), "trusted_proxies");
    assert!(
        e.to_string()
            .contains("\"proxy.local\" is not an IP address"),
        "{e}"
    );
    let e = refused("join-timeout", "[limits]\njoin_timeout_seconds = 0\n", &[]);
    assert_eq!(e.key(), "limits.join_timeout_seconds");
}

#[test]
fn every_key_has_a_flag_on_the_binary() {
    let bin = env!("CARGO_BIN_EXE_diemcau");
    let help = Command::new(bin).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for key in signaling::config::key_paths() {
        let flag = format!("--{}", key.replace(['.', '_'], "-"));
        assert!(
            help.lines()
                .any(|l| l.split_whitespace().next() == Some(flag.as_str())),
            "{key}: no {flag} in --help"
        );
    }
    let ok = Command::new(bin)
        .args(["--check-config", "--limits-sites-per-node", "400"])
        .args([
            "--behind-proxy",
            "--trusted-proxies",
            "10.0.0.0/8, 192.0.2.7",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let line = |key: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("limits.sites_per_node").contains("= 400   [flag --limits-sites-per-node]"),
        "{out}"
    );
    assert!(
        line("behind_proxy").contains("= true   [flag --behind-proxy]"),
        "{out}"
    );
    assert!(
        line("trusted_proxies").contains("= 10.0.0.0/8, 192.0.2.7/32"),
        "{out}"
    );
}

#[test]
fn media_shards_default_to_one_and_more_than_one_needs_ice_tcp_off() {
    assert_eq!(Config::load(&Layers::default()).unwrap().media.shards.0, 1);
    let c = load("shards", "[media]\nshards = 3\n", &[]).unwrap();
    assert_eq!(c.media.shards.0, 3);
    let e = refused(
        "shards-tcp",
        "ice_tcp = \"127.0.0.1:4443\"\n[media]\nshards = 2\n",
        &[],
    );
    assert_eq!(e.key(), "media.shards");
    assert!(e.to_string().contains("ice_tcp"), "{e}");
    assert_eq!(
        refused("shards-0", "[media]\nshards = 0\n", &[]).key(),
        "media.shards"
    );
    let one_with_tcp = load(
        "shards-one-tcp",
        "ice_tcp = \"127.0.0.1:4443\"\n[media]\nshards = 1\n",
        &[],
    );
    assert!(one_with_tcp.is_ok());
}

#[test]
fn the_media_threads_ask_for_ten_nice_steps_by_default_and_the_boost_is_bounded() {
    assert_eq!(
        Config::load(&Layers::default())
            .unwrap()
            .media
            .priority_boost
            .0,
        10
    );
    let off = load("boost-off", "[media]\npriority_boost = 0\n", &[]).unwrap();
    assert_eq!(off.media.priority_boost.0, 0);
    assert_eq!(
        refused("boost-40", "[media]\npriority_boost = 40\n", &[]).key(),
        "media.priority_boost"
    );
}

#[test]
fn the_relay_secret_is_environment_only_and_long_enough() {
    let e = refused("relay-secret-in-file", "[relay]\nsecret = \"abc\"\n", &[]);
    assert_eq!(e.key(), "relay.secret");
    let e = refused("relay-short", "", &[("DIEMCAU_RELAY_SECRET", "short")]);
    assert_eq!(e.key(), "relay.secret");
    assert!(e.to_string().contains("at least 16"), "{e}");
    assert!(!e.to_string().contains("short"), "{e}");
    let e = refused(
        "relay-bad-url",
        "[relay]\nadvertise_url = \"10.0.0.5:8080\"\n",
        &[("DIEMCAU_RELAY_SECRET", "relay-secret-0123456789")],
    );
    assert_eq!(e.key(), "relay.advertise_url");
    let c = load(
        "relay-ok",
        "[relay]\nadvertise_url = \"http://10.0.0.5:8080\"\n",
        &[("DIEMCAU_RELAY_SECRET", "relay-secret-0123456789")],
    )
    .unwrap();
    assert_eq!(
        c.relay.secret.as_ref().map(|s| s.expose()),
        Some("relay-secret-0123456789")
    );
    assert!(!c.summary().contains("relay-secret-0123456789"));
    let off = load("relay-off", "", &[]).unwrap();
    assert!(off.relay.secret.is_none());
}
