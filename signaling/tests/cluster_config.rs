//! `[cluster]` decides whether the node contacts NATS at all: the real `diemcau` binary,
//! watched from a TCP listener standing where a NATS server would be.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::binary::Binary;

/// Starts the binary with `extra` flags; returns it once it serves or, when
/// `wait_listening` is false, at once.
fn start(extra: &[String], wait_listening: bool) -> Binary {
    let dir = std::env::temp_dir().join(format!("diemcau-cluster-config-{}", std::process::id()));
    let key = "cluster-config-admin-key-0123456789";
    Binary::start(&dir, key, extra, wait_listening)
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
