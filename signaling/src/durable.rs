//! Files that survive a crash: what was acknowledged is on the disk before the answer.
//!
//! [`write_atomic`] writes a temporary file, flushes it to the disk, renames it over the old
//! one and flushes the folder, so after a crash (kill -9, power loss) the file is either the
//! old one or the new one, never half of each, and a rename that was acknowledged is not
//! undone. [`DurableFile`] keeps one such file up to date: changes queued by
//! [`DurableFile::queue`] are written by a background task (bursts coalesce into one write);
//! [`DurableFile::write_now`] writes before it returns, for changes that are acknowledged to
//! someone (a created meeting, a revoked link). Both go through one lock and always write the
//! newest value, so a late background write never puts an older value back.
//!
//! Between the two, [`DurableFile::queue_flushed`] queues a value and hands back a
//! [`Flushed`] that completes once that value (or a newer one) is on the disk: a group
//! commit. A meeting's socket answers wait for it (see [`crate::outbox::Outbound::Wait`]), so
//! a chair's lock is on the disk before anyone hears of it, yet 400 sites raising their hands
//! at once cost a handful of writes, not 400 flushes on the runtime's threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{de::DeserializeOwned, Serialize};
use tokio::sync::watch;

/// Writes `value` as JSON to `path` durably (see the module docs).
pub fn write_atomic<T: Serialize + ?Sized>(path: &Path, value: &T) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename is a change of the folder: it is durable once the folder is flushed.
    std::fs::File::open(dir)?.sync_all()
}

/// Reads a JSON file written by [`write_atomic`].
pub fn read<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// One file kept up to date with the newest value (see the module docs).
#[derive(Debug)]
pub struct DurableFile<T> {
    path: PathBuf,
    /// The newest value and its number (numbers only grow).
    latest: watch::Sender<Option<(u64, Arc<T>)>>,
    /// The number of the newest value written (or whose write failed and was logged).
    flushed: Arc<watch::Sender<u64>>,
    /// Held while the file is written, by the background task and by `write_now`; true once
    /// the file was removed, after which nothing writes it again.
    writing: Arc<Mutex<bool>>,
}

impl<T: Serialize + Send + Sync + 'static> DurableFile<T> {
    /// Starts the background writer of `path` (`what` names it in logs). Needs a Tokio
    /// runtime. The task ends when this value is dropped.
    pub fn open(path: PathBuf, what: &'static str) -> Self {
        let (latest, mut rx) = watch::channel::<Option<(u64, Arc<T>)>>(None);
        let flushed = Arc::new(watch::channel(0u64).0);
        let writing = Arc::new(Mutex::new(false));
        let (target, lock, done) = (path.clone(), writing.clone(), flushed.clone());
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                rx.borrow_and_update();
                let (file, lock, newest) = (target.clone(), lock.clone(), rx.clone());
                let done = done.clone();
                let written = tokio::task::spawn_blocking(move || {
                    let removed = lock.lock().unwrap_or_else(|e| e.into_inner());
                    if *removed {
                        return Ok(());
                    }
                    // Whatever is newest now: `write_now` may have replaced the queued value.
                    let Some((number, value)) = newest.borrow().clone() else {
                        return Ok(());
                    };
                    let written = write_atomic(&file, &*value);
                    // A failed write is logged below; whoever waits for it goes on (the
                    // change holds in memory, as a failed `write_now` leaves it).
                    done.send_if_modified(|n| std::mem::replace(n, (*n).max(number)) < number);
                    written
                })
                .await;
                if let Ok(Err(e)) = written {
                    tracing::error!("cannot write {what} to {}: {e}", target.display());
                }
            }
        });
        DurableFile {
            path,
            latest,
            flushed,
            writing,
        }
    }

    /// Replaces the newest value with `value`; its number.
    fn replace(&self, value: Arc<T>) -> u64 {
        let mut number = 0;
        self.latest.send_modify(|latest| {
            number = latest.as_ref().map_or(1, |(n, _)| n + 1);
            *latest = Some((number, value));
        });
        number
    }

    /// Queues `value` for the background writer.
    pub fn queue(&self, value: T) {
        self.replace(Arc::new(value));
    }

    /// Queues `value` for the background writer: the answer completes once it (or a newer
    /// value) is on the disk, or its write failed (logged), or the file was removed.
    pub fn queue_flushed(&self, value: T) -> Flushed {
        let number = self.replace(Arc::new(value));
        Flushed(vec![(self.flushed.subscribe(), number)])
    }

    /// Writes `value` durably before returning.
    pub fn write_now(&self, value: T) -> std::io::Result<()> {
        let value = Arc::new(value);
        let removed = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if *removed {
            return Ok(());
        }
        // Replaced while the lock is held, so a background write that follows writes this
        // value or a newer one, never the one it had queued before.
        let number = self.replace(value.clone());
        let written = write_atomic(&self.path, &*value);
        self.flushed
            .send_if_modified(|n| std::mem::replace(n, (*n).max(number)) < number);
        written
    }

    /// Deletes the file for good: no queued or later write puts it back.
    pub fn remove(&self) -> std::io::Result<()> {
        let mut removed = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        *removed = true;
        // Nothing is written any more: nobody waits for it.
        self.flushed.send_replace(u64::MAX);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => match self.path.parent() {
                Some(dir) => std::fs::File::open(dir)?.sync_all(),
                None => Ok(()),
            },
        }
    }
}

