//! Janus VideoRoom as a [`Target`], for side-by-side runs with the very same simulated sites,
//! synthetic media, meters and reports (ENVIRONMENT.md "Janus").
//!
//! A meeting is one VideoRoom room; every participant publishes on its own handle with a
//! fixed feed id (`1 + index`) and subscribes on one handle per source it receives
//! (`site/janus.rs`). Janus has no chair or floor: the same load shape as our province
//! scenario is reproduced by the clients, as a Janus application would do it:
//!
//! - every site subscribes to the chair's audio and camera at the highest simulcast layer;
//! - the floor holder's audio and camera reach every other site through one more subscription
//!   per site, re-pointed with VideoRoom's `switch` when the floor moves (no renegotiation);
//!   the holder pauses that subscription (`send: false`) while it holds the floor itself;
//! - the chair subscribes to the first [`GRID`] sites at the lowest layer (diemcau's hall
//!   grid page; diemcau lifts a floor holder on the grid to the mid layer, not done here);
//! - publishers send the layers someone watches, as diemcau's `layers` message asks of them:
//!   the chair and the floor holder all three, the other sites the lowest only.
//!
//! [`Room`] is what the participants share: the floor (set by the chair's task when the runner
//! grants it) and the feeds whose publisher is up (`webrtcup`), which subscribers wait for.

pub mod api;
pub mod process;
pub mod room;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::json;
use signaling::protocol::Role;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use api::{Handle, Reply, Session};
pub use room::{Room, GRID};

use crate::site::invite::Invite;
use crate::site::{Command, SiteContext, SiteReport, SiteSpec};
use crate::target::{Meeting, Target};

/// A Janus VideoRoom server.
pub struct Janus {
    api: String,
    client: reqwest::Client,
    /// The room of the current meeting (`std::sync::Mutex`: set once, read at each spawn).
    room: Mutex<Option<Arc<Room>>>,
}

impl Janus {
    /// Janus at `api` (`http://127.0.0.1:<port>/janus`).
    pub fn new(api: impl Into<String>) -> Self {
        Janus {
            api: api.into(),
            client: reqwest::Client::new(),
            room: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl Target for Janus {
    fn name(&self) -> &'static str {
        "janus"
    }

    async fn create_meeting(
        &self,
        title: &str,
        sites: usize,
        _grid_page_size: Option<u16>,
    ) -> anyhow::Result<Meeting> {
        let session = Session::create(self.client.clone(), &self.api)
            .await
            .context("Janus session")?;
        let handle = session.attach().await?;
        let reply = session
            .message(
                handle.id,
                json!({
                    "request": "create",
                    "description": title,
                    "publishers": sites + 1,
                    "bitrate": 0,
                    "fir_freq": 0,
                    "audiocodec": "opus",
                    "videocodec": "vp8",
                    "notify_joining": false,
                }),
                None,
            )
            .await
            .context("creating the room")?;
        session.destroy().await;
        let id = reply.data["room"].as_u64().context("no room id")?;
        let invite = |i: usize| Invite {
            site_id: if i == 0 {
                "chair".into()
            } else {
                format!("s{i}")
            },
            name: if i == 0 {
                "Hội trường UBND tỉnh".into()
            } else {
                format!("UBND xã {i:03}")
            },
            role: if i == 0 { Role::Chair } else { Role::Site },
            token: String::new(),
            ws_url: None,
        };
        let meeting = Meeting {
            id: id.to_string(),
            chair: invite(0),
            sites: (1..=sites).map(invite).collect(),
        };
        let feeds = std::iter::once(&meeting.chair)
            .chain(&meeting.sites)
            .enumerate()
            .map(|(i, s)| (s.site_id.clone(), Room::feed_of(i as u16)))
            .collect();
        let room = Room::new(id, self.api.clone(), self.client.clone(), feeds);
        *self.room.lock().expect("not poisoned") = Some(Arc::new(room));
        Ok(meeting)
    }

    fn spawn_site(
        &self,
        spec: SiteSpec,
        ctx: Arc<SiteContext>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> JoinHandle<SiteReport> {
        let room = self.room.lock().expect("not poisoned").clone();
        tokio::spawn(async move {
            match room {
                Some(room) => crate::site::janus::run(room, spec, ctx, commands).await,
                None => {
                    let mut r = SiteReport::new(&spec);
                    r.failure = Some("no room: create_meeting first".into());
                    r
                }
            }
        })
    }

    async fn scrape(&self) -> anyhow::Result<Option<String>> {
        Ok(None)
    }

    /// Janus's own address: its ICE agent (libnice) fails every check from `127.0.0.2` to
    /// `127.0.0.1` ("Error sending message: Invalid argument"), so the sites live there too.
    fn site_ip(&self) -> std::net::IpAddr {
        process::JANUS_IP.parse().expect("an IP")
    }
}
