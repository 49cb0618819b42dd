//! Browser sessions and the token every form of the simulation's pages carries (against cross-site request
//! forgery): a page gives the browser a random session cookie if it has none and puts the session's token, an
//! HMAC of the session under a key of this process, in each form; a form posted without the token of the
//! browser's session is refused (see `guard`).

use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, header};
use maud::{Markup, html};
use rand::Rng;
use sha2::Sha256;

use crate::request::cookie;

/// The form field carrying the token.
pub const FIELD: &str = "csrf_token";

/// The cookie naming the browser's session.
const SESSION_COOKIE: &str = "sim_session";

/// Length of a session ID, in hex digits.
const SESSION_HEX: usize = 32;

/// The key the tokens are derived with (random, for the life of the process).
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    /// A fresh random key.
    pub fn random() -> Self {
        CsrfKey(rand::rng().random())
    }

    /// The HMAC of `session` under the key.
    fn mac(&self, session: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(session.as_bytes());
        mac
    }

    /// The token of the browser's session for a page's forms; a new session when the browser has none.
    pub fn for_page(&self, headers: &HeaderMap) -> PageToken {
        let (session, new_session) = match session_of(headers) {
            Some(s) => (s, false),
            None => {
                let id: [u8; SESSION_HEX / 2] = rand::rng().random();
                (hex::encode(id), true)
            }
        };
        PageToken {
            token: hex::encode(self.mac(&session).finalize().into_bytes()),
            new_session: new_session.then_some(session),
        }
    }

    /// Whether `token` is the token of the request's session (false without a session).
    pub fn verify(&self, headers: &HeaderMap, token: &str) -> bool {
        let (Some(session), Ok(given)) = (session_of(headers), hex::decode(token)) else {
            return false;
        };
        self.mac(&session).verify_slice(&given).is_ok()
    }
}

/// The request's session ID, if it has a well-formed one.
fn session_of(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|s| s.len() == SESSION_HEX && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A page's token, and the session cookie to give a browser that had none.
pub struct PageToken {
    /// The token.
    token: String,
    /// The new session's ID, when the browser had none.
    new_session: Option<String>,
}

impl PageToken {
    /// The hidden field a form carries the token in.
    pub fn field(&self) -> Markup {
        html! { input type="hidden" name=(FIELD) value=(self.token); }
    }

    /// The page's response, with the session cookie when the browser had none.
    pub fn respond(&self, page: impl IntoResponse) -> Response {
        let mut response = page.into_response();
        if let Some(session) = &self.new_session {
            let cookie = format!("{SESSION_COOKIE}={session}; Path=/; SameSite=Lax; HttpOnly");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request headers of a browser that got `page`'s cookie.
    fn with_cookie_of(page: &PageToken) -> HeaderMap {
        let session = page.new_session.clone().expect("a new session");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {SESSION_COOKIE}={session}")).unwrap(),
        );
        headers
    }

    #[test]
    fn a_token_holds_for_its_session_only() {
        let key = CsrfKey::random();
        let first = key.for_page(&HeaderMap::new());
        let browser = with_cookie_of(&first);
        assert!(key.verify(&browser, &first.token));
        // The same browser's next page keeps the session and the token.
        let again = key.for_page(&browser);
        assert!(again.new_session.is_none());
        assert_eq!(again.token, first.token);
        let other = with_cookie_of(&key.for_page(&HeaderMap::new()));
        let cases = [
            (&other, first.token.as_str(), "another session's token"),
            (&HeaderMap::new(), first.token.as_str(), "no session"),
            (&browser, "", "no token"),
            (&browser, "zz", "not hex"),
            (&browser, &first.token[..10], "a cut token"),
        ];
        for (headers, token, what) in cases {
            assert!(!key.verify(headers, token), "{what}");
        }
        // Another process (another key) does not take it either.
        assert!(!CsrfKey::random().verify(&browser, &first.token));
    }
}
