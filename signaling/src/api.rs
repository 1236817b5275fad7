//! The admin HTTP API under `/api/v1`, documented by an OpenAPI document at
//! `/api/v1/openapi.json`.
//!
//! Creating a meeting returns one signed, expiring invite link per expected site, one for the
//! chair and one for operators. Every call needs `Authorization: Bearer <admin key>`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::meeting::{membership, ExpectedSite, Meeting, MeetingOptions, State as MeetingState};
use crate::meeting::{DEFAULT_GRID_PAGE, MAX_GRID_PAGE};
use crate::moderation::{DEFAULT_FLOOR_LIMIT, MAX_FLOOR_LIMIT};
use crate::protocol::Role;
use crate::rollcall::{self, Attendance};
use crate::state::AppState;
use crate::token::{unix_now, Claims};

/// Longest meeting title, in characters.
pub const MAX_TITLE: usize = 200;
/// Longest site name, in characters.
pub const MAX_NAME: usize = 120;
/// Longest validity of invite links.
pub const MAX_VALID_HOURS: u32 = 24 * 14;
/// Validity when none is asked for.
pub const DEFAULT_VALID_HOURS: u32 = 24;

/// White space as `str::trim` removes it (Unicode White_Space), for the patterns below.
macro_rules! ws {
    () => {
        r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// Control characters (`char::is_control`).
macro_rules! cc {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}
/// Format characters (Unicode Cf: zero-width, bidirectional; see [`crate::text`]).
macro_rules! cf {
    () => {
        r"\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    };
}
/// 1 to `$inner + 2` characters without control or format characters between optional white
/// space: the rule of [`crate::text`], spelled out as a regular expression for the OpenAPI
/// document. `$inner` is the length less the first and last characters (`concat!` cannot
/// subtract).
macro_rules! text_pattern {
    ($inner:literal) => {
        concat!(
            "^[",
            ws!(),
            "]*(?:[^",
            ws!(),
            cc!(),
            cf!(),
            "]|[^",
            ws!(),
            cc!(),
            cf!(),
            "][^",
            cc!(),
            cf!(),
            "]{0,",
            $inner,
            "}[^",
            ws!(),
            cc!(),
            cf!(),
            "])[",
            ws!(),
            "]*$"
        )
    };
}
/// What [`create`] accepts as a title, for the OpenAPI document (set by [`BearerAuth`]):
/// 1 to [`MAX_TITLE`] characters.
pub(crate) const TITLE_PATTERN: &str = text_pattern!(198);
/// What `clean_name` accepts, for the OpenAPI document (set by [`BearerAuth`]): 1 to
/// [`MAX_NAME`] characters.
pub(crate) const NAME_PATTERN: &str = text_pattern!(118);

/// An API error: status, stable code, message. Never carries internals.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The data directory refused a write: nothing was changed.
    pub(crate) fn storage() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the change could not be stored on this server's disk, so it was not made; try again or ask the operator",
        )
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_meeting", message)
    }

    /// The stable code (the audit log's result of a refused request).
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }
}

/// The meeting `id` names on this node, or 404 `not_found`.
pub(crate) fn meeting_by_id(state: &AppState, id: &str) -> Result<Arc<Meeting>, ApiError> {
    state.meetings.get(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no meeting with this id",
        )
    })
}

/// A JSON request body as `T`, or 400 `bad_request` naming where it fails ("body is not
/// `what`: at <path>: <reason>").
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("body is not {what}: at {at}: {}", e.into_inner()),
        )
    })
}

/// Body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`unauthorized`, `invalid_meeting`, `not_found`, `bad_request`).
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.into(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// A meeting to create (JSON body).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    /// Title shown to every site: 1 to 200 characters once leading and trailing white space
    /// is trimmed.
    #[schema(example = "Hội nghị giao ban trực tuyến tháng 11")]
    pub title: String,
    /// Name of the chairing site; default "Điểm cầu chủ trì". Rules as a site's name.
    #[serde(default)]
    pub chair_name: Option<String>,
    /// Expected sites, in the order the chair's grid shows them.
    #[schema(min_items = 1)]
    pub sites: Vec<SiteInput>,
    /// How long the invite links work, in hours (1–336, default 24).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 336)]
    pub valid_hours: Option<u32>,
    /// Most sites holding the floor at once (1–4, default 2).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub floor_limit: Option<u16>,
    /// Most tiles on the hall's grid page (1–25, default 16).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 25)]
    pub grid_page_size: Option<u16>,
}

