//! What a meeting leaves behind, read through the API: its audit log ([`crate::audit`]) and
//! its chat ([`crate::meeting::chat`]) and its minutes ([`crate::minutes`]).
//! Readers are those of the roll call: the admin key, or the token of the meeting's chair,
//! a co-chair or an operator (a site's token gets `403`); every read is itself audited.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::{authorize_records, safe_id, ApiError, ErrorBody};
use crate::audit::{self, AuditLog};
use crate::meeting::chat::{self, History};
use crate::minutes::{self, Minutes};
use crate::state::AppState;

/// Whether the server knows meeting `id`: held now, or its files are still in the data
/// directory (after it was deleted, or before a restart brought it back).
fn known(state: &AppState, id: &str) -> Result<(), ApiError> {
    let on_disk = state.settings.data_dir.as_deref().is_some_and(|dir| {
        safe_id(id)
            && (crate::rollcall::file_for(dir, id).exists() || audit::file_for(dir, id).exists())
    });
    if state.meetings.get(id).is_some() || on_disk {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no meeting with this id",
    ))
}

/// The audit log of a meeting: every action of its chair, co-chairs, operators and the
/// admin, oldest first, with time, actor, target and result.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/audit",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The audit log", body = AuditLog),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read it", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_audit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AuditLog>, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the audit log")?;
    known(&state, &id)?;
    audit::record(&state, &id, actor, "download_audit", None, "ok").await;
    Ok(Json(audit::read(state.settings.data_dir.as_deref(), &id)))
}

/// The chat of a meeting: every message, private ones included (its readers moderate it).
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/chat",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The chat history", body = History),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read it", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_chat(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<History>, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the chat history")?;
    known(&state, &id)?;
    audit::record(&state, &id, actor, "download_chat", None, "ok").await;
    Ok(Json(chat::load(state.settings.data_dir.as_deref(), &id)))
}

/// The minutes of a meeting the server holds (until its retention period is over).
fn minutes_of(state: &AppState, id: &str) -> Result<Minutes, ApiError> {
    let m = state.meetings.get(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no meeting with this id on this server",
        )
    })?;
    let dir = state.settings.data_dir.as_deref();
    let attendance = m.attendance();
    let (floor, ended_ms) = m.read(|s| (s.floor_log().to_vec(), s.ended_ms()));
    let audit = audit::read(dir, id).entries;
    let recordings = dir
        .map(|d| minutes::recording_files(&minutes::recording_dir(d, id)))
        .unwrap_or_default();
    Ok(minutes::build(minutes::Sources {
        attendance: &attendance,
        floor: &floor,
        audit: &audit,
        chat: chat::load(dir, id).messages,
        recordings,
        ended_ms,
        now_ms: crate::token::unix_now_ms(),
    }))
}

/// The minutes (biên bản) as JSON: title, date and local time, chair, attendance, floor
/// timeline, decisions, chat, recording files.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/minutes",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The minutes", body = Minutes),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read them", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_minutes(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Minutes>, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the minutes")?;
    let minutes = minutes_of(&state, &id)?;
    audit::record(&state, &id, actor, "download_minutes", None, "ok").await;
    Ok(Json(minutes))
}

/// The minutes (biên bản) as a printable A4 page in Vietnamese.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/minutes.html",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The minutes", content_type = "text/html", body = String),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read them", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_minutes_html(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the minutes")?;
    let minutes = minutes_of(&state, &id)?;
    audit::record(&state, &id, actor, "download_minutes", None, "ok").await;
    let page = crate::minutes_html::render(&minutes);
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // A page of data: nothing in it runs or loads.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        page,
    )
        .into_response())
}
