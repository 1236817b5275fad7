//! The protocol's dispatch table: every client message type once, with who may send it and
//! the [`Command`] it becomes (mini-redis's `Command::from_frame`). The session checks the
//! permission here, before anything runs, and carries the command out in one place per
//! command (`session.rs` `apply`).
//!
//! The table says who may *send* a message. What depends on the meeting's state (whose hand
//! a site may lower, that a floor holder may present, that the target is a site) stays in
//! `moderation.rs`, the source of the chair's rules.
//!
//! A new chair action is one line in `protocol.rs` (its message), one row here (its
//! permission and [`Action`]) and its rule in `moderation.rs`.

use crate::moderation::Action;
use crate::protocol::{CheckReport, ClientMessage, ErrorCode, Refusal, Role};

/// Who may send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Any socket, joined or not (`join`, `ping`, `leave`).
    Anyone,
    /// Any joined participant, whatever its role.
    Member,
    /// A joined participant with the `site` role.
    Site,
    /// The chair, or a site holding the co-chair right.
    Moderator,
    /// The chair only.
    Chair,
    /// Operators only.
    Operator,
}

impl Permission {
    /// Whether a joined participant with `role` may send the message; `cochair` is asked
    /// only when the answer depends on it.
    pub fn allows(self, role: Role, cochair: impl FnOnce() -> bool) -> bool {
        match self {
            Permission::Anyone | Permission::Member => true,
            Permission::Site => role == Role::Site,
            Permission::Moderator => role == Role::Chair || (role == Role::Site && cochair()),
            Permission::Chair => role == Role::Chair,
            Permission::Operator => role == Role::Operator,
        }
    }

    /// The refusal of message `kind` to a participant this permission excludes.
    pub fn refusal(self, kind: &str) -> Refusal {
        let who = match self {
            Permission::Anyone | Permission::Member => "joined participants",
            Permission::Site => "sites",
            Permission::Moderator => "the chair or a co-chair",
            Permission::Chair => "the chair",
            Permission::Operator => "operators",
        };
        Refusal::new(
            ErrorCode::Forbidden,
            format!("only {who} may send \"{kind}\""),
        )
    }

    /// The wire name used in `PROTOCOL.md`'s table.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Anyone => "anyone",
            Permission::Member => "joined",
            Permission::Site => "site",
            Permission::Moderator => "chair, co-chair",
            Permission::Chair => "chair",
            Permission::Operator => "operator",
        }
    }
}

/// What a client message asks the server to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Answer with `pong` carrying this number.
    Ping(u64),
    /// Join with an invite token (and maybe resume a dropped socket's session).
    Join {
        /// The invite token.
        token: String,
        /// `joined.resume` of the previous socket.
        resume: Option<String>,
    },
    /// End the participation; the socket closes.
    Leave,
    /// Negotiate media with this SDP offer.
    Offer(String),
    /// A trickled ICE candidate (blank: end of candidates).
    Candidate(String),
    /// The participant's own device state.
    MediaState {
        /// Microphone on.
        mic: bool,
        /// Camera on.
        camera: bool,
    },
    /// A chair rule change (`moderation.rs`).
    Moderate(Action),
    /// Revoke a site's link and send the chair a new one.
    ReissueLink(String),
    /// A text message.
    Chat {
        /// `chair`, `all` or a site id.
        to: String,
        /// The text.
        text: String,
    },
    /// The chair's grid page.
    Grid {
        /// Page index.
        page: u32,
        /// Tiles per page.
        page_size: Option<u16>,
    },
    /// Start or stop the line check.
    Check(bool),
    /// A line check's outcome.
    CheckResult(CheckReport),
    /// What the browser says about itself.
    ClientInfo {
        /// Browser name and version.
        browser: Option<String>,
        /// Local candidate type.
        candidate: Option<String>,
        /// Transport of the selected pair.
        transport: Option<String>,
    },
    /// Operator: a notice to one site.
    Notice {
        /// The site.
        site_id: String,
        /// The text.
        text: String,
    },
    /// Operator: the site joins again.
    Reconnect(String),
    /// Chair or co-chair: start or stop recording the program.
    Record(bool),
    /// Operator: no video to a site.
    ForceAudioOnly {
        /// The site.
        site_id: String,
        /// On or off.
        on: bool,
    },
}

