//! The kernel's count of datagrams dropped at the media socket because its receive buffer was
//! full: what the media thread never saw, so no counter of its own can report it. Read from
//! the `drops` column of `/proc/net/udp` and `/proc/net/udp6` at scrape time, never on the
//! packet path. Every row bound to the media port counts, so sockets sharing the port
//! (`SO_REUSEPORT` shards) add up. The files show the reading process's network namespace,
//! which is the SFU's own.

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounter, Opts};

/// One socket row of `/proc/net/udp{,6}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRow {
    /// Local port.
    pub port: u16,
    /// The socket's inode (as in `/proc/<pid>/fd/* -> socket:[inode]`).
    pub inode: u64,
    /// Datagrams the kernel dropped for this socket (receive buffer full, or filtered).
    pub drops: u64,
}

/// The socket rows of one `/proc/net/udp` or `/proc/net/udp6` text; the header and any line
/// that does not read as a row are skipped (a future kernel adding columns keeps `drops`
/// last, which is where it is read).
pub fn parse_proc_net_udp(text: &str) -> Vec<UdpRow> {
    text.lines().filter_map(parse_row).collect()
}

fn parse_row(line: &str) -> Option<UdpRow> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if fields.len() < 13 || !fields[0].ends_with(':') {
        return None;
    }
    let (_, port) = fields[1].rsplit_once(':')?;
    Some(UdpRow {
        port: u16::from_str_radix(port, 16).ok()?,
        inode: fields[9].parse().ok()?,
        drops: fields.last()?.parse().ok()?,
    })
}

/// Drops summed over the rows bound to `port`, `None` when no row is (not Linux, no such
/// socket): the metric is then absent rather than a false zero.
pub fn drops_on_port(rows: &[UdpRow], port: u16) -> Option<u64> {
    let mut on_port = rows.iter().filter(|r| r.port == port).peekable();
    on_port.peek()?;
    Some(on_port.map(|r| r.drops).sum())
}

/// Reads both files now: the kernel's drops at the UDP sockets bound to `port`.
pub fn read_drops(port: u16) -> Option<u64> {
    let mut rows = Vec::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        if let Ok(text) = std::fs::read_to_string(file) {
            rows.extend(parse_proc_net_udp(&text));
        }
    }
    drops_on_port(&rows, port)
}

/// `diemcau_sfu_socket_drops_total`: a counter read from the kernel at every scrape.
#[derive(Debug)]
pub(crate) struct SocketDrops {
    port: u16,
    desc: Vec<Desc>,
}

const NAME: &str = "diemcau_sfu_socket_drops_total";
const HELP: &str =
    "Datagrams the kernel dropped at the media socket (receive buffer full), from /proc/net/udp";

impl SocketDrops {
    /// The collector for the media socket bound to `port`.
    pub fn new(port: u16) -> Result<Self, prometheus::Error> {
        let desc = IntCounter::with_opts(Opts::new(NAME, HELP))?
            .desc()
            .into_iter()
            .cloned()
            .collect();
        Ok(SocketDrops { port, desc })
    }
}

impl Collector for SocketDrops {
    fn desc(&self) -> Vec<&Desc> {
        self.desc.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let Some(drops) = read_drops(self.port) else {
            return Vec::new();
        };
        match IntCounter::with_opts(Opts::new(NAME, HELP)) {
            Ok(c) => {
                c.inc_by(drops);
                c.collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from this machine's `/proc/net/udp` (Linux 6.x) while a socket with a small
    /// receive buffer was flooded on loopback: port 0xB3C1 dropped 1997.
    const UDP: &str = include_str!("../fixtures/proc/net-udp.txt");
    /// Captured from `/proc/net/udp6`.
    const UDP6: &str = include_str!("../fixtures/proc/net-udp6.txt");

    #[test]
    fn the_drops_column_is_read_per_socket() {
        let rows = parse_proc_net_udp(UDP);
        assert!(rows.len() >= 2, "{rows:?}");
        let flooded = rows.iter().find(|r| r.port == 0xB3C1).expect("flooded row");
        assert_eq!(flooded.drops, 1997);
        assert!(flooded.inode > 0);
        assert!(rows.iter().any(|r| r.port != 0xB3C1 && r.drops == 0));
    }

    #[test]
    fn ipv6_rows_are_read_too() {
        let rows = parse_proc_net_udp(UDP6);
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.port > 0));
    }

    #[test]
    fn rows_on_the_same_port_add_up_and_a_missing_port_is_none() {
        let rows = [
            UdpRow {
                port: 5000,
                inode: 1,
                drops: 3,
            },
            UdpRow {
                port: 5000,
                inode: 2,
                drops: 4,
            },
            UdpRow {
                port: 5001,
                inode: 3,
                drops: 100,
            },
        ];
        assert_eq!(drops_on_port(&rows, 5000), Some(7));
        assert_eq!(drops_on_port(&rows, 5002), None);
    }

    #[test]
    fn the_header_and_garbage_are_not_rows() {
        assert!(
            parse_proc_net_udp("  sl  local_address rem_address   st tx_queue\n\nnonsense\n")
                .is_empty()
        );
    }
}
