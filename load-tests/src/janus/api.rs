//! Janus's HTTP API, as much as a VideoRoom participant needs: a session, plugin handles,
//! plugin messages with an optional JSEP, and the session's long-poll for events.
//!
//! Lifecycle: [`Session::create`] starts one long-poll task for the session; it hands every
//! event that answers a waiting request (same `transaction`) to that request, and every other
//! event (`webrtcup`, `hangup`, VideoRoom notifications) to the channel of the handle it came
//! from. [`Session::destroy`] ends the session on the server; dropping a [`Session`] stops the
//! long-poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long an asynchronous plugin request may take to answer.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// Events fetched per long-poll.
const MAX_EVENTS: u32 = 16;

static TRANSACTION: AtomicU64 = AtomicU64::new(1);

fn transaction() -> String {
    format!("t{}", TRANSACTION.fetch_add(1, Ordering::Relaxed))
}

/// A plugin's answer: its `plugindata.data` and the JSEP it carried, if any.
#[derive(Debug, Clone)]
pub struct Reply {
    /// `plugindata.data`.
    pub data: Value,
    /// `jsep` (`{type, sdp}`).
    pub jsep: Option<Value>,
}

impl Reply {
    /// The JSEP's SDP.
    pub fn sdp(&self) -> anyhow::Result<String> {
        self.jsep
            .as_ref()
            .and_then(|j| j["sdp"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("no JSEP in {}", self.data))
    }
}

/// Where events go. `std::sync::Mutex`: held for a map lookup only, never across `.await`.
#[derive(Default)]
struct Routes {
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    handles: Mutex<HashMap<u64, mpsc::UnboundedSender<Value>>>,
}

impl Routes {
    fn deliver(&self, event: Value) {
        if let Some(t) = event["transaction"].as_str() {
            if let Some(tx) = self.pending.lock().expect("not poisoned").remove(t) {
                let _ = tx.send(event);
                return;
            }
        }
        if let Some(sender) = event["sender"].as_u64() {
            if let Some(tx) = self.handles.lock().expect("not poisoned").get(&sender) {
                let _ = tx.send(event);
            }
        }
    }
}

/// One Janus session.
pub struct Session {
    client: reqwest::Client,
    url: String,
    routes: Arc<Routes>,
    poll: JoinHandle<()>,
}

/// A plugin handle: its id and the events that were not replies.
pub struct Handle {
    /// Handle id.
    pub id: u64,
    /// `webrtcup`, `hangup`, `media`, unsolicited plugin events.
    pub events: mpsc::UnboundedReceiver<Value>,
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let resp = client
        .post(url)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let v: Value = resp.json().await.context("reading Janus's reply")?;
    if v["janus"] == "error" {
        bail!(
            "janus error {}: {}",
            v["error"]["code"],
            v["error"]["reason"]
        );
    }
    Ok(v)
}

async fn long_poll(client: reqwest::Client, url: String, routes: Arc<Routes>) {
    let url = format!("{url}?maxev={MAX_EVENTS}");
    loop {
        let events: Value = match client.get(&url).send().await {
            Ok(r) => match r.json().await {
                Ok(v) => v,
                Err(_) => return,
            },
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match events {
            Value::Array(list) => list.into_iter().for_each(|e| routes.deliver(e)),
            Value::Object(_) if events["janus"] == "error" => return,
            e @ Value::Object(_) => routes.deliver(e),
            _ => {}
        }
    }
}

impl Session {
    /// Creates a session on the Janus at `api` (`http://host:port/janus`).
    pub async fn create(client: reqwest::Client, api: &str) -> anyhow::Result<Session> {
        let v = post(
            &client,
            api,
            &json!({"janus": "create", "transaction": transaction()}),
        )
        .await?;
        let id = v["data"]["id"].as_u64().context("no session id")?;
        let url = format!("{api}/{id}");
        let routes = Arc::new(Routes::default());
        let poll = tokio::spawn(long_poll(client.clone(), url.clone(), routes.clone()));
        Ok(Session {
            client,
            url,
            routes,
            poll,
        })
    }

    /// Attaches a VideoRoom handle.
    pub async fn attach(&self) -> anyhow::Result<Handle> {
        let v = post(&self.client, &self.url, &json!({"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": transaction()})).await?;
        let id = v["data"]["id"].as_u64().context("no handle id")?;
        let (tx, events) = mpsc::unbounded_channel();
        self.routes
            .handles
            .lock()
            .expect("not poisoned")
            .insert(id, tx);
        Ok(Handle { id, events })
    }

    /// Sends `body` (and `jsep`) to the plugin on `handle` and returns its answer, waiting for
    /// the asynchronous event when Janus only acknowledges. A VideoRoom `error` is an error.
    pub async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let t = transaction();
        let (tx, rx) = oneshot::channel();
        self.routes
            .pending
            .lock()
            .expect("not poisoned")
            .insert(t.clone(), tx);
        let mut msg = json!({"janus": "message", "transaction": t, "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        let url = format!("{}/{handle}", self.url);
        let sent = post(&self.client, &url, &msg).await;
        let v = match sent {
            Ok(v) if v["janus"] == "ack" => tokio::time::timeout(REPLY_TIMEOUT, rx)
                .await
                .with_context(|| format!("no answer to {} in time", msg["body"]["request"]))?
                .context("session closed")?,
            Ok(v) => {
                self.routes.pending.lock().expect("not poisoned").remove(&t);
                v
            }
            Err(e) => {
                self.routes.pending.lock().expect("not poisoned").remove(&t);
                return Err(e);
            }
        };
        let data = v["plugindata"]["data"].clone();
        if let Some(e) = data.get("error") {
            bail!(
                "videoroom {} refused: {} {e}",
                msg["body"]["request"],
                data["error_code"]
            );
        }
        Ok(Reply {
            data,
            jsep: v.get("jsep").cloned(),
        })
    }

    /// Ends the session (every handle and peer connection in it).
    pub async fn destroy(&self) {
        let _ = post(
            &self.client,
            &self.url,
            &json!({"janus": "destroy", "transaction": transaction()}),
        )
        .await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.poll.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_go_to_their_request_and_the_rest_to_the_handle() {
        let routes = Routes::default();
        let (tx, mut rx) = oneshot::channel();
        routes.pending.lock().unwrap().insert("t1".into(), tx);
        let (htx, mut hrx) = mpsc::unbounded_channel();
        routes.handles.lock().unwrap().insert(7, htx);
        routes.deliver(json!({"janus": "webrtcup", "sender": 7}));
        routes.deliver(json!({"janus": "event", "sender": 7, "transaction": "t1", "plugindata": {"data": {"started": "ok"}}}));
        assert_eq!(
            rx.try_recv().unwrap()["plugindata"]["data"]["started"],
            "ok"
        );
        assert_eq!(hrx.try_recv().unwrap()["janus"], "webrtcup");
        assert!(hrx.try_recv().is_err());
    }
}
