//! [`Meeting`]: what the server holds of one meeting.
//!
//! Each operation reads the clock (and draws a resume secret for a join), applies one input
//! to the [`State`] under its lock, and has the [`Executor`] carry out the effects.
//!
//! Locks (both `std::sync::Mutex`: nothing awaits under them, and each is held for
//! microseconds, so an async mutex would only cost more):
//! - `state` is held only while an input is applied: pure code, no I/O.
//! - `out` holds the sessions' queues and is the turn to carry effects out. It is taken
//!   before `state` is let go (hand over hand) and held while the executor runs, so effects
//!   leave in the order their changes were made (a stale `set_subscriptions` can never
//!   overtake a newer one), while the state is already free. The order is always `state`
//!   then `out`; the executor never takes `state`.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use sfu::PeerId;

use crate::moderation::Action;
use crate::outbox::Outbox;
use crate::protocol::{CheckReport, Phase, ReceiveSlots, Refusal, Role, ServerMessage, SiteStatus};
use crate::rollcall::Attendance;
use crate::store::{MeetingStore, Snapshot};
use crate::token::unix_now_ms;

use super::executor::{Executor, Node};
use super::{
    chair, chat, linecheck, link, membership, operator, ClientInfo, Departure, ExpectedSite, Input,
    Joined, MeetingOptions, State,
};

/// One meeting as the server holds it.
#[derive(Debug)]
pub struct Meeting {
    /// Meeting id.
    pub id: String,
    /// Token expiry, Unix seconds.
    pub expires_at: u64,
    /// Settings fixed at creation.
    pub options: MeetingOptions,
    state: Mutex<State>,
    /// The queues of the sockets that hold its sites, by session id (see the module docs).
    out: Mutex<HashMap<u64, Outbox>>,
    /// The files that keep it across restarts (none without a data directory).
    store: Option<MeetingStore>,
    /// The media shard that serves it, chosen at its first offer and kept for its life
    /// (its peers forward to each other, so they share one; see [`crate::shards`]).
    pub shard: std::sync::OnceLock<usize>,
}

impl Meeting {
    /// A new meeting in the lobby with nobody connected. With `store`, every change of its
    /// rules and roll call is kept on disk (see [`crate::store`]).
    pub fn new(
        id: String,
        title: String,
        expires_at: u64,
        sites: Vec<ExpectedSite>,
        options: MeetingOptions,
        store: Option<MeetingStore>,
    ) -> Self {
        let state = State::new(id, title, expires_at, sites, options, store.is_some());
        Meeting::around(state, store)
    }

    fn around(state: State, store: Option<MeetingStore>) -> Self {
        Meeting {
            id: state.id.clone(),
            expires_at: state.expires_at,
            options: state.options,
            state: Mutex::new(state),
            out: Mutex::new(HashMap::new()),
            store,
            shard: std::sync::OnceLock::new(),
        }
    }

