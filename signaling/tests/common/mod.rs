//! Shared set-up for integration tests: a real server on 127.0.0.1:0 (HTTP and UDP).
#![allow(dead_code)]

pub mod binary;
mod http;
pub mod tls;
#[allow(unused_imports)] // not every test file calls the API over HTTP
pub use http::{api, openapi};

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use signaling::api::{CreateMeeting, MeetingCreated, SiteInput};
use signaling::protocol::ServerMessage;
use signaling::{AppState, Settings};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN: &str = "test-admin-key-0123456789";
pub const SECRET: &[u8] = b"test-token-secret-0123456789abcdef";

pub struct Server {
    pub http: SocketAddr,
    pub state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn server() -> Server {
    server_with(signaling::limits::Limits::default()).await
}

/// A server with these limits.
pub async fn server_with(limits: signaling::limits::Limits) -> Server {
    server_configured(limits, |_| {}).await
}

/// A server with these limits and any other settings changed by `adjust`.
pub async fn server_configured(
    limits: signaling::limits::Limits,
    adjust: impl FnOnce(&mut Settings),
) -> Server {
    server_on(limits, adjust, None).await
}

/// A server serving HTTPS with the PEM files `tls` (certificate, key).
pub async fn server_tls(
    limits: signaling::limits::Limits,
    tls: (&std::path::Path, &std::path::Path),
) -> Server {
    server_on(limits, |_| {}, Some(tls)).await
}

async fn server_on(
    limits: signaling::limits::Limits,
    adjust: impl FnOnce(&mut Settings),
    tls: Option<(&std::path::Path, &std::path::Path)>,
) -> Server {
    let running = running(limits, adjust, tls).await;
    Server {
        http: running.http,
        state: running.state,
        stop: Some(running.stop),
    }
}

/// A server the test stops itself and watches stop: `stop` begins the graceful shutdown,
/// `served` ends when the server has.
pub struct Running {
    pub http: SocketAddr,
    pub state: Arc<AppState>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A server with these limits and any other settings changed by `adjust`, serving HTTPS
/// with the PEM files `tls` (certificate, key) when given.
pub async fn running(
    limits: signaling::limits::Limits,
    adjust: impl FnOnce(&mut Settings),
    tls: Option<(&std::path::Path, &std::path::Path)>,
) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let settings = Settings {
        public_url: format!("http://{http}"),
        admin_key: ADMIN.into(),
        token_secret: SECRET.to_vec(),
        ice_servers: Vec::new(),
        data_dir: Some(std::env::temp_dir().join(format!(
            "diemcau-test-{}-{}",
            std::process::id(),
            http.port()
        ))),
        separate_metrics: false,
        turn: None,
        drain_timeout: std::time::Duration::ZERO,
        limits,
        behind_proxy: false,
        trusted_proxies: Vec::new(),
        relay: None,
    };
    let mut settings = settings;
    adjust(&mut settings);
    let sfu = sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        announce_ip: None,
        tcp_bind: None,
        priority_boost: 0,
    };
    let state = signaling::start(settings, sfu).unwrap();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let stop_rx = async move {
        let _ = rx.await;
    };
    let served = match tls {
        Some((cert, key)) => {
            let store = signaling::tls::CertStore::load(cert, key).unwrap();
            let listener = signaling::tls::TlsListener::new(listener, &store).unwrap();
            tokio::spawn(signaling::run(listener, state.clone(), stop_rx))
        }
        None => tokio::spawn(signaling::run(
            signaling::no_delay(listener),
            state.clone(),
            stop_rx,
        )),
    };
    Running {
        http,
        state,
        stop,
        served,
    }
}

pub fn meeting(state: &AppState, sites: &[&str]) -> MeetingCreated {
    signaling::api::create(
        state,
        CreateMeeting {
            title: "Giao ban".into(),
            chair_name: None,
            sites: sites
                .iter()
                .map(|n| SiteInput { name: (*n).into() })
                .collect(),
            valid_hours: Some(1),
            floor_limit: None,
            grid_page_size: None,
        },
    )
    .unwrap()
}

