//! Paths & sessions: the sessions with their invitation button (a cancelled one says so, and has none), the paths
//! with their "Slack message" steps (each with where it stands, and its pause, edit and delete) and the form that adds
//! one. In English and French.

use crate::web::errors::Page;
use crate::web::flash::{Flash, see_other};
use crate::web::format::{date_in, duration, from_local_input, local_input, url_enc};
use crate::web::frame::Section;
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use anyhow::Result;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::routing::{get, post};
use lms::db::{Session, now};
use lms::integration::{Lms, Tile};
use lms::lang::Lang;
use lms::scheduler::{PathStep, Schedule, StepDraft, StepProgress, StepRefused, StepStatus};
use lms::sessions::Status;
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

/// The routes of the page and of its forms.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new()
        .route("/paths", get(paths))
        .route("/paths/{id}/steps", post(add_step))
        .route("/paths/{id}/steps/{step}/edit", post(edit_step))
        .route("/paths/{id}/steps/{step}/pause", post(pause_step))
        .route("/paths/{id}/steps/{step}/resume", post(resume_step))
        .route("/paths/{id}/steps/{step}/delete", post(delete_step))
}

/// `/paths`.
async fn paths(State(app): State<App>, v: Visitor) -> Page {
    let title = v.t("Paths & sessions", "Parcours et sessions");
    if !v.is_author() {
        return Ok(v.refused_for_learners(&app, title));
    }
    let tz = &v.me.time_zone;
    let n_learners = v.learners().count();
    let sessions = app.lms.db().sessions(PLATFORM)?;
    let mut cancelled = Vec::new();
    for s in &sessions {
        if let Status::Cancelled(at) = lms::sessions::status(app.lms.db(), PLATFORM, &s.id)? {
            cancelled.push((s.id.as_str(), at));
        }
    }
    let mut steps = Vec::new();
    for step in app.lms.db().path_steps(PLATFORM)? {
        let progress = app.lms.db().path_step_progress(PLATFORM, &step)?;
        steps.push((step, progress));
    }
    let active = matches!(app.lms.tile(PLATFORM)?, Tile::Active(_));
    let paths = path_rows(&app.lms)?;
    let body = html! {
        h1 { (title) }
        h2 { (v.t("Sessions", "Sessions")) }
        @for s in &sessions {
            section.card aria-labelledby={ "s-" (s.id) } {
                h3 id={ "s-" (s.id) } { a href={ "/sessions/" (url_enc(&s.id)) } { (s.title) } }
                p.muted { (date_in(s.starts_at, tz, v.lang)) " – " (date_in(s.ends_at, tz, v.lang)) }
                @if let Some((_, at)) = cancelled.iter().find(|(id, _)| *id == s.id) {
                    p {
                        span.badge.broken { (v.t("Cancelled", "Annulée")) } " "
                        span.muted { (v.t("on ", "le ")) (date_in(*at, tz, v.lang)) }
                    }
                } @else {
                    form method="post" action={ "/sessions/" (url_enc(&s.id)) "/invite" } {
                        (v.csrf_field())
                        button.primary type="submit" {
                            @match v.lang {
                                Lang::En => { "Invite learners to “" (s.title) "”" },
                                Lang::Fr => { "Inviter les apprenants à « " (s.title) " »" },
                            }
                        }
                        " "
                        span.muted {
                            @match v.lang {
                                Lang::En => {
                                    "Every learner of the platform (" (n_learners) ") is invited; those with the same \
                                     e-mail address in Slack get the invitation there."
                                },
                                Lang::Fr => {
                                    "Tous les apprenants de la plateforme (" (n_learners) ") sont invités ; ceux qui ont \
                                     la même adresse e-mail dans Slack y reçoivent l'invitation."
                                },
                            }
                        }
                    }
                }
            }
        }
        @if sessions.is_empty() {
            p.muted { (v.t("No sessions.", "Aucune session.")) }
        }
        h2 { (v.t("Paths", "Parcours")) }
        @for p in &paths {
            @let session = p.session_id.as_deref().and_then(|id| sessions.iter().find(|s| s.id == id));
            @let path_steps: Vec<_> = steps.iter().filter(|(s, _)| s.path_id == p.id).collect();
            section.card id={ "path-" (p.id) } aria-labelledby={ "p-" (p.id) } {
                h3 id={ "p-" (p.id) } { (p.title) }
                p.muted {
                    (v.t("Session: ", "Session : "))
                    (session.map_or(v.t("none", "aucune"), |s: &Session| s.title.as_str()))
                    " · " (p.enrolled) " " (v.t("enrolled", "inscrits"))
                }
                h4 { (v.t("Steps", "Étapes")) }
                p.muted.rules { (rules(v.lang)) }
                ul.steps {
                    @for (st, progress) in &path_steps {
                        (step_item(&v, &p.id, st, progress))
                    }
                    @if path_steps.is_empty() {
                        li.muted { (v.t("No Slack message steps yet.", "Aucune étape « Message Slack » pour l'instant.")) }
                    }
                }
                details.add-step open[active] {
                    summary { (v.t("Add a “Slack message” step", "Ajouter une étape « Message Slack »")) }
                    @if !active {
                        p.note {
                            (v.t("Slack message steps need the Slack integration to be active (Settings → Connectors).",
                                 "Les étapes « Message Slack » demandent que l'intégration Slack soit active \
                                  (Paramètres → Connecteurs)."))
                        }
                    }
                    (step_form(&v, &StepForm::new(&p.id)))
                }
            }
        }
    };
    Ok(v.page(&app, Section::Paths, title, body))
}

