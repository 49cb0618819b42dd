//! `lms-harness demo`: the whole story on embedded defaults. A temporary database, the simulated Slack on a free
//! port, a platform with its group and learners, activation through the OAuth code exchange (Allow clicked on the
//! simulated consent page over HTTP), an invitation, and what each learner's conversation with the app shows.

use crate::harness::{Harness, HarnessOptions};
use crate::http_client;
use anyhow::{Context, Result, bail};
use lms::outbox::{Kind, NewNotification};
use serde::Serialize;
use serde_json::Value;

/// The platform the demo creates.
pub const DEMO_PLATFORM: &str = "acme";
/// Where the LMS's activation callback would be served (the demo reads the redirect itself).
pub const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8080/slack/oauth/callback";

/// What the demo found for one learner.
#[derive(Debug, Serialize)]
pub struct LearnerReport {
    /// LMS user id.
    pub user_id: String,
    /// E-mail address in the LMS.
    pub email: String,
    /// Delivery status: sent, skipped or failed.
    pub status: String,
    /// Why, when not sent.
    pub reason: Option<String>,
    /// The conversation it landed in.
    pub conversation: Option<String>,
    /// The messages of the learner's conversation with the app, as text lines.
    pub messages: Vec<MessageView>,
}

/// A message as the learner sees it.
#[derive(Debug, Serialize)]
pub struct MessageView {
    /// Sender name shown.
    pub sender: String,
    /// Sender icon.
    pub icon_url: Option<String>,
    /// The rendered lines.
    pub lines: Vec<String>,
}

/// The demo's result.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    /// The workspace the integration was activated with.
    pub workspace: String,
    /// The notification sent.
    pub notification_id: String,
    /// Per learner.
    pub learners: Vec<LearnerReport>,
}

/// Clicks Allow (or Cancel) on the simulated consent page at `authorize_url` as `member_id`, and returns the query
/// of the redirect back to the LMS.
pub async fn consent(
    authorize_url: &str,
    member_id: &str,
    allow: bool,
) -> Result<Vec<(String, String)>> {
    let page = http_client::get(authorize_url).await?;
    if page.status != 200 {
        bail!("the consent page answered {}: {}", page.status, page.text());
    }
    let (base, _) = authorize_url
        .split_once('?')
        .context("the authorize URL has no query")?;
    let mut fields: Vec<(String, String)> = http_client::query_pairs(authorize_url);
    fields.push(("member".into(), member_id.into()));
    fields.push((
        "action".into(),
        if allow { "allow" } else { "cancel" }.into(),
    ));
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = http_client::post_page_form(&page, base, &fields).await?;
    let location = answer.header("location").with_context(|| {
        format!(
            "the consent page did not redirect ({}): {}",
            answer.status,
            answer.text()
        )
    })?;
    Ok(http_client::query_pairs(location))
}

/// Runs the demo in a fresh temporary folder.
pub async fn run() -> Result<DemoReport> {
    let dir = std::env::temp_dir().join(format!(
        "lms-harness-demo-{}-{}",
        std::process::id(),
        lms::db::now()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = run_in(&dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(dir: &std::path::Path) -> Result<DemoReport> {
    let options = HarnessOptions::in_dir(dir);
    let sim_config = options.sim.clone();
    let harness = Harness::start(options).await?;
    let data = harness.seed_demo(DEMO_PLATFORM, &sim_config)?;
    let lms = &harness.lms;

    let url = lms
        .start_activation(DEMO_PLATFORM, &data.admin, DEMO_REDIRECT_URI)
        .await?;
    let installer = sim_config
        .workspace
        .members
        .iter()
        .find(|m| m.is_admin && !m.deleted && !m.is_bot)
        .context("the demo workspace has no admin to click Allow")?;
    let query = consent(&url, &installer.id, true).await?;
    let workspace = match lms.complete_activation(DEMO_PLATFORM, &query).await? {
        lms::integration::Tile::Active(name) => name,
        other => bail!("activation did not succeed: {other:?}"),
    };

    let notification_id = format!("invite-{}", data.session.id);
    let learners: Vec<String> = data.learners.iter().map(|u| u.id.clone()).collect();
    lms.outbox().enqueue(
        DEMO_PLATFORM,
        &NewNotification {
            id: &notification_id,
            kind: Kind::SessionAssignment,
            title: &lms::invitations::subject(&data.session.title, lms::lang::Lang::En),
            session_id: Some(&data.session.id),
            body: None,
            mandatory: false,
            not_before: 0,
        },
        &learners,
    )?;
    lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now()).await?;

    let conversations = harness.sim.conversations();
    let deliveries = lms.outbox().deliveries(DEMO_PLATFORM, &notification_id)?;
    let mut report = Vec::new();
    for user in &data.learners {
        let d = deliveries
            .iter()
            .find(|d| d.user_id == user.id)
            .context("a learner has no delivery")?;
        let messages = match &d.conversation {
            Some(channel) => conversations
                .iter()
                .filter(|c| &c.id == channel)
                .flat_map(|c| c.messages.iter())
                .map(|m| {
                    let m = serde_json::to_value(m).unwrap_or(Value::Null);
                    MessageView {
                        sender: m
                            .get("username")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        icon_url: m
                            .get("icon_url")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        lines: block_lines(m.get("blocks").unwrap_or(&Value::Null)),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        report.push(LearnerReport {
            user_id: user.id.clone(),
            email: user.email.clone(),
            status: d.status.to_string(),
            reason: d.reason.clone(),
            conversation: d.conversation.clone(),
            messages,
        });
    }
    harness.sim.shutdown().await;
    Ok(DemoReport {
        workspace,
        notification_id,
        learners: report,
    })
}

/// Block Kit blocks as the text lines a reader sees (without Slack's own formatting).
pub fn block_lines(blocks: &Value) -> Vec<String> {
    let text = |v: &Value| {
        v.get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut lines = Vec::new();
    for block in blocks.as_array().into_iter().flatten() {
        match block.get("type").and_then(Value::as_str) {
            Some("header") => lines.push(format!("# {}", text(&block["text"]))),
            Some("section") => {
                if let Some(t) = block.get("text") {
                    lines.push(text(t));
                }
                for f in block
                    .get("fields")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    lines.push(text(f));
                }
            }
            Some("image") => lines.push(format!(
                "[image {}]",
                block["image_url"].as_str().unwrap_or_default()
            )),
            Some("context") => lines.push(
                block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text)
                    .collect::<Vec<_>>()
                    .join("  "),
            ),
            Some("actions") => {
                for e in block["elements"].as_array().into_iter().flatten() {
                    lines.push(format!(
                        "[{}]({})",
                        text(&e["text"]),
                        e["url"].as_str().unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }
    lines
}

/// Prints the report as text.
pub fn print(report: &DemoReport) {
    println!(
        "Slack integration active with workspace \"{}\"",
        report.workspace
    );
    println!("Notification {} delivered:\n", report.notification_id);
    for l in &report.learners {
        println!("{} <{}>: {}", l.user_id, l.email, l.status);
        if let Some(reason) = &l.reason {
            println!("    why: {reason}");
        }
        if let Some(c) = &l.conversation {
            println!("    conversation {c}:");
        }
        for m in &l.messages {
            println!(
                "    from {} (icon {})",
                m.sender,
                m.icon_url.as_deref().unwrap_or("none")
            );
            for line in m.lines.iter().flat_map(|l| l.lines()) {
                println!("      {line}");
            }
        }
        println!();
    }
}
