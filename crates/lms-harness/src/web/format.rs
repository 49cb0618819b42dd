//! Values as the pages write them: dates, durations, and URL segments.

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

/// A duration in seconds, in words ("3 days", "2 hours", "45 minutes").
pub(super) fn duration(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if secs % 86_400 == 0 && secs > 0 {
        plural(secs / 86_400, "day")
    } else if secs % 3_600 == 0 && secs > 0 {
        plural(secs / 3_600, "hour")
    } else {
        plural(secs / 60, "minute")
    }
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
        assert_eq!(duration(3 * 86_400), "3 days");
        assert_eq!(duration(3_600), "1 hour");
        assert_eq!(duration(300), "5 minutes");
    }
}
