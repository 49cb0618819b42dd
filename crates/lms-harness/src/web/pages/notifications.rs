//! Personal settings → Notifications: the visitor's own switches for the Slack messages they receive.

use crate::web::errors::Page;
use crate::web::flash::{Flash, see_other};
use crate::web::frame::{Section, crumbs};
use crate::web::identity::Visitor;
use crate::web::{App, PLATFORM, forms};
use axum::Router;
use axum::extract::{Form, State};
use axum::routing::get;
use maud::html;

/// The preferences the page shows: key, and label in English and in French.
const PREFERENCES: [(&str, &str, &str); 2] = [
    (
        "assigned_to_session",
        "I am assigned to a path session",
        "Je suis affecté à une session de parcours",
    ),
    (
        "session_information",
        "I receive information as part of a path session I am enrolled in",
        "Je reçois des informations dans le cadre d'une session de parcours à laquelle je suis inscrit",
    ),
];

/// The route of the page and of its form.
pub(in crate::web) fn routes() -> Router<App> {
    Router::new().route(
        "/me/notifications",
        get(my_notifications).post(save_notifications),
    )
}

/// `/me/notifications`.
async fn my_notifications(State(app): State<App>, v: Visitor) -> Page {
    let mut switches = Vec::new();
    for (key, en, fr) in PREFERENCES {
        switches.push((
            key,
            v.t(en, fr),
            app.lms.preference(PLATFORM, &v.me.id, key)?,
        ));
    }
    let title = v.t("Notifications", "Notifications");
    let body = html! {
        (crumbs(&[
            v.t("Personal settings", "Paramètres personnels"),
            title,
            v.t("My training", "Ma formation"),
            v.t("Trainings", "Formations"),
        ]))
        h1 { (title) }
        p.muted {
            (v.t("Personal settings of ", "Paramètres personnels de ")) (v.me.display_name) " (" (v.me.email) ")."
        }
        form.card method="post" action="/me/notifications" {
            (v.csrf_field())
            h2 #my-training { (v.t("My training", "Ma formation")) }
            fieldset aria-describedby="trainings-help" {
                legend { (v.t("Trainings", "Formations")) }
                p.muted #trainings-help {
                    (v.t("Turned off, these stop the matching Slack messages; the integration stays on, and turning \
                          them on again restores them.",
                         "Désactivés, ils arrêtent les messages Slack correspondants ; l'intégration reste active, et \
                          les réactiver les rétablit."))
                }
                @for (key, label, on) in switches {
                    div.switch {
                        input type="checkbox" role="switch" id=(key) name=(key) checked[on];
                        label for=(key) { (label) }
                    }
                }
            }
            div.actions { button.primary type="submit" { (v.t("Save", "Enregistrer")) } }
        }
    };
    Ok(v.page(
        &app,
        Section::MyNotifications,
        v.t("My notifications", "Mes notifications"),
        body,
    ))
}

/// `POST /me/notifications`: saves the switches (an absent one is off).
async fn save_notifications(
    State(app): State<App>,
    v: Visitor,
    Form(form): Form<forms::Fields>,
) -> Page {
    for (key, _, _) in PREFERENCES {
        let on = form.contains_key(key);
        if app.lms.preference(PLATFORM, &v.me.id, key)? != on {
            app.lms.set_preference(PLATFORM, &v.me.id, key, on)?;
        }
    }
    Ok(see_other(
        "/me/notifications",
        Some(Flash::Ok(
            v.t(
                "Your notification settings are saved.",
                "Vos paramètres de notification sont enregistrés.",
            )
            .into(),
        )),
    ))
}
