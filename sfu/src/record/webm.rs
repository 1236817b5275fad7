//! One track's WebM file: header, then clusters each written whole with its size known and
//! synced, so a killed server leaves a file whose complete clusters all decode; [`recover`]
//! cuts a half-written tail and fills in the duration on the next start.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::ebml;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// A cluster is closed after this long (ms) even without a keyframe, which bounds what a
/// crash can lose to about a second per track.
const CLUSTER_MS: u64 = 1_000;

/// What one file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// VP8 video of the given size.
    Vp8 {
        /// Pixels.
        width: u16,
        /// Pixels.
        height: u16,
    },
    /// Opus audio, 48 kHz.
    Opus,
}

/// A WebM file being written.
#[derive(Debug)]
pub struct WebmFile {
    file: File,
    video: bool,
    /// Body of the open cluster (Timecode, SimpleBlocks) and its start, ms.
    cluster: Vec<u8>,
    cluster_ms: Option<u64>,
    last_ms: u64,
    /// Offset of the Duration float, patched on finish.
    duration_at: u64,
    bytes: u64,
}

impl WebmFile {
    /// Creates `path` (it must not exist) and writes the header for `codec`.
    pub fn create(path: &Path, codec: Codec) -> io::Result<WebmFile> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let (head, duration_at) = header(codec);
        let mut w = WebmFile {
            file,
            video: matches!(codec, Codec::Vp8 { .. }),
            cluster: Vec::new(),
            cluster_ms: None,
            last_ms: 0,
            duration_at,
            bytes: 0,
        };
        w.file.write_all(&head)?;
        w.bytes = head.len() as u64;
        Ok(w)
    }

    /// Adds one frame at `ms` from the file's start (not decreasing). A video keyframe
    /// starts a new cluster, so every cluster of a video file opens on a keyframe.
    pub fn frame(&mut self, ms: u64, key: bool, data: &[u8]) -> io::Result<()> {
        let ms = ms.max(self.last_ms);
        if let Some(start) = self.cluster_ms {
            if (self.video && key) || ms - start >= CLUSTER_MS {
                self.flush()?;
            }
        }
        let start = *self.cluster_ms.get_or_insert_with(|| {
            self.cluster.clear();
            ebml::uint(&mut self.cluster, TIMECODE, ms);
            ms
        });
        let mut block = Vec::with_capacity(data.len() + 4);
        block.push(0x81); // track number 1
        block.extend_from_slice(&((ms - start) as i16).to_be_bytes());
        block.push(if key || !self.video { 0x80 } else { 0 });
        block.extend_from_slice(data);
        ebml::element(&mut self.cluster, SIMPLE_BLOCK, &block);
        self.last_ms = ms;
        Ok(())
    }

    /// Writes the open cluster whole and syncs it: from here on it survives a crash.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.cluster_ms.take().is_none() {
            return Ok(());
        }
        let mut out = Vec::with_capacity(self.cluster.len() + 12);
        ebml::element(&mut out, CLUSTER, &self.cluster);
        self.file.write_all(&out)?;
        self.file.sync_data()?;
        self.bytes += out.len() as u64;
        Ok(())
    }

    /// Bytes on disk so far (the open cluster not counted).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Bytes held in the open cluster.
    pub fn pending(&self) -> u64 {
        self.cluster.len() as u64
    }

    /// Writes the last cluster and the duration; returns the file's size.
    pub fn finish(mut self) -> io::Result<u64> {
        self.flush()?;
        let duration = (self.last_ms + 20) as f64;
        self.file.seek(SeekFrom::Start(self.duration_at))?;
        self.file.write_all(&duration.to_be_bytes())?;
        self.file.sync_all()?;
        Ok(self.bytes)
    }
}

/// The EBML header, the segment (size unknown: it grows), Info with a Duration to patch and
/// Tracks; returns the bytes and the Duration float's offset.
fn header(codec: Codec) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let mut h = Vec::new();
    ebml::uint(&mut h, 0x4286, 1);
    ebml::uint(&mut h, 0x42F7, 1);
    ebml::uint(&mut h, 0x42F2, 4);
    ebml::uint(&mut h, 0x42F3, 8);
    ebml::string(&mut h, 0x4282, "webm");
    ebml::uint(&mut h, 0x4287, 4);
    ebml::uint(&mut h, 0x4285, 2);
    ebml::element(&mut out, EBML, &h);
    ebml::id(&mut out, SEGMENT);
    out.extend_from_slice(&ebml::UNKNOWN_SIZE);
    let mut info = Vec::new();
    ebml::uint(&mut info, 0x2A_D7B1, 1_000_000); // TimecodeScale: ms
    ebml::string(&mut info, 0x4D80, "diemcau");
    ebml::string(&mut info, 0x5741, "diemcau");
    ebml::float(&mut info, DURATION, 0.0);
    ebml::element(&mut out, INFO, &info);
    // The float is the last 8 bytes of Info.
    let duration_at = out.len() as u64 - 8;
    let mut entry = Vec::new();
    ebml::uint(&mut entry, 0xD7, 1); // TrackNumber
    ebml::uint(&mut entry, 0x73C5, 1); // TrackUID
    match codec {
        Codec::Vp8 { width, height } => {
            ebml::uint(&mut entry, 0x83, 1);
            ebml::string(&mut entry, 0x86, "V_VP8");
            let mut v = Vec::new();
            ebml::uint(&mut v, 0xB0, u64::from(width));
            ebml::uint(&mut v, 0xBA, u64::from(height));
            ebml::element(&mut entry, 0xE0, &v);
        }
        Codec::Opus => {
            ebml::uint(&mut entry, 0x83, 2);
            ebml::string(&mut entry, 0x86, "A_OPUS");
            let mut head = b"OpusHead".to_vec();
            head.extend_from_slice(&[1, 2, 0, 0]); // version, channels, pre-skip 0
            head.extend_from_slice(&48_000u32.to_le_bytes());
            head.extend_from_slice(&[0, 0, 0]); // gain, mapping family 0
            ebml::element(&mut entry, 0x63A2, &head);
            let mut a = Vec::new();
            ebml::float(&mut a, 0xB5, 48_000.0);
            ebml::uint(&mut a, 0x9F, 2);
            ebml::element(&mut entry, 0xE1, &a);
        }
    }
    let mut tracks = Vec::new();
    ebml::element(&mut tracks, 0xAE, &entry);
    ebml::element(&mut out, TRACKS, &tracks);
    (out, duration_at)
}

