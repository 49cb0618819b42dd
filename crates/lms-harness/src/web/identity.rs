//! Who the visitor acts as: one of the platform's users, chosen in the header ("Acting as", a cookie). This is a
//! harness, not an identity system.

use super::errors::{Page, WebError};
use super::flash::{self, Flash, see_other};
use super::format::url_enc;
use super::frame::{self, Frame, Section};
use super::{App, PLATFORM, cookies, forms};
use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Form, FromRequestParts, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use http::HeaderMap;
use http::request::Parts;
use lms::db::Role;
use lms::db::User;
use lms::integration::Lms;
use maud::{Markup, html};

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

/// The visitor's page context: who they act as (the cookie, else the first admin), everyone they may act as, and
/// the page they are on. Handlers take it as an argument.
pub(super) struct Visitor {
    pub me: User,
    pub users: Vec<User>,
    flash: Option<Flash>,
    here: String,
}

impl FromRequestParts<App> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(Visitor::of(app, &parts.headers, parts.uri.path())?)
    }
}

impl Visitor {
    fn of(app: &App, headers: &HeaderMap, here: &str) -> Result<Visitor> {
        let users = users(&app.lms)?;
        let wanted = cookies::get(headers, cookies::USER).map(cookies::decode);
        let me = wanted
            .and_then(|id| users.iter().find(|u| u.id == id))
            .or_else(|| users.first())
            .cloned()
            .context("the platform has no users")?;
        Ok(Visitor {
            me,
            users,
            flash: Flash::from_cookie(headers),
            here: here.into(),
        })
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

    /// The page, clearing the flash message it shows.
    pub(super) fn page(&self, app: &App, section: Section, title: &str, body: Markup) -> Response {
        let frame = Frame {
            me: &self.me,
            users: &self.users,
            platform_name: &app.platform_name,
            slack_url: &app.slack,
            here: &self.here,
            flash: self.flash.as_ref(),
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
                "Only authors and platform admins can see this page; you are acting as "
                (self.me.display_name) " (" (self.me.role) ")."
            }
        };
        self.page(app, Section::None, title, body)
    }
}

/// The routes of the home page and of the "Acting as" switch.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/act-as", post(act_as))
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

/// `POST /act-as`: switches user and comes back to the page, or to the new user's home if they may not see it.
async fn act_as(State(app): State<App>, Form(form): Form<forms::Fields>) -> Page {
    let user = forms::value(&form, "user");
    let Some(u) = app.lms.db().user(PLATFORM, user)? else {
        return Ok(see_other(
            "/",
            Some(Flash::Error(format!("There is no user {user}."))),
        ));
    };
    let back = forms::value(&form, "return_to");
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/"
    };
    // A page the new user may not see sends them to their own home.
    let back = match (u.role, back) {
        (Role::Learner, b) if !b.starts_with("/me/") && !b.starts_with("/sessions/") => "/",
        (Role::Author, b) if b.starts_with("/settings/") => "/",
        _ => back,
    };
    let mut r = see_other(back, None);
    cookies::set(&mut r, cookies::USER, Some(&url_enc(&u.id)));
    Ok(r)
}
