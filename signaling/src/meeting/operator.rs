//! The operators' console: a notice to one site, asking a site to reconnect, forcing a site
//! to audio only (enforced by routing), and the live figures of every site (`stats`, about
//! once a second while an operator is connected).

use crate::protocol::{ErrorCode, Refusal, Role, ServerMessage, SiteStats, StatsTotals};

use super::{Input, State};

impl State {
    /// Checks that `actor` is an operator and `target` a connected site.
    fn operator_target(&self, actor: &str, target: &str) -> Result<(), Refusal> {
        if self.site(actor).map(|s| s.role) != Some(Role::Operator) {
            return Err(Refusal::new(ErrorCode::Forbidden, "only operators do this"));
        }
        if self.site(target).is_none() {
            return Err(Refusal::new(
                ErrorCode::UnknownSite,
                "this meeting has no such site",
            ));
        }
        if !self.members.contains_key(target) {
            return Err(Refusal::new(
                ErrorCode::Conflict,
                "this site is not connected",
            ));
        }
        Ok(())
    }
}

/// Operator: shows `text` to `target` until it is dismissed.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The operator.
    pub actor: String,
    /// The site shown the notice.
    pub target: String,
    /// What it says.
    pub text: String,
}

impl Input for Notice {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.operator_target(&self.actor, &self.target)?;
        let text: String = self
            .text
            .chars()
            .filter(|c| !c.is_control() || *c == '\n')
            .collect();
        let notice = ServerMessage::Notice {
            from: "operator".into(),
            text,
        };
        st.send_to(&self.target, notice);
        Ok(())
    }
}

/// Operator: asks `target` to drop its connection and join again.
#[derive(Debug, Clone)]
pub struct Reconnect {
    /// The operator.
    pub actor: String,
    /// The site asked.
    pub target: String,
}

impl Input for Reconnect {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.operator_target(&self.actor, &self.target)?;
        st.send_to(&self.target, ServerMessage::Reconnect);
        Ok(())
    }
}

/// Operator: stops (or resumes) every video towards `target`; enforced by routing.
#[derive(Debug, Clone)]
pub struct AudioOnly {
    /// The operator.
    pub actor: String,
    /// The site.
    pub target: String,
    /// Forced (true) or released.
    pub on: bool,
}

impl Input for AudioOnly {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        st.operator_target(&self.actor, &self.target)?;
        let changed = if self.on {
            st.audio_only.insert(self.target.clone())
        } else {
            st.audio_only.remove(&self.target)
        };
        if changed {
            st.broadcast_state(&self.target);
            st.reroute();
            // The operator's decision, acknowledged by the new state: on disk first.
            st.keep(true);
        }
        Ok(())
    }
}

/// The operators' `stats`: every negotiated site's latest link figures.
#[derive(Debug, Clone, Copy)]
pub struct Stats;

impl Input for Stats {
    /// The message sent, or `None` when no operator is connected.
    type Reply = Option<ServerMessage>;
    fn apply(self, st: &mut State, now_ms: u64) -> Result<Option<ServerMessage>, Refusal> {
        let is_operator =
            |st: &State, id: &str| st.site(id).is_some_and(|s| s.role == Role::Operator);
        if !st.members.keys().any(|id| is_operator(st, id)) {
            return Ok(None);
        }
        let kbps = |bps: u64| (bps as f64 / 100.0).round() / 10.0;
        let mut sites = Vec::new();
        for s in &st.sites {
            let Some(m) = st.members.get(&s.id).filter(|m| m.layout.is_some()) else {
                continue;
            };
            let r = m.live.as_ref();
            sites.push(SiteStats {
                site_id: s.id.clone(),
                up_kbps: r.map_or(0.0, |r| kbps(r.rx_bps)),
                down_kbps: r.map_or(0.0, |r| kbps(r.tx_bps)),
                up_loss_pct: r.and_then(|r| r.ingress_loss_pct),
                down_loss_pct: r.and_then(|r| r.egress_loss_pct),
                rtt_ms: r.and_then(|r| r.rtt_ms),
                jitter_ms: r.and_then(|r| r.down_jitter_ms),
                layer: r
                    .and_then(|r| r.video_layer)
                    .map(|l| l.map_or("paused", |l| l.name()).to_owned()),
                estimate_kbps: r.and_then(|r| r.estimate_bps).map(kbps),
                audio_level: r.and_then(|r| r.audio_level),
                transport: Some(m.client.transport_label())
                    .filter(|t| *t != "unknown")
                    .map(str::to_owned),
                candidate: m.client.candidate.clone(),
                browser: m.client.browser.clone(),
                nacks: r.map_or(0, |r| r.nacks_from_peer),
                plis: r.map_or(0, |r| r.keyframe_requests_from_peer),
                dropped: r.map_or(0, |r| r.policed_packets + r.malformed_packets),
                audio_only_forced: st.audio_only.contains(&s.id),
                node: m.layout.as_ref().and_then(|l| l.node.clone()),
            });
        }
        let round = |x: f64| (x * 10.0).round() / 10.0;
        let totals = StatsTotals {
            expected: st.sites.len() as u32,
            joined: sites.len() as u32,
            up_kbps: round(sites.iter().map(|s| s.up_kbps).sum::<f64>()),
            down_kbps: round(sites.iter().map(|s| s.down_kbps).sum::<f64>()),
            viewers: st.viewers().len() as u32,
            viewers_since_ms: st.viewers().iter().map(|v| v.since_ms).collect(),
            feeds: st.feeds(),
        };
        let msg = ServerMessage::Stats {
            at_ms: now_ms,
            totals,
            sites,
        };
        st.send_where(&msg, is_operator);
        Ok(Some(msg))
    }
}