pub fn token_of(link: &str) -> String {
    link.split("#t=").nth(1).unwrap().to_owned()
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(http: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{http}/ws"))
        .await
        .unwrap();
    ws
}

pub async fn send(ws: &mut Ws, text: impl Into<String>) {
    ws.send(Message::Text(text.into().into())).await.unwrap();
}

/// Next server message, failing after 5 s.
pub async fn recv(ws: &mut Ws) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
            .await
            .expect("server answered within 5 s")
            .expect("socket open")
            .expect("frame ok");
        if let Message::Text(t) = frame {
            return serde_json::from_str(&t)
                .unwrap_or_else(|e| panic!("bad server message {t}: {e}"));
        }
    }
}

/// Next message of a given type, skipping others (presence updates).
pub async fn recv_type(ws: &mut Ws, ty: &str) -> ServerMessage {
    for _ in 0..50 {
        let m = recv(ws).await;
        if serde_json::to_value(&m).unwrap()["type"] == ty {
            return m;
        }
    }
    panic!("no {ty} message");
}

/// Sends the `join` of `link`'s token on an open socket.
pub async fn send_join(ws: &mut Ws, link: &str) {
    send(
        ws,
        format!(r#"{{"type":"join","v":1,"token":"{}"}}"#, token_of(link)),
    )
    .await;
}

pub async fn join(http: SocketAddr, link: &str) -> (Ws, ServerMessage) {
    let mut ws = connect(http).await;
    send_join(&mut ws, link).await;
    let joined = recv_type(&mut ws, "joined").await;
    (ws, joined)
}

/// Joins without waiting for `joined`: the first message the server answers with.
pub async fn try_join(http: SocketAddr, link: &str) -> (Ws, serde_json::Value) {
    let mut ws = connect(http).await;
    send_join(&mut ws, link).await;
    let first = serde_json::to_value(recv(&mut ws).await).unwrap();
    (ws, first)
}

/// A join the server refuses: the code of its error.
pub async fn join_refused(http: SocketAddr, link: &str) -> String {
    let mut ws = connect(http).await;
    send_join(&mut ws, link).await;
    error_code(&mut ws).await
}

/// `site`'s media connection in the node's index of connections, if it has one.
pub fn peer_of(state: &AppState, site: &str) -> Option<sfu::PeerId> {
    state
        .peers
        .iter()
        .find(|e| e.value().1 == site)
        .map(|e| *e.key())
}

/// A real offer captured from Chromium 156 by the web client (1 mic, 1 camera with three
/// simulcast layers, 4 + 4 receive slots).
pub const CHROMIUM_OFFER: &str = include_str!("../../fixtures/sdp/chromium-site-offer.sdp");

/// The `offer` message carrying [`CHROMIUM_OFFER`].
pub fn offer_message() -> String {
    serde_json::json!({"type": "offer", "sdp": CHROMIUM_OFFER}).to_string()
}

/// Joins and negotiates media with the captured Chromium offer; returns after the answer.
pub async fn join_with_media(http: SocketAddr, link: &str) -> Ws {
    let (mut ws, _) = join(http, link).await;
    send(&mut ws, offer_message()).await;
    recv_type(&mut ws, "answer").await;
    ws
}

/// Reads messages until `pick` returns something (5 s per message at most).
pub async fn wait_for<T>(ws: &mut Ws, mut pick: impl FnMut(&serde_json::Value) -> Option<T>) -> T {
    for _ in 0..200 {
        let m = serde_json::to_value(recv(ws).await).unwrap();
        if let Some(t) = pick(&m) {
            return t;
        }
    }
    panic!("the awaited message never came");
}

/// The site ids a `slots` message routes, by kind (`audio` / `video`).
pub fn routed(slots: &serde_json::Value, kind: &str) -> Vec<String> {
    slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .filter_map(|s| s["site_id"].as_str().map(str::to_owned))
        .collect()
}

/// Waits for the next `slots` message whose routed sites satisfy `ok`.
pub async fn wait_slots(
    ws: &mut Ws,
    ok: impl Fn(&[String], &[String]) -> bool,
) -> serde_json::Value {
    wait_for(ws, |m| {
        (m["type"] == "slots" && ok(&routed(m, "video"), &routed(m, "audio"))).then(|| m.clone())
    })
    .await
}

/// Sends a JSON message.
pub async fn send_json(ws: &mut Ws, v: serde_json::Value) {
    send(ws, v.to_string()).await;
}

/// Waits for an `error` and returns its code.
pub async fn error_code(ws: &mut Ws) -> String {
    wait_for(ws, |m| {
        (m["type"] == "error").then(|| m["code"].as_str().unwrap().to_owned())
    })
    .await
}
