use super::*;
use sfu::record::webm::{Codec, WebmFile};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("diemcau-recfiles-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An Opus file of `frames` 20 ms frames (the payload need not decode for the listing).
fn opus(dir: &Path, name: &str, frames: u64) -> PathBuf {
    let path = dir.join(name);
    let mut w = WebmFile::create(&path, Codec::Opus).unwrap();
    for i in 0..frames {
        w.frame(i * 20, true, &[0xF8, 0xFF, 0xFE]).unwrap();
    }
    w.finish().unwrap();
    path
}

#[test]
fn names_carry_the_track_and_its_start() {
    assert_eq!(
        parse_name("so-tu-phap-camera-1796645559059.webm"),
        Some(("so-tu-phap-camera", 1796645559059))
    );
    assert_eq!(parse_name("chair-audio-12.webm"), Some(("chair-audio", 12)));
    assert_eq!(parse_name("chair-video-12.webm"), None);
    assert_eq!(parse_name("segments.jsonl"), None);
    assert_eq!(parse_name("chair-audio-x.webm"), None);
}

#[test]
fn files_lists_segments_by_start_with_their_end_and_size() {
    let dir = tempdir("list");
    opus(&dir, "b-audio-2000.webm", 50); // 1 s
    opus(&dir, "a-audio-1000.webm", 100); // 2 s
    std::fs::write(dir.join("segments.jsonl"), "{}\n").unwrap();
    std::fs::write(dir.join("a-audio-3000.webm"), b"not a recording").unwrap();
    let got = files(&dir);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!((got[0].track.as_str(), got[0].start), ("a-audio", 1000));
    assert_eq!(got[0].end, 1000 + 99 * 20 + 20);
    assert_eq!(
        (got[1].track.as_str(), got[1].start, got[1].end),
        ("b-audio", 2000, 3000)
    );
    assert_eq!(got[1].bytes, std::fs::metadata(&got[1].path).unwrap().len());
    assert!(usage(&dir) > got[0].bytes + got[1].bytes);
    assert!(files(&dir.join("absent")).is_empty());
}

#[test]
fn recover_all_cuts_a_half_written_segment_at_start() {
    let data = tempdir("recover");
    let dir = meeting_dir(&data, "m1");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chair-audio-5000.webm");
    let mut w = WebmFile::create(&path, Codec::Opus).unwrap();
    for i in 0..120 {
        w.frame(i * 20, true, &[0xF8, 0xFF, 0xFE]).unwrap();
    }
    w.flush().unwrap();
    drop(w); // killed: no finish, so no duration yet
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    assert_eq!(recover_all(&data), 1);
    let f = files(&dir);
    assert_eq!(f.len(), 1);
    // 120 frames in 1 s clusters: the complete first cluster (50 frames) and the second
    // (50) survive; the third, cut short, is gone.
    assert_eq!(f[0].end - f[0].start, 99 * 20 + 20);
    assert_eq!(recover_all(&data), 0, "a second start finds nothing to cut");
}
