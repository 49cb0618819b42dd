//! A session's page and the reminders' form as the server answers them, against a real server on 127.0.0.1 with a
//! fresh data folder: learners and anonymous visitors change nothing (and learners see no form), authors change a
//! session with dates read in their own time zone and get refusals in their own language, a cancellation needs its
//! confirmation, and only admins change the reminders (bad input refused, saying why).

use lms::db::Session;
use lms::reminders::Rule;
use lms::sessions::Status;
use lms_harness::http_client::Response;
use lms_harness::web::{PLATFORM, Server, Timeouts};

#[path = "support/browser.rs"]
mod browser;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use browser::{Browser, serve};
use temp_dir::TempDir;

const SESSION: &str = "onboarding-2026-12";

fn session(server: &Server) -> Session {
    server
        .harness
        .lms
        .db()
        .session(PLATFORM, SESSION)
        .unwrap()
        .unwrap()
}

fn status(server: &Server) -> Status {
    lms::sessions::status(server.harness.lms.db(), PLATFORM, SESSION).unwrap()
}

fn rules(server: &Server) -> Vec<Rule> {
    lms::reminders::rules(server.harness.lms.db(), PLATFORM).unwrap()
}

/// Where a 303 goes, and the message it carries for the next page (`o…` ok, `e…` error), decoded.
fn redirect(r: &Response) -> (String, Option<String>) {
    assert_eq!(r.status, 303, "{}", r.text());
    let flash = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("lms_flash=")?.split(';').next())
        .filter(|v| !v.is_empty())
        .map(|v| {
            form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        });
    (r.header("location").unwrap().to_string(), flash)
}

/// Posts a form with the browser's token, from this site.
async fn post(b: &Browser, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut all = vec![("csrf", b.csrf.as_str())];
    all.extend_from_slice(fields);
    b.post(path, &all, Some(&b.base.clone())).await
}

