//! A session's page (what the Slack message's button opens), and inviting the platform's learners to it: "Invite
//! learners" opens a confirmation page that says what sending would do ([`lms::invitations::preview`]), then "Send"
//! invites those not invited yet, and "Send a reminder" sends the invitation again to those already invited.

use super::deliveries::notification_table;
use crate::web::errors::{Page, not_found};
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date, url_enc};
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::routing::get;
use lms::db::User;
use lms::invitations::{Audience, Invitation, Sending};
use lms::lang::Lang;
use lms::outbox::RunReport;
use maud::{Markup, html};

/// The routes of a session's page and of its invitation.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/invite", get(confirm).post(invite))
}

/// Where a session's invitation is confirmed.
fn invite_href(session_id: &str) -> String {
    format!("/sessions/{}/invite", url_enc(session_id))
}

/// `/sessions/{id}`: the session; for authors and admins, the invitation button and its notifications too.
async fn session_page(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let tz = &v.me.time_zone;
    let notifications = if v.is_author() {
        Some(notification_table(&app.lms, Some(&s.id), &v)?)
    } else {
        None
    };
    let body = html! {
        article.card {
            h1 { (s.title) }
            @if let Some(u) = &s.cover_url {
                img.cover src=(u) alt=(v.t("Cover of the session", "Couverture de la session"));
            }
            p {
                strong { (v.t("Starts:", "Début :")) } " " (date(s.starts_at, tz))
                br;
                strong { (v.t("Ends:", "Fin :")) } " " (date(s.ends_at, tz))
            }
            p { (s.description) }
        }
        @if let Some(table) = notifications {
            div.card.actions {
                a.button.primary href=(invite_href(&s.id)) { (v.t("Invite learners", "Inviter les apprenants")) }
                span.muted {
                    (v.t("You see who will receive it before anything is sent.",
                         "Vous voyez qui le recevra avant tout envoi."))
                }
            }
            (table)
        }
    };
    Ok(v.page(&app, Section::Paths, &s.title, body))
}

/// The names of `users`, joined for a sentence.
fn names(users: &[User]) -> String {
    users
        .iter()
        .map(|u| u.display_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "N learners", in the visitor's language.
fn learners(n: usize, lang: Lang) -> String {
    match (lang, n) {
        (Lang::En, 1) => "1 learner".into(),
        (Lang::En, n) => format!("{n} learners"),
        (Lang::Fr, 0 | 1) => format!("{n} apprenant"),
        (Lang::Fr, n) => format!("{n} apprenants"),
    }
}

/// Who of an audience the message would reach in Slack, and who not and why, with their names.
fn audience_details(v: &Visitor, audience: &Audience, id: &str) -> Markup {
    html! {
        ul id=(id) {
            li.reached {
                (match v.lang {
                    Lang::En => format!("In Slack, as far as earlier messages tell: {}", audience.reached()),
                    Lang::Fr => format!("Dans Slack, d'après les messages précédents : {}", audience.reached()),
                })
            }
            li.no-account {
                (match v.lang {
                    Lang::En => format!("No Slack account, as of their last message: {}", audience.no_account.len()),
                    Lang::Fr => format!("Sans compte Slack, d'après leur dernier message : {}", audience.no_account.len()),
                })
                @if !audience.no_account.is_empty() { " (" (names(&audience.no_account)) ")" }
            }
            li.opted-out {
                (match v.lang {
                    Lang::En => format!("Turned Slack invitations off: {}", audience.opted_out.len()),
                    Lang::Fr => format!("Ont désactivé les invitations dans Slack : {}", audience.opted_out.len()),
                })
                @if !audience.opted_out.is_empty() { " (" (names(&audience.opted_out)) ")" }
            }
        }
    }
}

/// `GET /sessions/{id}/invite`: what inviting would do (who is new, who was already invited, who has no Slack
/// account or turned invitations off), with "Send" and "Send a reminder".
async fn confirm(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, v.t("Invite learners", "Inviter les apprenants")));
    }
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let preview = lms::invitations::preview(app.lms.db(), PLATFORM, &s.id)?;
    let (new, already) = (&preview.new, &preview.already_invited);
    let title = match v.lang {
        Lang::En => format!("Invite learners to “{}”", s.title),
        Lang::Fr => format!("Inviter les apprenants à « {} »", s.title),
    };
    let subject = lms::invitations::subject(&s.title, v.lang);
    let body = html! {
        (crumbs(&[v.t("Paths & sessions", "Parcours et sessions"), &s.title, v.t("Invite learners", "Inviter les apprenants")]))
        h1 { (title) }
        p.muted {
            (v.t("Subject: ", "Objet : ")) q { (subject) }
            (v.t(" (each learner reads it in their own language).", " (chaque apprenant le lit dans sa langue)."))
        }
        section.card #new-learners aria-labelledby="new-heading" {
            h2 #new-heading {
                @if new.learners.is_empty() {
                    (v.t("Every learner was already invited.", "Tous les apprenants ont déjà été invités."))
                } @else {
                    (match (v.lang, new.learners.len()) {
                        (Lang::En, n) => format!("{} will receive this invitation", learners(n, v.lang)),
                        (Lang::Fr, 1) => "1 apprenant recevra cette invitation".to_string(),
                        (Lang::Fr, n) => format!("{} recevront cette invitation", learners(n, v.lang)),
                    })
                }
            }
            @if !new.learners.is_empty() {
                p { (names(&new.learners)) }
                (audience_details(&v, new, "new-details"))
                form method="post" action=(invite_href(&s.id)) {
                    (v.csrf_field())
                    div.actions {
                        button.primary #send type="submit" name="send" value="invitation" { (v.t("Send", "Envoyer")) }
                        a href={ "/sessions/" (url_enc(&s.id)) } { (v.t("Cancel", "Annuler")) }
                    }
                }
            }
        }
        section.card #already-invited aria-labelledby="already-heading" {
            h2 #already-heading {
                (match v.lang {
                    Lang::En => format!("Already invited: {}", already.learners.len()),
                    Lang::Fr => format!("Déjà invités : {}", already.learners.len()),
                })
            }
            @if already.learners.is_empty() {
                p.muted { (v.t("Nobody yet.", "Personne pour l'instant.")) }
            } @else {
                p { (names(&already.learners)) }
                p.muted {
                    (v.t("They do not receive the invitation again, unless you send a reminder.",
                         "Ils ne reçoivent pas l'invitation à nouveau, sauf si vous envoyez un rappel."))
                }
                (audience_details(&v, already, "already-details"))
                form method="post" action=(invite_href(&s.id)) {
                    (v.csrf_field())
                    div.actions {
                        button #remind type="submit" name="send" value="reminder" {
                            (match v.lang {
                                Lang::En => format!("Send a reminder to the {} already invited", learners(already.learners.len(), v.lang)),
                                Lang::Fr => format!("Envoyer un rappel aux {} déjà invités", learners(already.learners.len(), v.lang)),
                            })
                        }
                    }
                }
            }
        }
    };
    Ok(v.page(&app, Section::Paths, &title, body))
}

