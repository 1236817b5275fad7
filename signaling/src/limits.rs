//! What one connection, one address, one meeting and the whole node may use. Every figure
//! is a configuration key under `[limits]` (see `deploy/diemcau.example.toml`), and going
//! over any of them gets the offender a precise error while everyone else goes on:
//!
//! | key | refused with |
//! |---|---|
//! | `sites_per_meeting` | API `400 invalid` when the meeting is created |
//! | `sites_per_node` | `node_full` on `join` |
//! | `joins_per_second_per_ip` | `rate_limited` on `join` (a burst of twice the rate) |
//! | `message_bytes` | `too_large` |
//! | `messages_per_second`, `message_burst` | `rate_limited` |
//! | `sdp_bytes`, `tracks_per_site` | `bad_sdp` on `offer` |
//! | `resume_seconds` | not a refusal: how long a dropped socket's site may resume |
//! | `join_timeout_seconds` | `join_timeout`, then close: a socket that has not joined in time |
//! | `unjoined_per_ip`, `unjoined_per_node` | HTTP `429` / `503` on the WebSocket upgrade |
//! | `connections_per_ip` | HTTP `429`, then close, at accept (plain and TLS listeners) |
//! | `http_idle_seconds` | not a refusal: a connection that sends no complete request head for this long (slow headers, or idle keep-alive) is closed |
//!
//! An offer with more media sections than the site's layout (3 to send plus the receive
//! slots its role gets in `joined`) is `bad_sdp` too, before the SFU parses it; the SFU
//! itself refuses more than 128.

use std::net::IpAddr;
use std::time::Instant;

use dashmap::DashMap;

/// The default of `limits.sites_per_node`: what one node with one media thread was measured
/// to carry, not a round number. `load-tests/RESULTS.md` (2026-12-07, this 2-core machine,
/// quiet, `--server-nice -10`): `province-400` joined 401 of 401 (1 hall + 400 sites) with
/// 0.001% loss, no kernel drop on the SFU socket and the media thread at **85%** of its
/// core. Linearly that thread is full near 470 connections (401 / 0.85); the cost per
/// packet grew with peers up to now (1.6× from 100 to 400), so the edge is closer than
/// that. 420 keeps the measured 401 (the largest province meeting, 390 sites, with its hall
/// and a few operators) and some room for rejoins (~89% of the thread, linearly), and
/// refuses the join that would push the thread past its core. A bigger node (more cores,
/// media plane sharded) measures its own figure and raises the key: `deploy/README.md`.
pub const SITES_PER_NODE: usize = 420;

/// Why a join is refused for the node's capacity, or `None` when there is room: `connected`
/// joined connections already on the node against `limits.sites_per_node`. Pure, so the
/// rule is tested on its own; the session turns the answer into `node_full`.
pub fn over_capacity(connected: usize, limits: &Limits) -> Option<String> {
    (connected >= limits.sites_per_node).then(|| {
        format!(
            "this server carries its limit of {} connected sites; try again later",
            limits.sites_per_node
        )
    })
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Expected sites in one meeting, at creation.
    pub sites_per_meeting: usize,
    /// Joined connections on this node (every meeting); see [`SITES_PER_NODE`] for how the
    /// default was derived.
    pub sites_per_node: usize,
    /// `join` messages per second from one client address, on average.
    pub joins_per_second_per_ip: f64,
    /// Bytes in one WebSocket message.
    pub message_bytes: usize,
    /// Messages per second one connection may send, on average...
    pub messages_per_second: f64,
    /// ... and in a burst (a join, an offer and a flurry of ICE candidates).
    pub message_burst: f64,
    /// Bytes of one SDP offer.
    pub sdp_bytes: usize,
    /// Tracks one site may publish (microphone, camera, screen).
    pub tracks_per_site: usize,
    /// How long a site whose socket dropped keeps its connection for `join.resume`
    /// (`resume_seconds`; 0: a dropped socket leaves at once).
    pub resume: std::time::Duration,
    /// How long an ended or expired meeting stays in memory (listed, its roll call served
    /// from memory) before it is dropped with its snapshot; its roll call stays on disk
    /// (`retention_seconds`, see [`crate::retention`]).
    pub retention: std::time::Duration,
    /// How long a WebSocket may stay open without joining (`join_timeout_seconds`); `ping`
    /// does not extend it, so a stranger cannot hold a socket with pings alone.
    pub join_timeout: std::time::Duration,
    /// WebSockets not joined yet from one client address (`unjoined_per_ip`).
    pub unjoined_per_ip: usize,
    /// WebSockets not joined yet on this node (`unjoined_per_node`).
    pub unjoined_per_node: usize,
    /// Open HTTP/WebSocket connections from one address (`connections_per_ip`): one
    /// address cannot take the process's file descriptors from everyone else.
    pub connections_per_ip: usize,
    /// How long a connection may take to send a request head, and may sit idle between
    /// requests (`http_idle_seconds`): slowloris holds nothing for longer.
    pub http_idle: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sites_per_meeting: 2000,
            sites_per_node: SITES_PER_NODE,
            joins_per_second_per_ip: 20.0,
            message_bytes: crate::protocol::MAX_FRAME_BYTES,
            messages_per_second: 20.0,
            message_burst: 60.0,
            sdp_bytes: 128 * 1024,
            tracks_per_site: 3,
            resume: crate::protocol::RESUME_GRACE,
            retention: std::time::Duration::from_secs(24 * 3600),
            join_timeout: std::time::Duration::from_secs(10),
            unjoined_per_ip: 20,
            unjoined_per_node: 1000,
            connections_per_ip: 100,
            http_idle: std::time::Duration::from_secs(10),
        }
    }
}

