//! The admin API's media tokens: what the hall's encoder (WHIP) or a watch-only player
//! (WHEP) presents as its bearer token, with the URL it is presented to.
//!
//! Issued to the admin key, and to the meeting's chair with its own invite token (the chair's
//! page, "Thiết bị hội trường", shows the URL and token to paste into OBS: the admin key never
//! reaches a browser). Not to a site, a co-chair or an operator: a `chair-camera` token
//! replaces the chair's picture and sound in every site's program and a `viewer` token lets
//! people outside the meeting watch it, both the chair hall's own decision; a co-chair is
//! another hall with moderation lent for the session, an operator is technical staff, and
//! either may still ask the organiser (admin API). Every issue is in the audit log.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{authorize_holder, json_body, meeting_by_id, ApiError, ErrorBody, Holders};
use crate::audit;
use crate::protocol::Role;
use crate::state::AppState;
use crate::whip::token::{self, MediaRole, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS, MIN_TTL_SECONDS};

/// What a media token is for (JSON body).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueMediaToken {
    /// `chair-camera` or `presentation` (WHIP: the hall's encoder publishes in their place),
    /// or `viewer` (WHEP: watch the program).
    pub role: MediaTokenRole,
    /// Seconds the token is valid, 60 to 86400 (default 28800); never past the meeting's
    /// expiry.
    #[serde(default)]
    #[schema(minimum = 60, maximum = 86400)]
    pub ttl_seconds: Option<u64>,
}

/// A media token's role.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MediaTokenRole {
    /// Publish in place of the chair's camera (WHIP).
    ChairCamera,
    /// Publish the presentation (WHIP).
    Presentation,
    /// Watch the program (WHEP).
    Viewer,
}

impl From<MediaTokenRole> for MediaRole {
    fn from(r: MediaTokenRole) -> Self {
        match r {
            MediaTokenRole::ChairCamera => MediaRole::ChairCamera,
            MediaTokenRole::Presentation => MediaRole::Presentation,
            MediaTokenRole::Viewer => MediaRole::Viewer,
        }
    }
}

/// An issued media token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaToken {
    /// Its role.
    pub role: MediaTokenRole,
    /// The bearer token (OBS: "Bearer Token").
    pub token: String,
    /// The endpoint to POST the offer to (OBS: "Server").
    pub url: String,
    /// When it stops working, seconds since the Unix epoch.
    pub expires_at: u64,
    /// For `viewer`: the web client's watch page with the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_link: Option<String>,
}

/// Who issues media tokens besides the admin: the chair alone (see the module's doc).
const ISSUERS: Holders = Holders {
    allowed: |role, _cochair| role == Role::Chair,
    named: "the chair's",
};

/// The 403 of a valid invite token that is not the chair's.
pub const ONLY_THE_CHAIR: &str = "only the chair issues tokens for the hall's equipment (WHIP) and watch links (WHEP); a site, co-chair or operator asks the chair";

/// Issue a media token for the hall's equipment (WHIP) or a player (WHEP).
///
/// Takes the admin key, or the chair's own invite token (the chair's page). The token is
/// short-lived (`ttl_seconds`, never past the meeting's expiry) and stops working when the
/// meeting ends. Each issue is written to the meeting's audit log (`media_token_issue`,
/// target the role; a refusal for a known meeting too).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/media-tokens",
    params(("id" = String, Path, description = "Meeting id")),
    request_body(content = IssueMediaToken, content_type = "application/json"),
    responses(
        (status = 201, description = "The token and the URL it is presented to", body = MediaToken),
        (status = 400, description = "Body does not parse", body = ErrorBody),
        (status = 401, description = "Neither the admin key nor the chair's current invite token", body = ErrorBody),
        (status = 403, description = "An invite token of this meeting that is not the chair's", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "The meeting has ended", body = ErrorBody),
        (status = 422, description = "ttl_seconds out of range", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn issue_media_token(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<MediaToken>), ApiError> {
    let actor = authorize_holder(&state, &headers, &id, &ISSUERS, ONLY_THE_CHAIR)?;
    let m = meeting_by_id(&state, &id)?;
    let answer = issue(&state, &m, &body);
    let target = answer
        .as_ref()
        .ok()
        .map(|t| MediaRole::from(t.role).as_str().to_owned());
    let result = answer.as_ref().map_or_else(ApiError::code, |_| "ok");
    audit::record(&state, &m.id, actor, "media_token_issue", target, result).await;
    answer.map(|t| (StatusCode::CREATED, Json(t)))
}

/// Checks the request and signs the token, for [`issue_media_token`], which audits it.
fn issue(
    state: &AppState,
    m: &crate::meeting::Meeting,
    body: &[u8],
) -> Result<MediaToken, ApiError> {
    let req: IssueMediaToken = json_body(body, "a media token request")?;
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
        return Err(ApiError::invalid(format!(
            "ttl_seconds must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}, not {ttl}"
        )));
    }
    if m.read(|s| s.is_ended()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ended",
            "the meeting has ended: nothing can be published or watched in it",
        ));
    }
    let role = MediaRole::from(req.role);
    let (token, expires_at) = token::issue(&state.keys, &m.id, role, ttl, m.expires_at);
    let base = state.settings.public_url.trim_end_matches('/');
    let endpoint = if role == MediaRole::Viewer {
        crate::whip::Endpoint::Whep
    } else {
        crate::whip::Endpoint::Whip
    };
    tracing::info!(meeting = %m.id, role = role.as_str(), "media token issued");
    Ok(MediaToken {
        role: req.role,
        url: format!("{base}{}/{}", endpoint.base(), m.id),
        watch_link: (role == MediaRole::Viewer)
            .then(|| format!("{base}/watch#m={}&t={token}", m.id)),
        token,
        expires_at,
    })
}
