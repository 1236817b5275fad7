//! The server under test as a process: started from the `diemcau` binary on free loopback
//! ports (or one already running), and its CPU time, memory and per-thread CPU read from
//! `/proc/<pid>` (with the `procfs` crate).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::target::Diemcau;

/// A `diemcau` child process; killed when dropped.
pub struct Spawned {
    child: tokio::process::Child,
    /// Its HTTP address.
    pub http: SocketAddr,
    /// Its media port.
    pub udp: SocketAddr,
    /// The admin key it was given.
    pub admin_key: String,
}

impl Spawned {
    /// Its process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops it.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The release binary next to this one (`target/release/diemcau`), if it was built.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("diemcau")))
        .unwrap_or_else(|| PathBuf::from("target/release/diemcau"))
}

/// Starts `binary` on free loopback ports with fresh secrets, its log in `log`, its roll-call
/// data under `data_dir`, at scheduling priority `nice` (through `nice(1)`, which execs it
/// under the same pid); returns once `/healthz` answers.
pub async fn spawn(
    binary: &Path,
    log: &Path,
    data_dir: &Path,
    nice: Option<i32>,
) -> anyhow::Result<Spawned> {
    if !binary.exists() {
        bail!(
            "{} not found: run `cargo build --release -p signaling` first",
            binary.display()
        );
    }
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()?).parse()?;
    let udp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()?).parse()?;
    let admin_key = format!("load-admin-{}", std::process::id());
    let log = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = match nice {
        Some(n) => {
            let mut c = tokio::process::Command::new("nice");
            c.arg("-n").arg(n.to_string()).arg(binary);
            c
        }
        None => tokio::process::Command::new(binary),
    };
    let child = command
        .args([
            "--http",
            &http.to_string(),
            "--udp",
            &udp.to_string(),
            "--admin-key",
            &admin_key,
        ])
        .arg("--token-secret")
        .arg(format!(
            "load-token-secret-{}-0123456789abcdef",
            std::process::id()
        ))
        .arg("--data-dir")
        .arg(data_dir)
        // Every simulated site connects from 127.0.0.1: the per-address caps a real
        // deployment keeps would refuse a 100-site scenario as one client.
        .env("DIEMCAU_LIMITS_CONNECTIONS_PER_IP", "1000000")
        .env("DIEMCAU_LIMITS_UNJOINED_PER_IP", "100000")
        .env(
            "RUST_LOG",
            std::env::var("DIEMCAU_LOG").unwrap_or_else(|_| "warn,str0m=error".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let spawned = Spawned {
        child,
        http,
        udp,
        admin_key,
    };
    let probe = Diemcau::new(http, spawned.admin_key.clone());
    for _ in 0..100 {
        if probe.healthy().await {
            return Ok(spawned);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("diemcau did not answer /healthz within 10 s")
}

/// CPU time of one thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadCpu {
    /// Thread name (`comm`).
    pub name: String,
    /// user + system time, seconds.
    pub cpu_s: f64,
}

/// One reading of a process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcSample {
    /// user + system time, seconds.
    pub cpu_s: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors (`/proc/<pid>/fd`), when readable.
    pub fds: Option<u64>,
    /// Every thread, by thread id.
    #[serde(skip)]
    pub threads: Vec<(i32, ThreadCpu)>,
}

/// Reads `/proc/<pid>` (`None`: this process).
pub fn sample(pid: Option<u32>) -> anyhow::Result<ProcSample> {
    let p = match pid {
        Some(pid) => procfs::process::Process::new(pid as i32)?,
        None => procfs::process::Process::myself()?,
    };
    let ticks = procfs::ticks_per_second() as f64;
    let stat = p.stat()?;
    let rss_bytes = stat.rss * procfs::page_size();
    let mut threads = Vec::new();
    if let Ok(tasks) = p.tasks() {
        for t in tasks.flatten() {
            if let Ok(s) = t.stat() {
                threads.push((
                    s.pid,
                    ThreadCpu {
                        name: s.comm.clone(),
                        cpu_s: (s.utime + s.stime) as f64 / ticks,
                    },
                ));
            }
        }
    }
    Ok(ProcSample {
        cpu_s: (stat.utime + stat.stime) as f64 / ticks,
        rss_bytes,
        fds: p.fd_count().ok().map(|n| n as u64),
        threads,
    })
}

/// CPU seconds per thread name between two samples, busiest first.
pub fn thread_cpu_between(before: &ProcSample, after: &ProcSample) -> Vec<ThreadCpu> {
    let mut by_name: Vec<ThreadCpu> = Vec::new();
    for (tid, t) in &after.threads {
        let was = before
            .threads
            .iter()
            .find(|(id, _)| id == tid)
            .map_or(0.0, |(_, b)| b.cpu_s);
        let d = t.cpu_s - was;
        match by_name.iter_mut().find(|x| x.name == t.name) {
            Some(x) => x.cpu_s += d,
            None => by_name.push(ThreadCpu {
                name: t.name.clone(),
                cpu_s: d,
            }),
        }
    }
    by_name.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s));
    by_name
}

/// CPU seconds the whole machine spent busy (all processes, all cores) since boot.
pub fn machine_busy_s() -> Option<f64> {
    use procfs::CurrentSI;
    let t = procfs::KernelStats::current().ok()?.total;
    let ticks = t.user
        + t.nice
        + t.system
        + t.irq.unwrap_or(0)
        + t.softirq.unwrap_or(0)
        + t.steal.unwrap_or(0);
    Some(ticks as f64 / procfs::ticks_per_second() as f64)
}

/// UDP datagrams the kernel of this network namespace dropped for a full receive buffer,
/// and sends that failed for a full send buffer: (receive, send).
pub fn udp_buffer_drops() -> Option<(u64, u64)> {
    let s = procfs::net::snmp().ok()?;
    Some((s.udp_rcvbuf_errors, s.udp_sndbuf_errors))
}

/// CPU seconds the machine spent in interrupt and softirq context since boot (`/proc/stat`
/// irq + softirq). On loopback the receive half of every datagram runs as a softirq, mostly
/// inside the sender's system call; with IRQ time accounting the kernel charges that time
/// to this column, not to the sending process, so a server's `/proc/<pid>/stat` misses it.
pub fn softirq_s() -> Option<f64> {
    use procfs::CurrentSI;
    let t = procfs::KernelStats::current().ok()?.total;
    Some((t.irq.unwrap_or(0) + t.softirq.unwrap_or(0)) as f64 / procfs::ticks_per_second() as f64)
}