/// An expected site.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    /// Display name, e.g. "UBND xã Tả Van": 1 to 120 characters once leading and trailing
    /// white space is trimmed, no control characters, unique in the meeting regardless of
    /// case.
    pub name: String,
}

/// Query parameters of a CSV import (`Content-Type: text/csv`). Query parameters, all
/// optional in the document (a JSON body carries these fields itself and leaves them unread):
/// without `parameter_in` utoipa documents them as required path parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvParams {
    /// Title shown to every site. Required with a `text/csv` body; unread with JSON.
    pub title: Option<String>,
    /// Name of the chairing site.
    pub chair_name: Option<String>,
    /// How long the invite links work, in hours.
    #[param(minimum = 1, maximum = 336)]
    pub valid_hours: Option<u32>,
    /// Most sites holding the floor at once.
    #[param(minimum = 1, maximum = 4)]
    pub floor_limit: Option<u16>,
    /// Most tiles on the hall's grid page.
    #[param(minimum = 1, maximum = 25)]
    pub grid_page_size: Option<u16>,
}

/// One invite link.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invite {
    /// Site id within the meeting.
    pub site_id: String,
    /// Display name.
    pub name: String,
    /// `chair`, `site` or `operator`.
    pub role: String,
    /// Link that opens the web client as this site.
    pub link: String,
}

/// A created meeting with its links.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingCreated {
    /// Meeting id.
    pub id: String,
    /// Title.
    pub title: String,
    /// When the links stop working, Unix seconds.
    pub expires_at: u64,
    /// The chair's link.
    pub chair: Invite,
    /// The operators' link.
    pub operator: Invite,
    /// One link per expected site, in the given order.
    pub sites: Vec<Invite>,
}

/// A meeting's roster entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterEntry {
    /// Site id.
    pub site_id: String,
    /// Display name.
    pub name: String,
    /// `chair`, `site` or `operator`.
    pub role: String,
    /// `waiting`, `joined` or `left`.
    pub state: String,
}

/// A meeting as the admin sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    /// Meeting id.
    pub id: String,
    /// Title.
    pub title: String,
    /// When the links stop working, Unix seconds.
    pub expires_at: u64,
    /// Whether the chair ended it.
    pub ended: bool,
    /// Sites connected now.
    pub connected: usize,
    /// Every expected site with its presence.
    pub roster: Vec<RosterEntry>,
}

pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = state.settings.admin_key.as_bytes();
    if given.is_empty() || !bool::from(given.as_bytes().ct_eq(expected)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the admin key as 'Authorization: Bearer <key>'",
        ));
    }
    Ok(())
}

/// Create a meeting and its invite links.
///
/// JSON body (`application/json`) as `CreateMeeting`, or a CSV list of site names
/// (`text/csv`, one name per line, optional header `name`) with `title` as a query parameter.
#[utoipa::path(
    post,
    path = "/api/v1/meetings",
    params(CsvParams),
    request_body(content(
        (CreateMeeting = "application/json"),
        (String = "text/csv", example = "name\nUBND xã Tả Van\nUBND xã Bản Hồ\n")
    )),
    responses(
        (status = 201, description = "Meeting created", body = MeetingCreated),
        (status = 400, description = "Body does not parse", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 422, description = "Meeting is not valid", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn create_meeting(
    State(state): State<Arc<AppState>>,
    params: Result<Query<CsvParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<MeetingCreated>), ApiError> {
    authorize(&state, &headers)?;
    // A malformed query gets the documented JSON error, not axum's plain-text rejection.
    let Query(params) =
        params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let req = if content_type.starts_with("text/csv") {
        CreateMeeting {
            title: params
                .title
                .ok_or_else(|| ApiError::invalid("a CSV import needs the title as ?title=..."))?,
            chair_name: params.chair_name,
            sites: parse_csv_sites(&body)?,
            valid_hours: params.valid_hours,
            floor_limit: params.floor_limit,
            grid_page_size: params.grid_page_size,
        }
    } else if content_type.starts_with("application/json") {
        json_body(&body, "a valid meeting")?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "send application/json or text/csv",
        ));
    };
    let created = create(&state, req)?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Reads site names from CSV: the `name` column if a header names it, else the first column.
fn parse_csv_sites(body: &[u8]) -> Result<Vec<SiteInput>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let mut rows = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("CSV line {}: {e}", i + 1),
            )
        })?;
        rows.push(rec);
    }
    let header_col = rows.first().and_then(|h| {
        h.iter().position(|c| {
            matches!(
                c.to_lowercase().as_str(),
                "name" | "tên" | "ten" | "site" | "điểm cầu"
            )
        })
    });
    let (col, skip) = match header_col {
        Some(c) => (c, 1),
        None => (0, 0),
    };
    Ok(rows
        .iter()
        .skip(skip)
        .filter_map(|r| r.get(col))
        .filter(|n| !n.is_empty())
        .map(|n| SiteInput { name: n.to_owned() })
        .collect())
}

