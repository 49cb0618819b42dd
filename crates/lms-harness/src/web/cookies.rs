//! Reading and setting the site's cookies: the browser's session id ([`super::session::COOKIE`]), and the message
//! for the next page.

use axum::response::Response;
use http::{HeaderMap, header};

/// The message the next page shows.
pub(super) const FLASH: &str = "lms_flash";

/// A cookie's value as sent (still percent-encoded).
pub(super) fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .find_map(|p| p.trim().strip_prefix(name)?.strip_prefix('='))
}

/// A percent-encoded value, decoded.
pub(super) fn decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={s}").as_bytes())
        .map(|(_, v)| v.into_owned())
        .next()
        .unwrap_or_default()
}

/// Adds a `Set-Cookie` header: `name=value` (already encoded) for the whole site, or its removal when `value` is
/// `None`.
pub(super) fn set(response: &mut Response, name: &str, value: Option<&str>) {
    let cookie = match value {
        Some(v) => format!("{name}={v}; Path=/; SameSite=Lax; HttpOnly"),
        None => format!("{name}=; Path=/; Max-Age=0; SameSite=Lax; HttpOnly"),
    };
    if let Ok(v) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}
