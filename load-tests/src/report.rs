//! A run's figures for people: a Markdown table, written with the JSON and the chart into a
//! results folder (not committed), and appended to `load-tests/RESULTS.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::result::RunResult;

/// Where new runs go in RESULTS.md: right after this line if present, else at the end.
pub const RESULTS_MARKER: &str = "<!-- load-tests runner: new runs below -->";

fn opt(v: Option<f64>, unit: &str, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$} {unit}"))
}

/// The summary table of a run.
pub fn markdown(r: &RunResult) -> String {
    let mut t = String::new();
    let s = &r.scenario;
    let m = &r.media;
    let j = &r.join;
    let _ = writeln!(t, "| figure | value |\n|---|---|");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(t, "| {k} | {v} |");
    };
    row(
        "participants joined / failed",
        format!(
            "{} / {} (of {})",
            r.joined,
            r.failed,
            (s.sites + 1) * s.meetings
        ),
    );
    if let Some(sv) = &r.server {
        row(
            "SFU process CPU",
            format!(
                "{:.2} cores ({:.1} CPU s in {:.0} s)",
                sv.cores, sv.cpu_s, r.window_s
            ),
        );
        let busiest: Vec<String> = sv
            .threads
            .iter()
            .take(3)
            .map(|t| format!("{} {:.0}%", t.name, 100.0 * t.cpu_s / r.window_s))
            .collect();
        row("SFU busiest threads (% of a core)", busiest.join(", "));
        row(
            "SFU RSS idle → loaded",
            format!("{:.1} → {:.1} MiB", sv.rss_idle_mib, sv.rss_mib),
        );
        row(
            "memory per participant",
            format!("{:.0} KiB", sv.kib_per_site),
        );
    }
    if let Some(f) = &r.sfu {
        row(
            "SFU packets out / in",
            format!("{:.0} / {:.0} pkt/s", f.tx_pps, f.rx_pps),
        );
        row("SFU forwarded RTP", format!("{:.0} pkt/s", f.forwarded_pps));
        row(
            "SFU forwarding latency p50 / p99",
            format!(
                "{} / {}",
                opt(f.forward_p50_us, "µs", 0),
                opt(f.forward_p99_us, "µs", 0)
            ),
        );
        row(
            "SFU drops / keyframe requests in window",
            format!("{:.0} / {:.0}", f.dropped, f.keyframe_requests),
        );
    }
    let pp = &r.per_packet;
    row(
        "SFU CPU per million distinct RTP packets the sites received",
        format!(
            "{} ({:.0} distinct pkt/s in the window; {:.0} with repeats)",
            opt(pp.cpu_s_per_million, "CPU s", 2),
            pp.received_pps,
            pp.all_received_pps
        ),
    );
    if let Some(f) = pp.cpu_s_per_million_forwarded {
        row(
            "SFU CPU per million RTP packets it forwarded (own counter)",
            format!("{f:.2} CPU s"),
        );
    }
    let g = &r.generator;
    row(
        "generator CPU per million RTP packets its sites received",
        format!(
            "{} ({} of the SFU's per packet; {} full + {} light sites, {} of tap packets decrypted)",
            opt(g.cpu_s_per_million, "CPU s", 2),
            g.vs_sfu.map_or("n/a".into(), |v| format!("{v:.2}×")),
            g.full_sites,
            g.light_sites,
            g.tap_sampled_pct.map_or("n/a".into(), |p| format!("{p:.1}%")),
        ),
    );
    row(
        "loss (all / audio / video)",
        format!(
            "{:.3}% / {:.3}% / {:.3}%",
            m.loss_pct, m.audio_loss_pct, m.video_loss_pct
        ),
    );
    row(
        "packets received / lost / duplicate",
        format!("{} / {} / {}", m.received, m.lost, m.duplicates),
    );
    row("decode errors", m.decode_errors.to_string());
    if let Some((rx, tx)) = m.kernel_udp_drops {
        row(
            "kernel UDP buffer drops (receive / send)",
            format!("{rx} / {tx}"),
        );
    }
    row(
        "end-to-end audio p50 / p99",
        format!("{:.1} / {:.1} ms", m.audio_e2e_ms[0], m.audio_e2e_ms[1]),
    );
    row(
        "end-to-end video p50 / p99",
        format!("{:.1} / {:.1} ms", m.video_e2e_ms[0], m.video_e2e_ms[1]),
    );
    row(
        "audio jitter (mean)",
        format!("{:.2} ms", m.audio_jitter_ms),
    );
    row(
        "sites with the chair's audio / video",
        format!(
            "{} / {} of {}",
            m.sites_with_chair_audio,
            m.sites_with_chair_video,
            s.sites * s.meetings
        ),
    );
    row(
        "chair layer received (low / mid / high)",
        format!(
            "{} / {} / {}",
            m.chair_layer[0], m.chair_layer[1], m.chair_layer[2]
        ),
    );
    row(
        "sites that saw a floor holder",
        m.sites_with_floor_video.to_string(),
    );
    let q = |v: [f64; 3]| format!("{:.0} / {:.0} / {:.0} ms", v[0], v[1], v[2]);
    row("join → answer p50 / p95 / max", q(j.answer_ms));
    row("join → media up p50 / p95 / max", q(j.connected_ms));
    row("join → first media p50 / p95 / max", q(j.first_media_ms));
    row("join → first keyframe p50 / p95 / max", q(j.first_video_ms));
    if let Some(st) = &r.steadiness {
        let fds = st.fds.as_ref().map_or("—".into(), |f| {
            format!(
                "{:.0} → {:.0} ({:+.1}/h)",
                f.first_high, f.last_high, f.per_hour
            )
        });
        row(
            "after warm-up: SFU RSS high, first → last third (slope)",
            format!(
                "{:.1} → {:.1} MiB ({:+.1} MiB/h) over {} samples, {:.0} s",
                st.rss_mib.first_high,
                st.rss_mib.last_high,
                st.rss_mib.per_hour,
                st.samples,
                st.span_s
            ),
        );
        row(
            "after warm-up: SFU open files high, first → last third (slope)",
            fds,
        );
        row(
            "**memory and open files flat after warm-up**",
            if st.flat {
                "**yes**".into()
            } else {
                "**no**".into()
            },
        );
    }
    let g = &r.generator;
    row(
        "load generator CPU / RSS",
        format!(
            "{:.2} cores / {:.0} MiB; pacer late ticks {} of {} (worst {:.0} ms)",
            g.cores, g.rss_mib, g.late_ticks, g.ticks, g.worst_lag_ms
        ),
    );
    if let Some(o) = g.other_cores {
        let softirq = g
            .softirq_cores
            .map_or(String::new(), |k| format!(" (of which irq/softirq {k:.2})"));
        row(
            "other processes on the machine",
            format!("{o:.2} cores{softirq}"),
        );
    }
    if let Some(h) = &r.cpu_hog {
        row("CPU hog in the window", hog(h));
    }
    if let Some(g) = &r.hall_grid {
        row(
            "hall grid: pages shown / most pages / turns asked",
            format!(
                "{} / {} / {} ({} tiles a page, {} `grid` messages)",
                g.pages.len(),
                g.max_pages,
                g.turns,
                g.page_size,
                g.messages
            ),
        );
        row(
            "hall grid: sites whose video came on their page",
            format!("{} of {}", g.sites_seen, g.sites),
        );
        row(
            "hall grid: video packets on page / in a page change / late / **off page**",
            format!(
                "{} / {} / {} / **{}** (up to {:.0} ms after the page that showed the site, {:.0} ms before)",
                g.on_page_packets,
                g.transition_packets,
                g.late_packets,
                g.off_page_packets,
                g.worst_late_ms,
                g.worst_early_ms
            ),
        );
    }
    if !r.problems.is_empty() {
        let p: Vec<String> = r
            .problems
            .iter()
            .take(5)
            .map(|(t, n)| format!("{n}× {t}"))
            .collect();
        row("problems", p.join("; ").replace('|', "/"));
    }
    if let Some(g) = &r.hall_grid {
        t.push('\n');
        t.push_str(&grid_pages(g));
    }
    t
}