    /// Rebuilds a meeting from its snapshot after a restart (see [`crate::store`]). Sites
    /// that were present when the server went away left at `left_ms` (when it was last seen
    /// alive, [`crate::store::crash_leave_ms`]); nobody is connected.
    pub fn restore(snapshot: Snapshot, left_ms: u64, store: Option<MeetingStore>) -> Self {
        Meeting::around(State::restore(snapshot, left_ms, store.is_some()), store)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind: still consistent enough
        // to serve the other sites, so recover instead of taking the meeting down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `input` now and carries out its effects; `register` is a socket's queue that
    /// joins the meeting with it. Returns the answer and whether what had to be on disk is.
    fn apply<I: Input>(
        &self,
        input: I,
        node: Option<&dyn Node>,
        register: Option<(u64, Outbox)>,
    ) -> Result<(I::Reply, std::io::Result<()>), Refusal> {
        let now_ms = unix_now_ms();
        let mut st = self.lock();
        let (reply, effects) = st.apply(input, now_ms)?;
        if effects.is_empty() && register.is_none() {
            return Ok((reply, Ok(())));
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        drop(st);
        if let Some((session, tx)) = register {
            out.insert(session, tx);
        }
        let written = Executor {
            meeting: &self.id,
            store: self.store.as_ref(),
            outboxes: &mut out,
            node,
        }
        .run(effects);
        Ok((reply, written))
    }

    /// [`Meeting::apply`] for inputs whose files may be written later.
    fn run<I: Input>(&self, input: I, node: Option<&dyn Node>) -> Result<I::Reply, Refusal> {
        self.apply(input, node, None).map(|(reply, _)| reply)
    }

    /// [`Meeting::apply`] for inputs that cannot be refused.
    fn run_sure<I: Input<Reply = R>, R: Default>(&self, input: I, node: Option<&dyn Node>) -> R {
        self.run(input, node).unwrap_or_default()
    }

    /// [`Meeting::apply`] for acknowledged changes: on disk before it returns.
    fn run_durable<I: Input<Reply = ()>>(
        &self,
        input: I,
        node: Option<&dyn Node>,
    ) -> std::io::Result<()> {
        match self.apply(input, node, None) {
            Ok(((), written)) => written,
            Err(r) => Err(std::io::Error::other(r.message)),
        }
    }

    /// Writes the meeting's files durably before returning: for what is acknowledged (its
    /// creation) and at shutdown.
    pub fn save_now(&self) -> std::io::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let record = self.lock().record(unix_now_ms());
        store.save_now(record.snapshot, record.attendance)
    }

    /// The expected site with this id.
    pub fn site(&self, id: &str) -> Option<ExpectedSite> {
        self.lock().site(id).cloned()
    }

    /// Expected sites in roster order.
    pub fn sites(&self) -> Vec<ExpectedSite> {
        self.lock().sites().to_vec()
    }

    /// The title.
    pub fn title(&self) -> String {
        self.lock().title().to_owned()
    }

    /// Whether the chair ended it.
    pub fn is_ended(&self) -> bool {
        self.lock().rules().phase == Phase::Ended
    }

    /// Whether `site` holds the co-chair right now.
    pub fn is_cochair(&self, site: &str) -> bool {
        self.lock().rules().cochairs.contains(site)
    }

    /// Roster with presence, for the API.
    pub fn roster(&self) -> Vec<SiteStatus> {
        self.lock().roster()
    }

    /// Whether `site_id` has a connection now.
    pub fn is_connected(&self, site_id: &str) -> bool {
        self.lock().is_connected(site_id)
    }

    /// Number of connected sites.
    pub fn connected(&self) -> usize {
        self.lock().connected()
    }

    /// The roll call now.
    pub fn attendance(&self) -> Attendance {
        self.lock().attendance(unix_now_ms())
    }

    /// How many slots a participant of `role` must offer.
    pub fn receive_slots(&self, role: Role) -> ReceiveSlots {
        super::receive_slots(self.options, role)
    }

    /// When it was ended (Unix ms), if it was.
    pub fn ended_ms(&self) -> Option<u64> {
        self.lock().ended_ms()
    }

    /// Whether a link with token id `jti` still admits `site_id`.
    pub fn link_is_current(&self, site_id: &str, jti: &str) -> bool {
        self.lock().link_is_current(site_id, jti)
    }

    /// The transport label of `site_id` now (see [`ClientInfo::transport_label`]).
    pub fn transport_of(&self, site_id: &str) -> &'static str {
        self.lock().transport_of(site_id)
    }

