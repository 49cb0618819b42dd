//! Status messages: a redirect carries one in a cookie, and the next page shows it once.

use super::cookies;
use super::format::url_enc;
use axum::response::{IntoResponse, Redirect, Response};
use http::HeaderMap;

/// A status message shown at the top of a page.
pub(super) enum Flash {
    /// Something worked.
    Ok(String),
    /// Something was refused or failed.
    Error(String),
}

impl Flash {
    /// The outcome of an action: `ok`'s message when it worked, the error when not.
    pub(super) fn of<T>(outcome: anyhow::Result<T>, ok: impl FnOnce(T) -> String) -> Flash {
        match outcome {
            Ok(v) => Flash::Ok(ok(v)),
            Err(e) => Flash::Error(format!("{e:#}")),
        }
    }

    /// The message the visitor's cookie carries, if any.
    pub(super) fn from_cookie(headers: &HeaderMap) -> Option<Flash> {
        let v = cookies::get(headers, cookies::FLASH)?;
        let text = cookies::decode(v.get(1..)?);
        match v.chars().next()? {
            'o' => Some(Flash::Ok(text)),
            'e' => Some(Flash::Error(text)),
            _ => None,
        }
    }
}

/// A 303 to `to`, with a message for the next page.
pub(super) fn see_other(to: &str, flash: Option<Flash>) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Some(f) = flash {
        let (k, m) = match f {
            Flash::Ok(m) => ('o', m),
            Flash::Error(m) => ('e', m),
        };
        cookies::set(&mut r, cookies::FLASH, Some(&format!("{k}{}", url_enc(&m))));
    }
    r
}

/// Clears the message once a page showed it.
pub(super) fn shown(response: &mut Response) {
    cookies::set(response, cookies::FLASH, None);
}
