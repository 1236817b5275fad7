//! The `diemcau` binary: signaling + SFU in one process.
//!
//! `diemcau --demo` starts on 127.0.0.1 with generated secrets, creates a demo meeting and
//! prints its links (`--json` for scripts). Configuration: defaults < `--config` TOML file <
//! `DIEMCAU_*` environment < flags (see `signaling::config` and
//! `deploy/diemcau.example.toml`); `--check-config` validates and prints a redacted summary.
//!
//! Signals: SIGTERM / SIGINT drain then stop (a second one stops at once); SIGHUP reloads the
//! TLS certificate and key files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use rand::distr::{Alphanumeric, SampleString};
use signaling::api::{CreateMeeting, SiteInput};
use signaling::config::{Config, Layers};
use signaling::tls::{CertStore, TlsListener};
use signaling::turn::TurnRest;
use signaling::Settings;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

/// diemcau: video-conferencing relay for online government meetings.
///
/// Every option below can also be set in the TOML file given to --config and by an environment
/// variable DIEMCAU_<KEY> (e.g. DIEMCAU_HTTP, DIEMCAU_TURN_URLS); flags win over the
/// environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (also DIEMCAU_CONFIG). Every key: deploy/diemcau.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the configuration, print a summary (secrets redacted) and exit: 0 valid, 1 not.
    #[arg(long)]
    check_config: bool,
    /// `development` (default: generated secrets) or `production` (strict checks).
    #[arg(long)]
    mode: Option<String>,
    /// HTTP(S) listen address (web client, WebSocket, API, metrics). Default 127.0.0.1:8080.
    #[arg(long)]
    http: Option<String>,
    /// The single UDP port every site's media uses. Default 127.0.0.1:40000.
    #[arg(long)]
    udp: Option<String>,
    /// IP announced to browsers for the UDP port, when it differs from the bound one.
    #[arg(long)]
    announce_ip: Option<String>,
    /// TCP address for ICE-TCP, for sites whose firewall drops UDP (e.g. 0.0.0.0:443 behind
    /// a firewall that allows only TCP 443). Default: off.
    #[arg(long)]
    ice_tcp: Option<String>,
    /// Base URL sites open (used in invite links). Default: http(s)://<http address>.
    #[arg(long)]
    public_url: Option<String>,
    /// Admin API key (prefer DIEMCAU_ADMIN_KEY or admin_key_file: flags show in `ps`).
    /// Generated and printed when not given (development mode).
    #[arg(long)]
    admin_key: Option<String>,
    /// File holding the admin API key.
    #[arg(long, value_name = "FILE")]
    admin_key_file: Option<String>,
    /// Secret signing invite tokens (32+ characters). Generated when not given, which makes
    /// links stop working at restart.
    #[arg(long)]
    token_secret: Option<String>,
    /// File holding the token secret.
    #[arg(long, value_name = "FILE")]
    token_secret_file: Option<String>,
    /// Serve `/metrics` on this address instead of the main port.
    #[arg(long)]
    metrics_addr: Option<String>,
    /// Directory for roll-call records (`<dir>/attendance/<meeting>.json`). Default `data`.
    #[arg(long)]
    data_dir: Option<String>,
    /// PEM certificate chain: serve HTTPS/WSS directly (reloaded on SIGHUP).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<String>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<String>,
    /// Plain HTTP for a TLS-terminating reverse proxy (allowed off loopback in production).
    #[arg(long)]
    behind_proxy: bool,
    /// Seconds a shutdown waits for sites to leave before closing every session. Default 30.
    #[arg(long)]
    drain_seconds: Option<String>,
    /// TURN server URLs handed to browsers, comma-separated, in the order to try.
    #[arg(long)]
    turn_urls: Option<String>,
    /// File holding coturn's static-auth-secret.
    #[arg(long, value_name = "FILE")]
    turn_secret_file: Option<String>,
    /// Lifetime of a TURN credential in seconds. Default 43200.
    #[arg(long)]
    turn_ttl_seconds: Option<String>,
    /// Create a demo meeting (a chair, an operator, five communes) and print its links.
    #[arg(long)]
    demo: bool,
    /// With --demo: print the links as one JSON object.
    #[arg(long, requires = "demo")]
    json: bool,
}

impl Args {
    fn layers(&self) -> Layers {
        let mut layers = Layers::from_process_env();
        layers.file = self
            .config
            .clone()
            .or_else(|| std::env::var_os("DIEMCAU_CONFIG").map(PathBuf::from));
        let flags = [
            ("mode", &self.mode, "--mode"),
            ("http", &self.http, "--http"),
            ("udp", &self.udp, "--udp"),
            ("announce_ip", &self.announce_ip, "--announce-ip"),
            ("ice_tcp", &self.ice_tcp, "--ice-tcp"),
            ("public_url", &self.public_url, "--public-url"),
            ("admin_key", &self.admin_key, "--admin-key"),
            ("admin_key_file", &self.admin_key_file, "--admin-key-file"),
            ("token_secret", &self.token_secret, "--token-secret"),
            (
                "token_secret_file",
                &self.token_secret_file,
                "--token-secret-file",
            ),
            ("metrics_addr", &self.metrics_addr, "--metrics-addr"),
            ("data_dir", &self.data_dir, "--data-dir"),
            ("tls_cert", &self.tls_cert, "--tls-cert"),
            ("tls_key", &self.tls_key, "--tls-key"),
            ("drain_seconds", &self.drain_seconds, "--drain-seconds"),
            ("turn.urls", &self.turn_urls, "--turn-urls"),
            (
                "turn.secret_file",
                &self.turn_secret_file,
                "--turn-secret-file",
            ),
            (
                "turn.ttl_seconds",
                &self.turn_ttl_seconds,
                "--turn-ttl-seconds",
            ),
        ];
        for (key, value, flag) in flags {
            if let Some(v) = value {
                layers.flag(key, v.clone(), flag);
            }
        }
        if self.behind_proxy {
            layers.flag("behind_proxy", "true", "--behind-proxy");
        }
        layers
    }
}

