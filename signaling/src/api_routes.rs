//! The admin API's routes and its OpenAPI document: the one module that names the handlers
//! of both `api` (create, list, read, attendance) and `api_admin` (reissue, end, delete,
//! edit), so neither of those imports the other back.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use crate::api::{
    __path_create_meeting, __path_get_attendance, __path_get_attendance_csv, __path_get_meeting,
    __path_list_meetings,
};
use crate::api::{
    create_meeting, get_attendance, get_attendance_csv, get_meeting, list_meetings, CreateMeeting,
    ErrorBody, ErrorDetail, Invite, MeetingCreated, MeetingView, RosterEntry, SiteInput,
    NAME_PATTERN, TITLE_PATTERN,
};
use crate::api_admin;
use crate::api_media;
use crate::api_recording;
use crate::api_records;
use crate::audit;
use crate::meeting::chat;
use crate::rollcall::{self, Attendance};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "diemcau API", description = "Meetings and invite links of the diemcau video-conferencing relay."),
    paths(
        create_meeting, list_meetings, get_meeting, get_attendance, get_attendance_csv,
        api_admin::reissue_link, api_admin::end_meeting, api_admin::delete_meeting,
        api_admin::edit_meeting, api_media::issue_media_token, api_records::get_audit, api_records::get_chat,
        api_records::get_minutes, api_records::get_minutes_html,
        api_recording::start_recording, api_recording::stop_recording,
        api_recording::list_recordings, api_recording::download_recording
    ),
    components(schemas(
        CreateMeeting, SiteInput, MeetingCreated, api_admin::EditMeeting, api_admin::MeetingEdited, Invite, MeetingView, RosterEntry, ErrorBody, ErrorDetail,
        Attendance, rollcall::SiteAttendance, rollcall::Stay,
        api_media::IssueMediaToken, api_media::MediaTokenRole, api_media::MediaToken,
        audit::AuditLog, audit::Entry, audit::Actor, chat::History, chat::Line,
        crate::minutes::Minutes, crate::minutes::Attendee, crate::minutes::Speaking,
        api_recording::RecordingState, api_recording::RecordingList, api_recording::RecordingFileView
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The derive takes only literal patterns; these are kept next to the rules.
        for (schema, field, pattern) in [
            ("CreateMeeting", "title", TITLE_PATTERN),
            ("EditMeeting", "title", TITLE_PATTERN),
            ("CreateMeeting", "chair_name", NAME_PATTERN),
            ("SiteInput", "name", NAME_PATTERN),
        ] {
            use utoipa::openapi::{RefOr, Schema};
            if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(schema) {
                if let Some(RefOr::T(Schema::Object(f))) = o.properties.get_mut(field) {
                    f.pattern = Some(pattern.to_owned());
                }
            }
        }
    }
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Routes of the API, to nest under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/meetings", get(list_meetings).post(create_meeting))
        .route(
            "/meetings/{id}",
            get(get_meeting)
                .delete(api_admin::delete_meeting)
                .patch(api_admin::edit_meeting),
        )
        .route("/meetings/{id}/end", post(api_admin::end_meeting))
        .route(
            "/meetings/{id}/sites/{site_id}/link",
            post(api_admin::reissue_link),
        )
        .route(
            "/meetings/{id}/media-tokens",
            post(api_media::issue_media_token),
        )
        .route("/meetings/{id}/attendance", get(get_attendance))
        .route("/meetings/{id}/attendance.csv", get(get_attendance_csv))
        .route("/meetings/{id}/audit", get(api_records::get_audit))
        .route("/meetings/{id}/chat", get(api_records::get_chat))
        .route("/meetings/{id}/minutes", get(api_records::get_minutes))
        .route(
            "/meetings/{id}/minutes.html",
            get(api_records::get_minutes_html),
        )
        .route(
            "/meetings/{id}/recording",
            post(api_recording::start_recording).delete(api_recording::stop_recording),
        )
        .route(
            "/meetings/{id}/recordings",
            get(api_recording::list_recordings),
        )
        .route(
            "/meetings/{id}/recordings/{file}",
            get(api_recording::download_recording),
        )
        .route("/openapi.json", get(|| async { Json(openapi()) }))
}
