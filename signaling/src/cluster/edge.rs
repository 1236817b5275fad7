//! The hosting node's side of a tunneled session: a browser whose `join` names a meeting
//! another node holds is served by relaying its frames to that origin (request/reply on the
//! meeting's action subject) and the origin's messages back to it. No state of the meeting is
//! kept here; every action is the origin's to apply.
//!
//! When no acknowledgement comes (NATS down, the origin dead) the browser gets
//! `cluster_unavailable` and the socket closes: the web client rejoins by itself, and by
//! then another node holds the meeting (see [`super::authority`]). An idle socket learns of a
//! dead origin as fast: the origin's entry in `nodes` is checked every [`super::records::TICK`].

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::{Sink, SinkExt, Stream, StreamExt};

use super::records::{self, Ack, Down, Up};
use super::Cluster;
use crate::protocol::{ErrorCode, Refusal, ServerMessage};
use crate::session::{self, Inbound};
use crate::state::AppState;

/// How long a frame waits for the origin's acknowledgement.
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Serves one WebSocket: a local session, or a tunnel to the meeting's origin when the
/// first frame is a `join` for a meeting another node holds.
pub async fn serve<I, O>(
    state: Arc<AppState>,
    client: IpAddr,
    unjoined: crate::door::Pass,
    mut incoming: I,
    mut outgoing: O,
) where
    I: Stream<Item = Inbound> + Unpin + Send,
    O: Sink<String> + Unpin,
{
    let Some(cluster) = state.cluster.get().cloned() else {
        return session::run(state, Some(client), Some(unjoined), incoming, outgoing).await;
    };
    let first = tokio::time::timeout(state.settings.limits.join_timeout, incoming.next()).await;
    let Ok(Some(first)) = first else {
        // Silent or gone: the local session says `join_timeout` (or sees the close).
        return session::run(state, Some(client), Some(unjoined), incoming, outgoing).await;
    };
    match remote_meeting(&state, &cluster, &first).await {
        Ok(Some(meeting)) => {
            drop(unjoined);
            let relay = state
                .settings
                .relay
                .as_ref()
                .map(|r| r.advertise_url.clone());
            tunnel(
                &cluster,
                client,
                relay,
                &meeting,
                first,
                incoming,
                &mut outgoing,
            )
            .await;
            let _ = outgoing.close().await;
        }
        Ok(None) => {
            let incoming = futures_util::stream::iter([first]).chain(incoming);
            session::run(
                state,
                Some(client),
                Some(unjoined),
                Box::pin(incoming),
                outgoing,
            )
            .await
        }
        Err(refusal) => {
            cluster.metrics.unavailable.inc();
            let _ = outgoing.send(encode(&refusal.answering(None))).await;
            let _ = outgoing.close().await;
        }
    }
}

fn encode(m: &ServerMessage) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

fn unavailable() -> Refusal {
    Refusal::new(
        ErrorCode::ClusterUnavailable,
        "the node holding this meeting cannot be reached; rejoin in a few seconds",
    )
}

/// The meeting a `join` frame names when another node holds it; `None` for anything this
/// node serves itself (its own meetings, bad tokens, other messages: the local session
/// answers those as always).
async fn remote_meeting(
    state: &AppState,
    cluster: &Cluster,
    first: &Inbound,
) -> Result<Option<String>, Refusal> {
    let Inbound::Text(text) = first else {
        return Ok(None);
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(None);
    };
    if value.get("type").and_then(|t| t.as_str()) != Some("join") {
        return Ok(None);
    }
    let Some(token) = value.get("token").and_then(|t| t.as_str()) else {
        return Ok(None);
    };
    let Ok(claims) = state.keys.verify(token) else {
        return Ok(None);
    };
    if cluster.holds(&claims.mid) || !records::valid_meeting_id(&claims.mid) {
        return Ok(None);
    }
    let entry = cluster
        .meetings
        .entry(&claims.mid)
        .await
        .map_err(|_| unavailable())?;
    let Some(entry) = entry else {
        return Ok(None);
    };
    match serde_json::from_slice::<records::MeetingRecord>(&entry.value) {
        Ok(r) if r.origin != cluster.node_id => Ok(Some(claims.mid)),
        Ok(_) => Ok(None),
        Err(_) => Err(unavailable()),
    }
}

/// Relays one socket to `meeting`'s origin until either side ends.
async fn tunnel<I, O>(
    cluster: &Arc<Cluster>,
    client: IpAddr,
    relay: Option<String>,
    meeting: &str,
    first: Inbound,
    mut incoming: I,
    outgoing: &mut O,
) where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<String> + Unpin,
{
    let name = cluster.tunnel();
    let Ok(mut down) = cluster
        .client
        .subscribe(records::effects_subject(meeting, &name))
        .await
    else {
        let _ = outgoing.send(encode(&unavailable().answering(None))).await;
        return;
    };
    let Some(origin) = cluster.origin_of(meeting).await else {
        let _ = outgoing.send(encode(&unavailable().answering(None))).await;
        return;
    };
    let up = |frame: Option<String>| Up {
        tunnel: name.clone(),
        node: cluster.node_id.clone(),
        client: Some(client),
        frame,
        relay: relay.clone(),
    };
    let mut watch = tokio::time::interval(records::TICK);
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending = Some(first);
    loop {
        let frame = match pending.take() {
            Some(f) => Some(f),
            None => tokio::select! {
                f = incoming.next() => match f {
                    Some(f) => Some(f),
                    None => {
                        // The browser went: the origin's session ends as a dropped socket's.
                        let _ = send(cluster, meeting, &up(None)).await;
                        return;
                    }
                },
                msg = down.next() => {
                    let Some(msg) = msg else { break };
                    let Ok(Down { text }) = serde_json::from_slice::<Down>(&msg.payload) else {
                        continue;
                    };
                    let Some(text) = text else { return };
                    cluster.metrics.effects_received.inc();
                    if outgoing.send(text).await.is_err() {
                        let _ = send(cluster, meeting, &up(None)).await;
                        return;
                    }
                    None
                },
                _ = watch.tick() => {
                    if !matches!(cluster.is_live(&origin).await, Ok(true)) {
                        break;
                    }
                    None
                },
            },
        };
        let Some(frame) = frame else { continue };
        let text = match frame {
            Inbound::Text(t) => t,
            Inbound::Binary(n) => {
                let r = Refusal::new(
                    ErrorCode::BadMessage,
                    format!("binary frames are not used ({n} bytes received); send JSON text"),
                );
                let _ = outgoing.send(encode(&r.answering(None))).await;
                continue;
            }
            Inbound::Oversized => {
                let r = Refusal::new(ErrorCode::TooLarge, "message too large");
                let _ = outgoing.send(encode(&r.answering(None))).await;
                continue;
            }
        };
        cluster.metrics.actions_forwarded.inc();
        if !send(cluster, meeting, &up(Some(text))).await {
            break;
        }
    }
    cluster.metrics.unavailable.inc();
    let _ = outgoing.send(encode(&unavailable().answering(None))).await;
}

/// Sends one envelope to the origin; whether it was taken.
async fn send(cluster: &Cluster, meeting: &str, up: &Up) -> bool {
    let Ok(body) = serde_json::to_vec(up) else {
        return false;
    };
    let asked = cluster
        .client
        .request(records::action_subject(meeting), body.into());
    match tokio::time::timeout(ACK_TIMEOUT, asked).await {
        Ok(Ok(reply)) => serde_json::from_slice::<Ack>(&reply.payload).is_ok_and(|a| a.ok),
        _ => false,
    }
}
