//! When a subscriber's bandwidth estimator has stalled on a link that is clean again, and
//! must be restarted for video to come back or climb.
//!
//! Why (str0m 0.25, traced on the simulated network, `sfu/tests/estimator.rs`): after a weak
//! spell str0m's loss-based controller can stay in its decreasing state, holding the estimate
//! at one exact value (its "hold", whose length doubles with each new decrease up to 60 s,
//! `bwe/loss_controller.rs`), and its probe controller refuses every probe while the last
//! bandwidth-limited cause it was given is loss-limited (`can_probe` in
//! `bwe/probe/control.rs`); that cause is handed over only when the estimate's value changes.
//! With video paused, audio alone cannot lift the delay-based estimate either: it stays
//! under 1.5 times the acknowledged rate plus 10 kbit/s (about 110 kbit/s,
//! `bwe/delay/rate_control.rs`). Seen: 110 426 bit/s for 55 s on a clear line (loss 0, round
//! trip at the link's own), video never back; and on the low layer 286 897 bit/s for 5 s,
//! high 16.4 s after the line recovered. The desired-rate rises that re-arm probes are all
//! refused. str0m 0.25 has no public way to re-read that state (`rtc.bwe()` offers
//! `set_bitrate` and `reset` only), and padding up to the estimate did not move it (a first
//! version padded a paused link that reported clean: 197 290 bit/s for 55 s all the same);
//! `rtc.bwe().reset` starts a fresh estimator from a given estimate, which probes at once
//! (3 and 6 times it) and then climbs.
//!
//! The restart is a strong lever, so it is kept to the stall's own evidence:
//! - the subscriber gets less than its best and its estimate is below the next step up (for
//!   a paused slot: resuming video), with no cap from an overfull link;
//! - the link proved clean at [`CLEAN_REPORTS`] stats in a row: no loss at all (under
//!   [`CLEAN_LOSS`]) and the round trip within [`CLEAN_QUEUE`] of the link's own. Random loss
//!   of a few percent is not clean: a first version that took "under 2%" restarted on a
//!   300 kbit/s line with 3% loss (1.2-1.4% in some seconds);
//! - the estimate stood at the very same value at [`STILL_REPORTS`] stats in a row after
//!   the first (a live estimator's moves with each feedback);
//! - not again before a back-off ([`RESTART_BACKOFF`], doubling up to
//!   [`RESTART_BACKOFF_MAX`] while the estimate stays short): a restart on a line still short
//!   of the next step costs a few probe bursts, not one every few seconds. A restart does not
//!   use up the pause: that first version allowed one per pause, spent it on the weak line,
//!   and left the recovered line stalled for good (the 300 kbit/s recovery failed 1 run in 4).
//!
//! Pure: no str0m, no clock; [`crate::downlink::Downlink`] feeds it.

use std::time::{Duration, Instant};

/// Loss under which a stats report counts as clean: none at all (a report covers about 50
/// audio packets a second; one lost is 2%).
pub const CLEAN_LOSS: f64 = 0.005;
/// Round trip above the link's own under which a stats report counts as clean: no queue.
pub const CLEAN_QUEUE: Duration = Duration::from_millis(50);
/// Clean stats reports in a row that prove the link recovered.
pub const CLEAN_REPORTS: u32 = 2;
/// Stats reports in a row, after the first, at which the estimate had the very same value.
pub const STILL_REPORTS: u32 = 2;
/// The least time between two restarts during one pause; it doubles with each restart.
pub const RESTART_BACKOFF: Duration = Duration::from_secs(10);
/// The most the time between two restarts grows to.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Watches one subscriber's stats for a stalled estimator (see the module doc).
#[derive(Debug, Clone)]
pub struct Stall {
    /// Clean stats reports in a row.
    clean: u32,
    /// A report that was not clean came at some time.
    unclean_seen: bool,
    /// Stats reports in a row whose estimate equalled the one before.
    still: u32,
    /// The estimate at the last stats report, bit/s.
    last_estimate: Option<u64>,
    /// No restart before this (set by the last restart of the current pause).
    not_before: Option<Instant>,
    /// Time to wait after the next restart.
    backoff: Duration,
}

impl Default for Stall {
    fn default() -> Self {
        Stall {
            clean: 0,
            unclean_seen: false,
            still: 0,
            last_estimate: None,
            not_before: None,
            backoff: RESTART_BACKOFF,
        }
    }
}

impl Stall {
    /// Records one stats report: the loss figure (`None`: no receiver report came back), the
    /// round trip above the link's own (`None`: no round trip), and the estimator's estimate
    /// at that time, bit/s.
    pub fn on_stats(&mut self, loss: Option<f64>, queue: Option<Duration>, estimate_bps: u64) {
        let clean = loss.is_some_and(|l| l < CLEAN_LOSS) && queue.is_some_and(|q| q < CLEAN_QUEUE);
        self.clean = if clean {
            self.clean.saturating_add(1)
        } else {
            self.unclean_seen = true;
            0
        };
        self.still = if self.last_estimate == Some(estimate_bps) {
            self.still.saturating_add(1)
        } else {
            0
        };
        self.last_estimate = Some(estimate_bps);
    }

