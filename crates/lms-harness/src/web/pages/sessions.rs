//! A session's page (what the Slack message's button opens), and what authors and admins do with it there: invite the
//! platform's learners ("Invite learners" opens a confirmation page that says what sending would do
//! ([`lms::invitations::preview`]), then "Send" invites those not invited yet, and "Send a reminder" sends the
//! invitation again to those already invited); change it ("Edit session": the messages sent about it are updated in
//! Slack, [`lms::sessions::edit_session`]); cancel it, after a confirmation page that says what that does
//! ([`lms::sessions::cancel_session`]). A cancelled session says so, with when, and has no buttons left. Learners see
//! the session only.

use super::deliveries::notification_table;
use crate::web::errors::{Page, not_found};
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date_in, from_local_input, local_input, url_enc};
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use anyhow::Result;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::routing::{get, post};
use lms::db::{Session, User, now};
use lms::invitations::{Audience, Invitation, Sending};
use lms::lang::Lang;
use lms::outbox::RunReport;
use lms::sessions::{Changed, Field, SessionRefused, Status};
use maud::{Markup, html};

/// The routes of a session's page, of its invitation, its change and its cancellation.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/sessions/{id}", get(session_page))
        .route("/sessions/{id}/invite", get(confirm).post(invite))
        .route("/sessions/{id}/edit", post(edit))
        .route("/sessions/{id}/cancel", get(confirm_cancel).post(cancel))
}

/// A session's page.
fn session_href(session_id: &str) -> String {
    format!("/sessions/{}", url_enc(session_id))
}

/// Where a session's change is posted.
fn edit_href(session_id: &str) -> String {
    format!("/sessions/{}/edit", url_enc(session_id))
}

/// Where a session's cancellation is confirmed (GET) and done (POST).
fn cancel_href(session_id: &str) -> String {
    format!("/sessions/{}/cancel", url_enc(session_id))
}

/// Where a session's invitation is confirmed.
fn invite_href(session_id: &str) -> String {
    format!("/sessions/{}/invite", url_enc(session_id))
}

/// `/sessions/{id}`: the session, and whether it is cancelled (since when); for authors and admins, its invitation
/// button, its change and its cancellation (while it is scheduled), and its notifications.
async fn session_page(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let status = lms::sessions::status(app.lms.db(), PLATFORM, &s.id)?;
    let tz = &v.me.time_zone;
    let notifications = if v.is_author() {
        Some(notification_table(&app.lms, Some(&s.id), &v)?)
    } else {
        None
    };
    let body = html! {
        article.card #session {
            h1 {
                (s.title)
                @if matches!(status, Status::Cancelled(_)) {
                    " " span.badge.broken #status { (v.t("Cancelled", "Annulée")) }
                }
            }
            @if let Status::Cancelled(at) = status {
                p.flash.error #cancelled {
                    (match v.lang {
                        Lang::En => format!("This session was cancelled on {}: it does not take place.",
                                            date_in(at, tz, v.lang)),
                        Lang::Fr => format!("Cette session a été annulée le {} : elle n'a pas lieu.",
                                            date_in(at, tz, v.lang)),
                    })
                }
            }
            @if let Some(u) = &s.cover_url {
                img.cover src=(u) alt=(v.t("Cover of the session", "Couverture de la session"));
            }
            p #dates {
                strong { (v.t("Starts:", "Début :")) } " " (date_in(s.starts_at, tz, v.lang))
                br;
                strong { (v.t("Ends:", "Fin :")) } " " (date_in(s.ends_at, tz, v.lang))
            }
            p { (s.description) }
        }
        @if let Some(table) = notifications {
            @if status == Status::Scheduled {
                div.card.actions {
                    a.button.primary href=(invite_href(&s.id)) { (v.t("Invite learners", "Inviter les apprenants")) }
                    span.muted {
                        (v.t("You see who will receive it before anything is sent.",
                             "Vous voyez qui le recevra avant tout envoi."))
                    }
                }
                (edit_form(&v, &s))
                section.card #cancel aria-labelledby="cancel-heading" {
                    h2 #cancel-heading { (v.t("Cancel the session", "Annuler la session")) }
                    p.muted {
                        (v.t("The learners' messages in Slack will say that it is cancelled. The next page says what \
                              happens before anything is done.",
                             "Les messages des apprenants dans Slack diront qu'elle est annulée. La page suivante dit \
                              ce qui se passera avant que rien ne soit fait."))
                    }
                    // A form that only leads to the confirmation page: it works without scripts.
                    form.inline method="get" action=(cancel_href(&s.id)) {
                        button.danger #cancel-session type="submit" { (v.t("Cancel session…", "Annuler la session…")) }
                    }
                }
            }
            h2 { (v.t("Notifications", "Notifications")) }
            (table)
        }
    };
    Ok(v.page(&app, Section::Paths, &s.title, body))
}

