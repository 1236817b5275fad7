//! Admin operations on an existing meeting: reissue one site's link (revoking the old one),
//! end it, delete it. Each change is on disk before the answer (see [`crate::durable`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use crate::api::{
    authorize, invite, json_body, meeting_by_id, new_jti, view, ApiError, ErrorBody, Invite,
    MeetingView,
};
use crate::meeting::{chair, membership, ExpectedSite, Meeting, State as MeetingState};
use crate::protocol::{ErrorCode, Refusal, Role};
use crate::state::AppState;

/// Revoke a site's link and issue a new one.
///
/// Every earlier link of the site stops working at once: a join with it is refused with the
/// WebSocket error `link_revoked`, and a session that joined with it is ended with that
/// error. The answer carries the site's new link; revocations survive a restart.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/sites/{site_id}/link",
    params(
        ("id" = String, Path, description = "Meeting id"),
        ("site_id" = String, Path, description = "Site id (`chair`, `operator`, `s1`...)")
    ),
    responses(
        (status = 200, description = "The site's new link; the old one is revoked", body = Invite),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting or site", body = ErrorBody),
        (status = 409, description = "The meeting has ended", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn reissue_link(
    State(state): State<Arc<AppState>>,
    Path((id, site_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Invite>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let answer = reissue(&state, &m, &site_id);
    audited(&state, &id, "link_revoke", Some(site_id), answer).await
}

/// Appends the admin's `action` on meeting `id` and its result to the audit log, then
/// hands `answer` back (see [`crate::audit`]).
async fn audited<T>(
    state: &AppState,
    id: &str,
    action: &str,
    target: Option<String>,
    answer: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = answer.as_ref().map_or_else(ApiError::code, |_| "ok");
    let actor = crate::audit::Actor::admin();
    crate::audit::record(state, id, actor, action, target, result).await;
    answer
}

fn reissue(state: &AppState, m: &Meeting, site_id: &str) -> Result<Json<Invite>, ApiError> {
    let id = &m.id;
    let site = m.read(|s| s.site(site_id).cloned()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this meeting has no site with this id",
        )
    })?;
    if m.read(MeetingState::is_ended) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ended",
            "the meeting has ended: its links no longer work",
        ));
    }
    let jti = new_jti();
    let reissue = membership::Reissue {
        site: site.id.clone(),
        jti: jti.clone(),
    };
    // On disk before it answers (the revocation holds in memory even if the write fails).
    if let Err(e) = m.apply_durable(reissue, state) {
        tracing::error!(meeting = %id, "cannot store a reissued link: {e}");
        return Err(ApiError::storage());
    }
    tracing::info!(meeting = %id, site = %site.id, "link revoked and reissued");
    Ok(Json(invite(state, m, &site, jti)))
}

/// The chair's `reissue_link` over the WebSocket: revokes `target`'s link and returns its
/// new one. Only the chair, and only for sites (not itself, co-chairs' chair or operators).
pub fn reissue_by_chair(
    state: &AppState,
    m: &Meeting,
    actor: &ExpectedSite,
    target: &str,
) -> Result<String, Refusal> {
    if actor.role != Role::Chair {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "only the chair reissues links",
        ));
    }
    let site = m
        .read(|s| s.site(target).cloned())
        .filter(|s| s.role == Role::Site)
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownSite,
                "the meeting has no site with this id",
            )
        })?;
    let jti = new_jti();
    let reissue = membership::Reissue {
        site: site.id.clone(),
        jti: jti.clone(),
    };
    if let Err(e) = m.apply_durable(reissue, state) {
        tracing::error!(meeting = %m.id, "cannot store a reissued link: {e}");
        return Err(Refusal::new(
            ErrorCode::Internal,
            "the new link could not be stored; the old one is revoked, try again",
        ));
    }
    tracing::info!(meeting = %m.id, site = %site.id, "link revoked and reissued by the chair");
    Ok(invite(state, m, &site, jti).link)
}

/// End a meeting for everyone.
///
/// Every session is closed with `ended`, every link stops working; the meeting stays
/// listed (and its roll call readable) until the retention period is over.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/end",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The ended meeting", body = MeetingView),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn end_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MeetingView>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let _ = m.apply(chair::End, &state);
    state.metrics.meetings.set(state.meetings.active() as i64);
    let answer = m.save_now().map_err(|e| {
        tracing::error!(meeting = %id, "cannot store the end of the meeting: {e}");
        ApiError::storage()
    });
    audited(&state, &id, "end_meeting", None, answer).await?;
    Ok(Json(view(&m)))
}

/// Delete a meeting.
///
/// Ends it if it runs, removes it from this server and deletes its snapshot, so a restart
/// does not bring it back. Its roll call stays in the data directory and readable through
/// `/attendance`.
#[utoipa::path(
    delete,
    path = "/api/v1/meetings/{id}",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn delete_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let _ = m.apply(chair::End, &state);
    // The roll call with every leave recorded, before the snapshot goes.
    let stored = m
        .save_now()
        .and_then(|()| m.apply_durable(chair::Retire, &state));
    let answer = stored.map_err(|e| {
        tracing::error!(meeting = %id, "cannot delete the meeting's snapshot: {e}");
        ApiError::storage()
    });
    audited(&state, &id, "delete_meeting", None, answer).await?;
    state.meetings.remove(&id);
    state.metrics.meetings.set(state.meetings.active() as i64);
    Ok(StatusCode::NO_CONTENT)
}

