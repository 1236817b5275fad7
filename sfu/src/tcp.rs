//! ICE-TCP for sites behind firewalls that drop UDP: one TCP port on which browsers connect
//! to the SFU's passive TCP host candidate, each connection carrying the same STUN, DTLS and
//! SRTP datagrams as UDP, framed as RFC 4571 says (a 16-bit big-endian length before each).
//!
//! Owned by the media thread, like the UDP socket: every socket here is non-blocking and
//! the thread's `ppoll` waits on them with the UDP socket ([`TcpMedia::poll_fds`]), then
//! [`TcpMedia::service`] accepts, reads whole frames and flushes pending writes. Nothing
//! here knows about peers: frames go to the engine with the connection's remote address,
//! which the engine matches to a peer exactly as it does a UDP source (the ICE ufrag of the
//! first STUN request).
//!
//! Limits: at most [`MAX_CONNECTIONS`] connections, and [`MAX_PER_ADDRESS`] from one remote
//! address, so one host cannot take every slot; a connection that sends nothing the engine
//! accepts for [`IDLE`] is closed (browsers send a consent check every few seconds). Only
//! frames a peer accepted count ([`TcpMedia::mark_active`]): bytes alone, such as a 2-byte
//! frame every few seconds from a stranger, do not hold a slot; at most
//! [`MAX_PENDING`] bytes wait to be written per connection, beyond which datagrams are dropped
//! as a full UDP buffer would drop them, so one stalled site cannot hold the media thread.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use tracing::debug;

/// Most TCP media connections open at once; further ones are closed on accept.
pub const MAX_CONNECTIONS: usize = 1024;
/// Most TCP media connections from one remote address: a browser opens one per ICE-TCP
/// candidate pair, a few browsers may share an office's address, a stranger gets no more.
pub const MAX_PER_ADDRESS: usize = 16;
/// A connection that sends nothing a peer accepts for this long is closed.
pub const IDLE: Duration = Duration::from_secs(30);
/// Most bytes waiting to be written on one connection.
pub const MAX_PENDING: usize = 1 << 20;

/// Splits an RFC 4571 byte stream into frames.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if one has arrived. Empty frames are skipped.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.buf.len() < 2 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if self.buf.len() < 2 + len {
                return None;
            }
            let frame = self.buf[2..2 + len].to_vec();
            self.buf.drain(..2 + len);
            if !frame.is_empty() {
                return Some(frame);
            }
        }
    }
}

/// Appends `datagram` to `out` as one RFC 4571 frame; false if it is too long to frame.
pub fn frame_into(out: &mut Vec<u8>, datagram: &[u8]) -> bool {
    let Ok(len) = u16::try_from(datagram.len()) else {
        return false;
    };
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(datagram);
    true
}

struct Conn {
    stream: TcpStream,
    frames: Deframer,
    pending: Vec<u8>,
    last_rx: Instant,
    closed: bool,
}

/// The listener and its connections.
pub struct TcpMedia {
    listener: TcpListener,
    local: SocketAddr,
    conns: HashMap<SocketAddr, Conn>,
    /// Remote address of each connection polled, in `poll_fds` order after the listener.
    polled: Vec<SocketAddr>,
    /// Datagrams dropped because a connection's pending writes were full or it was gone.
    pub dropped: u64,
}

