//! Prometheus metrics of the signaling service (`diemcau_signaling_*`) and of every connected
//! site (`diemcau_site_*`).
//!
//! Per-site series carry the labels `meeting`, `site` and `role` (plus `direction`: `up` is
//! what the site sends, `down` what it receives). They are created from the SFU's link reports
//! and removed when the site leaves, so the number of series follows the connected sites.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::{
    GaugeVec, Histogram, HistogramOpts, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};
use sfu::{PeerId, PeerReport};

/// The signaling series.
#[derive(Debug)]
pub struct Metrics {
    /// Open WebSocket sessions (joined or not).
    pub sessions: IntGauge,
    /// Participants joined to a meeting now, by role and transport.
    pub sites_connected: IntGaugeVec,
    /// Meetings not ended.
    pub meetings: IntGauge,
    /// Messages refused, by error code.
    pub errors: IntCounterVec,
    /// Client messages accepted for handling, by type.
    pub ws_messages: IntCounterVec,
    /// WebSocket join to the first media packet forwarded to the site, seconds.
    pub join_latency: Histogram,
    /// Line check results, by verdict.
    pub checks: IntCounterVec,
    /// Joins that resumed a dropped socket's connection (`join.resume`).
    pub resumes: prometheus::IntCounter,
    /// Joins refused by the node's admission, by reason (`capacity`: `limits.sites_per_node`).
    pub joins_refused: IntCounterVec,
    /// Per-site series.
    pub sites: SiteMetrics,
    /// The hall's equipment per meeting: WHEP players watching, WHIP publications live.
    pub media_endpoints: IntGaugeVec,
}

impl Metrics {
    /// Creates and registers the series, with the process collector (CPU, memory).
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Metrics {
            sessions: IntGauge::new("diemcau_signaling_sessions", "Open signaling WebSocket sessions")?,
            sites_connected: IntGaugeVec::new(
                Opts::new("diemcau_signaling_sites_connected", "Participants joined to a meeting now"),
                &["role", "transport"],
            )?,
            meetings: IntGauge::new("diemcau_signaling_meetings", "Meetings held and not ended")?,
            errors: IntCounterVec::new(
                Opts::new("diemcau_signaling_errors_total", "Client messages refused, by error code"),
                &["code"],
            )?,
            ws_messages: IntCounterVec::new(
                Opts::new("diemcau_signaling_ws_messages_total", "Client messages received, by type"),
                &["type"],
            )?,
            join_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "diemcau_signaling_join_latency_seconds",
                    "From a site's join message to the first media packet forwarded to it",
                )
                .buckets(vec![0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0]),
            )?,
            checks: IntCounterVec::new(
                Opts::new("diemcau_signaling_line_checks_total", "Pre-meeting line checks, by verdict"),
                &["verdict"],
            )?,
            resumes: prometheus::IntCounter::new(
                "diemcau_signaling_resumes_total",
                "Joins that took back the connection of a dropped socket (same peer connection, no leave recorded)",
            )?,
            joins_refused: IntCounterVec::new(
                Opts::new(
                    "diemcau_signaling_joins_refused_total",
                    "Joins refused by the node's admission, by reason (capacity: limits.sites_per_node reached)",
                ),
                &["reason"],
            )?,
            sites: SiteMetrics::new()?,
            media_endpoints: IntGaugeVec::new(
                Opts::new(
                    "diemcau_signaling_media_endpoints",
                    "The hall's equipment per meeting: WHEP players watching (role viewer), WHIP publications live (chair-camera, presentation)",
                ),
                &["meeting", "role"],
            )?,
        };
        // Present from the start at 0, so an alert on its rate needs no first refusal.
        m.joins_refused.with_label_values(&["capacity"]);
        registry.register(Box::new(m.sessions.clone()))?;
        registry.register(Box::new(m.sites_connected.clone()))?;
        registry.register(Box::new(m.meetings.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.ws_messages.clone()))?;
        registry.register(Box::new(m.join_latency.clone()))?;
        registry.register(Box::new(m.checks.clone()))?;
        registry.register(Box::new(m.resumes.clone()))?;
        registry.register(Box::new(m.joins_refused.clone()))?;
        registry.register(Box::new(m.media_endpoints.clone()))?;
        m.sites.register(registry)?;
        // Another registry in this process (tests) may hold it already: not an error here.
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        Ok(m)
    }
}

impl Metrics {
    /// Counts a join refused because the node is full (`limits.sites_per_node`).
    pub fn refused_capacity(&self) {
        self.joins_refused.with_label_values(&["capacity"]).inc();
    }

