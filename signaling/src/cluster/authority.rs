//! The cluster's clock: every [`TICK`] a node beats in `nodes`, rewrites the entries of the
//! meetings it holds (claiming new ones), and takes over the meetings whose origin died.
//!
//! Every write to `meetings` is a compare-and-set on the entry's revision (`create` for a
//! new meeting, `update` after), so two nodes can never both believe they won: a node whose
//! rewrite fails lost the authority (another took it over while it was cut off) and stops
//! serving the meeting's subject.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use futures_util::StreamExt;

use super::records::{self, MeetingRecord, NodeRecord, TICK};
use super::Cluster;
use crate::meeting::{Meeting, State};
use crate::state::AppState;
use crate::token::unix_now_ms;

/// Runs [`tick`] every [`TICK`] while the cluster and its node live.
pub(super) async fn run(cluster: Weak<Cluster>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(cluster) = cluster.upgrade() else {
            break;
        };
        let Some(state) = cluster.state.upgrade() else {
            break;
        };
        tick(&cluster, &state).await;
    }
}

/// One beat: heartbeat, this node's meetings, orphans. A NATS failure is logged and the
/// next beat tries again.
pub(super) async fn tick(cluster: &Arc<Cluster>, state: &Arc<AppState>) {
    let beat = NodeRecord {
        url: state.settings.public_url.clone(),
        region: cluster.region.clone(),
        sites: state.peers.len() as u64,
        seen_ms: unix_now_ms(),
    };
    let Ok(beat) = serde_json::to_vec(&beat) else {
        return;
    };
    if let Err(e) = cluster.nodes.put(&cluster.node_id, beat.into()).await {
        tracing::warn!("cluster heartbeat failed: {e}");
        return;
    }
    let live = live_nodes(cluster).await;
    cluster.metrics.nodes_seen.set(live.len() as i64);
    super::origin::drop_dead_tunnels(cluster, &live);
    publish_held(cluster, state).await;
    take_over_orphans(cluster, state, &live).await;
}

/// The nodes with an entry in `nodes` now.
async fn live_nodes(cluster: &Cluster) -> HashSet<String> {
    let mut live = HashSet::new();
    if let Ok(mut keys) = cluster.nodes.keys().await {
        while let Some(Ok(k)) = keys.next().await {
            live.insert(k);
        }
    }
    live
}

fn record_of(cluster: &Cluster, meeting: &Meeting) -> Option<bytes::Bytes> {
    let snapshot = meeting.read(|s| s.record(unix_now_ms()).snapshot);
    let record = MeetingRecord {
        origin: cluster.node_id.clone(),
        snapshot,
    };
    serde_json::to_vec(&record).ok().map(Into::into)
}

/// Claims the local meetings not claimed yet and rewrites the held ones' snapshots.
async fn publish_held(cluster: &Arc<Cluster>, state: &Arc<AppState>) {
    for meeting in state.meetings.all() {
        if !records::valid_meeting_id(&meeting.id) {
            continue;
        }
        let Some(value) = record_of(cluster, &meeting) else {
            continue;
        };
        let revision = cluster
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&meeting.id)
            .map(|(r, _)| *r);
        match revision {
            Some(rev) => match cluster.meetings.update(&meeting.id, value, rev).await {
                Ok(new) => {
                    if let Some(h) = cluster
                        .held
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_mut(&meeting.id)
                    {
                        h.0 = new;
                    }
                }
                Err(e)
                    if e.kind()
                        == async_nats::jetstream::kv::UpdateErrorKind::WrongLastRevision =>
                {
                    tracing::warn!(meeting = %meeting.id, "another node took this meeting's authority; no longer serving it");
                    release(cluster, &meeting.id);
                }
                Err(e) => {
                    tracing::warn!(meeting = %meeting.id, "cannot publish the meeting's snapshot: {e}")
                }
            },
            None => {
                // A meeting this node has but nobody holds (new), or one it held before a
                // restart: claim it. One another node holds stays that node's.
                let claimed = match cluster.meetings.entry(&meeting.id).await {
                    Ok(None) => cluster.meetings.create(&meeting.id, value).await.ok(),
                    Ok(Some(e)) => {
                        let mine = serde_json::from_slice::<MeetingRecord>(&e.value)
                            .is_ok_and(|r| r.origin == cluster.node_id);
                        if mine {
                            cluster
                                .meetings
                                .update(&meeting.id, value, e.revision)
                                .await
                                .ok()
                        } else {
                            None
                        }
                    }
                    Err(_) => None,
                };
                if let Some(rev) = claimed {
                    hold(cluster, state, &meeting.id, rev).await;
                }
            }
        }
    }
}

/// Starts serving `meeting`'s action subject as its origin.
async fn hold(cluster: &Arc<Cluster>, state: &Arc<AppState>, meeting: &str, revision: u64) {
    match super::origin::serve(cluster.clone(), state, meeting).await {
        Ok(task) => {
            cluster
                .held
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(meeting.to_owned(), (revision, task));
            cluster.metrics.meetings_held.inc();
            tracing::info!(%meeting, node = %cluster.node_id, "holding the meeting's authority");
        }
        Err(e) => tracing::warn!(%meeting, "cannot serve the meeting's subject: {e}"),
    }
}

/// Stops serving `meeting` (its authority moved).
fn release(cluster: &Cluster, meeting: &str) {
    if let Some((_, task)) = cluster
        .held
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(meeting)
    {
        task.abort();
        cluster.metrics.meetings_held.dec();
    }
}

/// Takes over every running meeting whose origin is not live: compare-and-set on the entry's
/// revision (one node wins), then the meeting is rebuilt from its snapshot here.
async fn take_over_orphans(cluster: &Arc<Cluster>, state: &Arc<AppState>, live: &HashSet<String>) {
    let Ok(mut keys) = cluster.meetings.keys().await else {
        return;
    };
    let mut ids = Vec::new();
    while let Some(Ok(k)) = keys.next().await {
        ids.push(k);
    }
    for id in ids {
        if cluster.holds(&id) || !records::valid_meeting_id(&id) {
            continue;
        }
        let Ok(Some(entry)) = cluster.meetings.entry(&id).await else {
            continue;
        };
        let Ok(mut record) = serde_json::from_slice::<MeetingRecord>(&entry.value) else {
            tracing::warn!(meeting = %id, "unreadable meeting entry in the cluster store");
            continue;
        };
        if !records::orphaned(&record, live) || record.snapshot.id != id {
            continue;
        }
        let dead = std::mem::replace(&mut record.origin, cluster.node_id.clone());
        let Ok(value) = serde_json::to_vec(&record) else {
            continue;
        };
        let Ok(rev) = cluster
            .meetings
            .update(&id, value.into(), entry.revision)
            .await
        else {
            continue; // another node won
        };
        // The sites present when the origin died are recorded as left at its last snapshot.
        let left_ms = record.snapshot.saved_ms;
        let meeting = Meeting::new(State::restore(record.snapshot, left_ms, false), None);
        state.meetings.remove(&id);
        state.meetings.insert(meeting);
        state.metrics.meetings.set(state.meetings.active() as i64);
        cluster.metrics.takeovers.inc();
        tracing::warn!(meeting = %id, from = %dead, "took over the meeting's authority from a node that died");
        hold(cluster, state, &id, rev).await;
    }
}
