//! Who the visitor is: signed in as one of the platform's users (a session, see [`super::session`]), or anonymous.
//! An anonymous visitor sees the sign-in page, which lists the platform's users to act as: this is a harness, and
//! picking a user is how one signs in. Every page that needs a user sends an anonymous visitor there (a GET) or
//! refuses (anything else, 403).

use super::errors::{Page, WebError, plain_page};
use super::flash::{self, Flash, see_other};
use super::format::url_enc;
use super::frame::{self, Frame, Section, role_label};
use super::session::{self, BrowserId};
use super::{App, PLATFORM, forms, return_to};
use anyhow::Result;
use axum::Router;
use axum::extract::{Form, FromRequestParts, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use lms::db::{Role, User, now};
use lms::integration::Lms;
use lms::lang::Lang;
use maud::{Markup, html};

/// The sign-in page.
pub(super) const SIGN_IN: &str = "/sign-in";

/// The platform's users, admins first, then authors, then learners.
fn users(lms: &Lms) -> Result<Vec<User>> {
    let mut users = lms.db().users_page(PLATFORM, None, 10_000)?;
    users.sort_by(|a, b| {
        a.role
            .cmp(&b.role)
            .then(a.display_name.cmp(&b.display_name))
    });
    Ok(users)
}

/// A signed-in visitor's page context: who they are, everyone they may switch to, their browser (its session and
/// CSRF token) and the page they are on. Handlers take it as an argument; an anonymous visitor never gets one.
pub(super) struct Visitor {
    pub me: User,
    /// The language of the visitor's pages: their locale's ([`Lang::of_locale`]).
    pub lang: Lang,
    pub users: Vec<User>,
    /// The browser, whose session this is.
    pub browser: BrowserId,
    csrf: String,
    flash: Option<Flash>,
    here: String,
}

impl FromRequestParts<App> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        match Visitor::of(app, &parts.headers, &here) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(anonymous(&parts.method, &here)),
            Err(e) => Err(WebError::from(e).into_response()),
        }
    }
}

/// What an anonymous visitor gets instead of a page that needs a user: the sign-in page (GET), or a refusal.
fn anonymous(method: &Method, here: &str) -> Response {
    if matches!(*method, Method::GET | Method::HEAD) {
        see_other(&format!("{SIGN_IN}?return_to={}", url_enc(here)), None)
    } else {
        plain_page(
            StatusCode::FORBIDDEN,
            ("Sign in first", "Connectez-vous d'abord"),
            (
                "Nobody is signed in in this browser; sign in and try again.",
                "Personne n'est connecté dans ce navigateur ; connectez-vous et réessayez.",
            ),
        )
    }
}

impl Visitor {
    /// The visitor whose browser's session is live, or `None` for an anonymous one.
    fn of(app: &App, headers: &HeaderMap, here: &str) -> Result<Option<Visitor>> {
        let Some(browser) = BrowserId::from_headers(headers) else {
            return Ok(None);
        };
        let Some(user_id) = session::user_of(&app.lms, &browser, now())? else {
            return Ok(None);
        };
        let users = users(&app.lms)?;
        let Some(me) = users.iter().find(|u| u.id == user_id).cloned() else {
            return Ok(None);
        };
        Ok(Some(Visitor {
            lang: Lang::of_locale(&me.locale),
            me,
            users,
            csrf: app.csrf.token(&browser),
            browser,
            flash: Flash::from_cookie(headers),
            here: here.to_string(),
        }))
    }

    /// The text in the visitor's language, from its English and French forms.
    pub(super) fn t<'a>(&self, en: &'a str, fr: &'a str) -> &'a str {
        self.lang.pick(en, fr)
    }

    pub(super) fn is_admin(&self) -> bool {
        self.me.role == Role::Admin
    }

    pub(super) fn is_author(&self) -> bool {
        self.me.role.is_author()
    }

    /// The platform's learners.
    pub(super) fn learners(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.role == Role::Learner)
    }

    /// The hidden CSRF field every form of the visitor's pages carries.
    pub(super) fn csrf_field(&self) -> Markup {
        frame::csrf_field(&self.csrf)
    }

    /// The page, clearing the flash message it shows.
    pub(super) fn page(&self, app: &App, section: Section, title: &str, body: Markup) -> Response {
        let frame = Frame {
            me: &self.me,
            users: &self.users,
            platform_name: &app.platform_name,
            slack: &app.slack,
            here: &self.here,
            csrf: &self.csrf,
            flash: self.flash.as_ref(),
            lang: self.lang,
        };
        let mut r = Html(frame::page(&frame, section, title, body).into_string()).into_response();
        if self.flash.is_some() {
            flash::shown(&mut r);
        }
        r
    }

    /// The page a learner gets instead of one for authors and admins.
    pub(super) fn refused_for_learners(&self, app: &App, title: &str) -> Response {
        let body = html! {
            h1 { (title) }
            p.flash.error role="alert" {
                (self.t("Only authors and platform admins can see this page; you are signed in as ",
                    "Seuls les auteurs et les admins de la plateforme peuvent voir cette page ; vous êtes connecté en tant que "))
                (self.me.display_name) " (" (role_label(self.me.role, self.lang)) ")."
            }
        };
        self.page(app, Section::None, title, body)
    }
}

