//! One browser's signaling session: the protocol state machine of one WebSocket.
//!
//! Lifecycle: `connected` (only `join`/`ping` allowed) → `joined` (offer, candidates, media
//! state, chair actions) → closed (leave, socket closed, replaced by a newer connection of the
//! same site, meeting ended, or idle for [`IDLE_TIMEOUT`]). On close the site leaves the
//! meeting and its peer is removed from the SFU.
//!
//! The loop is generic over a stream of inbound frames and a sink of outbound text, so it
//! runs in unit tests without a server; `ws` adapts axum's WebSocket to it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::outbox::{outbox, Outbound, Outbox};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use sfu::PeerId;
use tracing::{debug, info, warn, Instrument};

use crate::dispatch::{route, Command, Permission};
use crate::limits::Bucket;
use crate::meeting::{chair, chat, linecheck, link, membership, operator, recording};
use crate::meeting::{Departure, ExpectedSite, Meeting};
use crate::moderation::Action;
use crate::protocol::{parse_request, ErrorCode, Refusal, Request, ServerMessage};
use crate::state::{AppState, Phase};
use crate::token::TokenError;

/// Messages one connection may send per second by default (`limits.messages_per_second`).
pub const MESSAGES_PER_SECOND: f64 = 20.0;
/// ... and in a burst by default (`limits.message_burst`).
pub const MESSAGE_BURST: f64 = 60.0;

/// A socket that sends nothing (not even `ping`) for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A socket that takes longer than this to accept one message is cut off.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A frame from the browser, as the transport saw it.
#[derive(Debug)]
pub enum Inbound {
    /// A text frame.
    Text(String),
    /// A binary frame (not used by the protocol) of this many bytes.
    Binary(usize),
    /// A frame too large for the transport.
    Oversized,
}

struct JoinedSite {
    meeting: Arc<Meeting>,
    site: ExpectedSite,
    peer: PeerId,
}

struct Session {
    state: Arc<AppState>,
    id: u64,
    tx: Outbox,
    joined: Option<JoinedSite>,
    offered: bool,
    /// Transport label this session counts under in `sites_connected`.
    transport: &'static str,
    /// Messages per second allowed to this socket.
    rate: Bucket,
    /// The client's address (behind a proxy: the one the proxy reports), for the join rate.
    client: Option<IpAddr>,
    /// The socket dropped (no `leave`, no close by us): the site may resume.
    dropped: bool,
    /// This socket's place among those not joined yet (`limits.unjoined_*`), given back
    /// once it joins.
    unjoined: Option<crate::door::Pass>,
    /// A tunneled site whose media another node hosts: its offer and candidates go there
    /// (`cluster::media`); `None`: this node's SFU.
    host: Option<crate::cluster::media::Host>,
}

/// Runs one session until the socket closes or the session ends it.
///
/// `unjoined` is the socket's place among those not joined yet; it is released at `join`.
/// Until then the socket must join within `limits.join_timeout` (a `ping` does not extend
/// that) or it gets `join_timeout` and is closed.
pub async fn run<I, O>(
    state: Arc<AppState>,
    client: Option<IpAddr>,
    unjoined: Option<crate::door::Pass>,
    incoming: I,
    outgoing: O,
) where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<String> + Unpin,
{
    run_hosted(state, client, unjoined, None, incoming, outgoing).await
}

