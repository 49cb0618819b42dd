//! The delivery log: every notification with its counts, and one notification's delivery to each learner, with
//! why it was skipped or failed in plain words (the service's code once, in a detail), and a way to send failed
//! deliveries again: one, or every failed one of the notification.

use crate::web::errors::{Page, not_found};
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date, url_enc};
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM};
use anyhow::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use lms::integration::Lms;
use lms::lang::Lang;
use lms::outbox::{self, Delivery, DeliveryStatus, Kind, Reconnect, RunReport};
use lms::sql::params;
use maud::{Markup, html};

/// A notification and how many of its deliveries were sent, skipped, failed, or are pending.
struct NotificationRow {
    id: String,
    kind: Option<Kind>,
    title: String,
    session_title: Option<String>,
    created_at: i64,
    counts: [i64; 4],
}

impl NotificationRow {
    /// The title as the visitor reads it (an invitation's subject in their language).
    fn title(&self, lang: Lang) -> String {
        match self.kind {
            Some(kind) => outbox::title_in(kind, &self.title, self.session_title.as_deref(), lang),
            None => self.title.clone(),
        }
    }

    /// For an update of an invitation, what it says changed, as the LMS recorded it (in English: "Updated: Title
    /// (dates changed)", "Cancelled: Title").
    fn change(&self) -> Option<&str> {
        (self.kind == Some(Kind::SessionUpdate)).then_some(self.title.as_str())
    }
}

fn notification_rows(lms: &Lms, session_id: Option<&str>) -> Result<Vec<NotificationRow>> {
    let conn = lms.db().conn();
    let mut stmt = conn.prepare(
        "SELECT n.id, n.kind, n.title, s.title, n.created_at,
                COUNT(*) FILTER (WHERE d.status = 'sent'), COUNT(*) FILTER (WHERE d.status = 'skipped'),
                COUNT(*) FILTER (WHERE d.status = 'failed'), COUNT(*) FILTER (WHERE d.status IN ('queued', 'in_flight'))
         FROM notifications n
         LEFT JOIN sessions s ON s.platform_id = n.platform_id AND s.id = n.session_id
         LEFT JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
         WHERE n.platform_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR n.session_id = ?2)
         GROUP BY n.id ORDER BY n.created_at DESC, n.rowid DESC",
    )?;
    let rows = stmt.query_map(params![PLATFORM, session_id], |r| {
        Ok(NotificationRow {
            id: r.get(0)?,
            kind: Kind::parse(&r.get::<_, String>(1)?).ok(),
            title: r.get(2)?,
            session_title: r.get(3)?,
            created_at: r.get(4)?,
            counts: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn kind_label(kind: Option<Kind>, lang: Lang) -> &'static str {
    match kind {
        Some(Kind::SessionAssignment) => lang.pick("Invitation", "Invitation"),
        Some(Kind::SessionInformation) => {
            lang.pick("Session information", "Information de session")
        }
        Some(Kind::PathStep) => lang.pick("Slack message step", "Étape « message Slack »"),
        Some(Kind::SessionUpdate) => {
            lang.pick("Update of the invitation", "Mise à jour de l'invitation")
        }
        Some(Kind::SessionReminder) => lang.pick("Reminder", "Rappel"),
        None => lang.pick("Other", "Autre"),
    }
}

/// A delivery's status in words: a sent update changed a message in place, so it reads "updated".
fn status_label(kind: Option<Kind>, status: DeliveryStatus, lang: Lang) -> &'static str {
    match status {
        DeliveryStatus::Queued => lang.pick("queued", "en attente"),
        DeliveryStatus::InFlight => lang.pick("sending", "en cours"),
        DeliveryStatus::Sent if kind == Some(Kind::SessionUpdate) => {
            lang.pick("updated", "mis à jour")
        }
        DeliveryStatus::Sent => lang.pick("sent", "envoyé"),
        DeliveryStatus::Skipped => lang.pick("skipped", "ignoré"),
        DeliveryStatus::Failed => lang.pick("failed", "échec"),
    }
}

/// The notifications (of one session, or all), newest first, with their counts.
pub(in crate::web) fn notification_table(
    lms: &Lms,
    session_id: Option<&str>,
    v: &Visitor,
) -> Result<Markup> {
    let rows = notification_rows(lms, session_id)?;
    let headers = [
        v.t("Notification", "Notification"),
        v.t("Kind", "Type"),
        v.t("Created", "Créée"),
        v.t("Sent", "Envoyés"),
        v.t("Skipped", "Ignorés"),
        v.t("Failed", "Échecs"),
        v.t("Pending", "En attente"),
    ];
    Ok(html! {
        @if rows.is_empty() {
            p.muted { (v.t("No notifications yet.", "Aucune notification pour l'instant.")) }
        } @else {
            table {
                caption.visually-hidden { (v.t("Notifications", "Notifications")) }
                thead {
                    tr { @for h in headers { th scope="col" { (h) } } }
                }
                tbody {
                    @for n in &rows {
                        tr {
                            td {
                                a href={ "/notifications/" (url_enc(&n.id)) } { (n.title(v.lang)) }
                                @if let Some(change) = n.change() { br; span.muted.change { (change) } }
                            }
                            td { (kind_label(n.kind, v.lang)) }
                            td { (date(n.created_at, &v.me.time_zone)) }
                            @for c in n.counts { td { (c) } }
                        }
                    }
                }
            }
        }
    })
}

/// The routes of the delivery log and of its retries.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/notifications", get(notifications))
        .route("/notifications/{id}", get(notification))
        .route("/notifications/{id}/retry-failed", post(retry_failed))
        .route(
            "/notifications/{id}/deliveries/{delivery}/retry",
            post(retry),
        )
}

/// `/notifications`: the delivery log.
async fn notifications(State(app): State<App>, v: Visitor) -> Page {
    let title = v.t("Delivery log", "Journal des envois");
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, title));
    }
    let body = html! {
        h1 { (title) }
        p.muted {
            (v.t("Every notification, newest first; open one to see what happened for each learner.",
                 "Chaque notification, la plus récente d'abord ; ouvrez-en une pour voir ce qu'il en est pour chaque apprenant."))
        }
        (notification_table(&app.lms, None, &v)?)
    };
    Ok(v.page(&app, Section::Deliveries, title, body))
}

