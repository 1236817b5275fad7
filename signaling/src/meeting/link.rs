//! What the SFU and the browser say about a member's link: the SFU's figures and its word on
//! what the link can receive, its advice on camera layers, and the browser's own
//! `client_info`. Each applies only while the connection it is about is still the site's.

use sfu::PeerId;

use crate::protocol::{Refusal, ServerMessage};

use super::{ClientInfo, Input, State};

/// The SFU's latest link figures of `site` (connection `peer`).
#[derive(Debug, Clone)]
pub struct LinkReport {
    /// The site.
    pub site: String,
    /// The connection reported on.
    pub peer: PeerId,
    /// The figures.
    pub report: sfu::PeerReport,
}

impl Input for LinkReport {
    /// The site's transport label and browser while `peer` is still its connection.
    type Reply = Option<(&'static str, String)>;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<Self::Reply, Refusal> {
        let (loss, rtt) = (self.report.ingress_loss_pct, self.report.rtt_ms);
        let Some(m) = st
            .members
            .get_mut(&self.site)
            .filter(|m| m.peer == self.peer)
        else {
            return Ok(None);
        };
        m.live = Some(self.report);
        let out = (
            m.client.transport_label(),
            m.client.browser.clone().unwrap_or_default(),
        );
        st.rollcall.quality(&self.site, loss, rtt);
        Ok(Some(out))
    }
}

/// The SFU's word on what `site`'s link lets it receive; the chair, operators and the site
/// itself are told when it changes.
#[derive(Debug, Clone)]
pub struct Reception {
    /// The site.
    pub site: String,
    /// Its connection.
    pub peer: PeerId,
    /// `full`, `held` (less than offered, not because of its line: sent as `full` with
    /// `reduced_by_design`), `reduced` or `audio_only` (by its line), see `sfu::alarm`.
    pub reception: &'static str,
}

impl Input for Reception {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        let Some(m) = st
            .members
            .get_mut(&self.site)
            .filter(|m| m.peer == self.peer)
        else {
            return Ok(());
        };
        if m.reception == Some(self.reception) {
            return Ok(());
        }
        m.reception = Some(self.reception);
        st.broadcast_state(&self.site);
        Ok(())
    }
}

/// Sends `message` to `site` if `peer` is still its connection (the SFU's advice).
#[derive(Debug, Clone)]
pub struct Notify {
    /// The site.
    pub site: String,
    /// The connection the advice is about.
    pub peer: PeerId,
    /// The message.
    pub message: ServerMessage,
}

impl Input for Notify {
    type Reply = ();
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<(), Refusal> {
        if st.peer_of(&self.site) == Some(self.peer) {
            st.send_to(&self.site, self.message);
        }
        Ok(())
    }
}

/// What `site`'s browser (socket `session`) says about itself.
#[derive(Debug, Clone)]
pub struct Client {
    /// The site.
    pub site: String,
    /// The socket.
    pub session: u64,
    /// What it says.
    pub info: ClientInfo,
}

impl Input for Client {
    /// The transport label before and after, when it changed.
    type Reply = Option<(&'static str, &'static str)>;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<Self::Reply, Refusal> {
        let Some(m) = st
            .members
            .get_mut(&self.site)
            .filter(|m| m.session == self.session)
        else {
            return Ok(None);
        };
        let before = m.client.transport_label();
        m.client = self.info;
        let after = m.client.transport_label();
        Ok((before != after).then_some((before, after)))
    }
}
