//! Recording the program: whether the meeting is recorded (started and stopped by the chair,
//! a co-chair or the admin), and which media connections are recorded now.
//!
//! What is recorded is the program: the chair, every floor holder, the presenter and the
//! hall's WHIP feeds. The set is worked out again after every input ([`follow`], called by
//! [`State::apply`]), so it follows the floor as it moves, a chair that reconnects on a new
//! connection, a holder that leaves, and the meeting's end (nobody is connected then, so
//! every file is closed). Only the changes go out, as [`Effect::Record`]; the executor starts
//! and stops the SFU's recorder for each connection.

use std::collections::BTreeMap;

use sfu::PeerId;

use crate::protocol::{ErrorCode, Refusal, Role, ServerMessage};

use super::ingest::IngestRole;
use super::{Effect, Input, State};

/// The meeting is recorded since `since_ms` (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct On {
    /// When it started.
    pub since_ms: u64,
}

/// The state message of a recording that runs (`on`) or is off.
pub fn message(on: Option<On>, reason: Option<&str>) -> ServerMessage {
    ServerMessage::Recording {
        on: on.is_some(),
        since_ms: on.map(|o| o.since_ms),
        reason: reason.map(str::to_owned),
        warning: None,
    }
}

/// Start recording (the chair, a co-chair or the admin: the caller checked who).
#[derive(Debug, Clone, Copy)]
pub struct Start;

impl Input for Start {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        if !st.kept {
            return Err(Refusal::new(
                ErrorCode::RecordingUnavailable,
                "this server keeps no files (no data directory): it cannot record",
            ));
        }
        if st.is_ended() {
            return Err(Refusal::new(
                ErrorCode::RecordingUnavailable,
                "the meeting has ended: there is nothing to record",
            ));
        }
        if st.recording.is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyRecording,
                "the meeting is being recorded already",
            ));
        }
        let on = On { since_ms: now_ms };
        st.recording = Some(on);
        st.broadcast(&message(Some(on), None));
        Ok(())
    }
}

/// Stop recording: by the chair, a co-chair or the admin (`stopped`), or because the
/// recorder hit the quota (`quota_reached`) or could not write (`failed`).
#[derive(Debug, Clone, Copy)]
pub struct Stop {
    /// Why, on the wire (`stopped`, `quota_reached`, `failed`).
    pub reason: &'static str,
}

impl Input for Stop {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        if st.recording.take().is_none() {
            return Err(Refusal::new(
                ErrorCode::NotRecording,
                "the meeting is not being recorded",
            ));
        }
        st.broadcast(&message(None, Some(self.reason)));
        Ok(())
    }
}

/// The recordings passed 90 % of the meeting's quota: the chair, co-chairs and operators
/// are told while there is still room.
#[derive(Debug, Clone, Copy)]
pub struct QuotaWarning;

impl Input for QuotaWarning {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        let Some(on) = st.recording else {
            return Ok(());
        };
        let warn = ServerMessage::Recording {
            on: true,
            since_ms: Some(on.since_ms),
            reason: None,
            warning: Some("quota".into()),
        };
        st.send_where(&warn, State::is_watcher);
        Ok(())
    }
}

impl State {
    /// Whether the meeting is recorded now, and since when.
    pub fn recording(&self) -> Option<On> {
        self.recording
    }

    /// The connections the program consists of now, each with the label its files are
    /// named by (the site's id; `feed-<role>` for a WHIP feed). Only connections whose offer
    /// was accepted: the others publish nothing yet.
    pub fn program_peers(&self) -> BTreeMap<PeerId, String> {
        let mut out = BTreeMap::new();
        let rules = &self.rules;
        for (id, m) in &self.members {
            if m.layout.is_none() {
                continue;
            }
            let chair = self.site(id).is_some_and(|s| s.role == Role::Chair);
            let on_program = chair
                || rules.holders.contains(id)
                || rules.presenter.as_deref() == Some(id.as_str());
            if on_program {
                out.insert(m.peer, id.clone());
            }
        }
        for (role, ingest) in &self.equipment.ingests {
            let label = match role {
                IngestRole::ChairCamera => "feed-chair",
                IngestRole::Presentation => "feed-presentation",
            };
            out.insert(ingest.peer, label.to_owned());
        }
        out
    }
}

/// After an input: if what should be recorded changed, the connections that leave the
/// program stop and those that join it start. An ended meeting records nothing more.
pub(super) fn follow(st: &mut State) {
    if st.is_ended() && st.recording.is_some() {
        st.recording = None;
        st.broadcast(&message(None, Some("ended")));
    }
    let wanted = match st.recording {
        Some(_) => st.program_peers(),
        None => BTreeMap::new(),
    };
    if wanted == st.recorded {
        return;
    }
    let stops: Vec<PeerId> = st
        .recorded
        .iter()
        .filter(|(peer, label)| wanted.get(*peer) != Some(*label))
        .map(|(peer, _)| *peer)
        .collect();
    for peer in stops {
        st.effects.push(Effect::Record { peer, label: None });
    }
    for (peer, label) in &wanted {
        if st.recorded.get(peer) != Some(label) {
            st.effects.push(Effect::Record {
                peer: *peer,
                label: Some(label.clone()),
            });
        }
    }
    st.recorded = wanted;
}
