//! The sites a meeting expects: a leaf type, shared by the meeting, its snapshot on disk and
//! the API, so none of them imports another for it.

use crate::protocol::Role;

/// A site the meeting expects (fixed at creation; the admin may add and remove sites).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpectedSite {
    /// Id within the meeting (`chair`, `operator`, `s1`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}
