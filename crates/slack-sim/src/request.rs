//! What the page and `/_sim/*` handlers read from a request: form and query fields, the signed-in member's
//! cookie, whether a browser sent it; and the cookie that signs a member in.

use std::collections::HashMap;

use axum::response::Response;
use http::{HeaderMap, header};
use serde_json::{Map, Value};

/// The cookie naming the member signed in to the simulated workspace.
const MEMBER_COOKIE: &str = "sim_member";

/// Form or query fields by name (a repeated name: the last value).
pub fn form_pairs(form: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(form)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `key` in a query string.
pub fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The value of the cookie `name`, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(';'))
        .find_map(|part| {
            part.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

/// The member signed in by the `sim_member` cookie, if any.
pub fn member_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, MEMBER_COOKIE)
}

/// Adds the cookie that signs `member_id` in.
pub fn set_member_cookie(response: &mut Response, member_id: &str) {
    let cookie = format!("{MEMBER_COOKIE}={member_id}; Path=/; SameSite=Lax; HttpOnly");
    if let Ok(v) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether the request asks for HTML (a browser).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// Whether the body is a form (posted by a page of the simulation).
pub fn is_form(headers: &HeaderMap) -> bool {
    has_content_type(headers, "application/x-www-form-urlencoded")
}

/// Whether the body's media type is `media_type` (parameters such as `charset` aside, any case).
pub fn has_content_type(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
}

/// A JSON object or form body as a map (anything else: empty).
pub fn body_fields(headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    if is_form(headers) {
        return form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
