//! The HTTP accept loop for both listeners (plain TCP and [`crate::tls::TlsListener`]), with
//! what `axum::serve` does not offer and a stranger would otherwise exploit:
//!
//! - a per-address cap on open connections (`limits.connections_per_ip`): one address
//!   cannot take the process's file descriptors; the next connection gets `429` and is
//!   closed. A trusted proxy (`behind_proxy`, `trusted_proxies`) is exempt: every client
//!   comes through it, and the per-address limits then use the forwarded address.
//! - a header-read timeout that is also the keep-alive idle timeout (`limits.http_idle`):
//!   hyper starts it whenever it waits for a request head, so a slowloris client that
//!   trickles a header, or one that opens a connection and sends nothing, is closed.
//!
//! A WebSocket keeps its connection's place until it closes (the place travels with the
//! upgraded socket). Graceful shutdown: when `stop` completes, accepting ends, every
//! connection finishes its request and closes, and `serve` returns once all have.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tower::ServiceExt;

use crate::door::{Pass, Refused};
use crate::state::AppState;
use crate::web::ClientAddr;

/// How long a refused connection is given to take its `429` before it is closed anyway.
const REFUSAL_WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `stop` completes and every connection has closed.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    state: Arc<AppState>,
    stop: impl std::future::Future<Output = ()> + Send,
) where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    // Dropping `closing` tells every connection to finish; each holds a `done` receiver.
    let (closing, close_rx) = tokio::sync::watch::channel(());
    let (done, _) = tokio::sync::watch::channel(());
    tokio::pin!(stop);
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let settings = &state.settings;
        let exempt = settings.behind_proxy
            && settings
                .trusted_proxies
                .iter()
                .any(|n| n.contains(addr.ip()));
        let cap = if exempt {
            usize::MAX
        } else {
            settings.limits.connections_per_ip
        };
        let pass = match state.connections.admit(addr.ip(), cap, usize::MAX) {
            Ok(pass) => pass,
            Err(refused) => {
                state
                    .metrics
                    .errors
                    .with_label_values(&["connection_limit"])
                    .inc();
                tokio::spawn(refuse(io, refused));
                continue;
            }
        };
        let idle = settings.limits.http_idle;
        let app = app.clone();
        let mut close_rx = close_rx.clone();
        let done = done.subscribe();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(ClientAddr(addr)));
                app.clone().oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(idle)
                .keep_alive(true);
            let io = TokioIo::new(Held { io, _pass: pass });
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!("connection ended: {e}");
                        }
                        break;
                    }
                    _ = close_rx.changed() => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(done);
        });
    }
    drop(closing);
    drop(listener);
    done.closed().await;
}

/// Tells a connection over the cap why, then closes it.
async fn refuse<I: AsyncWrite + Unpin>(mut io: I, refused: Refused) {
    let body = format!("{refused}\n");
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE_TIMEOUT, async {
        io.write_all(response.as_bytes()).await?;
        io.shutdown().await
    })
    .await;
}

/// A connection with its place under `connections_per_ip`, freed when the connection
/// (or the WebSocket it became) is dropped.
struct Held<I> {
    io: I,
    _pass: Pass,
}

impl<I: AsyncRead + Unpin> AsyncRead for Held<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Held<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
