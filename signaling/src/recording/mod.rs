//! A meeting's recordings on disk: `<data_dir>/recordings/<meeting>/`, one WebM file per
//! track segment (written by the SFU's recorder thread, `sfu::record`), their list, the
//! bytes they take against the quota, and the fix-up after a crash.
//!
//! The minutes (biên bản) list a meeting's recording with [`files`].

pub mod compose;
pub mod live;

use std::path::{Path, PathBuf};

use serde::Serialize;
use sfu::record::webm;

/// One segment file of a recorded track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordingFile {
    /// The file.
    pub path: PathBuf,
    /// Its track: `<site label>-<audio|camera|screen>`.
    pub track: String,
    /// When its first frame arrived, ms since the Unix epoch.
    pub start: u64,
    /// When its last complete frame ends, ms since the Unix epoch.
    pub end: u64,
    /// Its size.
    pub bytes: u64,
}

/// Where a meeting's recordings are kept.
pub fn meeting_dir(data_dir: &Path, meeting: &str) -> PathBuf {
    data_dir.join("recordings").join(meeting)
}

/// The recording's files in `meeting_dir`, by start time then track (none when the folder
/// does not exist). A file whose name or content is not the recorder's is left out.
pub fn files(meeting_dir: &Path) -> Vec<RecordingFile> {
    let Ok(entries) = std::fs::read_dir(meeting_dir) else {
        return Vec::new();
    };
    let mut out: Vec<RecordingFile> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| file(&e.path()))
        .collect();
    out.sort_by(|a, b| (a.start, &a.track).cmp(&(b.start, &b.track)));
    out
}

fn file(path: &Path) -> Option<RecordingFile> {
    let (track, start) = parse_name(path.file_name()?.to_str()?)?;
    let bytes = std::fs::metadata(path).ok()?.len();
    let duration = webm::duration_ms(path).ok()??;
    Some(RecordingFile {
        path: path.to_path_buf(),
        track: track.to_owned(),
        start,
        end: start + duration,
        bytes,
    })
}

/// `<track>-<start ms>.webm` → (track, start).
pub fn parse_name(name: &str) -> Option<(&str, u64)> {
    let stem = name.strip_suffix(".webm")?;
    let (track, ms) = stem.rsplit_once('-')?;
    let kind = track.rsplit_once('-').map(|(_, k)| k)?;
    if !matches!(kind, "audio" | "camera" | "screen") {
        return None;
    }
    Some((track, ms.parse().ok()?))
}

/// Bytes a meeting's recordings take (what its quota counts).
pub fn usage(meeting_dir: &Path) -> u64 {
    std::fs::read_dir(meeting_dir)
        .map(|es| {
            es.filter_map(|e| e.ok())
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// At start: every segment a killed server was writing is cut to its last complete cluster
/// and given its duration, so each file decodes. Returns how many files had a tail cut.
pub fn recover_all(data_dir: &Path) -> usize {
    let Ok(meetings) = std::fs::read_dir(data_dir.join("recordings")) else {
        return 0;
    };
    let mut cut = 0;
    for m in meetings.filter_map(|e| e.ok()) {
        let Ok(entries) = std::fs::read_dir(m.path()) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "webm") {
                continue;
            }
            match webm::recover(&path) {
                Ok(Some(r)) if r.cut > 0 => {
                    tracing::warn!(file = %path.display(), cut = r.cut, "recording cut to its last complete cluster");
                    cut += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "recording not recovered")
                }
            }
        }
    }
    cut
}

#[cfg(test)]
mod tests;
