//! Who may hold a connection open before proving anything: counts of open HTTP connections
//! per client address, and of WebSocket sockets that have not joined yet, per address and
//! for the whole node. A stranger without a token can otherwise hold every file descriptor
//! (slowloris, or a socket that sends only `ping`) and stop real sites from joining.
//!
//! Each admitted connection or socket holds a [`Pass`]; dropping it gives the place back, so
//! a count cannot leak whichever way the connection ends. Pure counting: no I/O, no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection or socket was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// This address already holds `limit` places of this kind.
    #[error("too many {what} from your address (at most {limit})")]
    PerAddress {
        /// What was counted, e.g. "open connections".
        what: &'static str,
        /// The cap per address.
        limit: usize,
    },
    /// The node already holds `limit` places of this kind.
    #[error("too many {what} on this server (at most {limit}); try again in a moment")]
    PerNode {
        /// What was counted.
        what: &'static str,
        /// The cap for the node.
        limit: usize,
    },
}

#[derive(Debug, Default)]
struct Counts {
    per_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// Places of one kind (e.g. "open connections"), counted per address and in total.
///
/// A `std::sync::Mutex`: held only for a map update, never across an `.await`.
#[derive(Debug)]
pub struct Door {
    what: &'static str,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted place; dropping it frees the place.
#[derive(Debug)]
pub struct Pass {
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Door {
    /// A door counting places called `what` in error messages.
    pub fn new(what: &'static str) -> Self {
        Door {
            what,
            counts: Arc::default(),
        }
    }

    /// Lets `ip` in when it holds fewer than `per_address` places and the node fewer than
    /// `per_node`.
    pub fn admit(&self, ip: IpAddr, per_address: usize, per_node: usize) -> Result<Pass, Refused> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= per_node {
            return Err(Refused::PerNode {
                what: self.what,
                limit: per_node,
            });
        }
        let held = c.per_address.entry(ip).or_insert(0);
        if *held >= per_address {
            return Err(Refused::PerAddress {
                what: self.what,
                limit: per_address,
            });
        }
        *held += 1;
        c.total += 1;
        Ok(Pass {
            ip,
            counts: self.counts.clone(),
        })
    }

    /// Places `ip` holds now.
    pub fn held_by(&self, ip: IpAddr) -> usize {
        let c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.per_address.get(&ip).copied().unwrap_or(0)
    }

    /// Places held on the node now.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_address.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_its_cap_is_refused_while_another_gets_in() {
        let door = Door::new("open connections");
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = door.admit(a, 2, 10).unwrap();
        let _second = door.admit(a, 2, 10).unwrap();
        assert_eq!(
            door.admit(a, 2, 10).unwrap_err(),
            Refused::PerAddress {
                what: "open connections",
                limit: 2
            }
        );
        let _other = door.admit(b, 2, 10).unwrap();
        drop(first);
        assert_eq!(door.held_by(a), 1, "a dropped pass frees its place");
        assert!(door.admit(a, 2, 10).is_ok());
    }

    #[test]
    fn the_node_cap_counts_every_address() {
        let door = Door::new("sockets not joined yet");
        let _a = door.admit("10.0.0.1".parse().unwrap(), 5, 2).unwrap();
        let _b = door.admit("10.0.0.2".parse().unwrap(), 5, 2).unwrap();
        let refused = door.admit("10.0.0.3".parse().unwrap(), 5, 2).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "too many sockets not joined yet on this server (at most 2); try again in a moment"
        );
        assert_eq!(door.total(), 2);
    }
}
