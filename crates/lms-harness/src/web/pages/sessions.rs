//! A session's page (what the Slack message's button opens), and inviting the platform's learners to it.

use super::deliveries::notification_table;
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

/// `POST /sessions/{id}/invite`: invites every learner and enrols them in the session's paths
/// ([`lms::invitations::invite_learners`]), sends, and shows the delivery log of the invitation.
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
    let at = now();
    let invitation =
        lms::invitations::invite_learners(app.lms.db(), PLATFORM, &session, &v.me.id, at)?;
    let report = lms::workers::run_outbox(&app.lms, PLATFORM, at).await?;
    Ok(see_other(
        &format!("/notifications/{}", url_enc(&invitation.notification_id)),
        Some(Flash::Ok(format!(
            "{} learners invited: {} sent, {} skipped, {} failed, {} to retry.",
            invitation.learners.len(),
            report.sent,
            report.skipped,
            report.failed,
            report.retrying
        ))),
    ))
}
