//! The server's own figures, read from its Prometheus text (`/metrics`) with a real parser.
//!
//! A [`Snapshot`] is one scrape reduced to what a run reports; two snapshots give rates and a
//! latency histogram over the window between them.

use prometheus_parse::{Scrape, Value};
use serde::Serialize;

/// UDP datagrams the SFU sent.
pub const TX_PACKETS: &str = "diemcau_sfu_udp_tx_packets_total";
/// UDP datagrams the SFU received.
pub const RX_PACKETS: &str = "diemcau_sfu_udp_rx_packets_total";
/// RTP packets forwarded into subscriber slots.
pub const FORWARDED: &str = "diemcau_sfu_rtp_forwarded_packets_total";
/// Datagrams dropped, by reason.
pub const DROPPED: &str = "diemcau_sfu_dropped_packets_total";
/// Arrival to hand-off to the socket, per datagram.
pub const FORWARD_LATENCY: &str = "diemcau_sfu_forward_latency_seconds";
/// Keyframe requests sent to publishers.
pub const KEYFRAME_REQUESTS: &str = "diemcau_sfu_keyframe_requests_total";

/// The figures of one scrape.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// [`TX_PACKETS`].
    pub tx_packets: f64,
    /// [`RX_PACKETS`].
    pub rx_packets: f64,
    /// [`FORWARDED`].
    pub forwarded: f64,
    /// [`DROPPED`], all reasons.
    pub dropped: f64,
    /// [`KEYFRAME_REQUESTS`].
    pub keyframe_requests: f64,
    /// [`FORWARD_LATENCY`] buckets: (upper bound in seconds, cumulative count).
    pub forward_latency: Vec<(f64, f64)>,
}

/// Why a scrape could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// Not Prometheus text.
    #[error("metrics text does not parse: {0}")]
    Parse(#[from] std::io::Error),
    /// A series the report needs is missing.
    #[error("metric {0} missing")]
    Missing(&'static str),
}

fn sum(scrape: &Scrape, name: &'static str) -> Result<f64, ScrapeError> {
    let mut found = false;
    let mut total = 0.0;
    for s in scrape.samples.iter().filter(|s| s.metric == name) {
        found = true;
        total += match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => 0.0,
        };
    }
    found.then_some(total).ok_or(ScrapeError::Missing(name))
}

impl Snapshot {
    /// Reads the figures out of Prometheus text.
    pub fn parse(text: &str) -> Result<Snapshot, ScrapeError> {
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))?;
        let forward_latency = scrape
            .samples
            .iter()
            .find(|s| s.metric == FORWARD_LATENCY)
            .and_then(|s| match &s.value {
                Value::Histogram(b) => Some(b.iter().map(|b| (b.less_than, b.count)).collect()),
                _ => None,
            })
            .ok_or(ScrapeError::Missing(FORWARD_LATENCY))?;
        Ok(Snapshot {
            tx_packets: sum(&scrape, TX_PACKETS)?,
            rx_packets: sum(&scrape, RX_PACKETS)?,
            forwarded: sum(&scrape, FORWARDED)?,
            dropped: sum(&scrape, DROPPED).unwrap_or(0.0),
            keyframe_requests: sum(&scrape, KEYFRAME_REQUESTS).unwrap_or(0.0),
            forward_latency,
        })
    }
}

/// The `q` quantile (0..1) of the observations between two cumulative histograms, linearly
/// interpolated inside the bucket as Prometheus's `histogram_quantile` does. `None` without
/// observations; the last finite bound when the quantile falls in `+Inf`.
pub fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> Option<f64> {
    let mut buckets: Vec<(f64, f64)> = after
        .iter()
        .map(|&(le, n)| {
            let was = before.iter().find(|(l, _)| *l == le).map_or(0.0, |b| b.1);
            (le, n - was)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut prev = (0.0, 0.0);
    for &(le, n) in &buckets {
        if n >= rank {
            if le.is_infinite() {
                return Some(prev.0);
            }
            let share = if n > prev.1 {
                (rank - prev.1) / (n - prev.1)
            } else {
                1.0
            };
            return Some(prev.0 + (le - prev.0) * share);
        }
        prev = (le, n);
    }
    Some(prev.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP diemcau_sfu_udp_tx_packets_total x\n# TYPE diemcau_sfu_udp_tx_packets_total counter\ndiemcau_sfu_udp_tx_packets_total 2000\n# TYPE diemcau_sfu_udp_rx_packets_total counter\ndiemcau_sfu_udp_rx_packets_total 1000\n# TYPE diemcau_sfu_rtp_forwarded_packets_total counter\ndiemcau_sfu_rtp_forwarded_packets_total 900\n# TYPE diemcau_sfu_dropped_packets_total counter\ndiemcau_sfu_dropped_packets_total{reason=\"refused\"} 1\ndiemcau_sfu_dropped_packets_total{reason=\"unmatched\"} 2\n# TYPE diemcau_sfu_forward_latency_seconds histogram\ndiemcau_sfu_forward_latency_seconds_bucket{le=\"0.0001\"} 50\ndiemcau_sfu_forward_latency_seconds_bucket{le=\"0.001\"} 90\ndiemcau_sfu_forward_latency_seconds_bucket{le=\"+Inf\"} 100\ndiemcau_sfu_forward_latency_seconds_sum 0.1\ndiemcau_sfu_forward_latency_seconds_count 100\n";

    #[test]
    fn a_scrape_reduces_to_the_reported_figures() {
        let s = Snapshot::parse(TEXT).unwrap();
        assert_eq!(
            (s.tx_packets, s.rx_packets, s.forwarded, s.dropped),
            (2000.0, 1000.0, 900.0, 3.0)
        );
        assert_eq!(s.forward_latency.len(), 3);
    }

    #[test]
    fn quantiles_interpolate_inside_buckets_over_the_window() {
        let after = Snapshot::parse(TEXT).unwrap().forward_latency;
        let before = vec![(0.0001, 0.0), (0.001, 0.0), (f64::INFINITY, 0.0)];
        let p50 = quantile(&before, &after, 0.5).unwrap();
        assert!((p50 - 0.0001).abs() < 1e-12);
        let p70 = quantile(&before, &after, 0.7).unwrap();
        assert!((p70 - 0.00055).abs() < 1e-9, "{p70}");
        assert_eq!(quantile(&before, &after, 0.99), Some(0.001));
        assert_eq!(quantile(&after, &after, 0.5), None);
    }

    #[test]
    fn a_missing_series_is_an_error() {
        assert!(matches!(
            Snapshot::parse("foo 1\n"),
            Err(ScrapeError::Missing(_))
        ));
    }
}
