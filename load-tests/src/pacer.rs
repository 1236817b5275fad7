//! One timer for every publisher in the process: every [`TICK`] the pacer task walks the
//! registered publishers and writes the audio and camera frames that are due.
//!
//! Why one task: hundreds of sites each with their own 20 ms and 40 ms timers would cost a
//! task wake-up per frame per site; one walk costs one wake-up per tick. Sites are spread over
//! the ticks of a frame period by a phase, so the SFU sees a steady stream, not a burst every
//! 20 ms. RTP timestamps follow the ideal frame clock, so a late tick shows up as jitter and
//! latency, as it would for a browser on a loaded machine; [`PacerStats`] reports how late.
//!
//! Lifecycle: a site [`Pacer::register`]s once its connection is up and flips its
//! [`Publisher`] controls (layers wanted, keyframe requests, stop) from its own task; the
//! pacer drops a publisher whose `stopped` is set.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

use crate::clock;
use crate::payload::Layer;
use crate::synth::{AudioSynth, VideoSynth};

/// Pacer period.
pub const TICK: Duration = Duration::from_millis(10);
/// Ticks per 20 ms audio frame.
const AUDIO_EVERY: u64 = 2;
/// Ticks per 40 ms camera frame (25 fps).
const VIDEO_EVERY: u64 = 4;
/// `max_layer` of a camera that sends nothing: a light site nobody watches.
const CAMERA_OFF: u8 = u8::MAX;

/// Controls a site flips while the pacer sends for it. Atomics: written by the site's task,
/// read once per frame by the pacer, never locked.
#[derive(Debug)]
pub struct Publisher {
    /// Highest camera layer to encode (index); the lowest is always on, as in the web client.
    max_layer: AtomicU8,
    /// A keyframe was requested per layer.
    keyframe: [AtomicBool; 3],
    /// Whether the microphone sends.
    mic: AtomicBool,
    /// The site left: the pacer forgets it.
    stopped: AtomicBool,
    /// Whether "nobody watches" stops the camera (see [`Publisher::pausing`]).
    pause_unwatched: bool,
}

impl Publisher {
    /// Controls for a site sending all three layers and its microphone.
    pub fn new(mic: bool) -> Arc<Publisher> {
        Arc::new(Publisher {
            max_layer: AtomicU8::new(Layer::High as u8),
            keyframe: Default::default(),
            mic: AtomicBool::new(mic),
            stopped: AtomicBool::new(false),
            pause_unwatched: false,
        })
    }

    /// Controls for a light site: as [`Publisher::new`], but when the SFU says nobody
    /// receives its camera (`layers` `none`) it sends no video at all until someone does,
    /// then starts on a keyframe. The web client keeps its lowest layer on; a light site
    /// does not, because 400 sites' unwatched low layers are a quarter of what the generator
    /// publishes and nothing downstream of the SFU sees them. The SFU's ingress is lighter
    /// by as much (say so beside its figures).
    pub fn pausing(mic: bool) -> Arc<Publisher> {
        let mut p = Publisher::new(mic);
        if let Some(p) = Arc::get_mut(&mut p) {
            p.pause_unwatched = true;
        }
        p
    }

    /// Encode layers up to `max` (the SFU's `layers` message); `None` keeps only the lowest.
    pub fn set_max_layer(&self, max: Option<Layer>) {
        let v = match max {
            Some(layer) => layer as u8,
            None if self.pause_unwatched => CAMERA_OFF,
            None => Layer::Low as u8,
        };
        self.max_layer.store(v, Ordering::Relaxed);
    }

    /// A PLI/FIR for `layer` arrived.
    pub fn request_keyframe(&self, layer: Layer) {
        self.keyframe[layer.index()].store(true, Ordering::Relaxed);
    }

