//! The bare error pages (no such page, a refused form) speak the asker's language: for a visitor nobody is signed in
//! as, the first language of the browser's `Accept-Language` the LMS speaks, else English.

#[path = "support/temp_dir.rs"]
mod temp_dir;

use lms_harness::http_client;
use lms_harness::web::{ServeOptions, start};
use std::time::Duration;
use temp_dir::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_pages_follow_the_browser_s_language_when_nobody_is_signed_in() {
    let dir = TempDir::new("error-pages");
    let server = start(ServeOptions::local(dir.0.join("data")))
        .await
        .unwrap();
    let send = |method: &'static str, path: &'static str, accept: Option<&'static str>| {
        let url = format!("{}{path}", server.lms_url);
        async move {
            let headers: Vec<(&str, &str)> =
                accept.map(|a| ("accept-language", a)).into_iter().collect();
            http_client::send(method, &url, &headers, Vec::new(), Duration::from_secs(30))
                .await
                .unwrap()
        }
    };

    let fr = send("GET", "/no-such-page", Some("de-DE,fr-CA;q=0.8,en;q=0.5")).await;
    assert_eq!(fr.status, 404);
    let page = fr.text();
    for said in [
        r#"<html lang="fr">"#,
        "<h1>Page introuvable</h1>",
        "Cette page n'existe pas.",
        "Retour au LMS",
    ] {
        assert!(page.contains(said), "{said} in {page}");
    }
    let en = send("GET", "/no-such-page", None).await;
    let page = en.text();
    assert!(
        page.contains(r#"<html lang="en">"#) && page.contains("<h1>Not found</h1>"),
        "{page}"
    );

    // A form from nowhere (no Origin) is refused, in French for a French browser.
    let refused = send("POST", "/sign-out", Some("fr")).await;
    assert_eq!(refused.status, 403);
    let page = refused.text();
    assert!(page.contains("<h1>Refusé</h1>"), "{page}");
    assert!(
        page.contains("Ce formulaire a été envoyé depuis un autre site"),
        "{page}"
    );
    server.shutdown().await;
}