pub(crate) fn clean_name(raw: &str, what: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::invalid(format!("{what} must not be empty")));
    }
    if name.chars().count() > MAX_NAME {
        return Err(ApiError::invalid(format!(
            "{what} is longer than {MAX_NAME} characters"
        )));
    }
    if let Some(why) = crate::text::refusal(name) {
        return Err(ApiError::invalid(format!("{what} {why}")));
    }
    Ok(name.to_owned())
}

/// The rule for a meeting title, at creation and at an edit (and its OpenAPI pattern):
/// 1 to [`MAX_TITLE`] characters once trimmed, no control or invisible characters.
pub(crate) fn check_title(raw: &str) -> Result<String, ApiError> {
    let title = raw.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(ApiError::invalid(format!(
            "title must be 1 to {MAX_TITLE} characters"
        )));
    }
    if let Some(why) = crate::text::refusal(title) {
        return Err(ApiError::invalid(format!("title {why}")));
    }
    Ok(title.to_owned())
}

/// Validates a request and creates the meeting. Used by the API and the demo.
pub fn create(state: &AppState, req: CreateMeeting) -> Result<MeetingCreated, ApiError> {
    let title = check_title(&req.title)?;
    let title = title.as_str();
    let max_sites = state.settings.limits.sites_per_meeting;
    if req.sites.is_empty() || req.sites.len() > max_sites {
        return Err(ApiError::invalid(format!(
            "a meeting needs 1 to {max_sites} sites (limits.sites_per_meeting), got {}",
            req.sites.len()
        )));
    }
    let hours = req.valid_hours.unwrap_or(DEFAULT_VALID_HOURS);
    if hours == 0 || hours > MAX_VALID_HOURS {
        return Err(ApiError::invalid(format!(
            "valid_hours must be 1 to {MAX_VALID_HOURS}"
        )));
    }
    let chair_name = clean_name(
        req.chair_name.as_deref().unwrap_or("Điểm cầu chủ trì"),
        "chair_name",
    )?;
    let mut sites = vec![ExpectedSite {
        id: "chair".into(),
        name: chair_name,
        role: Role::Chair,
    }];
    // Names the chair could not tell apart (see `text::skeleton`) are refused here, so
    // no meeting ever shows two of them.
    let mut seen = std::collections::HashMap::new();
    seen.insert(
        crate::text::skeleton(&sites[0].name),
        "chair_name".to_owned(),
    );
    for (i, s) in req.sites.iter().enumerate() {
        let what = format!("site {}", i + 1);
        let name = clean_name(&s.name, &what)?;
        if let Some(first) = seen.insert(crate::text::skeleton(&name), what.clone()) {
            return Err(ApiError::invalid(format!(
                "{what} name \"{name}\" appears twice: it looks the same as {first}'s name; give them names that differ"
            )));
        }
        sites.push(ExpectedSite {
            id: format!("s{}", i + 1),
            name,
            role: Role::Site,
        });
    }
    sites.push(ExpectedSite {
        id: "operator".into(),
        name: "Kỹ thuật viên".into(),
        role: Role::Operator,
    });
    let floor_limit = req.floor_limit.unwrap_or(DEFAULT_FLOOR_LIMIT);
    if !(1..=MAX_FLOOR_LIMIT).contains(&floor_limit) {
        return Err(ApiError::invalid(format!(
            "floor_limit must be 1 to {MAX_FLOOR_LIMIT}"
        )));
    }
    let grid_slots = req.grid_page_size.unwrap_or(DEFAULT_GRID_PAGE);
    if !(1..=MAX_GRID_PAGE).contains(&grid_slots) {
        return Err(ApiError::invalid(format!(
            "grid_page_size must be 1 to {MAX_GRID_PAGE}"
        )));
    }
    let now = unix_now();
    let expires_at = now + u64::from(hours) * 3600;
    let id = format!("m-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let store = state
        .settings
        .data_dir
        .as_ref()
        .map(|dir| crate::store::MeetingStore::open(dir, &id));
    let options = MeetingOptions {
        floor_limit,
        grid_slots,
    };
    let kept = store.is_some();
    let state_of = MeetingState::new(
        id.clone(),
        title.to_owned(),
        expires_at,
        sites,
        options,
        kept,
    );
    let meeting = Meeting::new(state_of, store);
    let created = invites(state, &meeting);
    // `201` means durable: the meeting and the links just signed survive a crash.
    if let Err(e) = meeting.save_now() {
        tracing::error!(meeting = %id, "cannot store the new meeting: {e}");
        return Err(ApiError::storage());
    }
    let admin = crate::audit::Actor::admin();
    crate::audit::record_now(state, &id, admin, "create_meeting", None, "ok");
    state.meetings.insert(meeting);
    state.metrics.meetings.set(state.meetings.active() as i64);
    Ok(created)
}

/// Signs the link of `site` with token id `jti`.
pub(crate) fn invite(
    state: &AppState,
    meeting: &Meeting,
    site: &ExpectedSite,
    jti: String,
) -> Invite {
    let token = state.keys.sign(&Claims {
        mid: meeting.id.clone(),
        sid: site.id.clone(),
        role: site.role,
        exp: meeting.expires_at,
        iat: unix_now(),
        jti,
    });
    let base = state.settings.public_url.trim_end_matches('/');
    Invite {
        site_id: site.id.clone(),
        name: site.name.clone(),
        role: site.role.as_str().into(),
        link: format!("{base}/join#t={token}"),
    }
}

/// A new token id: what a revocation names.
pub(crate) fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Signs a fresh link for every expected site of a meeting and makes each the site's one
/// valid link (earlier ones stop working).
pub fn invites(state: &AppState, meeting: &Meeting) -> MeetingCreated {
    let invite = |s: &ExpectedSite| {
        let jti = new_jti();
        let link = membership::SetLink {
            site: s.id.clone(),
            jti: jti.clone(),
        };
        let _ = meeting.apply(link, state);
        invite(state, meeting, s, jti)
    };
    let sites = meeting.read(|m| m.sites().to_vec());
    let pick = |r: Role| {
        sites
            .iter()
            .find(|s| s.role == r)
            .map(invite)
            .expect("every meeting has a chair and an operator")
    };
    MeetingCreated {
        id: meeting.id.clone(),
        title: meeting.read(|m| m.title().to_owned()),
        expires_at: meeting.expires_at,
        chair: pick(Role::Chair),
        operator: pick(Role::Operator),
        sites: sites
            .iter()
            .filter(|s| s.role == Role::Site)
            .map(invite)
            .collect(),
    }
}

pub(crate) fn view(m: &Meeting) -> MeetingView {
    MeetingView {
        id: m.id.clone(),
        title: m.read(|s| s.title().to_owned()),
        expires_at: m.expires_at,
        ended: m.read(MeetingState::is_ended),
        connected: m.read(MeetingState::connected),
        roster: m
            .read(MeetingState::roster)
            .into_iter()
            .map(|s| RosterEntry {
                site_id: s.id,
                name: s.name,
                role: s.role.as_str().into(),
                state: s.state.as_str().into(),
            })
            .collect(),
    }
}

/// Most meetings on one page of the list.
pub const MAX_PAGE: usize = 500;
/// Meetings on a page when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;

/// Which page of the meeting list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Most meetings on this page (1–500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// Cursor: the id of the last meeting of the previous page; this page starts after it.
    pub after: Option<String>,
}

