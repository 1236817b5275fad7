//! VP8 frames out of RTP payloads (RFC 7741), as received (pure). A frame is kept only
//! when every packet from its start to its marker arrived in order; after a gap nothing is
//! kept until the next keyframe, so the file never holds a frame its decoder would reject.

/// One whole VP8 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its RTP timestamp.
    pub ts: u32,
    /// An intra frame (decodable alone).
    pub key: bool,
    /// Width and height a keyframe announces.
    pub size: Option<(u16, u16)>,
    /// The VP8 bitstream of the frame.
    pub data: Vec<u8>,
}

/// Assembles one VP8 stream's frames.
#[derive(Debug, Default)]
pub struct Vp8Frames {
    next_seq: Option<u64>,
    parts: Vec<u8>,
    ts: u32,
    /// A frame start was seen and nothing of it is missing.
    whole: bool,
    /// Waiting for a keyframe after a gap (or at the start).
    need_key: bool,
    started: bool,
}

impl Vp8Frames {
    /// A stream that starts at its first keyframe.
    pub fn new() -> Vp8Frames {
        Vp8Frames {
            need_key: true,
            ..Vp8Frames::default()
        }
    }

    /// Whether frames are dropped until a keyframe comes.
    pub fn needs_keyframe(&self) -> bool {
        self.need_key
    }

    /// Reads one packet; returns the frame it completes, if any.
    pub fn push(&mut self, seq: u64, ts: u32, marker: bool, payload: &[u8]) -> Option<Frame> {
        if self.next_seq.is_some_and(|n| n != seq) {
            // A lost or reordered packet: the frame in hand and those referring to it are gone.
            self.whole = false;
            self.need_key = true;
        }
        if self.next_seq.is_some_and(|n| seq < n) {
            return None; // late: already counted as lost
        }
        self.next_seq = Some(seq + 1);
        let (start, body) = descriptor(payload)?;
        if start {
            self.parts.clear();
            self.ts = ts;
            self.whole = true;
            self.started = true;
        } else if !self.started || ts != self.ts {
            self.whole = false;
        }
        if !self.whole {
            return None;
        }
        self.parts.extend_from_slice(body);
        if !marker {
            return None;
        }
        self.whole = false;
        let data = std::mem::take(&mut self.parts);
        let key = data.first().is_some_and(|b| b & 1 == 0);
        if self.need_key && !key {
            return None;
        }
        self.need_key = false;
        Some(Frame {
            ts,
            key,
            size: if key { key_size(&data) } else { None },
            data,
        })
    }
}

/// The payload descriptor: (this packet starts a frame, the VP8 bytes after it).
fn descriptor(p: &[u8]) -> Option<(bool, &[u8])> {
    let b0 = *p.first()?;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(1)?;
        i = 2;
        if x & 0x80 != 0 {
            i += if *p.get(i)? & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    let body = p.get(i..)?;
    Some((b0 & 0x10 != 0 && b0 & 0x07 == 0, body))
}

/// Width and height of a keyframe (after its 3-byte tag and start code 9d 01 2a).
fn key_size(d: &[u8]) -> Option<(u16, u16)> {
    if d.get(3..6)? != [0x9D, 0x01, 0x2A] {
        return None;
    }
    let w = u16::from_le_bytes([*d.get(6)?, *d.get(7)?]) & 0x3FFF;
    let h = u16::from_le_bytes([*d.get(8)?, *d.get(9)?]) & 0x3FFF;
    Some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyframe(w: u16, h: u16) -> Vec<u8> {
        let mut f = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.extend(std::iter::repeat_n(7u8, 30));
        f
    }

    /// Packets of `frame` with an extended descriptor (2-byte picture id, TL0, TID).
    fn packets(frame: &[u8], pid: u16) -> Vec<Vec<u8>> {
        frame
            .chunks(16)
            .enumerate()
            .map(|(i, c)| {
                let s = if i == 0 { 0x10 } else { 0 };
                let mut p = vec![0x80 | s, 0xE0, 0x80 | (pid >> 8) as u8, pid as u8, 5, 0x40];
                p.extend_from_slice(c);
                p
            })
            .collect()
    }

    fn feed(
        a: &mut Vp8Frames,
        seq: &mut u64,
        ts: u32,
        frame: &[u8],
        skip: Option<usize>,
    ) -> Vec<Frame> {
        let pk = packets(frame, ts as u16);
        let n = pk.len();
        let mut out = Vec::new();
        for (i, p) in pk.into_iter().enumerate() {
            *seq += 1;
            if Some(i) != skip {
                out.extend(a.push(*seq, ts, i + 1 == n, &p));
            }
        }
        out
    }

    #[test]
    fn a_keyframe_in_three_packets_comes_out_whole_with_its_size() {
        let mut a = Vp8Frames::new();
        let mut seq = 100;
        let key = keyframe(640, 360);
        let got = feed(&mut a, &mut seq, 9000, &key, None);
        assert_eq!(got.len(), 1);
        assert!(got[0].key);
        assert_eq!(got[0].size, Some((640, 360)));
        assert_eq!(got[0].data, key);
    }

    #[test]
    fn after_a_lost_packet_nothing_is_kept_until_the_next_keyframe() {
        let mut a = Vp8Frames::new();
        let mut seq = 0;
        let delta: Vec<u8> = std::iter::once(0x01)
            .chain(std::iter::repeat_n(3, 40))
            .collect();
        assert!(
            feed(&mut a, &mut seq, 0, &delta, None).is_empty(),
            "no keyframe yet"
        );
        assert_eq!(
            feed(&mut a, &mut seq, 3000, &keyframe(320, 180), None).len(),
            1
        );
        assert_eq!(feed(&mut a, &mut seq, 6000, &delta, None).len(), 1);
        assert!(
            feed(&mut a, &mut seq, 9000, &delta, Some(1)).is_empty(),
            "its middle was lost"
        );
        assert!(a.needs_keyframe());
        assert!(
            feed(&mut a, &mut seq, 12000, &delta, None).is_empty(),
            "refers to the lost one"
        );
        let key = feed(&mut a, &mut seq, 15000, &keyframe(320, 180), None);
        assert_eq!(key.len(), 1);
        assert!(key[0].key && !a.needs_keyframe());
    }
}