/// Changes to a meeting (JSON body); every field is optional.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMeeting {
    /// New title: 1 to 200 characters once trimmed (as at creation).
    #[serde(default)]
    pub title: Option<String>,
    /// Sites to add (after the existing ones), each with a new link in the answer.
    #[serde(default)]
    pub add_sites: Vec<crate::api::SiteInput>,
    /// Ids of sites (`site` role) to remove: their link is refused (`site_removed`) and a
    /// session is closed. One that ever joined stays in the roster and roll call, marked
    /// removed; one that never joined leaves the roster.
    #[serde(default)]
    pub remove_sites: Vec<String>,
}

/// An edited meeting with the links of the sites added.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingEdited {
    /// The meeting after the edit.
    pub meeting: MeetingView,
    /// One link per site added, in the given order.
    pub added: Vec<Invite>,
}

/// Edit a meeting: title, sites added, sites removed.
///
/// Pages already open see the new title and roster when they next join.
#[utoipa::path(
    patch,
    path = "/api/v1/meetings/{id}",
    params(("id" = String, Path, description = "Meeting id")),
    request_body(content = EditMeeting, content_type = "application/json"),
    responses(
        (status = 200, description = "The edited meeting and the new sites' links", body = MeetingEdited),
        (status = 400, description = "Body does not parse", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "The meeting has ended, or the edit does not fit it (a site id it does not have, a name it has already, over limits.sites_per_meeting)", body = ErrorBody),
        (status = 422, description = "A title or site name breaks the rules of creation", body = ErrorBody),
        (status = 503, description = "The change could not be stored", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub async fn edit_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<MeetingEdited>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let answer = edit(&state, &m, &body);
    audited(&state, &id, "edit_meeting", None, answer).await
}

fn edit(state: &AppState, m: &Meeting, body: &[u8]) -> Result<Json<MeetingEdited>, ApiError> {
    let id = &m.id;
    let edit: EditMeeting = json_body(body, "a valid edit")?;
    if m.read(MeetingState::is_ended) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "ended",
            "the meeting has ended and can no longer be edited",
        ));
    }
    let (title, added) = check_edit(state, m, &edit)?;
    // The new sites' links are recorded before the sites exist: no moment accepts another.
    let jtis: Vec<String> = added.iter().map(|_| new_jti()).collect();
    for (site, jti) in added.iter().zip(&jtis) {
        let link = membership::SetLink {
            site: site.id.clone(),
            jti: jti.clone(),
        };
        let _ = m.apply(link, state);
    }
    let change = chair::Edit {
        title,
        added: added.clone(),
        removed: edit.remove_sites.clone(),
    };
    if let Err(e) = m.apply_durable(change, state) {
        tracing::error!(meeting = %id, "cannot store an edited meeting: {e}");
        return Err(ApiError::storage());
    }
    let invites = added
        .iter()
        .zip(jtis)
        .map(|(site, jti)| invite(state, m, site, jti))
        .collect();
    Ok(Json(MeetingEdited {
        meeting: view(m),
        added: invites,
    }))
}

/// An edit that does not fit the meeting as it is now (the document cannot express it).
fn conflict(message: String) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

/// Checks an edit against the meeting; returns the clean title and the sites to add.
fn check_edit(
    state: &AppState,
    m: &Meeting,
    edit: &EditMeeting,
) -> Result<(Option<String>, Vec<crate::meeting::ExpectedSite>), ApiError> {
    use crate::api::{check_title, clean_name};
    // The rules of `create` (and its OpenAPI pattern), so both agree.
    let title = edit.title.as_deref().map(check_title).transpose()?;
    let sites = m.read(|s| s.sites().to_vec());
    for id in &edit.remove_sites {
        if !sites.iter().any(|s| &s.id == id && s.role == Role::Site) {
            return Err(conflict(format!(
                "remove_sites: \"{}\" is not a site of this meeting (only sites, not the chair or the operator, are removed)",
                id.chars().take(40).collect::<String>()
            )));
        }
    }
    let count = sites.iter().filter(|s| s.role == Role::Site).count();
    let max_sites = state.settings.limits.sites_per_meeting;
    if count + edit.add_sites.len() > max_sites {
        return Err(conflict(format!(
            "a meeting has at most {max_sites} sites (limits.sites_per_meeting)"
        )));
    }
    // Look-alike names are refused as at creation (`text::skeleton`).
    let mut seen: std::collections::HashSet<String> = sites
        .iter()
        .map(|s| crate::text::skeleton(&s.name))
        .collect();
    let mut next = sites
        .iter()
        .filter_map(|s| s.id.strip_prefix('s')?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let mut added = Vec::new();
    for (i, s) in edit.add_sites.iter().enumerate() {
        let name = clean_name(&s.name, &format!("add_sites {}", i + 1))?;
        if !seen.insert(crate::text::skeleton(&name)) {
            return Err(conflict(format!(
                "site name \"{name}\" is already in the meeting"
            )));
        }
        next += 1;
        added.push(crate::meeting::ExpectedSite {
            id: format!("s{next}"),
            name,
            role: Role::Site,
        });
    }
    Ok((title, added))
}
