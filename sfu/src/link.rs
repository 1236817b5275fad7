//! Link figures of one peer connection, gathered from str0m's per-stream statistics and the
//! packets the SFU sees, and summed into one [`PeerReport`] per stats interval.
//!
//! str0m reports cumulative counters per stream (mid and rid): what this peer sent us
//! (ingress) and what we sent it (egress). The newest figures of each stream are kept and
//! summed at report time; bitrates come from the difference of the peer's byte counters
//! between two reports, so they include RTCP, retransmissions and probe padding: what the
//! link really carries.
//!
//! Pure: the events and the time come in as arguments.

use std::time::Instant;

use str0m::media::{Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

use crate::{Layer, PeerId};

/// Link figures of one peer connection, every [`crate::STATS_INTERVAL`].
#[derive(Debug, Clone, PartialEq)]
pub struct PeerReport {
    /// The peer.
    pub peer: PeerId,
    /// Round-trip time, from RTCP.
    pub rtt_ms: Option<f64>,
    /// Share of the packets the peer sent that did not reach the SFU, percent.
    pub ingress_loss_pct: Option<f64>,
    /// Share of the packets the SFU sent that did not reach the peer, percent.
    pub egress_loss_pct: Option<f64>,
    /// Bytes received from the peer so far (all of its traffic).
    pub bytes_rx: u64,
    /// Bytes sent to the peer so far.
    pub bytes_tx: u64,
    /// Bitrate received from the peer since the last report, bit/s.
    pub rx_bps: u64,
    /// Bitrate sent to the peer since the last report, bit/s.
    pub tx_bps: u64,
    /// RTP packets received from the peer so far.
    pub packets_rx: u64,
    /// RTP packets sent to the peer so far.
    pub packets_tx: u64,
    /// Worst interarrival jitter of the streams the peer sends, as the SFU measures it, ms.
    pub up_jitter_ms: Option<f64>,
    /// Worst interarrival jitter the peer reports of the streams it receives, ms.
    pub down_jitter_ms: Option<f64>,
    /// NACKs the peer sent about what it receives.
    pub nacks_from_peer: u64,
    /// NACKs the SFU sent the peer about what it publishes.
    pub nacks_to_peer: u64,
    /// Keyframe requests (PLI and FIR) the peer sent.
    pub keyframe_requests_from_peer: u64,
    /// Keyframe requests the SFU sent the peer.
    pub keyframe_requests_to_peer: u64,
    /// Bandwidth estimate towards the peer, bit/s.
    pub estimate_bps: Option<u64>,
    /// Best video layer the peer receives: `None` when it is sent no video at all,
    /// `Some(None)` when its video is paused.
    pub video_layer: Option<Option<Layer>>,
    /// Audio packets received from the peer so far.
    pub audio_packets_rx: u64,
    /// Loudest level of the peer's audio since the last report (0 silence to 1 full scale),
    /// from the RTP audio-level header extension.
    pub audio_level: Option<f64>,
    /// Packets from the peer dropped for going over its budget (see [`crate::police`]).
    pub policed_packets: u64,
    /// Packets from the peer dropped as not what their payload type says.
    pub malformed_packets: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Stream {
    packets: u64,
    nacks: u64,
    keyframe_requests: u64,
    jitter_ms: Option<f64>,
}

/// Gathers the figures of one peer between reports.
#[derive(Debug, Default)]
pub struct LinkStats {
    ingress: Vec<((Mid, Option<Rid>), Stream)>,
    egress: Vec<((Mid, Option<Rid>), Stream)>,
    last: Option<(Instant, u64, u64)>,
    audio_packets: u64,
    audio_level: Option<f64>,
    /// Running totals of dropped ingress (see [`PeerReport::policed_packets`]).
    pub policed: u64,
    /// See [`PeerReport::malformed_packets`].
    pub malformed: u64,
}

fn upsert(list: &mut Vec<((Mid, Option<Rid>), Stream)>, key: (Mid, Option<Rid>), s: Stream) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, old)) => *old = s,
        None => list.push((key, s)),
    }
}

