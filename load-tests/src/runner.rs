//! Runs one [`Scenario`] against a [`Target`]: creates the meeting, brings the chair in and
//! opens it, ramps the sites in, moves the floor, samples the server while the measurement
//! window runs, sends everyone home, and sums it all up in a [`RunResult`].
//!
//! Timeline: chair joins → `open_meeting` → ramp (`sites / join_rate` s) → settle → window
//! (`duration_s`, the figures that are reported as rates) → leave. End-to-end latency counts
//! only packets that arrive inside the window; loss and join times cover the whole run.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::clock;
use crate::grid::{self, HallLog};
use crate::hog::Hog;
use crate::pacer::Pacer;
use crate::result::{self, Observed, RunResult};
use crate::scenario::Scenario;
use crate::scrape::Snapshot;
use crate::server::{self, ProcSample};
use crate::site::{Command, Progress, SiteContext, SiteReport, SiteSpec};
use crate::synth::FPS;
use crate::target::Target;
use crate::timeline::TimelinePoint;

/// A site is granted the floor only this long after it started joining (its media is up).
const FLOOR_AFTER_JOIN: Duration = Duration::from_secs(3);

/// How the run is observed.
pub struct RunOptions {
    /// The server process to read CPU and memory from (`None`: not observable, e.g. in-process
    /// or remote).
    pub server_pid: Option<u32>,
    /// Show a progress bar.
    pub progress: bool,
    /// Seconds between timeline samples.
    pub sample_every: Duration,
    /// Sites (the chair first) that receive through a full webrtc-rs peer connection; the
    /// others receive through a tap ([`crate::tap`]).
    pub full_sites: u16,
    /// Busy-loop processes to starve the machine with during the window ([`crate::hog`]).
    pub cpu_hog: usize,
}

/// Full webrtc-rs sites in every run unless told otherwise: the chair and three sites, so
/// every run stays an interoperability test of the whole receive path.
pub const FULL_SITES: u16 = 4;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            server_pid: None,
            progress: false,
            sample_every: Duration::from_secs(2),
            full_sites: FULL_SITES,
            cpu_hog: 0,
        }
    }
}

struct Running {
    site_id: String,
    index: u16,
    invite: crate::site::invite::Invite,
    spawned: Instant,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::task::JoinHandle<SiteReport>,
}

async fn read(target: &dyn Target, pid: Option<u32>, progress: &Progress) -> Observed {
    let metrics = match target.scrape().await {
        Ok(Some(text)) => Snapshot::parse(&text).ok(),
        _ => None,
    };
    Observed {
        at: Instant::now(),
        metrics,
        server: pid.and_then(|p| server::sample(Some(p)).ok()),
        generator: server::sample(None).ok(),
        machine_busy_s: server::machine_busy_s(),
        udp_drops: server::udp_buffer_drops(),
        site_rx_packets: progress.rx_packets.load(Ordering::Relaxed),
        site_rx_distinct: progress.rx_distinct.load(Ordering::Relaxed),
        softirq_s: server::softirq_s(),
    }
}

fn point(t0: Instant, prev: &Observed, now: &Observed, progress: &Progress) -> TimelinePoint {
    let dt = now.at.duration_since(prev.at).as_secs_f64().max(1e-3);
    let rate = |f: fn(&Snapshot) -> f64| match (&prev.metrics, &now.metrics) {
        (Some(a), Some(b)) => Some((f(b) - f(a)) / dt),
        _ => None,
    };
    let cpu = |a: &Option<ProcSample>, b: &Option<ProcSample>| match (a, b) {
        (Some(a), Some(b)) => Some(100.0 * (b.cpu_s - a.cpu_s) / dt),
        _ => None,
    };
    TimelinePoint {
        t_s: now.at.duration_since(t0).as_secs_f64(),
        sites_connected: progress.connected.load(Ordering::Relaxed),
        tx_pps: rate(|s| s.tx_packets),
        rx_pps: rate(|s| s.rx_packets),
        sfu_cpu_pct: cpu(&prev.server, &now.server),
        generator_cpu_pct: cpu(&prev.generator, &now.generator),
        sfu_rss_mib: now.server.as_ref().map(|s| s.rss_bytes as f64 / 1048576.0),
        sfu_fds: now.server.as_ref().and_then(|s| s.fds),
    }
}

/// One meeting of the run: its invites, who is in it, and its floor.
struct Room {
    meeting: crate::target::Meeting,
    /// Its chair first.
    running: Vec<Running>,
    next_join: usize,
    holder: Option<String>,
    floor_turn: usize,
    next_floor: Option<Instant>,
}

