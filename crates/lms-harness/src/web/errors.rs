//! Error pages: internal errors, pages that do not exist, forms posted from another site, refusals. They are bare
//! (no layout), and in the language of whoever asked: the signed-in visitor's, else the first language of the
//! browser's `Accept-Language` the LMS speaks. The [`language`] layer notes, for each request, what decides it; a
//! bare page made while that request is served reads it.

use super::session::{self, BrowserId};
use super::{App, PLATFORM};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use lms::db::now;
use lms::integration::Lms;
use lms::lang::Lang;
use maud::{DOCTYPE, Markup, html};

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
        let detail = format!("{:#}", self.0);
        plain_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            ("Something went wrong", "Une erreur s'est produite"),
            (&detail, &detail),
        )
    }
}

/// What a handler answers.
pub(super) type Page = Result<Response, WebError>;

/// A text of a bare page: its English and French forms.
pub(super) type Both<'a> = (&'a str, &'a str);

/// A page without the layout, in the asker's language ([`language`]).
pub(super) fn plain_page(status: StatusCode, title: Both<'_>, detail: Both<'_>) -> Response {
    let lang = asker_lang();
    let page = bare_page(
        lang,
        lang.pick(title.0, title.1),
        lang.pick(detail.0, detail.1),
    );
    (status, Html(page.into_string())).into_response()
}

/// The 404 page.
pub(super) fn not_found() -> Response {
    plain_page(
        StatusCode::NOT_FOUND,
        ("Not found", "Page introuvable"),
        ("There is no such page.", "Cette page n'existe pas."),
    )
}

/// The bare page itself.
fn bare_page(lang: Lang, title: &str, detail: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
            }
            body style="font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;overflow-wrap:anywhere" {
                h1 { (title) }
                p role="alert" { (detail) }
                p { a href="/" { (lang.pick("Back to the LMS", "Retour au LMS")) } }
            }
        }
    }
}

/// What decides the language of the bare pages of one request: the visitor signed in with the browser, if any,
/// else the browser's `Accept-Language`. The visitor is looked up only when a bare page is made.
struct Asker {
    lms: Lms,
    browser: Option<BrowserId>,
    accepted: Lang,
}

tokio::task_local! {
    static ASKER: Asker;
}

impl Asker {
    fn of(lms: Lms, headers: &HeaderMap) -> Asker {
        Asker {
            lms,
            browser: BrowserId::from_headers(headers),
            accepted: headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::En, Lang::of_accept_language),
        }
    }

    fn lang(&self) -> Lang {
        let visitor = self.browser.as_ref().and_then(|b| {
            let user = session::user_of(&self.lms, b, now()).ok()??;
            self.lms.db().user(PLATFORM, &user).ok()?
        });
        visitor.map_or(self.accepted, |u| Lang::of_locale(&u.locale))
    }
}

/// The language of a bare page made now: the asker's of the request being served, English outside one.
fn asker_lang() -> Lang {
    ASKER.try_with(Asker::lang).unwrap_or(Lang::En)
}

/// The layer that notes who asks, for the bare pages made while the request is served.
pub(super) async fn language(State(app): State<App>, request: Request, next: Next) -> Response {
    let asker = Asker::of(app.lms.clone(), request.headers());
    ASKER.scope(asker, next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_page_is_escaped_and_in_its_language() {
        let out = bare_page(Lang::Fr, "Refusé <b>", "x & y").into_string();
        assert!(out.contains(r#"<html lang="fr">"#));
        assert!(out.contains("<h1>Refusé &lt;b&gt;</h1>"));
        assert!(out.contains("x &amp; y"));
        assert!(out.contains("Retour au LMS"));
        assert_eq!(asker_lang(), Lang::En, "outside a request");
    }
}
