//! Many datagrams per system call (`recvmmsg`): the tap's receive path, where one wake of a
//! site's socket usually finds several packets waiting (a keyframe arrives as a burst).

use std::io;
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
}
