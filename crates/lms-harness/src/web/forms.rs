//! Posted forms: their fields, and refusing those posted from another site.

use super::App;
use super::errors::plain_page;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, StatusCode, header};
use std::collections::HashMap;

/// A posted form's fields.
pub(super) type Fields = HashMap<String, String>;

/// A field's value, empty when absent.
pub(super) fn value<'a>(form: &'a Fields, key: &str) -> &'a str {
    form.get(key).map(String::as_str).unwrap_or("")
}

/// Refuses a form posted from another site (the acting-user cookie is not a credential, but a harness page should
/// still not be driven by another origin); a layer over every route of the pages.
pub(super) async fn same_site(State(app): State<App>, request: Request, next: Next) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    match origin {
        Some(o) if request.method() == Method::POST && o != "null" && o != app.base => plain_page(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was posted from another site.",
        ),
        _ => next.run(request).await,
    }
}
