//! One browser's signaling session: the protocol state machine of one WebSocket.
//!
//! Lifecycle: `connected` (only `join`/`ping` allowed) → `joined` (offer, candidates, media
//! state, chair actions) → closed (leave, socket closed, replaced by a newer connection of the
//! same site, meeting ended, or idle for [`IDLE_TIMEOUT`]). On close the site leaves the
//! meeting and its peer is removed from the SFU.
//!
//! The loop is generic over a stream of inbound frames and a sink of outbound text, so it
//! runs in unit tests without a server; `ws` adapts axum's WebSocket to it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use sfu::PeerId;
use tokio::sync::mpsc::{self, UnboundedSender};
use tracing::{debug, info, warn, Instrument};

use crate::meeting::{ExpectedSite, Meeting, Outbound};
use crate::moderation::Action;
use crate::protocol::{parse_client_message, ClientMessage, ErrorCode, Refusal, ServerMessage};
use crate::state::AppState;
use crate::token::TokenError;

/// A socket that sends nothing (not even `ping`) for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
    tx: UnboundedSender<Outbound>,
    joined: Option<JoinedSite>,
    offered: bool,
}

/// Runs one session until the socket closes or the session ends it.
pub async fn run<I, O>(state: Arc<AppState>, mut incoming: I, mut outgoing: O)
where
    I: Stream<Item = Inbound> + Unpin,
    O: Sink<String> + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = state.next_id();
    let mut session = Session {
        state: state.clone(),
        id,
        tx,
        joined: None,
        offered: false,
    };
    state.metrics.sessions.inc();
    let span = tracing::info_span!("session", id);
    async {
        loop {
            tokio::select! {
                frame = tokio::time::timeout(IDLE_TIMEOUT, incoming.next()) => match frame {
                    Ok(Some(frame)) => {
                        if !session.on_frame(frame).await {
                            // Flush what the handler queued (the reply to `leave`).
                            while let Ok(out) = rx.try_recv() {
                                let (Outbound::Message(m) | Outbound::Close(m)) = out;
                                let _ = outgoing.send(encode(&m)).await;
                            }
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        debug!("idle timeout");
                        break;
                    }
                },
                out = rx.recv() => match out {
                    Some(Outbound::Message(m)) => {
                        if outgoing.send(encode(&m)).await.is_err() {
                            break;
                        }
                    }
                    Some(Outbound::Close(m)) => {
                        let _ = outgoing.send(encode(&m)).await;
                        break;
                    }
                    None => break,
                },
            }
        }
        session.close();
        let _ = outgoing.close().await;
    }
    .instrument(span)
    .await;
    state.metrics.sessions.dec();
}

fn encode(m: &ServerMessage) -> String {
    serde_json::to_string(m).expect("server messages always serialize")
}

impl Session {
    fn send(&self, m: ServerMessage) {
        let _ = self.tx.send(Outbound::Message(m));
    }

    fn refuse(&self, r: Refusal) {
        self.state.metrics.errors.with_label_values(&[r.code.as_str()]).inc();
        debug!(code = r.code.as_str(), "refused: {}", r.message);
        self.send(r.to_message());
    }

    /// Handles one frame; returns false when the session should end.
    async fn on_frame(&mut self, frame: Inbound) -> bool {
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
        let msg = match parse_client_message(&text) {
            Ok(m) => m,
            Err(r) => {
                self.refuse(r);
                return true;
            }
        };
        match self.on_message(msg).await {
            Ok(keep) => keep,
            Err(r) => {
                self.refuse(r);
                true
            }
        }
    }

