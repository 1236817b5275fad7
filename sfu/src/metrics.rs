//! Prometheus metrics of the media plane.
//!
//! The media thread counts into plain integers ([`Tally`]) and adds them to these shared
//! counters a few times a second, so the packet path touches no shared cache line.

use prometheus::local::LocalHistogram;
use prometheus::{
    CounterVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// The media plane's series, all named `diemcau_sfu_*`.
#[derive(Clone, Debug)]
pub struct SfuMetrics {
    /// Peers the media thread holds (connecting or connected).
    pub peers: IntGauge,
    /// Peers with ICE and DTLS up.
    pub peers_connected: IntGauge,
    /// UDP datagrams received on the media port.
    pub rx_packets: IntCounter,
    /// Bytes of those datagrams.
    pub rx_bytes: IntCounter,
    /// UDP datagrams sent from the media port.
    pub tx_packets: IntCounter,
    /// Bytes of those datagrams.
    pub tx_bytes: IntCounter,
    /// RTP packets forwarded to a subscriber slot (one per slot, so fan-out counts each).
    pub forwarded: IntCounter,
    /// Keyframe requests (PLI) sent to publishers after throttling.
    pub keyframe_requests: IntCounter,
    /// Retransmissions (RTX) sent to subscribers, mostly answers to their NACKs
    /// (see [`crate::rtx`]).
    pub rtx_packets: IntCounter,
    /// Datagrams that no peer claimed (unknown source, stray STUN).
    pub unmatched: IntCounter,
    /// Layer changes chosen for subscriber slots (up, down, pause, resume).
    pub layer_switches: IntCounter,
    /// Video slots paused because their subscriber's link cannot carry the lowest layer.
    pub paused_slots: IntGauge,
    /// Datagrams dropped, by reason (`unmatched`, `refused`, `send_error`, and media not
    /// forwarded: `over_budget` beyond its publisher's budget, `malformed`).
    pub dropped: IntCounterVec,
    /// Time from a datagram's arrival to its forwarded copies being handed to the socket
    /// (the pacer's own queueing excluded), seconds.
    pub forward_latency: Histogram,
    /// Peers per media shard (`shard` label): the load signaling places meetings by.
    pub shard_peers: IntGaugeVec,
    /// CPU time of each media thread (`shard` label: the shard's number, or `dispatch` for
    /// the thread that reads the shared port when there are several shards), seconds; its
    /// rate is how busy the thread is.
    pub thread_cpu: CounterVec,
    /// What crosses relay links between nodes (`diemcau_relay_*`).
    pub relay: crate::relay::RelayMetrics,
}

impl SfuMetrics {
    /// Creates the series and registers them.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = SfuMetrics {
            peers: IntGauge::new("diemcau_sfu_peers", "Peer connections held by the SFU")?,
            peers_connected: IntGauge::new(
                "diemcau_sfu_peers_connected",
                "Peer connections with ICE and DTLS established",
            )?,
            rx_packets: IntCounter::new(
                "diemcau_sfu_udp_rx_packets_total",
                "UDP datagrams received on the media port",
            )?,
            rx_bytes: IntCounter::new(
                "diemcau_sfu_udp_rx_bytes_total",
                "Bytes received on the media port",
            )?,
            tx_packets: IntCounter::new(
                "diemcau_sfu_udp_tx_packets_total",
                "UDP datagrams sent from the media port",
            )?,
            tx_bytes: IntCounter::new(
                "diemcau_sfu_udp_tx_bytes_total",
                "Bytes sent from the media port",
            )?,
            forwarded: IntCounter::new(
                "diemcau_sfu_rtp_forwarded_packets_total",
                "RTP packets forwarded to subscriber slots",
            )?,
            keyframe_requests: IntCounter::new(
                "diemcau_sfu_keyframe_requests_total",
                "Keyframe requests sent to publishers after throttling",
            )?,
            rtx_packets: IntCounter::new(
                "diemcau_sfu_rtx_packets_sent_total",
                "Retransmitted packets (RTX) sent to subscribers: answers to their NACKs, and recent packets resent as bandwidth probes",
            )?,
            unmatched: IntCounter::new(
                "diemcau_sfu_udp_unmatched_packets_total",
                "Datagrams on the media port that no peer accepted",
            )?,
            layer_switches: IntCounter::new(
                "diemcau_sfu_layer_switches_total",
                "Layer changes chosen for subscriber slots (up, down, pause, resume)",
            )?,
            paused_slots: IntGauge::new(
                "diemcau_sfu_video_paused_slots",
                "Video slots paused because the subscriber's link cannot carry the lowest layer",
            )?,
            dropped: IntCounterVec::new(
                Opts::new(
                    "diemcau_sfu_dropped_packets_total",
                    "Datagrams dropped, by reason",
                ),
                &["reason"],
            )?,
            forward_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "diemcau_sfu_forward_latency_seconds",
                    "Time from a datagram's arrival to its forwarded copies reaching the socket",
                )
                .buckets(vec![
                    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005,
                    0.01, 0.025,
                ]),
            )?,
            shard_peers: IntGaugeVec::new(
                Opts::new(
                    "diemcau_sfu_shard_peers",
                    "Peer connections held per media shard",
                ),
                &["shard"],
            )?,
            thread_cpu: CounterVec::new(
                Opts::new(
                    "diemcau_sfu_media_thread_cpu_seconds_total",
                    "CPU time of each media thread (a shard, or the dispatcher)",
                ),
                &["shard"],
            )?,
            relay: crate::relay::RelayMetrics::register(registry)?,
        };
        registry.register(Box::new(m.peers.clone()))?;
        registry.register(Box::new(m.shard_peers.clone()))?;
        registry.register(Box::new(m.thread_cpu.clone()))?;
        registry.register(Box::new(m.peers_connected.clone()))?;
        registry.register(Box::new(m.rx_packets.clone()))?;
        registry.register(Box::new(m.rx_bytes.clone()))?;
        registry.register(Box::new(m.tx_packets.clone()))?;
        registry.register(Box::new(m.tx_bytes.clone()))?;
        registry.register(Box::new(m.forwarded.clone()))?;
        registry.register(Box::new(m.keyframe_requests.clone()))?;
        registry.register(Box::new(m.rtx_packets.clone()))?;
        registry.register(Box::new(m.unmatched.clone()))?;
        registry.register(Box::new(m.layer_switches.clone()))?;
        registry.register(Box::new(m.paused_slots.clone()))?;
        registry.register(Box::new(m.dropped.clone()))?;
        registry.register(Box::new(m.forward_latency.clone()))?;
        Ok(m)
    }
}

