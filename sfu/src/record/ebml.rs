//! The few EBML encodings a Matroska/WebM writer needs: element IDs, sizes as
//! variable-length integers, unsigned, float and string payloads (pure).
//!
//! Hand-written rather than a crate: the writer needs about a dozen element kinds, its
//! clusters must be written whole with their size known (so a killed server leaves only
//! complete clusters), and the Rust WebM crates on crates.io either bind libwebm (C++) or
//! write clusters of unknown size. Element IDs: <https://www.matroska.org/technical/elements.html>.

/// The size marker of an element whose size is not known when it is written (the segment,
/// which grows while recording).
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Appends an element ID (its bytes already carry the length marker).
pub fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends `n` as the shortest EBML variable-length size (up to 2^56 - 2).
pub fn size(out: &mut Vec<u8>, n: u64) {
    let mut len = 1;
    // A vint of `len` bytes holds 7 * len bits; all ones is reserved for "unknown".
    while len < 8 && n >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

/// Appends a whole element: ID, size, body.
pub fn element(out: &mut Vec<u8>, eid: u32, body: &[u8]) {
    id(out, eid);
    size(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Appends an unsigned integer element in the fewest bytes.
pub fn uint(out: &mut Vec<u8>, eid: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    element(out, eid, &bytes[skip..]);
}

/// Appends an 8-byte float element.
pub fn float(out: &mut Vec<u8>, eid: u32, v: f64) {
    element(out, eid, &v.to_be_bytes());
}

/// Appends a string element.
pub fn string(out: &mut Vec<u8>, eid: u32, v: &str) {
    element(out, eid, v.as_bytes());
}

/// Reads a variable-length integer at the start of `buf`: (value with the marker removed,
/// its length). `None` when `buf` is too short or the first byte is zero.
pub fn read_vint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = buf.get(..len)?;
    let mut v = u64::from(first) & (0xFF >> len);
    for b in &bytes[1..] {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, len))
}

/// Reads an element ID at the start of `buf`: (ID with its marker kept, its length).
pub fn read_id(buf: &[u8]) -> Option<(u32, usize)> {
    let first = *buf.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let bytes = buf.get(..len)?;
    Some((
        bytes.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)),
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_the_shortest_vint_and_read_back() {
        for (n, want) in [
            (0u64, vec![0x80]),
            (126, vec![0xFE]),
            (127, vec![0x40, 0x7F]),
            (300, vec![0x41, 0x2C]),
            (16_383, vec![0x20, 0x3F, 0xFF]),
        ] {
            let mut out = Vec::new();
            size(&mut out, n);
            assert_eq!(out, want, "size {n}");
            assert_eq!(read_vint(&out), Some((n, want.len())));
        }
    }

    #[test]
    fn ids_keep_their_marker_and_uints_drop_leading_zeros() {
        let mut out = Vec::new();
        uint(&mut out, 0x2AD7B1, 1_000_000);
        assert_eq!(out, [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]);
        assert_eq!(read_id(&out), Some((0x2AD7B1, 3)));
        let mut zero = Vec::new();
        uint(&mut zero, 0xE7, 0);
        assert_eq!(zero, [0xE7, 0x81, 0x00]);
    }
}
