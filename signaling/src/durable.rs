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
    latest: watch::Sender<Option<Arc<T>>>,
    /// Held while the file is written, by the background task and by `write_now`; true once
    /// the file was removed, after which nothing writes it again.
    writing: Arc<Mutex<bool>>,
}

impl<T: Serialize + Send + Sync + 'static> DurableFile<T> {
    /// Starts the background writer of `path` (`what` names it in logs). Needs a Tokio
    /// runtime. The task ends when this value is dropped.
    pub fn open(path: PathBuf, what: &'static str) -> Self {
        let (latest, mut rx) = watch::channel::<Option<Arc<T>>>(None);
        let writing = Arc::new(Mutex::new(false));
        let (target, lock) = (path.clone(), writing.clone());
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                rx.borrow_and_update();
                let (file, lock, newest) = (target.clone(), lock.clone(), rx.clone());
                let written = tokio::task::spawn_blocking(move || {
                    let removed = lock.lock().unwrap_or_else(|e| e.into_inner());
                    if *removed {
                        return Ok(());
                    }
                    // Whatever is newest now: `write_now` may have replaced the queued value.
                    let value = newest.borrow().clone();
                    value.map_or(Ok(()), |v| write_atomic(&file, &*v))
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
            writing,
        }
    }

    /// Queues `value` for the background writer.
    pub fn queue(&self, value: T) {
        self.latest.send_replace(Some(Arc::new(value)));
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
        self.latest.send_replace(Some(value.clone()));
        write_atomic(&self.path, &*value)
    }

    /// Deletes the file for good: no queued or later write puts it back.
    pub fn remove(&self) -> std::io::Result<()> {
        let mut removed = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        *removed = true;
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => match self.path.parent() {
                Some(dir) => std::fs::File::open(dir)?.sync_all(),
                None => Ok(()),
            },
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
}
