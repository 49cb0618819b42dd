//! `lms-harness reminders`: a platform's reminders before a session, as Settings → Connectors shows and sets them
//! ([`lms::reminders`]): printed in their text form and in words; `--set RULES` (such as `day-before@09:00, 1h`) or
//! `--off` changes them first. Reminders still to come under a rule no longer set are not sent; those of the new
//! rules are scheduled for every learner invited to a session still to start.

use crate::connector::DataDir;
use crate::operator;
use crate::web::PLATFORM;
use anyhow::{Context, Result, bail};
use lms::db::now;
use lms::reminders::Rule;
use std::path::PathBuf;

/// `lms-harness reminders`.
#[derive(Debug, clap::Args)]
pub struct RemindersArgs {
    /// The data folder (`lms.sqlite3`, `secrets.key`).
    #[arg(long)]
    pub data: PathBuf,
    /// The platform.
    #[arg(long, default_value = PLATFORM)]
    pub platform: String,
    /// Sets the rules: separated by commas, each `day-before@HH:MM` (the day before the session, at that time in
    /// the learner's own time zone) or a time before the start such as `1h`, `90m` or `2d`; `off` for none.
    #[arg(long, value_name = "RULES", conflicts_with = "off")]
    pub set: Option<String>,
    /// Turns reminders off (as `--set off`).
    #[arg(long)]
    pub off: bool,
}

/// Runs `lms-harness reminders`.
pub fn command(args: RemindersArgs) -> Result<()> {
    let db = DataDir::open_db(&args.data, false)?;
    if db.platform(&args.platform)?.is_none() {
        bail!("there is no platform `{}`", args.platform);
    }
    let wanted = match (&args.set, args.off) {
        (_, true) => Some(Vec::new()),
        (Some(text), false) => Some(
            lms::reminders::parse_rules(text)
                .with_context(|| format!("the reminders `{text}` were not set"))?,
        ),
        (None, false) => None,
    };
    if let Some(rules) = &wanted {
        let command = if args.off {
            "reminders --off"
        } else {
            "reminders --set"
        };
        lms::reminders::set_rules(&db, &args.platform, &operator::actor(command), rules, now())?;
    }
    let rules = lms::reminders::rules(&db, &args.platform)?;
    println!("{}", said(&args.platform, &rules));
    if wanted.is_some() {
        eprintln!(
            "Saved. Reminders still to come under a rule no longer set are not sent; those of these rules are \
             scheduled for the learners invited to sessions still to start (a running serve sends them when due)."
        );
    }
    Ok(())
}

/// The rules as one writes them: `day-before@09:00, 1h` (`off` for none); [`lms::reminders::parse_rules`] reads it.
pub fn rules_text(rules: &[Rule]) -> String {
    if rules.is_empty() {
        return "off".into();
    }
    rules
        .iter()
        .map(|r| match *r {
            Rule::Before { minutes } if minutes % 1440 == 0 => format!("{}d", minutes / 1440),
            Rule::Before { minutes } if minutes % 60 == 0 => format!("{}h", minutes / 60),
            rule => rule.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A platform's rules in a sentence: their text form, then in words.
fn said(platform: &str, rules: &[Rule]) -> String {
    if rules.is_empty() {
        return format!("Reminders on platform {platform}: off (no reminder is sent).");
    }
    let words = rules
        .iter()
        .map(|r| r.describe(lms::lang::Lang::En))
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "Reminders on platform {platform}: {} ({words}; in each learner's own time zone).",
        rules_text(rules)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_written_and_back() {
        let rules = lms::reminders::DEFAULT_RULES;
        assert_eq!(rules_text(&rules), "day-before@09:00, 1h");
        assert_eq!(
            lms::reminders::parse_rules(&rules_text(&rules)).unwrap(),
            rules
        );
        let odd = [Rule::Before { minutes: 90 }, Rule::Before { minutes: 2880 }];
        assert_eq!(rules_text(&odd), "90m, 2d");
        assert_eq!(lms::reminders::parse_rules(&rules_text(&odd)).unwrap(), odd);
        assert_eq!(rules_text(&[]), "off");
        assert_eq!(
            said("acme", &rules),
            "Reminders on platform acme: day-before@09:00, 1h (the day before at 09:00; 1 h before; in each \
             learner's own time zone)."
        );
    }
}
