//! The media thread's I/O driver: owns the UDP socket, the ICE-TCP listener, `ppoll` and
//! `sendmmsg`, and the clock. It only moves bytes and time into the [`Core`] and the core's
//! datagrams and events out; every decision is the core's.
//!
//! The loop, until `Shutdown`: apply commands; send what waits; sleep in `ppoll` until a
//! datagram, a TCP frame or the core's next timeout; hand each datagram to the core and
//! drain it; give it the time.
//!
//! With one shard the driver reads the socket itself. With several, the dispatcher
//! (`dispatch.rs`) reads it and each shard's driver waits on its [`Inbox`] instead; every
//! shard still sends on the shared socket directly (`sendmmsg` on one fd from several
//! threads is safe: each datagram is sent whole).

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::sync::mpsc::UnboundedSender;
use tracing::info;

use super::batch::SendBatch;
use super::core::{Core, Output};
use super::inbox::{Datagrams, Inbox};
use super::recv::{RecvBatch, WakeRead};
use super::Command;
use crate::metrics::ThreadCpu;
use crate::tcp::TcpMedia;
use crate::SfuEvent;

/// Longest the loop waits for a datagram before it looks at commands again (timers wake it
/// sooner: it waits for exactly the earliest one).
const COMMAND_POLL: Duration = Duration::from_millis(5);
/// Datagrams read in one go before timers are looked at again.
const RECV_PER_WAKE: usize = 64;

/// How often the thread adds its CPU time to the metrics.
pub(super) const CPU_EVERY: Duration = Duration::from_secs(1);

pub(super) struct Driver {
    /// The media port: read here with one shard, only sent on with several.
    pub socket: Arc<UdpSocket>,
    /// With several shards: the datagrams the dispatcher steered to this one.
    pub inbox: Option<Arc<Inbox>>,
    /// What the last take from the inbox brought, reused.
    pub arrived: Datagrams,
    /// This thread's CPU time, for the metrics.
    pub cpu: ThreadCpu,
    /// The ICE-TCP listener and its connections, when on.
    pub tcp: Option<TcpMedia>,
    pub core: Core,
    pub commands: Receiver<Command>,
    pub events: UnboundedSender<SfuEvent>,
    /// UDP datagrams waiting for the next `sendmmsg`.
    pub out: SendBatch,
    /// Buffers for `recvmmsg`.
    pub udp_batch: RecvBatch,
    /// Frames read from TCP connections in one pass, reused.
    pub tcp_frames: Vec<(std::net::SocketAddr, Vec<u8>)>,
}

impl Driver {
    pub fn run(&mut self) {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(4);
        let mut next_cpu = Instant::now() + CPU_EVERY;
        loop {
            if !self.apply_commands() {
                break;
            }
            let next = self.drain();
            let now = Instant::now();
            let wake = next.min(now + COMMAND_POLL);
            // Nothing waits in the batch while the thread sleeps.
            self.flush_out();
            fds.clear();
            fds.push(libc::pollfd {
                fd: match &self.inbox {
                    Some(inbox) => inbox.fd(),
                    None => self.socket.as_raw_fd(),
                },
                events: libc::POLLIN,
                revents: 0,
            });
            if let Some(tcp) = self.tcp.as_mut() {
                tcp.poll_fds(&mut fds);
            }
            super::socket::wait(&mut fds, wake.saturating_duration_since(now));
            self.read_tcp(&fds[1..]);
            if fds[0].revents != 0 {
                if self.inbox.is_some() {
                    self.read_inbox();
                } else {
                    self.read_udp();
                }
            }
            let now = Instant::now();
            self.core.handle_timeout(now);
            self.drain();
            if now >= next_cpu {
                self.cpu.update();
                next_cpu = now + CPU_EVERY;
            }
        }
        self.core.close();
        self.drain();
        self.flush_out();
        info!("media plane stopped");
    }

    /// Returns false on shutdown.
    fn apply_commands(&mut self) -> bool {
        loop {
            match self.commands.try_recv() {
                Ok(c) => {
                    if !self.core.handle_command(c, Instant::now()) {
                        return false;
                    }
                }
                Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn read_tcp(&mut self, fds: &[libc::pollfd]) {
        let Some(tcp) = self.tcp.as_mut() else {
            return;
        };
        let mut frames = std::mem::take(&mut self.tcp_frames);
        tcp.service(fds, Instant::now(), &mut frames);
        for (source, data) in frames.drain(..) {
            let got = self
                .core
                .handle_receive(Instant::now(), Protocol::Tcp, source, &data);
            // Only what a peer accepts keeps an ICE-TCP connection open.
            if got.accepted {
                if let Some(tcp) = self.tcp.as_mut() {
                    tcp.mark_active(source, Instant::now());
                }
            }
            self.drain();
        }
        self.tcp_frames = frames;
    }

    fn read_udp(&mut self) {
        let mut wake = WakeRead::new(RECV_PER_WAKE);
        while let Some(n) = wake.next(&mut self.udp_batch, &self.socket) {
            for i in 0..n {
                let arrived = Instant::now();
                let Some((source, data)) = self.udp_batch.get(i) else {
                    continue;
                };
                let got = self
                    .core
                    .handle_receive(arrived, Protocol::Udp, source, data);
                if got.forwarded {
                    self.drain();
                    self.core.observe_latency(arrived.elapsed());
                }
            }
        }
    }

    /// Hands the datagrams the dispatcher steered here to the core, as `read_udp` does with
    /// the socket's.
    fn read_inbox(&mut self) {
        let Some(inbox) = self.inbox.as_ref() else {
            return;
        };
        inbox.take(&mut self.arrived);
        let arrived = std::mem::take(&mut self.arrived);
        for i in 0..arrived.len() {
            let Some((source, at, data)) = arrived.get(i) else {
                continue;
            };
            let got = self.core.handle_receive(at, Protocol::Udp, source, data);
            if got.forwarded {
                self.drain();
                self.core.observe_latency(at.elapsed());
            }
        }
        self.arrived = arrived;
    }

    /// Moves the core's output out: datagrams to the batch or their TCP connection, events
    /// to signaling. Returns when the core wants the time next.
    fn drain(&mut self) -> Instant {
        loop {
            match self.core.poll_output() {
                Output::Transmit(t) if t.proto == Protocol::Tcp => {
                    let sent = self
                        .tcp
                        .as_mut()
                        .is_some_and(|tcp| tcp.send(t.destination, &t.contents));
                    if !sent {
                        self.core.count_send_errors(1);
                    }
                }
                Output::Transmit(t) => {
                    if self.out.push(t.destination, t.contents) {
                        self.flush_out();
                    }
                }
                Output::Event(e) => {
                    let _ = self.events.send(e);
                }
                Output::Timeout(t) => return t,
            }
        }
    }

    /// Sends the UDP datagrams gathered so far.
    fn flush_out(&mut self) {
        let done = self.out.flush(&self.socket);
        self.core.count_send_errors(done.failed);
    }
}
