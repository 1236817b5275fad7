//! [`Meeting`]: what the server holds of one meeting.
//!
//! Callers build an [`Input`] (each declared in its facet: [`super::membership`],
//! [`super::chair`], ...) and hand it to [`Meeting::apply`], which reads the clock, applies it
//! to the [`State`] under its lock, and has the [`Executor`] carry out the effects. What the
//! state says is read with [`Meeting::read`]. Only what does more than that has a method of
//! its own: a join (draws the resume secret, registers the socket's queue), a departure
//! (forgets the socket's queue), the roll call now, and a save at shutdown.
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

use crate::outbox::Outbox;
use crate::protocol::Refusal;
use crate::rollcall::Attendance;
use crate::store::MeetingStore;
use crate::token::unix_now_ms;

use super::executor::{Executor, Node};
use super::{membership, Departure, Input, Joined, MeetingOptions, State};

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
    /// The server's hold on `state`: a new meeting ([`State::new`]) or one rebuilt after a
    /// restart ([`State::restore`]). With `store`, every change of its rules and roll call is
    /// kept on disk (see [`crate::store`]); the state builds its snapshots exactly then.
    pub fn new(mut state: State, store: Option<MeetingStore>) -> Self {
        state.kept = store.is_some();
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

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind: still consistent enough
        // to serve the other sites, so recover instead of taking the meeting down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What `look` reads of the state now, under its lock (hold nothing of it: take the
    /// answer out; never call back into the meeting from `look`).
    pub fn read<R>(&self, look: impl FnOnce(&State) -> R) -> R {
        look(&self.lock())
    }

    /// Applies `input` now and carries out its effects on `node`. What the input keeps on
    /// disk is written by the background writers; the messages that acknowledge a change
    /// (a lock, a grant) wait in the sockets' queues until it is on disk. A failed write is
    /// logged (see [`Meeting::apply_durable`]).
    pub fn apply<I: Input>(&self, input: I, node: &dyn Node) -> Result<I::Reply, Refusal> {
        self.execute(input, node, None, false)
            .map(|(reply, _)| reply)
    }

    /// [`Meeting::apply`] for acknowledged changes: on disk before it returns (a change the
    /// write failed for still holds in memory).
    pub fn apply_durable<I: Input<Reply = ()>>(
        &self,
        input: I,
        node: &dyn Node,
    ) -> std::io::Result<()> {
        match self.execute(input, node, None, true) {
            Ok(((), written)) => written,
            Err(r) => Err(std::io::Error::other(r.message)),
        }
    }

    /// Applies `input` now and carries out its effects; `register` is a socket's queue that
    /// joins the meeting with it. Returns the answer and whether what had to be on disk is.
    fn execute<I: Input>(
        &self,
        input: I,
        node: &dyn Node,
        register: Option<(u64, Outbox)>,
        write_now: bool,
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
            write_now,
            flushed: None,
        }
        .run(effects);
        Ok((reply, written))
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

    /// The roll call now.
    pub fn attendance(&self) -> Attendance {
        self.lock().attendance(unix_now_ms())
    }

    /// Admits `site_id` on socket `session` (queue `tx`) with a fresh resume secret, and
    /// registers the queue with it: see [`membership::Join`].
    #[allow(clippy::too_many_arguments)]
    pub fn join(
        &self,
        site_id: &str,
        link: &str,
        session: u64,
        peer: PeerId,
        tx: Outbox,
        resume: Option<&str>,
        node: &dyn Node,
    ) -> Result<Joined, Refusal> {
        let join = membership::Join {
            site: site_id.to_owned(),
            link: link.to_owned(),
            session,
            peer,
            resume: resume.map(str::to_owned),
            secret: uuid::Uuid::new_v4().simple().to_string(),
        };
        self.execute(join, node, Some((session, tx)), false)
            .map(|(joined, _)| joined)
    }

    /// The socket `session` of `site_id` closed (see [`membership::Depart`]); nothing more
    /// is sent on its queue.
    pub fn depart(
        &self,
        site_id: &str,
        session: u64,
        peer: PeerId,
        detach: bool,
        node: &dyn Node,
    ) -> Departure {
        let depart = membership::Depart {
            site: site_id.to_owned(),
            session,
            peer,
            detach,
        };
        let departure = self.apply(depart, node).unwrap_or(Departure::Gone);
        self.out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session);
        departure
    }
}
