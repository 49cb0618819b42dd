//! A browser for the LMS pages of a server on 127.0.0.1: its session cookie and the CSRF token of its forms.

use super::temp_dir::TempDir;
use lms_harness::http_client::{self, Response};
use lms_harness::web::{ServeOptions, Server, Timeouts};
use std::time::Duration;

/// How long a request may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Serves a fresh data folder on free loopback ports.
pub async fn serve(dir: &TempDir, timeouts: Timeouts) -> Server {
    let mut opts = ServeOptions::local(dir.0.clone());
    opts.timeouts = timeouts;
    lms_harness::web::start(opts).await.unwrap()
}

/// The `lms_session` value a response sets, if any.
pub fn session_cookie(r: &Response) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let v = c.strip_prefix("lms_session=")?.split(';').next()?;
            (!v.is_empty()).then(|| v.to_string())
        })
}

/// The first CSRF token in a page.
pub fn csrf_in(page: &str) -> String {
    let start = page
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no CSRF field in {page}"))
        + r#"name="csrf" value=""#.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// A browser: its session cookie, and the token of its forms.
pub struct Browser {
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: String,
}

impl Browser {
    /// A browser that opened the sign-in page (it got an anonymous id and the form's token), signed in as nobody.
    pub async fn anonymous(base: &str) -> Browser {
        let page = http_client::get(&format!("{base}/sign-in")).await.unwrap();
        assert_eq!(page.status, 200, "{}", page.text());
        Browser {
            base: base.to_string(),
            cookie: session_cookie(&page),
            csrf: csrf_in(&page.text()),
        }
    }

    /// A browser signed in as `user`.
    pub async fn signed_in(base: &str, user: &str) -> Browser {
        let mut b = Browser::anonymous(base).await;
        let r = b.sign_in(user, "/").await;
        assert_eq!(r.status, 303, "{}", r.text());
        b
    }

    /// Signs in as `user` (keeping the new session), coming back to `return_to`.
    pub async fn sign_in(&mut self, user: &str, return_to: &str) -> Response {
        let csrf = self.csrf.clone();
        let r = self
            .post(
                "/sign-in",
                &[("user", user), ("return_to", return_to), ("csrf", &csrf)],
                Some(&self.base.clone()),
            )
            .await;
        if let Some(c) = session_cookie(&r) {
            self.cookie = Some(c);
            let page = self.get("/settings/connectors").await;
            self.csrf = csrf_in(&page.text());
        }
        r
    }

    fn cookie_header(&self) -> Option<String> {
        self.cookie.as_ref().map(|c| format!("lms_session={c}"))
    }

    pub async fn get(&self, path: &str) -> Response {
        let cookie = self.cookie_header();
        let headers: Vec<(&str, &str)> = cookie.iter().map(|c| ("cookie", c.as_str())).collect();
        http_client::send(
            "GET",
            &format!("{}{path}", self.base),
            &headers,
            Vec::new(),
            TIMEOUT,
        )
        .await
        .unwrap()
    }

    /// POSTs a form with `origin` as its `Origin` header (none when `None`).
    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Response {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let cookie = self.cookie_header();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(c) = &cookie {
            headers.push(("cookie", c.as_str()));
        }
        if let Some(o) = origin {
            headers.push(("origin", o));
        }
        http_client::send(
            "POST",
            &format!("{}{path}", self.base),
            &headers,
            body.into_bytes(),
            TIMEOUT,
        )
        .await
        .unwrap()
    }
}