impl TcpMedia {
    /// Listens on `bind` (non-blocking).
    pub fn bind(bind: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        Ok(TcpMedia {
            listener,
            local,
            conns: HashMap::new(),
            polled: Vec::new(),
            dropped: 0,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Connections open now.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// A frame from `addr` was accepted by a peer (STUN, DTLS or media): the connection is
    /// in use. Until then (and [`IDLE`] after the last one) it is closed however much it
    /// sends.
    pub fn mark_active(&mut self, addr: SocketAddr, now: Instant) {
        if let Some(c) = self.conns.get_mut(&addr) {
            c.last_rx = now;
        }
    }

    /// Appends the listener and every connection to `fds` for `ppoll` (write interest only
    /// where bytes are pending).
    pub fn poll_fds(&mut self, fds: &mut Vec<libc::pollfd>) {
        fds.push(libc::pollfd {
            fd: self.listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        self.polled.clear();
        for (addr, c) in &self.conns {
            let mut events = libc::POLLIN;
            if !c.pending.is_empty() {
                events |= libc::POLLOUT;
            }
            fds.push(libc::pollfd {
                fd: c.stream.as_raw_fd(),
                events,
                revents: 0,
            });
            self.polled.push(*addr);
        }
    }

    /// After `ppoll`: accepts new connections, reads what arrived and flushes what waits.
    /// `fds` are this listener's entries as [`TcpMedia::poll_fds`] left them. Every whole
    /// frame received goes to `frames` with its connection's remote address.
    pub fn service(
        &mut self,
        fds: &[libc::pollfd],
        now: Instant,
        frames: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) {
        if fds.first().is_some_and(|f| f.revents != 0) {
            self.accept(now);
        }
        for (f, addr) in fds.iter().skip(1).zip(&self.polled) {
            if f.revents == 0 {
                continue;
            }
            let Some(c) = self.conns.get_mut(addr) else {
                continue;
            };
            if f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                read_frames(c, *addr, frames);
            }
            if f.revents & libc::POLLOUT != 0 {
                flush(c);
            }
        }
        self.conns.retain(|addr, c| {
            let keep = !c.closed && now.saturating_duration_since(c.last_rx) < IDLE;
            if !keep {
                debug!(%addr, "ice-tcp connection closed");
            }
            keep
        });
    }

    /// Sends `datagram` on the connection from `dest`; false if there is none or its
    /// pending writes are full (the datagram is dropped, as UDP would drop it).
    pub fn send(&mut self, dest: SocketAddr, datagram: &[u8]) -> bool {
        let Some(c) = self.conns.get_mut(&dest) else {
            self.dropped += 1;
            return false;
        };
        if c.pending.len() + datagram.len() + 2 > MAX_PENDING
            || !frame_into(&mut c.pending, datagram)
        {
            self.dropped += 1;
            return false;
        }
        flush(c);
        true
    }

    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((stream, addr)) => {
                    if self.conns.len() >= MAX_CONNECTIONS {
                        debug!(%addr, "ice-tcp connection refused: too many");
                        continue;
                    }
                    let from_address = self.conns.keys().filter(|a| a.ip() == addr.ip()).count();
                    if from_address >= MAX_PER_ADDRESS {
                        debug!(%addr, "ice-tcp connection refused: too many from this address");
                        continue;
                    }
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    debug!(%addr, "ice-tcp connection");
                    self.conns.insert(
                        addr,
                        Conn {
                            stream,
                            frames: Deframer::default(),
                            pending: Vec::new(),
                            last_rx: now,
                            closed: false,
                        },
                    );
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    debug!("ice-tcp accept failed: {e}");
                    return;
                }
            }
        }
    }
}

fn read_frames(c: &mut Conn, addr: SocketAddr, frames: &mut Vec<(SocketAddr, Vec<u8>)>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => {
                c.closed = true;
                break;
            }
            Ok(n) => {
                c.frames.push(&buf[..n]);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                c.closed = true;
                break;
            }
        }
    }
    while let Some(f) = c.frames.next_frame() {
        frames.push((addr, f));
    }
}

