//! Prometheus metrics of the media plane.
//!
//! The media thread counts into plain integers ([`Tally`]) and adds them to these shared
//! counters a few times a second, so the packet path touches no shared cache line.

use prometheus::{IntCounter, IntGauge, Registry};

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
    /// Datagrams that no peer claimed (unknown source, stray STUN).
    pub unmatched: IntCounter,
    /// Layer changes chosen for subscriber slots (up, down, pause, resume).
    pub layer_switches: IntCounter,
    /// Video slots paused because their subscriber's link cannot carry the lowest layer.
    pub paused_slots: IntGauge,
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
        };
        registry.register(Box::new(m.peers.clone()))?;
        registry.register(Box::new(m.peers_connected.clone()))?;
        registry.register(Box::new(m.rx_packets.clone()))?;
        registry.register(Box::new(m.rx_bytes.clone()))?;
        registry.register(Box::new(m.tx_packets.clone()))?;
        registry.register(Box::new(m.tx_bytes.clone()))?;
        registry.register(Box::new(m.forwarded.clone()))?;
        registry.register(Box::new(m.keyframe_requests.clone()))?;
        registry.register(Box::new(m.unmatched.clone()))?;
        registry.register(Box::new(m.layer_switches.clone()))?;
        registry.register(Box::new(m.paused_slots.clone()))?;
        Ok(m)
    }
}

/// Counts kept by the media thread between flushes.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub forwarded: u64,
    pub keyframe_requests: u64,
    pub unmatched: u64,
    pub layer_switches: u64,
}

impl Tally {
    /// Adds the counts to the shared series and starts again from zero.
    pub fn flush(&mut self, m: &SfuMetrics) {
        let t = std::mem::take(self);
        m.rx_packets.inc_by(t.rx_packets);
        m.rx_bytes.inc_by(t.rx_bytes);
        m.tx_packets.inc_by(t.tx_packets);
        m.tx_bytes.inc_by(t.tx_bytes);
        m.forwarded.inc_by(t.forwarded);
        m.keyframe_requests.inc_by(t.keyframe_requests);
        m.unmatched.inc_by(t.unmatched);
        m.layer_switches.inc_by(t.layer_switches);
    }
}