    /// Whether a stats report showed loss or a queue (or no figures) and the link has not
    /// proved clean since ([`CLEAN_REPORTS`] clean reports in a row): a line with no room to
    /// spare, where a probe takes what audio needs. False before any report.
    pub fn unclean(&self) -> bool {
        self.unclean_seen && self.clean < CLEAN_REPORTS
    }

    /// At a selection tick at `now`: whether to restart the estimator now. `short`: the
    /// subscriber gets less than its best, its estimate is below the next step up (for a
    /// paused slot: resuming video), and no cap from an overfull link holds.
    pub fn restart_due(&mut self, short: bool, now: Instant) -> bool {
        if !short {
            // The estimate climbed (or nothing more is wanted): a later stall starts afresh.
            self.not_before = None;
            self.backoff = RESTART_BACKOFF;
            return false;
        }
        let due = self.clean >= CLEAN_REPORTS
            && self.still >= STILL_REPORTS
            && self.not_before.is_none_or(|t| now >= t);
        if due {
            self.not_before = Some(now + self.backoff);
            self.backoff = (self.backoff * 2).min(RESTART_BACKOFF_MAX);
            // The next restart needs the new estimator to stall in its turn.
            self.still = 0;
            self.last_estimate = None;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUND: Duration = Duration::from_millis(2);

    /// `n` stats reports with `loss`, queue `queue` and the estimate `bps`.
    fn reports(s: &mut Stall, n: u32, loss: Option<f64>, queue: Option<Duration>, bps: u64) {
        for _ in 0..n {
            s.on_stats(loss, queue, bps);
        }
    }

    #[test]
    fn a_still_estimate_on_a_clean_link_short_of_the_next_step_restarts_after_three_reports() {
        let t0 = Instant::now();
        let mut s = Stall::default();
        reports(&mut s, 2, Some(0.0), Some(ROUND), 110_426);
        assert!(!s.restart_due(true, t0), "one repeat is not yet still");
        reports(&mut s, 1, Some(0.0), Some(ROUND), 110_426);
        assert!(s.restart_due(true, t0), "three equal estimates, clean");
        assert!(!s.restart_due(true, t0), "once, not every tick");
    }

    #[test]
    fn random_loss_a_queue_or_no_report_is_not_clean() {
        let t0 = Instant::now();
        for (loss, queue) in [
            (Some(0.012), Some(ROUND)),
            (None, Some(ROUND)),
            (Some(0.0), Some(Duration::from_millis(60))),
            (Some(0.0), None),
        ] {
            let mut s = Stall::default();
            reports(&mut s, 10, loss, queue, 110_426);
            assert!(
                !s.restart_due(true, t0),
                "restarted with loss {loss:?}, queue {queue:?}"
            );
        }
        // Clean reports interrupted by one lossy one start the count again.
        let mut s = Stall::default();
        reports(&mut s, 5, Some(0.0), Some(ROUND), 110_426);
        reports(&mut s, 1, Some(0.03), Some(ROUND), 110_426);
        reports(&mut s, 1, Some(0.0), Some(ROUND), 110_426);
        assert!(!s.restart_due(true, t0));
    }

    #[test]
    fn a_moving_estimate_or_one_that_affords_the_next_step_is_no_stall() {
        let t0 = Instant::now();
        let mut s = Stall::default();
        for bps in [72_735, 80_980, 110_426, 120_000] {
            reports(&mut s, 1, Some(0.0), Some(ROUND), bps);
        }
        assert!(!s.restart_due(true, t0), "the estimate moves");
        let mut s = Stall::default();
        reports(&mut s, 10, Some(0.0), Some(ROUND), 110_426);
        assert!(
            !s.restart_due(false, t0),
            "the estimate affords the next step up"
        );
    }

    #[test]
    fn restarts_back_off_while_short_and_start_over_once_the_estimate_climbs() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut s = Stall::default();
        let mut restarts = Vec::new();
        // Clean and still for 200 s: the fresh estimator stalls again every time.
        for sec in 0..200 {
            reports(&mut s, 1, Some(0.0), Some(ROUND), 110_000);
            if s.restart_due(true, at(sec)) {
                restarts.push(sec);
            }
        }
        assert_eq!(
            restarts,
            vec![2, 12, 32, 72, 132, 192],
            "10, 20, 40, 60, 60 s apart"
        );
        // The estimate climbed, then stalled short again: the next restart need not wait.
        assert!(!s.restart_due(false, at(200)));
        reports(&mut s, 3, Some(0.0), Some(ROUND), 110_000);
        assert!(s.restart_due(true, at(201)));
    }
}
