//! A run's figures: the sites' reports and the server readings reduced to what is reported
//! (JSON for machines, [`crate::report`] for people).

use std::time::Instant;

use serde::Serialize;
use signaling::protocol::Role;

use crate::grid::GridFigures;
use crate::hog::HogFigures;
use crate::meter::latency_histogram;
use crate::pacer::PacerStats;
use crate::payload::Layer;
use crate::scenario::Scenario;
use crate::scrape::{self, Snapshot};
use crate::server::{self, ProcSample, ThreadCpu};
use crate::site::SiteReport;
use crate::timeline::TimelinePoint;

/// One reading of the server and the generator.
pub struct Observed {
    /// When.
    pub at: Instant,
    /// The server's metrics, if it has any.
    pub metrics: Option<Snapshot>,
    /// The server process, if observable.
    pub server: Option<ProcSample>,
    /// This process (the load generator).
    pub generator: Option<ProcSample>,
    /// CPU seconds the machine spent busy since boot.
    pub machine_busy_s: Option<f64>,
    /// Kernel UDP buffer drops so far (receive, send).
    pub udp_drops: Option<(u64, u64)>,
    /// RTP packets every site's receive tracks got so far (retransmissions included).
    pub site_rx_packets: u64,
    /// Of those, distinct packets that parsed.
    pub site_rx_distinct: u64,
    /// CPU seconds the machine spent in irq and softirq context since boot.
    pub softirq_s: Option<f64>,
}

/// The server process over the window.
#[derive(Debug, Clone, Serialize)]
pub struct ServerFigures {
    /// CPU seconds used in the window.
    pub cpu_s: f64,
    /// Cores busy on average (cpu_s / window).
    pub cores: f64,
    /// RSS before any site joined, MiB.
    pub rss_idle_mib: f64,
    /// RSS at the end of the window, MiB.
    pub rss_mib: f64,
    /// (RSS at the end − idle RSS) / participants, KiB.
    pub kib_per_site: f64,
    /// CPU seconds per thread name in the window, busiest first.
    pub threads: Vec<ThreadCpu>,
}

/// The SFU's own counters over the window.
#[derive(Debug, Clone, Serialize)]
pub struct SfuFigures {
    /// Datagrams sent per second.
    pub tx_pps: f64,
    /// Datagrams received per second.
    pub rx_pps: f64,
    /// RTP packets forwarded into slots per second.
    pub forwarded_pps: f64,
    /// Datagrams dropped in the window.
    pub dropped: f64,
    /// Keyframe requests sent to publishers in the window.
    pub keyframe_requests: f64,
    /// Forwarding latency (arrival → socket) p50, µs.
    pub forward_p50_us: Option<f64>,
    /// Forwarding latency p99, µs.
    pub forward_p99_us: Option<f64>,
}

/// The server's CPU cost per packet it delivered, over the window. Counted the same way for
/// every target, by the simulated sites: distinct media packets their receive tracks got
/// (after SRTP; a retransmission or probe that repeats a packet already received does not
/// count again), so a server without metrics is measured like ours.
#[derive(Debug, Clone, Serialize)]
pub struct PerPacket {
    /// Distinct RTP packets the sites received in the window.
    pub received: u64,
    /// Per second.
    pub received_pps: f64,
    /// Server CPU seconds per million of them.
    pub cpu_s_per_million: Option<f64>,
    /// Every RTP packet the sites' tracks got in the window (repeats included), per second.
    pub all_received_pps: f64,
    /// Server CPU seconds per million RTP packets it says it forwarded (its own counter,
    /// diemcau only), as a cross-check.
    pub cpu_s_per_million_forwarded: Option<f64>,
}