fn flush(c: &mut Conn) {
    while !c.pending.is_empty() {
        match c.stream.write(&c.pending) {
            Ok(0) => {
                c.closed = true;
                return;
            }
            Ok(n) => {
                c.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                c.closed = true;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_come_out_whole_and_in_order() {
        let mut stream = Vec::new();
        assert!(frame_into(&mut stream, b"first"));
        assert!(frame_into(&mut stream, &[7u8; 1200]));
        assert!(frame_into(&mut stream, b""));
        assert!(frame_into(&mut stream, b"third"));
        let mut d = Deframer::default();
        let mut out = Vec::new();
        for chunk in stream.chunks(3) {
            d.push(chunk);
            while let Some(f) = d.next_frame() {
                out.push(f);
            }
        }
        assert_eq!(
            out,
            vec![b"first".to_vec(), vec![7u8; 1200], b"third".to_vec()],
            "the empty frame is skipped"
        );
    }

    #[test]
    fn a_partial_frame_waits_for_the_rest() {
        let mut d = Deframer::default();
        d.push(&[0, 5, b'a', b'b']);
        assert_eq!(d.next_frame(), None);
        d.push(b"cde");
        assert_eq!(d.next_frame(), Some(b"abcde".to_vec()));
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn a_datagram_over_64_kib_cannot_be_framed() {
        let mut out = Vec::new();
        assert!(!frame_into(&mut out, &vec![0u8; 70_000]));
        assert!(out.is_empty());
    }

    #[test]
    fn a_real_connection_carries_frames_both_ways() {
        let mut tcp = TcpMedia::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut client = TcpStream::connect(tcp.local_addr()).unwrap();
        let mut wire = Vec::new();
        frame_into(&mut wire, b"stun binding request");
        client.write_all(&wire).unwrap();
        let mut frames = Vec::new();
        let until = Instant::now() + Duration::from_secs(5);
        while frames.is_empty() && Instant::now() < until {
            let mut fds = Vec::new();
            tcp.poll_fds(&mut fds);
            // SAFETY: valid pollfds, no timeout struct.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
            tcp.service(&fds, Instant::now(), &mut frames);
        }
        assert_eq!(tcp.connections(), 1);
        let (from, data) = frames.pop().expect("a frame arrived");
        assert_eq!(from, client.local_addr().unwrap());
        assert_eq!(data, b"stun binding request");
        assert!(tcp.send(from, b"answer"));
        let mut back = [0u8; 8];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"\x00\x06answer");
        assert!(
            !tcp.send("127.0.0.1:9".parse().unwrap(), b"x"),
            "no such connection"
        );
        assert_eq!(tcp.dropped, 1);
    }
}

#[cfg(test)]
mod door_tests {
    use super::*;

    /// Polls `tcp` once (100 ms at most) and services it at `now`.
    fn turn(tcp: &mut TcpMedia, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut fds = Vec::new();
        tcp.poll_fds(&mut fds);
        // SAFETY: valid pollfds, no timeout struct.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
        let mut frames = Vec::new();
        tcp.service(&fds, now, &mut frames);
        frames
    }

    fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        let from: SocketAddr = format!("{ip}:0").parse().unwrap();
        socket.bind(&from.into()).expect("bind");
        socket.connect(&to.into()).expect("connect");
        socket.into()
    }

    #[test]
    fn one_address_cannot_take_every_ice_tcp_slot() {
        let mut tcp = TcpMedia::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let t0 = Instant::now();
        let mut held = Vec::new();
        for _ in 0..MAX_PER_ADDRESS + 3 {
            held.push(connect_from("127.0.0.1", tcp.local_addr()));
        }
        let until = Instant::now() + Duration::from_secs(5);
        while tcp.connections() < MAX_PER_ADDRESS && Instant::now() < until {
            turn(&mut tcp, t0);
        }
        // The extra ones were accepted and closed: nothing more arrives.
        for _ in 0..3 {
            turn(&mut tcp, t0);
        }
        assert_eq!(tcp.connections(), MAX_PER_ADDRESS);
        let _other = connect_from("127.0.0.2", tcp.local_addr());
        let until = Instant::now() + Duration::from_secs(5);
        while tcp.connections() == MAX_PER_ADDRESS && Instant::now() < until {
            turn(&mut tcp, t0);
        }
        assert_eq!(
            tcp.connections(),
            MAX_PER_ADDRESS + 1,
            "another address still gets a slot"
        );
    }

    #[test]
    fn frames_no_peer_accepts_do_not_keep_a_connection_open() {
        let mut tcp = TcpMedia::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let t0 = Instant::now();
        let mut stranger = TcpStream::connect(tcp.local_addr()).unwrap();
        let mut site = TcpStream::connect(tcp.local_addr()).unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while tcp.connections() < 2 && Instant::now() < until {
            turn(&mut tcp, t0);
        }
        assert_eq!(tcp.connections(), 2);
        let site_addr = site.local_addr().unwrap();
        // Both send a frame every 10 s (virtual); only the site's is accepted by a peer.
        for step in 1..=4u64 {
            let now = t0 + Duration::from_secs(10 * step);
            // Once closed, the stranger's writes fail: that is the point.
            let _ = stranger.write_all(&[0, 2, 0xde, 0xad]);
            site.write_all(&[0, 2, 0xbe, 0xef]).unwrap();
            let mut got = Vec::new();
            let until = Instant::now() + Duration::from_secs(5);
            while !got.iter().any(|(from, _)| *from == site_addr) && Instant::now() < until {
                got.extend(turn(&mut tcp, now));
            }
            for (from, _) in &got {
                if *from == site_addr {
                    tcp.mark_active(*from, now);
                }
            }
        }
        // 40 s after accept: the stranger's frames held nothing, the site's connection lives.
        turn(&mut tcp, t0 + Duration::from_secs(40));
        assert_eq!(tcp.connections(), 1);
        assert!(tcp.send(site_addr, b"still here"));
        assert!(!tcp.send(stranger.local_addr().unwrap(), b"gone"));
    }
}