/// The form that changes a session, filled with what it is now; dates in the visitor's own time zone.
fn edit_form(v: &Visitor, s: &Session) -> Markup {
    let tz = &v.me.time_zone;
    html! {
        section.card #edit-session aria-labelledby="edit-heading" {
            h2 #edit-heading { (v.t("Edit session", "Modifier la session")) }
            p.muted {
                (v.t("The learners who received a message about it see that message updated in Slack, with what \
                      changed; invitations still to go out show the new version.",
                     "Les apprenants qui ont reçu un message à son sujet voient ce message mis à jour dans Slack, avec \
                      ce qui a changé ; les invitations encore à envoyer montrent la nouvelle version."))
            }
            form.session-form method="post" action=(edit_href(&s.id)) {
                (v.csrf_field())
                div.field {
                    label for="title" { (v.t("Title", "Titre")) }
                    input type="text" #title name="title" required value=(s.title);
                }
                div.field {
                    label for="description" { (v.t("Description", "Description")) }
                    textarea #description name="description" rows="5" { (s.description) }
                }
                div.field {
                    label for="cover" { (v.t("Cover image URL", "URL de l'image de couverture")) }
                    input type="url" #cover name="cover_url" value=[s.cover_url.as_deref()]
                        aria-describedby="cover-help";
                    p.muted #cover-help { (v.t("Empty: no cover.", "Vide : pas de couverture.")) }
                }
                div.field {
                    label for="starts" { (v.t("Starts", "Début")) }
                    input type="datetime-local" #starts name="starts" required
                        value=[local_input(s.starts_at, tz)] aria-describedby="zone-help";
                }
                div.field {
                    label for="ends" { (v.t("Ends", "Fin")) }
                    input type="datetime-local" #ends name="ends" required
                        value=[local_input(s.ends_at, tz)] aria-describedby="zone-help";
                }
                p.muted #zone-help {
                    (v.t("Dates and times in your time zone: ", "Dates et heures dans votre fuseau horaire : ")) (tz)
                }
                div.actions {
                    button.primary #save-session type="submit" { (v.t("Save changes", "Enregistrer les modifications")) }
                }
            }
        }
    }
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
    if let Status::Cancelled(_) = lms::sessions::status(app.lms.db(), PLATFORM, &s.id)? {
        let why = refusal(&SessionRefused::Cancelled.into(), v.lang);
        return Ok(see_other(&session_href(&s.id), Some(Flash::Error(why))));
    }
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
                        a href=(session_href(&s.id)) { (v.t("Cancel", "Annuler")) }
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
    let at = now();
    let invitation = match lms::invitations::invite_learners(
        app.lms.db(),
        PLATFORM,
        &session,
        &v.me.id,
        at,
        sending,
    ) {
        Ok(invitation) => invitation,
        Err(e) if e.is::<SessionRefused>() => {
            let why = refusal(&e, v.lang);
            return Ok(see_other(
                &session_href(&session.id),
                Some(Flash::Error(why)),
            ));
        }
        Err(e) => return Err(e.into()),
    };
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

/// A refusal of the LMS about a session, in the visitor's language; any other error as it reads.
fn refusal(e: &anyhow::Error, lang: Lang) -> String {
    match e.downcast_ref::<SessionRefused>() {
        Some(r) => {
            let (en, fr) = r.texts();
            lang.pick(en, fr).to_string()
        }
        None => format!("{e:#}"),
    }
}

/// A field of a session as the pages name it.
fn field_name(field: Field, lang: Lang) -> &'static str {
    match field {
        Field::Title => lang.pick("title", "titre"),
        Field::Description => "description",
        Field::Cover => lang.pick("cover", "couverture"),
        Field::Dates => "dates",
    }
}

