//! Reminders of a session before it starts, in each learner's own time: by default the day before at 09:00 in the
//! learner's time zone, and one hour before. A platform changes its rules or turns them off ([`set_rules`]).
//!
//! A reminder is a notification of kind [`Kind::SessionReminder`] per (session, rule, start): one delivery per invited
//! learner, due at the rule's instant for that learner. It is scheduled when the learner is invited; a session that
//! moves skips the reminders of its old start and schedules those of the new one; a cancelled session skips them.
//! When it is sent, it replies to the learner's invitation ([`crate::outbox`]).

use crate::db::Db;
use crate::lang::Lang;
use crate::outbox::{self, Kind, NewNotification};
use crate::sql::{OptionalExtension, params};
use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// When a reminder goes out, relative to the session's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The day before the session starts (in the learner's time zone), at this local time.
    DayBefore {
        /// Hour, 0–23.
        hour: u8,
        /// Minute, 0–59.
        minute: u8,
    },
    /// This many minutes before the session starts.
    Before {
        /// Minutes, at least 1.
        minutes: u32,
    },
}

/// The rules of a platform that has not chosen: the day before at 09:00, and one hour before.
pub const DEFAULT_RULES: [Rule; 2] = [
    Rule::DayBefore { hour: 9, minute: 0 },
    Rule::Before { minutes: 60 },
];

/// The reason code of a reminder skipped because the platform no longer has its rule.
pub const RULES_CHANGED: &str = "reminders_changed";

/// The longest a [`Rule::Before`] may be: four weeks.
const MAX_BEFORE_MINUTES: u32 = 28 * 24 * 60;

impl Rule {
    /// The instant this reminder is due for a session starting at `starts_at`, for a learner in `time_zone` (an IANA
    /// name; an unknown one is read as UTC). A local time that a daylight-saving change skips is taken after the
    /// change, and one it repeats, at its first occurrence.
    pub fn due(self, starts_at: i64, time_zone: &str) -> Option<i64> {
        match self {
            Rule::Before { minutes } => starts_at.checked_sub(i64::from(minutes) * 60),
            Rule::DayBefore { hour, minute } => {
                let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
                let start = jiff::Timestamp::from_second(starts_at)
                    .ok()?
                    .to_zoned(tz.clone());
                let day = start.date().yesterday().ok()?;
                let local = day.at(hour as i8, minute as i8, 0, 0);
                Some(local.to_zoned(tz).ok()?.timestamp().as_second())
            }
        }
    }

    /// Parses one rule: `day-before@HH:MM`, or a duration before the start such as `1h`, `90m` or `2d`.
    pub fn parse(text: &str) -> Result<Rule> {
        let text = text.trim();
        if let Some(time) = text.strip_prefix("day-before@") {
            let parsed = time.split_once(':').and_then(|(h, m)| {
                let (h, m) = (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?);
                (h < 24 && m < 60 && time.len() == 5).then_some((h, m))
            });
            let Some((hour, minute)) = parsed else {
                bail!("`{text}`: the time of day-before is HH:MM, from 00:00 to 23:59");
            };
            return Ok(Rule::DayBefore { hour, minute });
        }
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let scale = match unit {
            "m" => 1,
            "h" => 60,
            "d" => 24 * 60,
            _ => bail!(
                "`{text}` is not a reminder: write `day-before@09:00`, or a time before the start such as `1h`, \
                 `90m` or `2d`"
            ),
        };
        let minutes = number
            .parse::<u32>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .filter(|m| (1..=MAX_BEFORE_MINUTES).contains(m));
        let Some(minutes) = minutes else {
            bail!("`{text}`: a reminder comes between 1 minute and 28 days before the start");
        };
        Ok(Rule::Before { minutes })
    }

    /// What it is called in `lang`, as the pages and the command line show it: "the day before at 09:00" / "la veille
    /// à 09:00", "1 h 30 min before" / "1 h 30 min avant".
    pub fn describe(self, lang: Lang) -> String {
        match self {
            Rule::DayBefore { hour, minute } => lang
                .pick("the day before at {hm}", "la veille à {hm}")
                .replace("{hm}", &format!("{hour:02}:{minute:02}")),
            Rule::Before { minutes } => {
                let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
                let before = match (days, hours, mins) {
                    (1, 0, 0) => lang.pick("1 day", "1 jour").to_string(),
                    (d, 0, 0) if d > 0 => format!("{d} {}", lang.pick("days", "jours")),
                    (0, h, 0) => format!("{h} h"),
                    (0, 0, m) => format!("{m} min"),
                    (0, h, m) => format!("{h} h {m} min"),
                    (d, h, m) => format!("{d} {} {h} h {m} min", lang.pick("d", "j")),
                };
                format!("{before} {}", lang.pick("before", "avant"))
            }
        }
    }
}

