//! A simulated site in a Janus VideoRoom (`crate::janus` says what it subscribes to and why).
//!
//! One Janus session per site. Publisher: `join` (ptype publisher, feed id `1 + index`) →
//! `configure` with our offer (no trickle: the candidate is in the SDP) → Janus's answer →
//! media up → publish through the shared pacer; Janus's `webrtcup` marks the feed ready.
//! Subscribers, each on its own handle and peer connection: `join` (ptype subscriber, the
//! feed's audio and camera) → Janus offers → our answer in `start` → `configure` the
//! simulcast substream. Both sides run concurrently until the runner says `Leave`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;
use signaling::protocol::Role;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState, RTCSessionDescription};

use super::{Command, Received, SiteContext, SiteReport, SiteSpec};
use crate::clock;
use crate::janus::api::Session;
use crate::janus::room::{Room, GRID};
use crate::pacer::Publisher;
use crate::payload::Layer;
use crate::peer::{self, Layout, Peer, PeerEvent};

/// Janus's substream number of our top layer, for the `q;h;f` we offer (ENVIRONMENT.md
/// "Janus"; measured: with 0 every site's meter sees the chair on `high`).
const HIGHEST: u8 = 0;
/// The substream of our lowest layer (measured: the chair's grid arrives on `low`).
const LOWEST: u8 = 2;
/// The publisher's mids in our offer (mic, camera): what subscribers ask for.
const PUBLISHED_MIDS: [&str; 2] = ["0", "1"];
/// How long a subscriber waits for a feed's publisher to come up.
const FEED_WAIT: Duration = Duration::from_secs(15);

/// Runs one site in `room` until it is told to leave.
pub async fn run(
    room: Arc<Room>,
    spec: SiteSpec,
    ctx: Arc<SiteContext>,
    commands: mpsc::UnboundedReceiver<Command>,
) -> SiteReport {
    let mut report = SiteReport::new(&spec);
    let t0 = clock::micros();
    let (tracks_tx, mut tracks) = mpsc::unbounded_channel();
    let result = match Session::create(room.client.clone(), &room.api).await {
        Ok(janus) => {
            let r = participate(
                &janus,
                &room,
                &spec,
                &ctx,
                commands,
                &mut report,
                t0,
                tracks_tx,
            )
            .await;
            janus.destroy().await;
            r
        }
        Err(e) => Err(e.context("creating the Janus session")),
    };
    if let Err(e) = result {
        ctx.progress.failed.fetch_add(1, Ordering::Relaxed);
        report.failure = Some(format!("{e:#}"));
    }
    let mut receivers = Vec::new();
    while let Ok(r) = tracks.try_recv() {
        receivers.push(r);
    }
    super::collect(receivers, t0, &mut report).await;
    report
}

#[allow(clippy::too_many_arguments)]
async fn participate(
    janus: &Session,
    room: &Room,
    spec: &SiteSpec,
    ctx: &Arc<SiteContext>,
    commands: mpsc::UnboundedReceiver<Command>,
    report: &mut SiteReport,
    t0: u64,
    tracks: mpsc::UnboundedSender<JoinHandle<Received>>,
) -> anyhow::Result<()> {
    let (leave_tx, leave) = watch::channel(false);
    let publishing = async {
        let r = publish(janus, room, spec, ctx, commands, report, t0).await;
        let _ = leave_tx.send(true);
        r
    };
    let subscribing = subscribe_all(janus, room, spec, ctx, tracks, leave);
    let (p, s) = tokio::join!(publishing, subscribing);
    p.and(s)
}

/// The layers a publisher sends: the chair's and the floor holder's camera are watched at the
/// top layer, the other sites' only on the chair's grid at the lowest.
fn wanted(role: Role, feed: u64, floor: Option<u64>) -> Option<Layer> {
    (role == Role::Chair || floor == Some(feed)).then_some(Layer::High)
}

