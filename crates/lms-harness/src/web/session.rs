//! Sign-in sessions. Every browser gets a random id in an HttpOnly cookie; a signed-in browser's id maps to its
//! user in the database (by the id's SHA-256, so the table holds no usable id). A browser whose id maps to no live
//! session is anonymous: its id is never stored, and serves only to bind the sign-in form's CSRF token to it.

use super::PLATFORM;
use super::cookies;
use anyhow::Result;
use axum::response::Response;
use http::HeaderMap;
use lms::integration::Lms;
use lms::sql::{OptionalExtension, params};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie carrying the browser's id.
pub(super) const COOKIE: &str = "lms_session";
/// How long a sign-in lasts.
pub(super) const TTL_SECS: i64 = 12 * 60 * 60;
/// The most sessions the platform keeps; signing in beyond it ends the oldest.
pub(super) const MAX_SESSIONS: i64 = 1_000;

/// A browser's id, as its cookie carries it: 64 hex digits from 32 random bytes.
#[derive(Clone)]
pub(super) struct BrowserId(String);

impl BrowserId {
    /// A new random id.
    pub(super) fn new() -> BrowserId {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        BrowserId(hex::encode(bytes))
    }

    /// The id the request's cookie carries, if it is well-formed.
    pub(super) fn from_headers(headers: &HeaderMap) -> Option<BrowserId> {
        let v = cookies::get(headers, COOKIE)?;
        (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| BrowserId(v.to_ascii_lowercase()))
    }

    /// The id itself.
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database knows the session by (and what an activation state is bound to): the id's SHA-256.
    pub(super) fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// Gives the browser this id (`Set-Cookie`, HttpOnly, SameSite=Lax, for the whole site).
    pub(super) fn set_cookie(&self, response: &mut Response) {
        cookies::set(response, COOKIE, Some(&self.0));
    }
}

/// The user signed in with `browser`, if its session is live at `now`.
pub(super) fn user_of(lms: &Lms, browser: &BrowserId, now: i64) -> Result<Option<String>> {
    Ok(lms
        .db()
        .conn()
        .query_row(
            "SELECT user_id FROM web_sessions WHERE id_hash = ?1 AND platform_id = ?2 AND expires_at > ?3",
            params![browser.hash(), PLATFORM, now],
            |r| r.get(0),
        )
        .optional()?)
}

/// Signs `user_id` in: a new session with a new id (never the one the browser had, against session fixation).
/// Drops expired sessions, and the oldest beyond [`MAX_SESSIONS`].
pub(super) fn sign_in(lms: &Lms, user_id: &str, now: i64) -> Result<BrowserId> {
    let browser = BrowserId::new();
    let conn = lms.db().conn();
    conn.execute(
        "DELETE FROM web_sessions WHERE expires_at <= ?1",
        params![now],
    )?;
    conn.execute(
        "INSERT INTO web_sessions (id_hash, platform_id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![browser.hash(), PLATFORM, user_id, now, now + TTL_SECS],
    )?;
    conn.execute(
        "DELETE FROM web_sessions WHERE platform_id = ?1 AND id_hash IN (
             SELECT id_hash FROM web_sessions WHERE platform_id = ?1
             ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?2)",
        params![PLATFORM, MAX_SESSIONS],
    )?;
    Ok(browser)
}

/// Ends the session of `browser`, if it has one.
pub(super) fn sign_out(lms: &Lms, browser: &BrowserId) -> Result<()> {
    lms.db().conn().execute(
        "DELETE FROM web_sessions WHERE id_hash = ?1",
        [browser.hash()],
    )?;
    Ok(())
}