/// How many Slack messages a change or a cancellation updates, in a sentence.
fn updates_sentence(updates: usize, lang: Lang) -> String {
    match (lang, updates) {
        (Lang::En, 0) => "No Slack message was sent about it yet: none to update.".into(),
        (Lang::En, 1) => "1 Slack message will be updated.".into(),
        (Lang::En, n) => format!("{n} Slack messages will be updated."),
        (Lang::Fr, 0) => {
            "Aucun message Slack n'a encore été envoyé à son sujet : aucun à mettre à jour.".into()
        }
        (Lang::Fr, 1) => "1 message Slack sera mis à jour.".into(),
        (Lang::Fr, n) => format!("{n} messages Slack seront mis à jour."),
    }
}

/// What the flash says after a change: what changed, and how many Slack messages will be updated.
fn changed_message(changed: &Changed, lang: Lang) -> String {
    if changed.fields.is_empty() {
        return lang
            .pick(
                "Nothing changed: the session already was so.",
                "Rien n'a changé : la session était déjà ainsi.",
            )
            .into();
    }
    let fields = changed
        .fields
        .iter()
        .map(|f| field_name(*f, lang))
        .collect::<Vec<_>>()
        .join(", ");
    let head = match lang {
        Lang::En => format!("Saved: {fields} changed."),
        Lang::Fr => format!("Enregistré. Modifié : {fields}."),
    };
    format!("{head} {}", updates_sentence(changed.updates, lang))
}

/// The session a change form gives (its fields, its dates read in the visitor's time zone), or what is wrong with it.
fn posted_session(v: &Visitor, id: &str, form: &forms::Fields) -> Result<Session, String> {
    let tz = &v.me.time_zone;
    let (Some(starts_at), Some(ends_at)) = (
        from_local_input(forms::value(form, "starts"), tz),
        from_local_input(forms::value(form, "ends"), tz),
    ) else {
        return Err(v
            .t(
                "Give when the session starts and ends, as a date and a time.",
                "Indiquez quand la session commence et finit, par une date et une heure.",
            )
            .into());
    };
    let cover = forms::value(form, "cover_url").trim();
    Ok(Session {
        id: id.to_string(),
        title: forms::value(form, "title").trim().to_string(),
        description: forms::value(form, "description").trim().to_string(),
        cover_url: (!cover.is_empty()).then(|| cover.to_string()),
        starts_at,
        ends_at,
    })
}

/// The refusal a learner gets for a change or a cancellation.
fn not_author(v: &Visitor) -> Page {
    let (en, fr) = SessionRefused::NotAuthor.texts();
    Ok(see_other("/", Some(Flash::Error(v.t(en, fr).into()))))
}

/// `POST /sessions/{id}/edit`: changes the session ([`lms::sessions::edit_session`]); the flash says what changed and
/// how many Slack messages will be updated (the background runner sends the updates), or why nothing was.
async fn edit(
    State(app): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    if !v.is_author() {
        return not_author(&v);
    }
    let Some(old) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let back = session_href(&old.id);
    let new = match posted_session(&v, &old.id, &form) {
        Ok(new) => new,
        Err(why) => return Ok(see_other(&back, Some(Flash::Error(why)))),
    };
    let flash = match lms::sessions::edit_session(app.lms.db(), PLATFORM, &v.me.id, &new, now()) {
        Ok(changed) => Flash::Ok(changed_message(&changed, v.lang)),
        Err(e) if e.is::<SessionRefused>() => Flash::Error(refusal(&e, v.lang)),
        Err(e) => return Err(e.into()),
    };
    Ok(see_other(&back, Some(flash)))
}

