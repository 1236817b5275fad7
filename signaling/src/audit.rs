//! The audit log: every action of a chair, co-chair, operator or admin on a meeting, with
//! its time, actor, target and result, one JSON line each in `audit/<meeting>.jsonl` under
//! the data directory (see [`crate::jsonl`]: append-only, flushed before the action is
//! answered, a line torn by a crash skipped on reading).
//!
//! What is audited is decided in one place for every WebSocket command, [`subject`], which
//! matches every [`Command`] and every [`Action`] without a catch-all: a new chair or
//! operator command does not compile until it says whether and how it is audited. The admin
//! API's handlers (create, edit, end, delete, link reissue, downloads) call [`record`]
//! themselves, before they answer.
//!
//! When is a line "before the acknowledgement": a socket's messages are written by its own
//! session task, and that task appends the line before it goes back to writing, so the actor
//! never sees the outcome of an action whose line a crash could lose; the admin API appends
//! before it returns its response. A failed write is logged and counted
//! (`diemcau_errors_total{code="audit_write"}`) but does not undo the action, which already
//! happened.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dispatch::Command;
use crate::moderation::Action;
use crate::protocol::Role;
use crate::state::AppState;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    /// `chair`, `co_chair`, `operator`, `site` (a site acting on another, refused) or `admin`.
    pub role: String,
    /// The acting site's id; none for the admin.
    pub site_id: Option<String>,
    /// The acting site's name; none for the admin.
    pub name: Option<String>,
}

impl Actor {
    /// The admin (the API key).
    pub fn admin() -> Self {
        Actor {
            role: "admin".into(),
            site_id: None,
            name: None,
        }
    }

