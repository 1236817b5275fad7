//! One timer that sends every light site's transport-cc feedback, as the pacer is one timer
//! for every publisher: hundreds of sites each with a 100 ms timer would cost a task wake-up
//! per site per feedback; one walk costs one wake-up per tick. Sites are spread over the
//! ticks of a period by a phase, so the SFU sees feedback arrive steadily.
//!
//! Lifecycle: a light site [`FeedbackClock::register`]s its first receive track with its
//! tap's [`Arrivals`]; the clock drops it when the connection refuses a write (closed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;

use super::twcc::Arrivals;

/// Clock period.
const TICK: Duration = Duration::from_millis(10);
/// Ticks between two feedbacks of one site: every 100 ms (libwebrtc: 50-250 ms by rate).
const EVERY: u64 = 10;

/// Where one site's feedback comes from and goes.
pub struct Entry {
    /// Any receive track of the site's peer connection: it holds the SRTCP keys.
    pub track: Arc<dyn TrackRemote>,
    /// What the site's tap saw.
    pub arrivals: Arc<Mutex<Arrivals>>,
    /// The site's own SSRC, as the feedback's sender.
    pub sender_ssrc: u32,
}

/// Handle to the clock task.
#[derive(Clone)]
pub struct FeedbackClock {
    tx: mpsc::UnboundedSender<Entry>,
}

impl FeedbackClock {
    /// Starts the clock on the current runtime; it ends when every handle is dropped and
    /// every site is gone.
    pub fn start() -> FeedbackClock {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx));
        FeedbackClock { tx }
    }

    /// Starts sending feedback for a site.
    pub fn register(&self, entry: Entry) {
        let _ = self.tx.send(entry);
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Entry>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sites: Vec<(Entry, u64)> = Vec::new();
    let mut next_phase = 0u64;
    let mut n = 0u64;
    loop {
        tick.tick().await;
        loop {
            match rx.try_recv() {
                Ok(entry) => {
                    sites.push((entry, next_phase));
                    next_phase = (next_phase + 1) % EVERY;
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) if sites.is_empty() => return,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        n += 1;
        let mut closed = Vec::new();
        for (i, (e, phase)) in sites.iter().enumerate() {
            if !(n + phase).is_multiple_of(EVERY) {
                continue;
            }
            let fb = e
                .arrivals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .feedback(e.sender_ssrc, 0);
            let Some(fb) = fb else { continue };
            if e.track.write_rtcp(vec![Box::new(fb)]).await.is_err() {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            sites.swap_remove(i);
        }
    }
}
