//! Meetings survive a restart of the server.
//!
//! Every meeting keeps two files in the data directory: `meetings/<id>.json`, the
//! [`Snapshot`] the meeting is rebuilt from (its expected sites, settings, the chair's rules
//! and the raw roll call), and `attendance/<id>.json`, the exported roll call
//! ([`crate::rollcall`]). Both are written by a background task after each change (bursts
//! coalesce into one write; a temporary file renamed over the old one, so a crash never
//! leaves half a file), and once more, synchronously, when the server stops.
//!
//! At start, [`load_all`] reads every snapshot back. Sites that were present when the server
//! went away are recorded as having left at the restart; when their pages reconnect (they do
//! so by themselves) the roll call counts a reconnect, not a new site. A screen being
//! presented is not restored: the presenter's page shares it again.
//!
//! Without a configured token secret, the one generated at first start is kept in
//! `token_secret` (mode 0600), so invitation links stay valid across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::watch;

use crate::meeting::ExpectedSite;
use crate::moderation::Moderation;
use crate::rollcall::{Attendance, RollCall};

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
}

/// Where a meeting's snapshot is kept.
pub fn snapshot_file(data_dir: &Path, meeting_id: &str) -> PathBuf {
    data_dir.join("meetings").join(format!("{meeting_id}.json"))
}

/// The files one meeting keeps up to date.
#[derive(Debug)]
pub struct MeetingStore {
    snapshot_path: PathBuf,
    attendance_path: PathBuf,
    snapshot: watch::Sender<Option<Arc<Snapshot>>>,
    attendance: watch::Sender<Option<Arc<Attendance>>>,
}

impl MeetingStore {
    /// Starts the writers of meeting `id` under `data_dir`. Needs a Tokio runtime.
    pub fn open(data_dir: &Path, id: &str) -> Self {
        let snapshot_path = snapshot_file(data_dir, id);
        let attendance_path = crate::rollcall::file_for(data_dir, id);
        MeetingStore {
            snapshot: spawn_writer(snapshot_path.clone(), "meeting snapshot"),
            attendance: spawn_writer(attendance_path.clone(), "roll call"),
            snapshot_path,
            attendance_path,
        }
    }

    /// Queues both records for writing.
    pub fn save(&self, snapshot: Snapshot, attendance: Attendance) {
        self.snapshot.send_replace(Some(Arc::new(snapshot)));
        self.attendance.send_replace(Some(Arc::new(attendance)));
    }

    /// Writes both records now (at shutdown, when the writer tasks may not run again).
    pub fn save_now(&self, snapshot: &Snapshot, attendance: &Attendance) -> std::io::Result<()> {
        write_atomic(&self.snapshot_path, snapshot)?;
        write_atomic(&self.attendance_path, attendance)
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

/// Starts a task that writes the newest value sent on the returned channel to `path`.
/// Bursts of changes coalesce into one write. The task ends when the sender is dropped.
pub fn spawn_writer<T>(path: PathBuf, what: &'static str) -> watch::Sender<Option<Arc<T>>>
where
    T: Serialize + Send + Sync + 'static,
{
    let (tx, mut rx) = watch::channel::<Option<Arc<T>>>(None);
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let Some(value) = rx.borrow_and_update().clone() else {
                continue;
            };
            let target = path.clone();
            let written = tokio::task::spawn_blocking(move || write_atomic(&target, &*value)).await;
            if let Ok(Err(e)) = written {
                tracing::error!("cannot write {what} to {}: {e}", path.display());
            }
        }
    });
    tx
}

/// Writes `value` as JSON to a temporary file and renames it over `path`.
pub fn write_atomic<T: Serialize + ?Sized>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}

/// Reads a JSON file written by [`write_atomic`].
pub fn read<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
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
        }
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