    /// A site of the meeting with `role`, holding the co-chair right or not.
    pub fn site(id: &str, name: &str, role: Role, cochair: bool) -> Self {
        let role = match role {
            Role::Site if cochair => "co_chair",
            r => r.as_str(),
        };
        Actor {
            role: role.into(),
            site_id: Some(id.into()),
            name: Some(name.into()),
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// When, Unix milliseconds.
    pub at_ms: u64,
    /// When, local time of Hà Nội (`2026-12-07 18:40:05 +07:00`).
    pub at: String,
    /// Who.
    pub actor: Actor,
    /// What (`grant_floor`, `mute`, `unmute`, `remove_site`, `link_revoke`,
    /// `download_attendance`...).
    pub action: String,
    /// On which site, if on one.
    pub target: Option<String>,
    /// `ok`, or the error code it was refused with.
    pub result: String,
}

/// The audit log of a meeting as exported.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLog {
    /// Meeting id.
    pub meeting_id: String,
    /// Every line, oldest first.
    pub entries: Vec<Entry>,
    /// Lines that did not parse (cut by a crash) and were left out.
    pub skipped_lines: usize,
}

/// The action and target a WebSocket command is audited as; `None` for what is not a chair's,
/// co-chair's or operator's action (joining, media, chat, one's own hand, the chair's own
/// grid paging, which is a view and would flood the log). `actor` is the sending site.
pub fn subject(command: &Command, actor: &str) -> Option<(&'static str, Option<String>)> {
    let on = |name, site: &String| Some((name, Some(site.clone())));
    match command {
        Command::Moderate(action) => match action {
            Action::RaiseHand | Action::LowerHand(None) | Action::Present(_) => None,
            Action::LowerHand(Some(s)) if s == actor => None,
            Action::LowerHand(Some(s)) => on("lower_hand", s),
            Action::Grant(s) => on("grant_floor", s),
            Action::Revoke(s) => on("revoke_floor", s),
            Action::Mute(s, true) => on("mute", s),
            Action::Mute(s, false) => on("unmute", s),
            Action::StopVideo(s, true) => on("stop_video", s),
            Action::StopVideo(s, false) => on("allow_video", s),
            Action::Spotlight(Some(s)) => on("spotlight", s),
            Action::Spotlight(None) => Some(("spotlight_clear", None)),
            Action::Listen(s, true) => on("listen_on", s),
            Action::Listen(s, false) => on("listen_off", s),
            Action::Remove(s) => on("remove_site", s),
            Action::Readmit(s) => on("readmit_site", s),
            Action::Lock(true) => Some(("lock", None)),
            Action::Lock(false) => Some(("unlock", None)),
            Action::Open => Some(("open_meeting", None)),
            Action::End => Some(("end_meeting", None)),
            Action::Cochair(s, true) => on("cochair_grant", s),
            Action::Cochair(s, false) => on("cochair_revoke", s),
        },
        Command::ReissueLink(s) => on("link_revoke", s),
        Command::Record(true) => Some(("recording_start", None)),
        Command::Record(false) => Some(("recording_stop", None)),
        Command::Notice { site_id, .. } => on("notice", site_id),
        Command::Reconnect(s) => on("reconnect", s),
        Command::ForceAudioOnly { site_id, on: true } => on("audio_only_on", site_id),
        Command::ForceAudioOnly { site_id, on: false } => on("audio_only_off", site_id),
        Command::Grid { .. }
        | Command::Ping(_)
        | Command::Join { .. }
        | Command::Leave
        | Command::Offer(_)
        | Command::Candidate(_)
        | Command::MediaState { .. }
        | Command::Chat { .. }
        | Command::Check(_)
        | Command::CheckResult(_)
        | Command::ClientInfo { .. } => None,
    }
}

/// Where the audit log of `meeting_id` is kept.
pub fn file_for(data_dir: &Path, meeting_id: &str) -> PathBuf {
    data_dir.join("audit").join(format!("{meeting_id}.jsonl"))
}

/// Appends one line to the log of `meeting_id`, on disk before it returns (nothing without a
/// data directory). `result` is `ok` or an error code. The flush runs off the async workers.
pub async fn record(
    state: &AppState,
    meeting_id: &str,
    actor: Actor,
    action: &str,
    target: Option<String>,
    result: &str,
) {
    let Some(dir) = state.settings.data_dir.clone() else {
        return;
    };
    let entry = entry(actor, action, target, result);
    let path = file_for(&dir, meeting_id);
    let written = tokio::task::spawn_blocking(move || crate::jsonl::append(&path, &entry)).await;
    if !matches!(written, Ok(Ok(()))) {
        failed(state, meeting_id, action);
    }
}

/// [`record`] for code that is not async (creating a meeting, which flushes its files too).
pub fn record_now(
    state: &AppState,
    meeting_id: &str,
    actor: Actor,
    action: &str,
    target: Option<String>,
    result: &str,
) {
    let Some(dir) = &state.settings.data_dir else {
        return;
    };
    let entry = entry(actor, action, target, result);
    if crate::jsonl::append(&file_for(dir, meeting_id), &entry).is_err() {
        failed(state, meeting_id, action);
    }
}

fn entry(actor: Actor, action: &str, target: Option<String>, result: &str) -> Entry {
    let at_ms = crate::token::unix_now_ms();
    Entry {
        at_ms,
        at: crate::vntime::stamp(at_ms),
        actor,
        action: action.into(),
        target,
        result: result.into(),
    }
}

fn failed(state: &AppState, meeting_id: &str, action: &str) {
    tracing::error!(meeting = %meeting_id, action, "cannot append to the audit log");
    state
        .metrics
        .errors
        .with_label_values(&["audit_write"])
        .inc();
}

/// The log of `meeting_id` as kept on disk (empty without a data directory or any line).
pub fn read(data_dir: Option<&Path>, meeting_id: &str) -> AuditLog {
    let (entries, skipped_lines) = match data_dir {
        Some(dir) => crate::jsonl::read(&file_for(dir, meeting_id), "audit log"),
        None => (Vec::new(), 0),
    };
    AuditLog {
        meeting_id: meeting_id.into(),
        entries,
        skipped_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chair_decisions_are_audited_with_their_target_and_own_hands_are_not() {
        let grant = Command::Moderate(Action::Grant("s1".into()));
        assert_eq!(
            subject(&grant, "chair"),
            Some(("grant_floor", Some("s1".into())))
        );
        let mute = Command::Moderate(Action::Mute("s2".into(), false));
        assert_eq!(subject(&mute, "chair"), Some(("unmute", Some("s2".into()))));
        let own = Command::Moderate(Action::LowerHand(Some("s1".into())));
        assert_eq!(subject(&own, "s1"), None);
        assert_eq!(
            subject(&own, "chair"),
            Some(("lower_hand", Some("s1".into())))
        );
        assert_eq!(subject(&Command::Moderate(Action::RaiseHand), "s1"), None);
        let page = Command::Grid {
            page: 1,
            page_size: None,
        };
        assert_eq!(subject(&page, "chair"), None);
    }

    #[test]
    fn a_co_chair_is_named_as_such() {
        let a = Actor::site("s3", "Xã C", Role::Site, true);
        assert_eq!(a.role, "co_chair");
        assert_eq!(
            Actor::site("op", "Kỹ thuật", Role::Operator, false).role,
            "operator"
        );
    }
}
