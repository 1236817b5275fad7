//! A simulated site speaking diemcau's WebSocket protocol (`signaling/PROTOCOL.md`), with the
//! very types the server uses (`signaling::protocol`).
//!
//! join → `joined` (how many receive slots) → offer in the documented layout → `answer` →
//! media up → publish; then `layers` sets the encoded layers, `error`/`ended` are recorded,
//! and the runner's commands become `open_meeting` / `grant_floor` / `revoke_floor` / `leave`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{ClientMessage, ErrorCode, ServerMessage, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use webrtc::peer_connection::RTCPeerConnectionState;

use super::{Command, SiteContext, SiteReport, SiteSpec};
use crate::clock;
use crate::grid::{self, Shown};
use crate::meter::{Reception, StreamMeter};
use crate::pacer::Publisher;
use crate::payload::Layer;
use crate::peer::{Layout, Peer, PeerEvent};
use crate::tap::Tap;
use signaling::protocol::Role;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a site waits for `joined` and for `answer`.
const SIGNALING_TIMEOUT: Duration = Duration::from_secs(20);

async fn send(ws: &mut Ws, msg: &ClientMessage) -> anyhow::Result<()> {
    ws.send(Message::Text(serde_json::to_string(msg)?.into()))
        .await?;
    Ok(())
}

