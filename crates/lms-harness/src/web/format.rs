//! Values as the pages write them: dates, durations, and URL segments; and the local date and time a
//! `datetime-local` field (or the command line) gives, read in a time zone.

use lms::lang::Lang;

/// Percent-encodes a value for a URL query or path segment.
pub(super) fn url_enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A Unix time in a time zone, as "Tue 1 Dec 2026, 09:00 CET".
pub(super) fn date(secs: i64, tz: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        return secs.to_string();
    };
    match ts.in_tz(tz) {
        Ok(z) => z.strftime("%a %-d %b %Y, %H:%M %Z").to_string(),
        Err(_) => ts.strftime("%a %-d %b %Y, %H:%M UTC").to_string(),
    }
}

/// A Unix time in a time zone, in `lang`: "Tue 1 Dec 2026, 09:00 CET", "mar. 1 déc. 2026, 09:00 CET".
pub(super) fn date_in(secs: i64, tz: &str, lang: Lang) -> String {
    const DAYS_FR: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
    const MONTHS_FR: [&str; 12] = [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ];
    let Ok(ts) = jiff::Timestamp::from_second(secs) else {
        return secs.to_string();
    };
    let zoned = ts
        .in_tz(tz)
        .unwrap_or_else(|_| ts.to_zoned(jiff::tz::TimeZone::UTC));
    match lang {
        Lang::En => date(secs, tz),
        Lang::Fr => format!(
            "{} {} {} {}, {}",
            DAYS_FR[usize::from(zoned.weekday().to_monday_zero_offset().unsigned_abs())],
            zoned.day(),
            MONTHS_FR[usize::from(zoned.month().unsigned_abs()) - 1],
            zoned.year(),
            zoned.strftime("%H:%M %Z"),
        ),
    }
}

/// The form of a local date and time that a `datetime-local` field shows and the command line takes.
const LOCAL_FORM: &str = "%Y-%m-%dT%H:%M";

/// A Unix time as a `datetime-local` field's value (`2026-12-01T09:00`) in the time zone `tz`; `None` when either is
/// not valid.
pub(crate) fn local_input(secs: i64, tz: &str) -> Option<String> {
    let zoned = jiff::Timestamp::from_second(secs).ok()?.in_tz(tz).ok()?;
    Some(zoned.strftime(LOCAL_FORM).to_string())
}

/// The Unix time of a local date and time (`2026-12-01T09:00`, as a `datetime-local` field sends it) in the time
/// zone `tz`; `None` when either is not valid. A local time that a daylight-saving change skips is taken after the
/// change, and one it repeats, at its first occurrence.
pub(crate) fn from_local_input(text: &str, tz: &str) -> Option<i64> {
    let local = text.trim().parse::<jiff::civil::DateTime>().ok()?;
    Some(local.in_tz(tz).ok()?.timestamp().as_second())
}

/// A duration in seconds, in words in `lang` ("3 days", "2 hours", "45 minutes"; "3 jours").
pub(super) fn duration(secs: i64, lang: Lang) -> String {
    let (n, unit) = if secs % 86_400 == 0 && secs > 0 {
        (secs / 86_400, lang.pick("day", "jour"))
    } else if secs % 3_600 == 0 && secs > 0 {
        (secs / 3_600, lang.pick("hour", "heure"))
    } else {
        (secs / 60, "minute")
    };
    // French puts 0 and 1 in the singular, English only 1.
    let singular = match lang {
        Lang::En => n == 1,
        Lang::Fr => n <= 1,
    };
    format!("{n} {unit}{}", if singular { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(url_enc("a b/é"), "a+b%2F%C3%A9");
        assert_eq!(
            date(1_796_112_000, "Europe/Paris"),
            "Tue 1 Dec 2026, 09:00 CET"
        );
        assert_eq!(duration(3 * 86_400, Lang::En), "3 days");
        assert_eq!(duration(3_600, Lang::En), "1 hour");
        assert_eq!(duration(300, Lang::En), "5 minutes");
        assert_eq!(
            date_in(1_796_112_000, "Europe/Paris", Lang::Fr),
            "mar. 1 déc. 2026, 09:00 CET"
        );
        assert_eq!(
            date_in(1_796_112_000, "Europe/Paris", Lang::En),
            "Tue 1 Dec 2026, 09:00 CET"
        );
        assert_eq!(duration(3 * 86_400, Lang::Fr), "3 jours");
        assert_eq!(duration(3_600, Lang::Fr), "1 heure");
        assert_eq!(duration(0, Lang::Fr), "0 minute");
        assert_eq!(duration(0, Lang::En), "0 minutes");
        assert_eq!(
            local_input(1_796_112_000, "Europe/Paris").as_deref(),
            Some("2026-12-01T09:00")
        );
        assert_eq!(
            from_local_input("2026-12-01T09:00", "Europe/Paris"),
            Some(1_796_112_000)
        );
        assert_eq!(
            from_local_input(" 2026-12-01T08:00 ", "UTC"),
            Some(1_796_112_000)
        );
        for bad in ["", "2026-13-01T09:00", "tomorrow"] {
            assert_eq!(from_local_input(bad, "UTC"), None, "{bad}");
        }
        assert_eq!(from_local_input("2026-12-01T09:00", "Mars/Olympus"), None);
    }
}
