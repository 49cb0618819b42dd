//! Slack date tokens: `<!date^UNIX^{date_short_pretty} {time}|FALLBACK>`.
//!
//! Slack shows the date in each reader's own time zone and language; the fallback (shown where Slack cannot, such as
//! in notifications and some clients) is written here in the recipient's time zone and language, from the pattern
//! and names of their locale file. Time zones come from the IANA database bundled in the component (`jiff`), so the
//! result is the same natively and in WebAssembly. A date on or after its zone's last transition (every date of
//! today's sessions, for nearly every zone) is placed with the zone's POSIX rule alone, read from a table written at
//! build time: a fresh instance then parses a rule of a few characters instead of the zone's whole history.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::i18n::Locale;
use super::text::escape_mrkdwn;

include!(concat!(env!("OUT_DIR"), "/zones.rs"));

/// The recipient's time zone, as it places the instant `at`, and whether it is theirs: an unknown or empty IANA name
/// (matched as `jiff` does, ignoring ASCII case) gives UTC and `false`.
pub fn resolve_time_zone(name: &str, at: Timestamp) -> (TimeZone, bool) {
    let name = name.trim();
    if name.is_empty() {
        return (TimeZone::UTC, false);
    }
    if let Some(rule) = rule_at(name, at) {
        return (rule, true);
    }
    match TimeZone::get(name) {
        Ok(tz) if !tz.is_unknown() => (tz, true),
        _ => (TimeZone::UTC, false),
    }
}

/// Zone `name`'s POSIX rule, when it alone gives the local time at `at`: on or after the zone's last transition
/// (RFC 8536, 3.3), where the database's own answer is that rule's.
fn rule_at(name: &str, at: Timestamp) -> Option<TimeZone> {
    let lower = |zone: &str| {
        zone.bytes()
            .cmp(name.bytes().map(|b| b.to_ascii_lowercase()))
    };
    let found = ZONE_RULES
        .binary_search_by(|(zone, _, _)| lower(zone))
        .ok()?;
    let (_, last_transition, rule) = ZONE_RULES[found];
    if at.as_second() < last_transition {
        return None;
    }
    TimeZone::posix(rule).ok()
}

/// The instant `unix` as local date and time in `time_zone`, written with `locale`'s `date.pattern`. When the time
/// zone is unknown the time is UTC's and " UTC" follows. Plain text, not escaped. `None` when the instant is out of
/// the supported range (years -9999 to 9999).
pub fn format_local(unix: i64, time_zone: &str, locale: &Locale) -> Option<String> {
    let timestamp = Timestamp::from_second(unix).ok()?;
    let (tz, known) = resolve_time_zone(time_zone, timestamp);
    let local = timestamp.to_zoned(tz);

    let hour = local.hour();
    let hour12 = match hour % 12 {
        0 => 12,
        h => h,
    };
    let month = local.month();
    let month_index = usize::try_from(month - 1).unwrap_or(0);
    let weekday_index = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let values = |name: &str| -> Option<String> {
        Some(match name {
            "weekday" => locale
                .list_item("date.weekdays", 7, weekday_index)?
                .to_string(),
            "month" => locale
                .list_item("date.months", 12, month_index)?
                .to_string(),
            "month_num" => month.to_string(),
            "month2" => format!("{month:02}"),
            "day" => local.day().to_string(),
            "day2" => format!("{:02}", local.day()),
            "year" => local.year().to_string(),
            "h" => hour.to_string(),
            "hh" => format!("{hour:02}"),
            "h12" => hour12.to_string(),
            "hh12" => format!("{hour12:02}"),
            "mm" => format!("{:02}", local.minute()),
            "ampm" => locale
                .text(if hour < 12 { "date.am" } else { "date.pm" })
                .to_string(),
            _ => return None,
        })
    };

    let mut out = fill_pattern(locale.text("date.pattern"), values);
    if !known {
        out.push_str(" UTC");
    }
    Some(out)
}