fn jitter_ms(units: u32, clock_rate: u32) -> Option<f64> {
    (clock_rate > 0).then(|| f64::from(units) * 1000.0 / f64::from(clock_rate))
}

impl LinkStats {
    /// Newest figures of a stream the peer sends; `clock_rate` converts its jitter.
    pub fn on_ingress(&mut self, s: &MediaIngressStats, clock_rate: u32) {
        let stream = Stream {
            packets: s.packets,
            nacks: s.nacks,
            keyframe_requests: s.plis + s.firs,
            jitter_ms: jitter_ms(s.jitter, clock_rate),
        };
        upsert(&mut self.ingress, (s.mid, s.rid), stream);
    }

    /// Newest figures of a stream the peer receives.
    pub fn on_egress(&mut self, s: &MediaEgressStats, clock_rate: u32) {
        let stream = Stream {
            packets: s.packets,
            nacks: s.nacks,
            keyframe_requests: s.plis + s.firs,
            jitter_ms: s
                .remote
                .as_ref()
                .and_then(|r| jitter_ms(r.jitter, clock_rate)),
        };
        upsert(&mut self.egress, (s.mid, s.rid), stream);
    }

    /// An audio packet from the peer, with its audio-level extension (-dBov, 0 loudest,
    /// -127 silence) when present.
    pub fn on_audio_packet(&mut self, level_dbov: Option<i8>) {
        self.audio_packets += 1;
        if let Some(db) = level_dbov {
            let linear = 10f64.powf(f64::from(db.clamp(-127, 0)) / 20.0);
            self.audio_level = Some(self.audio_level.map_or(linear, |l: f64| l.max(linear)));
        }
    }

