//! diemcau signaling: meetings, roles, the WebSocket protocol, the admin API, and the glue
//! that runs them with the media plane in one process.
//!
//! Start-up: [`start`] launches the SFU and the task that carries its events to meetings;
//! [`run`] serves HTTP (or HTTPS through [`tls::TlsListener`]) on a listener the caller bound
//! (tests bind `127.0.0.1:0`) until the shutdown future completes, then drains (see
//! [`state::Phase`]) and stops the SFU. [`config`] turns file, environment and flags into the
//! settings the binary starts with; [`node`] runs one node from them (the binary's `main`
//! only parses flags).

#![warn(missing_docs)]

pub mod api;
pub mod api_admin;
pub mod api_media;
pub mod api_recording;
pub mod api_records;
pub mod api_routes;
pub mod audit;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod door;
pub mod durable;
pub mod jsonl;
pub mod limits;
pub mod meeting;
pub mod metrics;
pub mod minutes;
pub mod minutes_html;
pub mod moderation;
pub mod node;
pub mod node_figures;
pub mod outbox;
pub mod protocol;
pub mod proxy;
pub mod recording;
pub mod relay;
pub mod retention;
pub mod rollcall;
pub mod route;
pub mod serve;
pub mod session;
pub mod sfu_events;
pub mod shards;
pub mod site;
pub mod state;
pub mod store;
pub mod text;
pub mod tls;
pub mod token;
pub mod turn;
pub mod vntime;
pub mod web;
pub mod whip;

use std::future::Future;
use std::sync::Arc;

use sfu::{Sfu, SfuConfig};
use tracing::info;

pub use state::{AppState, Settings};

/// Starts the media plane and the state around it. Needs a tokio runtime.
pub fn start(settings: Settings, sfu_config: SfuConfig) -> anyhow::Result<Arc<AppState>> {
    start_sharded(settings, sfu_config, 1)
}

/// As [`start`], with `shards` media threads on the one UDP port (`media.shards`); each
/// meeting is placed on one ([`shards`]).
pub fn start_sharded(
    settings: Settings,
    sfu_config: SfuConfig,
    shards: usize,
) -> anyhow::Result<Arc<AppState>> {
    let registry = prometheus::Registry::new();
    let (sfu, mut events) = Sfu::start_sharded(sfu_config, shards, &registry)?;
    let state = Arc::new(AppState::new(settings, Arc::new(sfu), registry)?);
    restore_meetings(&state);
    recording::live::spawn(&state)?;
    keep_last_seen(&state);
    retention::spawn_sweep(&state);
    let weak = Arc::downgrade(&state);
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let Some(state) = weak.upgrade() else { break };
            sfu_events::handle(&state, ev).await;
        }
    });
    // About once a second, every meeting with an operator gets its live figures.
    let weak = Arc::downgrade(&state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { break };
            for m in state.meetings.all() {
                if !m.read(meeting::State::is_ended) {
                    let _ = m.apply(meeting::operator::Stats, &state);
                }
            }
            node_figures::send(&state);
        }
    });
    Ok(state)
}

/// Writes `last_seen` every [`store::LAST_SEEN_INTERVAL`] while the state lives, so a
/// restart after a crash knows when the sites present were last seen (see [`store`]).
fn keep_last_seen(state: &Arc<AppState>) {
    let Some(dir) = state.settings.data_dir.clone() else {
        return;
    };
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(store::LAST_SEEN_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while weak.strong_count() > 0 {
            tick.tick().await;
            let dir = dir.clone();
            let written = tokio::task::spawn_blocking(move || {
                store::write_last_seen(&dir, token::unix_now_ms())
            })
            .await;
            if let Ok(Err(e)) = written {
                tracing::error!("cannot write last_seen in the data directory: {e}");
            }
        }
    });
}

/// Rebuilds the meetings kept in the data directory (see [`store`]).
fn restore_meetings(state: &AppState) {
    let Some(dir) = &state.settings.data_dir else {
        return;
    };
    let now_ms = token::unix_now_ms();
    let last_seen = store::read_last_seen(dir);
    for snapshot in store::load_all(dir, now_ms / 1000) {
        let id = snapshot.id.clone();
        let left_ms = store::crash_leave_ms(last_seen, snapshot.saved_ms, now_ms);
        let store = store::MeetingStore::open(dir, &id);
        let mut restored = meeting::State::restore(snapshot, left_ms, true);
        restored.restore_chat(meeting::chat::load(Some(dir), &id).messages);
        let meeting = state
            .meetings
            .insert(meeting::Meeting::new(restored, Some(store)));
        // The sites present at the crash are recorded as left: keep that on disk too.
        let _ = meeting.save_now();
        info!(meeting = %id, "meeting restored from the data directory");
    }
    state.metrics.meetings.set(state.meetings.active() as i64);
}

/// `listener` with Nagle's algorithm off on every connection it accepts. Signaling is small
/// messages in bursts (the answer, then the roster and the slots): with Nagle on, the second
/// message of a burst waits for the client's delayed ACK, ~40 ms on Linux, on every join.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(set_no_delay)
}

/// Turns Nagle's algorithm off on `tcp` (a failure leaves it on: slower, not broken).
pub fn set_no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY not set: {e}");
    }
}

/// Serves HTTP and WebSocket on `listener` (a `TcpListener`, or a [`tls::TlsListener`] for
/// HTTPS) until `shutdown` completes; then drains ([`AppState::drain`]: joins refused, sites
/// told, at most `drain_timeout`), stops serving and stops the SFU.
pub async fn run<L>(
    listener: L,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    info!(addr = %listener.local_addr()?, "signaling listening");
    let app = web::router(state.clone());
    let draining = state.clone();
    let stop = async move {
        shutdown.await;
        draining.drain().await;
    };
    serve::serve(listener, app, state.clone(), stop).await;
    // The sessions were told to close; give them a moment to record their leaves.
    for _ in 0..40 {
        if state.metrics.sessions.get() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sfu = state.sfu.clone();
    let _ = tokio::task::spawn_blocking(move || sfu.shutdown()).await;
    // The media thread copies nothing more: every recording's last cluster goes to disk.
    let flushed = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        if let Some(rec) = flushed.recorder.get() {
            rec.flush(std::time::Duration::from_secs(5));
        }
    })
    .await;
    // Every session has closed and recorded its leave: keep the final state for a restart.
    for m in state.meetings.all() {
        if let Err(e) = m.save_now() {
            tracing::error!(meeting = %m.id, "cannot save the meeting at shutdown: {e}");
        }
    }
    Ok(())
}
