//! The light receiver: a relay between the SFU and a site's webrtc-rs peer connection that
//! counts every media packet from its clear RTP header and hands the peer connection only a
//! sample to authenticate and decrypt.
//!
//! ```text
//!   SFU ── outer socket ──┐ tap ┌── inner socket ── webrtc-rs peer (ICE, DTLS, SRTP)
//! ```
//! The offer names the outer socket, the answer the inner one ([`sdp`]), so ICE, DTLS,
//! SRTCP and everything the site sends pass through unchanged while the keys stay in the
//! peer connection. Media from the SFU is read with `recvmmsg` ([`mmsg`]); its header
//! feeds a [`StreamMeter`] (sequence, loss, order, jitter); [`rtp::sampled`] picks what is
//! forwarded to be decrypted and measured on its payload (latency, source, layer, keyframes).
//! A sample that fails SRTP authentication never reaches the track: it shows as a missing
//! source or a decode error in the run report.
//!
//! Lifecycle: [`Tap::start`] binds both sockets and spawns the relay task; the site rewrites
//! its offer and the answer through it; [`Tap::finish`] stops the relay and returns the
//! header meters.

pub mod feedback;
pub mod mmsg;
pub mod proven;
pub mod rtp;
pub mod sdp;
pub mod twcc;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

use crate::clock;
use crate::meter::StreamMeter;
use crate::peer::{OPUS_PT, RTX_PT, VP8_PT};
use crate::site::SiteContext;
pub use proven::Proven;

/// Receive buffer of the socket the SFU sends to. The SFU's bandwidth probes (for the
/// estimate the tap's transport-cc feeds) come in bursts; with the default ~200 KiB a tap
/// whose task is late on a starved generator overflowed (3k-14k kernel drops in a
/// province-100 run) and the run counted the generator's lateness as the SFU's loss.
const RECEIVE_BUFFER: usize = 1 << 20;

/// A running relay for one site.
pub struct Tap {
    outer: SocketAddr,
    inner: SocketAddr,
    sfu: Arc<OnceLock<SocketAddr>>,
    /// Shared with the site's sampled receive tasks.
    pub proven: Proven,
    /// Every packet's transport-wide sequence number and arrival, for the site's feedback
    /// ([`feedback::FeedbackClock`]).
    pub arrivals: Arc<Mutex<twcc::Arrivals>>,
    /// The transport-wide sequence number's extension id, from the SFU's answer.
    twcc_id: Arc<OnceLock<u8>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Vec<(u32, StreamMeter)>>,
}

impl Tap {
    /// Binds the two sockets on `ip` and starts relaying; counts into `ctx.progress`.
    pub async fn start(ip: IpAddr, ctx: Arc<SiteContext>) -> io::Result<Tap> {
        let outer = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        mmsg::set_receive_buffer(outer.as_raw_fd(), RECEIVE_BUFFER)?;
        let inner = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let sfu = Arc::new(OnceLock::new());
        let proven = Proven::default();
        let arrivals = Arc::new(Mutex::new(twcc::Arrivals::default()));
        let twcc_id = Arc::new(OnceLock::new());
        let (stop, stopped) = oneshot::channel();
        let relay = Relay {
            outer,
            inner,
            sfu: sfu.clone(),
            proven: proven.clone(),
            arrivals: arrivals.clone(),
            twcc_id: twcc_id.clone(),
            ctx,
            peer: None,
            streams: Vec::new(),
        };
        let (outer, inner) = (relay.outer.local_addr()?, relay.inner.local_addr()?);
        Ok(Tap {
            outer,
            inner,
            sfu,
            proven,
            arrivals,
            twcc_id,
            stop: Some(stop),
            task: tokio::spawn(relay.run(stopped)),
        })
    }

    /// The site's offer with its candidate moved to the outer socket.
    pub fn offer(&self, sdp: &str) -> String {
        sdp::point_candidates_at(sdp, self.outer).0
    }

    /// The SFU's answer with its candidate moved to the inner socket; remembers where the
    /// SFU really is.
    pub fn answer(&self, sdp: &str) -> anyhow::Result<String> {
        let (sdp, sfu) = sdp::point_candidates_at(sdp, self.inner);
        let sfu = sfu.context("the answer has no UDP candidate")?;
        let _ = self.sfu.set(sfu);
        if let Some(id) = sdp::extmap_id(&sdp, twcc::URI) {
            let _ = self.twcc_id.set(id);
        }
        Ok(sdp)
    }

    /// Stops relaying; the header meters of every stream seen.
    pub async fn finish(mut self) -> Vec<(u32, StreamMeter)> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap_or_default()
    }
}

struct Stream {
    ssrc: u32,
    meter: StreamMeter,
    proven: bool,
}

