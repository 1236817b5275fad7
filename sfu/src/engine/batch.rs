//! Outgoing UDP datagrams gathered and sent with one `sendmmsg` system call per batch.
//!
//! At a hundred sites a third of the media thread's time went into one `sendto` per packet
//! (profiled in session 2); the batch hands the kernel up to [`BATCH`] datagrams at a time.
//! The media thread pushes every UDP datagram str0m hands it and flushes when the batch is
//! full and before it waits for the socket again, so nothing is held longer than one pass
//! of the loop.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use socket2::SockAddr;

/// Datagrams sent per system call at most.
pub const BATCH: usize = 64;

/// Datagrams waiting to be sent.
#[derive(Default)]
pub struct SendBatch {
    bufs: Vec<Vec<u8>>,
    addrs: Vec<SockAddr>,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    /// Datagrams the kernel took.
    pub sent: u64,
    /// Datagrams it refused (full buffer, unreachable destination): dropped.
    pub failed: u64,
}

impl SendBatch {
    /// Adds one datagram; true when the batch is full and should be flushed.
    pub fn push(&mut self, destination: SocketAddr, datagram: Vec<u8>) -> bool {
        self.bufs.push(datagram);
        self.addrs.push(SockAddr::from(destination));
        self.bufs.len() >= BATCH
    }

    /// Datagrams waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.bufs.len()
    }

    /// Whether nothing waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.bufs.is_empty()
    }

    /// Sends everything waiting on `socket` (non-blocking); what the kernel refuses is
    /// dropped, as a full socket buffer would drop it.
    pub fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        let mut done = Flushed::default();
        if self.bufs.is_empty() {
            return done;
        }
        let mut iovs: Vec<libc::iovec> = self
            .bufs
            .iter()
            .map(|b| libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .zip(&self.addrs)
            .map(|(iov, addr)| {
                // SAFETY: an all-zero msghdr is valid (no control data, no flags).
                let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
                hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
                hdr.msg_namelen = addr.len();
                hdr.msg_iov = iov as *mut libc::iovec;
                hdr.msg_iovlen = 1;
                libc::mmsghdr {
                    msg_hdr: hdr,
                    msg_len: 0,
                }
            })
            .collect();
        let fd = socket.as_raw_fd();
        let mut at = 0;
        while at < msgs.len() {
            let left = &mut msgs[at..];
            // SAFETY: every mmsghdr points at a live iovec, buffer and address owned by
            // `self`/`iovs` for the duration of the call.
            let n = unsafe { libc::sendmmsg(fd, left.as_mut_ptr(), left.len() as libc::c_uint, 0) };
            if n > 0 {
                at += n as usize;
                done.sent += n as u64;
            } else {
                let err = std::io::Error::last_os_error();
                if err.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                if err.kind() == std::io::ErrorKind::WouldBlock {
                    // The socket buffer is full: the rest is dropped.
                    done.failed += (msgs.len() - at) as u64;
                    break;
                }
                // This datagram is refused (e.g. no route): drop it, send the rest.
                done.failed += 1;
                at += 1;
            }
        }
        self.bufs.clear();
        self.addrs.clear();
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reaches_each_destination_in_order() {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.set_nonblocking(true).unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = SendBatch::default();
        for i in 0..10u8 {
            let to = if i % 2 == 0 { &a } else { &b };
            assert!(!batch.push(to.local_addr().unwrap(), vec![i; 100 + usize::from(i)]));
        }
        assert_eq!(batch.len(), 10);
        assert_eq!(
            batch.flush(&tx),
            Flushed {
                sent: 10,
                failed: 0
            }
        );
        assert!(batch.is_empty());
        let mut buf = [0u8; 512];
        for (sock, first) in [(&a, 0u8), (&b, 1u8)] {
            for k in 0..5u8 {
                let (n, from) = sock.recv_from(&mut buf).unwrap();
                let i = first + 2 * k;
                assert_eq!(from, tx.local_addr().unwrap());
                assert_eq!(n, 100 + usize::from(i));
                assert!(buf[..n].iter().all(|x| *x == i));
            }
        }
    }

    #[test]
    fn the_batch_says_when_it_is_full() {
        let mut batch = SendBatch::default();
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for _ in 0..BATCH - 1 {
            assert!(!batch.push(to, vec![0]));
        }
        assert!(batch.push(to, vec![0]));
    }
}
