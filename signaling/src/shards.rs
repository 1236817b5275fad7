//! Which media shard serves a meeting (`media.shards`): the least loaded by peers when its
//! first site offers, then the same one for the meeting's life, so every peer of a meeting
//! (a resumed one too) lands where its sources are: the SFU forwards only within a shard.

use crate::meeting::{Meeting, State};
use crate::state::AppState;

/// The shard for a new meeting: fewest peers, then fewest meetings placed (meetings placed
/// at the same moment have no peers yet), then the lowest number.
pub fn least_loaded(peers: &[usize], meetings: &[usize]) -> usize {
    (0..peers.len())
        .min_by_key(|&s| (peers[s], meetings.get(s).copied().unwrap_or(0), s))
        .unwrap_or(0)
}

/// The shard serving `meeting`, placing it on first use.
pub fn of_meeting(state: &AppState, meeting: &Meeting) -> usize {
    let shards = state.sfu.shards();
    if shards <= 1 {
        return 0;
    }
    if let Some(&s) = meeting.shard.get() {
        return s;
    }
    let _placing = state
        .shard_placing
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    *meeting.shard.get_or_init(|| {
        let mut meetings = vec![0; shards];
        for m in state.meetings.all() {
            if let Some(&s) = m.shard.get().filter(|_| !m.read(State::is_ended)) {
                if let Some(n) = meetings.get_mut(s) {
                    *n += 1;
                }
            }
        }
        least_loaded(&state.sfu.shard_peers(), &meetings)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_meeting_goes_to_the_shard_with_fewest_peers() {
        assert_eq!(least_loaded(&[120, 40, 80], &[1, 3, 1]), 1);
        assert_eq!(least_loaded(&[0, 5], &[0, 1]), 0);
    }

    #[test]
    fn meetings_placed_at_once_spread_before_their_peers_arrive() {
        assert_eq!(least_loaded(&[0, 0], &[1, 0]), 1);
        assert_eq!(least_loaded(&[0, 0, 0], &[1, 1, 0]), 2);
        assert_eq!(
            least_loaded(&[7, 7], &[2, 2]),
            0,
            "a tie goes to the lowest"
        );
    }

    fn state_with_shards(shards: usize) -> AppState {
        let registry = prometheus::Registry::new();
        let config = sfu::SfuConfig {
            bind: "127.0.0.1:0".parse().expect("an address"),
            announce_ip: None,
            tcp_bind: None,
            priority_boost: 0,
        };
        let (sfu, _events) =
            sfu::Sfu::start_sharded(config, shards, &registry).expect("the media plane starts");
        let settings = crate::Settings {
            public_url: "http://127.0.0.1:1".into(),
            admin_key: "shards-admin-key-0123456789".into(),
            token_secret: b"shards-token-secret-0123456789abcdef".to_vec(),
            ice_servers: Vec::new(),
            data_dir: None,
            separate_metrics: false,
            turn: None,
            drain_timeout: std::time::Duration::ZERO,
            limits: crate::limits::Limits::default(),
            behind_proxy: false,
            trusted_proxies: Vec::new(),
            relay: None,
        };
        AppState::new(settings, std::sync::Arc::new(sfu), registry).expect("the state")
    }

    fn meeting(state: &AppState, id: &str) -> std::sync::Arc<Meeting> {
        state.meetings.insert(Meeting::new(
            State::new(
                id.into(),
                format!("Họp {id}"),
                u64::MAX / 2,
                Vec::new(),
                crate::meeting::MeetingOptions::default(),
                false,
            ),
            None,
        ))
    }

    #[test]
    fn meetings_spread_over_the_shards_and_each_keeps_its_own() {
        let state = state_with_shards(2);
        let (a, b, c) = (
            meeting(&state, "a"),
            meeting(&state, "b"),
            meeting(&state, "c"),
        );
        assert_eq!(of_meeting(&state, &a), 0);
        assert_eq!(
            of_meeting(&state, &b),
            1,
            "the other shard, before any peer"
        );
        assert_eq!(of_meeting(&state, &c), 0, "a tie goes to the lowest");
        // Asked again (a resumed or re-offering peer), each meeting keeps its shard.
        assert_eq!(of_meeting(&state, &b), 1);
        assert_eq!(of_meeting(&state, &a), 0);
        state.sfu.shutdown();
    }

    #[test]
    fn with_one_shard_every_meeting_is_on_shard_zero() {
        let state = state_with_shards(1);
        for id in ["a", "b"] {
            assert_eq!(of_meeting(&state, &meeting(&state, id)), 0);
        }
        state.sfu.shutdown();
    }

    #[test]
    fn one_shard_takes_everything() {
        assert_eq!(least_loaded(&[500], &[9]), 0);
        assert_eq!(least_loaded(&[], &[]), 0);
    }
}