/// Runs `scenario` against `target`.
pub async fn run(
    target: Arc<dyn Target>,
    scenario: &Scenario,
    options: &RunOptions,
) -> anyhow::Result<RunResult> {
    let started_at = result::now_string();
    let mut rooms = Vec::new();
    for m in 0..scenario.meetings {
        let title = match scenario.meetings {
            1 => format!("Load test {}", scenario.name),
            _ => format!("Load test {} #{}", scenario.name, m + 1),
        };
        let meeting = target
            .create_meeting(&title, scenario.sites, scenario.grid_page_size)
            .await
            .context("creating the meeting")?;
        rooms.push(Room {
            meeting,
            running: Vec::new(),
            next_join: 0,
            holder: None,
            floor_turn: 0,
            next_floor: None,
        });
    }
    let ctx = Arc::new(SiteContext {
        pacer: Pacer::start(),
        feedback: crate::tap::feedback::FeedbackClock::start(),
        ip: target.site_ip(),
        keyframe_every: (scenario.keyframe_interval_s * f64::from(FPS)).round() as u32,
        site_mic: scenario.site_mic,
        progress: Progress::default(),
        full_sites: options.full_sites,
        hall: HallLog::default(),
    });
    let bar = if options.progress {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    let ramp = Duration::from_secs_f64(scenario.ramp_s());
    let settle = Duration::from_secs_f64(scenario.settle_s);
    let window = Duration::from_secs_f64(scenario.duration_s);
    bar.set_length((ramp + settle + window).as_secs());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} s  {msg}")
            .expect("a valid template"),
    );

    let idle = read(target.as_ref(), options.server_pid, &ctx.progress).await;
    // Site indices count within each meeting (the chair is 0 in each): a site measures its
    // own meeting's sources only.
    let spawn = |index: u16, invite: crate::site::invite::Invite, running: &mut Vec<Running>| {
        let (tx, rx) = mpsc::unbounded_channel();
        let site_id = invite.site_id.clone();
        let task = target.spawn_site(
            SiteSpec {
                index,
                invite: invite.clone(),
            },
            ctx.clone(),
            rx,
        );
        running.push(Running {
            site_id,
            index,
            invite,
            spawned: Instant::now(),
            commands: tx,
            task,
        });
    };
    for room in rooms.iter_mut() {
        spawn(0, room.meeting.chair.clone(), &mut room.running);
    }
    let chair_wait = Instant::now();
    while ctx.progress.connected.load(Ordering::Relaxed) < rooms.len()
        && chair_wait.elapsed() < Duration::from_secs(10)
    {
        if ctx.progress.failed.load(Ordering::Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for room in &rooms {
        let _ = room.running[0].commands.send(Command::Open);
    }

    let t0 = Instant::now();
    let mut timeline = Vec::new();
    let mut last = read(target.as_ref(), options.server_pid, &ctx.progress).await;
    let mut next_sample = t0 + options.sample_every;
    let floor_every =
        (scenario.floor_change_s > 0.0).then(|| Duration::from_secs_f64(scenario.floor_change_s));
    for room in rooms.iter_mut() {
        room.next_floor = floor_every.map(|d| t0 + d);
    }
    let window_start = t0 + ramp + settle;
    // Churn: sites that left (their reports are awaited at the end) and when each comes back.
    let churn_every =
        (scenario.churn_every_s > 0.0).then(|| Duration::from_secs_f64(scenario.churn_every_s));
    let mut next_churn = churn_every.map(|d| t0 + ramp + d);
    let rejoin_after = Duration::from_secs_f64(scenario.rejoin_after_s);
    let mut departed: Vec<Running> = Vec::new();
    let mut away: Vec<(Instant, u16, crate::site::invite::Invite)> = Vec::new();
    let mut churn_turn = 0usize;
    let end = window_start + window;
    let mut window_first: Option<Observed> = None;
    // The hall's grid rotation, from the end of the ramp (every page has its sites by then).
    let rotate_every =
        (scenario.grid_rotate_s > 0.0).then(|| Duration::from_secs_f64(scenario.grid_rotate_s));
    let mut next_turn = rotate_every.map(|d| t0 + ramp + d);
    let mut hog: Option<(Hog, Instant)> = None;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Joins due by now, in every meeting.
        for room in rooms.iter_mut() {
            while room.next_join < room.meeting.sites.len()
                && t0 + Duration::from_secs_f64(room.next_join as f64 / scenario.join_rate) <= now
            {
                spawn(
                    room.next_join as u16 + 1,
                    room.meeting.sites[room.next_join].clone(),
                    &mut room.running,
                );
                room.next_join += 1;
            }
        }
        // Churn runs with one meeting (the scenario check says so).
        let Room {
            running, holder, ..
        } = &mut rooms[0];
        if let (Some(at), Some(every)) = (next_churn, churn_every) {
            if now >= at {
                let mut left = 0;
                let mut tried = 0;
                while left < scenario.churn_sites && tried < running.len() {
                    tried += 1;
                    // Never the chair (position 0) nor the floor holder.
                    let pos = 1 + churn_turn % (running.len() - 1).max(1);
                    churn_turn += 1;
                    if pos >= running.len()
                        || holder.as_deref() == Some(running[pos].site_id.as_str())
                    {
                        continue;
                    }
                    let r = running.remove(pos);
                    let _ = r.commands.send(Command::Leave);
                    away.push((now + rejoin_after, r.index, r.invite.clone()));
                    departed.push(r);
                    left += 1;
                }
                next_churn = Some(at + every);
            }
        }
        while let Some(i) = away.iter().position(|(at, _, _)| *at <= now) {
            let (_, index, invite) = away.remove(i);
            spawn(index, invite, running);
        }
        if window_first.is_none() && now >= window_start {
            ctx.progress
                .window_start_us
                .store(clock::micros(), Ordering::Relaxed);
            if options.cpu_hog > 0 {
                hog = Some((Hog::start(options.cpu_hog)?, now));
            }
            window_first = Some(read(target.as_ref(), options.server_pid, &ctx.progress).await);
        }
        // The hall's grid rotation (one meeting: see Scenario::check).
        if let (Some(at), Some(every)) = (next_turn, rotate_every) {
            if now >= at {
                let _ = rooms[0].running[0].commands.send(Command::NextPage);
                next_turn = Some(at + every);
            }
        }
        for room in rooms.iter_mut() {
            if let (Some(at), Some(every)) = (room.next_floor, floor_every) {
                // Only sites that joined a while ago can hold the floor.
                let eligible: Vec<&str> = room.running[1..]
                    .iter()
                    .filter(|r| now.duration_since(r.spawned) > FLOOR_AFTER_JOIN)
                    .map(|r| r.site_id.as_str())
                    .collect();
                if now >= at && !eligible.is_empty() {
                    let chair = &room.running[0].commands;
                    if let Some(h) = room.holder.take() {
                        let _ = chair.send(Command::Revoke(h));
                    }
                    let next = eligible[room.floor_turn % eligible.len()].to_owned();
                    room.floor_turn += 1;
                    let _ = chair.send(Command::Grant(next.clone()));
                    room.holder = Some(next);
                    room.next_floor = Some(at + every);
                }
            }
        }
        if now >= next_sample {
            let r = read(target.as_ref(), options.server_pid, &ctx.progress).await;
            let p = point(t0, &last, &r, &ctx.progress);
            bar.set_message(format!(
                "sites {}/{}{}  SFU tx {:.0} pkt/s  cpu {:.0}%",
                p.sites_connected,
                (scenario.sites + 1) * scenario.meetings,
                match ctx.progress.failed.load(Ordering::Relaxed) {
                    0 => String::new(),
                    n => format!(" ({n} failed)"),
                },
                p.tx_pps.unwrap_or(0.0),
                p.sfu_cpu_pct.unwrap_or(0.0)
            ));
            timeline.push(p);
            last = r;
            next_sample += options.sample_every;
        }
        bar.set_position(now.duration_since(t0).as_secs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let window_last = read(target.as_ref(), options.server_pid, &ctx.progress).await;
    let hog = hog.map(|(h, since)| h.stop(since.elapsed().as_secs_f64()));
    let grid_end_us = clock::micros();
    let window_first = window_first.context("the window never started")?;
    bar.finish_and_clear();

    // The hall's grid is judged with one meeting (two chairs would log into one record).
    let roster: Option<Vec<String>> = (rooms.len() == 1).then(|| {
        let meeting = &rooms[0].meeting;
        std::iter::once(&meeting.chair)
            .chain(&meeting.sites)
            .map(|i| i.site_id.clone())
            .collect()
    });
    // Everyone leaves: sites first, the chair last.
    for room in &rooms {
        for r in room.running.iter().rev() {
            let _ = r.commands.send(Command::Leave);
        }
    }
    let mut reports = Vec::new();
    let running = rooms.into_iter().flat_map(|room| room.running);
    for r in departed.into_iter().chain(running) {
        match tokio::time::timeout(Duration::from_secs(30), r.task).await {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(e)) => tracing::warn!(site = %r.site_id, "site task failed: {e}"),
            Err(_) => tracing::warn!(site = %r.site_id, "site did not finish leaving in 30 s"),
        }
    }
    let hall_grid = roster.and_then(|r| grid::judge(&ctx.hall.snapshot(), &r, grid_end_us));
    Ok(result::summarize(result::Inputs {
        scenario: scenario.clone(),
        target: target.name(),
        started_at,
        idle,
        window_first,
        window_last,
        timeline,
        reports,
        pacer: &ctx.pacer.stats,
        progress: &ctx.progress,
        full_sites: options.full_sites,
        hall_grid,
        cpu_hog: hog,
    }))
}
