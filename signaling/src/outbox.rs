//! A session's outgoing queue, bounded: a participant whose browser stops reading (a stuck
//! tab, a link that takes bytes in but delivers nothing) is cut off once [`CAPACITY`]
//! messages wait, instead of growing the server's memory for ever. Senders never wait: the
//! meeting's executor pushes with [`Outbox::send`], and a full queue only marks the session,
//! which its own task then closes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use crate::protocol::ServerMessage;

/// What a session's outgoing queue carries.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Send this message, then close the socket.
    Close(ServerMessage),
    /// Send nothing more until this is on the disk: the messages behind it answer a change
    /// that is acknowledged by being told (a chair's lock, a granted floor).
    Wait(crate::durable::Flushed),
}

/// Messages a session may have waiting. A burst after joining (the roster, the marks and
/// line checks of 400 sites for the chair) stays well under it; a reader that stopped
/// reaches it within seconds of a busy meeting.
pub const CAPACITY: usize = 4096;

#[derive(Debug, Default)]
struct Overflow {
    full: AtomicBool,
    notify: Notify,
}

/// The sending side, cloned into the meeting.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    overflow: Arc<Overflow>,
}

/// The receiving side, owned by the session task.
#[derive(Debug)]
pub struct Inbox {
    rx: mpsc::Receiver<Outbound>,
    overflow: Arc<Overflow>,
}

/// The message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotQueued {
    /// The queue is full: the session is being cut off.
    Full,
    /// The session has ended.
    Closed,
}

/// A queue of `capacity` messages.
pub fn outbox(capacity: usize) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(capacity);
    let overflow = Arc::new(Overflow::default());
    (
        Outbox {
            tx,
            overflow: overflow.clone(),
        },
        Inbox { rx, overflow },
    )
}

impl Outbox {
    /// Queues `m` without waiting; a full queue marks the session for closing.
    pub fn send(&self, m: Outbound) -> Result<(), NotQueued> {
        match self.tx.try_send(m) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow.full.store(true, Ordering::Relaxed);
                self.overflow.notify.notify_one();
                Err(NotQueued::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(NotQueued::Closed),
        }
    }
}

impl Inbox {
    /// The next message (`None`: every sender is gone).
    pub async fn recv(&mut self) -> Option<Outbound> {
        self.rx.recv().await
    }

    /// A message already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.rx.try_recv().ok()
    }

    /// A handle that completes once the queue has overflowed.
    pub fn overflow(&self) -> Overflowed {
        Overflowed(self.overflow.clone())
    }
}

/// Waits for a queue's overflow (see [`Inbox::overflow`]).
#[derive(Debug, Clone)]
pub struct Overflowed(Arc<Overflow>);

impl Overflowed {
    /// Completes once the queue has overflowed.
    pub async fn wait(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.0.full.load(Ordering::Relaxed) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_and_signals_without_waiting() {
        let (tx, mut rx) = outbox(2);
        assert_eq!(
            tx.send(Outbound::Message(ServerMessage::Pong { id: 1 })),
            Ok(())
        );
        assert_eq!(
            tx.send(Outbound::Message(ServerMessage::Pong { id: 2 })),
            Ok(())
        );
        assert_eq!(
            tx.send(Outbound::Message(ServerMessage::Pong { id: 3 })),
            Err(NotQueued::Full)
        );
        tokio::time::timeout(std::time::Duration::from_secs(1), rx.overflow().wait())
            .await
            .expect("overflow signalled");
        assert!(matches!(
            rx.recv().await,
            Some(Outbound::Message(ServerMessage::Pong { id: 1 }))
        ));
        drop(rx);
        assert_eq!(
            tx.send(Outbound::Message(ServerMessage::Pong { id: 4 })),
            Err(NotQueued::Closed)
        );
    }
}
