//! One diemcau node from a validated [`Config`]: bind the listeners, settle the secrets,
//! start signaling and the SFU, serve until SIGTERM / SIGINT (drain, then stop; a second
//! signal stops at once), reload the TLS certificate on SIGHUP. The binary's `main` only
//! parses flags and calls [`run`].

use std::sync::Arc;

use anyhow::Context;
use rand::distr::{Alphanumeric, SampleString};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;
use crate::demo::Demo;
use crate::tls::{CertStore, TlsListener};
use crate::turn::TurnRest;
use crate::Settings;

/// Runs the node on its own tokio runtime until it is stopped; with `demo`, creates the
/// demo meeting first and prints its links.
pub fn run(config: Config, demo: Option<Demo>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(serve(config, demo))
}

async fn serve(config: Config, demo: Option<Demo>) -> anyhow::Result<()> {
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
        None => crate::store::token_secret(&config.data_dir).with_context(|| {
            format!(
                "cannot keep a token secret in {}",
                config.data_dir.display()
            )
        })?,
    };
    // Segments a killed server was writing are cut to their last complete cluster before
    // anything lists or serves them.
    crate::recording::recover_all(&config.data_dir);
    let settings = Settings {
        public_url: config.public_url.clone().unwrap_or_else(|| base.clone()),
        admin_key: config.admin_key.as_ref().map_or_else(
            || Alphanumeric.sample_string(&mut rand::rng(), 40),
            |s| s.expose().to_owned(),
        ),
        token_secret,
        ice_servers: Vec::new(),
        data_dir: Some(config.data_dir.clone()),
        separate_metrics: config.metrics_addr.is_some(),
        turn: config.turn.as_ref().map(TurnRest::new),
        drain_timeout: config.drain,
        limits: config.limits,
        behind_proxy: config.behind_proxy,
        trusted_proxies: config.trusted_proxies.to_vec(),
        relay: config
            .relay
            .secret
            .as_ref()
            .map(|s| crate::relay::RelaySettings {
                secret: s.expose().to_owned(),
                advertise_url: config
                    .relay
                    .advertise_url
                    .clone()
                    .or_else(|| config.public_url.clone())
                    .unwrap_or_else(|| base.clone()),
            }),
    };
    let sfu_config = sfu::SfuConfig {
        bind: config.udp,
        announce_ip: config.announce_ip,
        tcp_bind: config.ice_tcp,
        priority_boost: config.media.priority_boost.0 as u32,
    };
    let state = crate::start_sharded(settings, sfu_config, config.media.shards.0 as usize)?;
    // A single node (no `[cluster]`) contacts no NATS at all.
    if let Some(cluster) = &config.cluster {
        crate::cluster::join(&state, cluster).await?;
    }

    match demo {
        Some(demo) => crate::demo::print(&state, demo, &base)?,
        None if generated_admin => {
            eprintln!("admin key (generated): {}", state.settings.admin_key);
        }
        None => {}
    }

    if let Some(addr) = config.metrics_addr {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        tracing::info!(%addr, "metrics listening");
        let app = crate::web::metrics_router(state.clone());
        // The same accept loop as the main port: header timeout and per-address cap.
        let served = state.clone();
        tokio::spawn(crate::serve::serve(
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
        Some(store) => crate::run(TlsListener::new(listener, &store)?, state, shutdown).await?,
        None => crate::run(crate::no_delay(listener), state, shutdown).await?,
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