/// The load generator over the window.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorFigures {
    /// CPU seconds used in the window.
    pub cpu_s: f64,
    /// Cores busy on average.
    pub cores: f64,
    /// Resident memory at the end, MiB.
    pub rss_mib: f64,
    /// RTP packets the pacer sent over the whole run.
    pub packets_sent: u64,
    /// Pacer ticks that ran more than one tick late, of all ticks.
    pub late_ticks: u64,
    /// Pacer ticks run.
    pub ticks: u64,
    /// Worst pacer lateness, ms.
    pub worst_lag_ms: f64,
    /// Cores busy with other processes on the machine (builds, browsers) during the window.
    pub other_cores: Option<f64>,
    /// Of those, irq and softirq context (loopback packet delivery, which the kernel charges
    /// to no process when it accounts IRQ time).
    pub softirq_cores: Option<f64>,
    /// Generator CPU seconds per million RTP packets its sites received in the window
    /// (publishing included: it is the whole generator's cost).
    pub cpu_s_per_million: Option<f64>,
    /// That over the SFU's CPU per forwarded packet (goal: at most 0.25).
    pub vs_sfu: Option<f64>,
    /// Sites receiving through a full webrtc-rs peer connection.
    pub full_sites: usize,
    /// Sites receiving through a tap (headers counted, a sample decrypted).
    pub light_sites: usize,
    /// Media packets the taps counted over the whole run.
    pub tap_packets: u64,
    /// Of those, percent forwarded to be decrypted.
    pub tap_sampled_pct: Option<f64>,
}

/// What the sites received, over the whole run.
#[derive(Debug, Clone, Serialize)]
pub struct MediaFigures {
    /// Distinct RTP packets received.
    pub received: u64,
    /// Packets missing from sequences.
    pub lost: u64,
    /// lost / (received + lost), percent.
    pub loss_pct: f64,
    /// Same, audio slots only.
    pub audio_loss_pct: f64,
    /// Same, video slots only.
    pub video_loss_pct: f64,
    /// Duplicates (retransmissions and probe padding repeating a received packet).
    pub duplicates: u64,
    /// Payloads that did not parse.
    pub decode_errors: u64,
    /// End-to-end latency of audio in the window, p50 / p99, ms.
    pub audio_e2e_ms: [f64; 2],
    /// End-to-end latency of video packets in the window, p50 / p99, ms.
    pub video_e2e_ms: [f64; 2],
    /// Mean RFC 3550 jitter of audio slots at the end, ms.
    pub audio_jitter_ms: f64,
    /// Sites (not the chair) that received the chair's audio.
    pub sites_with_chair_audio: usize,
    /// Sites that received the chair's video.
    pub sites_with_chair_video: usize,
    /// Layer of the chair's video each site received last: low, mid, high.
    pub chair_layer: [usize; 3],
    /// Sites that received video of at least one floor holder.
    pub sites_with_floor_video: usize,
    /// Datagrams the kernel dropped for full UDP receive buffers (SFU and sites alike, the
    /// whole run), and failed sends for full send buffers.
    pub kernel_udp_drops: Option<(u64, u64)>,
}

/// Join figures over the sites (not the chair), ms after `join` was sent: p50 / p95 / max.
#[derive(Debug, Clone, Serialize)]
pub struct JoinFigures {
    /// `answer` received.
    pub answer_ms: [f64; 3],
    /// ICE + DTLS up.
    pub connected_ms: [f64; 3],
    /// First RTP packet.
    pub first_media_ms: [f64; 3],
    /// First video keyframe (what a browser would first show).
    pub first_video_ms: [f64; 3],
}

