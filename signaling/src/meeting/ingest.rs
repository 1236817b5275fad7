//! The hall's own equipment: a WHIP publication (its production mixer or OBS) standing in for
//! the chair's camera or presentation, and WHEP players watching the program. Neither is a
//! member: no socket, no roll call, no grid tile, no roster entry. Each is one media
//! connection named by an HTTP resource id (the `Location` the client was given); the node's
//! index of connections knows it as `whip:<resource>` / `whep:<resource>` so the SFU's events
//! about it come back here ([`Lost`]).

use std::collections::BTreeMap;

use sfu::{PeerId, TrackKind};

use crate::protocol::Refusal;

use super::{Effect, Input, Layout, State};

/// What a WHIP publication stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IngestRole {
    /// The chair's camera (and microphone, when the feed carries audio).
    ChairCamera,
    /// The presentation (the chair's screen).
    Presentation,
}

impl IngestRole {
    /// The wire name (token claim, admin API).
    pub fn as_str(self) -> &'static str {
        match self {
            IngestRole::ChairCamera => "chair-camera",
            IngestRole::Presentation => "presentation",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<IngestRole> {
        match s {
            "chair-camera" => Some(IngestRole::ChairCamera),
            "presentation" => Some(IngestRole::Presentation),
            _ => None,
        }
    }
}

/// One WHIP publication.
#[derive(Debug, Clone)]
pub(super) struct Ingest {
    pub(super) resource: String,
    pub(super) peer: PeerId,
    pub(super) publishes: Vec<TrackKind>,
}

/// One WHEP player.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Its resource id.
    pub resource: String,
    /// Its media connection.
    pub peer: PeerId,
    /// Its video receive slots (mids).
    pub video_slots: Vec<String>,
    /// Its audio receive slots (mids).
    pub audio_slots: Vec<String>,
    /// Since when it watches (Unix ms).
    pub since_ms: u64,
}

/// The hall's publications and the players, held by the meeting.
#[derive(Debug, Default)]
pub(super) struct Equipment {
    pub(super) ingests: BTreeMap<IngestRole, Ingest>,
    pub(super) viewers: BTreeMap<String, Viewer>,
}

/// The index name of a resource's connection (see the module doc).
pub fn index_name(whep: bool, resource: &str) -> String {
    format!("{}:{resource}", if whep { "whep" } else { "whip" })
}

/// Why a publication or a player was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Something already publishes for this role.
    Taken,
    /// The meeting has ended.
    Ended,
}

/// A WHIP publisher's offer was accepted as `peer`: it stands in for `role` from now on.
#[derive(Debug, Clone)]
pub struct Publish {
    /// What it stands in for.
    pub role: IngestRole,
    /// Its resource id.
    pub resource: String,
    /// Its connection.
    pub peer: PeerId,
    /// What its offer set up.
    pub layout: Layout,
}

impl Input for Publish {
    type Reply = Result<(), Busy>;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<Self::Reply, Refusal> {
        if st.is_ended() {
            return Ok(Err(Busy::Ended));
        }
        if st.equipment.ingests.contains_key(&self.role) {
            return Ok(Err(Busy::Taken));
        }
        st.effects.push(Effect::PeerAdded {
            peer: self.peer,
            site: index_name(false, &self.resource),
        });
        st.equipment.ingests.insert(
            self.role,
            Ingest {
                resource: self.resource,
                peer: self.peer,
                publishes: self.layout.published,
            },
        );
        st.reroute();
        Ok(Ok(()))
    }
}

/// A WHEP player's offer was accepted as `peer`: it receives the program from now on.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Its resource id.
    pub resource: String,
    /// Its connection.
    pub peer: PeerId,
    /// What its offer set up.
    pub layout: Layout,
}

