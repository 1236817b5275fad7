//! Carries out a meeting's effects, in order: the only code of a meeting that sends on a
//! socket's queue, commands the SFU, writes files or touches the node's registries. It runs
//! after the state's lock is released (see [`super::handle`] for the lock order) and never
//! takes that lock: the sessions it closes and the SFU events it causes come back later as
//! inputs of their own.

use std::collections::HashMap;

use sfu::{PeerId, Subscription};

use crate::outbox::{Outbound, Outbox};
use crate::protocol::Role;
use crate::store::MeetingStore;

use super::{Effect, Record};

/// What a meeting's effects act on beyond its members and files: the media plane, the
/// node's index of connections, metrics. `AppState` is the one node (`crate::state`); a
/// trait so that the meeting does not import the state that holds it.
pub trait Node {
    /// `peer` is `site`'s connection in `meeting`: SFU events about it go there.
    fn peer_added(&self, meeting: &str, peer: PeerId, site: String);
    /// Closes `peer` in the SFU and forgets it.
    fn remove_peer(&self, peer: PeerId);
    /// What each receive slot of `peer` carries now.
    fn subscribe(&self, peer: PeerId, subscriptions: Vec<Subscription>);
    /// Drops the per-site metric series of `site` (role `role`) in `meeting`.
    fn forget_site_metrics(&self, meeting: &str, site: &str, role: Role);
    /// Starts (`Some(label)`) or stops recording `peer` of `meeting`.
    fn record(&self, meeting: &str, peer: PeerId, label: Option<String>);
}

impl<T: Node + ?Sized> Node for std::sync::Arc<T> {
    fn peer_added(&self, meeting: &str, peer: PeerId, site: String) {
        (**self).peer_added(meeting, peer, site)
    }
    fn remove_peer(&self, peer: PeerId) {
        (**self).remove_peer(peer)
    }
    fn subscribe(&self, peer: PeerId, subscriptions: Vec<Subscription>) {
        (**self).subscribe(peer, subscriptions)
    }
    fn forget_site_metrics(&self, meeting: &str, site: &str, role: Role) {
        (**self).forget_site_metrics(meeting, site, role)
    }
    fn record(&self, meeting: &str, peer: PeerId, label: Option<String>) {
        (**self).record(meeting, peer, label)
    }
}

/// What the executor acts on for one meeting.
pub(super) struct Executor<'a> {
    /// The meeting's id (its metric series and its entry in the node's registries).
    pub meeting: &'a str,
    /// Its files, if it is kept on disk.
    pub store: Option<&'a MeetingStore>,
    /// The queues of the sockets that hold its sites, by session id.
    pub outboxes: &'a mut HashMap<u64, Outbox>,
    /// The node: the SFU, the index of connections, metrics.
    pub node: &'a dyn Node,
    /// Write what must be on the disk before returning (an API's answer follows), rather
    /// than holding the sockets' messages behind its write (a group commit).
    pub write_now: bool,
    /// What this run's messages wait for, and the sessions already told to wait.
    pub flushed: Option<(crate::durable::Flushed, std::collections::HashSet<u64>)>,
}

impl Executor<'_> {
    /// Carries out `effects` in order. Returns the first failure to write what had to be on
    /// disk before the caller answers (the rest is still carried out).
    pub fn run(mut self, effects: Vec<Effect>) -> std::io::Result<()> {
        let mut written = Ok(());
        for effect in effects {
            if let Err(e) = self.one(effect) {
                if written.is_ok() {
                    written = Err(e);
                }
            }
        }
        written
    }

    fn one(&mut self, effect: Effect) -> std::io::Result<()> {
        match effect {
            Effect::Send { session, message } => {
                if let Some(tx) = self.outboxes.get(&session) {
                    // A full or closed queue is the session's own business (it is cut off).
                    if let Some((flushed, told)) = &mut self.flushed {
                        if told.insert(session) {
                            let _ = tx.send(Outbound::Wait(flushed.clone()));
                        }
                    }
                    let _ = tx.send(Outbound::Message(message));
                }
            }
            Effect::Close { session, message } => {
                if let Some(tx) = self.outboxes.remove(&session) {
                    if let Some((flushed, told)) = &mut self.flushed {
                        if told.insert(session) {
                            let _ = tx.send(Outbound::Wait(flushed.clone()));
                        }
                    }
                    let _ = tx.send(Outbound::Close(message));
                }
            }
            Effect::Persist { record, durable } => {
                let Some(store) = self.store else {
                    return Ok(());
                };
                let Record {
                    snapshot,
                    attendance,
                } = *record;
                if !durable {
                    store.save(snapshot, attendance);
                } else if !self.write_now {
                    // Comes first among a run's effects (`State::apply`): every message of
                    // the run waits for it.
                    let flushed = store.save_flushed(snapshot, attendance);
                    self.flushed = Some((flushed, Default::default()));
                } else if let Err(e) = store.save_now(snapshot, attendance) {
                    tracing::error!(meeting = %self.meeting, "cannot store a change of the meeting: {e}");
                    return Err(e);
                }
            }
            Effect::AppendChat(line) => {
                if let Some(store) = self.store {
                    if let Err(e) = crate::jsonl::append(store.chat_file(), &*line) {
                        tracing::error!(meeting = %self.meeting, "cannot store a chat message: {e}");
                        return Err(e);
                    }
                }
            }
            Effect::DeleteSnapshot => {
                if let Some(store) = self.store {
                    store.remove_snapshot()?;
                }
            }
            Effect::PeerAdded { peer, site } => self.node.peer_added(self.meeting, peer, site),
            Effect::RemovePeer(peer) => self.node.remove_peer(peer),
            Effect::Subscribe {
                peer,
                subscriptions,
            } => self.node.subscribe(peer, subscriptions),
            Effect::Record { peer, label } => self.node.record(self.meeting, peer, label),
            Effect::ForgetSiteMetrics { site, role } => {
                self.node.forget_site_metrics(self.meeting, &site, role)
            }
        }
        Ok(())
    }
}