    async fn on_message(&mut self, msg: ClientMessage) -> Result<bool, Refusal> {
        match msg {
            ClientMessage::Ping { id } => self.send(ServerMessage::Pong { id }),
            ClientMessage::Join { token, .. } => self.join(&token)?,
            ClientMessage::Offer { sdp } => self.offer(sdp).await?,
            ClientMessage::Candidate { candidate, .. } => {
                let j = self.joined()?;
                if !self.offered {
                    return Err(Refusal::new(ErrorCode::NoOffer, "send an offer before candidates"));
                }
                if !candidate.trim().is_empty() {
                    let peer = j.peer;
                    self.state
                        .sfu
                        .add_candidate(peer, candidate)
                        .await
                        .map_err(|e| Refusal::new(ErrorCode::BadMessage, e.to_string()))?;
                }
            }
            ClientMessage::MediaState { mic, camera } => {
                let j = self.joined()?;
                j.meeting.set_media_state(&j.site.id, self.id, mic, camera);
            }
            ClientMessage::Leave => return Ok(false),
            ClientMessage::EndMeeting => {
                let j = self.joined()?;
                j.meeting.act(&j.site.id, Action::End, &self.state.sfu)?;
                info!(meeting = %j.meeting.id, by = %j.site.id, "meeting ended");
                self.state.metrics.meetings.set(self.state.meetings.active() as i64);
            }
            ClientMessage::Chat { to, text } => {
                let j = self.joined()?;
                j.meeting.chat(&j.site.id, &to, &text)?;
            }
            ClientMessage::Grid { page, page_size } => {
                let j = self.joined()?;
                j.meeting.set_grid(&j.site.id, page, page_size, &self.state.sfu)?;
            }
            other => {
                let action = match other {
                    ClientMessage::RaiseHand => Action::RaiseHand,
                    ClientMessage::LowerHand { site_id } => Action::LowerHand(site_id),
                    ClientMessage::GrantFloor { site_id } => Action::Grant(site_id),
                    ClientMessage::RevokeFloor { site_id } => Action::Revoke(site_id),
                    ClientMessage::Mute { site_id, muted } => Action::Mute(site_id, muted),
                    ClientMessage::StopVideo { site_id, stopped } => Action::StopVideo(site_id, stopped),
                    ClientMessage::Spotlight { site_id } => Action::Spotlight(site_id),
                    ClientMessage::Listen { site_id, on } => Action::Listen(site_id, on),
                    ClientMessage::RemoveSite { site_id } => Action::Remove(site_id),
                    ClientMessage::ReadmitSite { site_id } => Action::Readmit(site_id),
                    ClientMessage::Lock { locked } => Action::Lock(locked),
                    ClientMessage::OpenMeeting => Action::Open,
                    ClientMessage::Cochair { site_id, on } => Action::Cochair(site_id, on),
                    ClientMessage::Present { on } => Action::Present(on),
                    _ => unreachable!("every other message is handled above"),
                };
                let j = self.joined()?;
                j.meeting.act(&j.site.id, action, &self.state.sfu)?;
            }
        }
        Ok(true)
    }

    fn joined(&self) -> Result<&JoinedSite, Refusal> {
        self.joined
            .as_ref()
            .ok_or_else(|| Refusal::new(ErrorCode::NotJoined, "send join with your invitation token first"))
    }

    fn join(&mut self, token: &str) -> Result<(), Refusal> {
        if self.joined.is_some() {
            return Err(Refusal::new(ErrorCode::AlreadyJoined, "this connection has already joined"));
        }
        let claims = self.state.keys.verify(token).map_err(|e| match e {
            TokenError::Expired => Refusal::new(ErrorCode::TokenExpired, e.to_string()),
            TokenError::Invalid => Refusal::new(ErrorCode::InvalidToken, e.to_string()),
        })?;
        let meeting = self
            .state
            .meetings
            .get(&claims.mid)
            .ok_or_else(|| Refusal::new(ErrorCode::UnknownMeeting, "this meeting does not exist on this server"))?;
        let site = meeting
            .site(&claims.sid)
            .filter(|s| s.role == claims.role)
            .ok_or_else(|| Refusal::new(ErrorCode::SiteRemoved, "this site is no longer part of the meeting"))?
            .clone();
        let peer = PeerId(self.state.next_id());
        let joined = meeting.join(&site.id, self.id, peer, self.tx.clone(), &self.state.sfu)?;
        for mut message in joined.messages {
            if let ServerMessage::Joined { ice_servers, .. } = &mut message {
                *ice_servers = self.state.ice_servers(&site.id);
            }
            self.send(message);
        }
        self.state.peers.insert(peer, (meeting.clone(), site.id.clone()));
        self.state.metrics.sites_connected.inc();
        info!(meeting = %meeting.id, site = %site.id, role = ?site.role, %peer, "site joined");
        self.joined = Some(JoinedSite { meeting, site, peer });
        Ok(())
    }

    async fn offer(&mut self, sdp: String) -> Result<(), Refusal> {
        let j = self.joined()?;
        let (peer, meeting, site_id) = (j.peer, j.meeting.clone(), j.site.id.clone());
        let layout = self.state.sfu.offer(peer, sdp).await.map_err(|e| match e {
            sfu::OfferError::Parse(_) | sfu::OfferError::Refused(_) => Refusal::new(ErrorCode::BadSdp, e.to_string()),
            sfu::OfferError::Stopped => {
                warn!("offer while media plane stopped");
                Refusal::new(ErrorCode::Internal, "the media server is not available")
            }
        })?;
        self.offered = true;
        self.send(ServerMessage::Answer {
            sdp: layout.answer_sdp.clone(),
        });
        meeting.set_layout(&site_id, self.id, &layout, &self.state.sfu);
        Ok(())
    }

    fn close(&mut self) {
        if let Some(j) = self.joined.take() {
            j.meeting.leave(&j.site.id, self.id, &self.state.sfu);
            self.state.peers.remove(&j.peer);
            self.state.sfu.remove_peer(j.peer);
            self.state.metrics.sites_connected.dec();
            info!(meeting = %j.meeting.id, site = %j.site.id, "site left");
        }
    }
}
