//! One file a clerk can open: Debian's `ffmpeg`, run as a separate process (never in the
//! media thread), lays the recorded segments on the meeting's timeline: the picture of
//! whoever held the floor (each camera segment's own span when no floor timeline is given),
//! every audio track mixed. Its `-progress` output gives the percent done.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::RecordingFile;

/// The composed picture's size.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// Whose picture is shown from `start` to `end` (ms since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The camera track shown (`<site label>-camera`).
    pub track: String,
    /// From, ms.
    pub start: u64,
    /// To, ms.
    pub end: u64,
}

/// Why composition failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// Nothing recorded.
    #[error("the meeting has no recording to compose")]
    Empty,
    /// ffmpeg could not be started.
    #[error("cannot start ffmpeg: {0}")]
    Spawn(std::io::Error),
    /// ffmpeg failed; its last error line.
    #[error("ffmpeg failed: {0}")]
    Failed(String),
}

/// The ffmpeg arguments that compose `files` into `out` along `floor` (empty: each camera
/// segment shows while it runs); and the composed length, ms. Pure.
pub fn plan(files: &[RecordingFile], floor: &[Span], out: &Path) -> Option<(Vec<String>, u64)> {
    let t0 = files.iter().map(|f| f.start).min()?;
    let end = files.iter().map(|f| f.end).max()?;
    let length = end - t0;
    let secs = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let mut args: Vec<String> = ["-y", "-v", "error", "-nostdin"].map(String::from).to_vec();
    for f in files {
        args.push("-i".into());
        args.push(f.path.to_string_lossy().into_owned());
    }
    let mut graph = vec![format!(
        "color=c=black:s={WIDTH}x{HEIGHT}:r=30:d={}[base0]",
        secs(length)
    )];
    let spans: Vec<Span> = if floor.is_empty() {
        files
            .iter()
            .filter(|f| f.track.ends_with("-camera") || f.track.ends_with("-screen"))
            .map(|f| Span {
                track: f.track.clone(),
                start: f.start,
                end: f.end,
            })
            .collect()
    } else {
        floor.to_vec()
    };
    let mut layer = 0;
    for (i, f) in files.iter().enumerate() {
        if f.track.ends_with("-audio") {
            continue;
        }
        // The parts of the floor timeline this segment covers.
        let shown: Vec<(u64, u64)> = spans
            .iter()
            .filter(|s| s.track == f.track)
            .map(|s| (s.start.max(f.start), s.end.min(f.end)))
            .filter(|(a, b)| a < b)
            .collect();
        if shown.is_empty() {
            continue;
        }
        let enable = shown
            .iter()
            .map(|(a, b)| format!("between(t,{},{})", secs(a - t0), secs(b - t0)))
            .collect::<Vec<_>>()
            .join("+");
        graph.push(format!(
            "[{i}:v]scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=decrease,pad={WIDTH}:{HEIGHT}:(ow-iw)/2:(oh-ih)/2,setpts=PTS-STARTPTS+{}/TB[v{i}]",
            secs(f.start - t0)
        ));
        graph.push(format!(
            "[base{layer}][v{i}]overlay=eof_action=pass:enable='{enable}'[base{}]",
            layer + 1
        ));
        layer += 1;
    }
    // libvpx takes no alpha plane (the overlays give one).
    graph.push(format!("[base{layer}]format=yuv420p[v]"));
    let audio: Vec<usize> = (0..files.len())
        .filter(|i| files[*i].track.ends_with("-audio"))
        .collect();
    for &i in &audio {
        let d = files[i].start - t0;
        graph.push(format!("[{i}:a]adelay={d}|{d}[a{i}]"));
    }
    let mixed = audio.iter().map(|i| format!("[a{i}]")).collect::<String>();
    if !audio.is_empty() {
        graph.push(format!(
            "{mixed}amix=inputs={}:normalize=0:duration=longest[a]",
            audio.len()
        ));
    }
    args.push("-filter_complex".into());
    args.push(graph.join(";"));
    args.extend(["-map", "[v]"].map(String::from));
    if !audio.is_empty() {
        args.extend(["-map", "[a]", "-c:a", "libopus"].map(String::from));
    }
    args.extend(
        [
            "-c:v",
            "libvpx",
            "-b:v",
            "1M",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-t",
        ]
        .map(String::from),
    );
    args.push(secs(length));
    args.extend(["-progress", "pipe:1"].map(String::from));
    args.push(out.to_string_lossy().into_owned());
    Some((args, length))
}

/// The percent done an ffmpeg `-progress` line tells, for a composition `length_ms` long.
pub fn progress_line(line: &str, length_ms: u64) -> Option<u8> {
    if line.trim() == "progress=end" {
        return Some(100);
    }
    let us: u64 = line.strip_prefix("out_time_us=")?.trim().parse().ok()?;
    Some((us / 1000 * 100 / length_ms.max(1)).min(99) as u8)
}

/// Composes `files` into `out`, updating `percent` as ffmpeg reports; blocks until done
/// (run it on its own thread or `spawn_blocking`).
pub fn run(
    files: &[RecordingFile],
    floor: &[Span],
    out: &Path,
    percent: &Arc<AtomicU8>,
) -> Result<PathBuf, ComposeError> {
    let (args, length) = plan(files, floor, out).ok_or(ComposeError::Empty)?;
    let mut child = Command::new("ffmpeg")
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(ComposeError::Spawn)?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = progress_line(&line, length) {
                percent.store(p, Ordering::Relaxed);
            }
        }
    }
    let output = child.wait_with_output().map_err(ComposeError::Spawn)?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err.lines().last().unwrap_or("no message").to_owned();
        return Err(ComposeError::Failed(last));
    }
    percent.store(100, Ordering::Relaxed);
    Ok(out.to_path_buf())
}
