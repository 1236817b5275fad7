//! Composition with Debian's ffmpeg: segments of two sites' cameras and microphones become
//! one file as long as the meeting, switched by the floor timeline, that decodes cleanly.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use signaling::recording::compose::{self, Span};
use signaling::recording::RecordingFile;

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("diemcau-compose-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A WebM segment made by ffmpeg: `secs` of a test picture of `size` or of a tone.
fn segment(dir: &Path, track: &str, start: u64, secs: u64, size: &str) -> RecordingFile {
    let path = dir.join(format!("{track}-{start}.webm"));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-nostdin", "-f", "lavfi"]);
    if track.ends_with("-audio") {
        cmd.args([
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-c:a",
            "libopus",
        ]);
    } else {
        cmd.args(["-i", &format!("testsrc=size={size}:rate=30")]);
        cmd.args(["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"]);
    }
    let ok = cmd
        .args(["-t", &secs.to_string()])
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg made no {track}");
    RecordingFile {
        bytes: std::fs::metadata(&path).unwrap().len(),
        path,
        track: track.into(),
        start,
        end: start + secs * 1000,
    }
}

fn probe(file: &Path, entry: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            entry,
            "-of",
            "default=nw=1:nk=1",
        ])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_composed_file_follows_the_floor_mixes_the_audio_and_lasts_the_meeting() {
    let dir = tempdir("floor");
    let t0 = 1_800_000_000_000;
    let files = vec![
        segment(&dir, "chair-camera", t0, 4, "320x240"),
        segment(&dir, "chair-audio", t0, 8, ""),
        segment(&dir, "so-a-camera", t0 + 3_000, 5, "640x360"),
        segment(&dir, "so-a-audio", t0 + 3_000, 5, ""),
    ];
    let floor = [
        Span {
            track: "chair-camera".into(),
            start: t0,
            end: t0 + 4_000,
        },
        Span {
            track: "so-a-camera".into(),
            start: t0 + 4_000,
            end: t0 + 8_000,
        },
    ];
    let out = dir.join("composed.webm");
    let percent = Arc::new(AtomicU8::new(0));
    compose::run(&files, &floor, &out, &percent).expect("composed");
    assert_eq!(percent.load(Ordering::Relaxed), 100);
    let d: f64 = probe(&out, "format=duration").parse().unwrap();
    assert!(
        (d - 8.0).abs() <= 1.0,
        "composed file lasts {d} s, the meeting 8 s"
    );
    assert_eq!(probe(&out, "stream=codec_name"), "vp8\nopus");
    assert_eq!(
        probe(&out, "stream=width,height")
            .lines()
            .take(2)
            .collect::<Vec<_>>(),
        ["1280", "720"]
    );
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(&out)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&decode.stderr);
    assert!(decode.status.success() && err.trim().is_empty(), "{err}");
}

#[test]
fn progress_is_read_from_ffmpeg_progress_lines() {
    assert_eq!(
        compose::progress_line("out_time_us=2500000", 10_000),
        Some(25)
    );
    assert_eq!(
        compose::progress_line("out_time_us=12000000", 10_000),
        Some(99)
    );
    assert_eq!(compose::progress_line("progress=end", 10_000), Some(100));
    assert_eq!(compose::progress_line("frame=30", 10_000), None);
}

#[test]
fn nothing_recorded_is_a_precise_error() {
    let percent = Arc::new(AtomicU8::new(0));
    let err = compose::run(&[], &[], Path::new("/nonexistent/x.webm"), &percent).unwrap_err();
    assert_eq!(err.to_string(), "the meeting has no recording to compose");
}
