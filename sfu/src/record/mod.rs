//! Recording the program: the media thread hands copies of recorded tracks' packets to a
//! recorder thread (bounded queue; when it is full the packet is counted and dropped, the
//! media thread never waits), which writes each track as it arrives, without transcoding,
//! to WebM files under the meeting's folder.
//!
//! - `ebml.rs`, `webm.rs`: the file format; clusters written whole and synced, a killed
//!   writer's file cut clean by [`webm::recover`];
//! - `depack.rs`: VP8 frames out of RTP packets (pure);
//! - `track.rs`: one track's segments;
//! - this file: the thread, its queues and the disk quota of each meeting.

pub mod depack;
pub mod ebml;
mod thread;
pub mod track;
pub mod webm;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::mpsc::UnboundedSender;

use crate::id::{PeerId, TrackKind};

/// Packets the recorder thread may have queued before the media thread drops new ones
/// (about 3 s of two HD cameras and their audio).
pub const QUEUE_PACKETS: usize = 4096;

/// A copy of one packet of a recorded track.
#[derive(Debug, Clone)]
pub struct RecPacket {
    /// The publisher.
    pub peer: PeerId,
    /// Which of its tracks.
    pub kind: TrackKind,
    /// RTP clock rate, Hz.
    pub clock_rate: u32,
    /// Extended sequence number (of the layer being recorded).
    pub seq: u64,
    /// RTP timestamp.
    pub ts: u32,
    /// The RTP marker bit (last packet of a video frame).
    pub marker: bool,
    /// The payload, copied.
    pub payload: Vec<u8>,
}

/// A meeting's disk allowance for recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Bytes the meeting's recordings may take (0: no limit).
    pub limit: u64,
    /// Bytes they take already (earlier recordings).
    pub used: u64,
}

/// What the recorder tells signaling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecEvent {
    /// The meeting's recordings passed 90 % of its quota (once per start).
    QuotaWarning {
        /// The meeting.
        meeting: String,
        /// Bytes used.
        used: u64,
        /// The quota.
        limit: u64,
    },
    /// The quota is reached: every track of the meeting was closed and nothing more is
    /// written until recording starts again.
    QuotaReached {
        /// The meeting.
        meeting: String,
        /// Bytes used.
        used: u64,
        /// The quota.
        limit: u64,
    },
    /// Writing failed (disk full, folder gone): the meeting's recording stopped.
    Failed {
        /// The meeting.
        meeting: String,
        /// What failed, without paths.
        reason: String,
    },
}

/// Orders for the recorder thread (never dropped, unlike packets).
#[derive(Debug)]
pub(crate) enum Control {
    Start {
        peer: PeerId,
        meeting: String,
        dir: PathBuf,
        label: String,
        quota: Quota,
    },
    Stop {
        peer: PeerId,
    },
    /// Closes every file; answered when done.
    Flush {
        done: std::sync::mpsc::Sender<()>,
    },
}

/// The media thread's end: hands packets over without waiting.
#[derive(Debug, Clone)]
pub struct RecTap {
    packets: mpsc::SyncSender<RecPacket>,
    dropped: Arc<AtomicU64>,
}

impl RecTap {
    /// Queues a packet; `false` (and counted) when the queue is full or the thread gone.
    pub fn offer(&self, packet: RecPacket) -> bool {
        if self.packets.try_send(packet).is_ok() {
            return true;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }
}

/// The recorder thread and its queues.
#[derive(Debug)]
pub struct Recorder {
    tap: RecTap,
    control: mpsc::Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl Recorder {
    /// Starts the thread `diemcau-record` with a packet queue of `capacity`.
    pub fn spawn(capacity: usize, events: UnboundedSender<RecEvent>) -> std::io::Result<Recorder> {
        let (packets, packets_rx) = mpsc::sync_channel(capacity);
        let (control, control_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("diemcau-record".into())
            .spawn(move || thread::run(packets_rx, control_rx, events))?;
        Ok(Recorder {
            tap: RecTap {
                packets,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            control,
            thread: Some(thread),
        })
    }

    /// The media thread's end.
    pub fn tap(&self) -> RecTap {
        self.tap.clone()
    }

    /// Packets dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.tap.dropped.load(Ordering::Relaxed)
    }

    /// Writes `peer`'s recorded tracks into `dir` (files `<label>-<kind>-<ms>.webm`).
    pub fn start(&self, peer: PeerId, meeting: &str, dir: PathBuf, label: &str, quota: Quota) {
        let _ = self.control.send(Control::Start {
            peer,
            meeting: meeting.to_owned(),
            dir,
            label: label.to_owned(),
            quota,
        });
    }

    /// Closes `peer`'s files.
    pub fn stop(&self, peer: PeerId) {
        let _ = self.control.send(Control::Stop { peer });
    }

    /// Closes every open file and waits until they are on disk (at most `wait`).
    pub fn flush(&self, wait: std::time::Duration) -> bool {
        let (done, rx) = mpsc::channel();
        self.control.send(Control::Flush { done }).is_ok() && rx.recv_timeout(wait).is_ok()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let (done, _rx) = mpsc::channel();
        let _ = self.control.send(Control::Flush { done });
        // The thread ends when the control queue closes; the taps may outlive us.
        let (tx, _) = mpsc::channel();
        self.control = tx;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
