//! The dispatcher thread of a sharded media plane: the one reader of the shared UDP port.
//!
//! It reads batches with `recvmmsg`, asks [`Steering`] which shard each datagram belongs to,
//! and moves each shard's datagrams into its [`Inbox`] once per batch. It never touches a
//! peer: what it cannot steer (an unknown source that is not a binding request to one of
//! this node's ufrags, garbage) is dropped and counted as `unmatched`, and a shard whose
//! queue is full loses the batch, counted as `shard_full`.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

use super::driver::CPU_EVERY;
use super::inbox::{Datagrams, Inbox};
use super::recv::{RecvBatch, WakeRead};
use super::steer::Steering;
use crate::metrics::{SfuMetrics, ThreadCpu};

/// Longest the dispatcher sleeps before it looks at the stop flag again.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Datagrams read in one go before the flag and the housekeeping are looked at again.
const READ_PER_WAKE: usize = 256;
/// How often addresses silent for a whole generation are forgotten (a peer silent for
/// 8 s is disconnected anyway, see `SILENCE_TIMEOUT`).
const ROTATE_EVERY: Duration = Duration::from_secs(60);
/// How often its counts go to the metrics.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

pub(super) struct Dispatcher {
    pub socket: Arc<UdpSocket>,
    pub inboxes: Vec<Arc<Inbox>>,
    pub stop: Arc<AtomicBool>,
    pub metrics: SfuMetrics,
    pub steering: Steering,
    pub batch: RecvBatch,
    /// Per shard: this read's datagrams, moved into its inbox after the read.
    pub pending: Vec<Datagrams>,
    /// Dropped since the last flush: (unmatched, shard_full, their bytes).
    pub dropped: (u64, u64, u64),
}

impl Dispatcher {
    pub fn run(&mut self) {
        let mut cpu = ThreadCpu::new(&self.metrics, "dispatch");
        let now = Instant::now();
        let (mut next_rotate, mut next_flush, mut next_cpu) =
            (now + ROTATE_EVERY, now + FLUSH_EVERY, now + CPU_EVERY);
        while !self.stop.load(Ordering::Relaxed) {
            let mut fd = libc::pollfd {
                fd: self.socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            super::socket::wait(std::slice::from_mut(&mut fd), STOP_POLL);
            if fd.revents != 0 {
                self.read();
            }
            let now = Instant::now();
            if now >= next_flush {
                self.flush();
                next_flush = now + FLUSH_EVERY;
            }
            if now >= next_rotate {
                self.steering.rotate();
                next_rotate = now + ROTATE_EVERY;
            }
            if now >= next_cpu {
                cpu.update();
                next_cpu = now + CPU_EVERY;
            }
        }
        self.flush();
        info!("media dispatcher stopped");
    }

    fn read(&mut self) {
        let mut wake = WakeRead::new(READ_PER_WAKE);
        while let Some(n) = wake.next(&mut self.batch, &self.socket) {
            let arrived = Instant::now();
            for i in 0..n {
                let Some((source, data)) = self.batch.get(i) else {
                    continue;
                };
                match self.steering.steer(source, data) {
                    Some(shard) => self.pending[shard].push(source, arrived, data),
                    None => {
                        self.dropped.0 += 1;
                        self.dropped.2 += data.len() as u64;
                    }
                }
            }
            for (inbox, pending) in self.inboxes.iter().zip(self.pending.iter_mut()) {
                if !pending.is_empty() {
                    let bytes = pending.bytes() as u64;
                    let lost = inbox.deliver(pending) as u64;
                    if lost > 0 {
                        self.dropped.1 += lost;
                        self.dropped.2 += bytes;
                    }
                }
            }
        }
    }

    /// Counts what it dropped: received on the port, so in `rx_*` too (the shards count
    /// what reaches them).
    fn flush(&mut self) {
        let (unmatched, full, bytes) = std::mem::take(&mut self.dropped);
        let m = &self.metrics;
        m.rx_packets.inc_by(unmatched + full);
        m.rx_bytes.inc_by(bytes);
        m.unmatched.inc_by(unmatched);
        m.dropped
            .with_label_values(&["unmatched"])
            .inc_by(unmatched);
        m.dropped.with_label_values(&["shard_full"]).inc_by(full);
    }
}
