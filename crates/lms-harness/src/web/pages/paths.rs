//! Paths & sessions: the sessions with their invitation button, the paths with their "Slack message" steps and
//! the form that adds one.

use crate::web::errors::Page;
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date, duration, url_enc};
use crate::web::frame::Section;
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use anyhow::Result;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::routing::{get, post};
use lms::db::Session;
use lms::integration::{Lms, Tile};
use lms::scheduler::Schedule;
use maud::{Markup, html};

/// A path, its session and how many learners are enrolled.
pub(in crate::web) struct PathRow {
    pub id: String,
    pub title: String,
    pub session_id: Option<String>,
    pub enrolled: i64,
}

/// The platform's paths, by title.
pub(in crate::web) fn path_rows(lms: &Lms) -> Result<Vec<PathRow>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT p.id, p.title, p.session_id,
                (SELECT COUNT(*) FROM enrolments e WHERE e.platform_id = p.platform_id AND e.path_id = p.id)
         FROM paths p WHERE p.platform_id = ?1 ORDER BY p.title, p.id",
    )?;
    let rows = stmt.query_map([PLATFORM], |r| {
        Ok(PathRow {
            id: r.get(0)?,
            title: r.get(1)?,
            session_id: r.get(2)?,
            enrolled: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The routes of the page and of its form.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/paths", get(paths))
        .route("/paths/{id}/steps", post(add_step))
}

/// `/paths`.
async fn paths(State(app): State<App>, v: Visitor) -> Page {
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, "Paths & sessions"));
    }
    let tz = &v.me.time_zone;
    let n_learners = v.learners().count();
    let sessions = app.lms.db().sessions(PLATFORM)?;
    let steps = app.lms.path_steps(PLATFORM)?;
    let active = matches!(app.lms.tile(PLATFORM)?, Tile::Active(_));
    let paths = path_rows(&app.lms)?;
    let body = html! {
        h1 { "Paths & sessions" }
        h2 { "Sessions" }
        @for s in &sessions {
            section.card aria-labelledby={ "s-" (s.id) } {
                h3 id={ "s-" (s.id) } { a href={ "/sessions/" (url_enc(&s.id)) } { (s.title) } }
                p.muted { (date(s.starts_at, tz)) " – " (date(s.ends_at, tz)) }
                form method="post" action={ "/sessions/" (url_enc(&s.id)) "/invite" } {
                    (v.csrf_field())
                    button.primary type="submit" { "Invite learners to “" (s.title) "”" }
                    " "
                    span.muted {
                        "Every learner of the platform (" (n_learners) ") is invited; those with the same e-mail \
                         address in Slack get the invitation there."
                    }
                }
            }
        }
        @if sessions.is_empty() {
            p.muted { "No sessions." }
        }
        h2 { "Paths" }
        @for p in &paths {
            @let session = p.session_id.as_deref().and_then(|id| sessions.iter().find(|s| s.id == id));
            @let path_steps: Vec<_> = steps.iter().filter(|s| s.path_id == p.id).collect();
            section.card id={ "path-" (p.id) } aria-labelledby={ "p-" (p.id) } {
                h3 id={ "p-" (p.id) } { (p.title) }
                p.muted {
                    "Session: " (session.map_or("none", |s: &Session| s.title.as_str()))
                    " · " (p.enrolled) " enrolled"
                }
                h4 { "Steps" }
                ul.steps {
                    @for st in &path_steps {
                        li {
                            strong { "Slack message: " (st.title) }
                            " "
                            span.muted { "— " (when(&st.schedule, tz)) }
                            br;
                            (st.text)
                        }
                    }
                    @if path_steps.is_empty() {
                        li.muted { "No Slack message steps yet." }
                    }
                }
                details open[active] {
                    summary { "Add a “Slack message” step" }
                    @if !active {
                        p.note {
                            "Slack message steps need the Slack integration to be active (Settings → Connectors)."
                        }
                    }
                    (step_form(&p.id, tz, v.csrf_field()))
                }
            }
        }
    };
    Ok(v.page(&app, Section::Paths, "Paths & sessions", body))
}

/// When a step goes out, in words.
fn when(schedule: &Schedule, tz: &str) -> String {
    match *schedule {
        Schedule::At(at) => format!("on {}", date(at, tz)),
        Schedule::AfterEnrolment(secs) => {
            format!("{} after each learner's enrolment", duration(secs))
        }
    }
}

/// The form that adds a "Slack message" step to the path `id`, with the visitor's CSRF field.
fn step_form(id: &str, tz: &str, csrf: Markup) -> Markup {
    html! {
        form method="post" action={ "/paths/" (url_enc(id)) "/steps" } {
            (csrf)
            div.field {
                label for={ "title-" (id) } { "Title (the e-mail subject)" }
                input type="text" id={ "title-" (id) } name="title" required maxlength="150" size="50";
            }
            div.field {
                label for={ "text-" (id) } { "Message" }
                textarea id={ "text-" (id) } name="text" rows="3" required maxlength="2500" {}
            }
            fieldset {
                legend { "When" }
                div.field {
                    input type="radio" id={ "when-at-" (id) } name="when" value="at" checked;
                    " "
                    label for={ "when-at-" (id) } { "On" }
                    " "
                    input type="datetime-local" id={ "at-" (id) } name="at" aria-label={ "Date and time (" (tz) ")" };
                    " "
                    span.muted { (tz) }
                }
                div.field {
                    input type="radio" id={ "when-after-" (id) } name="when" value="after";
                    " "
                    label for={ "when-after-" (id) } { "After each learner's enrolment:" }
                    " "
                    input type="number" id={ "after-" (id) } name="after" min="0" value="1"
                        aria-label="How long after enrolment";
                    " "
                    select name="unit" aria-label="Unit" {
                        option value="86400" { "days" }
                        option value="3600" { "hours" }
                        option value="60" { "minutes" }
                    }
                }
            }
            div.actions { button.primary type="submit" { "Add the step" } }
        }
    }
}

/// `POST /paths/{id}/steps`: adds a "Slack message" step.
async fn add_step(
    State(app): State<App>,
    v: Visitor,
    Path(path_id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    let back = format!("/paths#path-{}", url_enc(&path_id));
    let refuse = |m: &str| Ok(see_other(&back, Some(Flash::Error(m.into()))));
    let schedule = match forms::value(&form, "when") {
        "after" => {
            let n: i64 = forms::value(&form, "after").trim().parse().unwrap_or(-1);
            let unit: i64 = forms::value(&form, "unit").parse().unwrap_or(86_400);
            if n < 0 {
                return refuse("Give how long after enrolment, as a number.");
            }
            Schedule::AfterEnrolment(n.saturating_mul(unit))
        }
        _ => {
            let parsed = forms::value(&form, "at")
                .parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|dt| dt.in_tz(&v.me.time_zone).ok())
                .map(|z| z.timestamp().as_second());
            match parsed {
                Some(s) => Schedule::At(s),
                None => return refuse("Give the date and time the message goes out."),
            }
        }
    };
    let added = app.lms.add_path_step(
        PLATFORM,
        &v.me.id,
        &path_id,
        forms::value(&form, "title").trim(),
        forms::value(&form, "text").trim(),
        schedule,
    );
    let flash = Flash::of(added, |step| {
        format!("The Slack message step “{}” was added.", step.title)
    });
    Ok(see_other(&back, Some(flash)))
}
