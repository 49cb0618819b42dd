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

/// The preferences the page shows: key and label.
const PREFERENCES: [(&str, &str); 2] = [
    ("assigned_to_session", "I am assigned to a path session"),
    (
        "session_information",
        "I receive information as part of a path session I am enrolled in",
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
    for (key, label) in PREFERENCES {
        switches.push((key, label, app.lms.preference(PLATFORM, &v.me.id, key)?));
    }
    let body = html! {
        (crumbs(&["Personal settings", "Notifications", "My training", "Trainings"]))
        h1 { "Notifications" }
        p.muted { "Personal settings of " (v.me.display_name) " (" (v.me.email) ")." }
        form.card method="post" action="/me/notifications" {
            (v.csrf_field())
            h2 #my-training { "My training" }
            fieldset aria-describedby="trainings-help" {
                legend { "Trainings" }
                p.muted #trainings-help {
                    "Turned off, these stop the matching Slack messages; the integration stays on, and turning them \
                     on again restores them."
                }
                @for (key, label, on) in switches {
                    div.switch {
                        input type="checkbox" role="switch" id=(key) name=(key) checked[on];
                        label for=(key) { (label) }
                    }
                }
            }
            div.actions { button.primary type="submit" { "Save" } }
        }
    };
    Ok(v.page(&app, Section::MyNotifications, "My notifications", body))
}

/// `POST /me/notifications`: saves the switches (an absent one is off).
async fn save_notifications(
    State(app): State<App>,
    v: Visitor,
    Form(form): Form<forms::Fields>,
) -> Page {
    for (key, _) in PREFERENCES {
        let on = form.contains_key(key);
        if app.lms.preference(PLATFORM, &v.me.id, key)? != on {
            app.lms.set_preference(PLATFORM, &v.me.id, key, on)?;
        }
    }
    Ok(see_other(
        "/me/notifications",
        Some(Flash::Ok("Your notification settings are saved.".into())),
    ))
}