/// The page of meetings after `after` (by id), at most `limit` of them.
fn page(mut all: Vec<Arc<Meeting>>, after: Option<&str>, limit: usize) -> Vec<Arc<Meeting>> {
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.into_iter()
        .filter(|m| after.is_none_or(|a| m.id.as_str() > a))
        .take(limit)
        .collect()
}

/// List meetings, a page at a time.
///
/// Meetings come in the order of their ids. A page holds at most `limit`; for the next page,
/// send the id of this page's last meeting as `after`. A page with fewer than `limit`
/// meetings is the last.
#[utoipa::path(
    get,
    path = "/api/v1/meetings",
    params(ListParams),
    responses(
        (status = 200, description = "One page of the meetings held", body = [MeetingView]),
        (status = 400, description = "limit is not 1 to 500", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn list_meetings(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<Vec<MeetingView>>, ApiError> {
    authorize(&state, &headers)?;
    let Query(params) =
        params.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("limit must be 1 to {MAX_PAGE}"),
        ));
    }
    let meetings = page(state.meetings.all(), params.after.as_deref(), limit);
    Ok(Json(meetings.iter().map(|m| view(m)).collect()))
}

/// One meeting with its roster.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingView),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_meeting(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MeetingView>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    Ok(Json(view(&m)))
}