/// `GET /sessions/{id}/cancel`: what cancelling does (the messages sent say it is cancelled, what is still to come
/// is not sent, it can no longer change), with the button that does it and a way back.
async fn confirm_cancel(State(app): State<App>, v: Visitor, Path(id): Path<String>) -> Page {
    let title = v.t("Cancel the session?", "Annuler la session ?");
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, title));
    }
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    if let Status::Cancelled(_) = lms::sessions::status(app.lms.db(), PLATFORM, &s.id)? {
        let why = refusal(&SessionRefused::Cancelled.into(), v.lang);
        return Ok(see_other(&session_href(&s.id), Some(Flash::Error(why))));
    }
    let lms::sessions::CancelPreview {
        updates: sent,
        not_sent: to_come,
    } = lms::sessions::cancel_preview(app.lms.db(), PLATFORM, &s.id)?;
    let heading = match v.lang {
        Lang::En => format!("Cancel “{}”?", s.title),
        Lang::Fr => format!("Annuler « {} » ?", s.title),
    };
    let body = html! {
        (crumbs(&[v.t("Paths & sessions", "Parcours et sessions"), &s.title, v.t("Cancel", "Annuler")]))
        h1 { (heading) }
        section.card #confirm aria-labelledby="what-happens" {
            h2 #what-happens { (v.t("What will happen", "Ce qui va se passer")) }
            ul #effects {
                li #effect-sent {
                    (match v.lang {
                        Lang::En => format!("The Slack messages already sent about it ({sent}) are updated to say \
                                             that it is cancelled; their button is removed."),
                        Lang::Fr => format!("Les messages Slack déjà envoyés à son sujet ({sent}) sont mis à jour \
                                             pour dire qu'elle est annulée ; leur bouton est retiré."),
                    })
                }
                li #effect-to-come {
                    (match v.lang {
                        Lang::En => format!("The invitations and reminders still to come ({to_come}) are not sent."),
                        Lang::Fr => format!("Les invitations et les rappels encore à venir ({to_come}) ne sont pas \
                                             envoyés."),
                    })
                }
                li {
                    (v.t("It can no longer be changed, and nobody can be invited to it. This cannot be undone.",
                         "Elle ne peut plus être modifiée, et personne ne peut y être invité. C'est définitif."))
                }
            }
            form.inline method="post" action=(cancel_href(&s.id)) {
                (v.csrf_field())
                input type="hidden" name="confirm" value="yes";
                button.danger #confirm-cancel type="submit" {
                    (v.t("Yes, cancel the session", "Oui, annuler la session"))
                }
            }
            " "
            a.button #keep-session href=(session_href(&s.id)) { (v.t("No, keep it", "Non, la garder")) }
        }
    };
    Ok(v.page(&app, Section::Paths, &heading, body))
}

/// `POST /sessions/{id}/cancel` from the confirmation page (`confirm=yes`; without it, the confirmation page first):
/// cancels the session ([`lms::sessions::cancel_session`]); the background runner sends the updates.
async fn cancel(
    State(app): State<App>,
    v: Visitor,
    Path(id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    if !v.is_author() {
        return not_author(&v);
    }
    if forms::value(&form, "confirm") != "yes" {
        return Ok(see_other(&cancel_href(&id), None));
    }
    let Some(s) = app.lms.db().session(PLATFORM, &id)? else {
        return Ok(not_found());
    };
    let flash = match lms::sessions::cancel_session(app.lms.db(), PLATFORM, &v.me.id, &s.id, now())
    {
        Ok(changed) => Flash::Ok(match v.lang {
            Lang::En => format!(
                "“{}” is cancelled: nothing more is sent about it. {}",
                s.title,
                updates_sentence(changed.updates, v.lang)
            ),
            Lang::Fr => format!(
                "« {} » est annulée : plus rien n'est envoyé à son sujet. {}",
                s.title,
                updates_sentence(changed.updates, v.lang)
            ),
        }),
        Err(e) if e.is::<SessionRefused>() => Flash::Error(refusal(&e, v.lang)),
        Err(e) => return Err(e.into()),
    };
    Ok(see_other(&session_href(&s.id), Some(flash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_says_what_changed_and_how_many_messages_follow() {
        let changed = Changed {
            fields: vec![Field::Title, Field::Dates],
            updates: 2,
        };
        assert_eq!(
            changed_message(&changed, Lang::En),
            "Saved: title, dates changed. 2 Slack messages will be updated."
        );
        assert_eq!(
            changed_message(&changed, Lang::Fr),
            "Enregistré. Modifié : titre, dates. 2 messages Slack seront mis à jour."
        );
        assert_eq!(
            changed_message(&Changed::default(), Lang::En),
            "Nothing changed: the session already was so."
        );
        assert_eq!(
            updates_sentence(1, Lang::En),
            "1 Slack message will be updated."
        );
        let cancelled: anyhow::Error = SessionRefused::Cancelled.into();
        assert!(refusal(&cancelled, Lang::Fr).starts_with("Cette session est annulée"));
    }
}
