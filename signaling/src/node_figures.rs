//! The `node` message: this node's own figures for the operators, once a second beside
//! `stats`. A site refused for capacity, or media lost in the kernel before the media thread
//! read it, shows on no site's link; operators see it here (and on `/metrics`:
//! `diemcau_signaling_joins_refused_total`, `diemcau_sfu_socket_drops_total`).

use crate::protocol::{Role, ServerMessage};
use crate::state::AppState;

/// The figures now. Reads `/proc/net/udp{,6}` for the socket drops: call it about once a
/// second, and only when someone will read it.
pub fn message(state: &AppState) -> ServerMessage {
    ServerMessage::Node {
        at_ms: crate::token::unix_now_ms(),
        sites: state.peers.len() as u32,
        sites_per_node: state.settings.limits.sites_per_node as u32,
        refused_capacity: state.metrics.refused_capacity_total(),
        socket_drops: state.sfu.socket_drops(),
    }
}

/// Sends [`message`] to every connected operator, in every meeting; nothing is read when
/// none is connected.
pub fn send(state: &AppState) {
    let operators: Vec<_> = state
        .peers
        .iter()
        .filter(|e| {
            let (meeting, site) = e.value();
            meeting.read(|m| m.site(site).is_some_and(|s| s.role == Role::Operator))
        })
        .map(|e| (*e.key(), e.value().0.clone(), e.value().1.clone()))
        .collect();
    if operators.is_empty() {
        return;
    }
    let msg = message(state);
    for (peer, meeting, site) in operators {
        let message = msg.clone();
        let notify = crate::meeting::link::Notify {
            site,
            peer,
            message,
        };
        let _ = meeting.apply(notify, state);
    }
}
