//! The real `diemcau` binary as a child process on loopback ports chosen by the OS, for the
//! tests that need a process of their own (SIGKILL, flags, the cluster section).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `diemcau`; killed when dropped.
pub struct Binary {
    child: Child,
    /// Where it serves HTTP, once it said so.
    pub http: Option<SocketAddr>,
}

impl Binary {
    /// Starts it on `data_dir` with `admin_key` and `extra` flags. With `wait`, returns once
    /// it serves (within 30 s) with its address; otherwise at once.
    pub fn start(data_dir: &Path, admin_key: &str, extra: &[String], wait: bool) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_diemcau"))
            .args([
                "--http",
                "127.0.0.1:0",
                "--udp",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env("DIEMCAU_ADMIN_KEY", admin_key)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
            }
        });
        let http = wait.then(|| {
            rx.recv_timeout(Duration::from_secs(30))
                .expect("the server says where it listens within 30 s")
        });
        Binary { child, http }
    }

    /// Its HTTP address (started with `wait`).
    pub fn http(&self) -> SocketAddr {
        self.http.expect("started with wait")
    }

    /// SIGKILL: no drain, no save at exit.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the log line `signaling listening addr=127.0.0.1:PORT` (colours removed).
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape sequence runs to its final `m`.
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    let rest = plain.split("signaling listening").nth(1)?;
    rest.split("addr=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
