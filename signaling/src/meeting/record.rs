//! The meeting on disk: the [`Record`] a change asks to keep (snapshot and roll call), and
//! the state rebuilt from a snapshot after a restart (see [`crate::store`]).

use crate::protocol::Presence;
use crate::store::Snapshot;

use super::{floorlog, MeetingOptions, Record, State, MAX_GRID_PAGE};

impl State {
    /// What a restart rebuilds this meeting from, and its roll call, as of `now_ms`.
    pub fn record(&self, now_ms: u64) -> Record {
        Record {
            snapshot: Snapshot {
                version: crate::store::SNAPSHOT_VERSION,
                id: self.id.clone(),
                title: self.title.clone(),
                expires_at: self.expires_at,
                floor_limit: self.options.floor_limit,
                grid_slots: self.options.grid_slots,
                sites: self.sites.clone(),
                rules: self.rules.clone(),
                rollcall: self.rollcall.clone(),
                grid_page: self.grid_page,
                grid_page_size: self.grid_page_size,
                audio_only: self.audio_only.iter().cloned().collect(),
                saved_ms: now_ms,
                links: self.links.clone(),
                ended_ms: self.ended_ms,
                floor_log: self.floor_log.clone(),
            },
            attendance: self.attendance(now_ms),
        }
    }

    /// Rebuilds the state from its snapshot after a restart (see [`crate::store`]): sites
    /// that were present when the server went away left at `left_ms` (when it was last seen
    /// alive, [`crate::store::crash_leave_ms`]); nobody is connected. The server holds it
    /// with [`super::Meeting::new`].
    pub fn restore(snapshot: Snapshot, left_ms: u64, kept: bool) -> Self {
        let options = MeetingOptions {
            floor_limit: snapshot.floor_limit,
            grid_slots: snapshot.grid_slots,
        };
        let mut st = State::new(
            snapshot.id,
            snapshot.title,
            snapshot.expires_at,
            snapshot.sites,
            options,
            kept,
        );
        st.rules = snapshot.rules;
        // The shared screen went with the presenter's connection; the page shares it again.
        st.rules.presenter = None;
        st.rollcall = snapshot.rollcall;
        st.grid_page = snapshot.grid_page;
        st.grid_page_size = snapshot.grid_page_size.clamp(1, MAX_GRID_PAGE);
        st.audio_only = snapshot.audio_only.into_iter().collect();
        st.links = snapshot.links;
        st.ended_ms = snapshot.ended_ms;
        st.floor_log = snapshot.floor_log;
        // The floor ended with the server for holders that were connected (as their stay).
        floorlog::close_all(&mut st.floor_log, left_ms);
        for site in &st.sites {
            if st.rollcall.is_present(&site.id) {
                st.rollcall.left(&site.id, left_ms);
            }
            if st.rollcall.ever_joined(&site.id) {
                st.presence.insert(site.id.clone(), Presence::Left);
            }
        }
        st
    }
}
