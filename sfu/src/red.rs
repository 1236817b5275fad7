//! Opus RED (RFC 2198, `audio/red`) as the SFU forwards it: read a RED payload's block
//! headers, take its primary block out for a subscriber that did not negotiate RED, or
//! rewrite the payload types its headers name for one whose Opus payload type differs.
//!
//! Why: on a lossy line RED carries each Opus frame twice (the second time in the next
//! packet), so a single lost packet costs no audio; Chromium offers it, and a publisher that
//! negotiated it sends every audio packet wrapped. A subscriber without RED (another browser,
//! a recorder) must still hear plain Opus: the primary block is the current frame as the
//! publisher's encoder made it.
//!
//! A payload is
//! `[F=1 PT(7) ts-offset(14) length(10)]* [F=0 PT(7)] redundant-data* primary-data`.
//! Payloads come from untrusted browsers: every malformed shape is an error naming what is
//! wrong, never a panic; the caller drops the packet and counts it.
//!
//! Pure: bytes in, bytes out.

/// Why a RED payload could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedError {
    /// No bytes at all: not even the final block header.
    #[error("empty RED payload")]
    Empty,
    /// The headers run past the payload's end (a redundant header is 4 bytes, the last 1).
    #[error("RED block headers run past the payload")]
    TruncatedHeader,
    /// The redundant blocks' stated lengths add up to more than the payload holds.
    #[error("RED redundant blocks are longer than the payload")]
    BlocksOverrun,
    /// Nothing is left for the primary block: there is no current frame to forward.
    #[error("RED payload has an empty primary block")]
    EmptyPrimary,
}

/// Most redundant blocks read: browsers send one or two; more than this is no RED encoder's
/// doing and would only make each packet's check longer.
pub const MAX_REDUNDANT: usize = 8;

/// Where a RED payload's parts are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The primary block's payload type.
    pub primary_pt: u8,
    /// Offset of the primary block's data (it runs to the payload's end).
    pub primary_at: usize,
    /// How many redundant blocks precede it.
    pub redundant: usize,
}

/// Reads the block headers of `payload` and checks the blocks fit in it.
pub fn layout(payload: &[u8]) -> Result<Layout, RedError> {
    if payload.is_empty() {
        return Err(RedError::Empty);
    }
    let mut at = 0;
    let mut data_len = 0usize;
    let mut redundant = 0;
    loop {
        let Some(&b0) = payload.get(at) else {
            return Err(RedError::TruncatedHeader);
        };
        if b0 & 0x80 == 0 {
            at += 1;
            let primary_at = at + data_len;
            if primary_at > payload.len() {
                return Err(RedError::BlocksOverrun);
            }
            if primary_at == payload.len() {
                return Err(RedError::EmptyPrimary);
            }
            return Ok(Layout {
                primary_pt: b0 & 0x7F,
                primary_at,
                redundant,
            });
        }
        if redundant == MAX_REDUNDANT {
            // Counted as a header that never ends: no encoder sends this many.
            return Err(RedError::TruncatedHeader);
        }
        let Some(h) = payload.get(at..at + 4) else {
            return Err(RedError::TruncatedHeader);
        };
        data_len += (usize::from(h[2] & 0x03) << 8) | usize::from(h[3]);
        redundant += 1;
        at += 4;
    }
}

/// The primary block of `payload`: its payload type and data.
pub fn primary(payload: &[u8]) -> Result<(u8, &[u8]), RedError> {
    let l = layout(payload)?;
    Ok((l.primary_pt, &payload[l.primary_at..]))
}

