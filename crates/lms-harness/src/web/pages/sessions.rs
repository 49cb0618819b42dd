//! A session's page (what the Slack message's button opens), and inviting the platform's learners to it.

use super::deliveries::notification_table;
use super::paths::path_rows;
use crate::web::errors::{Page, not_found};
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date, url_enc};
use crate::web::frame::Section;
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM};
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use lms::db::now;
use lms::outbox::{Kind, NewNotification};
use maud::html;

/// The routes of a session's page and of its invitation.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/invite", post(invite))
}

/// `/sessions/{id}`: the session; for authors and admins, the invitation button and its notifications too.
async fn session_page(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let tz = &v.me.time_zone;
    let notifications = if v.is_author() {
        Some(notification_table(&app.lms, Some(&s.id), tz)?)
    } else {
        None
    };
    let body = html! {
        article.card {
            h1 { (s.title) }
            @if let Some(u) = &s.cover_url {
                img.cover src=(u) alt="Cover of the session";
            }
            p {
                strong { "Starts:" } " " (date(s.starts_at, tz))
                br;
                strong { "Ends:" } " " (date(s.ends_at, tz))
            }
            p { (s.description) }
        }
        @if let Some(table) = notifications {
            form.card method="post" action={ "/sessions/" (url_enc(&s.id)) "/invite" } {
                (v.csrf_field())
                button.primary type="submit" { "Invite learners" }
                " "
                span.muted { "Every learner of the platform is invited." }
            }
            (table)
        }
    };
    Ok(v.page(&app, Section::Paths, &s.title, body))
}

/// `POST /sessions/{id}/invite`: invites every learner, enrols them in the session's paths, sends, and shows the
/// delivery log of the invitation.
async fn invite(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_author() {
        return Ok(see_other(
            "/",
            Some(Flash::Error(
                "Only authors and platform admins may invite learners.".into(),
            )),
        ));
    }
    let Some(session) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let learner_ids: Vec<String> = v.learners().map(|u| u.id.clone()).collect();
    let at = now();
    let nid = format!("invite-{}-{at}-{:04x}", session.id, rand::random::<u16>());
    app.lms.outbox().enqueue(
        PLATFORM,
        &NewNotification {
            id: &nid,
            kind: Kind::SessionAssignment,
            title: &format!("You are invited to {}", session.title),
            session_id: Some(&session.id),
            body: None,
            mandatory: false,
            not_before: 0,
        },
        &learner_ids,
    )?;
    app.lms
        .db()
        .audit(PLATFORM, &v.me.id, "session.invite", &nid)?;
    // Invited learners are enrolled in the session's paths (for their "Slack message" steps).
    for p in path_rows(&app.lms)?
        .into_iter()
        .filter(|p| p.session_id.as_deref() == Some(session.id.as_str()))
    {
        for u in &learner_ids {
            app.lms.enrol(PLATFORM, &p.id, u, at)?;
        }
    }
    let report = lms::workers::run_outbox(&app.lms, PLATFORM, at).await?;
    Ok(see_other(
        &format!("/notifications/{}", url_enc(&nid)),
        Some(Flash::Ok(format!(
            "{} learners invited: {} sent, {} skipped, {} failed, {} to retry.",
            learner_ids.len(),
            report.sent,
            report.skipped,
            report.failed,
            report.retrying
        ))),
    ))
}
