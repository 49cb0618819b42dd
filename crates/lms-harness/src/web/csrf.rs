//! Refusing requests that change something unless they come from this site's own pages. One layer over every
//! state-changing route of the pages (the sign-in form included) checks both:
//!
//! - the `Origin` header names this site (the request's own `Host`); a missing or `null` origin is refused, since
//!   browsers send one with every POST;
//! - the form carries the browser's CSRF token (the hidden field [`CSRF_FIELD`]): an HMAC of the browser's session
//!   cookie under a key of this process, compared in constant time. A page rendered before a restart needs a reload.

use super::App;
use super::errors::{Both, plain_page};
use super::frame::CSRF_FIELD;
use super::limits::FORM_BYTES;
use super::session::BrowserId;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, StatusCode, header};
use sha2::Sha256;

/// The key the tokens are made with, new at every start.
pub(super) struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// The key of the LMS's pages, derived from its secrets key: the same on every host sharing the database and
    /// across restarts, so that a form shown by one host is accepted by another.
    pub(super) fn of(db: &lms::db::Db) -> CsrfKey {
        CsrfKey(db.derived_key("lms-harness pages csrf"))
    }

    fn mac(&self, browser: &BrowserId) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"lms-csrf:");
        mac.update(browser.as_str().as_bytes());
        mac
    }

    /// The token of the forms shown to `browser`.
    pub(super) fn token(&self, browser: &BrowserId) -> String {
        hex::encode(self.mac(browser).finalize().into_bytes())
    }

    /// Whether `token` is the token of `browser` (constant-time).
    pub(super) fn verify(&self, browser: &BrowserId, token: &str) -> bool {
        hex::decode(token).is_ok_and(|t| self.mac(browser).verify_slice(&t).is_ok())
    }
}

/// Whether the request's `Origin` is this site: `http://` or `https://` followed by the request's own `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (value(header::ORIGIN), value(header::HOST)) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Why a state-changing request is refused, or `None` when it holds.
fn refusal(app: &App, headers: &HeaderMap, body: &[u8]) -> Option<Both<'static>> {
    if !same_origin(headers) {
        return Some((
            "This form was posted from another site, or without saying where from; nothing was changed.",
            "Ce formulaire a été envoyé depuis un autre site, ou sans dire d'où ; rien n'a été changé.",
        ));
    }
    let Some(browser) = BrowserId::from_headers(headers) else {
        return Some((
            "Your browser sent no session cookie; reload the page and try again.",
            "Votre navigateur n'a envoyé aucun cookie de session ; rechargez la page et réessayez.",
        ));
    };
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let token = form_urlencoded::parse(body)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    match token {
        Some(t) if form_encoded && app.csrf.verify(&browser, &t) => None,
        _ => Some((
            "This form's security token is missing or out of date; reload the page and try again.",
            "Le jeton de sécurité de ce formulaire manque ou n'est plus valable ; rechargez la page et réessayez.",
        )),
    }
}

/// The layer: lets reads through, and a state-changing request only from this site's pages with the browser's
/// token.
pub(super) async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body was already read (and bounded) by the body layer; this only collects it again.
    let Ok(bytes) = axum::body::to_bytes(body, FORM_BYTES).await else {
        return plain_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            ("Refused", "Refusé"),
            ("This form is too large.", "Ce formulaire est trop grand."),
        );
    };
    if let Some(why) = refusal(&app, &parts.headers, &bytes) {
        tracing::warn!(path = parts.uri.path(), "form refused: {}", why.0);
        return plain_page(StatusCode::FORBIDDEN, ("Refused", "Refusé"), why);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_belong_to_their_browser() {
        let key = CsrfKey([1; 32]);
        let (a, b) = (BrowserId::new(), BrowserId::new());
        let t = key.token(&a);
        assert!(key.verify(&a, &t));
        assert!(!key.verify(&b, &t));
        assert!(!key.verify(&a, ""));
        assert!(!key.verify(&a, "zz"));
        assert!(CsrfKey([1; 32]).verify(&a, &t), "another host with the key");
        assert!(!CsrfKey([2; 32]).verify(&a, &t), "another key");
    }

    #[test]
    fn only_this_site_is_the_same_origin() {
        let headers = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers(Some("http://127.0.0.1:8080"))));
        for o in [
            None,
            Some("null"),
            Some("http://evil.example"),
            Some("http://127.0.0.1:8081"),
            Some("http://127.0.0.1:8080.evil.example"),
            Some("127.0.0.1:8080"),
        ] {
            assert!(!same_origin(&headers(o)), "{o:?}");
        }
    }
}