    /// Joins refused for capacity since the start (shown to operators).
    pub fn refused_capacity_total(&self) -> u64 {
        self.joins_refused.with_label_values(&["capacity"]).get()
    }
}

/// Who a per-site series belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    meeting: String,
    site: String,
    role: &'static str,
}

/// Counter totals last added for one site, so the next report adds only the difference.
#[derive(Debug, Clone)]
struct Seen {
    peer: PeerId,
    totals: [u64; 11],
    info: Option<(String, String)>,
}

/// The per-site series.
#[derive(Debug)]
pub struct SiteMetrics {
    bitrate: IntGaugeVec,
    packets: IntCounterVec,
    bytes: IntCounterVec,
    loss: GaugeVec,
    rtt: GaugeVec,
    jitter: GaugeVec,
    nacks: IntCounterVec,
    keyframes: IntCounterVec,
    estimate: IntGaugeVec,
    layer: IntGaugeVec,
    audio_packets: IntCounterVec,
    audio_level: GaugeVec,
    dropped: IntCounterVec,
    info: IntGaugeVec,
    seen: Mutex<HashMap<Key, Seen>>,
}

const SITE: &[&str] = &["meeting", "site", "role"];
const SITE_DIR: &[&str] = &["meeting", "site", "role", "direction"];
const SITE_REASON: &[&str] = &["meeting", "site", "role", "reason"];
const SITE_INFO: &[&str] = &["meeting", "site", "role", "transport", "browser"];

