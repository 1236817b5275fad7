//! What the origin and a hosting node say about the media of the hosting node's sites
//! (NATS): the origin's commands on `diemcau.node.<host>.media` and the hosting node's
//! events on `diemcau.node.<origin>.media_events`. Serde types only; unknown fields refused.

use serde::{Deserialize, Serialize};

/// Subject a node takes media commands on (as a hosting node).
pub fn command_subject(node: &str) -> String {
    format!("diemcau.node.{node}.media")
}

/// Subject a node takes media events on (as an origin).
pub fn event_subject(node: &str) -> String {
    format!("diemcau.node.{node}.media_events")
}

/// The origin asks the hosting node; a peer is named by its id on the origin.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Answer this site's offer on the hosting node's SFU (request/reply: [`Reply`]).
    Offer {
        /// The origin node.
        origin: String,
        /// The meeting.
        meeting: String,
        /// The site.
        site: String,
        /// Its peer on the origin.
        peer: u64,
        /// The browser's offer.
        sdp: String,
    },
    /// A trickled candidate of the site's browser (request/reply: [`Reply`]).
    Candidate {
        /// The origin node.
        origin: String,
        /// The peer on the origin.
        peer: u64,
        /// The candidate line.
        candidate: String,
    },
    /// What each receive slot of the site carries now (no reply).
    Subscribe {
        /// The origin node.
        origin: String,
        /// The meeting.
        meeting: String,
        /// The peer on the origin.
        peer: u64,
        /// The origin's relay URL: the origin opens its links with the hosting nodes.
        origin_url: String,
        /// Every slot, in slot order.
        slots: Vec<WireSlot>,
    },
    /// The site's connection is closed (no reply).
    Remove {
        /// The origin node.
        origin: String,
        /// The peer on the origin.
        peer: u64,
    },
}

/// One slot of [`Command::Subscribe`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSlot {
    /// The slot's mid.
    pub slot: String,
    /// Its source; `None`: idle.
    #[serde(default)]
    pub source: Option<WireSource>,
}

/// A source by site and the relay URL of the node it is published on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSource {
    /// The publishing site.
    pub site: String,
    /// The relay URL of its node (the hosting node's own: a local source there).
    pub node: String,
    /// `audio`, `camera` or `screen`.
    pub track: String,
    /// `low`, `mid` or `high`.
    pub layer: String,
    /// Share of a tight link.
    pub priority: u8,
}

/// The hosting node's answer to [`Command::Offer`] and [`Command::Candidate`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// The offer's answer and what it set up.
    Answer {
        /// The SDP answer for the browser.
        sdp: String,
        /// Published tracks in offer order (`audio`, `camera`, `screen`).
        published: Vec<String>,
        /// Receive slots for video.
        video_slots: Vec<String>,
        /// Receive slots for audio.
        audio_slots: Vec<String>,
    },
    /// Done (a candidate).
    Done,
    /// Refused: the offer or candidate is bad (`bad = true`, the text is for the browser)
    /// or the media plane is not running.
    Refused {
        /// The browser's fault.
        bad: bool,
        /// It does not parse (as SDP, as a candidate line); otherwise it parses but is
        /// refused.
        #[serde(default)]
        parse: bool,
        /// What went wrong (the SFU's reason, no internals).
        message: String,
    },
}

/// The hosting node tells the origin about a site's connection there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The hosting node (the peer must be hosted there).
    pub node: String,
    /// The peer on the origin.
    pub peer: u64,
    /// What happened.
    pub what: What,
}

/// The events a hosting node passes on (the others stay local).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum What {
    /// The connection is gone.
    Lost,
    /// The highest camera layer anyone receives from this site (`None`: nobody).
    Layers {
        /// `low`, `mid`, `high`.
        #[serde(default)]
        max: Option<String>,
    },
    /// What the site's line lets it receive (`full`, `held`, `reduced`, `audio_only`).
    Reception {
        /// As [`sfu::alarm::Reported::as_str`].
        reception: String,
    },
}

/// A track's wire name.
pub fn track_name(t: sfu::TrackKind) -> &'static str {
    match t {
        sfu::TrackKind::Screen => "screen",
        t if t.is_audio() => "audio",
        _ => "camera",
    }
}

/// A wire track name back (`None`: not one of the three).
pub fn track_of(name: &str) -> Option<sfu::TrackKind> {
    match name {
        "audio" => Some(sfu::TrackKind::Audio),
        "camera" => Some(sfu::TrackKind::Camera),
        "screen" => Some(sfu::TrackKind::Screen),
        _ => None,
    }
}

/// A wire layer name back.
pub fn layer_of(name: &str) -> Option<sfu::Layer> {
    sfu::Layer::ALL.into_iter().find(|l| l.name() == name)
}

/// A reception's wire name back.
pub fn reception_of(name: &str) -> Option<sfu::alarm::Reported> {
    use sfu::alarm::Reported;
    [
        Reported::Full,
        Reported::Held,
        Reported::Reduced,
        Reported::AudioOnly,
    ]
    .into_iter()
    .find(|r| r.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_with_unknown_fields_or_an_unknown_type_is_refused() {
        let ok = r#"{"type":"remove","origin":"a","peer":5}"#;
        assert!(serde_json::from_str::<Command>(ok).is_ok());
        let extra = r#"{"type":"remove","origin":"a","peer":5,"all":true}"#;
        assert!(serde_json::from_str::<Command>(extra).is_err());
        let unknown = r#"{"type":"remove_everyone","origin":"a"}"#;
        assert!(serde_json::from_str::<Command>(unknown).is_err());
    }

    #[test]
    fn wire_names_go_back_to_what_they_named() {
        for t in [
            sfu::TrackKind::Audio,
            sfu::TrackKind::Camera,
            sfu::TrackKind::Screen,
        ] {
            assert_eq!(track_of(track_name(t)), Some(t));
        }
        assert_eq!(track_of("relayed"), None);
        assert_eq!(layer_of("mid"), Some(sfu::Layer::Mid));
        assert_eq!(layer_of("ultra"), None);
        assert_eq!(
            reception_of("audio_only"),
            Some(sfu::alarm::Reported::AudioOnly)
        );
        assert_eq!(reception_of("great"), None);
    }
}
