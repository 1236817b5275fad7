//! `cargo run -p load-tests --release -- load-tests/scenarios/province-50.toml`
//!
//! Starts the diemcau binary on free loopback ports (or uses `--url`), runs the scenario with
//! simulated sites, writes JSON, Markdown and an SVG chart into a results folder and appends
//! the summary to `load-tests/RESULTS.md`. `--target janus` runs the same scenario on a Janus
//! VideoRoom it starts itself; `--target both` runs diemcau, then Janus, and adds a
//! side-by-side table. Run media tests inside
//! `unshare -n bash -c 'ip link set lo up; ...'` so nothing leaves loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use load_tests::janus::{process as janus_process, Janus};
use load_tests::result::RunResult;
use load_tests::runner::{self, RunOptions};
use load_tests::scenario::Scenario;
use load_tests::target::{Diemcau, Target};
use load_tests::{report, server};
use tracing_subscriber::EnvFilter;

/// The system under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    /// diemcau (started here, or `--url`).
    Diemcau,
    /// Janus VideoRoom, started here with a generated config.
    Janus,
    /// diemcau, then Janus, with a side-by-side table.
    Both,
}

/// diemcau load tests: simulated sites against a real server.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Scenario file (load-tests/scenarios/*.toml).
    scenario: PathBuf,
    /// Use a running server at this HTTP address instead of starting one.
    #[arg(long, requires = "admin_key")]
    url: Option<SocketAddr>,
    /// Admin key of the server given by --url.
    #[arg(long)]
    admin_key: Option<String>,
    /// Process id of the server given by --url, to read its CPU and memory.
    #[arg(long)]
    pid: Option<u32>,
    /// The diemcau binary to start (default: next to this binary).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Folder for results (JSON, Markdown, SVG, server log).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/results"))]
    results: PathBuf,
    /// The RESULTS.md the summary is added to.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md"))]
    results_md: PathBuf,
    /// Do not add the summary to RESULTS.md.
    #[arg(long)]
    no_record: bool,
    /// Start the server at this `nice` priority (e.g. -10: it wins the CPU over the load
    /// generator and other processes, as on a machine of its own).
    #[arg(long, allow_hyphen_values = true)]
    server_nice: Option<i32>,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// What to run the scenario against.
    #[arg(long, value_enum, default_value_t = Which::Diemcau)]
    target: Which,
    /// The Janus binary (Debian package `janus`).
    #[arg(long, default_value = "janus")]
    janus_binary: PathBuf,
    /// Override the scenario's `duration_s` (seconds measured), e.g. a short soak.
    #[arg(long)]
    duration_s: Option<f64>,
    /// Sites (the chair first) that receive through a full webrtc-rs peer connection; the
    /// others count headers and decrypt a sample (`src/tap`). Janus sites are always full.
    #[arg(long, default_value_t = runner::FULL_SITES)]
    full_sites: u16,
    /// Janus `event_loops` (0: its default, a thread per handle).
    #[arg(long, default_value_t = 0)]
    janus_event_loops: u32,
    /// Starve the machine during the measurement window with this many busy-loop processes
    /// at nice 0 (started once the joins settled, stopped at the end; in `result.json`).
    #[arg(long, default_value_t = 0)]
    cpu_hog: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,rtc_dtls=error,webrtc=error,rtc=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut scenario = Scenario::load(&args.scenario)?;
    if let Some(d) = args.duration_s {
        scenario.duration_s = d;
        scenario.check()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    runtime.block_on(run(args, scenario))
}

fn command_line() -> String {
    format!(
        "cargo run -p load-tests --release -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    )
}

async fn run(args: Args, scenario: Scenario) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.results)?;
    match args.target {
        Which::Diemcau | Which::Janus => {
            run_one(&args, &scenario, args.target).await?;
        }
        Which::Both => {
            let a = run_one(&args, &scenario, Which::Diemcau).await?;
            let b = run_one(&args, &scenario, Which::Janus).await?;
            println!("{}", report::comparison(&a, &b));
            if !args.no_record {
                report::insert_entry(
                    &report::comparison_entry(&a, &b, &command_line()),
                    &args.results_md,
                )
                .context("recording in RESULTS.md")?;
            }
        }
    }
    Ok(())
}

/// Starts `which` (unless `--url`), runs the scenario on it, stops it, and writes and
/// records the result.
async fn run_one(args: &Args, scenario: &Scenario, which: Which) -> anyhow::Result<RunResult> {
    let mut spawned_diemcau = None;
    let mut spawned_janus = None;
    let (target, pid): (Arc<dyn Target>, Option<u32>) = match (which, args.url) {
        (Which::Janus, _) => {
            let options = janus_process::Options {
                binary: args.janus_binary.clone(),
                dir: args.results.join(format!("janus-{}", scenario.name)),
                nice: args.server_nice,
                event_loops: args.janus_event_loops,
            };
            let s = janus_process::spawn(&options).await?;
            eprintln!("janus pid {} on {}", s.pid().unwrap_or(0), s.api);
            let target = Arc::new(Janus::new(s.api.clone()));
            let pid = s.pid();
            spawned_janus = Some(s);
            (target, pid)
        }
        (_, Some(url)) => (
            Arc::new(Diemcau::new(
                url,
                args.admin_key.clone().unwrap_or_default(),
            )),
            args.pid,
        ),
        (_, None) => {
            let binary = args.binary.clone().unwrap_or_else(server::default_binary);
            let data = args.results.join("data");
            std::fs::create_dir_all(&data)?;
            let log = args.results.join(format!("{}-server.log", scenario.name));
            let s = server::spawn(&binary, &log, &data, args.server_nice).await?;
            eprintln!(
                "diemcau pid {} on http {} udp {}",
                s.pid().unwrap_or(0),
                s.http,
                s.udp
            );
            let target = Arc::new(Diemcau::new(s.http, s.admin_key.clone()));
            let pid = s.pid();
            spawned_diemcau = Some(s);
            (target, pid)
        }
    };
    let options = RunOptions {
        server_pid: pid,
        progress: true,
        full_sites: args.full_sites,
        cpu_hog: args.cpu_hog,
        ..RunOptions::default()
    };
    let result = runner::run(target, scenario, &options).await;
    if let Some(s) = spawned_diemcau {
        s.stop().await;
    }
    if let Some(s) = spawned_janus {
        s.stop().await;
    }
    let result = result?;
    let dir = report::write_folder(&result, &args.results)?;
    println!("{}", report::markdown(&result));
    println!("results: {}", dir.display());
    if !args.no_record {
        report::append_results(&result, &command_line(), &args.results_md)
            .context("recording in RESULTS.md")?;
        println!("added to {}", args.results_md.display());
    }
    Ok(result)
}
