//! Membership: who holds each site's place, from `join` to leaving. A site joins on a
//! socket, gets its media connection when its offer is accepted ([`SetLayout`]), and leaves
//! when its socket closes ([`Depart`]), its resume grace runs out ([`Expire`]), its media
//! dies ([`MediaLost`]), its link is revoked ([`Reissue`]), the chair removes it, or the
//! meeting ends. Every one of those goes through [`State::leave`], the one place a member
//! leaves.
//!
//! Resume: a socket that dropped without `leave` keeps its site's place (and media
//! connection) for the resume grace; a new socket presenting the secret of `joined.resume`
//! takes it over ([`Join`] with `resume`), with nothing in the roll call.

use sfu::PeerId;

use crate::protocol::{ErrorCode, Phase, Presence, Refusal, ServerMessage, SiteRef};

use super::view::{floor, meeting_state, own_entry_joined};
use super::{same_secret, site_removed, ClientInfo, Effect, Input, Layout, Member, State};

/// `site` asks to join on socket `session` with the link whose token id is `link`.
#[derive(Debug, Clone)]
pub struct Join {
    /// The site.
    pub site: String,
    /// Token id (`jti`) of the link it joined with: a revoked link is refused.
    pub link: String,
    /// The socket.
    pub session: u64,
    /// Its new media connection, used unless it resumes the one it has.
    pub peer: PeerId,
    /// The secret of the connection it resumes (`join.resume`).
    pub resume: Option<String>,
    /// The secret a later socket presents to resume this one (drawn by the caller).
    pub secret: String,
}

/// What a successful join hands the session, in sending order.
#[derive(Debug)]
pub struct Joined {
    /// `joined`, then `meeting_state`, then `floor`, then the marks and line checks it sees.
    pub messages: Vec<ServerMessage>,
    /// The site's connection: the new one, or the resumed one.
    pub peer: PeerId,
    /// Whether an existing connection was resumed.
    pub resumed: bool,
}

impl Input for Join {
    type Reply = Joined;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<Joined, Refusal> {
        let site = st.site(&self.site).cloned().ok_or_else(site_removed)?;
        if !st.link_is_current(&site.id, &self.link) {
            return Err(revoked());
        }
        st.rules.admit(&site.id, &*st)?;
        let resumable = st
            .members
            .get(&site.id)
            .zip(self.resume.as_deref())
            .is_some_and(|(m, given)| m.layout.is_some() && same_secret(&m.resume, given));
        let (peer, resumed) = match st.members.get_mut(&site.id) {
            Some(m) if resumable => {
                // The old socket, if it still lives, hears nothing more and closes.
                let old = std::mem::replace(&mut m.session, self.session);
                m.resume = self.secret.clone();
                let peer = m.peer;
                st.effects.push(Effect::Close {
                    session: old,
                    message: Refusal::new(
                        ErrorCode::Replaced,
                        "this connection was resumed on a new socket",
                    )
                    .to_message(),
                });
                (peer, true)
            }
            _ => {
                let old = st.members.insert(
                    site.id.clone(),
                    Member {
                        session: self.session,
                        peer: self.peer,
                        resume: self.secret.clone(),
                        layout: None,
                        mic: None,
                        camera: None,
                        reception: None,
                        client: ClientInfo::default(),
                        live: None,
                    },
                );
                st.checking.remove(&site.id);
                if let Some(old) = old {
                    // Replaced, not left: the site stays present under its new connection.
                    st.disconnect(
                        &old,
                        Some(
                            Refusal::new(
                                ErrorCode::Replaced,
                                "this site joined from another window or computer",
                            )
                            .to_message(),
                        ),
                    );
                    st.routed.remove(&site.id);
                }
                st.effects.push(Effect::PeerAdded {
                    peer: self.peer,
                    site: site.id.clone(),
                });
                (self.peer, false)
            }
        };
        let joined = ServerMessage::Joined {
            v: crate::protocol::PROTOCOL_VERSION,
            meeting: st.info(),
            you: SiteRef {
                id: site.id.clone(),
                name: site.name.clone(),
                role: site.role,
            },
            sites: own_entry_joined(st.visible_roster(&site), &site.id),
            receive: st.options.receive_slots(site.role),
            ice_servers: Vec::new(),
            resume: self.secret,
            resumed,
            // The session fills in the id of the `join` request it answers.
            id: None,
        };
        let mut messages = vec![joined, meeting_state(&st.rules), floor(&st.rules)];
        // The chair's marks (mute, removal...) on every site this participant may see.
        let watcher = st.is_watcher(&site.id);
        for s in st.sites.iter().filter(|s| watcher || s.id == site.id) {
            if st.has_marks(&s.id) {
                messages.push(st.site_state(s));
            }
            if let Some((at_ms, report)) = st.checks.get(&s.id) {
                messages.push(ServerMessage::CheckResult {
                    site_id: s.id.clone(),
                    at_ms: *at_ms,
                    report: report.clone(),
                });
            }
        }
        // Told before it enters (the join page shows it): the meeting is being recorded.
        if let Some(on) = st.recording {
            messages.push(super::recording::message(Some(on), None));
        }
        // A page that joins (not one resuming its socket) gets the chat it may read.
        if !resumed {
            messages.extend(st.chat_for(&site.id));
        }
        // Routing (and the chair's `grid`) waits for [`RouteJoined`]: `joined` goes out first.
        Ok(Joined {
            messages,
            peer,
            resumed,
        })
    }
}