/// As [`run`], for a tunneled site whose media `host` carries (`None`: this node).
pub async fn run_hosted<I, O>(
    state: Arc<AppState>,
    client: Option<IpAddr>,
    unjoined: Option<crate::door::Pass>,
    host: Option<crate::cluster::media::Host>,
    mut incoming: I,
    mut outgoing: O,
) where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<String> + Unpin,
{
    let (tx, mut rx) = outbox(crate::outbox::CAPACITY);
    let overflow = rx.overflow();
    let id = state.next_id();
    let mut session = Session {
        state: state.clone(),
        id,
        tx,
        joined: None,
        offered: false,
        transport: "unknown",
        rate: Bucket::full(
            state.settings.limits.message_burst,
            std::time::Instant::now(),
        ),
        client,
        dropped: false,
        unjoined,
        host,
    };
    let join_deadline = tokio::time::sleep(state.settings.limits.join_timeout);
    tokio::pin!(join_deadline);
    state.metrics.sessions.inc();
    let span = tracing::info_span!("session", id);
    // A shutdown (state.rs `Phase`) reaches every session: `draining` first, then the close.
    let mut phase = state.phase.subscribe();
    phase.mark_changed();
    async {
        loop {
            tokio::select! {
                Ok(()) = phase.changed() => match *phase.borrow_and_update() {
                    Phase::Serving => {}
                    Phase::Draining { seconds } => session.send(ServerMessage::Draining { seconds }),
                    Phase::Closing => {
                        debug!("closed by shutdown");
                        break;
                    }
                },
                () = &mut join_deadline, if session.joined.is_none() => {
                    let seconds = state.settings.limits.join_timeout.as_secs_f64();
                    session.refuse(Refusal::new(
                        ErrorCode::JoinTimeout,
                        format!("no join within {seconds} s of opening the socket; it is closed"),
                    ));
                    flush(&mut rx, &mut outgoing).await;
                    break;
                },
                frame = tokio::time::timeout(IDLE_TIMEOUT, incoming.next()) => match frame {
                    Ok(Some(frame)) => {
                        if !session.on_frame(frame).await {
                            // Flush what the handler queued (the reply to `leave`).
                            flush(&mut rx, &mut outgoing).await;
                            break;
                        }
                    }
                    Ok(None) => {
                        session.dropped = true;
                        break;
                    }
                    Err(_) => {
                        // Silent for a minute: the socket is dead, the media may not be.
                        session.dropped = true;
                        debug!("idle timeout");
                        break;
                    }
                },
                () = overflow.wait() => {
                    // Its browser stopped reading: cut it off (it may resume), nobody waits.
                    warn!("{} messages waiting for this socket: closed", crate::outbox::CAPACITY);
                    state.metrics.errors.with_label_values(&["slow_reader"]).inc();
                    session.dropped = true;
                    break;
                },
                out = rx.recv() => match out {
                    Some(Outbound::Message(m)) => {
                        match tokio::time::timeout(SEND_TIMEOUT, outgoing.send(encode(&m))).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => {
                                session.dropped = true;
                                break;
                            }
                            Err(_) => {
                                warn!("a message waited {SEND_TIMEOUT:?} to be written: socket closed");
                                state.metrics.errors.with_label_values(&["slow_reader"]).inc();
                                session.dropped = true;
                                break;
                            }
                        }
                    }
                    Some(Outbound::Close(m)) => {
                        let _ = tokio::time::timeout(SEND_TIMEOUT, outgoing.send(encode(&m))).await;
                        break;
                    }
                    // What follows answers an acknowledged change: not before it is on disk.
                    Some(Outbound::Wait(flushed)) => flushed.wait().await,
                    None => break,
                },
            }
        }
        session.close();
        let _ = tokio::time::timeout(SEND_TIMEOUT, outgoing.close()).await;
    }
    .instrument(span)
    .await;
    state.metrics.sessions.dec();
}

/// Writes what is already queued for the socket (its last words before it closes).
async fn flush<O: Sink<String> + Unpin>(rx: &mut crate::outbox::Inbox, outgoing: &mut O) {
    while let Some(out) = rx.try_recv() {
        let m = match out {
            Outbound::Message(m) | Outbound::Close(m) => m,
            Outbound::Wait(flushed) => {
                flushed.wait().await;
                continue;
            }
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, outgoing.send(encode(&m))).await;
    }
}

fn encode(m: &ServerMessage) -> String {
    serde_json::to_string(m).expect("server messages always serialize")
}

impl Session {
    fn send(&self, m: ServerMessage) {
        let _ = self.tx.send(Outbound::Message(m));
    }

    fn refuse(&self, r: Refusal) {
        self.refuse_request(r, None);
    }

    /// Refuses the request with `id` (echoed in the `error`).
    fn refuse_request(&self, r: Refusal, id: Option<u64>) {
        self.state
            .metrics
            .errors
            .with_label_values(&[r.code.as_str()])
            .inc();
        debug!(code = r.code.as_str(), "refused: {}", r.message);
        self.send(r.answering(id));
    }

