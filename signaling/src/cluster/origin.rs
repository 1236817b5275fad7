//! The origin's side of a tunneled session: another node's site, whose frames arrive on the
//! meeting's action subject, gets the same session state machine ([`crate::session::run`]) as
//! a local socket, fed from those frames; what it sends goes back on the tunnel's effects
//! subject. So the origin applies every action of its meeting, and input from another node
//! is checked exactly as a browser's (size, rate, permissions, the meeting's rules).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::records::{self, Ack, Down, Up};
use super::Cluster;
use crate::session::Inbound;
use crate::state::AppState;

/// Frames waiting for one tunneled session (then the sender waits: back-pressure to the
/// hosting node's request).
const TUNNEL_QUEUE: usize = 64;

/// The tunneled sessions this node runs, by tunnel name.
#[derive(Debug, Default)]
pub struct Tunnels {
    map: Mutex<HashMap<String, Tunnel>>,
}

#[derive(Debug)]
struct Tunnel {
    /// The hosting node.
    node: String,
    tx: mpsc::Sender<Inbound>,
}

impl Tunnels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tunnel>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends the tunneled sessions of nodes no longer live: their sockets are gone with them, so
/// their sites are dropped (they may resume on another node) without waiting for the idle
/// timeout.
pub(super) fn drop_dead_tunnels(cluster: &Cluster, live: &HashSet<String>) {
    cluster.tunnels.lock().retain(|_, t| live.contains(&t.node));
}

/// Serves `meeting`'s action subject until the returned task is aborted.
pub(super) async fn serve(
    cluster: Arc<Cluster>,
    state: &Arc<AppState>,
    meeting: &str,
) -> Result<tokio::task::JoinHandle<()>, async_nats::SubscribeError> {
    let mut sub = cluster
        .client
        .subscribe(records::action_subject(meeting))
        .await?;
    let state = Arc::downgrade(state);
    let meeting = meeting.to_owned();
    Ok(tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            let Some(state) = state.upgrade() else { break };
            let ack = match serde_json::from_slice::<Up>(&msg.payload) {
                Ok(up) => take(&cluster, &state, &meeting, up).await,
                Err(_) => Err("malformed envelope"),
            };
            if let Some(reply) = msg.reply {
                let ack = match ack {
                    Ok(()) => Ack {
                        ok: true,
                        error: None,
                    },
                    Err(why) => {
                        tracing::warn!(%meeting, "refused a frame from another node: {why}");
                        Ack {
                            ok: false,
                            error: Some(why.to_owned()),
                        }
                    }
                };
                if let Ok(body) = serde_json::to_vec(&ack) {
                    let _ = cluster.client.publish(reply, body.into()).await;
                }
            }
        }
    }))
}

/// Hands one frame to its tunnel's session, starting the session at its first frame.
async fn take(
    cluster: &Arc<Cluster>,
    state: &Arc<AppState>,
    meeting: &str,
    up: Up,
) -> Result<(), &'static str> {
    if !records::valid_node_id(&up.node) || !records::tunnel_of(&up.tunnel, &up.node) {
        return Err("a tunnel name that is not the sending node's");
    }
    let Some(frame) = up.frame.clone() else {
        // Its socket closed: the session ends as a dropped socket's does (it may resume).
        cluster.tunnels.lock().remove(&up.tunnel);
        return Ok(());
    };
    // As the WebSocket layer would: a frame far over the limit never reaches the session.
    let max = state.settings.limits.message_bytes + 64 * 1024;
    let inbound = if frame.len() > max {
        Inbound::Oversized
    } else {
        Inbound::Text(frame)
    };
    let tx = {
        let mut map = cluster.tunnels.lock();
        match map.get(&up.tunnel) {
            Some(t) if t.node == up.node => t.tx.clone(),
            Some(_) => return Err("a tunnel name already in use"),
            None => {
                let (tx, rx) = mpsc::channel(TUNNEL_QUEUE);
                map.insert(
                    up.tunnel.clone(),
                    Tunnel {
                        node: up.node.clone(),
                        tx: tx.clone(),
                    },
                );
                spawn_session(cluster.clone(), state.clone(), meeting, &up, rx);
                tx
            }
        }
    };
    tx.send(inbound).await.map_err(|_| "the session has ended")
}

/// Runs the session of a tunnel: frames from `rx`, what it sends published on the tunnel's
/// effects subject; its end is published too, so the hosting node closes the socket.
fn spawn_session(
    cluster: Arc<Cluster>,
    state: Arc<AppState>,
    meeting: &str,
    up: &Up,
    rx: mpsc::Receiver<Inbound>,
) {
    let subject = records::effects_subject(meeting, &up.tunnel);
    let tunnel = up.tunnel.clone();
    let client_ip = up.client;
    // The hosting node carries the site's media when both ends relay (`cluster::media`).
    let host = match (&up.relay, &state.settings.relay) {
        (Some(url), Some(_)) if super::media::valid_relay_url(url) => Some(super::media::Host {
            node: up.node.clone(),
            relay_url: url.clone(),
        }),
        _ => None,
    };
    tokio::spawn(async move {
        let incoming =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|f| (f, rx)) },
            );
        let publisher = cluster.client.clone();
        let subj = subject.clone();
        let outgoing = futures_util::sink::unfold((), move |(), text: String| {
            let publisher = publisher.clone();
            let subj = subj.clone();
            async move {
                let body = serde_json::to_vec(&Down { text: Some(text) })
                    .map_err(|_| std::io::Error::other("encode"))?;
                publisher
                    .publish(subj, body.into())
                    .await
                    .map_err(std::io::Error::other)
            }
        });
        crate::session::run_hosted(
            state,
            client_ip,
            None,
            host,
            Box::pin(incoming),
            Box::pin(outgoing),
        )
        .await;
        cluster.tunnels.lock().remove(&tunnel);
        if let Ok(body) = serde_json::to_vec(&Down { text: None }) {
            let _ = cluster.client.publish(subject, body.into()).await;
        }
    });
}