/// The rules of steps, as the page states them.
fn rules(lang: Lang) -> &'static str {
    lang.pick(
        "A date already past is refused. A paused step sends nothing; when it is resumed, what fell due while it was \
         paused goes out at once. A step can be edited until it starts sending; after that, pause or delete it and \
         add a new one. Deleting a step stops it: what it sent stays in Slack and in the delivery log.",
        "Une date déjà passée est refusée. Une étape en pause n'envoie rien ; à sa reprise, ce qui arrivait à \
         échéance pendant la pause part aussitôt. Une étape peut être modifiée tant que son envoi n'a pas commencé ; \
         ensuite, mettez-la en pause ou supprimez-la, et ajoutez-en une nouvelle. Supprimer une étape l'arrête : ce \
         qu'elle a envoyé reste dans Slack et dans le journal des envois.",
    )
}

/// One step of a path: its title, where it stands, when it goes out, its text, what became of it, and its actions.
fn step_item(v: &Visitor, path_id: &str, st: &PathStep, progress: &StepProgress) -> Markup {
    let tz = &v.me.time_zone;
    let status = progress.status(st);
    let (badge, label) = match status {
        StepStatus::Paused => ("inactive", v.t("Paused", "En pause")),
        StepStatus::Pending => ("pending", v.t("Pending", "En attente")),
        StepStatus::PartlySent => ("pending", v.t("Partly sent", "Envoyée en partie")),
        StepStatus::Sent => ("active", v.t("Sent", "Envoyée")),
    };
    let to = |what: &str| {
        format!(
            "/paths/{}/steps/{}/{what}",
            url_enc(path_id),
            url_enc(&st.id)
        )
    };
    html! {
        li.step id={ "step-" (st.id) } data-status=(status_tag(status)) {
            p.step-head {
                strong { (v.t("Slack message: ", "Message Slack : ")) (st.title) }
                " "
                span class={ "badge " (badge) } { (label) }
            }
            p.muted { (when(&st.schedule, tz, v.lang)) }
            p.step-text { (st.text) }
            p.muted.progress { (progress_words(progress, v.lang)) }
            @if let Some(since) = st.paused_since {
                p.note {
                    @match v.lang {
                        Lang::En => { "Paused since " (date_in(since, tz, v.lang)) ": nothing goes out until it is resumed." },
                        Lang::Fr => { "En pause depuis le " (date_in(since, tz, v.lang)) " : rien ne part avant sa reprise." },
                    }
                }
            }
            div.actions {
                @if st.paused_since.is_some() {
                    form method="post" action=(to("resume")) {
                        (v.csrf_field())
                        button.primary type="submit" { (v.t("Resume", "Reprendre")) }
                    }
                } @else {
                    form method="post" action=(to("pause")) {
                        (v.csrf_field())
                        button type="submit" { (v.t("Pause", "Mettre en pause")) }
                    }
                }
                @if progress.started() {
                    a href={ "/notifications/" (url_enc(&st.id)) } { (v.t("Delivery log", "Journal des envois")) }
                }
                details.delete {
                    summary { (v.t("Delete…", "Supprimer…")) }
                    form method="post" action=(to("delete")) {
                        (v.csrf_field())
                        p { (v.t("The step sends nothing more; what it sent stays in Slack and in the delivery log.",
                                 "L'étape n'envoie plus rien ; ce qu'elle a envoyé reste dans Slack et dans le journal des envois.")) }
                        button.danger type="submit" { (v.t("Delete this step", "Supprimer cette étape")) }
                    }
                }
            }
            @if progress.started() {
                p.muted { (v.t("It has started sending: it can no longer be edited.",
                               "Son envoi a commencé : elle ne peut plus être modifiée.")) }
            } @else {
                details.edit {
                    summary { (v.t("Edit", "Modifier")) }
                    (step_form(v, &StepForm::editing(path_id, st, to("edit"))))
                }
            }
        }
    }
}