impl SiteMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        let o = |name: &str, help: &str| Opts::new(name, help);
        Ok(SiteMetrics {
            bitrate: IntGaugeVec::new(o("diemcau_site_bitrate_bps", "Bitrate of a site's link, bit/s"), SITE_DIR)?,
            packets: IntCounterVec::new(o("diemcau_site_packets_total", "RTP packets of a site"), SITE_DIR)?,
            bytes: IntCounterVec::new(o("diemcau_site_bytes_total", "Bytes on a site's link"), SITE_DIR)?,
            loss: GaugeVec::new(o("diemcau_site_packet_loss_ratio", "Share of a site's packets lost"), SITE_DIR)?,
            rtt: GaugeVec::new(o("diemcau_site_rtt_seconds", "Round-trip time between a site and the SFU"), SITE)?,
            jitter: GaugeVec::new(o("diemcau_site_jitter_seconds", "Worst interarrival jitter of a site's streams"), SITE_DIR)?,
            nacks: IntCounterVec::new(
                o("diemcau_site_nacks_total", "NACKs: down, sent by the site; up, sent to it by the SFU"),
                SITE_DIR,
            )?,
            keyframes: IntCounterVec::new(
                o("diemcau_site_keyframe_requests_total", "PLI and FIR: down, sent by the site; up, sent to it"),
                SITE_DIR,
            )?,
            estimate: IntGaugeVec::new(
                o("diemcau_site_estimated_bandwidth_bps", "The SFU's bandwidth estimate towards a site, bit/s"),
                SITE,
            )?,
            layer: IntGaugeVec::new(
                o("diemcau_site_video_layer", "Best video layer a site receives: 3 high, 2 mid, 1 low, 0 none or paused"),
                SITE,
            )?,
            audio_packets: IntCounterVec::new(o("diemcau_site_audio_packets_total", "Audio packets received from a site"), SITE)?,
            audio_level: GaugeVec::new(o("diemcau_site_audio_level", "Loudest audio level of a site in the last second, 0 to 1"), SITE)?,
            dropped: IntCounterVec::new(
                o(
                    "diemcau_site_dropped_packets_total",
                    "Media from a site the SFU did not forward: over_budget (beyond its budget), malformed",
                ),
                SITE_REASON,
            )?,
            info: IntGaugeVec::new(o("diemcau_site_info", "A connected site's transport and browser (value 1)"), SITE_INFO)?,
            seen: Mutex::new(HashMap::new()),
        })
    }

    fn register(&self, r: &Registry) -> Result<(), prometheus::Error> {
        r.register(Box::new(self.bitrate.clone()))?;
        r.register(Box::new(self.packets.clone()))?;
        r.register(Box::new(self.bytes.clone()))?;
        r.register(Box::new(self.loss.clone()))?;
        r.register(Box::new(self.rtt.clone()))?;
        r.register(Box::new(self.jitter.clone()))?;
        r.register(Box::new(self.nacks.clone()))?;
        r.register(Box::new(self.keyframes.clone()))?;
        r.register(Box::new(self.estimate.clone()))?;
        r.register(Box::new(self.layer.clone()))?;
        r.register(Box::new(self.audio_packets.clone()))?;
        r.register(Box::new(self.audio_level.clone()))?;
        r.register(Box::new(self.dropped.clone()))?;
        r.register(Box::new(self.info.clone()))?;
        Ok(())
    }

    /// Updates a site's series from the SFU's report on its connection `report.peer`.
    pub fn update(
        &self,
        meeting: &str,
        site: &str,
        role: &'static str,
        report: &PeerReport,
        transport: &str,
        browser: &str,
    ) {
        let key = Key {
            meeting: meeting.to_owned(),
            site: site.to_owned(),
            role,
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let entry = seen.entry(key).or_insert(Seen {
            peer: report.peer,
            totals: [0; 11],
            info: None,
        });
        // A new connection of the site starts its counters from zero again.
        if entry.peer != report.peer {
            entry.peer = report.peer;
            entry.totals = [0; 11];
        }
        let totals = [
            report.packets_rx,
            report.packets_tx,
            report.bytes_rx,
            report.bytes_tx,
            report.nacks_to_peer,
            report.nacks_from_peer,
            report.keyframe_requests_to_peer,
            report.keyframe_requests_from_peer,
            report.audio_packets_rx,
            report.policed_packets,
            report.malformed_packets,
        ];
        let d: Vec<u64> = totals
            .iter()
            .zip(entry.totals)
            .map(|(new, old)| new.saturating_sub(old))
            .collect();
        entry.totals = totals;
        let (up, down) = ([meeting, site, role, "up"], [meeting, site, role, "down"]);
        let one = [meeting, site, role];
        self.packets.with_label_values(&up).inc_by(d[0]);
        self.packets.with_label_values(&down).inc_by(d[1]);
        self.bytes.with_label_values(&up).inc_by(d[2]);
        self.bytes.with_label_values(&down).inc_by(d[3]);
        self.nacks.with_label_values(&up).inc_by(d[4]);
        self.nacks.with_label_values(&down).inc_by(d[5]);
        self.keyframes.with_label_values(&up).inc_by(d[6]);
        self.keyframes.with_label_values(&down).inc_by(d[7]);
        self.bitrate
            .with_label_values(&up)
            .set(report.rx_bps as i64);
        self.bitrate
            .with_label_values(&down)
            .set(report.tx_bps as i64);
        self.loss
            .with_label_values(&up)
            .set(report.ingress_loss_pct.unwrap_or(0.0) / 100.0);
        self.loss
            .with_label_values(&down)
            .set(report.egress_loss_pct.unwrap_or(0.0) / 100.0);
        self.jitter
            .with_label_values(&up)
            .set(report.up_jitter_ms.unwrap_or(0.0) / 1000.0);
        self.jitter
            .with_label_values(&down)
            .set(report.down_jitter_ms.unwrap_or(0.0) / 1000.0);
        if let Some(rtt) = report.rtt_ms {
            self.rtt.with_label_values(&one).set(rtt / 1000.0);
        }
        self.estimate
            .with_label_values(&one)
            .set(report.estimate_bps.unwrap_or(0) as i64);
        let layer = report
            .video_layer
            .flatten()
            .map_or(0, |l| l.index() as i64 + 1);
        self.layer.with_label_values(&one).set(layer);
        self.audio_packets.with_label_values(&one).inc_by(d[8]);
        self.audio_level
            .with_label_values(&one)
            .set(report.audio_level.unwrap_or(0.0));
        // Created at the first drop: a well-behaved site has no such series.
        for (reason, n) in [("over_budget", d[9]), ("malformed", d[10])] {
            if n > 0 {
                self.dropped
                    .with_label_values(&[meeting, site, role, reason])
                    .inc_by(n);
            }
        }
        let info = (transport.to_owned(), browser.to_owned());
        if entry.info.as_ref() != Some(&info) {
            if let Some((t, b)) = entry.info.take() {
                let _ = self
                    .info
                    .remove_label_values(&[meeting, site, role, &t, &b]);
            }
            self.info
                .with_label_values(&[meeting, site, role, transport, browser])
                .set(1);
            entry.info = Some(info);
        }
    }

    /// Removes every series of a site that left.
    pub fn remove(&self, meeting: &str, site: &str, role: &'static str) {
        let key = Key {
            meeting: meeting.to_owned(),
            site: site.to_owned(),
            role,
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = seen.remove(&key) else {
            return;
        };
        let one = [meeting, site, role];
        for dir in ["up", "down"] {
            let l = [meeting, site, role, dir];
            let _ = self.bitrate.remove_label_values(&l);
            let _ = self.packets.remove_label_values(&l);
            let _ = self.bytes.remove_label_values(&l);
            let _ = self.loss.remove_label_values(&l);
            let _ = self.jitter.remove_label_values(&l);
            let _ = self.nacks.remove_label_values(&l);
            let _ = self.keyframes.remove_label_values(&l);
        }
        let _ = self.rtt.remove_label_values(&one);
        let _ = self.estimate.remove_label_values(&one);
        let _ = self.layer.remove_label_values(&one);
        let _ = self.audio_packets.remove_label_values(&one);
        let _ = self.audio_level.remove_label_values(&one);
        for reason in ["over_budget", "malformed"] {
            let _ = self
                .dropped
                .remove_label_values(&[meeting, site, role, reason]);
        }
        if let Some((t, b)) = entry.info {
            let _ = self
                .info
                .remove_label_values(&[meeting, site, role, &t, &b]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(peer: u64, packets: u64) -> PeerReport {
        PeerReport {
            peer: PeerId(peer),
            rtt_ms: Some(20.0),
            ingress_loss_pct: Some(1.0),
            egress_loss_pct: None,
            bytes_rx: packets * 1000,
            bytes_tx: packets * 500,
            rx_bps: 800_000,
            tx_bps: 1_200_000,
            packets_rx: packets,
            packets_tx: packets * 2,
            up_jitter_ms: Some(4.0),
            down_jitter_ms: None,
            nacks_from_peer: 3,
            nacks_to_peer: 0,
            keyframe_requests_from_peer: 1,
            keyframe_requests_to_peer: 2,
            estimate_bps: Some(1_500_000),
            video_layer: Some(Some(sfu::Layer::Mid)),
            audio_packets_rx: packets / 2,
            audio_level: Some(0.5),
            policed_packets: 0,
            malformed_packets: 0,
        }
    }

    fn families(r: &Registry) -> HashMap<String, usize> {
        r.gather()
            .into_iter()
            .map(|f| (f.name().to_owned(), f.get_metric().len()))
            .collect()
    }

    #[test]
    fn a_site_gets_its_series_and_loses_them_when_it_leaves() {
        let r = Registry::new();
        let m = Metrics::register(&r).unwrap();
        m.sites
            .update("m1", "s1", "site", &report(1, 100), "udp", "Chromium 156");
        m.sites
            .update("m1", "s2", "site", &report(2, 100), "relay", "Firefox 140");
        let f = families(&r);
        assert_eq!(
            f["diemcau_site_packets_total"], 4,
            "two sites, two directions"
        );
        assert_eq!(f["diemcau_site_info"], 2);
        let layer = m.sites.layer.with_label_values(&["m1", "s1", "site"]).get();
        assert_eq!(layer, 2, "mid is 2");
        assert!(
            !f.contains_key("diemcau_site_dropped_packets_total"),
            "nothing dropped, no series"
        );
        let mut over = report(1, 120);
        over.policed_packets = 40;
        m.sites
            .update("m1", "s1", "site", &over, "udp", "Chromium 156");
        let dropped = m
            .sites
            .dropped
            .with_label_values(&["m1", "s1", "site", "over_budget"])
            .get();
        assert_eq!(dropped, 40);
        m.sites.remove("m1", "s1", "site");
        let f = families(&r);
        assert!(
            !f.contains_key("diemcau_site_dropped_packets_total"),
            "removed with the site"
        );
        assert_eq!(f["diemcau_site_packets_total"], 2);
        assert_eq!(f["diemcau_site_info"], 1);
        assert_eq!(f["diemcau_site_rtt_seconds"], 1);
    }

    #[test]
    fn counters_add_differences_and_restart_with_a_new_connection() {
        let r = Registry::new();
        let m = Metrics::register(&r).unwrap();
        let up = ["m1", "s1", "site", "up"];
        m.sites
            .update("m1", "s1", "site", &report(1, 100), "udp", "x");
        m.sites
            .update("m1", "s1", "site", &report(1, 150), "udp", "x");
        assert_eq!(m.sites.packets.with_label_values(&up).get(), 150);
        // Reconnected: the new peer's counters start at 0, the series keeps growing.
        m.sites
            .update("m1", "s1", "site", &report(2, 40), "udp", "x");
        assert_eq!(m.sites.packets.with_label_values(&up).get(), 190);
    }
}