fn random_secret() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 40)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.layers()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("diemcau: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check_config {
        print!("{}", config.summary());
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,str0m::format=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("diemcau: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&args, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diemcau: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: &Args, config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (is another diemcau running?)",
                config.http
            )
        })?;
    let http = listener.local_addr()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{http}");
    let generated_admin = config.admin_key.is_none();
    // Without a configured secret, the one generated at first start is kept in the data
    // directory: links handed out stay valid across a restart.
    let token_secret = match &config.token_secret {
        Some(s) => s.expose().as_bytes().to_vec(),
        None => signaling::store::token_secret(&config.data_dir).with_context(|| {
            format!(
                "cannot keep a token secret in {}",
                config.data_dir.display()
            )
        })?,
    };
    let settings = Settings {
        public_url: config.public_url.clone().unwrap_or_else(|| base.clone()),
        admin_key: config
            .admin_key
            .as_ref()
            .map_or_else(random_secret, |s| s.expose().to_owned()),
        token_secret,
        ice_servers: Vec::new(),
        data_dir: Some(config.data_dir.clone()),
        separate_metrics: config.metrics_addr.is_some(),
        turn: config.turn.as_ref().map(TurnRest::new),
        drain_timeout: config.drain,
        limits: config.limits,
        behind_proxy: config.behind_proxy,
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let sfu_config = sfu::SfuConfig {
        bind: config.udp,
        announce_ip: config.announce_ip,
        tcp_bind: config.ice_tcp,
    };
    let state = signaling::start(settings, sfu_config)?;

    if args.demo {
        print_demo(&state, args.json, &base)?;
    } else if generated_admin {
        eprintln!("admin key (generated): {}", state.settings.admin_key);
    }

    if let Some(addr) = config.metrics_addr {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        tracing::info!(%addr, "metrics listening");
        let app = signaling::web::metrics_router(state.clone());
        // The same accept loop as the main port: header timeout and per-address cap.
        let served = state.clone();
        tokio::spawn(signaling::serve::serve(
            metrics,
            app,
            served,
            std::future::pending(),
        ));
    }

    let certs = match &config.tls {
        Some(files) => Some(CertStore::load(&files.cert, &files.key)?),
        None => None,
    };
    reload_on_sighup(certs.clone())?;
    let shutdown = shutdown_signal(config.drain)?;
    match certs {
        Some(store) => signaling::run(TlsListener::new(listener, &store)?, state, shutdown).await?,
        None => signaling::run(listener, state, shutdown).await?,
    }
    Ok(())
}

/// SIGHUP reloads the certificate (a renewal); without TLS it is logged and ignored.
fn reload_on_sighup(certs: Option<Arc<CertStore>>) -> anyhow::Result<()> {
    let mut hangup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match &certs {
                Some(store) => match store.reload() {
                    Ok(()) => tracing::info!("SIGHUP: TLS certificate reloaded"),
                    Err(e) => tracing::error!(
                        "SIGHUP: TLS certificate not reloaded, keeping the current one: {e}"
                    ),
                },
                None => tracing::info!("SIGHUP: no TLS certificate to reload"),
            }
        }
    });
    Ok(())
}

/// Completes at the first SIGTERM or SIGINT; a second one exits at once.
fn shutdown_signal(
    drain: std::time::Duration,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(
            "shutting down: no new joins, draining for up to {drain:?} (signal again to stop now)"
        );
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::warn!("second signal: stopping now");
            std::process::exit(130);
        });
    })
}

fn print_demo(state: &signaling::AppState, json: bool, base: &str) -> anyhow::Result<()> {
    let communes = [
        "UBND xã Tả Van",
        "UBND xã Bản Hồ",
        "UBND phường Sa Pa",
        "UBND xã Mường Hoa",
        "UBND xã Ngũ Chỉ Sơn",
    ];
    let created = signaling::api::create(
        state,
        CreateMeeting {
            title: "Hội nghị trực tuyến (demo)".into(),
            chair_name: Some("Hội trường UBND tỉnh".into()),
            sites: communes
                .iter()
                .map(|n| SiteInput { name: (*n).into() })
                .collect(),
            valid_hours: Some(24),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .map_err(|e| anyhow::anyhow!("demo meeting: {e:?}"))?;
    if json {
        let out = serde_json::json!({
            "http": base,
            "udp": state.sfu.local_addr().to_string(),
            "ice_tcp": state.sfu.tcp_addr().map(|a| a.to_string()),
            "admin_key": state.settings.admin_key,
            "meeting": created,
        });
        println!("{out}");
    } else {
        println!(
            "diemcau demo meeting \"{}\" ({})",
            created.title, created.id
        );
        match state.sfu.tcp_addr() {
            Some(tcp) => println!(
                "  web + API:  {base}   media: udp {}, tcp {tcp}",
                state.sfu.local_addr()
            ),
            None => println!(
                "  web + API:  {base}   media: udp {}",
                state.sfu.local_addr()
            ),
        }
        println!("  admin key:  {}", state.settings.admin_key);
        println!();
        println!("  chair    {}: {}", created.chair.name, created.chair.link);
        println!(
            "  operator {}: {}",
            created.operator.name, created.operator.link
        );
        for s in &created.sites {
            println!("  site     {}: {}", s.name, s.link);
        }
        println!();
        println!("Open the chair link and a few site links in Chromium. Ctrl-C stops.");
    }
    use std::io::Write;
    std::io::stdout().flush()?;
    Ok(())
}