/// Adds a thread's CPU time to [`SfuMetrics::thread_cpu`] as it grows; read by the thread
/// itself (`CLOCK_THREAD_CPUTIME_ID`) about once a second.
#[derive(Debug)]
pub(crate) struct ThreadCpu {
    counter: prometheus::Counter,
    last_s: f64,
}

impl ThreadCpu {
    /// The meter of the calling thread, as `shard`.
    pub fn new(m: &SfuMetrics, shard: &str) -> ThreadCpu {
        ThreadCpu {
            counter: m.thread_cpu.with_label_values(&[shard]),
            last_s: thread_cpu_s(),
        }
    }

    /// Adds the CPU time used since the last call (call on the thread that made it).
    pub fn update(&mut self) {
        let now = thread_cpu_s();
        if now > self.last_s {
            self.counter.inc_by(now - self.last_s);
            self.last_s = now;
        }
    }
}

/// CPU seconds the calling thread has used.
fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec we own.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Counts kept by the media thread between flushes.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Forwarding latency samples, flushed with the counts.
    pub latency: Option<LocalHistogram>,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub forwarded: u64,
    pub keyframe_requests: u64,
    pub rtx_packets: u64,
    pub unmatched: u64,
    pub refused: u64,
    pub send_errors: u64,
    pub layer_switches: u64,
    /// Media over its publisher's budget, dropped (see [`crate::police`]).
    pub over_budget: u64,
    /// Media that is not what its payload type says, dropped.
    pub malformed: u64,
    /// RTP packets that arrived on relay links (from an origin node).
    pub relay_in: u64,
    /// RTP packets written to relay links (to another node).
    pub relay_out: u64,
    /// Added latency samples of relayed packets, flushed with the counts.
    pub relay_latency: Option<LocalHistogram>,
}

impl Tally {
    /// Adds the counts to the shared series and starts again from zero.
    pub fn flush(&mut self, m: &SfuMetrics) {
        if let Some(h) = &self.latency {
            h.flush();
        } else {
            self.latency = Some(m.forward_latency.local());
        }
        if let Some(h) = &self.relay_latency {
            h.flush();
        } else {
            self.relay_latency = Some(m.relay.added_latency.local());
        }
        let latency = self.latency.take();
        let relay_latency = self.relay_latency.take();
        let t = std::mem::take(self);
        self.latency = latency;
        self.relay_latency = relay_latency;
        m.relay
            .packets
            .with_label_values(&["in"])
            .inc_by(t.relay_in);
        m.relay
            .packets
            .with_label_values(&["out"])
            .inc_by(t.relay_out);
        m.rx_packets.inc_by(t.rx_packets);
        m.rx_bytes.inc_by(t.rx_bytes);
        m.tx_packets.inc_by(t.tx_packets);
        m.tx_bytes.inc_by(t.tx_bytes);
        m.forwarded.inc_by(t.forwarded);
        m.keyframe_requests.inc_by(t.keyframe_requests);
        m.rtx_packets.inc_by(t.rtx_packets);
        m.unmatched.inc_by(t.unmatched);
        m.dropped
            .with_label_values(&["unmatched"])
            .inc_by(t.unmatched);
        m.dropped.with_label_values(&["refused"]).inc_by(t.refused);
        m.dropped
            .with_label_values(&["send_error"])
            .inc_by(t.send_errors);
        m.dropped
            .with_label_values(&["over_budget"])
            .inc_by(t.over_budget);
        m.dropped
            .with_label_values(&["malformed"])
            .inc_by(t.malformed);
        m.layer_switches.inc_by(t.layer_switches);
    }
}
