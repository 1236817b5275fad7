//! What the media plane tells signaling, applied to the meeting each connection belongs to.
//! The SFU event loop calls [`handle`] for its own SFU's events; in a cluster, the origin
//! calls it too for what a hosting node says about a connection it hosts.

use std::sync::Arc;

use sfu::SfuEvent;

use crate::state::AppState;
use crate::{meeting, protocol, whip};

/// Applies one event.
pub(crate) async fn handle(state: &Arc<AppState>, ev: SfuEvent) {
    if let Some(cluster) = state.cluster.get() {
        if cluster.media.forward_event(&ev) {
            return;
        }
    }
    // Copied out of the index: effects of these inputs may change the index.
    let owner = |peer: &sfu::PeerId| state.peers.get(peer).map(|e| e.value().clone());
    match ev {
        SfuEvent::Disconnected(peer) => {
            if let Some((meeting, site)) = owner(&peer) {
                // The hall's equipment (`whip:`/`whep:` names): its resource ends.
                if site.starts_with("whip:") || site.starts_with("whep:") {
                    let lost = meeting::ingest::Lost { peer };
                    let _ = meeting.apply(lost, state);
                    whip::count(state, &meeting);
                    return;
                }
                let lost = meeting::membership::MediaLost { site, peer };
                let _ = meeting.apply(lost, state);
            } else if state.relay_links.forget(peer).await {
                tracing::info!(link = %peer, "relay link lost");
            }
        }
        SfuEvent::Stats(report) => {
            if let Some((meeting, site)) = owner(&report.peer) {
                let role = meeting.read(|m| m.site(&site).map_or("site", |s| s.role.as_str()));
                let link = meeting::link::LinkReport {
                    site: site.clone(),
                    peer: report.peer,
                    report: report.clone(),
                };
                if let Ok(Some((transport, browser))) = meeting.apply(link, state) {
                    state.metrics.sites.update(
                        &meeting.id,
                        &site,
                        role,
                        &report,
                        transport,
                        &browser,
                    );
                }
            }
        }
        SfuEvent::FirstMedia(peer) => {
            if let Some((_, started)) = state.joins.remove(&peer) {
                state
                    .metrics
                    .join_latency
                    .observe(started.elapsed().as_secs_f64());
            }
        }
        SfuEvent::CameraLayersWanted { peer, max } => {
            if let Some((meeting, site)) = owner(&peer) {
                let camera = max.map_or("none", |l| l.name()).to_owned();
                let message = protocol::ServerMessage::Layers { camera };
                let notify = meeting::link::Notify {
                    site,
                    peer,
                    message,
                };
                let _ = meeting.apply(notify, state);
            }
        }
        SfuEvent::Reception { peer, reception } => {
            if let Some((meeting, site)) = owner(&peer) {
                let reception = meeting::link::Reception {
                    site,
                    peer,
                    reception: reception.as_str(),
                };
                let _ = meeting.apply(reception, state);
            }
        }
        SfuEvent::Connected(_) => {}
    }
}