/// Admin key, or the token of this meeting's chair, a co-chair or an operator: who it is
/// (for the audit log). `what` names what is read, in the refusal of a site's token.
pub(crate) fn authorize_records(
    state: &AppState,
    headers: &HeaderMap,
    meeting_id: &str,
    what: &str,
) -> Result<crate::audit::Actor, ApiError> {
    let holders = Holders {
        allowed: |role, cochair| matches!(role, Role::Chair | Role::Operator) || cochair,
        named: "the chair's or an operator's",
    };
    authorize_holder(
        state,
        headers,
        meeting_id,
        &holders,
        &format!("only the chair, co-chairs and operators read {what}"),
    )
}

/// Which invite tokens an endpoint takes besides the admin key.
pub(crate) struct Holders {
    /// Whether a site of `role`, holding the co-chair right or not, may.
    pub allowed: fn(Role, bool) -> bool,
    /// Whose tokens, in the 401's message ("the chair's or an operator's").
    pub named: &'static str,
}

/// Admin key, or a current invite token of this meeting that `holders` allows: who it is
/// (for the audit log). A token that proves nothing here (bad, expired, revoked, another
/// meeting's) gets 401; a valid one of a site `holders` does not allow gets 403 `forbidden`
/// with `forbidden` as its message.
pub(crate) fn authorize_holder(
    state: &AppState,
    headers: &HeaderMap,
    meeting_id: &str,
    holders: &Holders,
    forbidden: &str,
) -> Result<crate::audit::Actor, ApiError> {
    if authorize(state, headers).is_ok() {
        return Ok(crate::audit::Actor::admin());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let unauthorized = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!(
                "send the admin key, or {} invite token, as 'Authorization: Bearer ...'",
                holders.named
            ),
        )
    };
    let claims = state.keys.verify(token).map_err(|_| unauthorized())?;
    let revoked = state
        .meetings
        .get(meeting_id)
        .is_some_and(|m| !m.read(|s| s.link_is_current(&claims.sid, &claims.jti)));
    if claims.mid != meeting_id || revoked {
        return Err(unauthorized());
    }
    let meeting = state.meetings.get(meeting_id);
    let cochair = meeting
        .as_ref()
        .is_some_and(|m| m.read(|s| s.rules().cochairs.contains(&claims.sid)));
    if !(holders.allowed)(claims.role, cochair) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", forbidden));
    }
    let name = meeting
        .and_then(|m| m.read(|s| s.site(&claims.sid).map(|x| x.name.clone())))
        .unwrap_or_default();
    Ok(crate::audit::Actor::site(
        &claims.sid,
        &name,
        claims.role,
        cochair,
    ))
}

/// Whether `id` could name a meeting's files (no path can be smuggled through it).
pub(crate) fn safe_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn attendance_of(state: &AppState, id: &str) -> Result<Attendance, ApiError> {
    if let Some(m) = state.meetings.get(id) {
        return Ok(m.attendance());
    }
    // Kept on disk after the meeting (and after a restart).
    let stored = state
        .settings
        .data_dir
        .as_ref()
        .filter(|_| safe_id(id))
        .and_then(|dir| rollcall::load(&rollcall::file_for(dir, id)));
    stored.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no meeting with this id",
        )
    })
}

/// The roll call of a meeting as JSON.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/attendance",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The roll call", body = Attendance),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read it", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_attendance(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Attendance>, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the roll call")?;
    let attendance = attendance_of(&state, &id)?;
    crate::audit::record(&state, &id, actor, "download_attendance", None, "ok").await;
    Ok(Json(attendance))
}

/// Query of the roll call's CSV.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// The language wanted: `vi` for Vietnamese headers, local times (UTC+7) and `;` with
    /// decimal commas (what a Vietnamese-locale Excel opens into columns, see
    /// `rollcall::to_csv_vi`); `en` or none for English, UTC and `,`. A language the server
    /// does not have falls back to English, as a language preference does.
    pub lang: Option<String>,
}

