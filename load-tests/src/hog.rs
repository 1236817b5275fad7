//! A repeatable CPU hog (`--cpu-hog N`): N busy-loop processes at nice 0, so a run can measure
//! the SFU on a starved machine without waiting for other work to starve it. Processes, not
//! threads, so their CPU is not charged to the load generator; nice 0 whatever the
//! generator's own priority, so the starvation is the same from run to run.

use std::process::{Child, Command, Stdio};

use anyhow::Context;
use serde::Serialize;

use crate::server;

/// The priority every hog runs at.
pub const NICE: i32 = 0;

/// Running hogs; killed when stopped or dropped.
pub struct Hog {
    children: Vec<Child>,
    cpu_at_start: f64,
}

/// What the hogs did, for `result.json`.
#[derive(Debug, Clone, Serialize)]
pub struct HogFigures {
    /// Busy-loop processes.
    pub processes: usize,
    /// Their nice value.
    pub nice: i32,
    /// CPU seconds they got while they ran.
    pub cpu_s: f64,
    /// Seconds they ran.
    pub ran_s: f64,
}

fn cpu_of(children: &[Child]) -> f64 {
    children
        .iter()
        .filter_map(|c| server::sample(Some(c.id())).ok())
        .map(|s| s.cpu_s)
        .sum()
}

impl Hog {
    /// Starts `n` busy loops (`sh -c 'while :; do :; done'`) at [`NICE`].
    pub fn start(n: usize) -> anyhow::Result<Hog> {
        let mut children = Vec::with_capacity(n);
        for _ in 0..n {
            let mut c = Command::new("sh");
            c.args(["-c", "while :; do :; done"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: setpriority is async-signal-safe; the closure touches nothing else.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                    if libc::setpriority(libc::PRIO_PROCESS, 0, NICE) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            let child = c.spawn().with_context(|| {
                format!(
                    "starting a CPU hog at nice {NICE} (from a niced generator that needs \
                         root or CAP_SYS_NICE)"
                )
            })?;
            children.push(child);
        }
        let cpu_at_start = cpu_of(&children);
        Ok(Hog {
            children,
            cpu_at_start,
        })
    }

    /// Stops the hogs; `ran_s` is how long they ran.
    pub fn stop(mut self, ran_s: f64) -> HogFigures {
        let cpu_s = cpu_of(&self.children) - self.cpu_at_start;
        let processes = self.children.len();
        self.kill();
        HogFigures {
            processes,
            nice: NICE,
            cpu_s,
            ran_s,
        }
    }

    fn kill(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hog_burns_cpu_at_nice_zero_until_stopped() {
        let hog = Hog::start(1).unwrap();
        let pid = hog.children[0].id();
        // SAFETY: reads a priority; no memory is passed.
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, pid) };
        assert_eq!(nice, NICE);
        let t = std::time::Instant::now();
        while cpu_of(&hog.children) - hog.cpu_at_start < 0.05 {
            assert!(t.elapsed().as_secs() < 20, "the hog used no CPU");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let f = hog.stop(t.elapsed().as_secs_f64());
        assert_eq!((f.processes, f.nice), (1, 0));
        assert!(f.cpu_s >= 0.05, "{f:?}");
        let gone = std::path::Path::new("/proc")
            .join(pid.to_string())
            .join("stat");
        assert!(!gone.exists(), "the hog process was reaped when stopped");
    }
}
