//! The delivery log: every notification with its counts, and one notification's delivery to each learner, with
//! why it was skipped or failed.

use crate::web::errors::{Page, not_found};
use crate::web::format::{date, url_enc};
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM};
use anyhow::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use lms::integration::Lms;
use lms::outbox::Delivery;
use lms::outbox::DeliveryStatus;
use maud::{Markup, html};
use rusqlite::params;

/// A notification and how many of its deliveries were sent, skipped, failed, or are pending.
struct NotificationRow {
    id: String,
    kind: String,
    title: String,
    created_at: i64,
    counts: [i64; 4],
}

fn notification_rows(lms: &Lms, session_id: Option<&str>) -> Result<Vec<NotificationRow>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT n.id, n.kind, n.title, n.created_at,
                COALESCE(SUM(d.status = 'sent'), 0), COALESCE(SUM(d.status = 'skipped'), 0),
                COALESCE(SUM(d.status = 'failed'), 0), COALESCE(SUM(d.status IN ('queued', 'in_flight')), 0)
         FROM notifications n
         LEFT JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
         WHERE n.platform_id = ?1 AND (?2 IS NULL OR n.session_id = ?2)
         GROUP BY n.id ORDER BY n.created_at DESC, n.rowid DESC",
    )?;
    let rows = stmt.query_map(params![PLATFORM, session_id], |r| {
        Ok(NotificationRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            title: r.get(2)?,
            created_at: r.get(3)?,
            counts: [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "session_assignment" => "Invitation",
        "session_information" => "Session information",
        "path_step" => "Slack message step",
        other => other,
    }
}

/// The notifications (of one session, or all), newest first, with their counts.
pub(in crate::web) fn notification_table(
    lms: &Lms,
    session_id: Option<&str>,
    tz: &str,
) -> Result<Markup> {
    let rows = notification_rows(lms, session_id)?;
    Ok(html! {
        @if rows.is_empty() {
            p.muted { "No notifications yet." }
        } @else {
            table {
                caption.visually-hidden { "Notifications" }
                thead {
                    tr {
                        @for h in ["Notification", "Kind", "Created", "Sent", "Skipped", "Failed", "Pending"] {
                            th scope="col" { (h) }
                        }
                    }
                }
                tbody {
                    @for n in &rows {
                        tr {
                            td { a href={ "/notifications/" (url_enc(&n.id)) } { (n.title) } }
                            td { (kind_label(&n.kind)) }
                            td { (date(n.created_at, tz)) }
                            @for c in n.counts { td { (c) } }
                        }
                    }
                }
            }
        }
    })
}

/// The routes of the delivery log.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/notifications", get(notifications))
        .route("/notifications/{id}", get(notification))
}

/// `/notifications`: the delivery log.
async fn notifications(State(app): State<App>, v: Visitor) -> Page {
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, "Delivery log"));
    }
    let body = html! {
        h1 { "Delivery log" }
        p.muted { "Every notification, newest first; open one to see what happened for each learner." }
        (notification_table(&app.lms, None, &v.me.time_zone)?)
    };
    Ok(v.page(&app, Section::Deliveries, "Delivery log", body))
}

/// `/notifications/{id}`: one notification's delivery to each learner.
async fn notification(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, "Delivery log"));
    }
    let Some(n) = notification_rows(&app.lms, None)?
        .into_iter()
        .find(|n| n.id == id)
    else {
        return Ok(not_found());
    };
    let deliveries = app.lms.outbox().deliveries(PLATFORM, &id)?;
    let [sent, skipped, failed, pending] = n.counts;
    let body = html! {
        (crumbs(&["Delivery log", &n.title]))
        h1 { (n.title) }
        p.muted {
            (kind_label(&n.kind)) " · created " (date(n.created_at, &v.me.time_zone)) " · "
            (sent) " sent, " (skipped) " skipped, " (failed) " failed, " (pending) " pending"
        }
        table #deliveries {
            caption.visually-hidden { "Delivery to each learner" }
            thead {
                tr {
                    @for h in ["Learner", "Status", "Why", "Attempts"] { th scope="col" { (h) } }
                }
            }
            tbody {
                @for d in &deliveries {
                    tr data-user=(d.user_id) {
                        td {
                            @match v.users.iter().find(|u| u.id == d.user_id) {
                                Some(u) => { (u.display_name) br; span.muted { (u.email) } },
                                None => (d.user_id),
                            }
                        }
                        td class={ "status status-" (d.status) } { (d.status) }
                        td { (why(d)) }
                        td { (d.attempts) }
                    }
                }
            }
        }
    };
    Ok(v.page(&app, Section::Deliveries, &n.title, body))
}

/// Why a delivery is as it is: its reason and code, or where a sent one went.
fn why(d: &Delivery) -> Markup {
    html! {
        @match (&d.reason, &d.reason_code) {
            (Some(r), Some(c)) => { (r) " " code { (c) } },
            (Some(r), None) => (r),
            (None, Some(c)) => code { (c) },
            (None, None) if d.status == DeliveryStatus::Sent => {
                "In the app's conversation " code { (d.conversation.as_deref().unwrap_or("?")) }
            },
            (None, None) => {},
        }
    }
}