    /// Sums everything into a report and starts the next interval.
    pub fn report(
        &mut self,
        peer: PeerId,
        stats: &PeerStats,
        now: Instant,
        estimate_bps: Option<u64>,
        video_layer: Option<Option<Layer>>,
    ) -> PeerReport {
        let (rx, tx) = (stats.peer_bytes_rx, stats.peer_bytes_tx);
        let (rx_bps, tx_bps) = match self.last {
            Some((at, last_rx, last_tx)) if now > at => {
                let secs = now.duration_since(at).as_secs_f64();
                let rate = |new: u64, old: u64| {
                    (new.saturating_sub(old) as f64 * 8.0 / secs).round() as u64
                };
                (rate(rx, last_rx), rate(tx, last_tx))
            }
            _ => (0, 0),
        };
        self.last = Some((now, rx, tx));
        let sum = |l: &[((Mid, Option<Rid>), Stream)], f: fn(&Stream) -> u64| {
            l.iter().map(|(_, s)| f(s)).sum::<u64>()
        };
        let worst = |l: &[((Mid, Option<Rid>), Stream)]| {
            l.iter().filter_map(|(_, s)| s.jitter_ms).reduce(f64::max)
        };
        let pct = |f: Option<f32>| f.map(|f| f64::from(f) * 100.0);
        PeerReport {
            peer,
            rtt_ms: stats.rtt.map(|d| d.as_secs_f64() * 1000.0),
            ingress_loss_pct: pct(stats.ingress_loss_fraction),
            egress_loss_pct: pct(stats.egress_loss_fraction),
            bytes_rx: rx,
            bytes_tx: tx,
            rx_bps,
            tx_bps,
            packets_rx: sum(&self.ingress, |s| s.packets),
            packets_tx: sum(&self.egress, |s| s.packets),
            up_jitter_ms: worst(&self.ingress),
            down_jitter_ms: worst(&self.egress),
            nacks_from_peer: sum(&self.egress, |s| s.nacks),
            nacks_to_peer: sum(&self.ingress, |s| s.nacks),
            keyframe_requests_from_peer: sum(&self.egress, |s| s.keyframe_requests),
            keyframe_requests_to_peer: sum(&self.ingress, |s| s.keyframe_requests),
            estimate_bps,
            video_layer,
            audio_packets_rx: self.audio_packets,
            audio_level: self.audio_level.take(),
            policed_packets: self.policed,
            malformed_packets: self.malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn peer_stats(rx: u64, tx: u64, now: Instant) -> PeerStats {
        PeerStats {
            peer_bytes_rx: rx,
            peer_bytes_tx: tx,
            bytes_rx: rx,
            bytes_tx: tx,
            timestamp: now,
            bwe_tx: None,
            egress_loss_fraction: Some(0.03),
            ingress_loss_fraction: None,
            rtt: Some(Duration::from_millis(42)),
            selected_candidate_pair: None,
        }
    }

    fn ingress(
        mid: &str,
        rid: Option<&str>,
        packets: u64,
        nacks: u64,
        jitter: u32,
        now: Instant,
    ) -> MediaIngressStats {
        MediaIngressStats {
            mid: mid.into(),
            rid: rid.map(Into::into),
            bytes: packets * 1000,
            packets,
            firs: 0,
            plis: 1,
            nacks,
            jitter,
            rtt: None,
            loss: None,
            timestamp: now,
            remote: None,
        }
    }

    #[test]
    fn bitrates_come_from_byte_deltas_between_reports() {
        let t0 = Instant::now();
        let mut l = LinkStats::default();
        let first = l.report(PeerId(1), &peer_stats(1_000, 2_000, t0), t0, None, None);
        assert_eq!((first.rx_bps, first.tx_bps), (0, 0), "no interval yet");
        let t1 = t0 + Duration::from_secs(2);
        let r = l.report(
            PeerId(1),
            &peer_stats(251_000, 502_000, t1),
            t1,
            Some(900_000),
            Some(Some(Layer::Mid)),
        );
        assert_eq!(r.rx_bps, 1_000_000);
        assert_eq!(r.tx_bps, 2_000_000);
        assert_eq!(r.rtt_ms, Some(42.0));
        assert!((r.egress_loss_pct.unwrap() - 3.0).abs() < 1e-4);
        assert_eq!(r.video_layer, Some(Some(Layer::Mid)));
    }

    #[test]
    fn streams_are_summed_with_their_newest_figures_and_jitter_is_in_ms() {
        let now = Instant::now();
        let mut l = LinkStats::default();
        l.on_ingress(&ingress("0", None, 100, 1, 480, now), 48_000);
        l.on_ingress(&ingress("1", Some("q"), 200, 2, 900, now), 90_000);
        l.on_ingress(&ingress("1", Some("q"), 300, 5, 1800, now), 90_000);
        let r = l.report(PeerId(1), &peer_stats(0, 0, now), now, None, None);
        assert_eq!(r.packets_rx, 400, "the newest count of each stream, summed");
        assert_eq!(r.nacks_to_peer, 6);
        assert_eq!(r.keyframe_requests_to_peer, 2);
        assert_eq!(
            r.up_jitter_ms,
            Some(20.0),
            "1800 units at 90 kHz is the worst: 20 ms"
        );
        assert_eq!(r.down_jitter_ms, None);
    }

    #[test]
    fn audio_level_is_the_loudest_since_the_last_report() {
        let now = Instant::now();
        let mut l = LinkStats::default();
        l.on_audio_packet(Some(-127));
        l.on_audio_packet(Some(-20));
        l.on_audio_packet(None);
        let r = l.report(PeerId(1), &peer_stats(0, 0, now), now, None, None);
        assert_eq!(r.audio_packets_rx, 3);
        assert!(
            (r.audio_level.unwrap() - 0.1).abs() < 1e-9,
            "-20 dBov is 0.1"
        );
        let r = l.report(PeerId(1), &peer_stats(0, 0, now), now, None, None);
        assert_eq!(r.audio_level, None, "no audio since");
        assert_eq!(r.audio_packets_rx, 3, "a running total");
    }
}