    /// Admits `site_id` on socket `session` (queue `tx`): see [`membership::Join`].
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &self,
        site_id: &str,
        link: &str,
        session: u64,
        peer: PeerId,
        tx: Outbox,
        resume: Option<&str>,
        node: &impl Node,
    ) -> Result<Joined, Refusal> {
        let join = membership::Join {
            site: site_id.to_owned(),
            link: link.to_owned(),
            session,
            peer,
            resume: resume.map(str::to_owned),
            secret: uuid::Uuid::new_v4().simple().to_string(),
        };
        self.apply(join, Some(node as &dyn Node), Some((session, tx)))
            .map(|(joined, _)| joined)
    }

    /// Records `jti` as the one valid link of `site_id` (a link signed for it at creation).
    pub fn set_link(&self, site_id: &str, jti: &str) {
        let link = membership::SetLink {
            site: site_id.to_owned(),
            jti: jti.to_owned(),
        };
        self.run_sure(link, None)
    }

    /// See [`membership::Reissue`]; on disk before it returns (the revocation holds in
    /// memory even if the write fails).
    pub fn reissue(&self, site_id: &str, jti: &str, node: &impl Node) -> std::io::Result<()> {
        let reissue = membership::Reissue {
            site: site_id.to_owned(),
            jti: jti.to_owned(),
        };
        self.run_durable(reissue, Some(node as &dyn Node))
    }

    /// The admin's edit (see [`chair::Edit`]); on disk before it returns.
    pub fn edit(
        &self,
        title: Option<String>,
        added: Vec<ExpectedSite>,
        removed: &[String],
        node: &impl Node,
    ) -> std::io::Result<()> {
        let edit = chair::Edit {
            title,
            added,
            removed: removed.to_vec(),
        };
        self.run_durable(edit, Some(node as &dyn Node))
    }

    /// Ends it (if not yet) and deletes its snapshot (see [`chair::Retire`]).
    pub fn retire(&self, node: &impl Node) -> std::io::Result<()> {
        self.run_durable(chair::Retire, Some(node as &dyn Node))
    }

    /// Ends the meeting for everyone (the admin's end).
    pub fn end(&self, node: &impl Node) {
        self.run_sure(chair::End, Some(node as &dyn Node))
    }

    /// Routes the meeting after a new member's `joined` went out.
    pub fn route_joined(&self, node: &impl Node) {
        self.run_sure(membership::RouteJoined, Some(node as &dyn Node))
    }

    /// Sends `site_id` its current slots again (after a resumed join).
    pub fn resend_slots(&self, site_id: &str, node: &impl Node) {
        self.run_sure(
            membership::ResendSlots(site_id.to_owned()),
            Some(node as &dyn Node),
        )
    }

    /// Records the media layout of `site_id`'s accepted offer and re-routes. Returns
    /// false if that session no longer holds the site.
    pub fn set_layout(
        &self,
        site_id: &str,
        session: u64,
        layout: &sfu::PeerLayout,
        node: &impl Node,
    ) -> bool {
        let set = membership::SetLayout {
            site: site_id.to_owned(),
            session,
            layout: layout.into(),
        };
        self.run_sure(set, Some(node as &dyn Node))
    }

    /// Records a site's own device state and shows it to the chair and operators.
    pub fn set_media_state(&self, site_id: &str, session: u64, mic: bool, camera: bool) {
        let media = membership::MediaState {
            site: site_id.to_owned(),
            session,
            mic,
            camera,
        };
        self.run_sure(media, None)
    }

    /// Sends `msg` to `site_id` if `peer` is still its connection.
    pub fn notify(&self, site_id: &str, peer: PeerId, msg: ServerMessage) {
        let notify = link::Notify {
            site: site_id.to_owned(),
            peer,
            message: msg,
        };
        self.run_sure(notify, None)
    }

    /// The SFU's word on what `site_id`'s link lets it receive.
    pub fn set_reception(&self, site_id: &str, peer: PeerId, reception: &'static str) {
        let reception = link::Reception {
            site: site_id.to_owned(),
            peer,
            reception,
        };
        self.run_sure(reception, None)
    }

    /// The socket `session` of `site_id` closed (see [`membership::Depart`]).
    pub fn depart(
        &self,
        site_id: &str,
        session: u64,
        peer: PeerId,
        detach: bool,
        node: &impl Node,
    ) -> Departure {
        let depart = membership::Depart {
            site: site_id.to_owned(),
            session,
            peer,
            detach,
        };
        let departure = self
            .run(depart, Some(node as &dyn Node))
            .unwrap_or(Departure::Gone);
        // Nothing more is sent to a closed socket.
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session);
        departure
    }

    /// The resume grace of socket `session` is over (see [`membership::Expire`]). Returns
    /// whether `peer` is no longer in use.
    pub fn expire(&self, site_id: &str, session: u64, peer: PeerId, node: &impl Node) -> bool {
        let expire = membership::Expire {
            site: site_id.to_owned(),
            session,
            peer,
        };
        self.run(expire, Some(node as &dyn Node)).unwrap_or(true)
    }

    /// The site's media connection died (see [`membership::MediaLost`]).
    pub fn media_lost(&self, site_id: &str, peer: PeerId, node: &impl Node) {
        let lost = membership::MediaLost {
            site: site_id.to_owned(),
            peer,
        };
        self.run_sure(lost, Some(node as &dyn Node))
    }

    /// A moderation action by `actor_site` (see [`chair::Act`]).
    pub fn act(&self, actor_site: &str, action: Action, node: &impl Node) -> Result<(), Refusal> {
        let act = chair::Act {
            actor: actor_site.to_owned(),
            action,
        };
        // A failed write of the end is logged by the executor; the meeting has ended.
        self.run(act, Some(node as &dyn Node))
    }

    /// Starts or stops `site_id`'s line check (see [`linecheck::Check`]).
    pub fn check(
        &self,
        site_id: &str,
        session: u64,
        on: bool,
        node: &impl Node,
    ) -> Result<(), Refusal> {
        let check = linecheck::Check {
            site: site_id.to_owned(),
            session,
            on,
        };
        self.run(check, Some(node as &dyn Node))
    }

    /// Records and shows `site_id`'s line check result (see [`linecheck::CheckResult`]).
    pub fn check_result(
        &self,
        site_id: &str,
        session: u64,
        report: CheckReport,
    ) -> Result<(), Refusal> {
        let result = linecheck::CheckResult {
            site: site_id.to_owned(),
            session,
            report,
        };
        self.run(result, None)
    }

    /// Records what `site_id`'s browser says about itself. Returns the transport label
    /// before and after, when it changed.
    pub fn client_info(
        &self,
        site_id: &str,
        session: u64,
        info: ClientInfo,
    ) -> Option<(&'static str, &'static str)> {
        let client = link::Client {
            site: site_id.to_owned(),
            session,
            info,
        };
        self.run_sure(client, None)
    }

    /// Operator: shows `text` to `target` until it is dismissed.
    pub fn operator_notice(&self, actor: &str, target: &str, text: &str) -> Result<(), Refusal> {
        let notice = operator::Notice {
            actor: actor.to_owned(),
            target: target.to_owned(),
            text: text.to_owned(),
        };
        self.run(notice, None)
    }

    /// Operator: asks `target` to drop its connection and join again.
    pub fn operator_reconnect(&self, actor: &str, target: &str) -> Result<(), Refusal> {
        let reconnect = operator::Reconnect {
            actor: actor.to_owned(),
            target: target.to_owned(),
        };
        self.run(reconnect, None)
    }

    /// Operator: stops (or resumes) every video towards `target`; enforced by routing.
    pub fn force_audio_only(
        &self,
        actor: &str,
        target: &str,
        on: bool,
        node: &impl Node,
    ) -> Result<(), Refusal> {
        let forced = operator::AudioOnly {
            actor: actor.to_owned(),
            target: target.to_owned(),
            on,
        };
        self.run(forced, Some(node as &dyn Node))
    }

    /// The SFU's latest link figures of `site_id` (connection `peer`). Returns the site's
    /// transport label and browser while `peer` is still its connection.
    pub fn link_report(
        &self,
        site_id: &str,
        peer: PeerId,
        report: sfu::PeerReport,
    ) -> Option<(&'static str, String)> {
        let report = link::LinkReport {
            site: site_id.to_owned(),
            peer,
            report,
        };
        self.run_sure(report, None)
    }

    /// Sends the operators their `stats`; `None` when no operator is connected.
    pub fn operator_stats(&self) -> Option<ServerMessage> {
        self.run_sure(operator::Stats, None)
    }

    /// The chair shows grid page `page` with `page_size` tiles.
    pub fn set_grid(
        &self,
        actor_site: &str,
        page: u32,
        page_size: Option<u16>,
        node: &impl Node,
    ) -> Result<(), Refusal> {
        let grid = chair::Grid {
            actor: actor_site.to_owned(),
            page,
            page_size,
        };
        self.run(grid, Some(node as &dyn Node))
    }

    /// A text message from `from_site` to `to` (`chair`, `all`, or a site id).
    pub fn chat(&self, from_site: &str, to: &str, text: &str) -> Result<(), Refusal> {
        let chat = chat::Chat {
            from: from_site.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
        };
        self.run(chat, None)
    }
}