/// `/notifications/{id}`: one notification's delivery to each learner, with "Retry" on each failed one and "Retry
/// all failed".
async fn notification(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, v.t("Delivery log", "Journal des envois")));
    }
    let Some(n) = notification_rows(&app.lms, None)?
        .into_iter()
        .find(|n| n.id == id)
    else {
        return Ok(not_found());
    };
    let deliveries = app.lms.outbox().deliveries(PLATFORM, &id)?;
    let [sent, skipped, failed, pending] = n.counts;
    let title = n.title(v.lang);
    let counts = match v.lang {
        Lang::En => format!("{sent} sent, {skipped} skipped, {failed} failed, {pending} pending"),
        Lang::Fr => {
            format!("{sent} envoyés, {skipped} ignorés, {failed} en échec, {pending} en attente")
        }
    };
    let base = format!("/notifications/{}", url_enc(&n.id));
    let headers = [
        v.t("Learner", "Apprenant"),
        v.t("Status", "État"),
        v.t("Why", "Pourquoi"),
        v.t("Attempts", "Tentatives"),
        v.t("Action", "Action"),
    ];
    let body = html! {
        (crumbs(&[v.t("Delivery log", "Journal des envois"), &title]))
        h1 { (title) }
        @if let Some(change) = n.change() { p.change { (change) } }
        p.muted {
            (kind_label(n.kind, v.lang)) " · " (v.t("created", "créée le")) " "
            (date(n.created_at, &v.me.time_zone)) " · " (counts)
        }
        @if failed > 0 {
            form.actions method="post" action={ (base) "/retry-failed" } {
                (v.csrf_field())
                button.primary #retry-failed type="submit" {
                    (match v.lang {
                        Lang::En => format!("Retry all failed ({failed})"),
                        Lang::Fr => format!("Réessayer tous les échecs ({failed})"),
                    })
                }
            }
        }
        table #deliveries {
            caption.visually-hidden { (v.t("Delivery to each learner", "Envoi à chaque apprenant")) }
            thead {
                tr { @for h in headers { th scope="col" { (h) } } }
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
                        td class={ "status status-" (d.status) } { (status_label(n.kind, d.status, v.lang)) }
                        td.why { (why(d, &v)) }
                        td { (d.attempts) }
                        td {
                            @if d.status == DeliveryStatus::Failed {
                                form method="post" action={ (base) "/deliveries/" (url_enc(&d.id)) "/retry" } {
                                    (v.csrf_field())
                                    button.retry type="submit" { (v.t("Retry", "Réessayer")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&app, Section::Deliveries, &title, body))
}

/// Why a delivery is as it is, in plain words, with the service's code (and its own words, when the page says it
/// otherwise) in a detail; or where a sent one went.
fn why(d: &Delivery, v: &Visitor) -> Markup {
    let name = |id: &str| {
        v.users
            .iter()
            .find(|u| u.id == id)
            .map_or(id.to_string(), |u| u.display_name.clone())
    };
    let plain: Option<String> = match (d.reason_code.as_deref(), d.status) {
        (Some(outbox::SHARED_ADDRESS), _) => {
            let who = name(d.shares_with.as_deref().unwrap_or_default());
            Some(match v.lang {
                Lang::En => format!("Shares the e-mail address with {who}, who receives the message."),
                Lang::Fr => format!("Partage son adresse e-mail avec {who}, qui reçoit le message."),
            })
        }
        (Some(outbox::OPTED_OUT), _) => Some(
            v.t(
                "The learner turned off Slack messages of this kind.",
                "L'apprenant a désactivé les messages Slack de ce type.",
            )
            .into(),
        ),
        (Some(outbox::NO_ACCOUNT), _) => Some(
            v.t(
                "No Slack member has this learner's e-mail address.",
                "Aucun membre Slack n'a l'adresse e-mail de cet apprenant.",
            )
            .into(),
        ),
        (_, DeliveryStatus::Failed) if d.on_reconnect == Some(Reconnect::Waiting) => Some(
            v.t(
                "The Slack integration was disconnected. This message is sent again by itself once an admin \
                 activates it again.",
                "L'intégration Slack a été déconnectée. Ce message sera renvoyé automatiquement dès qu'un admin \
                 l'aura réactivée.",
            )
            .into(),
        ),
        (_, DeliveryStatus::Failed) if d.on_reconnect == Some(Reconnect::Requeued) => Some(
            v.t(
                "The Slack integration was disconnected again. Retry once it is active.",
                "L'intégration Slack a de nouveau été déconnectée. Réessayez une fois qu'elle est active.",
            )
            .into(),
        ),
        _ => None,
    };
    // The connector's words (checked by the host as untrusted text), in English, when the page has none of its own.
    let (own, detail) = match &plain {
        None => (d.reason.as_deref(), None),
        Some(_) => (None, d.reason.as_deref()),
    };
    html! {
        @if let Some(p) = &plain { (p) }
        @if let Some(r) = own { (r) }
        @if d.status == DeliveryStatus::Sent && d.reason_code.is_none() {
            (v.t("In the app's conversation ", "Dans la conversation de l'application "))
            code { (d.conversation.as_deref().unwrap_or("?")) }
        }
        @if let Some(code) = &d.reason_code {
            details {
                summary { (v.t("Details", "Détails")) }
                (v.t("Code: ", "Code : ")) code { (code) }
                @if let Some(r) = detail { br; (r) }
            }
        }
    }
}

/// What the flash says after a retry: what became of the deliveries sent again.
fn retried_message(lang: Lang, queued: usize, report: &RunReport) -> String {
    match lang {
        Lang::En => format!(
            "{queued} sent again: {} sent, {} skipped, {} failed, {} to retry.",
            report.sent, report.skipped, report.failed, report.retrying
        ),
        Lang::Fr => format!(
            "{queued} renvoyé(s) : {} envoyés, {} ignorés, {} en échec, {} à réessayer.",
            report.sent, report.skipped, report.failed, report.retrying
        ),
    }
}

/// Sends what was queued again, then back to the notification's log with what happened.
async fn send_again(app: &App, v: &Visitor, notification: &str, queued: usize) -> Page {
    let back = format!("/notifications/{}", url_enc(notification));
    if queued == 0 {
        let why = v.t(
            "Nothing to retry: no delivery of this notification has failed.",
            "Rien à réessayer : aucun envoi de cette notification n'est en échec.",
        );
        return Ok(see_other(&back, Some(Flash::Error(why.into()))));
    }
    let report = lms::workers::run_outbox(&app.lms, PLATFORM, lms::db::now()).await?;
    Ok(see_other(
        &back,
        Some(Flash::Ok(retried_message(v.lang, queued, &report))),
    ))
}

/// The refusal a learner gets for a retry.
fn refused(v: &Visitor) -> Page {
    Ok(see_other(
        "/",
        Some(Flash::Error(
            v.t(
                "Only authors and platform admins may retry deliveries.",
                "Seuls les auteurs et les admins de la plateforme peuvent réessayer des envois.",
            )
            .into(),
        )),
    ))
}

/// `POST /notifications/{id}/deliveries/{delivery}/retry`: sends one failed delivery again.
async fn retry(
    State(app): State<App>,
    v: Visitor,
    Path((id, delivery)): Path<(String, String)>,
) -> Page {
    if !v.is_author() {
        return refused(&v);
    }
    let of_notification = app
        .lms
        .outbox()
        .deliveries(PLATFORM, &id)?
        .iter()
        .any(|d| d.id == delivery);
    if !of_notification {
        return Ok(not_found());
    }
    let queued = app.lms.outbox().retry(PLATFORM, &delivery, &v.me.id)?;
    send_again(&app, &v, &id, usize::from(queued)).await
}

/// `POST /notifications/{id}/retry-failed`: sends every failed delivery of the notification again.
async fn retry_failed(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_author() {
        return refused(&v);
    }
    let queued = app.lms.outbox().retry_failed(PLATFORM, &id, &v.me.id)?;
    send_again(&app, &v, &id, queued).await
}
