//! Append-only JSON-lines files that lose nothing acknowledged: the audit log
//! ([`crate::audit`]) and the chat history ([`crate::meeting::chat`]).
//!
//! [`append`] writes one line with a single `write` on a file opened in append mode (the
//! kernel places each such write at the end, whole, so two writers never interleave) and
//! flushes it with `fdatasync` before it returns: a caller that answers after `append` never
//! acknowledges a line a crash could take back. The cost (one flush, about a millisecond on
//! an SSD) is paid per line because these lines are human-paced (a chair's action, a chat
//! message); there is nothing to batch.
//!
//! A crash can still cut the line being written. [`append`] ends such a torn tail with a
//! newline before it writes, so the next line is never glued to it, and [`read`] skips any
//! line that does not parse, with a warning: a torn line is never a failure.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};

/// Appends `value` as one JSON line to `path` (created, with its folder, if missing), on the
/// disk before it returns.
pub fn append<T: Serialize + ?Sized>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            // A torn line from a crash: close it so this one stands on its own.
            line.insert(0, b'\n');
        }
    }
    file.write_all(&line)?;
    file.sync_data()?;
    if len == 0 {
        // A new file is an entry of its folder: durable once the folder is flushed.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Every line of `path` that parses, in order, and how many did not (skipped with a
/// warning naming `what`). A missing file has no lines.
pub fn read<T: DeserializeOwned>(path: &Path, what: &str) -> (Vec<T>, usize) {
    let Ok(bytes) = std::fs::read(path) else {
        return (Vec::new(), 0);
    };
    let mut lines = Vec::new();
    let mut skipped = 0;
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(raw) {
            Ok(v) => lines.push(v),
            Err(_) => {
                skipped += 1;
                tracing::warn!(
                    "{what}: line {} is not whole (cut by a crash?); skipped",
                    n + 1
                );
            }
        }
    }
    (lines, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("diemcau-jsonl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("log.jsonl")
    }

    #[test]
    fn a_torn_last_line_is_skipped_and_the_next_append_stands_alone() {
        let path = scratch("torn");
        append(&path, &serde_json::json!({"n": 1})).unwrap();
        // A crash in the middle of the second line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"n": 2, "te"#).unwrap();
        drop(f);
        let (lines, skipped) = read::<serde_json::Value>(&path, "test");
        assert_eq!((lines.len(), skipped), (1, 1));
        append(&path, &serde_json::json!({"n": 3})).unwrap();
        let (lines, skipped) = read::<serde_json::Value>(&path, "test");
        let ns: Vec<u64> = lines.iter().map(|v| v["n"].as_u64().unwrap()).collect();
        assert_eq!(ns, [1, 3], "the line after the torn one is whole");
        assert_eq!(skipped, 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn appends_never_truncate_what_is_there() {
        let path = scratch("keep");
        for n in 0..5 {
            append(&path, &serde_json::json!({ "n": n })).unwrap();
        }
        let (lines, skipped) = read::<serde_json::Value>(&path, "test");
        assert_eq!((lines.len(), skipped), (5, 0));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
