//! One signaling socket as the tests drive it: typed messages out, every server message in.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use load_tests::site::invite::Invite;
use signaling::protocol::{ClientMessage, ServerMessage, PROTOCOL_VERSION};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// One signaling socket: messages out, every server message in.
pub struct Ws {
    tx: mpsc::UnboundedSender<ClientMessage>,
    rx: mpsc::UnboundedReceiver<ServerMessage>,
}

impl Ws {
    pub async fn join(invite: &Invite) -> Ws {
        let url = invite
            .ws_url
            .clone()
            .expect("a diemcau invite names its socket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let (mut sink, mut stream) = ws.split();
        let (tx, mut out) = mpsc::unbounded_channel::<ClientMessage>();
        let (inbox, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    m = out.recv() => match m {
                        Some(m) => {
                            let text = serde_json::to_string(&m).unwrap();
                            if sink.send(Message::Text(text.into())).await.is_err() { break }
                        }
                        None => break,
                    },
                    f = stream.next() => match f {
                        Some(Ok(Message::Text(t))) => {
                            if let Ok(m) = serde_json::from_str::<ServerMessage>(&t) {
                                let _ = inbox.send(m);
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
        });
        let ws = Ws { tx, rx };
        ws.send(ClientMessage::Join {
            v: PROTOCOL_VERSION,
            token: invite.token.clone(),
            resume: None,
        });
        ws
    }

    pub fn send(&self, m: ClientMessage) {
        self.tx.send(m).unwrap();
    }

    /// The next message `pick` takes, within `secs`.
    pub async fn next<T>(&mut self, secs: u64, pick: impl Fn(ServerMessage) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let m = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .expect("the awaited message came in time")
                .expect("socket open");
            if let Some(t) = pick(m) {
                return t;
            }
        }
    }
}
