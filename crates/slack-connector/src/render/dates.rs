//! Slack date tokens: `<!date^UNIX^{date_short_pretty} {time}|FALLBACK>`.
//!
//! Slack shows the date in each reader's own time zone and language; the fallback (shown where Slack cannot, such as
//! in notifications and some clients) is written here in the recipient's time zone and language, from the pattern
//! and names of their locale file. Time zones come from the IANA database bundled in the component (`jiff`), so the
//! result is the same natively and in WebAssembly.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::i18n::Locale;
use super::text::escape_mrkdwn;

/// The recipient's time zone, and whether it is theirs: an unknown or empty IANA name gives UTC and `false`.
pub fn resolve_time_zone(name: &str) -> (TimeZone, bool) {
    let name = name.trim();
    if name.is_empty() {
        return (TimeZone::UTC, false);
    }
    match TimeZone::get(name) {
        Ok(tz) if !tz.is_unknown() => (tz, true),
        _ => (TimeZone::UTC, false),
    }
}

/// The instant `unix` as local date and time in `time_zone`, written with `locale`'s `date.pattern`. When the time
/// zone is unknown the time is UTC's and " UTC" follows. Plain text, not escaped. `None` when the instant is out of
/// the supported range (years -9999 to 9999).
pub fn format_local(unix: i64, time_zone: &str, locale: &Locale) -> Option<String> {
    let timestamp = Timestamp::from_second(unix).ok()?;
    let (tz, known) = resolve_time_zone(time_zone);
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
            let (_, known) = resolve_time_zone(tz);
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