/// A new member's `joined` went out: route the meeting, so that whatever routing sends it
/// (the chair's `grid`, `slots`) comes after `joined`, as the protocol says.
#[derive(Debug, Clone, Copy)]
pub struct RouteJoined;

impl Input for RouteJoined {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.reroute();
        Ok(())
    }
}

/// Send `0` its current slots again (after a resumed join, once `joined` went out).
#[derive(Debug, Clone)]
pub struct ResendSlots(pub String);

impl Input for ResendSlots {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.routed.remove(&self.0);
        st.reroute();
        Ok(())
    }
}

/// `site`'s offer on socket `session` was accepted with this layout.
#[derive(Debug, Clone)]
pub struct SetLayout {
    /// The site.
    pub site: String,
    /// The socket that sent the offer.
    pub session: u64,
    /// What it publishes and its receive slots.
    pub layout: Layout,
}

impl Input for SetLayout {
    /// False when that socket no longer holds the site.
    type Reply = bool;
    fn apply(self, st: &mut State, now_ms: u64) -> Result<bool, Refusal> {
        let Some(m) = st
            .members
            .get_mut(&self.site)
            .filter(|m| m.session == self.session)
        else {
            return Ok(false);
        };
        m.layout = Some(self.layout);
        st.routed.remove(&self.site);
        // Present from the moment its media is negotiated, not from opening the link: a
        // site still on the join page is not in the meeting yet.
        if st.presence.insert(self.site.clone(), Presence::Joined) != Some(Presence::Joined) {
            st.rollcall.joined(&self.site, now_ms);
            st.broadcast_state(&self.site);
            st.keep(false);
        }
        st.reroute();
        Ok(true)
    }
}

/// A site's own device state, shown to the chair and operators.
#[derive(Debug, Clone)]
pub struct MediaState {
    /// The site.
    pub site: String,
    /// The socket that says it.
    pub session: u64,
    /// Its microphone is on.
    pub mic: bool,
    /// Its camera is on.
    pub camera: bool,
}

impl Input for MediaState {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        let Some(m) = st
            .members
            .get_mut(&self.site)
            .filter(|m| m.session == self.session)
        else {
            return Ok(());
        };
        m.mic = Some(self.mic);
        m.camera = Some(self.camera);
        st.broadcast_state(&self.site);
        Ok(())
    }
}

/// What became of a connection whose socket closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Another socket holds the same peer (resumed): nothing to clean up.
    Resumed,
    /// Kept for the resume grace; apply [`Expire`] after it.
    Detached,
    /// The site left (or had been replaced).
    Gone,
}

/// The socket `session` of `site` (connection `peer`) closed. With `detach` (the socket
/// dropped without `leave`), a site whose media is up keeps its place for the resume grace;
/// otherwise it leaves, unless a newer connection replaced or resumed it.
#[derive(Debug, Clone)]
pub struct Depart {
    /// The site.
    pub site: String,
    /// The socket that closed.
    pub session: u64,
    /// The connection it held.
    pub peer: PeerId,
    /// It dropped without `leave`, and resuming is allowed.
    pub detach: bool,
}

impl Input for Depart {
    type Reply = Departure;
    fn apply(self, st: &mut State, now_ms: u64) -> Result<Departure, Refusal> {
        let Some(m) = st.members.get(&self.site) else {
            return Ok(Departure::Gone);
        };
        if m.session != self.session {
            return Ok(if m.peer == self.peer {
                Departure::Resumed
            } else {
                Departure::Gone
            });
        }
        if self.detach && m.layout.is_some() {
            return Ok(Departure::Detached);
        }
        st.leave(&self.site, None, now_ms);
        st.reroute();
        Ok(Departure::Gone)
    }
}

