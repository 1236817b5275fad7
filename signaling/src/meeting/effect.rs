//! What a change of a meeting asks the world to do. The meeting's state machine
//! ([`super::State`]) only returns these; [`super::executor`] carries them out, in order, after
//! the state's lock is released.

use sfu::{PeerId, Subscription};

use crate::protocol::{Role, ServerMessage};
use crate::rollcall::Attendance;
use crate::store::Snapshot;

/// One thing to do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Queue `message` for the socket `session`.
    Send {
        /// The socket (a session id; a rejoin or resume moves a site to another).
        session: u64,
        /// What to send.
        message: ServerMessage,
    },
    /// Queue `message` for the socket `session`, then close it: it ends that socket's hold
    /// on its site (replaced, removed, ended, revoked, media lost).
    Close {
        /// The socket.
        session: u64,
        /// Its last message.
        message: ServerMessage,
    },
    /// `peer` is now `site`'s media connection: the node learns where the SFU's events about
    /// it go, and times its join.
    PeerAdded {
        /// The new connection.
        peer: PeerId,
        /// Whose it is.
        site: String,
    },
    /// The SFU closes `peer` and the node forgets it (the only place a connection is removed).
    RemovePeer(PeerId),
    /// What each receive slot of `peer` carries now.
    Subscribe {
        /// The subscriber.
        peer: PeerId,
        /// Every slot, in slot order.
        subscriptions: Vec<Subscription>,
    },
    /// Start (`Some(label)`: its files are named by it) or stop recording `peer`'s tracks.
    Record {
        /// The connection.
        peer: PeerId,
        /// The label of its files; `None` stops and closes them.
        label: Option<String>,
    },
    /// Keep the meeting (snapshot) and its roll call on disk.
    Persist {
        /// What a restart rebuilds it from and the roll call as of now.
        record: Box<Record>,
        /// Written before the caller answers (an acknowledged change), not queued.
        durable: bool,
    },
    /// Append a chat message to the meeting's chat file, before the sends that follow it.
    AppendChat(Box<super::chat::Line>),
    /// Delete the snapshot for good: a restart does not bring the meeting back.
    DeleteSnapshot,
    /// `site` left: its per-site metric series go.
    ForgetSiteMetrics {
        /// The site.
        site: String,
        /// Its role (a label of the series).
        role: Role,
    },
}

/// What [`Effect::Persist`] writes.
#[derive(Debug, Clone)]
pub struct Record {
    /// The meeting's snapshot.
    pub snapshot: Snapshot,
    /// Its roll call.
    pub attendance: Attendance,
}