/// The status as the page's `data-status` names it (for scripts and tests).
fn status_tag(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Paused => "paused",
        StepStatus::Pending => "pending",
        StepStatus::PartlySent => "partly-sent",
        StepStatus::Sent => "sent",
    }
}

/// What became of a step, per learner, in words: "Sent to 2 of 4 enrolled learners · 1 skipped · 1 to come".
fn progress_words(p: &StepProgress, lang: Lang) -> String {
    let mut parts = vec![match lang {
        Lang::En => format!("Sent to {} of {} enrolled learners", p.sent, p.enrolled),
        Lang::Fr => format!(
            "Envoyée à {} des {} apprenants inscrits",
            p.sent, p.enrolled
        ),
    }];
    for (n, en, fr) in [
        (p.skipped, "skipped", "ignorés"),
        (p.failed, "failed", "en échec"),
        (p.sending, "being sent", "en cours d'envoi"),
        (p.to_come(), "to come", "à venir"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {}", lang.pick(en, fr)));
        }
    }
    parts.join(" · ")
}

/// When a step goes out, in words.
fn when(schedule: &Schedule, tz: &str, lang: Lang) -> String {
    match (*schedule, lang) {
        (Schedule::At(at), Lang::En) => format!("On {}", date_in(at, tz, lang)),
        (Schedule::At(at), Lang::Fr) => format!("Le {}", date_in(at, tz, lang)),
        (Schedule::AfterEnrolment(secs), Lang::En) => {
            format!("{} after each learner's enrolment", duration(secs, lang))
        }
        (Schedule::AfterEnrolment(secs), Lang::Fr) => {
            format!(
                "{} après l'inscription de chaque apprenant",
                duration(secs, lang)
            )
        }
    }
}

/// The units an offset from enrolment is given in, in seconds, largest first.
const UNITS: [(i64, &str, &str); 3] = [
    (86_400, "days", "jours"),
    (3_600, "hours", "heures"),
    (60, "minutes", "minutes"),
];

/// A step form: adding a step to a path, or editing one, with the values it starts with.
struct StepForm<'a> {
    /// What the fields' ids start with, unique on the page.
    key: String,
    /// Where it posts.
    action: String,
    /// The step edited, if any.
    step: Option<&'a PathStep>,
}

impl<'a> StepForm<'a> {
    /// The form that adds a step to the path `path_id`.
    fn new(path_id: &str) -> StepForm<'a> {
        StepForm {
            key: format!("new-{path_id}"),
            action: format!("/paths/{}/steps", url_enc(path_id)),
            step: None,
        }
    }

    /// The form that edits `step` of the path `path_id`, posting to `action`.
    fn editing(path_id: &str, step: &'a PathStep, action: String) -> StepForm<'a> {
        StepForm {
            key: format!("edit-{path_id}-{}", step.id),
            action,
            step: Some(step),
        }
    }
}