/// A copy of `payload` whose block headers name `to` wherever they named `from` (a
/// subscriber whose Opus payload type is not the publisher's would otherwise decode no block).
pub fn rewrite_pt(payload: &[u8], from: u8, to: u8) -> Result<Vec<u8>, RedError> {
    let l = layout(payload)?;
    let mut out = payload.to_vec();
    let mut at = 0;
    for _ in 0..=l.redundant {
        let pt = out[at] & 0x7F;
        if pt == from {
            out[at] = (out[at] & 0x80) | (to & 0x7F);
        }
        at += if out[at] & 0x80 != 0 { 4 } else { 1 };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A redundant block header as an encoder writes it.
    fn header(pt: u8, ts_offset: u16, len: usize) -> [u8; 4] {
        let word = 0x8000_0000u32
            | (u32::from(pt) << 24)
            | (u32::from(ts_offset & 0x3FFF) << 10)
            | (len as u32 & 0x3FF);
        word.to_be_bytes()
    }

    /// Chromium's shape with one level of redundancy: the previous 20 ms frame (960 samples
    /// back at 48 kHz) and the current one, both Opus on payload type 111.
    fn chromium_red(previous: &[u8], current: &[u8]) -> Vec<u8> {
        let mut p = header(111, 960, previous.len()).to_vec();
        p.push(111);
        p.extend_from_slice(previous);
        p.extend_from_slice(current);
        p
    }

    #[test]
    fn the_primary_of_a_one_level_red_payload_is_the_current_frame() {
        let previous = [0x78, 0x01, 0x02, 0x03, 0x04];
        let current = [0x78, 0x0A, 0x0B, 0x0C];
        let p = chromium_red(&previous, &current);
        assert_eq!(primary(&p), Ok((111, &current[..])));
        let l = layout(&p).expect("valid");
        assert_eq!((l.primary_at, l.redundant), (4 + 1 + previous.len(), 1));
    }

    #[test]
    fn a_first_packet_without_redundancy_is_its_own_primary() {
        // The first packet of a stream (nothing earlier to repeat): the final header alone.
        let p = [111, 0xFC, 0xFF, 0xFE];
        assert_eq!(primary(&p), Ok((111, &p[1..])));
    }

    #[test]
    fn two_levels_of_redundancy_are_skipped_to_the_primary() {
        let mut p = header(111, 1920, 3).to_vec();
        p.extend_from_slice(&header(111, 960, 2));
        p.push(111);
        p.extend_from_slice(&[1, 1, 1, 2, 2, 9, 9, 9]);
        assert_eq!(primary(&p), Ok((111, &[9, 9, 9][..])));
        assert_eq!(layout(&p).map(|l| l.redundant), Ok(2));
    }

    #[test]
    fn a_primary_of_another_codec_is_reported_with_its_payload_type() {
        // RFC 2198 allows a primary of any codec; the caller forwards only Opus.
        let p = [13, 0x20];
        assert_eq!(primary(&p), Ok((13, &[0x20][..])));
    }

    #[test]
    fn malformed_payloads_are_errors_never_panics() {
        assert_eq!(primary(&[]), Err(RedError::Empty));
        // A redundant header cut short, and one with no final header after it.
        assert_eq!(primary(&[0xEF, 0x0F]), Err(RedError::TruncatedHeader));
        assert_eq!(
            primary(&header(111, 960, 0)),
            Err(RedError::TruncatedHeader)
        );
        // A redundant block longer than what follows.
        let mut over = header(111, 960, 200).to_vec();
        over.extend_from_slice(&[111, 1, 2, 3]);
        assert_eq!(primary(&over), Err(RedError::BlocksOverrun));
        // The redundant block takes every byte: no current frame.
        let mut no_primary = header(111, 960, 3).to_vec();
        no_primary.extend_from_slice(&[111, 1, 2, 3]);
        assert_eq!(primary(&no_primary), Err(RedError::EmptyPrimary));
        // The final header alone.
        assert_eq!(primary(&[111]), Err(RedError::EmptyPrimary));
        // More redundant headers than any encoder sends.
        let many: Vec<u8> = (0..=MAX_REDUNDANT)
            .flat_map(|_| header(111, 960, 0))
            .chain([111, 1])
            .collect();
        assert_eq!(primary(&many), Err(RedError::TruncatedHeader));
    }

    #[test]
    fn every_prefix_and_every_byte_pattern_of_a_short_payload_is_read_without_panic() {
        let p = chromium_red(&[1, 2, 3, 4, 5], &[6, 7, 8]);
        for end in 0..=p.len() {
            let _ = primary(&p[..end]);
            let _ = rewrite_pt(&p[..end], 111, 96);
        }
        for a in 0..=255u8 {
            for b in [0u8, 1, 0x03, 0x80, 0xFF] {
                let _ = primary(&[a, b, a, b, a]);
                let _ = rewrite_pt(&[a, b, a, b, a], 111, 96);
            }
        }
    }

    #[test]
    fn rewriting_the_payload_type_changes_only_the_headers_that_name_it() {
        let mut p = header(111, 960, 2).to_vec();
        p.extend_from_slice(&header(13, 960, 1));
        p.push(111);
        p.extend_from_slice(&[111, 111, 13, 111]);
        let out = rewrite_pt(&p, 111, 96).expect("valid");
        let mut want = header(96, 960, 2).to_vec();
        want.extend_from_slice(&header(13, 960, 1));
        want.push(96);
        // The blocks' data is untouched, even bytes that look like a payload type.
        want.extend_from_slice(&[111, 111, 13, 111]);
        assert_eq!(out, want);
        assert_eq!(primary(&out), Ok((96, &[111][..])));
        assert_eq!(rewrite_pt(&[0xEF], 111, 96), Err(RedError::TruncatedHeader));
    }
}
