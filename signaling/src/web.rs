//! The HTTP surface: WebSocket at `/ws`, the API under `/api/v1`, `/metrics`, `/healthz`
//! (the process answers), `/readyz` (the media thread answers and joins are accepted; 503
//! while draining), and the web client's files. The only module (with `api`) that touches
//! axum.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};

use crate::session::Inbound;
use crate::state::AppState;

/// Frames above this close the socket at the transport; between
/// [`crate::protocol::MAX_FRAME_BYTES`] and this, the session answers `too_large`.
const WS_MAX_MESSAGE: usize = 1024 * 1024;

#[derive(rust_embed::Embed)]
#[folder = "../web-client/"]
#[include = "index.html"]
#[include = "watch.html"]
#[include = "css/*"]
#[include = "js/*"]
#[include = "img/*"]
#[include = "vendor/*"]
struct WebClient;

/// The whole router.
pub fn router(state: Arc<AppState>) -> Router {
    let router = Router::new().route("/ws", get(ws));
    let router = if state.settings.separate_metrics {
        router
    } else {
        router.route("/metrics", get(metrics))
    };
    router
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .nest("/api/v1", crate::api_routes::router().layer(no_store()))
        .merge(crate::relay::http::router())
        .merge(crate::whip::router().layer(no_store()))
        .layer(nosniff())
        .fallback(get(static_file))
        .with_state(state)
}

/// API answers carry invite tokens and admin data: no cache (browser, proxy) may keep them.
fn no_store() -> tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    )
}

/// No answer is ever sniffed into another type (an error text rendered as HTML).
fn nosniff() -> tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    )
}

/// `/metrics` alone, for a separate listener (`--metrics-addr`).
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn ws(
    State(state): State<Arc<AppState>>,
    axum::extract::ConnectInfo(ClientAddr(peer)): axum::extract::ConnectInfo<ClientAddr>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin WebSocket refused").into_response();
    }
    let client = client_ip(peer.ip(), &headers, &state.settings);
    // A socket without a token yet holds a place among those not joined; over the cap it is
    // refused before the upgrade, so no socket is ever held.
    let limits = state.settings.limits;
    let unjoined =
        match state
            .unjoined
            .admit(client, limits.unjoined_per_ip, limits.unjoined_per_node)
        {
            Ok(pass) => pass,
            Err(refused) => {
                let status = match refused {
                    crate::door::Refused::PerAddress { .. } => StatusCode::TOO_MANY_REQUESTS,
                    crate::door::Refused::PerNode { .. } => StatusCode::SERVICE_UNAVAILABLE,
                };
                state
                    .metrics
                    .errors
                    .with_label_values(&["unjoined_limit"])
                    .inc();
                return (status, refused.to_string()).into_response();
            }
        };
    // Frames up to a little over the message limit reach the session, which answers a
    // precise `too_large`; larger ones close the socket.
    let max = WS_MAX_MESSAGE.max(state.settings.limits.message_bytes + 64 * 1024);
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| serve_socket(state, socket, client, unjoined))
}

/// The remote address of a connection, for handlers (`ConnectInfo<ClientAddr>`); the accept
/// loop ([`crate::serve`]) puts it in every request, from both listeners (plain TCP and TLS).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

/// The address this request counts under (see [`crate::proxy::client_address`]).
fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    settings: &crate::state::Settings,
) -> std::net::IpAddr {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok());
    crate::proxy::client_address(peer, last, settings.behind_proxy, &settings.trusted_proxies)
}

/// A browser always sends `Origin`: it must name the host the page came from (this server,
/// or the proxy in front of it, as `Host` says), so another site's page cannot open a session
/// with a visitor's browser. Clients that are not browsers send no `Origin` and are let in
/// (they hold a token like everyone else).
fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

async fn serve_socket(
    state: Arc<AppState>,
    socket: WebSocket,
    client: std::net::IpAddr,
    unjoined: crate::door::Pass,
) {
    let (sink, stream) = socket.split();
    let incoming = stream
        .take_while(|m| std::future::ready(m.is_ok() && !matches!(m, Ok(Message::Close(_)))))
        .filter_map(|m| {
            std::future::ready(match m {
                Ok(Message::Text(t)) => Some(Inbound::Text(t.to_string())),
                Ok(Message::Binary(b)) => Some(Inbound::Binary(b.len())),
                _ => None,
            })
        });
    let outgoing =
        sink.with(|s: String| std::future::ready(Ok::<_, axum::Error>(Message::Text(s.into()))));
    // In a cluster, a join for another node's meeting is tunneled to it (crate::cluster).
    crate::cluster::edge::serve(
        state,
        client,
        unjoined,
        Box::pin(incoming),
        Box::pin(outgoing),
    )
    .await;
}

/// How long `/readyz` waits for the media thread to answer.
const READY_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining").into_response();
    }
    // A round trip through the media thread's command queue.
    match tokio::time::timeout(READY_PROBE_TIMEOUT, state.sfu.ping()).await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        Ok(false) => (StatusCode::SERVICE_UNAVAILABLE, "media plane stopped").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "media plane not answering").into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let families = state.registry.gather();
    match prometheus::TextEncoder::new().encode_to_string(&families) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("metrics encoding failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The web client's Content-Security-Policy: scripts only from this server (no inline
/// script, no eval), connections only back to it, media from the page's own streams; inline
/// style attributes are allowed (the views and SVG charts set them), style sheets only from
/// here. No framing, no plugins, no `<base>` tricks.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; connect-src 'self'; \
img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self' 'unsafe-inline'; \
font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = match path {
        "" | "join" => "index.html",
        "watch" => "watch.html",
        p => p,
    };
    match WebClient::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
                (
                    header::CONTENT_SECURITY_POLICY,
                    CONTENT_SECURITY_POLICY.to_owned(),
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                (header::REFERRER_POLICY, "no-referrer".to_owned()),
            ],
            file.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
