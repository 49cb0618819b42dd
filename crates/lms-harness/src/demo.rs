//! `lms-harness demo`: the whole story on embedded defaults. A temporary database, the simulated Slack on a free
//! port, a platform with its group and learners, activation through the OAuth code exchange (Allow clicked on the
//! simulated consent page over HTTP), an invitation, and what each learner reads in their conversation with the app:
//! each message as the simulated Slack shows it to them (dates in their time zone and language, formatting
//! applied) and when it was sent.

use crate::harness::{Harness, HarnessOptions};
use crate::http_client;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use slack_sim::{Conversation, Member, Workspace};

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
    /// The Slack member who reads the conversation, when there is one.
    pub reader: Option<Reader>,
    /// The messages of the learner's conversation with the app.
    pub messages: Vec<MessageView>,
}

/// The Slack member who reads a conversation: what Slack shows them depends on these.
#[derive(Debug, Serialize)]
pub struct Reader {
    /// The member's ID.
    pub member: String,
    /// Their time zone.
    pub time_zone: String,
    /// Their Slack locale.
    pub locale: String,
}

/// A message as the learner sees it.
#[derive(Debug, Serialize)]
pub struct MessageView {
    /// Sender name shown.
    pub sender: String,
    /// Sender icon.
    pub icon_url: Option<String>,
    /// When it was sent, in the reader's time zone and language.
    pub sent: String,
    /// When it was sent, RFC 3339 with the reader's offset.
    pub sent_at: String,
    /// What the reader reads, one entry per text of the message (see `slack_sim::read_blocks`).
    pub read: Vec<String>,
    /// The texts of the blocks as posted (mrkdwn and date tokens unread).
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

    // Invited as the pages' "Invite learners" does: each learner's invitation in their own language.
    let invitation = lms::invitations::invite_learners(
        lms.db(),
        DEMO_PLATFORM,
        &data.session,
        &data.admin,
        lms::db::now(),
        lms::invitations::Sending::Invitation,
    )?;
    let notification_id = invitation
        .notification_id
        .context("the demo's learners were already invited")?;
    lms::workers::run_outbox(lms, DEMO_PLATFORM, lms::db::now()).await?;

    let conversations = harness.sim.conversations();
    let now = harness.sim.now() as i64;
    let deliveries = lms.outbox().deliveries(DEMO_PLATFORM, &notification_id)?;
    let mut report = Vec::new();
    for user in &data.learners {
        let d = deliveries
            .iter()
            .find(|d| d.user_id == user.id)
            .context("a learner has no delivery")?;
        let conversation = d
            .conversation
            .as_ref()
            .and_then(|channel| conversations.iter().find(|c| &c.id == channel));
        let member = conversation.and_then(|c| {
            sim_config
                .workspace
                .members
                .iter()
                .find(|m| m.id == c.member_id)
        });
        let messages = match (conversation, member) {
            (Some(c), Some(m)) => {
                read_conversation(c, m, &sim_config.workspace, &sim_config.app.name, now)
            }
            _ => Vec::new(),
        };
        report.push(LearnerReport {
            user_id: user.id.clone(),
            email: user.email.clone(),
            status: d.status.to_string(),
            reason: d.reason.clone(),
            conversation: d.conversation.clone(),
            reader: member.map(|m| Reader {
                member: m.id.clone(),
                time_zone: m.tz.clone(),
                locale: m.locale.clone(),
            }),
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

/// The messages of `conversation` as `member` reads them at simulation time `now`.
fn read_conversation(
    conversation: &Conversation,
    member: &Member,
    workspace: &Workspace,
    app_name: &str,
    now: i64,
) -> Vec<MessageView> {
    let reader = slack_sim::reader(member, workspace, now);
    conversation
        .messages
        .iter()
        .map(|m| {
            let read = slack_sim::read_message(m, app_name, &reader);
            MessageView {
                sender: read.sender,
                icon_url: m.icon_url.clone(),
                sent: read.sent,
                sent_at: read.sent_at,
                read: read.texts,
                lines: block_lines(m.blocks.as_ref().unwrap_or(&Value::Null)),
            }
        })
        .collect()
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
        match (&l.conversation, &l.reader) {
            (Some(c), Some(r)) => println!(
                "    conversation {c}, read by {} ({}, {}):",
                r.member, r.locale, r.time_zone
            ),
            (Some(c), None) => println!("    conversation {c}:"),
            (None, _) => {}
        }
        for m in &l.messages {
            println!(
                "    from {} (icon {}), sent {}",
                m.sender,
                m.icon_url.as_deref().unwrap_or("none"),
                m.sent
            );
            for text in &m.read {
                for line in text.lines() {
                    println!("      {line}");
                }
            }
        }
        println!();
    }
}
