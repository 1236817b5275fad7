//! The kernel's receive-buffer drops are seen on a real socket: a UDP socket with a small
//! receive buffer is flooded on loopback and never read; the reader finds its drops.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sfu::socket_drops::read_drops;

#[test]
fn a_flooded_socket_that_is_not_read_shows_kernel_drops() {
    let rx = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    // The kernel doubles it and keeps a floor: a few datagrams fill it.
    rx.set_recv_buffer_size(1024).unwrap();
    rx.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    let rx: UdpSocket = rx.into();
    let port = rx.local_addr().unwrap().port();
    assert_eq!(
        read_drops(port),
        Some(0),
        "a fresh socket has dropped nothing"
    );

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let payload = [7u8; 1200];
    let mut drops = 0;
    while drops == 0 && Instant::now() < deadline {
        for _ in 0..200 {
            tx.send_to(&payload, ("127.0.0.1", port)).unwrap();
        }
        drops = read_drops(port).expect("the socket's row");
    }
    assert!(drops > 0, "no drops seen for port {port}");
    // Another port's socket is not counted with it.
    assert_eq!(read_drops(tx.local_addr().unwrap().port()), Some(0));
}