/// The resume grace of socket `session` is over: if no socket took `site` back, it leaves.
#[derive(Debug, Clone)]
pub struct Expire {
    /// The site.
    pub site: String,
    /// The socket that dropped.
    pub session: u64,
    /// The connection it held.
    pub peer: PeerId,
}

impl Input for Expire {
    /// Whether `peer` is no longer in use.
    type Reply = bool;
    fn apply(self, st: &mut State, now_ms: u64) -> Result<bool, Refusal> {
        Ok(match st.members.get(&self.site) {
            Some(m) if m.session == self.session => {
                st.leave(&self.site, None, now_ms);
                st.reroute();
                true
            }
            Some(m) => m.peer != self.peer,
            None => true,
        })
    }
}

/// The site's media connection died (ICE consent lost: its network was cut, its PC slept,
/// its router rebooted). The site has left: the roll call and everyone else see it at once,
/// not when its socket times out a minute later. Its socket, if it still works, is told to
/// join again at once (`reconnect`) and closed; a site whose link is down rejoins by itself
/// when its own pings go unanswered and the link is back.
#[derive(Debug, Clone)]
pub struct MediaLost {
    /// The site.
    pub site: String,
    /// The connection that died.
    pub peer: PeerId,
}

impl Input for MediaLost {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        if st.peer_of(&self.site) != Some(self.peer) {
            return Ok(());
        }
        st.leave(&self.site, Some(ServerMessage::Reconnect), now_ms);
        st.reroute();
        Ok(())
    }
}

/// Records `jti` as the one valid link of `site` (a link signed for it at creation).
#[derive(Debug, Clone)]
pub struct SetLink {
    /// The site.
    pub site: String,
    /// Its link's token id.
    pub jti: String,
}

impl Input for SetLink {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.links.insert(self.site, self.jti);
        Ok(())
    }
}

/// Revokes every earlier link of `site` and makes `jti` its one valid link; a session joined
/// with an earlier link is ended with `link_revoked`. Kept on disk before the caller answers.
#[derive(Debug, Clone)]
pub struct Reissue {
    /// The site.
    pub site: String,
    /// Its new link's token id.
    pub jti: String,
}

impl Input for Reissue {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        st.links.insert(self.site.clone(), self.jti);
        if st.is_connected(&self.site) {
            st.leave(&self.site, Some(revoked().to_message()), now_ms);
            st.reroute();
        }
        st.keep(true);
        Ok(())
    }
}

impl State {
    /// `site` leaves the meeting: its socket (told `farewell` if given, then closed) and its
    /// media connection are dropped, and the roll call and those who see its entry learn it
    /// left. The one place a member leaves; the caller re-routes.
    pub(super) fn leave(&mut self, site: &str, farewell: Option<ServerMessage>, now_ms: u64) {
        if let Some(m) = self.members.remove(site) {
            self.disconnect(&m, farewell);
            let role = self
                .site(site)
                .map_or(crate::protocol::Role::Site, |s| s.role);
            self.effects.push(Effect::ForgetSiteMetrics {
                site: site.to_owned(),
                role,
            });
        }
        self.routed.remove(site);
        self.checking.remove(site);
        if self.presence.get(site) == Some(&Presence::Joined) {
            self.presence.insert(site.to_owned(), Presence::Left);
            self.rollcall.left(site, now_ms);
            // An ended meeting tells nobody: every member is leaving with `ended`.
            if self.rules.phase != Phase::Ended {
                self.broadcast_state(site);
            }
            self.keep(false);
        }
    }

    /// Ends a member's connection: its socket hears `farewell` (if any) and closes, its
    /// media connection is removed.
    fn disconnect(&mut self, m: &Member, farewell: Option<ServerMessage>) {
        if let Some(message) = farewell {
            self.effects.push(Effect::Close {
                session: m.session,
                message,
            });
        }
        self.effects.push(Effect::RemovePeer(m.peer));
    }

    /// The meeting ends (its phase already says so): every member leaves with `ended`.
    pub(super) fn end_all(&mut self, now_ms: u64) {
        self.ended_ms.get_or_insert(now_ms);
        let mut sites: Vec<String> = self.members.keys().cloned().collect();
        sites.sort_unstable();
        for site in sites {
            let ended = ServerMessage::Ended {
                reason: "ended_by_chair".into(),
            };
            self.leave(&site, Some(ended), now_ms);
        }
        self.end_equipment();
        self.routed.clear();
        self.keep(false);
    }
}

fn revoked() -> Refusal {
    Refusal::new(
        ErrorCode::LinkRevoked,
        "this invitation link was revoked and replaced; ask the organiser for the new link",
    )
}