/// Completes once every value it was made for is on the disk (see
/// [`DurableFile::queue_flushed`]).
#[derive(Debug, Clone, Default)]
pub struct Flushed(Vec<(watch::Receiver<u64>, u64)>);

impl Flushed {
    /// Waits for `other`'s values as well.
    pub fn and(mut self, other: Flushed) -> Flushed {
        self.0.extend(other.0);
        self
    }

    /// Whether every value is on the disk now.
    pub fn is_done(&self) -> bool {
        self.0.iter().all(|(rx, number)| *rx.borrow() >= *number)
    }

    /// Completes once every value is on the disk (or its file's writer has ended).
    pub async fn wait(self) {
        for (mut rx, number) in self.0 {
            // An error: the writer is gone (the meeting was dropped); nothing comes.
            let _ = rx.wait_for(|n| *n >= number).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queued_older_value_never_overwrites_a_value_written_now() {
        let dir = std::env::temp_dir().join(format!("diemcau-durable-{}", std::process::id()));
        let path = dir.join("v.json");
        let file = DurableFile::<u32>::open(path.clone(), "test value");
        for v in 0..50 {
            file.queue(v);
        }
        file.write_now(1000).unwrap();
        assert_eq!(
            read::<u32>(&path),
            Some(1000),
            "on disk when write_now returns"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(
            read::<u32>(&path),
            Some(1000),
            "the queued 49 is not put back"
        );
        assert!(!path.with_extension("json.tmp").exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_flushed_value_is_on_the_disk_when_its_wait_completes_and_bursts_coalesce() {
        let dir = std::env::temp_dir().join(format!("diemcau-flushed-{}", std::process::id()));
        let path = dir.join("v.json");
        let file = DurableFile::<u32>::open(path.clone(), "test value");
        let waits: Vec<Flushed> = (1..=100).map(|v| file.queue_flushed(v)).collect();
        assert!(
            !waits[99].is_done(),
            "nothing is written before the writer runs"
        );
        for (v, wait) in (1..=100u32).zip(waits) {
            tokio::time::timeout(std::time::Duration::from_secs(10), wait.wait())
                .await
                .expect("written within 10 s");
            let on_disk = read::<u32>(&path).expect("the file exists once a wait completes");
            assert!(on_disk >= v, "value {v} waited for, {on_disk} on the disk");
        }
        assert_eq!(read::<u32>(&path), Some(100));
        file.remove().unwrap();
        let after = file.queue_flushed(7);
        tokio::time::timeout(std::time::Duration::from_secs(1), after.wait())
            .await
            .expect("a removed file keeps nobody waiting");
        assert!(!path.exists(), "and is not written again");
        let _ = std::fs::remove_dir_all(dir);
    }
}
