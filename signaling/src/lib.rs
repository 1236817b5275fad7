//! diemcau signaling: meetings, roles, the WebSocket protocol, the admin API, and the glue
//! that runs them with the media plane in one process.
//!
//! Start-up: [`start`] launches the SFU and the task that carries its events to meetings;
//! [`run`] serves HTTP on a listener the caller bound (tests bind `127.0.0.1:0`) until the
//! shutdown future completes.

#![warn(missing_docs)]

pub mod api;
pub mod meeting;
pub mod metrics;
pub mod moderation;
pub mod protocol;
pub mod rollcall;
pub mod route;
pub mod session;
pub mod state;
pub mod token;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use sfu::{Sfu, SfuConfig, SfuEvent};
use tokio::net::TcpListener;
use tracing::info;

pub use state::{AppState, Settings};

/// Starts the media plane and the state around it. Needs a tokio runtime.
pub fn start(settings: Settings, sfu_config: SfuConfig) -> anyhow::Result<Arc<AppState>> {
    let registry = prometheus::Registry::new();
    let (sfu, mut events) = Sfu::start(sfu_config, &registry)?;
    let state = Arc::new(AppState::new(settings, Arc::new(sfu), registry)?);
    let weak = Arc::downgrade(&state);
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            let Some(state) = weak.upgrade() else { break };
            match ev {
                SfuEvent::Disconnected(peer) => {
                    if let Some(entry) = state.peers.get(&peer) {
                        let (meeting, site) = entry.value();
                        meeting.media_lost(site, peer, &state.sfu);
                    }
                }
                SfuEvent::Stats(report) => {
                    if let Some(entry) = state.peers.get(&report.peer) {
                        let (meeting, site) = entry.value();
                        meeting.quality(site, report.peer, report.ingress_loss_pct, report.rtt_ms);
                    }
                }
                SfuEvent::CameraLayersWanted { peer, max } => {
                    if let Some(entry) = state.peers.get(&peer) {
                        let (meeting, site) = entry.value();
                        let camera = max.map_or("none", |l| l.name()).to_owned();
                        meeting.notify(site, peer, protocol::ServerMessage::Layers { camera });
                    }
                }
                SfuEvent::Reception { peer, reception } => {
                    if let Some(entry) = state.peers.get(&peer) {
                        let (meeting, site) = entry.value();
                        meeting.set_reception(site, peer, reception.as_str());
                    }
                }
                SfuEvent::Connected(_) => {}
            }
        }
    });
    Ok(state)
}

/// Serves HTTP and WebSocket on `listener` until `shutdown` completes, then stops the SFU.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    info!(addr = %listener.local_addr()?, "signaling listening");
    let app = web::router(state.clone());
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    let sfu = state.sfu.clone();
    let _ = tokio::task::spawn_blocking(move || sfu.shutdown()).await;
    Ok(())
}
