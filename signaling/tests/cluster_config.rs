//! `[cluster]` decides whether the node contacts NATS at all: the real `diemcau` binary,
//! watched from a TCP listener standing where a NATS server would be.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `extra` flags; returns it once it serves (`signaling listening`)
/// or, when `wait_listening` is false, at once.
fn start(extra: &[String], wait_listening: bool) -> Process {
    let dir = std::env::temp_dir().join(format!("diemcau-cluster-config-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_diemcau"))
        .args([
            "--http",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&dir)
        .args(extra)
        .env("DIEMCAU_ADMIN_KEY", "cluster-config-admin-key-0123456789")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("signaling listening") {
                let _ = tx.send(());
            }
        }
    });
    if wait_listening {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server serves within 30 s");
    }
    Process(child)
}

/// Whether `listener` gets a connection within `limit`.
fn contacted(listener: &TcpListener, limit: Duration) -> bool {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    while start.elapsed() < limit {
        if listener.accept().is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_node_without_a_cluster_section_contacts_no_nats_and_one_with_it_does() {
    // Where NATS would be; the environment could name it (DIEMCAU_CLUSTER_NATS_URL is not
    // set here, so the first node stands alone).
    let nats = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", nats.local_addr().unwrap());
    {
        let _single = start(&[], true);
        assert!(
            !contacted(&nats, Duration::from_secs(2)),
            "a single node opened a connection to the NATS port"
        );
    }
    let flags = [
        "--cluster-nats-url".to_owned(),
        url,
        "--cluster-node-id".to_owned(),
        "hanoi-1".to_owned(),
    ];
    let _clustered = start(&flags, false);
    assert!(
        contacted(&nats, Duration::from_secs(20)),
        "a node with [cluster] nats_url never contacted NATS"
    );
}
