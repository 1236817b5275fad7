//! What the cluster keeps in NATS and sends between nodes, and the pure decisions on it
//! (no I/O): the KV records, the envelopes of a tunneled session, the subject names, what a
//! name from another node may contain, and when a meeting's authority is orphaned.
//!
//! Everything here comes from another node and is untrusted: envelopes are parsed with
//! unknown fields refused, names are checked before they go into a subject.

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::store::Snapshot;

/// Longest node name: it goes into subjects and KV keys.
pub const MAX_NODE_ID: usize = 32;

/// Longest meeting id accepted in a subject.
pub const MAX_MEETING_ID: usize = 64;

/// KV bucket: meeting id → [`MeetingRecord`].
pub const MEETINGS_BUCKET: &str = "meetings";
/// KV bucket: node id → [`NodeRecord`], with a TTL ([`NODE_TTL`]): a node that stops
/// beating disappears from it.
pub const NODES_BUCKET: &str = "nodes";
/// KV bucket: site → node (placement).
pub const PLACEMENT_BUCKET: &str = "placement";

/// How long a node's entry lives without a heartbeat: its death is seen after this.
pub const NODE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// How often a node beats, publishes its meetings' snapshots and looks for orphans.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `id` may be a node's name: 1 to [`MAX_NODE_ID`] ASCII letters, digits, `-`, `_`
/// (a NATS subject token and a KV key; no `.`, `*`, `>` or space).
pub fn valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NODE_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `id` may be put in a subject as a meeting id (same alphabet, longer).
pub fn valid_meeting_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_MEETING_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Subject of a meeting's actions: each frame of a tunneled session, request/reply to the
/// origin (the reply is the origin's acknowledgement; no reply = no authority).
pub fn action_subject(meeting: &str) -> String {
    format!("diemcau.meeting.{meeting}.action")
}

/// Subject on which the origin sends one tunneled session what it says (its effects on that
/// session's queue).
pub fn effects_subject(meeting: &str, tunnel: &str) -> String {
    format!("diemcau.meeting.{meeting}.effects.{tunnel}")
}

/// A tunnel's name: the hosting node, `-`, a number (unique on that node).
pub fn tunnel_id(node: &str, n: u64) -> String {
    format!("{node}-{n}")
}

/// Whether `tunnel` is a tunnel name of `node` (as [`tunnel_id`] makes them): another node
/// may only speak for its own tunnels.
pub fn tunnel_of(tunnel: &str, node: &str) -> bool {
    tunnel
        .strip_prefix(node)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|n| !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A node's entry in [`NODES_BUCKET`], rewritten every [`TICK`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRecord {
    /// Where its sites open the web client (`public_url`).
    pub url: String,
    /// The province or region it serves.
    pub region: String,
    /// Sites connected to it now (its load).
    pub sites: u64,
    /// When it wrote this, Unix ms.
    pub seen_ms: u64,
}

/// A meeting's entry in [`MEETINGS_BUCKET`]: who holds its authority, and what another node
/// rebuilds it from if that node dies. Changed only by compare-and-set on its revision.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingRecord {
    /// The origin node's name.
    pub origin: String,
    /// The meeting as of the origin's last tick.
    pub snapshot: Snapshot,
}

/// One frame of a tunneled session, from the hosting node to the origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Up {
    /// The tunnel ([`tunnel_id`]).
    pub tunnel: String,
    /// The hosting node (the tunnel must be its own).
    pub node: String,
    /// The browser's address as the hosting node saw it (join rate per address).
    #[serde(default)]
    pub client: Option<IpAddr>,
    /// The browser's text frame; `None`: its socket closed (the site may resume).
    #[serde(default)]
    pub frame: Option<String>,
    /// The hosting node's relay URL when it carries the site's media itself
    /// (`cluster::media`); `None`: the origin's SFU does.
    #[serde(default)]
    pub relay: Option<String>,
}

/// What the origin sends a tunnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Down {
    /// A message for the browser; `None`: the session ended, close the socket.
    #[serde(default)]
    pub text: Option<String>,
}

/// The origin's reply to an [`Up`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// Taken; otherwise `error` says why (no internals).
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub error: Option<String>,
}

/// Whether `record`'s authority is orphaned: its origin is not among the `live` nodes and
/// the meeting has not ended (an ended meeting is left to its retention).
pub fn orphaned(record: &MeetingRecord, live: &HashSet<String>) -> bool {
    !live.contains(&record.origin) && record.snapshot.ended_ms.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_that_would_break_a_subject_are_refused() {
        assert!(valid_node_id("hanoi-1"));
        assert!(valid_node_id("N_2"));
        for bad in ["", "a.b", "a*", "a>", "a b", "á", &"x".repeat(33)] {
            assert!(!valid_node_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_node_speaks_only_for_its_own_tunnels() {
        assert!(tunnel_of(&tunnel_id("b", 17), "b"));
        assert!(!tunnel_of("b-17", "bb"));
        assert!(!tunnel_of("bb-17", "b"));
        assert!(!tunnel_of("b-", "b"));
        assert!(!tunnel_of("b-1x", "b"));
        assert!(!tunnel_of("b", "b"));
    }

    #[test]
    fn an_envelope_with_unknown_fields_is_refused() {
        let ok = r#"{"tunnel":"b-1","node":"b","frame":"{}"}"#;
        assert!(serde_json::from_str::<Up>(ok).is_ok());
        let extra = r#"{"tunnel":"b-1","node":"b","frame":"{}","session":5}"#;
        assert!(serde_json::from_str::<Up>(extra).is_err());
        let closed: Up = serde_json::from_str(r#"{"tunnel":"b-1","node":"b"}"#).unwrap();
        assert_eq!(closed.frame, None);
    }

    fn record(origin: &str, ended: Option<u64>) -> MeetingRecord {
        let mut snapshot: Snapshot = serde_json::from_value(serde_json::json!({
            "version": 1, "id": "m", "title": "t", "expires_at": 1, "floor_limit": 1,
            "grid_slots": 1, "sites": [], "rules": crate::moderation::Moderation::new(1),
            "rollcall": crate::rollcall::RollCall::default(), "grid_page": 0,
            "grid_page_size": 1, "audio_only": [], "saved_ms": 0
        }))
        .unwrap();
        snapshot.ended_ms = ended;
        MeetingRecord {
            origin: origin.into(),
            snapshot,
        }
    }

    #[test]
    fn a_meeting_is_orphaned_only_when_its_origin_is_gone_and_it_runs() {
        let live: HashSet<String> = ["a".to_owned(), "b".to_owned()].into();
        assert!(!orphaned(&record("a", None), &live));
        assert!(orphaned(&record("c", None), &live));
        assert!(!orphaned(&record("c", Some(5)), &live));
    }
}
