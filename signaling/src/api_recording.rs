//! The recording through the API: the admin starts and stops it (as the chair does with
//! `recording`), and the admin, the chair, a co-chair or an operator lists and downloads
//! its files. Every start, stop and download is an audit line.
//!
//! Retention: as roll calls (see [`crate::retention`]), the files stay in
//! `<data_dir>/recordings/<meeting>/` after the meeting leaves memory; deleting old
//! recordings is the operator's archive policy. So they are listed and served as long as
//! the folder is there.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::api::{authorize, authorize_records, meeting_by_id, safe_id, ApiError, ErrorBody};
use crate::audit::{self, Actor};
use crate::meeting::recording::{Start, Stop};
use crate::protocol::{ErrorCode, Refusal};
use crate::recording;
use crate::state::AppState;

/// Whether a meeting is being recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordingState {
    /// Meeting id.
    pub meeting_id: String,
    /// Recording now.
    pub recording: bool,
    /// Since when, Unix ms (while recording).
    pub since_ms: Option<u64>,
}

/// One file of a meeting's recording: one segment of one track.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordingFileView {
    /// The file's name (download it at `.../recordings/{file}`).
    pub file: String,
    /// Its track: `<site id>-<audio|camera|screen>` (`feed-chair`, `feed-presentation` for
    /// the hall's WHIP feeds).
    pub track: String,
    /// When its first frame arrived, Unix ms.
    pub start_ms: u64,
    /// Its size now (a file being written grows).
    pub bytes: u64,
}

/// A meeting's recording files.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordingList {
    /// Meeting id.
    pub meeting_id: String,
    /// Recording now.
    pub recording: bool,
    /// Every file, by start time then track.
    pub files: Vec<RecordingFileView>,
}

/// The meeting's refusal as an API error.
fn refused(r: Refusal) -> ApiError {
    let code = match r.code {
        ErrorCode::AlreadyRecording => "already_recording",
        ErrorCode::NotRecording => "not_recording",
        ErrorCode::RecordingUnavailable => "recording_unavailable",
        _ => {
            tracing::error!(code = r.code.as_str(), "recording refused: {}", r.message);
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed",
            );
        }
    };
    ApiError::new(StatusCode::CONFLICT, code, r.message)
}

fn state_of(state: &AppState, id: &str) -> Result<RecordingState, ApiError> {
    let m = meeting_by_id(state, id)?;
    let on = m.read(|s| s.recording());
    Ok(RecordingState {
        meeting_id: id.to_owned(),
        recording: on.is_some(),
        since_ms: on.map(|o| o.since_ms),
    })
}

/// Start recording the meeting's program.
///
/// What is recorded: the chair, floor holders, the presenter and the hall's WHIP feeds,
/// followed as the floor moves; every participant is told (`recording` on the WebSocket).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/recording",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Recording", body = RecordingState),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Recorded already (`already_recording`), or it cannot be (`recording_unavailable`: ended, or no data directory)", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn start_recording(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RecordingState>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let answer = m.apply(Start, &state).map_err(refused);
    audited(&state, &id, "recording_start", answer).await?;
    Ok(Json(state_of(&state, &id)?))
}

/// Stop recording the meeting; its files are closed.
#[utoipa::path(
    delete,
    path = "/api/v1/meetings/{id}/recording",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Not recording any more", body = RecordingState),
        (status = 401, description = "Missing or wrong admin key", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Not being recorded (`not_recording`)", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn stop_recording(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RecordingState>, ApiError> {
    authorize(&state, &headers)?;
    let m = meeting_by_id(&state, &id)?;
    let stop = Stop { reason: "stopped" };
    let answer = m.apply(stop, &state).map_err(refused);
    audited(&state, &id, "recording_stop", answer).await?;
    Ok(Json(state_of(&state, &id)?))
}

async fn audited(
    state: &AppState,
    id: &str,
    action: &str,
    answer: Result<(), ApiError>,
) -> Result<(), ApiError> {
    let result = answer.as_ref().map_or_else(ApiError::code, |_| "ok");
    audit::record(state, id, Actor::admin(), action, None, result).await;
    answer
}

/// The meeting's recording folder, if the meeting is known (held, or its folder is there).
fn folder(state: &AppState, id: &str) -> Result<std::path::PathBuf, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no meeting with this id",
        )
    };
    let data = state.settings.data_dir.as_deref().filter(|_| safe_id(id));
    let Some(data) = data else {
        return Err(not_found());
    };
    let dir = recording::meeting_dir(data, id);
    if state.meetings.get(id).is_none() && !dir.is_dir() {
        return Err(not_found());
    }
    Ok(dir)
}

/// The files of a meeting's recording, each with its track, start and size.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/recordings",
    params(("id" = String, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The recording's files", body = RecordingList),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read them", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn list_recordings(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RecordingList>, ApiError> {
    authorize_records(&state, &headers, &id, "the recording")?;
    let dir = folder(&state, &id)?;
    let recording = state
        .meetings
        .get(&id)
        .is_some_and(|m| m.read(|s| s.recording().is_some()));
    let files = tokio::task::spawn_blocking(move || list(&dir))
        .await
        .unwrap_or_default();
    Ok(Json(RecordingList {
        meeting_id: id,
        recording,
        files,
    }))
}

/// The recorder's files in `dir` (named `<track>-<start ms>.webm`), by start then track.
fn list(dir: &std::path::Path) -> Vec<RecordingFileView> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<RecordingFileView> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (track, start_ms) = recording::parse_name(&name)?;
            let track = track.to_owned();
            let bytes = e.metadata().ok().filter(|m| m.is_file())?.len();
            Some(RecordingFileView {
                file: name,
                track,
                start_ms,
                bytes,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.start_ms, &a.track).cmp(&(b.start_ms, &b.track)));
    out
}

/// Download one file of a meeting's recording (WebM: VP8 or Opus).
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/recordings/{file}",
    params(
        ("id" = String, Path, description = "Meeting id"),
        ("file" = String, Path, description = "A file name from the list")
    ),
    responses(
        (status = 200, description = "The file", content_type = "video/webm", body = String),
        (status = 401, description = "No admin key or meeting token", body = ErrorBody),
        (status = 403, description = "The token's site may not read it", body = ErrorBody),
        (status = 404, description = "No such meeting or file", body = ErrorBody)
    ),
    security(("admin" = []))
)]
pub(crate) async fn download_recording(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let actor = authorize_records(&state, &headers, &id, "the recording")?;
    let dir = folder(&state, &id)?;
    let no_file = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such recording file");
    // Only a name the recorder writes: no path can be smuggled through it.
    let plain = file
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !plain || recording::parse_name(&file).is_none() {
        return Err(no_file());
    }
    let f = tokio::fs::File::open(dir.join(&file))
        .await
        .map_err(|_| no_file())?;
    let len = f.metadata().await.map_err(|_| no_file())?.len();
    audit::record(
        &state,
        &id,
        actor,
        "download_recording",
        Some(file.clone()),
        "ok",
    )
    .await;
    let body = Body::from_stream(chunks(f));
    Ok((
        [
            (header::CONTENT_TYPE, "video/webm".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// The file in 64 KiB pieces, so a long recording is never held in memory whole.
fn chunks(
    f: tokio::fs::File,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold(Some(f), |f| async move {
        use tokio::io::AsyncReadExt;
        let mut f = f?;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}
