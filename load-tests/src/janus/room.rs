//! What the participants of one Janus VideoRoom share: the floor and the feeds that are up.
//! A leaf: the Janus target (`janus.rs`) creates it, the simulated sites (`site/janus.rs`)
//! read it; neither imports the other through it.

use std::collections::HashMap;

use tokio::sync::watch;

/// Sites on the chair's grid (diemcau's default grid page).
pub const GRID: usize = signaling::meeting::DEFAULT_GRID_PAGE as usize;

/// One VideoRoom room and what its participants share.
pub struct Room {
    /// Room id.
    pub id: u64,
    /// Janus HTTP API root.
    pub api: String,
    /// HTTP client (one connection pool for every site).
    pub client: reqwest::Client,
    /// Feed id by site id.
    feeds: HashMap<String, u64>,
    /// Feeds whose publisher connection is up, in that order.
    ready: watch::Sender<Vec<u64>>,
    /// The floor holder's feed.
    floor: watch::Sender<Option<u64>>,
}

impl Room {
    /// A room whose participants are `feeds` (site id to feed id), none up yet, no floor.
    pub fn new(id: u64, api: String, client: reqwest::Client, feeds: HashMap<String, u64>) -> Self {
        Room {
            id,
            api,
            client,
            feeds,
            ready: watch::channel(Vec::new()).0,
            floor: watch::channel(None).0,
        }
    }

    /// The feed id of participant `index` (0: the chair).
    pub fn feed_of(index: u16) -> u64 {
        1 + u64::from(index)
    }

    /// Marks `feed` as publishing: subscribers may join it now.
    pub fn mark_ready(&self, feed: u64) {
        self.ready.send_modify(|v| {
            if !v.contains(&feed) {
                v.push(feed);
            }
        });
    }

    /// Feeds that publish, in the order they came up.
    pub fn ready(&self) -> watch::Receiver<Vec<u64>> {
        self.ready.subscribe()
    }

    /// The floor holder's feed.
    pub fn floor(&self) -> watch::Receiver<Option<u64>> {
        self.floor.subscribe()
    }

    /// The chair gives `site_id` the floor.
    pub fn grant(&self, site_id: &str) {
        if let Some(f) = self.feeds.get(site_id) {
            self.floor.send_replace(Some(*f));
        }
    }

    /// The chair takes the floor back from `site_id`.
    pub fn revoke(&self, site_id: &str) {
        let f = self.feeds.get(site_id).copied();
        self.floor.send_if_modified(|h| {
            let held = f.is_some() && *h == f;
            if held {
                *h = None;
            }
            held
        });
    }
}
