//! Error pages: internal errors, pages that do not exist, forms posted from another site.

use super::frame::bare_page;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

/// An internal error, shown as a page.
pub(super) struct WebError(anyhow::Error);

impl<E: Into<anyhow::Error>> From<E> for WebError {
    fn from(e: E) -> Self {
        WebError(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!("LMS page error: {:#}", self.0);
        plain_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            &format!("{:#}", self.0),
        )
    }
}

/// What a handler answers.
pub(super) type Page = Result<Response, WebError>;

/// A page without the layout.
pub(super) fn plain_page(status: StatusCode, title: &str, detail: &str) -> Response {
    (status, Html(bare_page(title, detail).into_string())).into_response()
}

/// The 404 page.
pub(super) fn not_found() -> Response {
    plain_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}