/// What [`recover`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Bytes cut from a half-written last cluster.
    pub cut: u64,
    /// The file's length now.
    pub bytes: u64,
    /// Its duration, ms.
    pub duration_ms: u64,
}

/// Makes a file a killed writer left valid: cuts what follows the last complete cluster and
/// writes the duration its clusters reach. `None`: not a file this writer made.
pub fn recover(path: &Path) -> io::Result<Option<Recovered>> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    let Some((duration_at, end, last_ms)) = scan(&buf) else {
        return Ok(None);
    };
    let cut = buf.len() as u64 - end;
    if cut > 0 {
        file.set_len(end)?;
    }
    file.seek(SeekFrom::Start(duration_at))?;
    file.write_all(&((last_ms + 20) as f64).to_be_bytes())?;
    file.sync_all()?;
    Ok(Some(Recovered {
        cut,
        bytes: end,
        duration_ms: last_ms + 20,
    }))
}

/// The duration a file's complete clusters reach, ms, read without changing it (`None`: not
/// a file this writer made).
pub fn duration_ms(path: &Path) -> io::Result<Option<u64>> {
    let buf = std::fs::read(path)?;
    Ok(scan(&buf).map(|(_, _, last)| last + 20))
}

/// Walks the segment: (Duration offset, end of the last complete element, last block ms).
fn scan(buf: &[u8]) -> Option<(u64, u64, u64)> {
    let (eid, n) = ebml::read_id(buf)?;
    if eid != EBML {
        return None;
    }
    let (len, m) = ebml::read_vint(&buf[n..])?;
    let mut pos = n + m + len as usize;
    let (sid, n) = ebml::read_id(buf.get(pos..)?)?;
    if sid != SEGMENT || buf.get(pos + n..pos + n + 8)? != ebml::UNKNOWN_SIZE {
        return None;
    }
    pos += n + 8;
    let (mut duration_at, mut end, mut last_ms) = (None, pos, 0u64);
    while let Some((eid, n)) = buf.get(pos..).and_then(ebml::read_id) {
        let Some((len, m)) = buf.get(pos + n..).and_then(ebml::read_vint) else {
            break;
        };
        let body = pos + n + m;
        let Some(next) = body.checked_add(len as usize).filter(|e| *e <= buf.len()) else {
            break;
        };
        match eid {
            INFO => duration_at = child(&buf[body..next], DURATION).map(|o| (body + o) as u64),
            CLUSTER => last_ms = last_ms.max(cluster_end_ms(&buf[body..next])),
            _ => {}
        }
        pos = next;
        end = next;
    }
    Some((duration_at?, end as u64, last_ms))
}

/// Offset in `body` of the 8-byte payload of child `want`.
fn child(body: &[u8], want: u32) -> Option<usize> {
    let mut pos = 0;
    while pos < body.len() {
        let (eid, n) = ebml::read_id(&body[pos..])?;
        let (len, m) = ebml::read_vint(&body[pos + n..])?;
        if eid == want && len == 8 {
            return Some(pos + n + m);
        }
        pos += n + m + len as usize;
    }
    None
}

/// The time of a cluster's last block, ms.
fn cluster_end_ms(body: &[u8]) -> u64 {
    let (mut pos, mut base, mut last) = (0, 0u64, 0i64);
    while pos < body.len() {
        let Some((eid, n)) = ebml::read_id(&body[pos..]) else {
            break;
        };
        let Some((len, m)) = ebml::read_vint(&body[pos + n..]) else {
            break;
        };
        let b = pos + n + m;
        let Some(payload) = body.get(b..b + len as usize) else {
            break;
        };
        if eid == TIMECODE {
            base = payload.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x));
        } else if eid == SIMPLE_BLOCK && payload.len() >= 4 {
            last = last.max(i64::from(i16::from_be_bytes([payload[1], payload[2]])));
        }
        pos = b + len as usize;
    }
    base.saturating_add_signed(last)
}
