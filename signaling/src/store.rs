//! Meetings survive a restart of the server.
//!
//! Every meeting keeps two files in the data directory: `meetings/<id>.json`, the
//! [`Snapshot`] the meeting is rebuilt from (its expected sites, settings, the chair's rules
//! and the raw roll call), and `attendance/<id>.json`, the exported roll call
//! ([`crate::rollcall`]). Both are [`DurableFile`]s: written by a background task after each
//! change of the chair's rules or the roll call, and before the answer for what the admin API
//! acknowledges (a created meeting, a reissued link, an ended meeting), and once more when the
//! server stops. A `201` therefore means the meeting and its links survive a crash.
//!
//! While it runs, the server writes `last_seen` every [`LAST_SEEN_INTERVAL`]: the last
//! moment it was known alive (one small file for the whole node, so the write rate is bounded
//! whatever the number of meetings).
//!
//! At start, [`load_all`] reads every snapshot back. Sites that were present when the server
//! went away are recorded as having left at the last moment they were seen: the last
//! `last_seen` before a crash (see [`crash_leave_ms`]), so downtime never counts as presence;
//! when their pages reconnect (they do so by themselves) the roll call counts a reconnect,
//! not a new site. A screen being presented is not restored: the presenter's page shares it
//! again.
//!
//! Without a configured token secret, the one generated at first start is kept in
//! `token_secret` (mode 0600), so invitation links stay valid across restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::durable::{read, write_atomic, DurableFile, Flushed};

use crate::moderation::Moderation;
use crate::rollcall::{Attendance, RollCall};
use crate::site::ExpectedSite;

/// Format version of [`Snapshot`]; a file of another version is not loaded.
pub const SNAPSHOT_VERSION: u32 = 1;

/// What a meeting is rebuilt from after a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// Meeting id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Token expiry, Unix seconds.
    pub expires_at: u64,
    /// Most floor holders at once.
    pub floor_limit: u16,
    /// Tiles on the hall's grid page.
    pub grid_slots: u16,
    /// Expected sites in roster order.
    pub sites: Vec<ExpectedSite>,
    /// The chair's rules: phase, lock, floor, hands, mutes, removals, co-chairs.
    pub rules: Moderation,
    /// Every stay of every site, with link quality sums.
    pub rollcall: RollCall,
    /// The hall's grid page and its size.
    pub grid_page: u32,
    /// Tiles per grid page.
    pub grid_page_size: u16,
    /// Sites the operators switched to audio only.
    pub audio_only: Vec<String>,
    /// When this snapshot was taken, Unix milliseconds.
    pub saved_ms: u64,
    /// The one valid link of each site, by token id (`jti`); a site missing here (a meeting
    /// saved before links were tracked) accepts any link signed for it.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// When the meeting was ended, Unix milliseconds (for the retention period).
    #[serde(default)]
    pub ended_ms: Option<u64>,
    /// Who held the floor when (for the minutes).
    #[serde(default)]
    pub floor_log: Vec<crate::meeting::floorlog::Span>,
}

/// How often the running server writes `last_seen`: after a crash, a site's leave is
/// recorded at most this long after the moment it was last seen.
pub const LAST_SEEN_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Serialize, Deserialize)]
struct LastSeen {
    alive_ms: u64,
}

fn last_seen_file(data_dir: &Path) -> PathBuf {
    data_dir.join("last_seen.json")
}

/// Records that the server is alive at `now_ms`.
pub fn write_last_seen(data_dir: &Path, now_ms: u64) -> std::io::Result<()> {
    write_atomic(&last_seen_file(data_dir), &LastSeen { alive_ms: now_ms })
}

/// The last moment the previous run of the server was known alive.
pub fn read_last_seen(data_dir: &Path) -> Option<u64> {
    read::<LastSeen>(&last_seen_file(data_dir)).map(|l| l.alive_ms)
}

/// When sites present in a snapshot left, restarting at `now_ms`: the last moment the server
/// was seen alive (`last_seen`, or the snapshot itself if it is newer), never later than now.
/// Without a `last_seen` (a data directory of an older version) it is not known: now.
pub fn crash_leave_ms(last_seen: Option<u64>, saved_ms: u64, now_ms: u64) -> u64 {
    last_seen.map_or(now_ms, |seen| seen.max(saved_ms).min(now_ms))
}

/// Where a meeting's snapshot is kept.
pub fn snapshot_file(data_dir: &Path, meeting_id: &str) -> PathBuf {
    data_dir.join("meetings").join(format!("{meeting_id}.json"))
}

/// The files one meeting keeps up to date.
#[derive(Debug)]
pub struct MeetingStore {
    snapshot: DurableFile<Snapshot>,
    attendance: DurableFile<Attendance>,
    /// The chat history, appended line by line ([`crate::meeting::chat`]).
    chat: PathBuf,
}

impl MeetingStore {
    /// Starts the writers of meeting `id` under `data_dir`. Needs a Tokio runtime.
    pub fn open(data_dir: &Path, id: &str) -> Self {
        MeetingStore {
            snapshot: DurableFile::open(snapshot_file(data_dir, id), "meeting snapshot"),
            attendance: DurableFile::open(crate::rollcall::file_for(data_dir, id), "roll call"),
            chat: crate::meeting::chat::file_for(data_dir, id),
        }
    }