/// The table: who may send `msg`, and the command it becomes.
pub fn route(msg: ClientMessage) -> (Permission, Command) {
    use Command as C;
    use Permission::*;
    let moderate = |who, action| (who, C::Moderate(action));
    match msg {
        ClientMessage::Join { token, resume, .. } => (Anyone, C::Join { token, resume }),
        ClientMessage::Ping { id } => (Anyone, C::Ping(id)),
        ClientMessage::Leave => (Anyone, C::Leave),
        ClientMessage::Offer { sdp } => (Member, C::Offer(sdp)),
        ClientMessage::Candidate { candidate, .. } => (Member, C::Candidate(candidate)),
        ClientMessage::MediaState { mic, camera } => (Member, C::MediaState { mic, camera }),
        ClientMessage::Chat { to, text } => (Member, C::Chat { to, text }),
        ClientMessage::Check { on } => (Member, C::Check(on)),
        ClientMessage::CheckResult(report) => (Member, C::CheckResult(report)),
        ClientMessage::ClientInfo {
            browser,
            candidate,
            transport,
        } => (
            Member,
            C::ClientInfo {
                browser,
                candidate,
                transport,
            },
        ),
        ClientMessage::RaiseHand => moderate(Site, Action::RaiseHand),
        // One's own hand; another's needs the chair or a co-chair (moderation.rs).
        ClientMessage::LowerHand { site_id } => moderate(Member, Action::LowerHand(site_id)),
        // The chair, a co-chair or a floor holder (moderation.rs); stopping is anyone's.
        ClientMessage::Present { on } => moderate(Member, Action::Present(on)),
        ClientMessage::EndMeeting => moderate(Moderator, Action::End),
        ClientMessage::GrantFloor { site_id } => moderate(Moderator, Action::Grant(site_id)),
        ClientMessage::RevokeFloor { site_id } => moderate(Moderator, Action::Revoke(site_id)),
        ClientMessage::Mute { site_id, muted } => moderate(Moderator, Action::Mute(site_id, muted)),
        ClientMessage::StopVideo { site_id, stopped } => {
            moderate(Moderator, Action::StopVideo(site_id, stopped))
        }
        ClientMessage::Spotlight { site_id } => moderate(Moderator, Action::Spotlight(site_id)),
        ClientMessage::RemoveSite { site_id } => moderate(Moderator, Action::Remove(site_id)),
        ClientMessage::ReadmitSite { site_id } => moderate(Moderator, Action::Readmit(site_id)),
        ClientMessage::Lock { locked } => moderate(Moderator, Action::Lock(locked)),
        ClientMessage::OpenMeeting => moderate(Moderator, Action::Open),
        ClientMessage::Listen { site_id, on } => moderate(Chair, Action::Listen(site_id, on)),
        ClientMessage::Cochair { site_id, on } => moderate(Chair, Action::Cochair(site_id, on)),
        ClientMessage::Grid { page, page_size } => (Chair, C::Grid { page, page_size }),
        ClientMessage::ReissueLink { site_id } => (Chair, C::ReissueLink(site_id)),
        ClientMessage::Recording { on } => (Moderator, C::Record(on)),
        ClientMessage::Notice { site_id, text } => (Operator, C::Notice { site_id, text }),
        ClientMessage::Reconnect { site_id } => (Operator, C::Reconnect(site_id)),
        ClientMessage::ForceAudioOnly { site_id, on } => {
            (Operator, C::ForceAudioOnly { site_id, on })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_client_message;

    fn permission_of(json: &str) -> Permission {
        route(parse_client_message(json).unwrap()).0
    }

    #[test]
    fn chair_only_messages_are_refused_to_co_chairs_sites_and_operators() {
        for json in [
            r#"{"type":"listen","site_id":"s1","on":false}"#,
            r#"{"type":"cochair","site_id":"s1","on":true}"#,
            r#"{"type":"grid","page":1}"#,
            r#"{"type":"reissue_link","site_id":"s1"}"#,
        ] {
            let p = permission_of(json);
            assert!(p.allows(Role::Chair, || false), "{json}");
            assert!(!p.allows(Role::Site, || true), "co-chair: {json}");
            assert!(!p.allows(Role::Operator, || false), "operator: {json}");
        }
    }

    #[test]
    fn moderation_messages_are_for_the_chair_and_co_chairs_only() {
        for json in [
            r#"{"type":"end_meeting"}"#,
            r#"{"type":"grant_floor","site_id":"s1"}"#,
            r#"{"type":"mute","site_id":"s1","muted":true}"#,
            r#"{"type":"open_meeting"}"#,
            r#"{"type":"remove_site","site_id":"s1"}"#,
        ] {
            let p = permission_of(json);
            assert!(p.allows(Role::Chair, || false), "chair: {json}");
            assert!(p.allows(Role::Site, || true), "co-chair: {json}");
            assert!(!p.allows(Role::Site, || false), "site: {json}");
            // An operator's id could be in the co-chair set only by a bug; still refused.
            assert!(!p.allows(Role::Operator, || true), "operator: {json}");
        }
    }

    #[test]
    fn operator_messages_are_refused_to_the_chair() {
        let p = permission_of(r#"{"type":"reconnect","site_id":"s1"}"#);
        assert!(p.allows(Role::Operator, || false));
        assert!(!p.allows(Role::Chair, || false));
        let r = p.refusal("reconnect");
        assert_eq!(r.code, ErrorCode::Forbidden);
        assert_eq!(r.message, "only operators may send \"reconnect\"");
    }

    #[test]
    fn only_sites_raise_hands_but_anyone_joined_may_lower_one() {
        let raise = permission_of(r#"{"type":"raise_hand"}"#);
        assert!(raise.allows(Role::Site, || false));
        assert!(!raise.allows(Role::Chair, || false));
        let lower = permission_of(r#"{"type":"lower_hand","site_id":"s2"}"#);
        assert!(lower.allows(Role::Chair, || false) && lower.allows(Role::Site, || false));
    }

    #[test]
    fn the_co_chair_right_is_looked_up_only_for_moderation_messages() {
        let p = permission_of(r#"{"type":"chat","to":"chair","text":"xin chào"}"#);
        assert!(p.allows(Role::Site, || panic!(
            "chat does not depend on the co-chair right"
        )));
    }

    /// PROTOCOL.md's "may send" column is this table: for every type it lists, the cell
    /// names the permission its example message gets here.
    #[test]
    fn the_spec_table_says_who_may_send_each_message_as_the_dispatch_table_does() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let spec = std::fs::read_to_string(dir.join("PROTOCOL.md")).unwrap();
        let start = spec.find("## Client → server").unwrap();
        let end = spec[start..].find("## Server → client").unwrap() + start;
        let mut rows = 0;
        for line in spec[start..end].lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = line.split(" | ").collect();
            let kind = cells[0].trim_start_matches("| `").trim_end_matches('`');
            let example = dir.join(format!("fixtures/protocol/client/{kind}.json"));
            let msg = parse_client_message(&std::fs::read_to_string(example).unwrap()).unwrap();
            assert_eq!(
                cells[2],
                route(msg).0.as_str(),
                "`{kind}`: PROTOCOL.md says"
            );
            rows += 1;
        }
        assert_eq!(rows, crate::protocol::CLIENT_TYPES.len(), "a row per type");
    }

    #[test]
    fn every_message_becomes_its_command() {
        let (_, c) = route(parse_client_message(r#"{"type":"lower_hand"}"#).unwrap());
        assert_eq!(c, Command::Moderate(Action::LowerHand(None)));
        let (_, c) = route(parse_client_message(r#"{"type":"spotlight","site_id":null}"#).unwrap());
        assert_eq!(c, Command::Moderate(Action::Spotlight(None)));
        let (_, c) = route(parse_client_message(r#"{"type":"ping","id":7}"#).unwrap());
        assert_eq!(c, Command::Ping(7));
    }
}