/// Replaces each `{name}` of `pattern` for which `value` has an answer; anything else stays as written.
fn fill_pattern(pattern: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| value(&after[..close]).map(|v| (v, close)))
        {
            Some((v, close)) => {
                out.push_str(&v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The fallback made safe inside a date token: escaped for mrkdwn (so no `>` closes the token early) and without
/// `|` (which separates the fallback) or line breaks.
fn token_safe(fallback: &str) -> String {
    escape_mrkdwn(fallback)
        .chars()
        .map(|c| match c {
            '|' => '¦',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// The Slack date token for `unix`, with a fallback in the recipient's time zone and language (see
/// [`format_local`]). `None` when the instant is out of range.
pub fn date_token(unix: i64, time_zone: &str, locale: &Locale) -> Option<String> {
    let fallback = token_safe(&format_local(unix, time_zone, locale)?);
    Some(format!(
        "<!date^{unix}^{{date_short_pretty}} {{time}}|{fallback}>"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::i18n::{Locale, english, locale_for};
    use super::*;

    /// 2026-12-01T08:00:00Z, a Tuesday.
    const DEC_1_0800_UTC: i64 = 1_796_112_000;
    /// 2026-07-01T08:00:00Z, a Wednesday (summer time in Paris and New York).
    const JUL_1_0800_UTC: i64 = 1_782_892_800;

    #[test]
    fn paris_and_new_york_see_their_own_local_time() {
        let en = english();
        let fr = locale_for("fr");
        assert_eq!(
            format_local(DEC_1_0800_UTC, "Europe/Paris", fr).unwrap(),
            "mar. 1 déc. 2026 à 09:00"
        );
        assert_eq!(
            format_local(DEC_1_0800_UTC, "America/New_York", en).unwrap(),
            "Tue, Dec 1, 2026 at 3:00 AM"
        );
        assert_eq!(
            format_local(DEC_1_0800_UTC, "Europe/Paris", en).unwrap(),
            "Tue, Dec 1, 2026 at 9:00 AM"
        );
        assert_eq!(
            format_local(DEC_1_0800_UTC, "America/New_York", fr).unwrap(),
            "mar. 1 déc. 2026 à 03:00"
        );
        // Summer time: Paris is UTC+2, New York UTC-4.
        assert_eq!(
            format_local(JUL_1_0800_UTC, "Europe/Paris", fr).unwrap(),
            "mer. 1 juil. 2026 à 10:00"
        );
        assert_eq!(
            format_local(JUL_1_0800_UTC, "America/New_York", en).unwrap(),
            "Wed, Jul 1, 2026 at 4:00 AM"
        );
    }

    #[test]
    fn the_local_date_can_differ_from_utc() {
        // 2026-12-01T02:30Z is still November 30 in New York and already the afternoon in Tokyo.
        let t = DEC_1_0800_UTC - 5 * 3600 - 30 * 60;
        assert_eq!(
            format_local(t, "America/New_York", english()).unwrap(),
            "Mon, Nov 30, 2026 at 9:30 PM"
        );
        assert_eq!(
            format_local(t, "Asia/Tokyo", english()).unwrap(),
            "Tue, Dec 1, 2026 at 11:30 AM"
        );
        assert_eq!(
            format_local(t, "Asia/Kolkata", locale_for("fr")).unwrap(),
            "mar. 1 déc. 2026 à 08:00"
        );
    }

    #[test]
    fn noon_and_midnight_in_twelve_hour_time() {
        let midnight_paris = DEC_1_0800_UTC - 9 * 3600;
        assert_eq!(
            format_local(midnight_paris, "Europe/Paris", english()).unwrap(),
            "Tue, Dec 1, 2026 at 12:00 AM"
        );
        let noon_paris = DEC_1_0800_UTC + 3 * 3600;
        assert_eq!(
            format_local(noon_paris, "Europe/Paris", english()).unwrap(),
            "Tue, Dec 1, 2026 at 12:00 PM"
        );
        assert_eq!(
            format_local(midnight_paris, "Europe/Paris", locale_for("fr")).unwrap(),
            "mar. 1 déc. 2026 à 00:00"
        );
    }

    #[test]
    fn unknown_time_zone_is_utc_and_says_so() {
        for tz in [
            "",
            "  ",
            "Mars/Olympus_Mons",
            "Etc/Unknown",
            "../../etc/passwd",
            "Europe/Paris\0",
        ] {
            let (_, known) = resolve_time_zone(tz, Timestamp::from_second(DEC_1_0800_UTC).unwrap());
            assert!(!known, "{tz:?}");
            assert_eq!(
                format_local(DEC_1_0800_UTC, tz, english()).unwrap(),
                "Tue, Dec 1, 2026 at 8:00 AM UTC"
            );
            assert_eq!(
                format_local(DEC_1_0800_UTC, tz, locale_for("fr")).unwrap(),
                "mar. 1 déc. 2026 à 08:00 UTC"
            );
        }
        // A zone that is UTC on purpose is the user's own: no note.
        assert_eq!(
            format_local(DEC_1_0800_UTC, "UTC", english()).unwrap(),
            "Tue, Dec 1, 2026 at 8:00 AM"
        );
        assert_eq!(
            format_local(DEC_1_0800_UTC, "Etc/UTC", english()).unwrap(),
            "Tue, Dec 1, 2026 at 8:00 AM"
        );
    }

    /// Every zone with a rule in the build-time table places instants as the whole database does, from its last
    /// transition on: at, and a second before and after, each of its own transitions up to 2060, and every ten days,
    /// one hour and seven minutes (every hour of the day, in turn) from 2020.
    #[test]
    fn zone_rules_agree_with_the_database() {
        assert!(ZONE_RULES.len() > 300, "{} zones", ZONE_RULES.len());
        assert!(ZONE_RULES.windows(2).all(|w| w[0].0 < w[1].0));
        let end = Timestamp::from_second(2_840_140_800).unwrap(); // 2060-01-01
        let mut checked = 0;
        for &(name, last_transition, _) in ZONE_RULES {
            assert_eq!(name, name.to_ascii_lowercase());
            let database = TimeZone::get(name).unwrap();
            let start = Timestamp::from_second(last_transition.max(1_577_836_800)).unwrap();
            let mut instants: Vec<Timestamp> =
                vec![Timestamp::from_second(last_transition).unwrap()];
            for transition in database
                .following(start)
                .take_while(|t| t.timestamp() < end)
            {
                let at = transition.timestamp().as_second();
                instants.extend([at - 1, at, at + 1].map(|s| Timestamp::from_second(s).unwrap()));
            }
            let mut at = start;
            while at < end {
                instants.push(at);
                at = Timestamp::from_second(at.as_second() + 10 * 86_400 + 3_600 + 7 * 60).unwrap();
            }
            for at in instants
                .into_iter()
                .filter(|at| at.as_second() >= last_transition)
            {
                let rule = rule_at(name, at).expect("a rule from the last transition on");
                assert_eq!(rule.to_offset(at), database.to_offset(at), "{name} at {at}");
                checked += 1;
            }
        }
        assert!(checked > 300_000, "{checked} instants");
    }

    #[test]
    fn a_rule_is_found_whatever_the_case_and_only_from_the_last_transition() {
        let now = Timestamp::from_second(DEC_1_0800_UTC).unwrap();
        for name in [
            "Europe/Paris",
            "europe/paris",
            "EUROPE/PARIS",
            "America/New_York",
            "UTC",
        ] {
            assert!(rule_at(name, now).is_some(), "{name}");
        }
        for name in ["Europe/Pari", "Europe/Paris/", "Mars/Olympus_Mons", ""] {
            assert!(rule_at(name, now).is_none(), "{name}");
        }
        // Paris in 1970 followed rules of its own, which only the database knows.
        let (_, last_transition, _) = ZONE_RULES
            .iter()
            .find(|(zone, _, _)| *zone == "europe/paris")
            .unwrap();
        let before = Timestamp::from_second(last_transition - 1).unwrap();
        assert!(rule_at("Europe/Paris", before).is_none());
        assert_eq!(
            format_local(0, "Europe/Paris", english()).unwrap(),
            "Thu, Jan 1, 1970 at 1:00 AM"
        );
    }

    #[test]
    fn token_format() {
        assert_eq!(
            date_token(DEC_1_0800_UTC, "Europe/Paris", locale_for("fr")).unwrap(),
            "<!date^1796112000^{date_short_pretty} {time}|mar. 1 déc. 2026 à 09:00>"
        );
        assert_eq!(
            date_token(0, "America/New_York", english()).unwrap(),
            "<!date^0^{date_short_pretty} {time}|Wed, Dec 31, 1969 at 7:00 PM>"
        );
        assert_eq!(
            date_token(-86_400, "UTC", english()).unwrap(),
            "<!date^-86400^{date_short_pretty} {time}|Wed, Dec 31, 1969 at 12:00 AM>"
        );
    }

    #[test]
    fn out_of_range_instants_give_no_token() {
        assert!(date_token(i64::MAX, "UTC", english()).is_none());
        assert!(date_token(i64::MIN, "Europe/Paris", english()).is_none());
        assert!(format_local(400_000_000_000, "UTC", english()).is_none());
    }

    #[test]
    fn fallback_never_breaks_the_token() {
        let hostile = Locale::parse(
            "xx",
            r#"{"date.pattern": "{day}|{month}> <!channel> & {nope} {year\n", "date.months":
                ["a|b>","2","3","4","5","6","7","8","9","10","11","<@U1>"]}"#,
        )
        .unwrap();
        let token = date_token(DEC_1_0800_UTC, "UTC", &hostile).unwrap();
        assert_eq!(
            token,
            "<!date^1796112000^{date_short_pretty} {time}|1¦&lt;@U1&gt;&gt; &lt;!channel&gt; &amp; {nope} {year >"
        );
        let fallback = token.split_once('|').unwrap().1.strip_suffix('>').unwrap();
        assert!(!fallback.contains(['|', '>', '<', '\n']));
    }
}