impl Input for Watch {
    type Reply = Result<(), Busy>;
    fn apply(self, st: &mut State, now_ms: u64) -> Result<Self::Reply, Refusal> {
        if st.is_ended() {
            return Ok(Err(Busy::Ended));
        }
        st.effects.push(Effect::PeerAdded {
            peer: self.peer,
            site: index_name(true, &self.resource),
        });
        st.equipment.viewers.insert(
            self.resource.clone(),
            Viewer {
                resource: self.resource,
                peer: self.peer,
                video_slots: self.layout.video_slots,
                audio_slots: self.layout.audio_slots,
                since_ms: now_ms,
            },
        );
        st.reroute();
        Ok(Ok(()))
    }
}

/// The client deleted its resource (`DELETE`): its connection closes. Replies whether there
/// was such a resource.
#[derive(Debug, Clone)]
pub struct Stop {
    /// The resource id.
    pub resource: String,
}

impl Input for Stop {
    type Reply = bool;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<bool, Refusal> {
        Ok(st.drop_equipment(|resource, _| resource == self.resource))
    }
}

/// The SFU lost `peer` (ICE consent, silence): whichever resource it was ends.
#[derive(Debug, Clone, Copy)]
pub struct Lost {
    /// The connection.
    pub peer: PeerId,
}

impl Input for Lost {
    type Reply = bool;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<bool, Refusal> {
        Ok(st.drop_equipment(|_, peer| peer == self.peer))
    }
}

/// A resource's connection, if the resource exists (for `PATCH`).
#[derive(Debug, Clone)]
pub struct Find {
    /// The resource id.
    pub resource: String,
}

impl Input for Find {
    type Reply = Option<PeerId>;
    fn apply(self, st: &mut State, _now_ms: u64) -> Result<Option<PeerId>, Refusal> {
        let e = &st.equipment;
        Ok(e.ingests
            .values()
            .find(|i| i.resource == self.resource)
            .map(|i| i.peer)
            .or_else(|| e.viewers.get(&self.resource).map(|v| v.peer)))
    }
}

impl State {
    /// Ends every publication and player `matches` (resource, peer) picks; re-routes.
    /// Whether any was.
    fn drop_equipment(&mut self, matches: impl Fn(&str, PeerId) -> bool) -> bool {
        let mut gone = Vec::new();
        self.equipment.ingests.retain(|_, i| {
            let hit = matches(&i.resource, i.peer);
            if hit {
                gone.push(i.peer);
            }
            !hit
        });
        self.equipment.viewers.retain(|r, v| {
            let hit = matches(r, v.peer);
            if hit {
                gone.push(v.peer);
                self.routed.remove(&index_name(true, r));
            }
            !hit
        });
        for peer in &gone {
            self.effects.push(Effect::RemovePeer(*peer));
        }
        if !gone.is_empty() {
            self.reroute();
        }
        !gone.is_empty()
    }

    /// The meeting ended: the hall's publications and the players end with it.
    pub(super) fn end_equipment(&mut self) {
        self.drop_equipment(|_, _| true);
    }

    /// Whether something publishes for `role` now.
    pub fn ingest_taken(&self, role: IngestRole) -> bool {
        self.equipment.ingests.contains_key(&role)
    }

    /// The players watching now, oldest first.
    pub fn viewers(&self) -> Vec<&Viewer> {
        let mut v: Vec<&Viewer> = self.equipment.viewers.values().collect();
        v.sort_by_key(|v| (v.since_ms, v.resource.clone()));
        v
    }

    /// The WHIP publications live now, by role name.
    pub fn feeds(&self) -> Vec<String> {
        self.equipment
            .ingests
            .keys()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    /// What the hall's equipment publishes, for routing.
    pub(super) fn ingests(&self) -> crate::route::Ingests<'_> {
        let chair = self
            .sites
            .iter()
            .find(|s| s.role == crate::protocol::Role::Chair)
            .map_or("", |s| s.id.as_str());
        let of = |role| {
            self.equipment
                .ingests
                .get(&role)
                .map(|i| crate::route::Ingested {
                    peer: i.peer,
                    publishes: &i.publishes,
                })
        };
        crate::route::Ingests {
            chair,
            camera: of(IngestRole::ChairCamera),
            presentation: of(IngestRole::Presentation),
        }
    }
}