struct Relay {
    outer: UdpSocket,
    inner: UdpSocket,
    sfu: Arc<OnceLock<SocketAddr>>,
    proven: Proven,
    arrivals: Arc<Mutex<twcc::Arrivals>>,
    twcc_id: Arc<OnceLock<u8>>,
    ctx: Arc<SiteContext>,
    /// The peer connection's socket, learnt from what it sends.
    peer: Option<SocketAddr>,
    streams: Vec<Stream>,
}

impl Relay {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) -> Vec<(u32, StreamMeter)> {
        let mut batch = mmsg::Batch::default();
        let mut sent = mmsg::Batch::default();
        let mut buf = vec![0u8; mmsg::DATAGRAM];
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                r = self.outer.readable() => {
                    if r.is_err() {
                        break;
                    }
                    self.relay_sfu(&mut batch);
                }
                r = self.inner.readable() => {
                    if r.is_err() {
                        break;
                    }
                    self.relay_peer(&mut buf, &mut sent);
                }
            }
        }
        self.streams
            .into_iter()
            .map(|s| (s.ssrc, s.meter))
            .collect()
    }

    /// Everything the peer connection sends goes to the SFU from the outer socket: the
    /// first datagram one at a time to learn the peer connection's address, then in batches.
    fn relay_peer(&mut self, buf: &mut [u8], batch: &mut mmsg::Batch) {
        while self.peer.is_none() {
            match self.inner.try_recv_from(buf) {
                Ok((n, from)) => {
                    self.peer = Some(from);
                    if let Some(sfu) = self.sfu.get() {
                        let _ = self.outer.try_send_to(&buf[..n], *sfu);
                    }
                }
                // WouldBlock, or an ICMP error: the next wake reads on.
                Err(_) => return,
            }
        }
        loop {
            let fd = self.inner.as_raw_fd();
            let n = match self.inner.try_io(Interest::READABLE, || batch.recv(fd)) {
                Ok(n) => n,
                Err(_) => return,
            };
            if let Some(sfu) = self.sfu.get() {
                let out: Vec<&[u8]> = (0..n).map(|i| batch.get(i)).collect();
                self.send(&self.outer, &out, *sfu);
            }
        }
    }

    fn relay_sfu(&mut self, batch: &mut mmsg::Batch) {
        loop {
            let fd = self.outer.as_raw_fd();
            let n = match self.outer.try_io(Interest::READABLE, || batch.recv(fd)) {
                Ok(n) => n,
                // WouldBlock, or an ICMP error: the next wake reads on.
                Err(_) => return,
            };
            let now = clock::micros();
            if let Some(&id) = self.twcc_id.get() {
                let mut arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
                for seq in (0..n).filter_map(|i| twcc::transport_seq(batch.get(i), id)) {
                    arrivals.record(seq, now);
                }
            }
            let mut out: Vec<&[u8]> = Vec::with_capacity(n);
            for i in 0..n {
                let packet = batch.get(i);
                if self.meter(packet, now) {
                    out.push(packet);
                }
            }
            if let Some(peer) = self.peer {
                self.send(&self.inner, &out, peer);
            }
        }
    }

    /// Sends a batch with `sendmmsg`, one at a time where that cannot (IPv6).
    fn send(&self, socket: &UdpSocket, datagrams: &[&[u8]], to: SocketAddr) {
        if mmsg::send_all(socket.as_raw_fd(), datagrams, to).is_err() {
            for d in datagrams {
                let _ = socket.try_send_to(d, to);
            }
        }
    }

    /// Counts a datagram from the SFU; whether it goes on to the peer connection.
    fn meter(&mut self, packet: &[u8], now: u64) -> bool {
        let rtp::Datagram::Rtp(h) = rtp::classify(packet) else {
            return true;
        };
        let audio = match h.payload_type {
            OPUS_PT => true,
            VP8_PT => false,
            // RTX: a light peer connection sends no NACK, so what comes on RTX is the SFU's
            // bandwidth probes (padding), which the tap has already counted for transport-cc
            // and which the peer connection would decrypt only to drop.
            RTX_PT => return false,
            _ => return true,
        };
        let i = match self.streams.iter().position(|s| s.ssrc == h.ssrc) {
            Some(i) => i,
            None => {
                self.streams.push(Stream {
                    ssrc: h.ssrc,
                    meter: StreamMeter::new(audio),
                    proven: false,
                });
                self.streams.len() - 1
            }
        };
        let s = &mut self.streams[i];
        let progress = &self.ctx.progress;
        if s.meter.push_header(h.seq, h.timestamp, now) {
            progress.rx_distinct.fetch_add(1, Ordering::Relaxed);
        }
        progress.rx_packets.fetch_add(1, Ordering::Relaxed);
        progress.tap_packets.fetch_add(1, Ordering::Relaxed);
        if !s.proven {
            s.proven = self.proven.contains(h.ssrc);
        }
        let sampled = rtp::sampled(h.seq, s.proven);
        if sampled {
            progress.tap_sampled.fetch_add(1, Ordering::Relaxed);
        }
        sampled
    }
}