fn hog(h: &crate::hog::HogFigures) -> String {
    format!(
        "{} busy loops at nice {}: {:.1} CPU s in {:.0} s ({:.2} cores)",
        h.processes,
        h.nice,
        h.cpu_s,
        h.ran_s,
        h.cpu_s / h.ran_s.max(1e-3)
    )
}

/// The hall's grid page by page: which sites each page showed, whose video arrived while it
/// did, and any other site's video (beyond a page change's grace).
pub fn grid_pages(g: &crate::grid::GridFigures) -> String {
    use crate::grid::ranges;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| hall grid page | times shown | seconds | sites shown | video received from | late video (packets) | off-page video (packets: sites) |\n|---|---|---|---|---|---|---|"
    );
    for p in &g.pages {
        let off = if p.off_page_packets == 0 {
            "0".to_owned()
        } else {
            format!("{}: {}", p.off_page_packets, ranges(&p.off_page_sites))
        };
        let _ = writeln!(
            t,
            "| {} | {} | {:.1} | {} | {} | {} | {off} |",
            p.page + 1,
            p.times_shown,
            p.shown_s,
            ranges(&p.sites),
            ranges(&p.received),
            p.late_packets,
        );
    }
    t
}

/// The heading and table for RESULTS.md.
pub fn results_entry(r: &RunResult, command: &str) -> String {
    let on = if r.target == "diemcau" {
        String::new()
    } else {
        format!(" on {}", r.target)
    };
    format!(
        "### `{}`{on}: {}1 chair + {} simulated sites ({} UTC)\n\n{}\n\n    {}\n\n{}",
        r.scenario.name,
        match r.scenario.meetings {
            1 => String::new(),
            n => format!("{n} meetings of "),
        },
        r.scenario.sites,
        r.started_at,
        r.scenario.description,
        command,
        markdown(r)
    )
}

