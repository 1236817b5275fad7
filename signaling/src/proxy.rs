//! Which peers may tell us a client's address (`trusted_proxies`), and the client address a
//! request counts under. Behind a reverse proxy every connection comes from the proxy, so
//! the per-address limits need the address the proxy saw, which it appends to
//! `X-Forwarded-For`. Anyone else who reaches the port directly could write that header
//! too and pose as any number of addresses: only a trusted peer's header is believed.

use std::net::IpAddr;

/// One `trusted_proxies` entry: an address (`10.0.0.5`) or a network (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

/// A `trusted_proxies` entry that is not an address or `address/prefix`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)")]
pub struct BadNet(pub String);

impl std::str::FromStr for Net {
    type Err = BadNet;

    fn from_str(s: &str) -> Result<Self, BadNet> {
        let bad = || BadNet(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Net { addr, prefix })
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Net {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 peer counts as its IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The default `trusted_proxies`: a proxy on the same machine (the setup `deploy/README.md`
/// describes first).
pub fn loopback() -> Vec<Net> {
    vec![
        Net {
            addr: IpAddr::from([127, 0, 0, 0]),
            prefix: 8,
        },
        Net {
            addr: IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            prefix: 128,
        },
    ]
}

/// The address a request counts under. Without `behind_proxy`, or from a peer not in
/// `trusted`, the connection's own address. From a trusted proxy, the last entry of the
/// last `X-Forwarded-For` line (`forwarded_for`): the one our proxy appended; earlier entries
/// come from the client and prove nothing. An unreadable entry counts as the proxy itself.
pub fn client_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    behind_proxy: bool,
    trusted: &[Net],
) -> IpAddr {
    if !behind_proxy || !trusted.iter().any(|n| n.contains(peer)) {
        return peer;
    }
    forwarded_for
        .and_then(|v| v.rsplit(',').next())
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        let trusted: Vec<Net> = vec!["10.0.0.0/8".parse().unwrap()];
        let header = Some("1.2.3.4, 203.0.113.7");
        assert_eq!(
            client_address(ip("10.0.0.9"), header, true, &trusted),
            ip("203.0.113.7"),
            "the proxy's own entry, not the client's"
        );
        assert_eq!(
            client_address(ip("198.51.100.1"), header, true, &trusted),
            ip("198.51.100.1"),
            "a stranger straight on the port cannot pose as another address"
        );
        assert_eq!(
            client_address(ip("10.0.0.9"), header, false, &trusted),
            ip("10.0.0.9"),
            "not behind a proxy: the header is ignored"
        );
        assert_eq!(
            client_address(ip("10.0.0.9"), Some("junk"), true, &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.9"), None, true, &trusted),
            ip("10.0.0.9")
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let lo = loopback();
        assert!(lo.iter().any(|n| n.contains(ip("127.0.0.2"))));
        assert!(lo.iter().any(|n| n.contains(ip("::1"))));
        assert!(lo.iter().any(|n| n.contains(ip("::ffff:127.0.0.1"))));
        assert!(!lo.iter().any(|n| n.contains(ip("10.0.0.1"))));
        let one: Net = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Net = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")));
        let v6: Net = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Net>().is_err(), "{bad}");
        }
    }
}
