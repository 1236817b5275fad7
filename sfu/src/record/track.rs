//! One recorded track: frames out of its packets, its current segment file, and a new
//! segment when the picture's size changes (as Galène's disk writer does).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::depack::Vp8Frames;
use super::webm::{Codec, WebmFile};
use super::RecPacket;

/// The segment list every recorder appends to, one JSON object a line.
pub const SEGMENTS_FILE: &str = "segments.jsonl";

/// A track being written.
#[derive(Debug)]
pub struct TrackRec {
    dir: PathBuf,
    /// `<label>-<kind>`: the start of every file name of this track.
    stem: String,
    vp8: Option<Vp8Frames>,
    file: Option<WebmFile>,
    size: Option<(u16, u16)>,
    /// RTP timestamp (extended) of the segment's first frame, and the last one seen.
    first_ts: i64,
    last: Option<(u32, i64)>,
}

impl TrackRec {
    /// A track whose files go in `dir`, named from `stem`.
    pub fn new(dir: &Path, stem: String, video: bool) -> TrackRec {
        TrackRec {
            dir: dir.to_path_buf(),
            stem,
            vp8: video.then(Vp8Frames::new),
            file: None,
            size: None,
            first_ts: 0,
            last: None,
        }
    }

    /// Whether the next frame written must be a keyframe (the SFU asks the publisher for one).
    pub fn needs_keyframe(&self) -> bool {
        self.vp8.as_ref().is_some_and(|v| v.needs_keyframe())
    }

    /// Reads one packet; returns the bytes it added on disk.
    pub fn packet(&mut self, p: &RecPacket) -> io::Result<u64> {
        let before = self.on_disk();
        match self.vp8.as_mut() {
            Some(vp8) => {
                let Some(f) = vp8.push(p.seq, p.ts, p.marker, &p.payload) else {
                    return Ok(0);
                };
                if let Some(size) = f.size.filter(|s| Some(*s) != self.size) {
                    self.finish()?;
                    self.size = Some(size);
                }
                if self.file.is_none() {
                    let Some((width, height)) = self.size else {
                        return Ok(0); // a keyframe without a readable size: wait for one
                    };
                    self.open(Codec::Vp8 { width, height }, f.ts)?;
                }
                self.write(f.ts, p.clock_rate, f.key, &f.data)?;
            }
            None => {
                if p.payload.is_empty() {
                    return Ok(0);
                }
                if self.file.is_none() {
                    self.open(Codec::Opus, p.ts)?;
                }
                self.write(p.ts, p.clock_rate, true, &p.payload)?;
            }
        }
        Ok(self.on_disk().saturating_sub(before))
    }

    fn on_disk(&self) -> u64 {
        self.file.as_ref().map_or(0, |f| f.bytes() + f.pending())
    }

    fn open(&mut self, codec: Codec, ts: u32) -> io::Result<()> {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let name = format!("{}-{ms}.webm", self.stem);
        let path = self.dir.join(&name);
        self.file = Some(WebmFile::create(&path, codec)?);
        self.last = None;
        self.first_ts = self.extend(ts);
        let mut list = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(SEGMENTS_FILE))?;
        writeln!(
            list,
            "{{\"file\":\"{name}\",\"track\":\"{}\",\"start_ms\":{ms}}}",
            self.stem
        )?;
        Ok(())
    }

    /// The RTP timestamp unwrapped past 2^32.
    fn extend(&mut self, ts: u32) -> i64 {
        let ext = match self.last {
            None => i64::from(ts),
            Some((prev, ext)) => ext + i64::from(ts.wrapping_sub(prev) as i32),
        };
        self.last = Some((ts, ext));
        ext
    }

    fn write(&mut self, ts: u32, clock: u32, key: bool, data: &[u8]) -> io::Result<()> {
        let ext = self.extend(ts);
        let ms = ((ext - self.first_ts).max(0) as u64) * 1000 / u64::from(clock.max(1));
        match self.file.as_mut() {
            Some(f) => f.frame(ms, key, data),
            None => Ok(()),
        }
    }

    /// Closes the current segment (its last cluster and duration written).
    pub fn finish(&mut self) -> io::Result<()> {
        match self.file.take() {
            Some(f) => f.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}
