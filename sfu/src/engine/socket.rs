//! The media socket's two system calls besides reading and sending: waiting on descriptors
//! (`ppoll`) and sizing the kernel buffers. Shared by the one-shard driver and the
//! dispatcher of several shards.

use std::net::UdpSocket;
use std::time::Duration;

use tracing::{info, warn};

/// What the media socket's kernel buffers are asked to hold. One thread reads every site's
/// packets: with the 208 KiB default the kernel dropped packets whenever that thread was off
/// the CPU for 30-60 ms (100 simulated sites on 2 cores lost 21-35%; with 4 MiB, none).
const SOCKET_BUFFER_BYTES: usize = 4 << 20;

/// Waits until one of `fds` is ready or `timeout` passes; each entry's `revents` says which.
/// `ppoll` sleeps on a high-resolution timer, so a wait of 1.2 ms lasts about 1.2 ms.
pub(super) fn wait(fds: &mut [libc::pollfd], timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `fds` is a valid slice of pollfds, `ts` a valid timespec, no signal mask.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    if n < 0 {
        // EINTR or an error: nothing is known to be ready; the loop goes round again.
        for f in fds.iter_mut() {
            f.revents = 0;
        }
    }
}

/// Asks for [`SOCKET_BUFFER_BYTES`] of receive and send buffer; the kernel caps it at
/// `net.core.rmem_max` / `wmem_max`, so a smaller result is logged with the fix.
pub(super) fn size_buffers(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    let _ = sock.set_recv_buffer_size(SOCKET_BUFFER_BYTES);
    let _ = sock.set_send_buffer_size(SOCKET_BUFFER_BYTES);
    let rx = sock.recv_buffer_size().unwrap_or(0);
    let tx = sock.send_buffer_size().unwrap_or(0);
    // Linux reports twice the size asked for (bookkeeping included).
    if rx < SOCKET_BUFFER_BYTES {
        warn!(
            rx,
            tx,
            "media socket buffers are smaller than asked for; raise net.core.rmem_max and net.core.wmem_max to {} (sysctl) so bursts are not dropped",
            SOCKET_BUFFER_BYTES
        );
    } else {
        info!(rx, tx, "media socket buffers");
    }
}