    /// Stop sending for good.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

/// Everything the pacer needs to send for one site.
pub struct Entry {
    /// The site's controls.
    pub control: Arc<Publisher>,
    /// Microphone track.
    pub mic: Arc<TrackLocalStaticRTP>,
    /// Camera track.
    pub camera: Arc<TrackLocalStaticRTP>,
    /// Audio encoder.
    pub audio: AudioSynth,
    /// Camera encoders, lowest layer first.
    pub video: [VideoSynth; 3],
}

/// What the pacer did, for the report.
#[derive(Debug, Default)]
pub struct PacerStats {
    /// RTP packets handed to peer connections.
    pub packets: AtomicU64,
    /// Writes refused (connection closing).
    pub write_errors: AtomicU64,
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks that started more than one tick late.
    pub late_ticks: AtomicU64,
    /// Worst lateness of a tick, microseconds.
    pub worst_lag_us: AtomicU64,
}

/// Handle to the pacer task.
#[derive(Clone)]
pub struct Pacer {
    tx: mpsc::UnboundedSender<Entry>,
    /// Counters.
    pub stats: Arc<PacerStats>,
}

impl Pacer {
    /// Starts the pacer task on the current runtime; it ends when every handle is dropped.
    pub fn start() -> Pacer {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(PacerStats::default());
        tokio::spawn(run(rx, stats.clone()));
        Pacer { tx, stats }
    }

    /// Starts sending for a site.
    pub fn register(&self, entry: Entry) {
        let _ = self.tx.send(entry);
    }
}

struct Slot {
    entry: Entry,
    phase: u64,
    on: [bool; 3],
}

async fn run(mut rx: mpsc::UnboundedReceiver<Entry>, stats: Arc<PacerStats>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut slots: Vec<Slot> = Vec::new();
    let mut next_phase = 0u64;
    let mut n = 0u64;
    let mut packets = Vec::new();
    loop {
        let at = tick.tick().await;
        let lag = at.elapsed().as_micros() as u64;
        stats.ticks.fetch_add(1, Ordering::Relaxed);
        if lag > TICK.as_micros() as u64 {
            stats.late_ticks.fetch_add(1, Ordering::Relaxed);
        }
        stats.worst_lag_us.fetch_max(lag, Ordering::Relaxed);
        loop {
            match rx.try_recv() {
                Ok(entry) => {
                    slots.push(Slot {
                        entry,
                        phase: next_phase,
                        on: [false; 3],
                    });
                    next_phase = (next_phase + 1) % VIDEO_EVERY;
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) if slots.is_empty() => return,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
        slots.retain(|s| !s.entry.control.stopped.load(Ordering::Relaxed));
        n += 1;
        let mut sent = 0u64;
        let mut errors = 0u64;
        for s in &mut slots {
            let e = &mut s.entry;
            let now = clock::micros();
            if (n + s.phase).is_multiple_of(AUDIO_EVERY) && e.control.mic.load(Ordering::Relaxed) {
                let p = e.audio.frame(now);
                match e.mic.write_rtp(p).await {
                    Ok(()) => sent += 1,
                    Err(_) => errors += 1,
                }
            }
            if !(n + s.phase).is_multiple_of(VIDEO_EVERY) {
                continue;
            }
            let max = e.control.max_layer.load(Ordering::Relaxed);
            for layer in Layer::ALL {
                let i = layer.index();
                let wanted = max != CAMERA_OFF && (i == 0 || i as u8 <= max);
                let synth = &mut e.video[i];
                if !wanted {
                    s.on[i] = false;
                    synth.skip();
                    continue;
                }
                if !s.on[i] || e.control.keyframe[i].swap(false, Ordering::Relaxed) {
                    synth.request_keyframe();
                }
                s.on[i] = true;
                synth.frame(now, &mut packets);
            }
            for p in packets.drain(..) {
                match e.camera.write_rtp(p).await {
                    Ok(()) => sent += 1,
                    Err(_) => errors += 1,
                }
            }
        }
        stats.packets.fetch_add(sent, Ordering::Relaxed);
        stats.write_errors.fetch_add(errors, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(p: &Publisher) -> u8 {
        p.max_layer.load(Ordering::Relaxed)
    }

    #[test]
    fn a_light_site_stops_its_camera_when_nobody_watches_and_a_full_one_keeps_low() {
        let light = Publisher::pausing(true);
        let full = Publisher::new(true);
        assert_eq!(camera(&light), Layer::High as u8, "all layers until told");
        for p in [&light, &full] {
            p.set_max_layer(Some(Layer::Mid));
            assert_eq!(camera(p), Layer::Mid as u8);
        }
        light.set_max_layer(None);
        full.set_max_layer(None);
        assert_eq!(camera(&light), CAMERA_OFF);
        assert_eq!(camera(&full), Layer::Low as u8);
        light.set_max_layer(Some(Layer::Low));
        assert_eq!(camera(&light), Layer::Low as u8, "watched again: back on");
    }
}