/// Two runs of the same scenario side by side (diemcau first), with the ratio of their CPU
/// cost per delivered packet.
pub fn comparison(a: &RunResult, b: &RunResult) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "| figure | {} | {} |\n|---|---|---|", a.target, b.target);
    let mut row = |k: &str, f: &dyn Fn(&RunResult) -> String| {
        let _ = writeln!(t, "| {k} | {} | {} |", f(a), f(b));
    };
    row("participants joined / failed", &|r| {
        format!("{} / {}", r.joined, r.failed)
    });
    row("SFU process CPU (cores)", &|r| {
        r.server.as_ref().map_or("—".into(), |s| {
            format!("{:.2} ({:.1} CPU s)", s.cores, s.cpu_s)
        })
    });
    row(
        "distinct RTP packets the sites received (with repeats)",
        &|r| {
            format!(
                "{:.0} pkt/s ({:.0})",
                r.per_packet.received_pps, r.per_packet.all_received_pps
            )
        },
    );
    row(
        "**SFU CPU s per million distinct packets received**",
        &|r| format!("**{}**", opt(r.per_packet.cpu_s_per_million, "", 2).trim()),
    );
    row("SFU RSS loaded", &|r| {
        r.server
            .as_ref()
            .map_or("—".into(), |s| format!("{:.0} MiB", s.rss_mib))
    });
    row("loss (all / audio / video)", &|r| {
        format!(
            "{:.3}% / {:.3}% / {:.3}%",
            r.media.loss_pct, r.media.audio_loss_pct, r.media.video_loss_pct
        )
    });
    row("end-to-end audio / video p99", &|r| {
        format!(
            "{:.1} / {:.1} ms",
            r.media.audio_e2e_ms[1], r.media.video_e2e_ms[1]
        )
    });
    row("sites with the chair's audio / video", &|r| {
        format!(
            "{} / {}",
            r.media.sites_with_chair_audio, r.media.sites_with_chair_video
        )
    });
    row("chair layer received (low / mid / high)", &|r| {
        format!(
            "{} / {} / {}",
            r.media.chair_layer[0], r.media.chair_layer[1], r.media.chair_layer[2]
        )
    });
    row("sites that saw a floor holder", &|r| {
        r.media.sites_with_floor_video.to_string()
    });
    row("join → first keyframe p50 / p95", &|r| {
        format!(
            "{:.0} / {:.0} ms",
            r.join.first_video_ms[0], r.join.first_video_ms[1]
        )
    });
    row("CPU hog", &|r| {
        r.cpu_hog.as_ref().map_or("none".into(), hog)
    });
    row("end-to-end video p50", &|r| {
        format!("{:.1} ms", r.media.video_e2e_ms[0])
    });
    row("load generator CPU (cores)", &|r| {
        format!("{:.2}", r.generator.cores)
    });
    row("other processes (cores)", &|r| {
        r.generator
            .other_cores
            .map_or("—".into(), |o| format!("{o:.2}"))
    });
    row("of which irq/softirq context, machine-wide (cores)", &|r| {
        r.generator
            .softirq_cores
            .map_or("—".into(), |k| format!("{k:.2}"))
    });
    if let (Some(x), Some(y)) = (
        a.per_packet.cpu_s_per_million,
        b.per_packet.cpu_s_per_million,
    ) {
        let _ = writeln!(
            t,
            "\n{} spends **{:.2}×** the CPU of {} per distinct packet the sites received ({y:.2} vs {x:.2} CPU s per million).",
            b.target,
            y / x,
            a.target
        );
    }
    t
}

