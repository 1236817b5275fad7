//! The node's recorder: the SFU's recorder thread (`sfu::record::Recorder`, one per node,
//! started with the node when it has a data directory), what the meetings' effects ask of
//! it (start or stop one connection), and what it reports back (quota, failure) turned into
//! inputs of the meeting concerned.

use std::sync::Arc;

use sfu::record::{Quota, RecEvent, Recorder};
use sfu::PeerId;

use crate::meeting::recording::{QuotaWarning, Stop};
use crate::state::AppState;

/// Bytes one meeting's recordings may take on disk. At the VP8 and Opus rates browsers
/// send (~1.5 Mbit/s camera, ~40 kbit/s audio), 20 GiB hold ~25 hours of one program track
/// pair: a quota that stops a runaway recording, not a working meeting.
pub const QUOTA_BYTES: u64 = 20 * 1024 * 1024 * 1024;

/// The recorder of a node with a data directory; none without (nothing can be written).
/// Its reports go to [`on_event`] while the state lives.
pub fn spawn(state: &Arc<AppState>) -> std::io::Result<()> {
    if state.settings.data_dir.is_none() {
        return Ok(());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = Recorder::spawn(sfu::record::QUEUE_PACKETS, tx)?;
    // Set once, here, before any meeting can record.
    let _ = state.recorder.set(recorder);
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        while let Some(ev) = rx.recv().await {
            let Some(state) = weak.upgrade() else { break };
            on_event(&state, ev);
        }
    });
    Ok(())
}

/// A recorder report reaches its meeting: a reached quota or a failed write stops the
/// recording (everyone is told why); the 90 % mark warns the chair and the operators.
fn on_event(state: &AppState, ev: RecEvent) {
    let (meeting, stop) = match &ev {
        RecEvent::QuotaWarning { meeting, .. } => (meeting, None),
        RecEvent::QuotaReached { meeting, .. } => (meeting, Some("quota_reached")),
        RecEvent::Failed { meeting, .. } => (meeting, Some("failed")),
    };
    tracing::warn!(%meeting, event = ?ev, "recorder report");
    let Some(m) = state.meetings.get(meeting) else {
        return;
    };
    let _ = match stop {
        Some(reason) => m.apply(Stop { reason }, state),
        None => m.apply(QuotaWarning, state),
    };
}

/// Starts (`Some(label)`) or stops recording `peer` of `meeting`: the recorder opens or
/// closes its files, the media thread starts or stops copying its packets. Starting hands
/// the recorder its files first (its orders are read before its packets); stopping stops
/// the copies first, then the recorder closes the files after what was queued.
pub fn record(state: &AppState, meeting: &str, peer: PeerId, label: Option<String>) {
    let Some(rec) = state.recorder.get() else {
        return;
    };
    let Some(label) = label else {
        state.sfu.set_recording(peer, None);
        rec.stop(peer);
        return;
    };
    let Some(data) = state.settings.data_dir.as_deref() else {
        return;
    };
    let dir = super::meeting_dir(data, meeting);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        tracing::error!(%meeting, "cannot make the recording folder: {e}");
        return;
    }
    let quota = Quota {
        limit: QUOTA_BYTES,
        used: super::usage(&dir),
    };
    tracing::info!(%meeting, %peer, %label, "recording starts");
    rec.start(peer, meeting, dir, &label, quota);
    state.sfu.set_recording(peer, Some(rec.tap()));
}