/// Everything a run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// The scenario.
    pub scenario: Scenario,
    /// Target name.
    pub target: String,
    /// UTC start time.
    pub started_at: String,
    /// Measurement window, s.
    pub window_s: f64,
    /// Participants (chair included) whose media came up.
    pub joined: usize,
    /// Participants that failed.
    pub failed: usize,
    /// Failure and error texts, deduplicated, with counts.
    pub problems: Vec<(String, usize)>,
    /// Server process.
    pub server: Option<ServerFigures>,
    /// SFU counters.
    pub sfu: Option<SfuFigures>,
    /// Load generator.
    pub generator: GeneratorFigures,
    /// Received media.
    pub media: MediaFigures,
    /// Join times.
    pub join: JoinFigures,
    /// Server CPU per delivered packet.
    pub per_packet: PerPacket,
    /// Server memory and open files after warm-up (soak scenarios: `warmup_s` > 0).
    pub steadiness: Option<crate::steady::Steadiness>,
    /// The hall's grid pages and the video it received on each (diemcau).
    pub hall_grid: Option<GridFigures>,
    /// The CPU hog that starved the machine during the window (`--cpu-hog`).
    pub cpu_hog: Option<HogFigures>,
    /// Samples every few seconds.
    pub timeline: Vec<TimelinePoint>,
    /// Every site's report: written to `sites.json` beside `result.json`, not into it (at
    /// 400 sites it is 0.4 MB of the 0.5 MB, and the figures above already reduce it).
    #[serde(skip)]
    pub sites: Vec<SiteReport>,
}

/// What [`summarize`] reduces.
pub struct Inputs<'a> {
    /// The scenario.
    pub scenario: Scenario,
    /// Target name.
    pub target: &'static str,
    /// UTC start time.
    pub started_at: String,
    /// Before the chair joined.
    pub idle: Observed,
    /// Window start.
    pub window_first: Observed,
    /// Window end.
    pub window_last: Observed,
    /// Timeline.
    pub timeline: Vec<TimelinePoint>,
    /// Site reports.
    pub reports: Vec<SiteReport>,
    /// Pacer counters.
    pub pacer: &'a PacerStats,
    /// The sites' live counters (the taps').
    pub progress: &'a crate::site::Progress,
    /// Sites below this index received through full peer connections.
    pub full_sites: u16,
    /// The hall's grid, judged.
    pub hall_grid: Option<GridFigures>,
    /// The CPU hog, if one ran.
    pub cpu_hog: Option<HogFigures>,
}

/// The current UTC time as `2026-11-23 07:10:00`.
pub fn now_string() -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc()
        .format(&f)
        .unwrap_or_default()
}

