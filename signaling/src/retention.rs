//! Ended and expired meetings leave memory after the retention period (`[limits]
//! retention_seconds`).
//!
//! Decision: a retired meeting is dropped from the registry and its snapshot is deleted
//! (so a restart does not bring it back and its links stay dead), but its roll call stays in
//! `<data_dir>/attendance/` for good and `/attendance` keeps serving it from there; deleting
//! old roll calls is the operator's archive policy, not the server's. Until then it is still
//! listed, and its roll call is served from memory.

use std::sync::Arc;
use std::time::Duration;

use crate::state::AppState;

/// Whether a meeting ended at `ended_ms` (if it was) whose links expire at `expires_at_s`
/// is past the retention period at `now_ms`.
pub fn is_due(ended_ms: Option<u64>, expires_at_s: u64, now_ms: u64, retention: Duration) -> bool {
    let over = expires_at_s.saturating_mul(1000);
    let gone_ms = ended_ms.map_or(over, |e| e.min(over));
    now_ms >= gone_ms.saturating_add(retention.as_millis() as u64)
}

/// How often the sweep looks: often enough that a meeting does not stay much longer than
/// the period, never more than once every 100 ms.
pub fn sweep_interval(retention: Duration) -> Duration {
    (retention / 2).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Drops the meetings past their retention period, while the state lives.
pub fn spawn_sweep(state: &Arc<AppState>) {
    let retention = state.settings.limits.retention;
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_interval(retention));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let now_ms = crate::token::unix_now_ms();
            for m in state.meetings.all() {
                let ended_ms = m.read(crate::meeting::State::ended_ms);
                if !is_due(ended_ms, m.expires_at, now_ms, retention) {
                    continue;
                }
                if let Err(e) = m.apply_durable(crate::meeting::chair::Retire, &state) {
                    tracing::error!(meeting = %m.id, "cannot delete a retired meeting's snapshot: {e}");
                    continue;
                }
                state.meetings.remove(&m.id);
                tracing::info!(meeting = %m.id, "meeting left memory after the retention period");
            }
            state.metrics.meetings.set(state.meetings.active() as i64);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_meeting_is_due_one_retention_period_after_it_ended_or_expired() {
        let exp_s = 1_000_000;
        assert!(!is_due(None, exp_s, 500_000_000, DAY), "running");
        assert!(!is_due(Some(100_000), exp_s, 100_000 + 86_399_999, DAY));
        assert!(is_due(Some(100_000), exp_s, 100_000 + 86_400_000, DAY));
        assert!(
            !is_due(None, exp_s, exp_s * 1000 + 86_399_999, DAY),
            "expired, kept"
        );
        assert!(
            is_due(None, exp_s, exp_s * 1000 + 86_400_000, DAY),
            "expired, due"
        );
        assert!(is_due(Some(5), exp_s, 5, Duration::ZERO), "no retention");
    }

    #[test]
    fn the_sweep_looks_often_enough_but_not_too_often() {
        assert_eq!(sweep_interval(DAY), Duration::from_secs(60));
        assert_eq!(
            sweep_interval(Duration::from_secs(1)),
            Duration::from_millis(500)
        );
        assert_eq!(sweep_interval(Duration::ZERO), Duration::from_millis(100));
    }
}