/// What the flash says after sending.
fn sent_message(
    v: &Visitor,
    sending: Sending,
    invitation: &Invitation,
    report: &RunReport,
    names: &str,
) -> String {
    let n = learners(invitation.learners.len(), v.lang);
    let counts = match v.lang {
        Lang::En => format!(
            "{} sent, {} skipped, {} failed, {} to retry.",
            report.sent, report.skipped, report.failed, report.retrying
        ),
        Lang::Fr => format!(
            "{} envoyés, {} ignorés, {} en échec, {} à réessayer.",
            report.sent, report.skipped, report.failed, report.retrying
        ),
    };
    let head = match (v.lang, sending) {
        (Lang::En, Sending::Invitation) => format!("{n} invited: {counts}"),
        (Lang::Fr, Sending::Invitation) => format!("{n} invités : {counts}"),
        (Lang::En, Sending::Reminder) => format!("Reminder sent to {n}: {counts}"),
        (Lang::Fr, Sending::Reminder) => format!("Rappel envoyé à {n} : {counts}"),
    };
    if invitation.already_invited.is_empty() {
        return head;
    }
    match v.lang {
        Lang::En => format!("{head} Already invited, not sent again: {names}."),
        Lang::Fr => format!("{head} Déjà invités, sans nouvel envoi : {names}."),
    }
}

/// `POST /sessions/{id}/invite`: `send=invitation` invites the learners not invited yet, `send=reminder` those already
/// invited ([`lms::invitations::invite_learners`]), sends, and shows the delivery log of the notification. Without
/// `send` (a form that predates the confirmation), it shows the confirmation page.
async fn invite(
    State(app): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    if !v.is_author() {
        return Ok(see_other(
            "/",
            Some(Flash::Error(
                v.t(
                    "Only authors and platform admins may invite learners.",
                    "Seuls les auteurs et les admins de la plateforme peuvent inviter des apprenants.",
                )
                .into(),
            )),
        ));
    }
    let Some(session) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let sending = match forms::value(&form, "send") {
        "invitation" => Sending::Invitation,
        "reminder" => Sending::Reminder,
        _ => return Ok(see_other(&invite_href(&session.id), None)),
    };
    let at = lms::db::now();
    let invitation =
        lms::invitations::invite_learners(app.lms.db(), PLATFORM, &session, &v.me.id, at, sending)?;
    let already = names_of(&v, &invitation.already_invited);
    let Some(notification) = &invitation.notification_id else {
        let why = match (v.lang, sending) {
            (Lang::En, Sending::Invitation) => format!(
                "Nothing was sent: every learner was already invited ({already}). Send a reminder to send it again."
            ),
            (Lang::Fr, Sending::Invitation) => format!(
                "Rien n'a été envoyé : tous les apprenants ont déjà été invités ({already}). Envoyez un rappel pour \
                 le renvoyer."
            ),
            (Lang::En, Sending::Reminder) => "Nothing was sent: nobody was invited yet.".into(),
            (Lang::Fr, Sending::Reminder) => {
                "Rien n'a été envoyé : personne n'a encore été invité.".into()
            }
        };
        return Ok(see_other(
            &invite_href(&session.id),
            Some(Flash::Error(why)),
        ));
    };
    let report = lms::workers::run_outbox(&app.lms, PLATFORM, at).await?;
    Ok(see_other(
        &format!("/notifications/{}", url_enc(notification)),
        Some(Flash::Ok(sent_message(
            &v,
            sending,
            &invitation,
            &report,
            &already,
        ))),
    ))
}

/// The display names of users by id, joined for a sentence.
fn names_of(v: &Visitor, ids: &[String]) -> String {
    ids.iter()
        .map(|id| {
            v.users
                .iter()
                .find(|u| &u.id == id)
                .map_or(id.as_str(), |u| u.display_name.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
