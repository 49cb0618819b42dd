//! Settings → Connectors → Reminders: the platform's reminders before a session (by default the day before at 09:00
//! in each learner's own time zone, and one hour before; [`lms::reminders`]), in words, and for admins the form that
//! changes them or turns them off.

use crate::reminders::rules_text;
use crate::web::flash::{Flash, see_other};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use axum::Router;
use axum::extract::{Form, State};
use axum::routing::post;
use lms::db::now;
use lms::lang::Lang;
use lms::reminders::Rule;
use maud::{Markup, html};

/// Where the form posts.
const REMINDERS: &str = "/settings/reminders";
/// Where it comes back to: the card on the settings page.
const BACK: &str = "/settings/connectors#reminders";

/// The route of the form.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new().route(REMINDERS, post(save))
}

/// The card: the rules in words; for admins, the form.
pub(in crate::web) fn card(v: &Visitor, rules: &[Rule]) -> Markup {
    html! {
        section.card #reminders aria-labelledby="reminders-heading" {
            h2 #reminders-heading { (v.t("Reminders before a session", "Rappels avant une session")) }
            @if rules.is_empty() {
                p #reminder-rules { (v.t("Reminders are off: learners receive none.",
                                         "Les rappels sont désactivés : les apprenants n'en reçoivent aucun.")) }
            } @else {
                p {
                    (v.t("Each learner invited to a session receives a reminder in Slack, in reply to their \
                          invitation, in their own time zone:",
                         "Chaque apprenant invité à une session reçoit un rappel dans Slack, en réponse à son \
                          invitation, dans son propre fuseau horaire :"))
                }
                ul #reminder-rules {
                    @for rule in rules { li { (rule.describe(v.lang)) } }
                }
            }
            @if v.is_admin() {
                form method="post" action=(REMINDERS) {
                    (v.csrf_field())
                    div.field {
                        label for="rules" { (v.t("Reminders", "Rappels")) }
                        input type="text" #rules name="rules" value=(rules_text(rules)) required
                            spellcheck="false" autocomplete="off" aria-describedby="rules-help";
                        p.muted #rules-help {
                            (v.t("Separated by commas: ", "Séparés par des virgules : "))
                            code { "day-before@09:00" }
                            (v.t(" (the day before, at that time), or a time before the start such as ",
                                 " (la veille, à cette heure-là), ou un délai avant le début comme "))
                            code { "1h" } ", " code { "90m" } (v.t(" or ", " ou ")) code { "2d" }
                            (v.t("; ", " ; ")) code { "off" } (v.t(" for none.", " pour aucun."))
                        }
                    }
                    div.actions {
                        button.primary #save-reminders type="submit" { (v.t("Save reminders", "Enregistrer les rappels")) }
                    }
                }
            }
        }
    }
}

/// `POST /settings/reminders` (admins): sets the rules ([`lms::reminders::set_rules`]), or says what is wrong with
/// them.
async fn save(
    State(app): State<App>,
    v: Visitor,
    Form(form): Form<forms::Fields>,
) -> crate::web::errors::Page {
    if !v.is_admin() {
        let refused = v.t(
            "Only platform admins can change the reminders.",
            "Seuls les admins de la plateforme peuvent modifier les rappels.",
        );
        return Ok(see_other(BACK, Some(Flash::Error(refused.into()))));
    }
    let text = forms::value(&form, "rules");
    let rules = match lms::reminders::parse_rules(text) {
        Ok(rules) => rules,
        Err(e) => {
            let why = match v.lang {
                Lang::En => format!("The reminders were not changed: {e:#}."),
                Lang::Fr => format!(
                    "Les rappels n'ont pas été modifiés : écrivez des règles séparées par des virgules, comme \
                     « day-before@09:00, 1h » (la veille à 09:00, et 1 h avant), ou « off » pour aucun. (Détail : \
                     {e:#}.)"
                ),
            };
            return Ok(see_other(BACK, Some(Flash::Error(why))));
        }
    };
    lms::reminders::set_rules(app.lms.db(), PLATFORM, &v.me.id, &rules, now())?;
    let words = rules
        .iter()
        .map(|r| r.describe(v.lang))
        .collect::<Vec<_>>()
        .join(v.t("; ", " ; "));
    let saved = match (v.lang, rules.is_empty()) {
        (Lang::En, true) => {
            "Reminders are off: none is sent, including those already scheduled.".to_string()
        }
        (Lang::Fr, true) => {
            "Les rappels sont désactivés : aucun n'est envoyé, y compris ceux déjà prévus."
                .to_string()
        }
        (Lang::En, false) => format!(
            "Reminders saved: {words}. The learners already invited to a session still to come receive these."
        ),
        (Lang::Fr, false) => format!(
            "Rappels enregistrés : {words}. Les apprenants déjà invités à une session à venir reçoivent ceux-ci."
        ),
    };
    Ok(see_other(BACK, Some(Flash::Ok(saved))))
}