/// A token bucket.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// A full bucket of `burst` tokens at `now`.
    pub fn full(burst: f64, now: Instant) -> Self {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    /// Takes a token at `now`, refilling at `rate` per second up to `burst`; false when empty.
    pub fn take(&mut self, rate: f64, burst: f64, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + refill).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Joins per client address: a bucket each, forgotten once full again.
#[derive(Debug, Default)]
pub struct JoinRate {
    buckets: DashMap<IpAddr, Bucket>,
}

impl JoinRate {
    /// Whether `ip` may join now under `limits`.
    pub fn allow(&self, ip: IpAddr, limits: &Limits, now: Instant) -> bool {
        let rate = limits.joins_per_second_per_ip;
        let burst = (rate * 2.0).max(1.0);
        if self.buckets.len() > 10_000 {
            // Addresses whose bucket has refilled carry no state worth keeping.
            self.buckets.retain(|_, b| {
                now.saturating_duration_since(b.at).as_secs_f64() * rate + b.tokens < burst
            });
        }
        self.buckets
            .entry(ip)
            .or_insert_with(|| Bucket::full(burst, now))
            .take(rate, burst, now)
    }
}

/// Media sections of an offer, and how many of them publish a track (`sendonly` or
/// `sendrecv`). A section without a direction takes the session's (before the first `m=`),
/// which defaults to `sendrecv`; Firefox writes `a=sendrecv` at session level and gives every
/// section its own. Rejected sections (port 0) publish nothing.
pub fn media_sections(sdp: &str) -> (usize, usize) {
    fn sends(direction: &str) -> bool {
        matches!(direction, "sendonly" | "sendrecv")
    }
    let mut session_dir = "sendrecv";
    let mut sections = 0;
    let mut published = 0;
    // The section being read: (port is 0, its own direction).
    let mut current: Option<(bool, Option<&str>)> = None;
    let mut close = |current: Option<(bool, Option<&str>)>, session_dir: &str| {
        if let Some((rejected, dir)) = current {
            if !rejected && sends(dir.unwrap_or(session_dir)) {
                published += 1;
            }
        }
    };
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            close(current.take(), session_dir);
            sections += 1;
            let rejected = m.split_whitespace().nth(1) == Some("0");
            current = Some((rejected, None));
        } else if let Some(dir) = line
            .strip_prefix("a=")
            .filter(|d| matches!(*d, "sendonly" | "sendrecv" | "recvonly" | "inactive"))
        {
            match &mut current {
                Some((_, own)) => *own = Some(dir),
                None => session_dir = dir,
            }
        }
    }
    close(current, session_dir);
    (sections, published)
}

/// Tracks an offer publishes (see [`media_sections`]).
pub fn published_tracks(sdp: &str) -> usize {
    media_sections(sdp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn published_tracks_reads_each_sections_direction_not_the_session_default() {
        // Firefox: `a=sendrecv` at session level, every section with its own direction.
        let firefox = "v=0\r\no=mozilla 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=sendrecv\r\na=group:BUNDLE 0 1 2 3\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 109\r\na=sendonly\r\na=mid:0\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 120\r\na=sendonly\r\na=mid:1\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 120\r\na=sendonly\r\na=mid:2\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 120\r\na=recvonly\r\na=mid:3\r\n";
        assert_eq!(media_sections(firefox), (4, 3));
        // A section without a direction sends (the session default); a rejected one does not.
        let implicit = "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\na=sendrecv\r\nm=video 9 RTP/AVP 96\r\na=inactive\r\n";
        assert_eq!(media_sections(implicit), (3, 1));
        let session_recvonly =
            "v=0\r\na=recvonly\r\nm=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\na=sendonly\r\n";
        assert_eq!(media_sections(session_recvonly), (2, 1));
        let chromium = include_str!("../fixtures/sdp/chromium-site-offer.sdp");
        // The captured Chromium offer (mic and camera; 8 receive slots).
        assert_eq!(media_sections(chromium), (10, 2));
    }

    #[test]
    fn the_join_after_the_last_place_is_refused_for_capacity() {
        let limits = Limits {
            sites_per_node: 3,
            ..Limits::default()
        };
        assert_eq!(over_capacity(0, &limits), None);
        assert_eq!(over_capacity(2, &limits), None, "the third place is free");
        let why = over_capacity(3, &limits).expect("full at 3");
        assert!(why.contains("limit of 3 connected sites"), "{why}");
        assert!(over_capacity(4, &limits).is_some());
    }

    #[test]
    fn the_default_capacity_admits_the_measured_province_meeting() {
        // `province-400` (1 hall + 400 sites) was measured to fit on one media thread.
        assert!(over_capacity(400, &Limits::default()).is_none());
        assert!(over_capacity(SITES_PER_NODE, &Limits::default()).is_some());
    }

    #[test]
    fn a_bucket_serves_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::full(3.0, t0);
        assert!((0..3).all(|_| b.take(1.0, 3.0, t0)));
        assert!(!b.take(1.0, 3.0, t0));
        assert!(b.take(1.0, 3.0, t0 + Duration::from_secs(1)));
        assert!(!b.take(1.0, 3.0, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn joins_are_counted_per_address() {
        let limits = Limits {
            joins_per_second_per_ip: 1.0,
            ..Limits::default()
        };
        let rate = JoinRate::default();
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(rate.allow(a, &limits, t0));
        assert!(rate.allow(a, &limits, t0));
        assert!(!rate.allow(a, &limits, t0), "a burst of twice the rate");
        assert!(
            rate.allow(b, &limits, t0),
            "another address is not affected"
        );
        assert!(rate.allow(a, &limits, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn published_tracks_are_the_sending_sections() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n";
        assert_eq!(published_tracks(sdp), 2);
    }
}