/// A step form, with the visitor's CSRF field.
fn step_form(v: &Visitor, form: &StepForm<'_>) -> Markup {
    let tz = &v.me.time_zone;
    let id = &form.key;
    let schedule = form.step.map(|s| s.schedule);
    let at = match schedule {
        Some(Schedule::At(at)) => local_input(at, tz),
        _ => None,
    };
    let (after, unit) = match schedule {
        Some(Schedule::AfterEnrolment(secs)) => UNITS
            .iter()
            .find(|(u, _, _)| secs % u == 0)
            .map_or((secs / 60, 60), |(u, _, _)| (secs / u, *u)),
        _ => (1, 86_400),
    };
    let after_chosen = matches!(schedule, Some(Schedule::AfterEnrolment(_)));
    html! {
        form.step-form method="post" action=(form.action) {
            (v.csrf_field())
            div.field {
                label for={ "title-" (id) } { (v.t("Title (the e-mail subject)", "Titre (l'objet de l'e-mail)")) }
                input type="text" id={ "title-" (id) } name="title" required maxlength="150" size="50"
                    value=[form.step.map(|s| s.title.as_str())];
            }
            div.field {
                label for={ "text-" (id) } { (v.t("Message", "Message")) }
                textarea id={ "text-" (id) } name="text" rows="3" required maxlength="2500" {
                    (form.step.map_or("", |s| s.text.as_str()))
                }
            }
            fieldset {
                legend { (v.t("When", "Quand")) }
                div.field {
                    input type="radio" id={ "when-at-" (id) } name="when" value="at" checked[!after_chosen];
                    " "
                    label for={ "when-at-" (id) } { (v.t("On", "Le")) }
                    " "
                    input type="datetime-local" id={ "at-" (id) } name="at" value=[at]
                        aria-label={ (v.t("Date and time", "Date et heure")) " (" (tz) ")" };
                    " "
                    span.muted { (tz) }
                }
                div.field {
                    input type="radio" id={ "when-after-" (id) } name="when" value="after" checked[after_chosen];
                    " "
                    label for={ "when-after-" (id) } {
                        (v.t("After each learner's enrolment:", "Après l'inscription de chaque apprenant :"))
                    }
                    " "
                    input type="number" id={ "after-" (id) } name="after" min="0" value=(after)
                        aria-label=(v.t("How long after enrolment", "Délai après l'inscription"));
                    " "
                    select name="unit" aria-label=(v.t("Unit", "Unité")) {
                        @for (secs, en, fr) in UNITS {
                            option value=(secs) selected[secs == unit] { (v.t(en, fr)) }
                        }
                    }
                }
            }
            div.actions {
                button.primary type="submit" {
                    @if form.step.is_some() {
                        (v.t("Save the step", "Enregistrer l'étape"))
                    } @else {
                        (v.t("Add the step", "Ajouter l'étape"))
                    }
                }
            }
        }
    }
}

/// The schedule a step form gives, or the message that says what is wrong with it.
fn schedule_of(v: &Visitor, form: &forms::Fields) -> Result<Schedule, String> {
    match forms::value(form, "when") {
        "after" => {
            let n: i64 = forms::value(form, "after").trim().parse().unwrap_or(-1);
            let unit: i64 = forms::value(form, "unit").parse().unwrap_or(86_400);
            if n < 0 {
                return Err(v
                    .t(
                        "Give how long after enrolment, as a number.",
                        "Indiquez le délai après l'inscription, en nombre.",
                    )
                    .into());
            }
            Ok(Schedule::AfterEnrolment(n.saturating_mul(unit)))
        }
        _ => from_local_input(forms::value(form, "at"), &v.me.time_zone)
            .map(Schedule::At)
            .ok_or_else(|| {
                v.t(
                    "Give the date and time the message goes out.",
                    "Indiquez la date et l'heure d'envoi du message.",
                )
                .into()
            }),
    }
}

/// A refusal of the scheduler, in the visitor's language; any other error as it reads.
fn refusal(e: &anyhow::Error, lang: Lang) -> String {
    let Some(r) = e.downcast_ref::<StepRefused>() else {
        return format!("{e:#}");
    };
    match (r, lang) {
        (r, Lang::En) => r.to_string(),
        (StepRefused::NotAuthor, Lang::Fr) => {
            "Seuls les auteurs et les admins peuvent modifier les étapes d'un parcours.".into()
        }
        (StepRefused::NotActive, Lang::Fr) => {
            "Les étapes « Message Slack » demandent que l'intégration Slack \
             soit active : demandez d'abord à un admin de la plateforme de l'activer."
                .into()
        }
        (StepRefused::Incomplete, Lang::Fr) => {
            "Une étape « Message Slack » demande un titre et un texte.".into()
        }
        (StepRefused::NoPath(id), Lang::Fr) => {
            format!("Il n'y a pas de parcours {id} sur cette plateforme.")
        }
        (StepRefused::NoStep, Lang::Fr) => "Cette étape n'existe plus.".into(),
        (StepRefused::NegativeOffset, Lang::Fr) => {
            "Le délai après l'inscription ne peut pas être négatif.".into()
        }
        (StepRefused::Past, Lang::Fr) => {
            "Cette date est déjà passée : choisissez une date et une heure à venir.".into()
        }
        (StepRefused::Started, Lang::Fr) => {
            "L'envoi de cette étape a commencé, elle ne peut plus être \
             modifiée : mettez-la en pause ou supprimez-la, et ajoutez une nouvelle étape."
                .into()
        }
    }
}

/// The message after a step action: `ok`'s when it worked, the refusal in the visitor's language when not.
fn outcome(v: &Visitor, done: Result<PathStep>, ok: impl FnOnce(&PathStep) -> String) -> Flash {
    match done {
        Ok(step) => Flash::Ok(ok(&step)),
        Err(e) => Flash::Error(refusal(&e, v.lang)),
    }
}

