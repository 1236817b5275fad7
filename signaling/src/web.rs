//! The HTTP surface: WebSocket at `/ws`, the API under `/api/v1`, `/metrics`, `/healthz`,
//! and the web client's files. The only module (with `api`) that touches axum.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};

use crate::session::{self, Inbound};
use crate::state::AppState;

/// Frames above this close the socket at the transport; between
/// [`crate::protocol::MAX_FRAME_BYTES`] and this, the session answers `too_large`.
const WS_MAX_MESSAGE: usize = 1024 * 1024;

#[derive(rust_embed::Embed)]
#[folder = "../web-client/"]
#[include = "index.html"]
#[include = "css/*"]
#[include = "js/*"]
#[include = "img/*"]
#[include = "vendor/*"]
struct WebClient;

/// The whole router.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ws", get(ws))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", crate::api::router())
        .fallback(get(static_file))
        .with_state(state)
}

async fn ws(State(state): State<Arc<AppState>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(WS_MAX_MESSAGE)
        .max_frame_size(WS_MAX_MESSAGE)
        .on_upgrade(move |socket| serve_socket(state, socket))
}

async fn serve_socket(state: Arc<AppState>, socket: WebSocket) {
    let (sink, stream) = socket.split();
    let incoming = stream
        .take_while(|m| std::future::ready(matches!(m, Ok(_)) && !matches!(m, Ok(Message::Close(_)))))
        .filter_map(|m| {
            std::future::ready(match m {
                Ok(Message::Text(t)) => Some(Inbound::Text(t.to_string())),
                Ok(Message::Binary(b)) => Some(Inbound::Binary(b.len())),
                _ => None,
            })
        });
    let outgoing = sink.with(|s: String| std::future::ready(Ok::<_, axum::Error>(Message::Text(s.into()))));
    session::run(state, Box::pin(incoming), Box::pin(outgoing)).await;
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let families = state.registry.gather();
    match prometheus::TextEncoder::new().encode_to_string(&families) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::error!("metrics encoding failed: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() || path == "join" { "index.html" } else { path };
    match WebClient::get(path) {
        Some(file) => (
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            file.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