async fn publish(
    janus: &Session,
    room: &Room,
    spec: &SiteSpec,
    ctx: &Arc<SiteContext>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    report: &mut SiteReport,
    t0: u64,
) -> anyhow::Result<()> {
    let since = || clock::micros().saturating_sub(t0) as f64 / 1000.0;
    let role = spec.invite.role;
    let feed = Room::feed_of(spec.index);
    let mut handle = janus.attach().await?;
    let join = json!({"request": "join", "ptype": "publisher", "room": room.id, "id": feed, "display": spec.invite.site_id});
    janus
        .message(handle.id, join, None)
        .await
        .context("publisher join")?;
    let (peer, mut events) = Peer::build(
        ctx.ip,
        Layout {
            recv_video: 0,
            recv_audio: 0,
        },
        u32::from(spec.index),
        false,
    )
    .await?;
    peer.offer().await?;
    let offer = json!({"type": "offer", "sdp": peer::local_sdp_with_candidates(peer.pc.as_ref()).await?, "trickle": false});
    let reply = janus
        .message(
            handle.id,
            json!({"request": "configure"}),
            Some(offer.clone()),
        )
        .await
        .context("publishing")?;
    tracing::debug!(site = %spec.invite.site_id, offer = %offer["sdp"], answer = ?reply.jsep, "publisher negotiated");
    peer.answer(reply.sdp()?).await?;
    report.answer_ms = Some(since());
    let mic = role == Role::Chair || ctx.site_mic;
    let mut floor = room.floor();
    let mut publisher: Option<Arc<Publisher>> = None;
    let result = loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(PeerEvent::State(RTCPeerConnectionState::Connected)) if publisher.is_none() => {
                    report.connected_ms = Some(since());
                    ctx.progress.connected.fetch_add(1, Ordering::Relaxed);
                    let p = super::publish(&peer, spec, ctx, mic, false).await?;
                    p.set_max_layer(wanted(role, feed, *floor.borrow()));
                    publisher = Some(p);
                }
                Some(PeerEvent::State(s @ (RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed))) => {
                    break Err(anyhow::anyhow!("publisher connection {s}"));
                }
                Some(_) => {}
                None => break Err(anyhow::anyhow!("publisher connection gone")),
            },
            Some(ev) = handle.events.recv() => match ev["janus"].as_str() {
                Some("webrtcup") => room.mark_ready(feed),
                Some("hangup") => break Err(anyhow::anyhow!("Janus hung up the publisher: {}", ev["reason"])),
                _ => {}
            },
            Ok(()) = floor.changed() => {
                if let Some(p) = &publisher {
                    p.set_max_layer(wanted(role, feed, *floor.borrow_and_update()));
                }
            }
            cmd = commands.recv() => match cmd {
                Some(Command::Grant(site_id)) => room.grant(&site_id),
                Some(Command::Revoke(site_id)) => room.revoke(&site_id),
                // A room has no lobby to end, and no hall grid to page through.
                Some(Command::Open | Command::NextPage) => {}
                Some(Command::Leave) | None => break Ok(()),
            },
        }
    };
    if let Some(p) = &publisher {
        p.stop();
        ctx.progress.connected.fetch_sub(1, Ordering::Relaxed);
    }
    peer.close().await;
    result
}

/// One subscriber handle and its peer connection.
struct Subscription {
    handle: u64,
    feed: u64,
    pc: Arc<dyn PeerConnection>,
    /// Our mids for the feed's (audio, camera).
    mids: (String, String),
    substream: u8,
    sending: bool,
    pump: JoinHandle<()>,
}

impl Subscription {
    /// Joins `feed`'s audio and camera on a new handle and connection; every track it
    /// delivers is metered by a task sent to `tracks`.
    async fn open(
        janus: &Session,
        room: &Room,
        feed: u64,
        substream: u8,
        ctx: &Arc<SiteContext>,
        tracks: &mpsc::UnboundedSender<JoinHandle<Received>>,
    ) -> anyhow::Result<Subscription> {
        let handle = janus.attach().await?;
        let streams: Vec<_> = PUBLISHED_MIDS
            .iter()
            .map(|m| json!({"feed": feed, "mid": m}))
            .collect();
        let join =
            json!({"request": "join", "ptype": "subscriber", "room": room.id, "streams": streams});
        let reply = janus
            .message(handle.id, join, None)
            .await
            .with_context(|| format!("subscribing to feed {feed}"))?;
        let mid = |kind: &str| {
            reply.data["streams"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["type"] == kind))
                .and_then(|s| s["mid"].as_str())
                .map(str::to_owned)
                .with_context(|| format!("no {kind} stream in {}", reply.data))
        };
        let mids = (mid("audio")?, mid("video")?);
        let (pc, mut events) = peer::connection(ctx.ip, false).await?;
        pc.set_remote_description(RTCSessionDescription::offer(reply.sdp()?)?)
            .await?;
        let answer = pc.create_answer(None).await?;
        pc.set_local_description(answer).await?;
        let sdp = peer::local_sdp_with_candidates(pc.as_ref()).await?;
        let ctx2 = ctx.clone();
        let tracks = tracks.clone();
        let pump = tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if let PeerEvent::Track(t) = ev {
                    let _ = tracks.send(tokio::spawn(super::receive(
                        t,
                        ctx2.clone(),
                        super::Metering::Full { hall: false },
                    )));
                }
            }
        });
        let mut sub = Subscription {
            handle: handle.id,
            feed,
            pc,
            mids,
            substream,
            sending: true,
            pump,
        };
        let answer = json!({"type": "answer", "sdp": sdp, "trickle": false});
        janus
            .message(sub.handle, json!({"request": "start"}), Some(answer))
            .await
            .context("start")?;
        sub.configure(janus, true).await?;
        Ok(sub)
    }

    /// Sets whether Janus sends the subscription, at its substream.
    async fn configure(&mut self, janus: &Session, send: bool) -> anyhow::Result<()> {
        let streams = json!([
            {"mid": self.mids.0, "send": send},
            {"mid": self.mids.1, "send": send, "substream": self.substream},
        ]);
        janus
            .message(
                self.handle,
                json!({"request": "configure", "streams": streams}),
                None,
            )
            .await
            .context("configure")?;
        self.sending = send;
        Ok(())
    }

    /// Re-points the subscription at `feed` without renegotiating.
    async fn switch(&mut self, janus: &Session, feed: u64) -> anyhow::Result<()> {
        let streams: Vec<_> = PUBLISHED_MIDS
            .iter()
            .zip([&self.mids.0, &self.mids.1])
            .map(|(m, sub)| json!({"feed": feed, "mid": m, "sub_mid": sub}))
            .collect();
        janus
            .message(
                self.handle,
                json!({"request": "switch", "streams": streams}),
                None,
            )
            .await
            .context("switch")?;
        self.feed = feed;
        self.configure(janus, true).await
    }

    async fn close(self) {
        let _ = self.pc.close().await;
        self.pump.abort();
    }
}