/// Where a step action goes back to: the path's card.
fn back_to(path_id: &str) -> String {
    format!("/paths#path-{}", url_enc(path_id))
}

/// `POST /paths/{id}/steps`: adds a "Slack message" step.
async fn add_step(
    State(app): State<App>,
    v: Visitor,
    Path(path_id): Path<String>,
    Form(form): Form<forms::Fields>,
) -> Page {
    let back = back_to(&path_id);
    let schedule = match schedule_of(&v, &form) {
        Ok(s) => s,
        Err(m) => return Ok(see_other(&back, Some(Flash::Error(m)))),
    };
    let added = app.lms.add_path_step(
        PLATFORM,
        &v.me.id,
        &path_id,
        forms::value(&form, "title").trim(),
        forms::value(&form, "text").trim(),
        schedule,
    );
    let flash = outcome(&v, added, |step| match v.lang {
        Lang::En => format!("The Slack message step “{}” was added.", step.title),
        Lang::Fr => format!(
            "L'étape « Message Slack » « {} » a été ajoutée.",
            step.title
        ),
    });
    Ok(see_other(&back, Some(flash)))
}

/// `POST /paths/{id}/steps/{step}/edit`: changes a step that has not started sending.
async fn edit_step(
    State(app): State<App>,
    v: Visitor,
    Path((path_id, step_id)): Path<(String, String)>,
    Form(form): Form<forms::Fields>,
) -> Page {
    let back = back_to(&path_id);
    let schedule = match schedule_of(&v, &form) {
        Ok(s) => s,
        Err(m) => return Ok(see_other(&back, Some(Flash::Error(m)))),
    };
    let draft = StepDraft {
        title: forms::value(&form, "title").trim(),
        text: forms::value(&form, "text").trim(),
        schedule,
    };
    let edited = app
        .lms
        .db()
        .edit_path_step(PLATFORM, &v.me.id, &step_id, &draft, now());
    let flash = outcome(&v, edited, |step| match v.lang {
        Lang::En => format!("The step “{}” was saved.", step.title),
        Lang::Fr => format!("L'étape « {} » a été enregistrée.", step.title),
    });
    Ok(see_other(&back, Some(flash)))
}

/// `POST /paths/{id}/steps/{step}/pause`.
async fn pause_step(
    State(app): State<App>,
    v: Visitor,
    Path((path_id, step_id)): Path<(String, String)>,
) -> Page {
    set_paused(&app, &v, &path_id, &step_id, true)
}

/// `POST /paths/{id}/steps/{step}/resume`.
async fn resume_step(
    State(app): State<App>,
    v: Visitor,
    Path((path_id, step_id)): Path<(String, String)>,
) -> Page {
    set_paused(&app, &v, &path_id, &step_id, false)
}

/// Pauses or resumes a step, and goes back to its path saying what that means.
fn set_paused(app: &App, v: &Visitor, path_id: &str, step_id: &str, paused: bool) -> Page {
    let changed = app
        .lms
        .db()
        .pause_path_step(PLATFORM, &v.me.id, step_id, paused, now());
    let flash = outcome(v, changed, |step| match (v.lang, paused) {
        (Lang::En, true) => format!(
            "The step “{}” is paused: nothing goes out until it is resumed.",
            step.title
        ),
        (Lang::Fr, true) => format!(
            "L'étape « {} » est en pause : rien ne part avant sa reprise.",
            step.title
        ),
        (Lang::En, false) => format!(
            "The step “{}” is resumed: what fell due while it was paused goes out now.",
            step.title
        ),
        (Lang::Fr, false) => format!(
            "L'étape « {} » a repris : ce qui arrivait à échéance pendant la pause part maintenant.",
            step.title
        ),
    });
    Ok(see_other(&back_to(path_id), Some(flash)))
}

/// `POST /paths/{id}/steps/{step}/delete`.
async fn delete_step(
    State(app): State<App>,
    v: Visitor,
    Path((path_id, step_id)): Path<(String, String)>,
) -> Page {
    let deleted = app.lms.db().delete_path_step(PLATFORM, &v.me.id, &step_id);
    let flash = outcome(&v, deleted, |step| match v.lang {
        Lang::En => format!("The step “{}” was deleted.", step.title),
        Lang::Fr => format!("L'étape « {} » a été supprimée.", step.title),
    });
    Ok(see_other(&back_to(&path_id), Some(flash)))
}