/// The routes of the home page, signing in (and switching user) and signing out.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route(SIGN_IN, get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route(frame::LANGUAGE, post(set_language))
}

/// `/`: the visitor's home, by role.
async fn home(v: Visitor) -> Page {
    Ok(see_other(
        match v.me.role {
            Role::Admin => "/settings/connectors",
            Role::Author => "/paths",
            Role::Learner => "/me/notifications",
        },
        None,
    ))
}

/// `/sign-in`: the platform's users to sign in as. A browser without an id gets one here, for the form's token.
async fn sign_in_page(State(app): State<App>, headers: HeaderMap, RawQuery(q): RawQuery) -> Page {
    let wanted = form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let back = return_to::safe(&wanted).unwrap_or("/");
    let (browser, new) = match BrowserId::from_headers(&headers) {
        Some(b) => (b, false),
        None => (BrowserId::new(), true),
    };
    let flash = Flash::from_cookie(&headers);
    let users = users(&app.lms)?;
    let lang = headers
        .get(http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, Lang::of_accept_language);
    let t = |en, fr| lang.pick(en, fr);
    let title = t("Sign in", "Connexion");
    let body = html! {
        h1 { (title) }
        p {
            (t("This simulated LMS has no passwords: choose the user you act as. Anyone who can reach these pages can \
                do the same, which is why they listen on this computer only.",
               "Ce LMS simulé n'a pas de mots de passe : choisissez l'utilisateur que vous incarnez. Quiconque atteint \
                ces pages peut en faire autant ; c'est pourquoi elles n'écoutent que sur cet ordinateur."))
        }
        form.card.sign-in method="post" action=(SIGN_IN) {
            (frame::csrf_field(&app.csrf.token(&browser)))
            input type="hidden" name="return_to" value=(back);
            ul.users {
                @for u in &users {
                    li {
                        button type="submit" name="user" value=(u.id) {
                            (u.display_name) " (" (role_label(u.role, lang)) ")"
                        }
                    }
                }
            }
        }
    };
    let mut r = Html(
        frame::signed_out_page(&app.platform_name, lang, flash.as_ref(), title, body).into_string(),
    )
    .into_response();
    if new {
        browser.set_cookie(&mut r);
    }
    if flash.is_some() {
        flash::shown(&mut r);
    }
    Ok(r)
}

/// `POST /sign-in` (the sign-in page, and the user switch in every page's header): a new session as the chosen
/// user, then back to the page, or to the user's home if they may not see it.
async fn sign_in(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<forms::Fields>,
) -> Page {
    let user = forms::value(&form, "user");
    let Some(u) = app.lms.db().user(PLATFORM, user)? else {
        return Ok(see_other(
            SIGN_IN,
            Some(Flash::Error(format!("There is no user {user}."))),
        ));
    };
    if let Some(old) = BrowserId::from_headers(&headers) {
        session::sign_out(&app.lms, &old)?;
    }
    let browser = session::sign_in(&app.lms, &u.id, now())?;
    let back = return_to::safe(forms::value(&form, "return_to")).unwrap_or("/");
    // A page the new user may not see sends them to their own home.
    let back = match (u.role, back) {
        (Role::Learner, b) if !b.starts_with("/me/") && !b.starts_with("/sessions/") => "/",
        (Role::Author, b) if b.starts_with("/settings/") => "/",
        _ => back,
    };
    let mut r = see_other(back, None);
    browser.set_cookie(&mut r);
    Ok(r)
}

/// `POST /sign-out`: ends the session; the browser gets a new anonymous id.
async fn sign_out(State(app): State<App>, headers: HeaderMap) -> Page {
    if let Some(old) = BrowserId::from_headers(&headers) {
        session::sign_out(&app.lms, &old)?;
    }
    let mut r = see_other(SIGN_IN, Some(Flash::Ok("You are signed out.".into())));
    BrowserId::new().set_cookie(&mut r);
    Ok(r)
}

/// `POST /me/language` (the language switch of every page): sets the visitor's locale to the chosen language, which
/// their pages and the messages they receive then use; a locale already in that language (`fr-CA`) is kept.
async fn set_language(State(app): State<App>, v: Visitor, Form(form): Form<forms::Fields>) -> Page {
    let back = return_to::safe(forms::value(&form, "return_to")).unwrap_or("/");
    let Some(lang) = Lang::from_tag(forms::value(&form, "lang")) else {
        return Ok(see_other(
            back,
            Some(Flash::Error(
                v.t("There is no such language.", "Cette langue n'existe pas.")
                    .into(),
            )),
        ));
    };
    if Lang::of_locale(&v.me.locale) != lang {
        app.lms.db().set_locale(PLATFORM, &v.me.id, lang.tag())?;
    }
    Ok(see_other(back, None))
}