/// The roll call of a meeting as CSV (UTF-8 with BOM), one line per expected site:
/// `?lang=vi` for Vietnamese headers and local times (`;`-separated for Vietnamese Excel).
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/attendance.csv",
    params(("id" = String, Path, description = "Meeting id"), CsvQuery),
    responses(
        (status = 200, description = "The roll call", content_type = "text/csv", body = String),
        (status = 400, description = "The query does not parse", body = ErrorBody),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read it", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn get_attendance_csv(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    query: Result<Query<CsvQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the roll call")?;
    let Query(query) =
        query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text()))?;
    let attendance = attendance_of(&state, &id)?;
    let csv = match query.lang.as_deref() {
        Some("vi") => rollcall::to_csv_vi(&attendance),
        _ => rollcall::to_csv(&attendance),
    };
    crate::audit::record(&state, &id, actor, "download_attendance_csv", None, "ok").await;
    let disposition = format!("attachment; filename=\"diem-danh-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_header_uses_the_name_column() {
        let sites =
            parse_csv_sites("stt,name\n1,UBND xã Tả Van\n2, UBND xã Bản Hồ \n".as_bytes()).unwrap();
        let names: Vec<_> = sites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["UBND xã Tả Van", "UBND xã Bản Hồ"]);
    }

    #[test]
    fn csv_without_header_uses_every_line() {
        let sites = parse_csv_sites("Xã A\n\nXã B\n".as_bytes()).unwrap();
        assert_eq!(sites.len(), 2);
    }

    #[test]
    fn openapi_documents_every_route() {
        let doc = serde_json::to_value(crate::api_routes::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/v1/meetings"));
        assert!(paths.contains_key("/api/v1/meetings/{id}"));
        assert!(doc["paths"]["/api/v1/meetings"]["post"]["requestBody"].is_object());
        let one = &doc["paths"]["/api/v1/meetings/{id}"];
        assert!(one["patch"]["requestBody"].is_object() && one["delete"].is_object());
        assert!(paths.contains_key("/api/v1/meetings/{id}/end"));
        assert!(paths.contains_key("/api/v1/meetings/{id}/sites/{site_id}/link"));
        let list: Vec<(&str, &str)> = doc["paths"]["/api/v1/meetings"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
            .collect();
        assert_eq!(list, [("limit", "query"), ("after", "query")]);
    }

    #[test]
    fn openapi_ranges_are_the_ones_enforced() {
        let doc = serde_json::to_value(crate::api_routes::openapi()).unwrap();
        let props = &doc["components"]["schemas"]["CreateMeeting"]["properties"];
        let range = |field: &str| {
            (
                props[field]["minimum"].as_u64(),
                props[field]["maximum"].as_u64(),
            )
        };
        assert_eq!(
            range("valid_hours"),
            (Some(1), Some(u64::from(MAX_VALID_HOURS)))
        );
        assert_eq!(
            range("floor_limit"),
            (Some(1), Some(u64::from(MAX_FLOOR_LIMIT)))
        );
        assert_eq!(
            range("grid_page_size"),
            (Some(1), Some(u64::from(MAX_GRID_PAGE)))
        );
        assert_eq!(props["sites"]["minItems"], 1);
    }

    /// The patterns in the document are the rules of `create` and `clean_name`: the limits
    /// they spell out and the cases they tell apart.
    #[test]
    fn openapi_patterns_match_the_rules() {
        let doc = serde_json::to_value(crate::api_routes::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["CreateMeeting"]["properties"]["title"]["pattern"],
            TITLE_PATTERN
        );
        assert_eq!(
            schemas["CreateMeeting"]["properties"]["chair_name"]["pattern"],
            NAME_PATTERN
        );
        assert_eq!(
            schemas["SiteInput"]["properties"]["name"]["pattern"],
            NAME_PATTERN
        );
        assert!(TITLE_PATTERN.contains("{0,198}") && MAX_TITLE == 200);
        assert!(NAME_PATTERN.contains("{0,118}") && MAX_NAME == 120);
        for ok in ["a", " UBND xã Tả Van\t", "\u{3000}x\n"] {
            assert!(clean_name(ok, "n").is_ok(), "{ok:?}");
        }
        for bad in ["", " \t", "a\u{1}b", "a\tb", "a\u{202e}b", "\u{200b}a"] {
            assert!(clean_name(bad, "n").is_err(), "{bad:?}");
        }
        assert!(
            NAME_PATTERN.contains(&crate::text::format_class()),
            "the document names the same format characters as the check"
        );
    }
}
