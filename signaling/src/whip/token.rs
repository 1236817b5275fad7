//! Media tokens: the bearer credential of the hall's equipment (WHIP) and of a watch-only
//! player (WHEP), bound to one meeting and one role. Signed with the invite links' key but of
//! another shape (a `media` claim, no `sid`), so neither kind of token passes as the other:
//! a media token cannot join a meeting over the WebSocket, an invite link cannot publish.
//!
//! Short-lived rather than revocable: at most [`MAX_TTL_SECONDS`] and never past the meeting's
//! own expiry, and worthless once the meeting ends (the endpoints refuse an ended meeting).

use serde::{Deserialize, Serialize};

use crate::token::{unix_now, TokenError, TokenKeys};

/// A media token's life when the request names none: a working day.
pub const DEFAULT_TTL_SECONDS: u64 = 8 * 3600;
/// The longest life a media token may be given.
pub const MAX_TTL_SECONDS: u64 = 24 * 3600;
/// The shortest.
pub const MIN_TTL_SECONDS: u64 = 60;

/// What a media token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRole {
    /// Publish in place of the chair's camera (WHIP).
    ChairCamera,
    /// Publish the presentation (WHIP).
    Presentation,
    /// Watch the program (WHEP).
    Viewer,
}

impl MediaRole {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaRole::ChairCamera => "chair-camera",
            MediaRole::Presentation => "presentation",
            MediaRole::Viewer => "viewer",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<MediaRole> {
        match s {
            "chair-camera" => Some(MediaRole::ChairCamera),
            "presentation" => Some(MediaRole::Presentation),
            "viewer" => Some(MediaRole::Viewer),
            _ => None,
        }
    }

    /// The publication it stands in for, for the WHIP roles.
    pub fn ingest(self) -> Option<crate::meeting::ingest::IngestRole> {
        use crate::meeting::ingest::IngestRole;
        match self {
            MediaRole::ChairCamera => Some(IngestRole::ChairCamera),
            MediaRole::Presentation => Some(IngestRole::Presentation),
            MediaRole::Viewer => None,
        }
    }
}

/// What a media token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaClaims {
    /// Meeting id.
    pub mid: String,
    /// The role's wire name ([`MediaRole`]).
    pub media: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: u64,
    /// Unique token id.
    pub jti: String,
}

/// Why a media token does not admit a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `Authorization: Bearer` header.
    #[error("send the media token as 'Authorization: Bearer <token>'")]
    Missing,
    /// Bad signature, bad shape, or an invite link's token.
    #[error("the media token is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("the media token has expired; ask the organiser for a new one")]
    Expired,
    /// Valid, for another meeting.
    #[error("the media token is for another meeting")]
    OtherMeeting,
    /// Valid, for a role this endpoint does not serve.
    #[error("the media token is for `{0}`, which this endpoint does not take")]
    WrongRole(&'static str),
}

/// Signs a token for `role` in meeting `mid`, valid `ttl` seconds but not past `meeting_exp`.
pub fn issue(
    keys: &TokenKeys,
    mid: &str,
    role: MediaRole,
    ttl: u64,
    meeting_exp: u64,
) -> (String, u64) {
    let now = unix_now();
    let exp = (now + ttl).min(meeting_exp);
    let claims = MediaClaims {
        mid: mid.to_owned(),
        media: role.as_str().to_owned(),
        exp,
        iat: now,
        jti: crate::api::new_jti(),
    };
    (keys.sign_claims(&claims), exp)
}

/// Checks the `Authorization` value `header` for meeting `mid`; the token's role, which
/// `accepts` must allow.
pub fn check(
    keys: &TokenKeys,
    header: Option<&str>,
    mid: &str,
    accepts: impl Fn(MediaRole) -> bool,
) -> Result<MediaRole, Refused> {
    let token = header
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Refused::Missing)?;
    let claims: MediaClaims = keys.verify_claims(token).map_err(|e| match e {
        TokenError::Expired => Refused::Expired,
        TokenError::Invalid => Refused::Invalid,
    })?;
    let role = MediaRole::parse(&claims.media).ok_or(Refused::Invalid)?;
    if claims.mid != mid {
        return Err(Refused::OtherMeeting);
    }
    if !accepts(role) {
        return Err(Refused::WrongRole(role.as_str()));
    }
    Ok(role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Role;
    use crate::token::Claims;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef")
    }

    fn bearer(t: &str) -> String {
        format!("Bearer {t}")
    }

    #[test]
    fn a_media_token_admits_its_meeting_and_role_only() {
        let k = keys();
        let far = unix_now() + 3600;
        let (t, _) = issue(&k, "m1", MediaRole::ChairCamera, 600, far);
        let whip = |r: MediaRole| r != MediaRole::Viewer;
        assert_eq!(
            check(&k, Some(&bearer(&t)), "m1", whip),
            Ok(MediaRole::ChairCamera)
        );
        assert_eq!(
            check(&k, Some(&bearer(&t)), "m2", whip),
            Err(Refused::OtherMeeting)
        );
        assert_eq!(
            check(&k, Some(&bearer(&t)), "m1", |r| r == MediaRole::Viewer),
            Err(Refused::WrongRole("chair-camera"))
        );
        assert_eq!(check(&k, None, "m1", whip), Err(Refused::Missing));
        assert_eq!(check(&k, Some(&t), "m1", whip), Err(Refused::Missing));
    }

    #[test]
    fn a_media_token_never_outlives_its_meeting_and_expires() {
        let k = keys();
        let soon = unix_now() + 30;
        let (_, exp) = issue(&k, "m1", MediaRole::Viewer, 3600, soon);
        assert_eq!(exp, soon);
        let (t, _) = issue(&k, "m1", MediaRole::Viewer, 3600, unix_now() - 1);
        assert_eq!(
            check(&k, Some(&bearer(&t)), "m1", |_| true),
            Err(Refused::Expired)
        );
    }

    #[test]
    fn an_invite_token_is_no_media_token_and_the_other_way_round() {
        let k = keys();
        let invite = k.sign(&Claims {
            mid: "m1".into(),
            sid: "chair".into(),
            role: Role::Chair,
            exp: unix_now() + 600,
            iat: unix_now(),
            jti: "j".into(),
        });
        assert_eq!(
            check(&k, Some(&bearer(&invite)), "m1", |_| true),
            Err(Refused::Invalid)
        );
        let (media, _) = issue(&k, "m1", MediaRole::ChairCamera, 600, unix_now() + 600);
        assert!(k.verify(&media).is_err(), "a media token cannot join");
    }
}