    /// Handles one frame; returns false when the session should end.
    async fn on_frame(&mut self, frame: Inbound) -> bool {
        // A flood from one socket costs the others nothing: dropped before parsing.
        let limits = self.state.settings.limits;
        if !self.rate.take(
            limits.messages_per_second,
            limits.message_burst,
            std::time::Instant::now(),
        ) {
            self.refuse(Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "more than {} messages per second (bursts of {}); this one was dropped",
                    limits.messages_per_second, limits.message_burst
                ),
            ));
            return true;
        }
        let text = match frame {
            Inbound::Text(t) => t,
            Inbound::Binary(n) => {
                self.refuse(Refusal::new(
                    ErrorCode::BadMessage,
                    format!("binary frames are not used ({n} bytes received); send JSON text"),
                ));
                return true;
            }
            Inbound::Oversized => {
                self.refuse(Refusal::new(ErrorCode::TooLarge, "message too large"));
                return true;
            }
        };
        if text.len() > limits.message_bytes {
            self.refuse(Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "message is {} bytes, at most {} allowed",
                    text.len(),
                    limits.message_bytes
                ),
            ));
            return true;
        }
        let request = match parse_request(&text) {
            Ok(r) => r,
            Err(r) => {
                self.refuse_request(r.refusal, r.id);
                return true;
            }
        };
        self.state
            .metrics
            .ws_messages
            .with_label_values(&[request.message.kind()])
            .inc();
        let id = request.id;
        match self.on_request(request).await {
            Ok(keep) => keep,
            Err(r) => {
                self.refuse_request(r, id);
                true
            }
        }
    }

    /// Checks who may send the message (the table in `dispatch.rs`), then carries it out.
    async fn on_request(&mut self, request: Request) -> Result<bool, Refusal> {
        let Request { id, message } = request;
        let kind = message.kind();
        let (who, command) = route(message);
        let mut audited = None;
        if who != Permission::Anyone {
            let j = self.joined()?;
            let cochair = || j.meeting.read(|m| m.rules().cochairs.contains(&j.site.id));
            if !who.allows(j.site.role, cochair) {
                return Err(who.refusal(kind));
            }
            audited = crate::audit::subject(&command, &j.site.id).map(|(action, target)| {
                let cochair = j.meeting.read(|m| m.rules().cochairs.contains(&j.site.id));
                let actor =
                    crate::audit::Actor::site(&j.site.id, &j.site.name, j.site.role, cochair);
                (j.meeting.id.clone(), actor, action, target)
            });
        }
        let outcome = self.apply(command, id).await;
        // On disk before this task writes the outcome to the actor (see `audit`).
        if let Some((meeting, actor, action, target)) = audited {
            let result = match &outcome {
                Ok(_) => "ok",
                Err(r) => r.code.as_str(),
            };
            crate::audit::record(&self.state, &meeting, actor, action, target, result).await;
        }
        outcome
    }

    /// Carries out one command: the one place each calls into the meeting. Returns false
    /// when the session should end.
    async fn apply(&mut self, command: Command, id: Option<u64>) -> Result<bool, Refusal> {
        match command {
            Command::Ping(n) => self.send(ServerMessage::Pong { id: n }),
            Command::Join { .. } if self.state.is_draining() => {
                self.refuse_request(
                    Refusal::new(
                        ErrorCode::Draining,
                        "the server is shutting down and accepts no join now; try again in a moment",
                    ),
                    id,
                );
                return Ok(false);
            }
            Command::Join { token, resume } => match self.join(&token, resume.as_deref(), id) {
                // A full node or too many joins from this address: the socket closes and
                // the page tries again by itself a few seconds later, as after `draining`.
                Err(r) if matches!(r.code, ErrorCode::NodeFull | ErrorCode::RateLimited) => {
                    self.refuse_request(r, id);
                    return Ok(false);
                }
                other => other?,
            },
            Command::Leave => return Ok(false),
            Command::Offer(sdp) => self.offer(sdp, id).await?,
            Command::Candidate(candidate) => {
                let j = self.joined()?;
                if !self.offered {
                    return Err(Refusal::new(
                        ErrorCode::NoOffer,
                        "send an offer before candidates",
                    ));
                }
                if !candidate.trim().is_empty() {
                    let peer = j.peer;
                    let added = match &self.host {
                        Some(host) => {
                            crate::cluster::media::add_candidate(&self.state, host, peer, candidate)
                                .await
                        }
                        None => self.state.sfu.add_candidate(peer, candidate).await,
                    };
                    added.map_err(|e| Refusal::new(ErrorCode::BadMessage, e.to_string()))?;
                }
            }
            Command::MediaState { mic, camera } => {
                let j = self.joined()?;
                let media = membership::MediaState {
                    site: j.site.id.clone(),
                    session: self.id,
                    mic,
                    camera,
                };
                let _ = j.meeting.apply(media, &self.state);
            }
            Command::Moderate(action) => {
                let j = self.joined()?;
                let ends = action == Action::End;
                let act = chair::Act {
                    actor: j.site.id.clone(),
                    action,
                };
                // A failed write of the end is logged by the executor; the meeting has ended.
                j.meeting.apply(act, &self.state)?;
                if ends {
                    info!(meeting = %j.meeting.id, by = %j.site.id, "meeting ended");
                    self.state
                        .metrics
                        .meetings
                        .set(self.state.meetings.active() as i64);
                }
            }
            Command::ReissueLink(site_id) => {
                let j = self.joined()?;
                let link =
                    crate::api_admin::reissue_by_chair(&self.state, &j.meeting, &j.site, &site_id)?;
                self.send(ServerMessage::Link { site_id, link, id });
            }
            Command::Chat { to, text } => {
                let j = self.joined()?;
                let from = j.site.id.clone();
                j.meeting
                    .apply(chat::Chat { from, to, text }, &self.state)?;
            }
            Command::Grid { page, page_size } => {
                let j = self.joined()?;
                let grid = chair::Grid {
                    actor: j.site.id.clone(),
                    page,
                    page_size,
                };
                j.meeting.apply(grid, &self.state)?;
            }
            Command::Check(on) => {
                let j = self.joined()?;
                if !self.offered {
                    return Err(Refusal::new(
                        ErrorCode::NoOffer,
                        "send an offer before the line check",
                    ));
                }
                let check = linecheck::Check {
                    site: j.site.id.clone(),
                    session: self.id,
                    on,
                };
                j.meeting.apply(check, &self.state)?;
            }
            Command::CheckResult(report) => {
                let j = self.joined()?;
                let verdict = report.verdict.as_str();
                let result = linecheck::CheckResult {
                    site: j.site.id.clone(),
                    session: self.id,
                    report,
                };
                j.meeting.apply(result, &self.state)?;
                self.state
                    .metrics
                    .checks
                    .with_label_values(&[verdict])
                    .inc();
                info!(meeting = %j.meeting.id, site = %j.site.id, verdict, "line check result");
            }
            Command::ClientInfo {
                browser,
                candidate,
                transport,
            } => {
                let j = self.joined()?;
                let info = crate::meeting::ClientInfo {
                    browser,
                    candidate,
                    transport,
                };
                let client = link::Client {
                    site: j.site.id.clone(),
                    session: self.id,
                    info,
                };
                if let Ok(Some((_, after))) = j.meeting.apply(client, &self.state) {
                    let role = j.site.role.as_str();
                    self.state
                        .metrics
                        .sites_connected
                        .with_label_values(&[role, self.transport])
                        .dec();
                    self.state
                        .metrics
                        .sites_connected
                        .with_label_values(&[role, after])
                        .inc();
                    self.transport = after;
                }
            }
            Command::Record(on) => {
                let j = self.joined()?;
                if on {
                    j.meeting.apply(recording::Start, &self.state)?;
                } else {
                    let stop = recording::Stop { reason: "stopped" };
                    j.meeting.apply(stop, &self.state)?;
                }
                info!(meeting = %j.meeting.id, by = %j.site.id, on, "recording switched");
            }
            Command::Notice { site_id, text } => {
                let j = self.joined()?;
                let notice = operator::Notice {
                    actor: j.site.id.clone(),
                    target: site_id,
                    text,
                };
                j.meeting.apply(notice, &self.state)?;
            }
            Command::Reconnect(site_id) => {
                let j = self.joined()?;
                let reconnect = operator::Reconnect {
                    actor: j.site.id.clone(),
                    target: site_id.clone(),
                };
                j.meeting.apply(reconnect, &self.state)?;
                info!(meeting = %j.meeting.id, by = %j.site.id, site = %site_id, "operator asked a site to reconnect");
            }
            Command::ForceAudioOnly { site_id, on } => {
                let j = self.joined()?;
                let forced = operator::AudioOnly {
                    actor: j.site.id.clone(),
                    target: site_id.clone(),
                    on,
                };
                j.meeting.apply(forced, &self.state)?;
                info!(meeting = %j.meeting.id, by = %j.site.id, site = %site_id, on, "operator forced audio only");
            }
        }
        Ok(true)
    }

    fn joined(&self) -> Result<&JoinedSite, Refusal> {
        self.joined.as_ref().ok_or_else(|| {
            Refusal::new(
                ErrorCode::NotJoined,
                "send join with your invitation token first",
            )
        })
    }

    fn join(&mut self, token: &str, resume: Option<&str>, id: Option<u64>) -> Result<(), Refusal> {
        if self.joined.is_some() {
            return Err(Refusal::new(
                ErrorCode::AlreadyJoined,
                "this connection has already joined",
            ));
        }
        let limits = self.state.settings.limits;
        if let Some(ip) = self.client {
            if !self
                .state
                .join_rate
                .allow(ip, &limits, self.state.clock.now())
            {
                return Err(Refusal::new(
                    ErrorCode::RateLimited,
                    format!(
                        "more than {} joins per second from {ip}; join again in a moment",
                        limits.joins_per_second_per_ip
                    ),
                ));
            }
        }
        if let Some(why) = crate::limits::over_capacity(self.state.peers.len(), &limits) {
            self.state.metrics.refused_capacity();
            warn!(
                limit = limits.sites_per_node,
                "join refused: the node carries its limit of connected sites (limits.sites_per_node)"
            );
            return Err(Refusal::new(ErrorCode::NodeFull, why));
        }
        let claims = self.state.keys.verify(token).map_err(|e| match e {
            TokenError::Expired => Refusal::new(ErrorCode::TokenExpired, e.to_string()),
            TokenError::Invalid => Refusal::new(ErrorCode::InvalidToken, e.to_string()),
        })?;
        let meeting = self.state.meetings.get(&claims.mid).ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownMeeting,
                "this meeting does not exist on this server",
            )
        })?;
        let site = meeting
            .read(|m| m.site(&claims.sid).cloned())
            .filter(|s| s.role == claims.role)
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::SiteRemoved,
                    "this site is no longer part of the meeting",
                )
            })?;
        let peer = PeerId(self.state.next_id());
        let joined = meeting.join(
            &site.id,
            &claims.jti,
            self.id,
            peer,
            self.tx.clone(),
            resume,
            &self.state,
        )?;
        // The meeting's effects told the node which connection is whose (and dropped the
        // one this replaced).
        let (peer, resumed) = (joined.peer, joined.resumed);
        for mut message in joined.messages {
            if let ServerMessage::Joined {
                ice_servers,
                id: answers,
                ..
            } = &mut message
            {
                *ice_servers = self.state.ice_servers(&site.id);
                *answers = id;
            }
            self.send(message);
        }
        if !resumed {
            let _ = meeting.apply(membership::RouteJoined, &self.state);
        }
        if resumed {
            // Same peer connection: its offer stands, and it receives what it received.
            self.offered = true;
            let resend = membership::ResendSlots(site.id.clone());
            let _ = meeting.apply(resend, &self.state);
            self.state.metrics.resumes.inc();
        }
        self.transport = meeting.read(|m| m.transport_of(&site.id));
        self.state
            .metrics
            .sites_connected
            .with_label_values(&[site.role.as_str(), self.transport])
            .inc();
        info!(meeting = %meeting.id, site = %site.id, role = ?site.role, %peer, resumed, "site joined");
        // Joined: no longer one of the sockets that prove nothing yet.
        self.unjoined = None;
        self.joined = Some(JoinedSite {
            meeting,
            site,
            peer,
        });
        Ok(())
    }

    async fn offer(&mut self, sdp: String, id: Option<u64>) -> Result<(), Refusal> {
        let j = self.joined()?;
        let limits = self.state.settings.limits;
        if sdp.len() > limits.sdp_bytes {
            return Err(Refusal::new(
                ErrorCode::BadSdp,
                format!(
                    "offer is {} bytes, at most {} allowed",
                    sdp.len(),
                    limits.sdp_bytes
                ),
            ));
        }
        let (sections, tracks) = crate::limits::media_sections(&sdp);
        // The layout is fixed by the role: microphone, camera, screen, then the receive slots.
        let slots = j.meeting.options.receive_slots(j.site.role);
        let layout = 3 + usize::from(slots.video) + usize::from(slots.audio);
        if sections > layout {
            return Err(Refusal::new(
                ErrorCode::BadSdp,
                format!("offer has {sections} media sections; this site's layout has {layout} (3 to send, the receive slots of `joined`)"),
            ));
        }
        if tracks > limits.tracks_per_site {
            return Err(Refusal::new(
                ErrorCode::BadSdp,
                format!(
                    "offer publishes {tracks} tracks, at most {} allowed",
                    limits.tracks_per_site
                ),
            ));
        }
        let (peer, meeting, site_id) = (j.peer, j.meeting.clone(), j.site.id.clone());
        let shard = crate::shards::of_meeting(&self.state, &meeting);
        let offered = match &self.host {
            Some(host) => {
                crate::cluster::media::offer(&self.state, host, &meeting.id, &site_id, peer, sdp)
                    .await
            }
            None => self.state.sfu.offer_in(shard, peer, sdp).await,
        };
        let layout = offered.map_err(|e| match e {
            sfu::OfferError::Parse(_) | sfu::OfferError::Refused(_) => {
                Refusal::new(ErrorCode::BadSdp, e.to_string())
            }
            sfu::OfferError::Stopped => {
                warn!("offer while media plane stopped");
                Refusal::new(ErrorCode::Internal, "the media server is not available")
            }
        })?;
        self.offered = true;
        self.send(ServerMessage::Answer {
            sdp: layout.answer_sdp.clone(),
            id,
        });
        let mut layout: crate::meeting::Layout = (&layout).into();
        // Where its connection is, for the operators (a cluster only).
        layout.node = match (&self.host, self.state.cluster.get()) {
            (Some(host), _) => Some(host.node.clone()),
            (None, Some(cluster)) => Some(cluster.node_id.clone()),
            (None, None) => None,
        };
        let set = membership::SetLayout {
            site: site_id,
            session: self.id,
            layout,
        };
        let _ = meeting.apply(set, &self.state);
        Ok(())
    }

    fn close(&mut self) {
        let Some(j) = self.joined.take() else { return };
        let role = j.site.role.as_str();
        self.state
            .metrics
            .sites_connected
            .with_label_values(&[role, self.transport])
            .dec();
        let grace = self.state.settings.limits.resume;
        let detach = self.dropped && !grace.is_zero();
        match j
            .meeting
            .depart(&j.site.id, self.id, j.peer, detach, &self.state)
        {
            Departure::Resumed => {
                info!(meeting = %j.meeting.id, site = %j.site.id, "old socket closed; the site resumed on a new one")
            }
            Departure::Gone => {
                info!(meeting = %j.meeting.id, site = %j.site.id, "site left");
            }
            Departure::Detached => {
                info!(meeting = %j.meeting.id, site = %j.site.id, "socket dropped; media kept for {grace:?} to resume");
                let (state, session) = (self.state.clone(), self.id);
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    let expire = membership::Expire {
                        site: j.site.id.clone(),
                        session,
                        peer: j.peer,
                    };
                    if j.meeting.apply(expire, &state).unwrap_or(true) {
                        info!(meeting = %j.meeting.id, site = %j.site.id, "site left (not resumed)");
                    }
                });
            }
        }
    }
}
