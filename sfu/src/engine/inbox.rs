//! A shard's incoming datagrams, handed over by the dispatcher (`dispatch.rs`).
//!
//! The dispatcher gathers a read's datagrams for each shard in a [`Datagrams`] of its own and
//! moves them in with one lock per batch; the shard swaps the whole queue out with one lock
//! per wake. Buffers keep their capacity on both sides, so nothing is allocated per datagram
//! once the queues have grown. An `eventfd` wakes the shard out of `ppoll` when its queue
//! goes from empty to not empty.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Instant;

/// Bytes a shard's queue holds at most: what the socket's receive buffer holds. Beyond it
/// (the shard is stuck) the dispatcher drops and counts, as the kernel would.
pub const INBOX_BYTES: usize = 4 << 20;

/// Datagrams in one contiguous buffer.
#[derive(Debug, Default)]
pub struct Datagrams {
    bytes: Vec<u8>,
    items: Vec<(SocketAddr, Instant, usize, usize)>,
}

impl Datagrams {
    /// Adds a copy of `data` from `source`, read at `arrived`.
    pub fn push(&mut self, source: SocketAddr, arrived: Instant, data: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(data);
        self.items.push((source, arrived, start, data.len()));
    }

    /// Datagrams held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Datagram `i`: its source, arrival and bytes.
    pub fn get(&self, i: usize) -> Option<(SocketAddr, Instant, &[u8])> {
        let &(source, arrived, start, len) = self.items.get(i)?;
        Some((source, arrived, &self.bytes[start..start + len]))
    }

    /// Empties it, keeping the buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }

    fn append(&mut self, other: &Datagrams) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.items.extend(
            other
                .items
                .iter()
                .map(|&(s, t, start, len)| (s, t, base + start, len)),
        );
    }
}

/// One shard's queue and the eventfd that wakes it.
#[derive(Debug)]
pub struct Inbox {
    queue: Mutex<Datagrams>,
    wake: OwnedFd,
}

impl Inbox {
    /// A new empty queue with its eventfd.
    pub fn new() -> io::Result<Inbox> {
        // SAFETY: eventfd takes no pointers; a negative result is an error, checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Inbox {
            queue: Mutex::new(Datagrams::default()),
            // SAFETY: `fd` was just created and is owned by nothing else.
            wake: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The fd that is readable while datagrams may wait (for `ppoll`).
    pub fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Moves `batch`'s datagrams in (it is left empty) and wakes the shard if its queue was
    /// empty. Returns how many were dropped because the queue was full.
    pub fn deliver(&self, batch: &mut Datagrams) -> usize {
        let was_empty = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            if q.bytes() + batch.bytes() > INBOX_BYTES {
                let n = batch.len();
                batch.clear();
                return n;
            }
            let was_empty = q.is_empty();
            if was_empty {
                std::mem::swap(&mut *q, batch);
            } else {
                q.append(batch);
            }
            was_empty
        };
        batch.clear();
        if was_empty {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd. A full counter
            // (EAGAIN) still leaves it readable, which is all the shard needs.
            unsafe {
                libc::write(
                    self.wake.as_raw_fd(),
                    &one as *const u64 as *const libc::c_void,
                    8,
                )
            };
        }
        0
    }

    /// Takes every waiting datagram into `into` (emptied first). The eventfd is cleared
    /// before the queue is taken, so a datagram delivered after the take wakes it again.
    pub fn take(&self, into: &mut Datagrams) {
        let mut count: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd.
        unsafe {
            libc::read(
                self.wake.as_raw_fd(),
                &mut count as *mut u64 as *mut libc::c_void,
                8,
            )
        };
        into.clear();
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *q, into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn delivered_datagrams_come_out_in_order_and_wake_the_shard_once() {
        let inbox = Inbox::new().expect("eventfd");
        let t = Instant::now();
        let a = SocketAddr::from(([127, 0, 0, 1], 1));
        let b = SocketAddr::from(([127, 0, 0, 1], 2));
        assert!(!readable(inbox.fd()));
        let mut batch = Datagrams::default();
        batch.push(a, t, b"one");
        assert_eq!(inbox.deliver(&mut batch), 0);
        assert!(batch.is_empty());
        assert!(readable(inbox.fd()));
        batch.push(b, t, b"two");
        batch.push(a, t, b"three");
        inbox.deliver(&mut batch);
        let mut got = Datagrams::default();
        inbox.take(&mut got);
        assert!(!readable(inbox.fd()), "taking clears the wake-up");
        let all: Vec<_> = (0..got.len())
            .map(|i| got.get(i).map(|(s, _, d)| (s, d.to_vec())))
            .collect();
        assert_eq!(
            all,
            vec![
                Some((a, b"one".to_vec())),
                Some((b, b"two".to_vec())),
                Some((a, b"three".to_vec())),
            ]
        );
        assert!(got.get(3).is_none());
        batch.push(b, t, b"four");
        inbox.deliver(&mut batch);
        assert!(
            readable(inbox.fd()),
            "empty again, so the next delivery wakes"
        );
    }

    #[test]
    fn a_full_queue_drops_the_batch_and_says_how_many() {
        let inbox = Inbox::new().expect("eventfd");
        let t = Instant::now();
        let a = SocketAddr::from(([127, 0, 0, 1], 1));
        let big = vec![0u8; 1 << 20];
        let mut batch = Datagrams::default();
        for _ in 0..4 {
            batch.push(a, t, &big);
            assert_eq!(inbox.deliver(&mut batch), 0);
        }
        batch.push(a, t, b"x");
        batch.push(a, t, b"y");
        assert_eq!(inbox.deliver(&mut batch), 2);
        assert!(batch.is_empty());
        let mut got = Datagrams::default();
        inbox.take(&mut got);
        assert_eq!(got.len(), 4);
    }
}
