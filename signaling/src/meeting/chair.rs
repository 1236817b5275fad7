//! The consequences of the chair's decisions. [`crate::moderation`] decides whether an action
//! is allowed and what it changes in the rules; this facet turns the change into effects:
//! who is told (`meeting_state`, `floor`, `site_state`), who leaves (a removed site), which
//! line checks end (the meeting opened), and re-routing. Also the hall's grid page and the
//! admin's changes (edit, end, retire).

use crate::moderation::{Action, Actor};
use crate::protocol::{ErrorCode, Phase, Refusal, Role, ServerMessage};

use super::view::{floor, meeting_state};
use super::{site_removed, Effect, ExpectedSite, Input, State};

/// A moderation action by `actor`.
#[derive(Debug, Clone)]
pub struct Act {
    /// The site that acts.
    pub actor: String,
    /// What it asks.
    pub action: Action,
}

impl Input for Act {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        let role = st
            .site(&self.actor)
            .map(|s| s.role)
            .ok_or_else(site_removed)?;
        let ending = self.action == Action::End;
        // Decide on a copy: a refused action leaves the rules untouched.
        let mut rules = st.rules.clone();
        let changed = rules.apply(
            Actor {
                site: &self.actor,
                role,
            },
            self.action,
            &*st,
            now_ms,
        )?;
        st.rules = rules;
        if ending {
            st.end_all(now_ms);
            // The chair is told `ended`: on disk before, as every acknowledged change.
            st.keep(true);
            return Ok(());
        }
        if changed.meeting {
            st.broadcast(&meeting_state(&st.rules));
        }
        // The line check is for the lobby: opening the meeting ends every check.
        let ended_checks = st.rules.phase != Phase::Lobby && !st.checking.is_empty();
        if ended_checks {
            let mut checking: Vec<String> = std::mem::take(&mut st.checking).into_iter().collect();
            checking.sort_unstable();
            for id in checking {
                st.send_to(&id, ServerMessage::Check { on: false });
            }
        }
        if changed.floor {
            st.broadcast(&floor(&st.rules));
        }
        for id in &changed.sites {
            st.broadcast_state(id);
        }
        if let Some(removed) = &changed.removed {
            let farewell = ServerMessage::Ended {
                reason: "removed_by_chair".into(),
            };
            st.leave(removed, Some(farewell), now_ms);
        }
        if changed.routing || ended_checks {
            st.reroute();
        }
        // Acknowledged by being told (the chair sees its lock, a site its raised hand): on
        // the disk before anyone hears of it (a group commit, see `durable::Flushed`).
        st.keep(true);
        Ok(())
    }
}

/// The chair shows grid page `page` with `page_size` tiles.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The site that asks.
    pub actor: String,
    /// The page.
    pub page: u32,
    /// Tiles per page, if it changes.
    pub page_size: Option<u16>,
}

impl Input for Grid {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        if st.site(&self.actor).map(|s| s.role) != Some(Role::Chair) {
            return Err(Refusal::new(
                ErrorCode::Forbidden,
                "only the chair pages through the grid",
            ));
        }
        if let Some(size) = self.page_size {
            if size == 0 || size > st.options.grid_slots {
                return Err(Refusal::new(
                    ErrorCode::BadMessage,
                    format!("page_size must be 1 to {}", st.options.grid_slots),
                ));
            }
            st.grid_page_size = size;
        }
        st.grid_page = self.page;
        st.reroute();
        st.keep(true);
        Ok(())
    }
}

/// The admin's edit: a new title, sites added (before the operator, in roster order) and
/// sites removed (ids of `site` role, checked by the caller). A removed site that ever joined
/// stays in the roster and the roll call, marked removed as by the chair's `remove_site`; one
/// that never joined leaves the roster. A removed site's session is closed as by the chair's
/// removal, and its link refused. Kept on disk before the caller answers.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    /// The new title.
    pub title: Option<String>,
    /// Sites added.
    pub added: Vec<ExpectedSite>,
    /// Sites removed.
    pub removed: Vec<String>,
}

impl Input for Edit {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        // As the chair's `remove_site`: off the floor, hands and spotlight, disconnected.
        let chair = st.sites.iter().find(|s| s.role == Role::Chair).cloned();
        if let Some(chair) = chair {
            for id in &self.removed {
                let remove = Act {
                    actor: chair.id.clone(),
                    action: Action::Remove(id.clone()),
                };
                // Refused only as `conflict` for a site removed already: nothing to do.
                let _ = remove.apply(st, now_ms);
            }
        }
        if let Some(t) = self.title {
            st.title = t;
        }
        for id in &self.removed {
            if st.rollcall.ever_joined(id) {
                continue;
            }
            st.sites.retain(|s| &s.id != id);
            st.links.remove(id);
            st.rules.removed.remove(id);
        }
        let operator_at = st
            .sites
            .iter()
            .position(|s| s.role == Role::Operator)
            .unwrap_or(st.sites.len());
        st.sites.splice(operator_at..operator_at, self.added);
        st.reroute();
        st.keep(true);
        Ok(())
    }
}

/// The admin ends the meeting for everyone.
#[derive(Debug, Clone, Copy)]
pub struct End;

impl Input for End {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        st.rules.phase = Phase::Ended;
        st.end_all(now_ms);
        Ok(())
    }
}

/// Ends the meeting (if not yet) and deletes its snapshot, so a restart does not bring it
/// back; its roll call stays on disk.
#[derive(Debug, Clone, Copy)]
pub struct Retire;

impl Input for Retire {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        End.apply(st, now_ms)?;
        // After the snapshot the end queued.
        if let Some(durable) = st.persist.take().filter(|_| st.kept) {
            let record = Box::new(st.record(now_ms));
            st.effects.push(Effect::Persist { record, durable });
        }
        st.effects.push(Effect::DeleteSnapshot);
        Ok(())
    }
}
