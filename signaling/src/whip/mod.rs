//! The hall's own equipment over HTTP: WHIP ingest (RFC 9725) at `/whip/v1/{meeting}` and
//! WHEP playback (draft-ietf-wish-whep) at `/whep/v1/{meeting}`. A `POST` of an SDP offer
//! with a media token ([`token`]) answers `201 Created` with the SDP answer, the resource's
//! `Location` and an `ETag`; `DELETE` on the resource ends it; `PATCH` trickles candidates
//! ([`trickle`]); `OPTIONS` answers CORS preflights (browser-based clients; OBS and
//! GStreamer do not need them).
//!
//! What a publication stands in for and who receives a player's program is the meeting's
//! business ([`crate::meeting::ingest`], [`crate::route`]); this module only speaks HTTP.

pub mod error;
pub mod resource;
pub mod token;
pub mod trickle;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::post;
use axum::Router;

use crate::state::AppState;

/// WHIP or WHEP: the two endpoints differ in the offer they take and the token roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Ingest (a publisher).
    Whip,
    /// Playback (a player).
    Whep,
}

impl Endpoint {
    /// The path prefix of its resources.
    pub fn base(self) -> &'static str {
        match self {
            Endpoint::Whip => "/whip/v1",
            Endpoint::Whep => "/whep/v1",
        }
    }

    /// The offer's layout.
    pub fn profile(self) -> sfu::offer_check::Profile {
        match self {
            Endpoint::Whip => sfu::offer_check::Profile::Ingest,
            Endpoint::Whep => sfu::offer_check::Profile::Viewer,
        }
    }

    /// Whether a token of `role` may use it.
    pub fn accepts(self, role: token::MediaRole) -> bool {
        (role == token::MediaRole::Viewer) == (self == Endpoint::Whep)
    }
}

/// The routes of both endpoints, with CORS for browser-based clients.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/whip/v1/{meeting}",
            post(resource::whip_create).options(resource::preflight),
        )
        .route(
            "/whip/v1/{meeting}/{resource}",
            axum::routing::delete(resource::whip_delete)
                .patch(resource::whip_patch)
                .options(resource::preflight),
        )
        .route(
            "/whep/v1/{meeting}",
            post(resource::whep_create).options(resource::preflight),
        )
        .route(
            "/whep/v1/{meeting}/{resource}",
            axum::routing::delete(resource::whep_delete)
                .patch(resource::whep_patch)
                .options(resource::preflight),
        )
        .layer(cors_header(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .layer(cors_header(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Location, ETag, Link, Accept-Patch"),
        ))
}

/// Every answer may be read by a page of any origin: the credential is the bearer token,
/// never a cookie, so `*` gives a foreign page nothing it did not already hold.
fn cors_header(
    name: header::HeaderName,
    value: HeaderValue,
) -> tower_http::set_header::SetResponseHeaderLayer<HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(name, value)
}

/// Sets the meeting's equipment gauges from what it holds now.
pub fn count(state: &AppState, meeting: &crate::meeting::Meeting) {
    use crate::meeting::ingest::IngestRole;
    let (viewers, camera, presentation) = meeting.read(|m| {
        (
            m.viewers().len() as i64,
            i64::from(m.ingest_taken(IngestRole::ChairCamera)),
            i64::from(m.ingest_taken(IngestRole::Presentation)),
        )
    });
    let g = &state.metrics.media_endpoints;
    g.with_label_values(&[&meeting.id, "viewer"]).set(viewers);
    g.with_label_values(&[&meeting.id, "chair-camera"])
        .set(camera);
    g.with_label_values(&[&meeting.id, "presentation"])
        .set(presentation);
}
