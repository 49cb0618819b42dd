//! The layout every page of the simulated Slack shares (the consent pages, the web view, the requests page),
//! with maud: values put in a template are escaped unless marked pre-escaped; and the addresses the pages
//! link to one another with.

use axum::response::Html;
use maud::{DOCTYPE, Markup, html};

/// The pages' style sheet.
const CSS: &str = r#"
:root { color-scheme: light; --fg:#1d1c1d; --muted:#616061; --line:#ddd; --accent:#007a5a; --link:#1264a3; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0; background: #f8f8f8; overflow-wrap: anywhere; }
a { color: var(--link); }
:focus-visible { outline: 3px solid #1d9bd1; outline-offset: 2px; }
.card { max-width: 40rem; margin: 3rem auto; background: #fff; padding: 2rem; border: 1px solid var(--line); border-radius: 8px; }
.actions { display: flex; gap: .75rem; justify-content: flex-end; margin-top: 1.5rem; }
button, .button { font: inherit; padding: .45rem 1rem; border-radius: 4px; border: 1px solid #bbb; background: #fff; cursor: pointer; color: var(--fg); text-decoration: none; display: inline-block; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
select, textarea { font: inherit; padding: .35rem; max-width: 100%; }
.muted { color: var(--muted); }
.notice { background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; }
.topbar { background: #3f0e40; color: #fff; padding: .6rem 1rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
.topbar h1 { font-size: 1.05rem; margin: 0; }
.topbar a, .topbar label { color: #fff; }
.topbar form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-left: auto; min-width: 0; }
.layout { display: grid; grid-template-columns: 16rem minmax(0, 1fr); min-height: calc(100vh - 3rem); }
.sidebar { background: #4a154b; color: #e8d9e8; padding: 1rem; }
.sidebar h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; margin: 1rem 0 .3rem; color: #cfb8cf; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar a { color: #fff; text-decoration: none; display: block; padding: .25rem .5rem; border-radius: 4px; }
.sidebar a[aria-current="page"] { background: #1164a3; }
.conv { background: #fff; padding: 1rem 1.5rem; }
.messages { list-style: none; margin: 0; padding: 0; }
.msg { display: grid; grid-template-columns: 40px minmax(0, 1fr); gap: .6rem; padding: .6rem 0; border-top: 1px solid #f0f0f0; }
.avatar { width: 36px; height: 36px; border-radius: 6px; background: #7c3085; color: #fff; display: grid; place-items: center; font-weight: 700; overflow: hidden; }
.avatar img { width: 36px; height: 36px; }
.meta { margin: 0 0 .2rem; }
.tag { font-size: .65rem; background: #e8e8e8; color: var(--muted); padding: 0 .25rem; border-radius: 3px; font-weight: 700; }
time { color: var(--muted); font-size: .8rem; }
.edited { color: var(--muted); font-size: .8rem; }
.thread { list-style: none; margin: .3rem 0 0; padding-left: 1rem; border-left: 3px solid var(--line); }
.blk-header { font-size: 1.1rem; margin: .3rem 0; }
.blk-section { display: flex; gap: 1rem; justify-content: space-between; margin: .3rem 0; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: .3rem 1rem; }
.blk-context { color: var(--muted); font-size: .8rem; display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; }
.blk-context img { width: 20px; height: 20px; }
.blk-image img, .accessory img { max-width: 100%; max-height: 20rem; border-radius: 6px; }
.accessory img { max-width: 88px; }
.blk-actions { display: flex; gap: .5rem; flex-wrap: wrap; margin: .4rem 0; }
.blk-actions form, .accessory form { margin: 0; }
.mention { background: #e8f5fa; color: var(--link); border-radius: 3px; padding: 0 2px; }
.mention.broadcast { background: #fff4d6; color: #8a6000; }
code { background: #f4f4f4; border: 1px solid #e4e4e4; border-radius: 3px; padding: 0 3px; color: #c01343; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
img { max-width: 100%; }
/* Phones: one column, nothing wider than the screen; a table too wide scrolls inside its own box. */
@media (max-width: 40rem) {
  .card { margin: 1rem .5rem; padding: 1rem; }
  .actions { flex-wrap: wrap; }
  .topbar form { margin-left: 0; }
  .layout { grid-template-columns: minmax(0, 1fr); min-height: 0; }
  .conv { padding: .75rem; }
  .fields { grid-template-columns: minmax(0, 1fr); }
  .blk-section { flex-wrap: wrap; }
  table { display: block; overflow-x: auto; }
}
"#;

/// A whole page: `title` and `body` in the shared layout.
pub fn page(title: &str, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (maud::PreEscaped(CSS)) }
            }
            body { (body) }
        }
    };
    Html(page.into_string())
}

/// Escapes text for HTML content and double-quoted attribute values (`&`, `<`, `>`, `"`), as maud does, for
/// the few places that build HTML as text (the mrkdwn renderer).
pub fn escape(text: &str) -> String {
    html! { (text) }.into_string()
}

/// The web view's address of a member's conversation.
pub fn conversation_href(member_id: &str, conversation_id: &str) -> String {
    form_urlencoded::Serializer::new(String::from("/_sim/?"))
        .append_pair("member", member_id)
        .append_pair("conv", conversation_id)
        .finish()
}
