//! Which shard a datagram on the shared media port belongs to (pure: no socket, no clock).
//!
//! Every shard gives its peers an ICE ufrag that starts with the shard's tag
//! ([`local_credentials`]). A browser's first datagram to the port is a STUN binding request
//! whose `USERNAME` is `<our ufrag>:<its ufrag>`, so the tag names the shard without any
//! table shared between threads; the [`Steering`] table then remembers the source address
//! for the DTLS and SRTP that follow (they carry no ufrag). Everything else (an unknown
//! source that is not such a request, a truncated or malformed STUN message, a tag no shard
//! has) is dropped and counted by the caller.

use std::collections::HashMap;
use std::net::SocketAddr;

use str0m::IceCreds;

/// Shard tags, in shard order: the first byte of a sharded peer's ufrag (ICE `ice-char`s).
const TAGS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Most shards a node runs (one tag each).
pub const MAX_SHARDS: usize = TAGS.len();

/// Addresses remembered per generation at most: a flood of STUN requests from spoofed
/// sources cannot grow the table beyond two generations of this.
const MAX_LEARNED: usize = 1 << 17;

const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const STUN_BINDING_REQUEST: u16 = 0x0001;
const STUN_USERNAME: u16 = 0x0006;

/// ICE credentials for a new peer of `shard`: str0m's random ufrag (16 characters, ~95 bits)
/// behind the shard's tag, and its random password.
pub fn local_credentials(shard: usize) -> IceCreds {
    let mut creds = IceCreds::new();
    let tag = TAGS[shard % MAX_SHARDS] as char;
    creds.ufrag.insert(0, tag);
    creds
}

/// The shard whose tag `ufrag` starts with.
pub fn shard_of_ufrag(ufrag: &str) -> Option<usize> {
    let tag = *ufrag.as_bytes().first()?;
    TAGS.iter().position(|&t| t == tag)
}

/// The shard a STUN binding request names through the tag of our ufrag in its `USERNAME`;
/// `None` for anything that is not a well-formed binding request with a username.
pub fn shard_of_stun(data: &[u8]) -> Option<usize> {
    let tag = *stun_username(data)?.first()?;
    TAGS.iter().position(|&t| t == tag)
}

/// The `USERNAME` attribute's value of a STUN binding request (RFC 8489 §5, §14.3).
fn stun_username(data: &[u8]) -> Option<&[u8]> {
    if data.len() < 20 || data[0] & 0xC0 != 0 || data[4..8] != STUN_MAGIC {
        return None;
    }
    if u16::from_be_bytes([data[0], data[1]]) != STUN_BINDING_REQUEST {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([data[2], data[3]]));
    let body = data.get(20..20 + length)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + len)?;
        if kind == STUN_USERNAME {
            return Some(value);
        }
        // Values are padded to a multiple of four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// Where each datagram goes: learned source addresses, by shard.
///
/// Two generations: [`Steering::rotate`] (called every minute or so) forgets addresses that
/// sent nothing for a whole generation; a live peer sends every second (RTCP, consent
/// checks), so it is carried over on its next datagram.
#[derive(Debug)]
pub struct Steering {
    shards: usize,
    current: HashMap<SocketAddr, u8>,
    previous: HashMap<SocketAddr, u8>,
}

