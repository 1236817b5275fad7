//! The recorder against real encoders and a real decoder: Debian's ffmpeg encodes VP8 and
//! Opus and sends them as RTP over loopback; the recorder thread writes WebM; ffprobe and
//! ffmpeg read the files back.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sfu::record::webm::{self, Codec, WebmFile};
use sfu::record::{Quota, RecEvent, RecPacket, Recorder};
use sfu::{PeerId, TrackKind};

/// One RTP packet as read off the socket.
struct Rtp {
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
}

fn parse(buf: &[u8]) -> Option<Rtp> {
    if buf.len() < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(buf[0] & 0x0F);
    let mut at = 12 + 4 * cc;
    if buf[0] & 0x10 != 0 {
        let words = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
        at += 4 + 4 * words;
    }
    let mut end = buf.len();
    if buf[0] & 0x20 != 0 {
        end -= usize::from(buf[end - 1]);
    }
    Some(Rtp {
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        ts: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        marker: buf[1] & 0x80 != 0,
        payload: buf.get(at..end)?.to_vec(),
    })
}

/// Runs ffmpeg for `secs` seconds of a `size` test picture (VP8) and a tone (Opus), in real
/// time, and returns the RTP packets it sent: (video, audio).
fn encode(size: &str, secs: u32) -> (Vec<Rtp>, Vec<Rtp>) {
    let video = UdpSocket::bind("127.0.0.1:0").unwrap();
    let audio = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&video, &audio] {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    let url = |s: &UdpSocket| {
        format!(
            "rtp://127.0.0.1:{}?pkt_size=1200",
            s.local_addr().unwrap().port()
        )
    };
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-t", &secs.to_string()])
        .args(["-i", &format!("testsrc=size={size}:rate=30")])
        .args(["-f", "lavfi", "-t", &secs.to_string()])
        .args(["-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-map", "0:v", "-c:v", "libvpx", "-g", "30", "-b:v", "400k"])
        .args(["-deadline", "realtime", "-f", "rtp", &url(&video)])
        .args(["-map", "1:a", "-c:a", "libopus", "-f", "rtp", &url(&audio)])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ffmpeg (Debian package ffmpeg) runs");
    let (mut v, mut a) = (Vec::new(), Vec::new());
    let mut buf = [0u8; 2048];
    let mut ended: Option<Instant> = None;
    loop {
        for (s, out) in [(&video, &mut v), (&audio, &mut a)] {
            while let Ok(n) = s.recv(&mut buf) {
                out.extend(parse(&buf[..n]));
            }
        }
        if ended.is_none() && child.try_wait().unwrap().is_some() {
            ended = Some(Instant::now());
        }
        if ended.is_some_and(|t| t.elapsed() > Duration::from_millis(300)) {
            break;
        }
        assert!(v.len() + a.len() < 100_000, "ffmpeg did not stop");
    }
    assert!(child.wait().unwrap().success(), "ffmpeg failed");
    (v, a)
}

/// Hands `packets` to the recorder; returns how many offers found the queue full.
fn feed(rec: &Recorder, peer: PeerId, kind: TrackKind, packets: &[Rtp], seq_base: u64) -> u64 {
    let clock_rate = if kind.is_audio() { 48_000 } else { 90_000 };
    let first = packets[0].seq;
    let mut full = 0;
    for p in packets {
        let packet = RecPacket {
            peer,
            kind,
            clock_rate,
            seq: seq_base + u64::from(p.seq.wrapping_sub(first)),
            ts: p.ts,
            marker: p.marker,
            payload: p.payload.clone(),
        };
        // The queue is bounded; a test gives the thread time rather than dropping.
        let mut tries = 0;
        while !rec.tap().offer(packet.clone()) {
            tries += 1;
            assert!(tries < 1000, "recorder queue stuck");
            std::thread::sleep(Duration::from_millis(2));
        }
        full += tries;
    }
    full
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
    assert!(out.status.success(), "ffprobe failed on {}", file.display());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `ffmpeg -v error -i F -f null -` prints nothing: every frame decodes.
fn decodes_cleanly(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{}: {err}",
        file.display()
    );
}