/// Waits until `feed` publishes; `false` if the site is leaving or it took too long.
async fn wait_ready(
    ready: &mut watch::Receiver<Vec<u64>>,
    feed: u64,
    leave: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        r = tokio::time::timeout(FEED_WAIT, ready.wait_for(|v| v.contains(&feed))) => matches!(r, Ok(Ok(_))),
        _ = leave.wait_for(|l| *l) => false,
    }
}

async fn subscribe_all(
    janus: &Session,
    room: &Room,
    spec: &SiteSpec,
    ctx: &Arc<SiteContext>,
    tracks: mpsc::UnboundedSender<JoinHandle<Received>>,
    mut leave: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let me = Room::feed_of(spec.index);
    let mut ready = room.ready();
    let mut subs: Vec<Subscription> = Vec::new();
    let result = async {
        if spec.invite.role == Role::Chair {
            // The grid: the first sites that publish, at the lowest layer.
            loop {
                let feeds: Vec<u64> = ready
                    .borrow_and_update()
                    .iter()
                    .copied()
                    .filter(|f| *f != me)
                    .collect();
                for f in feeds {
                    if subs.len() >= GRID {
                        break;
                    }
                    if !subs.iter().any(|s| s.feed == f) {
                        subs.push(Subscription::open(janus, room, f, LOWEST, ctx, &tracks).await?);
                    }
                }
                tokio::select! {
                    r = ready.changed() => if r.is_err() { break },
                    _ = leave.wait_for(|l| *l) => break,
                }
            }
            return Ok(());
        }
        let chair = Room::feed_of(0);
        if !wait_ready(&mut ready, chair, &mut leave).await {
            if *leave.borrow() {
                return Ok(());
            }
            bail!("the chair's feed did not come up");
        }
        subs.push(Subscription::open(janus, room, chair, HIGHEST, ctx, &tracks).await?);
        let mut floor = room.floor();
        let mut floor_sub: Option<Subscription> = None;
        loop {
            let holder = *floor.borrow_and_update();
            match (holder, floor_sub.as_mut()) {
                (Some(h), Some(s)) if h == me => {
                    if s.sending {
                        s.configure(janus, false).await?;
                    }
                }
                (Some(h), _) if h == me => {}
                (Some(h), sub) => {
                    if wait_ready(&mut ready, h, &mut leave).await {
                        match sub {
                            None => {
                                floor_sub = Some(
                                    Subscription::open(janus, room, h, HIGHEST, ctx, &tracks)
                                        .await?,
                                )
                            }
                            Some(s) if s.feed != h => s.switch(janus, h).await?,
                            Some(s) if !s.sending => s.configure(janus, true).await?,
                            Some(_) => {}
                        }
                    }
                }
                (None, _) => {}
            }
            tokio::select! {
                r = floor.changed() => if r.is_err() { break },
                _ = leave.wait_for(|l| *l) => break,
            }
        }
        subs.extend(floor_sub);
        Ok(())
    }
    .await;
    for s in subs {
        s.close().await;
    }
    result
}
