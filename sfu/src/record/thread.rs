//! The recorder thread: orders first, then packets; each meeting's bytes against its quota.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tracing::warn;

use super::track::TrackRec;
use super::{Control, Quota, RecEvent, RecPacket};
use crate::id::{PeerId, TrackKind};

/// One recorded publisher.
struct Publisher {
    meeting: String,
    dir: std::path::PathBuf,
    label: String,
    tracks: Vec<(TrackKind, TrackRec)>,
}

/// A meeting's bytes against its quota.
struct Usage {
    quota: Quota,
    warned: bool,
    stopped: bool,
}

struct State {
    publishers: HashMap<PeerId, Publisher>,
    usage: HashMap<String, Usage>,
    events: UnboundedSender<RecEvent>,
}

pub(super) fn run(
    packets: Receiver<RecPacket>,
    control: Receiver<Control>,
    events: UnboundedSender<RecEvent>,
) {
    let mut s = State {
        publishers: HashMap::new(),
        usage: HashMap::new(),
        events,
    };
    loop {
        loop {
            match control.try_recv() {
                Ok(c) => {
                    // What was queued before a stop or a flush goes first: it keeps every
                    // packet handed over before it. (A start comes before its packets.)
                    if !matches!(c, Control::Start { .. }) {
                        while let Ok(p) = packets.try_recv() {
                            s.packet(&p);
                        }
                    }
                    s.control(c)
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    s.close_all();
                    return;
                }
            }
        }
        match packets.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => s.packet(&p),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                // No media thread left: only orders can come.
                match control.recv() {
                    Ok(c) => s.control(c),
                    Err(_) => {
                        s.close_all();
                        return;
                    }
                }
            }
        }
    }
}

impl State {
    fn control(&mut self, c: Control) {
        match c {
            Control::Start {
                peer,
                meeting,
                dir,
                label,
                quota,
            } => {
                self.usage.insert(
                    meeting.clone(),
                    Usage {
                        quota,
                        warned: false,
                        stopped: false,
                    },
                );
                if let Some(mut old) = self.publishers.remove(&peer) {
                    close(&mut old);
                }
                self.publishers.insert(
                    peer,
                    Publisher {
                        meeting,
                        dir,
                        label,
                        tracks: Vec::new(),
                    },
                );
            }
            Control::Stop { peer } => {
                if let Some(mut p) = self.publishers.remove(&peer) {
                    close(&mut p);
                }
            }
            Control::Flush { done } => {
                for p in self.publishers.values_mut() {
                    close(p);
                }
                let _ = done.send(());
            }
        }
    }

    fn close_all(&mut self) {
        for p in self.publishers.values_mut() {
            close(p);
        }
    }

    fn packet(&mut self, p: &RecPacket) {
        let Some(publisher) = self.publishers.get_mut(&p.peer) else {
            return;
        };
        let Some(usage) = self.usage.get_mut(&publisher.meeting) else {
            return;
        };
        if usage.stopped {
            return;
        }
        let i = match publisher.tracks.iter().position(|(k, _)| *k == p.kind) {
            Some(i) => i,
            None => {
                let stem = format!("{}-{}", publisher.label, kind_name(p.kind));
                let t = TrackRec::new(&publisher.dir, stem, !p.kind.is_audio());
                publisher.tracks.push((p.kind, t));
                publisher.tracks.len() - 1
            }
        };
        let meeting = publisher.meeting.clone();
        match publisher.tracks[i].1.packet(p) {
            Ok(added) => self.count(&meeting, added),
            Err(e) => {
                warn!(%meeting, error = %e, "recording failed");
                let _ = self.events.send(RecEvent::Failed {
                    meeting: meeting.clone(),
                    reason: e.kind().to_string(),
                });
                self.stop_meeting(&meeting);
            }
        }
    }

    fn count(&mut self, meeting: &str, added: u64) {
        let Some(u) = self.usage.get_mut(meeting) else {
            return;
        };
        u.quota.used += added;
        let (used, limit) = (u.quota.used, u.quota.limit);
        if limit == 0 {
            return;
        }
        if used >= limit {
            u.stopped = true;
            let _ = self.events.send(RecEvent::QuotaReached {
                meeting: meeting.to_owned(),
                used,
                limit,
            });
            self.stop_meeting(meeting);
        } else if !u.warned && used >= limit / 10 * 9 {
            u.warned = true;
            let _ = self.events.send(RecEvent::QuotaWarning {
                meeting: meeting.to_owned(),
                used,
                limit,
            });
        }
    }

    fn stop_meeting(&mut self, meeting: &str) {
        if let Some(u) = self.usage.get_mut(meeting) {
            u.stopped = true;
        }
        let peers: Vec<PeerId> = self
            .publishers
            .iter()
            .filter(|(_, p)| p.meeting == meeting)
            .map(|(id, _)| *id)
            .collect();
        for id in peers {
            if let Some(mut p) = self.publishers.remove(&id) {
                close(&mut p);
            }
        }
    }
}

fn close(p: &mut Publisher) {
    for (_, t) in &mut p.tracks {
        if let Err(e) = t.finish() {
            warn!(meeting = %p.meeting, error = %e, "closing a recording failed");
        }
    }
    p.tracks.clear();
}

/// The kind's part of a file name.
pub fn kind_name(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Audio => "audio",
        TrackKind::Camera => "camera",
        TrackKind::Screen => "screen",
        // A program track that came over a relay link from the origin node.
        TrackKind::Relayed { audio: true, .. } => "relayed-audio",
        TrackKind::Relayed { audio: false, .. } => "relayed-video",
    }
}
