//! The line check (lobby only): while it runs, a site receives its own camera and microphone
//! back through the SFU (the loopback is part of [`crate::route::receives`]); its result is
//! shown to the site, the chair, co-chairs and operators, and to whoever joins later.

use crate::protocol::{CheckReport, ErrorCode, Phase, Refusal, ServerMessage};

use super::{not_joined, Input, State};

/// Starts or stops `site`'s line check (socket `session`).
#[derive(Debug, Clone)]
pub struct Check {
    /// The site.
    pub site: String,
    /// The socket that asks.
    pub session: u64,
    /// Start (true) or stop.
    pub on: bool,
}

impl Input for Check {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        let m = st
            .held_by(&self.site, self.session)
            .ok_or_else(not_joined)?;
        if m.layout.is_none() {
            return Err(Refusal::new(
                ErrorCode::NoOffer,
                "send an offer before the line check",
            ));
        }
        if self.on && st.rules.phase != Phase::Lobby {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "the line check runs in the lobby, before the meeting opens",
            ));
        }
        let changed = if self.on {
            st.checking.insert(self.site.clone())
        } else {
            st.checking.remove(&self.site)
        };
        if changed {
            st.reroute();
        }
        st.send_to(&self.site, ServerMessage::Check { on: self.on });
        Ok(())
    }
}

/// `site`'s line check result (socket `session`).
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The site.
    pub site: String,
    /// The socket that reports.
    pub session: u64,
    /// What the browser measured.
    pub report: CheckReport,
}

impl Input for CheckResult {
    type Reply = ();
    fn apply(self, st: &mut State, now_ms: u64) -> Result<(), Refusal> {
        st.held_by(&self.site, self.session)
            .ok_or_else(not_joined)?;
        st.checks
            .insert(self.site.clone(), (now_ms, self.report.clone()));
        let msg = ServerMessage::CheckResult {
            site_id: self.site.clone(),
            at_ms: now_ms,
            report: self.report,
        };
        let site = self.site;
        st.send_where(&msg, |st, id| id == site || st.is_watcher(id));
        Ok(())
    }
}