fn webm_files(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "webm"))
        .filter(|p| p.to_string_lossy().contains(part))
        .collect();
    v.sort();
    v
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("diemcau-rec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn vp8_and_opus_are_written_without_transcoding_and_a_new_size_starts_a_segment() {
    let (v1, a1) = encode("320x240", 3);
    let (v2, _) = encode("640x360", 2);
    let dir = tempdir("segments");
    let (tx, _events) = tokio::sync::mpsc::unbounded_channel();
    let rec = Recorder::spawn(256, tx).unwrap();
    let peer = PeerId(7);
    let quota = Quota { limit: 0, used: 0 };
    rec.start(peer, "m1", dir.clone(), "chair", quota);
    let mut full = feed(&rec, peer, TrackKind::Audio, &a1, 0);
    full += feed(&rec, peer, TrackKind::Camera, &v1, 0);
    // The second encoder's stream follows after a gap: a new keyframe, a new size.
    full += feed(&rec, peer, TrackKind::Camera, &v2, 1_000_000);
    assert!(rec.flush(Duration::from_secs(10)));

    let audio = webm_files(&dir, "chair-audio");
    assert_eq!(audio.len(), 1);
    assert_eq!(probe(&audio[0], "stream=codec_name"), "opus");
    let d: f64 = probe(&audio[0], "format=duration").parse().unwrap();
    assert!((d - 3.0).abs() <= 0.5, "audio lasts {d} s");
    decodes_cleanly(&audio[0]);

    let video = webm_files(&dir, "chair-camera");
    assert_eq!(video.len(), 2, "one segment per picture size: {video:?}");
    let mut sizes = Vec::new();
    for (f, secs) in video.iter().zip([3.0, 2.0]) {
        assert_eq!(probe(f, "stream=codec_name"), "vp8");
        sizes.push(probe(f, "stream=width,height").replace('\n', "x"));
        let d: f64 = probe(f, "format=duration").parse().unwrap();
        assert!((d - secs).abs() <= 0.5, "{} lasts {d} s", f.display());
        decodes_cleanly(f);
    }
    sizes.sort();
    assert_eq!(sizes, ["320x240", "640x360"]);
    let list = std::fs::read_to_string(dir.join("segments.jsonl")).unwrap();
    assert_eq!(list.lines().count(), 3, "{list}");
    // Every refused offer is counted as a drop (the media thread would not retry).
    assert_eq!(rec.dropped(), full);
}

#[test]
fn a_file_cut_mid_cluster_by_a_kill_is_recovered_to_its_complete_clusters() {
    let (v, _) = encode("320x240", 3);
    let dir = tempdir("kill");
    let path = dir.join("cut.webm");
    let mut frames = sfu::record::depack::Vp8Frames::new();
    let mut file: Option<WebmFile> = None;
    let first = v[0].ts;
    for (i, p) in v.iter().enumerate() {
        let Some(f) = frames.push(i as u64, p.ts, p.marker, &p.payload) else {
            continue;
        };
        let w = file.get_or_insert_with(|| {
            let (width, height) = f.size.unwrap();
            WebmFile::create(&path, Codec::Vp8 { width, height }).unwrap()
        });
        let ms = u64::from(f.ts.wrapping_sub(first)) / 90;
        w.frame(ms, f.key, &f.data).unwrap();
    }
    let mut w = file.unwrap();
    w.flush().unwrap();
    // The process dies: no finish(); the last cluster was half written.
    drop(w);
    let whole = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(whole - 300).unwrap();
    drop(f);

    let r = webm::recover(&path).unwrap().expect("our own file");
    assert!(r.cut > 0 && r.cut < whole, "cut {} of {whole}", r.cut);
    assert!(r.duration_ms >= 1_500, "{} ms kept", r.duration_ms);
    decodes_cleanly(&path);
    let d: f64 = probe(&path, "format=duration").parse().unwrap();
    assert!((d * 1000.0 - r.duration_ms as f64).abs() < 100.0, "{d} s");
}

#[test]
fn reaching_the_quota_closes_the_files_and_says_so() {
    let (v, a) = encode("320x240", 2);
    let dir = tempdir("quota");
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let rec = Recorder::spawn(256, tx).unwrap();
    let peer = PeerId(9);
    rec.start(
        peer,
        "m2",
        dir.clone(),
        "chair",
        Quota {
            limit: 40_000,
            used: 0,
        },
    );
    feed(&rec, peer, TrackKind::Audio, &a, 0);
    feed(&rec, peer, TrackKind::Camera, &v, 0);
    assert!(rec.flush(Duration::from_secs(10)));
    let mut got = Vec::new();
    while let Ok(e) = events.try_recv() {
        got.push(e);
    }
    assert!(
        matches!(got.as_slice(), [RecEvent::QuotaWarning { .. }, RecEvent::QuotaReached { used, limit: 40_000, .. }] if *used >= 40_000),
        "{got:?}"
    );
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 60_000, "{total} bytes written for a 40 kB quota");
    for f in webm_files(&dir, "chair") {
        decodes_cleanly(&f);
    }
}
