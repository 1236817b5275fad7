//! Nobody can hold the door open: sockets that never join, slow or idle HTTP connections,
//! one address with many connections, and forged `X-Forwarded-For`, over real loopback
//! connections to a real server.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use signaling::limits::Limits;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::{self, Message};

/// A TCP connection to `server` from the loopback address `from` (e.g. 127.0.0.2).
async fn tcp_from(from: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server closes the connection (plain TCP or TLS), at most `bound`; returns
/// what it sent, or `None` when the connection was still open at the bound.
async fn read_until_closed<S: AsyncRead + Unpin>(
    stream: &mut S,
    bound: Duration,
) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_socket_that_only_pings_gets_join_timeout_and_is_closed() {
    let srv = server_with(Limits {
        join_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let mut ws = connect(srv.http).await;
    let opened = Instant::now();
    // Pings every 200 ms answer, but do not hold the socket past the deadline.
    let mut code = None;
    for id in 0..25 {
        send(&mut ws, format!(r#"{{"type":"ping","id":{id}}}"#)).await;
        let v = serde_json::to_value(recv(&mut ws).await).unwrap();
        if v["type"] == "error" {
            code = Some(v["code"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(code.as_deref(), Some("join_timeout"));
    let waited = opened.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let end = tokio::time::timeout(Duration::from_secs(3), ws.next())
        .await
        .expect("the socket closes after join_timeout");
    assert!(
        matches!(end, None | Some(Ok(Message::Close(_))) | Some(Err(_))),
        "{end:?}"
    );
    assert_eq!(srv.state.unjoined.total(), 0, "its place is given back");
}

#[tokio::test]
async fn a_joined_site_is_not_closed_by_the_join_deadline() {
    let srv = server_with(Limits {
        join_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let m = meeting(&srv.state, &["Xã A"]);
    let (mut ws, _) = join(srv.http, &m.sites[0].link).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send(&mut ws, r#"{"type":"ping","id":7}"#).await;
    let v = serde_json::to_value(recv_type(&mut ws, "pong").await).unwrap();
    assert_eq!(v["id"], 7);
}

#[tokio::test]
async fn sockets_not_joined_are_capped_per_address_and_per_node() {
    let srv = server_with(Limits {
        unjoined_per_ip: 2,
        unjoined_per_node: 3,
        ..Limits::default()
    })
    .await;
    let url = format!("ws://{}/ws", srv.http);
    let _a1 = connect(srv.http).await;
    let _a2 = connect(srv.http).await;
    match tokio_tungstenite::connect_async(&url).await {
        Err(tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 429);
            let body = String::from_utf8_lossy(res.body().as_deref().unwrap_or_default());
            assert_eq!(
                body,
                "too many WebSockets not joined yet from your address (at most 2)"
            );
        }
        other => panic!("a third unjoined socket from one address: {other:?}"),
    }
    // Another address still gets in, up to the node's cap.
    let b1 = tcp_from("127.0.0.2", srv.http).await;
    let (_b1, _) = tokio_tungstenite::client_async(&url, b1).await.unwrap();
    let b2 = tcp_from("127.0.0.2", srv.http).await;
    match tokio_tungstenite::client_async(&url, b2).await {
        Err(tungstenite::Error::Http(res)) => assert_eq!(res.status(), 503),
        other => panic!("a fourth unjoined socket on the node: {other:?}"),
    }
    // A socket that joins gives its place back.
    let m = meeting(&srv.state, &["Xã A"]);
    drop(_a1);
    poll_until(|| srv.state.unjoined.total() == 2).await;
    let (_joined, _) = join(srv.http, &m.sites[0].link).await;
    assert_eq!(srv.state.unjoined.total(), 2, "joined: no longer counted");
    let _a3 = connect(srv.http).await;
}

async fn poll_until(mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached within 2 s");
}

#[tokio::test]
async fn a_slowloris_header_is_closed_within_the_idle_timeout() {
    let srv = server_with(Limits {
        http_idle: Duration::from_secs(1),
        ..Limits::default()
    })
    .await;
    let mut slow = TcpStream::connect(srv.http).await.unwrap();
    let opened = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header line every 300 ms, never the blank line.
    let trickle = async {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let line = format!("X-Slow-{i}: 1\r\n");
            if slow.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), trickle).await;
    let closed = read_until_closed(&mut slow, Duration::from_secs(1)).await;
    assert!(closed.is_some(), "a slowloris header holds the connection");
    assert!(opened.elapsed() < Duration::from_secs(5));

    // A connection idle after one answered request is closed too.
    let mut idle = TcpStream::connect(srv.http).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(4))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn an_address_over_the_connection_cap_is_refused_while_another_still_joins() {
    let srv = server_with(Limits {
        connections_per_ip: 3,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = tcp_from("127.0.0.1", srv.http).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    poll_until(|| srv.state.connections.total() == 3).await;
    let mut fourth = tcp_from("127.0.0.1", srv.http).await;
    let answer = read_until_closed(&mut fourth, Duration::from_secs(3))
        .await
        .expect("the connection over the cap is closed");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.ends_with("too many open connections from your address (at most 3)\n"),
        "{answer}"
    );
    // Another address is not affected: it joins a meeting.
    let m = meeting(&srv.state, &["Xã A"]);
    let other = tcp_from("127.0.0.2", srv.http).await;
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{}/ws", srv.http), other)
        .await
        .unwrap();
    let token = token_of(&m.sites[0].link);
    use futures_util::SinkExt;
    ws.send(Message::Text(
        format!(r#"{{"type":"join","v":1,"token":"{token}"}}"#).into(),
    ))
    .await
    .unwrap();
    let joined = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Text(t) = frame {
                let v: serde_json::Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "joined" {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(joined, Ok(true));
    // Closing one frees its place.
    drop(held.pop());
    poll_until(|| srv.state.connections.held_by("127.0.0.1".parse().unwrap()) == 2).await;
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_join_limit() {
    let limits = Limits {
        joins_per_second_per_ip: 1.0,
        ..Limits::default()
    };
    // Behind a proxy at 10.0.0.0/8: a client straight on the port (127.0.0.1) forges a new
    // address in every request.
    let srv = server_configured(limits, |s| {
        s.behind_proxy = true;
        s.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    let m = meeting(&srv.state, &["A", "B", "C"]);
    let mut codes = Vec::new();
    for (i, invite) in m.sites.iter().enumerate() {
        let mut req = tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/ws",
            srv.http
        ))
        .unwrap();
        req.headers_mut().insert(
            "x-forwarded-for",
            format!("198.51.100.{}", i + 1).parse().unwrap(),
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        send_join(&mut ws, &invite.link).await;
        let v = loop {
            let v = serde_json::to_value(recv(&mut ws).await).unwrap();
            if v["type"] == "joined" || v["type"] == "error" {
                break v;
            }
        };
        codes.push(
            v.get("code")
                .and_then(|c| c.as_str())
                .unwrap_or(v["type"].as_str().unwrap())
                .to_owned(),
        );
    }
    assert_eq!(codes[..2], ["joined", "joined"], "{codes:?}");
    assert_eq!(codes[2], "rate_limited", "{codes:?}");
}

/// A self-signed certificate for `localhost` in a fresh folder: (folder, cert, key).
fn self_signed_in_temp() -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "diemcau-door-tls-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = tls::self_signed(&dir, "localhost");
    (dir, cert, key)
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

async fn tls_connect(server: SocketAddr, cert: &std::path::Path) -> Tls {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(cert).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = TcpStream::connect(server).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

#[tokio::test]
async fn the_tls_listener_has_the_same_header_timeout_and_connection_cap() {
    let (dir, cert, key) = self_signed_in_temp();
    let srv = server_tls(
        Limits {
            http_idle: Duration::from_secs(1),
            connections_per_ip: 2,
            ..Limits::default()
        },
        (&cert, &key),
    )
    .await;
    let mut slow = tls_connect(srv.http, &cert).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut held = tls_connect(srv.http, &cert).await;
    held.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    poll_until(|| srv.state.connections.total() == 2).await;
    let mut third = tls_connect(srv.http, &cert).await;
    let answer = read_until_closed(&mut third, Duration::from_secs(3))
        .await
        .expect("the connection over the cap is closed");
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    let opened = Instant::now();
    assert!(
        read_until_closed(&mut slow, Duration::from_secs(3))
            .await
            .is_some(),
        "a partial header over TLS holds the connection"
    );
    assert!(opened.elapsed() < Duration::from_secs(3));
    let _ = std::fs::remove_dir_all(dir);
}