/// The side-by-side entry for RESULTS.md.
pub fn comparison_entry(a: &RunResult, b: &RunResult, command: &str) -> String {
    format!(
        "### `{}` side by side: {} and {} (1 chair + {} sites, {} UTC)\n\n    {}\n\n{}",
        a.scenario.name,
        a.target,
        b.target,
        a.scenario.sites,
        a.started_at,
        command,
        comparison(a, b)
    )
}

/// Inserts `entry` into RESULTS.md after [`RESULTS_MARKER`] (newest first).
pub fn insert_entry(entry: &str, results_md: &Path) -> anyhow::Result<()> {
    let mut text = std::fs::read_to_string(results_md).unwrap_or_default();
    match text.find(RESULTS_MARKER) {
        Some(i) => {
            let at = i + RESULTS_MARKER.len();
            text.insert_str(at, &format!("\n\n{}", entry.trim_end()));
        }
        None => {
            text.push_str(&format!("\n{RESULTS_MARKER}\n\n{entry}"));
        }
    }
    std::fs::write(results_md, text).with_context(|| format!("writing {}", results_md.display()))
}

/// Writes `result.json`, `sites.json` (every site's report), `summary.md` and `chart.svg`
/// into a new folder under `root`.
pub fn write_folder(r: &RunResult, root: &Path) -> anyhow::Result<PathBuf> {
    let stamp = r.started_at.replace([' ', ':'], "-");
    let dir = root.join(format!("{}-{}-{stamp}", r.scenario.name, r.target));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(r)?)?;
    std::fs::write(dir.join("sites.json"), serde_json::to_string(&r.sites)?)?;
    std::fs::write(dir.join("summary.md"), markdown(r))?;
    crate::chart::draw(r, &dir.join("chart.svg"))?;
    Ok(dir)
}

/// Adds the run to RESULTS.md (after [`RESULTS_MARKER`], newest first).
pub fn append_results(r: &RunResult, command: &str, results_md: &Path) -> anyhow::Result<()> {
    insert_entry(&results_entry(r, command), results_md)
}