    /// The chat history's file.
    pub fn chat_file(&self) -> &Path {
        &self.chat
    }

    /// Queues both records for writing.
    pub fn save(&self, snapshot: Snapshot, attendance: Attendance) {
        self.snapshot.queue(snapshot);
        self.attendance.queue(attendance);
    }

    /// Queues both records: the answer completes once both are on the disk (a group commit,
    /// see [`crate::durable::Flushed`]).
    pub fn save_flushed(&self, snapshot: Snapshot, attendance: Attendance) -> Flushed {
        let snapshot = self.snapshot.queue_flushed(snapshot);
        snapshot.and(self.attendance.queue_flushed(attendance))
    }

    /// Deletes the snapshot for good (the meeting is not restored again); the roll call stays.
    pub fn remove_snapshot(&self) -> std::io::Result<()> {
        self.snapshot.remove()
    }

    /// Writes both records durably before returning: for changes acknowledged to someone,
    /// and at shutdown, when the writer tasks may not run again.
    pub fn save_now(&self, snapshot: Snapshot, attendance: Attendance) -> std::io::Result<()> {
        self.snapshot.write_now(snapshot)?;
        self.attendance.write_now(attendance)
    }
}

/// Reads every meeting snapshot under `data_dir` whose tokens are still valid at
/// `now_s` (Unix seconds). Unreadable files are reported and skipped; expired ones are
/// deleted (their roll call stays in `attendance/`).
pub fn load_all(data_dir: &Path, now_s: u64) -> Vec<Snapshot> {
    let dir = data_dir.join("meetings");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<Snapshot>(&bytes).map_err(|e| e.to_string())
            });
        match parsed {
            Ok(s) if s.version != SNAPSHOT_VERSION => {
                tracing::warn!(file = %path.display(), version = s.version, "meeting snapshot of another version: not restored");
            }
            Ok(s) if s.expires_at <= now_s => {
                tracing::info!(meeting = %s.id, "meeting expired while the server was down: not restored");
                let _ = std::fs::remove_file(&path);
            }
            Ok(s) => out.push(s),
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot read meeting snapshot, not restored: {e}")
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The token signing secret kept in `data_dir/token_secret`, created (random, mode 0600)
/// if missing.
pub fn token_secret(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("token_secret");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds fewer than 32 characters", path.display()),
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;

    fn snapshot(id: &str, expires_at: u64) -> Snapshot {
        Snapshot {
            version: SNAPSHOT_VERSION,
            id: id.into(),
            title: "Giao ban".into(),
            expires_at,
            floor_limit: 2,
            grid_slots: 16,
            sites: vec![ExpectedSite {
                id: "chair".into(),
                name: "Hội trường".into(),
                role: Role::Chair,
            }],
            rules: Moderation::new(2),
            rollcall: RollCall::new(),
            grid_page: 0,
            grid_page_size: 16,
            audio_only: Vec::new(),
            saved_ms: 1,
            links: BTreeMap::new(),
            ended_ms: None,
            floor_log: Vec::new(),
        }
    }

    #[test]
    fn after_a_crash_sites_leave_when_the_server_was_last_seen_not_at_the_restart() {
        assert_eq!(crash_leave_ms(Some(10_000), 4_000, 30_000), 10_000);
        assert_eq!(crash_leave_ms(Some(10_000), 12_000, 30_000), 12_000);
        assert_eq!(
            crash_leave_ms(Some(40_000), 4_000, 30_000),
            30_000,
            "a clock step back"
        );
        assert_eq!(crash_leave_ms(None, 4_000, 30_000), 30_000);
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("diemcau-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn load_all_restores_valid_meetings_and_drops_expired_and_broken_ones() {
        let dir = temp_dir("load");
        write_atomic(&snapshot_file(&dir, "m-live"), &snapshot("m-live", 2_000)).unwrap();
        write_atomic(&snapshot_file(&dir, "m-old"), &snapshot("m-old", 1_000)).unwrap();
        std::fs::write(
            snapshot_file(&dir, "m-broken"),
            b"{\"version\": 1, \"id\": ",
        )
        .unwrap();
        let mut other = snapshot("m-future", 2_000);
        other.version = SNAPSHOT_VERSION + 1;
        write_atomic(&snapshot_file(&dir, "m-future"), &other).unwrap();

        let loaded = load_all(&dir, 1_500);
        let ids: Vec<&str> = loaded.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["m-live"]);
        assert!(
            !snapshot_file(&dir, "m-old").exists(),
            "an expired meeting's snapshot is deleted"
        );
        assert!(
            snapshot_file(&dir, "m-broken").exists(),
            "a broken file is left for a human to look at"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn token_secret_is_created_once_private_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("secret");
        let first = token_secret(&dir).unwrap();
        assert!(first.len() >= 32);
        let mode = std::fs::metadata(dir.join("token_secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            token_secret(&dir).unwrap(),
            first,
            "the second start reads the same secret"
        );
        std::fs::write(dir.join("token_secret"), "short").unwrap();
        assert!(
            token_secret(&dir).is_err(),
            "a too-short secret is refused, not used"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