/// Next server message; `None` when the socket closed.
async fn recv(ws: &mut Ws) -> anyhow::Result<Option<ServerMessage>> {
    while let Some(frame) = ws.next().await {
        match frame? {
            Message::Text(t) => {
                return Ok(Some(
                    serde_json::from_str(&t).with_context(|| format!("bad server message {t}"))?,
                ))
            }
            Message::Close(_) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// Runs one site on the diemcau server at `http` until it is told to leave.
pub async fn run(
    http: SocketAddr,
    spec: SiteSpec,
    ctx: Arc<SiteContext>,
    commands: mpsc::UnboundedReceiver<Command>,
) -> SiteReport {
    let mut report = SiteReport::new(&spec);
    let t0 = clock::micros();
    let mut receivers = JoinSet::new();
    let tap = if ctx.light(spec.index) {
        match Tap::start(ctx.ip, ctx.clone()).await {
            Ok(tap) => Some(tap),
            Err(e) => {
                ctx.progress.failed.fetch_add(1, Ordering::Relaxed);
                report.failure = Some(format!("binding the tap: {e}"));
                return report;
            }
        }
    } else {
        None
    };
    let result = session(
        http,
        &spec,
        &ctx,
        commands,
        &mut report,
        t0,
        &mut receivers,
        tap.as_ref(),
    )
    .await;
    if let Err(e) = result {
        ctx.progress.failed.fetch_add(1, Ordering::Relaxed);
        report.failure = Some(format!("{e:#}"));
    }
    // The connection is closed: every receive task sees its track end.
    let mut sampled = Vec::new();
    let deadline = tokio::time::sleep(Duration::from_secs(5));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            r = receivers.join_next() => match r {
                Some(Ok((meters, reception))) if tap.is_some() => {
                    sampled.extend(meters);
                    report.add_streams(t0, Vec::new(), reception);
                }
                Some(Ok((meters, reception))) => report.add_streams(t0, meters, reception),
                Some(Err(_)) => {}
                None => break,
            },
            _ = &mut deadline => {
                receivers.abort_all();
                break;
            }
        }
    }
    if let Some(tap) = tap {
        let header = tap.finish().await;
        report.add_streams(
            t0,
            super::merge_sampled(header, sampled),
            Reception::default(),
        );
    }
    report
}

type Received = (Vec<(u32, StreamMeter)>, Reception);

#[allow(clippy::too_many_arguments)]
async fn session(
    http: SocketAddr,
    spec: &SiteSpec,
    ctx: &Arc<SiteContext>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    report: &mut SiteReport,
    t0: u64,
    receivers: &mut JoinSet<Received>,
    tap: Option<&Tap>,
) -> anyhow::Result<()> {
    let since = |t0: u64| clock::micros().saturating_sub(t0) as f64 / 1000.0;
    // PROTOCOL.md "Connecting": the socket named by the invite link.
    let url = spec
        .invite
        .ws_url
        .clone()
        .unwrap_or_else(|| format!("ws://{http}/ws"));
    // Nagle off, as browsers have it: with it on, the offer that follows `join` waits for the
    // server's delayed ACK (~40 ms) and every join time would carry it.
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .context("WebSocket connect")?;
    send(
        &mut ws,
        &ClientMessage::Join {
            v: PROTOCOL_VERSION,
            token: spec.invite.token.clone(),
            resume: None,
        },
    )
    .await?;
    // PROTOCOL.md: after `join`, `joined` (or an `error`) is the first message.
    let receive = match tokio::time::timeout(SIGNALING_TIMEOUT, recv(&mut ws))
        .await
        .context("no `joined` in time")??
    {
        Some(ServerMessage::Joined { receive, .. }) => receive,
        Some(ServerMessage::Error { code, message, .. }) => {
            bail!("join refused: {}: {message}", code.as_str())
        }
        Some(other) => bail!(
            "`{}` came before `joined`",
            serde_json::to_value(&other)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        None => bail!("socket closed before `joined`"),
    };
    let layout = Layout {
        recv_video: receive.video,
        recv_audio: receive.audio,
    };
    let (peer, mut events) =
        Peer::build(ctx.ip, layout, u32::from(spec.index), tap.is_some()).await?;
    let result = negotiate_and_serve(
        &mut ws,
        &peer,
        &mut events,
        spec,
        ctx,
        &mut commands,
        report,
        t0,
        receivers,
        since,
        tap,
    )
    .await;
    let _ = send(&mut ws, &ClientMessage::Leave).await;
    let _ = ws.close(None).await;
    peer.close().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn negotiate_and_serve(
    ws: &mut Ws,
    peer: &Peer,
    events: &mut mpsc::UnboundedReceiver<PeerEvent>,
    spec: &SiteSpec,
    ctx: &Arc<SiteContext>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    report: &mut SiteReport,
    t0: u64,
    receivers: &mut JoinSet<Received>,
    since: impl Fn(u64) -> f64,
    tap: Option<&Tap>,
) -> anyhow::Result<()> {
    let sdp = peer.offer().await?;
    let sdp = match tap {
        Some(tap) => tap.offer(&sdp),
        None => sdp,
    };
    send(ws, &ClientMessage::Offer { sdp }).await?;
    let mic = spec.invite.role == Role::Chair || ctx.site_mic;
    // The chair keeps the record of its grid; a light chair would see only a sample.
    let hall = spec.invite.role == Role::Chair && tap.is_none();
    let mut publisher: Option<Arc<Publisher>> = None;
    let mut wanted: Option<Option<Layer>> = None;
    // A light site's transport-cc feedback goes through its first receive track.
    let mut feedback = false;
    let answer_deadline = tokio::time::sleep(SIGNALING_TIMEOUT);
    tokio::pin!(answer_deadline);
    let result = loop {
        tokio::select! {
            msg = recv(ws) => {
                let Some(msg) = msg? else { break Err(anyhow::anyhow!("server closed the socket")) };
                match msg {
                    ServerMessage::Answer { sdp, .. } => {
                        let sdp = match tap {
                            Some(tap) => tap.answer(&sdp)?,
                            None => sdp,
                        };
                        peer.answer(sdp).await?;
                        report.answer_ms.get_or_insert(since(t0));
                    }
                    ServerMessage::Layers { camera } => {
                        let max = Layer::from_name(&camera);
                        wanted = Some(max);
                        if let Some(p) = &publisher {
                            p.set_max_layer(max);
                        }
                    }
                    ServerMessage::Error { code, message, .. } => {
                        report.errors.push(format!("{}: {message}", code.as_str()));
                        if code == ErrorCode::Replaced {
                            break Err(anyhow::anyhow!("replaced by another connection"));
                        }
                    }
                    ServerMessage::Ended { reason } => break Err(anyhow::anyhow!("meeting ended: {reason}")),
                    ServerMessage::Grid { page, pages, page_size, sites } if hall => {
                        ctx.hall.shown(Shown { at_us: clock::micros(), page, pages, page_size, sites });
                    }
                    _ => {}
                }
            }
            ev = events.recv() => match ev {
                Some(PeerEvent::State(RTCPeerConnectionState::Connected)) if publisher.is_none() => {
                    report.connected_ms = Some(since(t0));
                    ctx.progress.connected.fetch_add(1, Ordering::Relaxed);
                    let p = super::publish(peer, spec, ctx, mic, tap.is_some()).await?;
                    if let Some(max) = wanted {
                        p.set_max_layer(max);
                    }
                    publisher = Some(p);
                }
                Some(PeerEvent::State(s @ (RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed))) => {
                    break Err(anyhow::anyhow!("peer connection {s}"));
                }
                Some(PeerEvent::Track(track)) => {
                    if let Some(tap) = tap.filter(|_| !feedback) {
                        ctx.feedback.register(crate::tap::feedback::Entry {
                            track: track.clone(),
                            arrivals: tap.arrivals.clone(),
                            sender_ssrc: peer.mic_ssrc,
                        });
                        feedback = true;
                    }
                    let metering = match tap {
                        Some(tap) => super::Metering::Sample(tap.proven.clone()),
                        None => super::Metering::Full { hall },
                    };
                    receivers.spawn(super::receive(track, ctx.clone(), metering));
                }
                Some(_) => {}
                None => break Err(anyhow::anyhow!("peer connection gone")),
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Open) => send(ws, &ClientMessage::OpenMeeting).await?,
                Some(Command::Grant(site_id)) => send(ws, &ClientMessage::GrantFloor { site_id }).await?,
                Some(Command::Revoke(site_id)) => send(ws, &ClientMessage::RevokeFloor { site_id }).await?,
                Some(Command::NextPage) => {
                    // As the web client's rotation: the page after the one shown, same size.
                    if let Some((page, pages, size)) = ctx.hall.current().filter(|_| hall) {
                        let page = grid::next_page(page, pages);
                        send(ws, &ClientMessage::Grid { page, page_size: Some(size) }).await?;
                        ctx.hall.turned();
                    }
                }
                Some(Command::Leave) | None => break Ok(()),
            },
            _ = &mut answer_deadline, if report.answer_ms.is_none() => {
                break Err(anyhow::anyhow!("no `answer` in time"));
            }
        }
    };
    if let Some(p) = &publisher {
        p.stop();
        ctx.progress.connected.fetch_sub(1, Ordering::Relaxed);
    }
    result
}