/// The edit form's fields for `s`, with `starts` and `ends` as typed.
fn form<'a>(s: &'a Session, starts: &'a str, ends: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", s.title.as_str()),
        ("description", s.description.as_str()),
        ("cover_url", s.cover_url.as_deref().unwrap_or("")),
        ("starts", starts),
        ("ends", ends),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_authors_and_admins_change_a_session_and_only_admins_the_reminders() {
    let dir = TempDir::new("session-pages");
    let server = serve(&dir, Timeouts::default()).await;
    let base = server.lms_url.clone();
    let before = session(&server);
    let edit = format!("/sessions/{SESSION}/edit");
    let cancel = format!("/sessions/{SESSION}/cancel");

    // Anonymous: refused.
    let anonymous = Browser::anonymous(&base).await;
    let r = post(
        &anonymous,
        &edit,
        &form(&before, "2027-01-15T09:00", "2027-01-15T12:00"),
    )
    .await;
    assert_eq!(r.status, 403);

    // A learner sees the session and no form; what they post changes nothing.
    let learner = Browser::signed_in(&base, "learner-2").await;
    let page = learner.get(&format!("/sessions/{SESSION}")).await.text();
    assert!(page.contains(&before.title));
    for absent in ["edit-session", "cancel-session", "/invite", "Notifications"] {
        assert!(!page.contains(absent), "{absent} shown to a learner");
    }
    let r = post(
        &learner,
        &edit,
        &form(&before, "2027-01-15T09:00", "2027-01-15T12:00"),
    )
    .await;
    assert_eq!(
        redirect(&r),
        (
            "/".into(),
            Some("eOnly authors and admins may change a session.".into())
        )
    );
    let r = post(&learner, &cancel, &[("confirm", "yes")]).await;
    assert_eq!(redirect(&r).0, "/");
    let r = post(&learner, "/settings/reminders", &[("rules", "off")]).await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some("eOnly platform admins can change the reminders.")
    );
    assert_eq!(session(&server), before);
    assert_eq!(status(&server), Status::Scheduled);
    assert_eq!(rules(&server), lms::reminders::DEFAULT_RULES);

    // The author (Europe/London) types dates in their own zone; bad ones are refused, saying why.
    let author = Browser::signed_in(&base, "author").await;
    let page = author.get(&format!("/sessions/{SESSION}")).await.text();
    assert!(
        page.contains(r#"name="starts" required value="2026-12-01T08:00""#),
        "{page}"
    );
    let back = format!("/sessions/{SESSION}");
    let r = post(&author, &edit, &form(&before, "soon", "2026-12-01T11:00")).await;
    assert_eq!(
        redirect(&r),
        (
            back.clone(),
            Some("eGive when the session starts and ends, as a date and a time.".into())
        )
    );
    let r = post(
        &author,
        &edit,
        &form(&before, "2026-12-01T12:00", "2026-12-01T11:00"),
    )
    .await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some("eA session cannot end before it starts.")
    );
    let mut untitled = form(&before, "2026-12-01T08:00", "2026-12-01T11:00");
    untitled[0].1 = "  ";
    let r = post(&author, &edit, &untitled).await;
    assert_eq!(redirect(&r).1.as_deref(), Some("eA session needs a title."));
    let r = post(
        &author,
        &edit,
        &form(&before, "2026-12-01T08:00", "2026-12-01T11:00"),
    )
    .await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some("oNothing changed: the session already was so.")
    );
    assert_eq!(session(&server), before);
    // In July, London is an hour ahead of UTC.
    let r = post(
        &author,
        &edit,
        &form(&before, "2027-07-01T10:00", "2027-07-01T12:30"),
    )
    .await;
    assert_eq!(
        redirect(&r),
        (
            back.clone(),
            Some(
                "oSaved: dates changed. No Slack message was sent about it yet: none to update."
                    .into()
            )
        )
    );
    let moved = session(&server);
    assert_eq!(
        (moved.starts_at, moved.ends_at),
        (1_814_432_400, 1_814_441_400),
        "2027-07-01 09:00–11:30 UTC"
    );
    assert_eq!(
        (moved.title, moved.cover_url),
        (before.title.clone(), before.cover_url.clone())
    );

    // In French, refusals are in French.
    let r = post(
        &author,
        "/me/language",
        &[("lang", "fr"), ("return_to", "/")],
    )
    .await;
    assert_eq!(r.status, 303);
    let r = post(
        &author,
        &edit,
        &form(&before, "2027-07-01T12:00", "2027-07-01T11:00"),
    )
    .await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some("eUne session ne peut pas finir avant de commencer.")
    );

    // A cancellation without its confirmation leads to the confirmation page, and changes nothing.
    let r = post(&author, &cancel, &[]).await;
    assert_eq!(redirect(&r), (cancel.clone(), None));
    assert_eq!(status(&server), Status::Scheduled);
    let page = author.get(&cancel).await.text();
    assert!(page.contains("Ce qui va se passer"), "{page}");
    let r = post(&author, &cancel, &[("confirm", "yes")]).await;
    let (to, said) = redirect(&r);
    assert_eq!(to, back);
    assert!(
        said.unwrap()
            .starts_with("o« Onboarding path — December cohort » est annulée")
    );
    assert!(matches!(status(&server), Status::Cancelled(_)));
    // Then nothing changes it, and nobody is invited to it.
    let r = post(
        &author,
        &edit,
        &form(&before, "2027-07-01T10:00", "2027-07-01T13:00"),
    )
    .await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some(
            "eCette session est annulée : elle ne peut plus être modifiée, et personne ne peut y être invité."
        )
    );
    let r = post(
        &author,
        &format!("/sessions/{SESSION}/invite"),
        &[("send", "invitation")],
    )
    .await;
    assert_eq!(redirect(&r).0, back);
    let r = author.get(&cancel).await;
    assert_eq!(redirect(&r).0, back);
    let page = author.get(&back).await.text();
    assert!(
        page.contains("Annulée") && !page.contains("edit-session"),
        "{page}"
    );

    // Only admins change the reminders; what does not read as rules is refused, saying why.
    let r = post(&author, "/settings/reminders", &[("rules", "off")]).await;
    assert!(redirect(&r).1.unwrap().starts_with("eSeuls les admins"));
    let admin = Browser::signed_in(&base, "admin").await;
    let page = admin.get("/settings/connectors").await.text();
    assert!(page.contains(r#"value="day-before@09:00, 1h""#), "{page}");
    assert!(
        page.contains("<li>the day before at 09:00</li><li>1 h before</li>"),
        "{page}"
    );
    let r = post(
        &admin,
        "/settings/reminders",
        &[("rules", "day-before@9:00")],
    )
    .await;
    assert_eq!(
        redirect(&r),
        (
            "/settings/connectors#reminders".into(),
            Some(
                "eThe reminders were not changed: `day-before@9:00`: the time of day-before is HH:MM, from 00:00 to \
                 23:59."
                    .into()
            )
        )
    );
    assert_eq!(rules(&server), lms::reminders::DEFAULT_RULES);
    let r = post(
        &admin,
        "/settings/reminders",
        &[("rules", "90m, day-before@18:00")],
    )
    .await;
    assert_eq!(
        redirect(&r).1.as_deref(),
        Some(
            "oReminders saved: the day before at 18:00; 1 h 30 min before. The learners already invited to a \
             session still to come receive these."
        )
    );
    assert_eq!(
        rules(&server),
        [
            Rule::DayBefore {
                hour: 18,
                minute: 0
            },
            Rule::Before { minutes: 90 }
        ]
    );
    let r = post(&admin, "/settings/reminders", &[("rules", "off")]).await;
    assert!(redirect(&r).1.unwrap().starts_with("oReminders are off"));
    assert_eq!(rules(&server), []);
    let page = admin.get("/settings/connectors").await.text();
    assert!(
        page.contains("Reminders are off: learners receive none."),
        "{page}"
    );
    assert!(page.contains(r#"value="off""#));
    server.shutdown().await;
}