impl std::fmt::Display for Rule {
    /// The form [`Rule::parse`] reads: `day-before@09:00`, or minutes before, such as `60m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::DayBefore { hour, minute } => write!(f, "day-before@{hour:02}:{minute:02}"),
            Rule::Before { minutes } => write!(f, "{minutes}m"),
        }
    }
}

/// Parses a platform's rules: rules separated by commas, or `off` for none. Duplicates count once.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>> {
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(Vec::new());
    }
    let mut rules: Vec<Rule> = text
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(Rule::parse)
        .collect::<Result<_>>()?;
    if rules.is_empty() {
        bail!("no reminder given: write rules such as `day-before@09:00, 1h`, or `off`");
    }
    rules.sort();
    rules.dedup();
    Ok(rules)
}

/// The rules as stored and as [`parse_rules`] reads them (`off` for none).
pub fn format_rules(rules: &[Rule]) -> String {
    if rules.is_empty() {
        return "off".into();
    }
    rules
        .iter()
        .map(Rule::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A platform's reminder rules.
pub fn rules(db: &Db, platform_id: &str) -> Result<Vec<Rule>> {
    rules_in(&db.conn(), platform_id)
}

fn rules_in(conn: &crate::sql::Conn, platform_id: &str) -> Result<Vec<Rule>> {
    let stored: Option<Option<String>> = conn
        .query_row(
            "SELECT reminders FROM platforms WHERE id = ?1",
            [platform_id],
            |r| r.get(0),
        )
        .optional()?;
    match stored.flatten() {
        None => Ok(DEFAULT_RULES.to_vec()),
        Some(text) => parse_rules(&text),
    }
}

/// Sets a platform's rules, for `actor`, at `at`: reminders still to come under a rule that is no longer one are
/// skipped, and those of the new rules are scheduled for every learner invited to a session still to start.
pub fn set_rules(db: &Db, platform_id: &str, actor: &str, rules: &[Rule], at: i64) -> Result<()> {
    let mut conn = db.conn();
    let tx = conn.write()?;
    tx.execute(
        "UPDATE platforms SET reminders = ?2 WHERE id = ?1",
        params![platform_id, format_rules(rules)],
    )?;
    let kept: Vec<String> = rules.iter().map(Rule::to_string).collect();
    let stale: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id, reminder FROM notifications WHERE platform_id = ?1 AND kind = ?2",
        )?;
        let rows = stmt.query_map(params![platform_id, Kind::SessionReminder.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        rows.filter_map(|r| match r {
            Ok((id, rule)) if !rule.as_ref().is_some_and(|r| kept.contains(r)) => Some(Ok(id)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?
    };
    for notification in stale {
        outbox::skip_queued(
            &tx,
            platform_id,
            &notification,
            RULES_CHANGED,
            "The platform's reminders changed; this one is no longer sent.",
        )?;
    }
    let sessions: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM sessions WHERE platform_id = ?1 AND cancelled_at IS NULL AND starts_at > ?2",
        )?;
        let rows = stmt.query_map(params![platform_id, at], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for session in sessions {
        let invited = invited(&tx, platform_id, &session)?;
        schedule(&tx, platform_id, &session, &invited, at)?;
    }
    tx.commit()?;
    drop(conn);
    db.audit(platform_id, actor, "reminders.set", &format_rules(rules))
}

/// The learners invited to a session.
pub(crate) fn invited(
    conn: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT user_id FROM invitations WHERE platform_id = ?1 AND session_id = ?2 ORDER BY user_id",
    )?;
    let rows = stmt.query_map([platform_id, session_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Schedules, in the caller's transaction, the platform's reminders of `session_id` (as it is now) for `learners`:
/// each rule whose instant for a learner is still to come at `at`. Reminders already scheduled stay as they are.
pub(crate) fn schedule(
    tx: &crate::sql::Conn,
    platform_id: &str,
    session_id: &str,
    learners: &[String],
    at: i64,
) -> Result<()> {
    let rules = rules_in(tx, platform_id)?;
    if rules.is_empty() || learners.is_empty() {
        return Ok(());
    }
    let (title, starts_at): (String, i64) = tx.query_row(
        "SELECT title, starts_at FROM sessions WHERE platform_id = ?1 AND id = ?2 AND cancelled_at IS NULL",
        [platform_id, session_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let zones: BTreeMap<String, String> = {
        let mut stmt =
            tx.prepare_cached("SELECT time_zone FROM users WHERE platform_id = ?1 AND id = ?2")?;
        learners
            .iter()
            .map(|l| Ok((l.clone(), stmt.query_row([platform_id, l], |r| r.get(0))?)))
            .collect::<Result<_>>()?
    };
    let subject = crate::invitations::reminder_subject(&title, crate::lang::Lang::En);
    for rule in rules {
        let id = format!("reminder-{session_id}-{rule}-{starts_at}");
        // Learners by instant: one enqueue per instant (time zones differ).
        let mut by_instant: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (learner, zone) in &zones {
            if let Some(due) = rule
                .due(starts_at, zone)
                .filter(|due| *due > at && *due < starts_at)
            {
                by_instant.entry(due).or_default().push(learner.clone());
            }
        }
        if by_instant.is_empty() {
            continue;
        }
        for (due, learners) in by_instant {
            outbox::enqueue_in(
                tx,
                platform_id,
                &NewNotification {
                    id: &id,
                    kind: Kind::SessionReminder,
                    title: &subject,
                    session_id: Some(session_id),
                    body: None,
                    mandatory: false,
                    not_before: due,
                },
                &learners,
            )?;
            // A rule turned off and on again: its reminders skipped meanwhile come back.
            let mut revive = tx.prepare_cached(
                "UPDATE deliveries SET status = 'queued', reason_code = NULL, reason = NULL, next_attempt_at = ?4
                 WHERE platform_id = ?1 AND notification_id = ?2 AND user_id = ?3 AND status = 'skipped'
                     AND reason_code = ?5",
            )?;
            for learner in &learners {
                revive.execute(params![platform_id, id, learner, due, RULES_CHANGED])?;
            }
        }
        // The rule it was scheduled by, so that changing the platform's rules finds it.
        tx.execute(
            "UPDATE notifications SET reminder = ?3 WHERE platform_id = ?1 AND id = ?2",
            params![platform_id, id, rule.to_string()],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-03-30 10:00 UTC, a Monday: the day before is the day Paris moves to summer time.
    const PARIS_MONDAY: i64 = 1_774_864_800;

    #[test]
    fn rules_parse_print_and_refuse_what_they_are_not() {
        assert_eq!(
            parse_rules("day-before@09:00, 1h").unwrap(),
            DEFAULT_RULES.to_vec()
        );
        assert_eq!(parse_rules(" OFF ").unwrap(), Vec::new());
        assert_eq!(
            parse_rules("90m,2d,90m").unwrap(),
            vec![Rule::Before { minutes: 90 }, Rule::Before { minutes: 2880 }]
        );
        assert_eq!(format_rules(&DEFAULT_RULES), "day-before@09:00,60m");
        assert_eq!(
            parse_rules(&format_rules(&DEFAULT_RULES)).unwrap(),
            DEFAULT_RULES
        );
        assert_eq!(format_rules(&[]), "off");
        for bad in [
            "",
            "soon",
            "day-before@25:00",
            "day-before@9:00",
            "0m",
            "29d",
            "-1h",
            "1w",
        ] {
            assert!(parse_rules(bad).is_err(), "{bad} was accepted");
        }
        let (en, fr) = (
            |r: Rule| r.describe(Lang::En),
            |r: Rule| r.describe(Lang::Fr),
        );
        assert_eq!(en(Rule::Before { minutes: 90 }), "1 h 30 min before");
        assert_eq!(
            en(Rule::DayBefore { hour: 9, minute: 5 }),
            "the day before at 09:05"
        );
        assert_eq!(en(Rule::Before { minutes: 2880 }), "2 days before");
        assert_eq!(
            fr(Rule::DayBefore { hour: 9, minute: 5 }),
            "la veille à 09:05"
        );
        assert_eq!(fr(Rule::Before { minutes: 60 }), "1 h avant");
        assert_eq!(fr(Rule::Before { minutes: 45 }), "45 min avant");
        assert_eq!(fr(Rule::Before { minutes: 1440 }), "1 jour avant");
        assert_eq!(fr(Rule::Before { minutes: 1530 }), "1 j 1 h 30 min avant");
    }

    #[test]
    fn the_day_before_is_at_the_learner_s_own_nine_o_clock_across_a_daylight_saving_change() {
        let nine = Rule::DayBefore { hour: 9, minute: 0 };
        // Sunday 29 March 2026, Paris on summer time since 02:00: 09:00 CEST is 07:00 UTC.
        assert_eq!(nine.due(PARIS_MONDAY, "Europe/Paris"), Some(1_774_767_600));
        // New York has been on summer time since 8 March: 09:00 EDT is 13:00 UTC.
        assert_eq!(
            nine.due(PARIS_MONDAY, "America/New_York"),
            Some(1_774_789_200)
        );
        // An unknown zone is read as UTC.
        assert_eq!(nine.due(PARIS_MONDAY, "Mars/Olympus"), Some(1_774_774_800));
        // A local time the change skips (02:30 on 29 March in Paris) is taken after it: 03:30 CEST.
        let skipped = Rule::DayBefore {
            hour: 2,
            minute: 30,
        };
        assert_eq!(
            skipped.due(PARIS_MONDAY, "Europe/Paris"),
            Some(1_774_747_800)
        );
        assert_eq!(
            Rule::Before { minutes: 60 }.due(PARIS_MONDAY, "Europe/Paris"),
            Some(PARIS_MONDAY - 3600)
        );
    }
}
