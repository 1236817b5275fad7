//! Many datagrams per system call (`recvmmsg`): the tap's receive path, where one wake of a
//! site's socket usually finds several packets waiting (a keyframe arrives as a burst).

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;

/// Datagrams read per call.
pub const BATCH: usize = 32;
/// Room per datagram: the SFU sends at most ~1200 bytes; larger ones are cut (and then fail
/// SRTP authentication if sampled, which the run reports).
pub const DATAGRAM: usize = 2048;

/// Receive buffers, reused for every call.
pub struct Batch {
    bufs: Box<[[u8; DATAGRAM]; BATCH]>,
    lens: [usize; BATCH],
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            bufs: Box::new([[0; DATAGRAM]; BATCH]),
            lens: [0; BATCH],
        }
    }
}

impl Batch {
    /// The `i`-th datagram of the last [`Batch::recv`].
    pub fn get(&self, i: usize) -> &[u8] {
        &self.bufs[i][..self.lens[i]]
    }

    /// Reads up to [`BATCH`] datagrams from the non-blocking socket `fd` without waiting;
    /// `WouldBlock` when there is none.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: all-zero iovec and mmsghdr are valid (null pointers, zero lengths).
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut hdr: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for ((v, h), buf) in iov.iter_mut().zip(hdr.iter_mut()).zip(self.bufs.iter_mut()) {
            v.iov_base = buf.as_mut_ptr().cast();
            v.iov_len = DATAGRAM;
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at one live iovec of this frame, each iovec at one
        // buffer of `self` that outlives the call; the kernel writes at most `iov_len` bytes.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                hdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (len, h) in self.lens.iter_mut().zip(&hdr).take(n) {
            *len = h.msg_len as usize;
        }
        Ok(n)
    }
}

/// Sends `datagrams` to `to` with as few `sendmmsg` calls as the kernel allows, without
/// waiting: what does not fit in the socket buffer is dropped, as a full link would. IPv4
/// only (`Unsupported` otherwise: the caller sends one at a time); the tap binds loopback.
pub fn send_all(fd: RawFd, datagrams: &[&[u8]], to: SocketAddr) -> io::Result<()> {
    let SocketAddr::V4(v4) = to else {
        return Err(io::ErrorKind::Unsupported.into());
    };
    // SAFETY: an all-zero sockaddr_in is valid; the fields are then set.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = v4.port().to_be();
    sa.sin_addr = libc::in_addr {
        s_addr: u32::from_ne_bytes(v4.ip().octets()),
    };
    for chunk in datagrams.chunks(BATCH) {
        // SAFETY: as in `recv`.
        let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
        let mut hdr: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for ((v, h), d) in iov.iter_mut().zip(hdr.iter_mut()).zip(chunk) {
            // The kernel only reads through this pointer (sendmmsg).
            v.iov_base = d.as_ptr() as *mut libc::c_void;
            v.iov_len = d.len();
            h.msg_hdr.msg_iov = v;
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_name = (&mut sa as *mut libc::sockaddr_in).cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        }
        let mut sent = 0;
        while sent < chunk.len() {
            // SAFETY: headers `sent..chunk.len()` point at live iovecs, datagrams and `sa`.
            let n = unsafe {
                libc::sendmmsg(
                    fd,
                    hdr.as_mut_ptr().add(sent),
                    (chunk.len() - sent) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                break;
            }
            sent += n as usize;
        }
    }
    Ok(())
}

/// Asks for a receive buffer of `bytes` on socket `fd` (the kernel caps it at
/// `net.core.rmem_max` and doubles it for its bookkeeping).
pub fn set_receive_buffer(fd: RawFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: `v` outlives the call and the length names its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn waiting_datagrams_come_in_one_call_in_order() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = Batch::default();
        let err = batch.recv(rx.as_raw_fd()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        for i in 0..5u8 {
            tx.send_to(&[i; 100], rx.local_addr().unwrap()).unwrap();
        }
        // Loopback delivers synchronously, but poll to be safe.
        let mut got = Vec::new();
        for _ in 0..100 {
            match batch.recv(rx.as_raw_fd()) {
                Ok(n) => got.extend((0..n).map(|i| batch.get(i).to_vec())),
                Err(_) if got.len() == 5 => break,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
        assert_eq!(got, (0..5u8).map(|i| vec![i; 100]).collect::<Vec<_>>());
    }

    #[test]
    fn a_batch_sent_in_one_call_arrives_whole_and_in_order() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let data: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
        let refs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
        send_all(tx.as_raw_fd(), &refs, rx.local_addr().unwrap()).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 100];
        for d in &data {
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (d.as_slice(), tx.local_addr().unwrap()));
        }
    }

    #[test]
    fn a_larger_receive_buffer_is_granted() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let get = || {
            let mut v: libc::c_int = 0;
            let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: `v` and `len` outlive the call; `len` names `v`'s size.
            let r = unsafe {
                libc::getsockopt(
                    rx.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&mut v as *mut libc::c_int).cast(),
                    &mut len,
                )
            };
            assert_eq!(r, 0);
            v
        };
        let before = get();
        set_receive_buffer(rx.as_raw_fd(), 4 * before as usize).unwrap();
        assert!(get() > before, "{} after {before}", get());
    }
}