/// Nearest-rank quantiles of `v` (p in 0..1); zeros when empty.
pub fn quantiles<const N: usize>(mut v: Vec<f64>, ps: [f64; N]) -> [f64; N] {
    v.sort_by(f64::total_cmp);
    ps.map(|p| {
        if v.is_empty() {
            return 0.0;
        }
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    })
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Reduces a run to its figures.
pub fn summarize(i: Inputs<'_>) -> RunResult {
    let window_s = i
        .window_last
        .at
        .duration_since(i.window_first.at)
        .as_secs_f64()
        .max(1e-3);
    let sites: Vec<&SiteReport> = i.reports.iter().filter(|r| r.role == Role::Site).collect();
    let participants = i.reports.len().max(1);

    let server = match (
        &i.idle.server,
        &i.window_first.server,
        &i.window_last.server,
    ) {
        (Some(idle), Some(a), Some(b)) => Some(ServerFigures {
            cpu_s: b.cpu_s - a.cpu_s,
            cores: (b.cpu_s - a.cpu_s) / window_s,
            rss_idle_mib: idle.rss_bytes as f64 / 1048576.0,
            rss_mib: b.rss_bytes as f64 / 1048576.0,
            kib_per_site: b.rss_bytes.saturating_sub(idle.rss_bytes) as f64
                / 1024.0
                / participants as f64,
            threads: server::thread_cpu_between(a, b),
        }),
        _ => None,
    };
    let sfu = match (&i.window_first.metrics, &i.window_last.metrics) {
        (Some(a), Some(b)) => Some(SfuFigures {
            tx_pps: (b.tx_packets - a.tx_packets) / window_s,
            rx_pps: (b.rx_packets - a.rx_packets) / window_s,
            forwarded_pps: (b.forwarded - a.forwarded) / window_s,
            dropped: b.dropped - a.dropped,
            keyframe_requests: b.keyframe_requests - a.keyframe_requests,
            forward_p50_us: scrape::quantile(&a.forward_latency, &b.forward_latency, 0.5)
                .map(|s| s * 1e6),
            forward_p99_us: scrape::quantile(&a.forward_latency, &b.forward_latency, 0.99)
                .map(|s| s * 1e6),
        }),
        _ => None,
    };
    let mut generator = {
        let (cpu_s, rss) = match (&i.window_first.generator, &i.window_last.generator) {
            (Some(a), Some(b)) => (b.cpu_s - a.cpu_s, b.rss_bytes),
            _ => (0.0, 0),
        };
        use std::sync::atomic::Ordering::Relaxed;
        GeneratorFigures {
            cpu_s,
            cores: cpu_s / window_s,
            rss_mib: rss as f64 / 1048576.0,
            packets_sent: i.pacer.packets.load(Relaxed),
            late_ticks: i.pacer.late_ticks.load(Relaxed),
            ticks: i.pacer.ticks.load(Relaxed),
            worst_lag_ms: i.pacer.worst_lag_us.load(Relaxed) as f64 / 1000.0,
            softirq_cores: match (i.window_first.softirq_s, i.window_last.softirq_s) {
                (Some(a), Some(b)) => Some((b - a) / window_s),
                _ => None,
            },
            other_cores: match (i.window_first.machine_busy_s, i.window_last.machine_busy_s) {
                (Some(a), Some(b)) => Some(
                    ((b - a) - cpu_s - server.as_ref().map_or(0.0, |s| s.cpu_s)).max(0.0)
                        / window_s,
                ),
                _ => None,
            },
            cpu_s_per_million: None,
            vs_sfu: None,
            full_sites: 0,
            light_sites: 0,
            tap_packets: 0,
            tap_sampled_pct: None,
        }
    };

    let mut audio_latency = latency_histogram();
    let mut video_latency = latency_histogram();
    let (mut received, mut lost, mut dup, mut errors) = (0, 0, 0, 0);
    let (mut a_recv, mut a_lost, mut v_recv, mut v_lost) = (0, 0, 0, 0);
    let mut jitters = Vec::new();
    for r in &i.reports {
        audio_latency
            .add(&r.reception.audio_latency)
            .expect("same bounds");
        video_latency
            .add(&r.reception.video_latency)
            .expect("same bounds");
        for s in &r.streams {
            received += s.received;
            lost += s.lost;
            dup += s.duplicates;
            errors += s.decode_errors;
            if s.audio {
                a_recv += s.received;
                a_lost += s.lost;
                jitters.push(s.jitter_ms);
            } else {
                v_recv += s.received;
                v_lost += s.lost;
            }
        }
    }
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(q) as f64 / 1000.0
        }
    };
    let mut chair_layer = [0; 3];
    for s in &sites {
        let layer = s
            .streams
            .iter()
            .filter(|x| !x.audio && x.last_source == Some(0))
            .find_map(|x| x.last_layer);
        if let Some(l) = layer {
            chair_layer[l.index()] += 1;
        }
    }
    let media = MediaFigures {
        received,
        lost,
        loss_pct: pct(lost, received + lost),
        audio_loss_pct: pct(a_lost, a_recv + a_lost),
        video_loss_pct: pct(v_lost, v_recv + v_lost),
        duplicates: dup,
        decode_errors: errors,
        audio_e2e_ms: [ms(&audio_latency, 0.5), ms(&audio_latency, 0.99)],
        video_e2e_ms: [ms(&video_latency, 0.5), ms(&video_latency, 0.99)],
        audio_jitter_ms: if jitters.is_empty() {
            0.0
        } else {
            jitters.iter().sum::<f64>() / jitters.len() as f64
        },
        sites_with_chair_audio: sites
            .iter()
            .filter(|s| s.reception.by_source.get(&0).is_some_and(|c| c.0 > 0))
            .count(),
        sites_with_chair_video: sites
            .iter()
            .filter(|s| s.reception.by_source.get(&0).is_some_and(|c| c.1 > 0))
            .count(),
        chair_layer,
        sites_with_floor_video: sites
            .iter()
            .filter(|s| {
                s.reception
                    .by_source
                    .iter()
                    .any(|(src, c)| *src != 0 && *src != s.index && c.1 > 0)
            })
            .count(),
        kernel_udp_drops: match (i.idle.udp_drops, i.window_last.udp_drops) {
            (Some(a), Some(b)) => Some((b.0 - a.0, b.1 - a.1)),
            _ => None,
        },
    };
    let delivered = i
        .window_last
        .site_rx_distinct
        .saturating_sub(i.window_first.site_rx_distinct);
    let all_delivered = i
        .window_last
        .site_rx_packets
        .saturating_sub(i.window_first.site_rx_packets);
    let per_million = |packets: f64| match &server {
        Some(sv) if packets > 0.0 => Some(sv.cpu_s / packets * 1e6),
        _ => None,
    };
    let per_packet = PerPacket {
        received: delivered,
        received_pps: delivered as f64 / window_s,
        cpu_s_per_million: per_million(delivered as f64),
        all_received_pps: all_delivered as f64 / window_s,
        cpu_s_per_million_forwarded: sfu
            .as_ref()
            .and_then(|f| per_million(f.forwarded_pps * window_s)),
    };
    {
        use std::sync::atomic::Ordering::Relaxed;
        let full = i.reports.iter().filter(|r| r.index < i.full_sites).count();
        generator.full_sites = full;
        generator.light_sites = i.reports.len() - full;
        generator.tap_packets = i.progress.tap_packets.load(Relaxed);
        generator.tap_sampled_pct = (generator.tap_packets > 0).then(|| {
            100.0 * i.progress.tap_sampled.load(Relaxed) as f64 / generator.tap_packets as f64
        });
        generator.cpu_s_per_million = (all_delivered > 0 && generator.cpu_s > 0.0)
            .then(|| generator.cpu_s / all_delivered as f64 * 1e6);
        let sfu_per_packet = per_packet
            .cpu_s_per_million_forwarded
            .or(per_packet.cpu_s_per_million);
        generator.vs_sfu = match (generator.cpu_s_per_million, sfu_per_packet) {
            (Some(g), Some(s)) if s > 0.0 => Some(g / s),
            _ => None,
        };
    }
    let sc = &i.scenario;
    let steadiness = (sc.warmup_s > 0.0)
        .then(|| crate::steady::assess(&i.timeline, sc.ramp_s() + sc.settle_s + sc.warmup_s))
        .flatten();
    let q = |f: fn(&SiteReport) -> Option<f64>| {
        quantiles(
            sites.iter().filter_map(|s| f(s)).collect(),
            [0.5, 0.95, 1.0],
        )
    };
    let join = JoinFigures {
        answer_ms: q(|s| s.answer_ms),
        connected_ms: q(|s| s.connected_ms),
        first_media_ms: q(|s| s.first_media_ms),
        first_video_ms: q(|s| s.first_video_ms),
    };
    let mut problems: Vec<(String, usize)> = Vec::new();
    for text in i
        .reports
        .iter()
        .flat_map(|r| r.failure.iter().chain(r.errors.iter()))
    {
        match problems.iter_mut().find(|(t, _)| t == text) {
            Some((_, n)) => *n += 1,
            None => problems.push((text.clone(), 1)),
        }
    }
    RunResult {
        joined: i
            .reports
            .iter()
            .filter(|r| r.connected_ms.is_some())
            .count(),
        failed: i.reports.iter().filter(|r| r.failure.is_some()).count(),
        problems,
        scenario: i.scenario,
        target: i.target.to_owned(),
        started_at: i.started_at,
        window_s,
        server,
        sfu,
        generator,
        media,
        join,
        per_packet,
        steadiness,
        hall_grid: i.hall_grid,
        cpu_hog: i.cpu_hog,
        timeline: i.timeline,
        sites: i.reports,
    }
}

/// The layer named by its index, for reports.
pub fn layer_name(i: usize) -> &'static str {
    Layer::ALL[i].name()
}
