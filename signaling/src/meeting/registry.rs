//! [`Meetings`]: every meeting this node holds.

use std::sync::Arc;

use dashmap::DashMap;

use super::Meeting;

/// All meetings this server holds, by id. A control-plane registry: consulted on join and
/// API calls, never per packet.
#[derive(Debug, Default)]
pub struct Meetings {
    map: DashMap<String, Arc<Meeting>>,
}

impl Meetings {
    /// Adds a meeting.
    pub fn insert(&self, m: Meeting) -> Arc<Meeting> {
        let m = Arc::new(m);
        self.map.insert(m.id.clone(), m.clone());
        m
    }

    /// The meeting with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Meeting>> {
        self.map.get(id).map(|m| m.clone())
    }

    /// Every meeting.
    pub fn all(&self) -> Vec<Arc<Meeting>> {
        self.map.iter().map(|m| m.clone()).collect()
    }

    /// Takes the meeting with this id out of the registry.
    pub fn remove(&self, id: &str) -> Option<Arc<Meeting>> {
        self.map.remove(id).map(|(_, m)| m)
    }

    /// Meetings not ended.
    pub fn active(&self) -> usize {
        self.map
            .iter()
            .filter(|m| !m.read(super::State::is_ended))
            .count()
    }
}
