//! Incoming UDP datagrams read with one `recvmmsg` system call per batch.
//!
//! The media thread used one `recvfrom` per datagram, and one more that ended in `EAGAIN`
//! per wake (4-5 calls per wake, 1.6-2.4% of the SFU's CPU in the issue 15 profile). The
//! batch's buffers are allocated once; a read fills up to [`RECV_BATCH`] of them.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams read per system call at most.
pub const RECV_BATCH: usize = 32;
/// Room for one datagram; longer ones are cut, as they were with `recv_from` into 2 KiB
/// (nothing str0m accepts is longer than its 1,200-byte MTU plus headers).
const DATAGRAM_ROOM: usize = 2048;

/// Buffers for one `recvmmsg` and what the last one read.
pub struct RecvBatch {
    bufs: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    lens: Vec<usize>,
    count: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        // SAFETY: an all-zero sockaddr_storage is a valid (unspecified) address.
        let empty: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        RecvBatch {
            bufs: vec![0; RECV_BATCH * DATAGRAM_ROOM],
            names: vec![empty; RECV_BATCH],
            lens: vec![0; RECV_BATCH],
            count: 0,
        }
    }
}

impl RecvBatch {
    /// Reads what waits on `socket`, up to [`RECV_BATCH`] datagrams, without blocking;
    /// returns how many (`WouldBlock` when none).
    pub fn read(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        // SAFETY: all-zero iovecs and mmsghdrs are valid; each is filled in below.
        let mut iovs: [libc::iovec; RECV_BATCH] = unsafe { std::mem::zeroed() };
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
        for (i, (buf, name)) in self
            .bufs
            .chunks_mut(DATAGRAM_ROOM)
            .zip(self.names.iter_mut())
            .enumerate()
        {
            iovs[i] = libc::iovec {
                iov_base: buf.as_mut_ptr() as *mut libc::c_void,
                iov_len: buf.len(),
            };
            let hdr = &mut msgs[i].msg_hdr;
            hdr.msg_name = name as *mut libc::sockaddr_storage as *mut libc::c_void;
            hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_iov = &mut iovs[i] as *mut libc::iovec;
            hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live buffer and address slot of `self` and at
        // `iovs`, all of which outlive the call; the count matches the array.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, m) in msgs.iter().take(n).enumerate() {
            self.lens[i] = (m.msg_len as usize).min(DATAGRAM_ROOM);
        }
        self.count = n;
        Ok(n)
    }

    /// Datagram `i` of the last read: its source and bytes (`None` past the count or for a
    /// source that is not an IP address).
    pub fn get(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        if i >= self.count {
            return None;
        }
        let source = socket_addr(&self.names[i])?;
        let start = i * DATAGRAM_ROOM;
        Some((source, &self.bufs[start..start + self.lens[i]]))
    }
}

/// One wake's reading of a socket: batch after batch until it is empty (a short batch says
/// so, with no call that ends in `EAGAIN`), a read fails, or `limit` datagrams came (the
/// rest waits for the next wake, so the timers and the other sockets get their turn).
pub struct WakeRead {
    read: usize,
    limit: usize,
    emptied: bool,
}

impl WakeRead {
    pub fn new(limit: usize) -> WakeRead {
        WakeRead {
            read: 0,
            limit,
            emptied: false,
        }
    }

    /// Reads the next batch into `batch`: how many datagrams it holds, or `None` when this
    /// wake's reading is over.
    pub fn next(&mut self, batch: &mut RecvBatch, socket: &UdpSocket) -> Option<usize> {
        if self.emptied || self.read >= self.limit {
            return None;
        }
        match batch.read(socket) {
            Ok(n) => {
                self.read += n;
                self.emptied = n < RECV_BATCH;
                Some(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(e) => {
                tracing::debug!("udp recv error: {e}");
                None
            }
        }
    }
}

/// The IP address and port the kernel wrote into `s`.
fn socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is sized for.
            let a = unsafe { &*(s as *const libc::sockaddr_storage as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_ipv6_source_address_whole() {
        let Ok(rx) = UdpSocket::bind("[::1]:0") else {
            return; // no IPv6 loopback in this namespace: nothing to read it over
        };
        let tx = UdpSocket::bind("[::1]:0").expect("bind");
        tx.send_to(b"v6", rx.local_addr().expect("addr"))
            .expect("send");
        let mut batch = RecvBatch::default();
        for _ in 0..100 {
            if batch.read(&rx).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (src, data) = batch.get(0).expect("a datagram");
        assert_eq!(src, tx.local_addr().expect("addr"));
        assert_eq!(data, b"v6");
    }

    #[test]
    fn reads_several_datagrams_in_one_call_with_their_sources_and_bytes() {
        let rx = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let b = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let to = rx.local_addr().expect("addr");
        a.send_to(b"one", to).expect("send");
        b.send_to(&[7u8; 1500], to).expect("send");
        a.send_to(b"three", to).expect("send");
        let mut batch = RecvBatch::default();
        // Loopback delivers at once, but poll for a bound rather than assume it.
        let mut got = Vec::new();
        for _ in 0..100 {
            match batch.read(&rx) {
                Ok(n) => {
                    for i in 0..n {
                        let (src, data) = batch.get(i).expect("datagram");
                        got.push((src, data.to_vec()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("recvmmsg: {e}"),
            }
            if got.len() == 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let a_addr = a.local_addr().expect("addr");
        let b_addr = b.local_addr().expect("addr");
        assert_eq!(
            got,
            vec![
                (a_addr, b"one".to_vec()),
                (b_addr, vec![7u8; 1500]),
                (a_addr, b"three".to_vec()),
            ]
        );
        assert!(batch.get(3).is_none());
        assert_eq!(
            batch.read(&rx).map_err(|e| e.kind()),
            Err(io::ErrorKind::WouldBlock)
        );
    }
}