impl Steering {
    /// Steering for `shards` shards (1 to [`MAX_SHARDS`]).
    pub fn new(shards: usize) -> Steering {
        Steering {
            shards: shards.clamp(1, MAX_SHARDS),
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    /// The shard `data` from `source` goes to, or `None` to drop it. A STUN request with a
    /// known tag (re)assigns its source, so an address reused by another peer follows it.
    pub fn steer(&mut self, source: SocketAddr, data: &[u8]) -> Option<usize> {
        if let Some(shard) = shard_of_stun(data).filter(|&s| s < self.shards) {
            self.learn(source, shard);
            return Some(shard);
        }
        if let Some(&shard) = self.current.get(&source) {
            return Some(usize::from(shard));
        }
        let shard = self.previous.remove(&source)?;
        self.learn(source, usize::from(shard));
        Some(usize::from(shard))
    }

    /// Starts a new generation: addresses not seen since the last rotation are forgotten.
    pub fn rotate(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }

    /// Addresses remembered now.
    pub fn learned(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    fn learn(&mut self, source: SocketAddr, shard: usize) {
        if self.current.len() < MAX_LEARNED || self.current.contains_key(&source) {
            // `shard` < self.shards <= MAX_SHARDS, which fits in a byte.
            self.current.insert(source, shard as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN binding request whose USERNAME is `username`, with a PRIORITY attribute
    /// before it (so the walk over attributes is exercised).
    fn binding_request(username: &[u8]) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&0x0024u16.to_be_bytes()); // PRIORITY
        attrs.extend_from_slice(&4u16.to_be_bytes());
        attrs.extend_from_slice(&[0, 0, 0, 1]);
        attrs.extend_from_slice(&STUN_USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username);
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        let mut m = Vec::new();
        m.extend_from_slice(&STUN_BINDING_REQUEST.to_be_bytes());
        m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        m.extend_from_slice(&STUN_MAGIC);
        m.extend_from_slice(&[7; 12]); // transaction id
        m.extend_from_slice(&attrs);
        m
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    const SRTP: &[u8] = &[0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];

    #[test]
    fn each_shards_credentials_carry_its_tag_and_stay_random() {
        let a = local_credentials(1);
        let b = local_credentials(1);
        assert!(a.ufrag.starts_with('1'), "{}", a.ufrag);
        assert_eq!(a.ufrag.len(), 17);
        assert_ne!(a.ufrag, b.ufrag);
        assert_ne!(a.pass, b.pass);
        let request = binding_request(format!("{}:browser", a.ufrag).as_bytes());
        assert_eq!(shard_of_stun(&request), Some(1));
        let request = binding_request(format!("{}:x", local_credentials(37).ufrag).as_bytes());
        assert_eq!(shard_of_stun(&request), Some(37));
    }

    #[test]
    fn a_binding_request_steers_its_source_and_the_media_that_follows() {
        let mut s = Steering::new(2);
        assert_eq!(s.steer(addr(1), SRTP), None, "unknown source, no STUN");
        let ufrag = local_credentials(1).ufrag;
        let stun = binding_request(format!("{ufrag}:remote").as_bytes());
        assert_eq!(s.steer(addr(1), &stun), Some(1));
        assert_eq!(s.steer(addr(1), SRTP), Some(1));
        assert_eq!(
            s.steer(addr(2), SRTP),
            None,
            "another port is another source"
        );
        // The same address comes back as a peer of shard 0 (a NAT reused the mapping).
        let stun0 = binding_request(format!("{}:r", local_credentials(0).ufrag).as_bytes());
        assert_eq!(s.steer(addr(1), &stun0), Some(0));
        assert_eq!(s.steer(addr(1), SRTP), Some(0));
    }

    #[test]
    fn a_tag_of_a_shard_this_node_does_not_run_is_dropped() {
        let mut s = Steering::new(2);
        let stun = binding_request(format!("{}:r", local_credentials(2).ufrag).as_bytes());
        assert_eq!(s.steer(addr(1), &stun), None);
        assert_eq!(s.steer(addr(1), SRTP), None, "nothing was learned");
        let stun = binding_request(b"~bad:r");
        assert_eq!(s.steer(addr(1), &stun), None);
    }

    #[test]
    fn malformed_stun_is_dropped_without_reading_past_its_end() {
        let mut s = Steering::new(2);
        let good = binding_request(b"1abc:r");
        assert_eq!(s.steer(addr(9), &good), Some(1));
        let mut s = Steering::new(2);
        for cut in 0..good.len() {
            assert_eq!(s.steer(addr(1), &good[..cut]), None, "cut at {cut}");
        }
        // An attribute claiming more bytes than the message has.
        let mut long = good.clone();
        long[20 + 8 + 2..20 + 8 + 4].copy_from_slice(&0xFFFFu16.to_be_bytes());
        assert_eq!(s.steer(addr(1), &long), None);
        // Not a binding request (a binding success response), and a bad magic cookie.
        let mut response = good.clone();
        response[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
        assert_eq!(s.steer(addr(1), &response), None);
        let mut cookie = good;
        cookie[4] = 0;
        assert_eq!(s.steer(addr(1), &cookie), None);
        assert_eq!(s.steer(addr(1), &[]), None);
        assert_eq!(s.learned(), 0);
    }

    #[test]
    fn rotation_forgets_only_sources_silent_for_a_whole_generation() {
        let mut s = Steering::new(3);
        let stun =
            |shard| binding_request(format!("{}:r", local_credentials(shard).ufrag).as_bytes());
        assert_eq!(s.steer(addr(1), &stun(2)), Some(2));
        assert_eq!(s.steer(addr(2), &stun(1)), Some(1));
        s.rotate();
        // addr(1) stays active; addr(2) is silent.
        assert_eq!(s.steer(addr(1), SRTP), Some(2));
        s.rotate();
        assert_eq!(s.steer(addr(1), SRTP), Some(2));
        assert_eq!(s.steer(addr(2), SRTP), None);
        assert_eq!(s.learned(), 1);
    }
}
