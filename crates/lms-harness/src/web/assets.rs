//! The demo platform's images (the group's logo, session covers), served from files built into the binary, so
//! that the simulated Slack shows real pictures without any network.

use super::errors::not_found;
use super::urls::{DEFAULT_COVER, LOGO};
use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;

const LOGO_PNG: &[u8] = include_bytes!("../assets/acme-logo.png");
const DEFAULT_COVER_PNG: &[u8] = include_bytes!("../assets/default-cover.png");
const SESSION_COVER_PNG: &[u8] = include_bytes!("../assets/session-cover.png");

/// The routes of the images.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(LOGO, get(|| async { png(LOGO_PNG) }))
        .route(DEFAULT_COVER, get(|| async { png(DEFAULT_COVER_PNG) }))
        .route("/static/covers/{file}", get(cover))
}

fn png(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        bytes,
    )
        .into_response()
}

async fn cover(Path(file): Path<String>) -> Response {
    if file.ends_with(".png") {
        png(SESSION_COVER_PNG)
    } else {
        not_found()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_images_are_pngs() {
        for png in [LOGO_PNG, DEFAULT_COVER_PNG, SESSION_COVER_PNG] {
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        }
    }
}
