//! Time zones (IANA, through jiff's bundled database) and Slack's `<!date^…>` formatting.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Looks a zone up; UTC when unknown.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Slack's `tz_label` (e.g. "Central European Summer Time") and `tz_offset` (seconds) at `now`.
pub fn label_and_offset(name: &str, now: i64) -> (String, i64) {
    let tz = zone(name);
    let ts = Timestamp::from_second(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let info = tz.to_offset_info(ts);
    let offset = info.offset().seconds() as i64;
    let dst = info.dst().is_dst();
    let abbr = info.abbreviation().to_string();
    let label = long_name(&abbr, dst).unwrap_or_else(|| abbr.clone());
    (label, offset)
}

/// The long name Slack shows for a zone abbreviation (`CEST` in summer: Central European Summer Time).
fn long_name(abbr: &str, dst: bool) -> Option<String> {
    let s = match (abbr, dst) {
        ("UTC", _) | ("GMT", false) => "Greenwich Mean Time",
        ("BST", true) => "British Summer Time",
        ("CET", false) => "Central European Time",
        ("CEST", true) => "Central European Summer Time",
        ("EET", false) => "Eastern European Time",
        ("EEST", true) => "Eastern European Summer Time",
        ("WET", false) => "Western European Time",
        ("WEST", true) => "Western European Summer Time",
        ("EST", false) => "Eastern Standard Time",
        ("EDT", true) => "Eastern Daylight Time",
        ("CST", false) => "Central Standard Time",
        ("CDT", true) => "Central Daylight Time",
        ("MST", false) => "Mountain Standard Time",
        ("MDT", true) => "Mountain Daylight Time",
        ("PST", false) => "Pacific Standard Time",
        ("PDT", true) => "Pacific Daylight Time",
        ("JST", false) => "Japan Standard Time",
        ("IST", false) => "India Standard Time",
        ("AEST", false) => "Australian Eastern Standard Time",
        ("AEDT", true) => "Australian Eastern Daylight Time",
        _ => return None,
    };
    Some(s.to_string())
}

/// A day of the month as an ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st.
fn ordinal(d: i8) -> String {
    let suffix = match (d % 10, d % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{d}{suffix}")
}

/// Renders a Slack date token format (`{date_short_pretty} {time}` …) for `unix` in zone `tz`, with `now`
/// for "Today"/"Yesterday"/"Tomorrow". `None` when the format has an unknown token or the time is invalid
/// (the caller then shows the fallback text, as Slack does).
pub fn render_date(unix: i64, format: &str, tz: &str, now: i64) -> Option<String> {
    let zone = zone(tz);
    let z = Timestamp::from_second(unix).ok()?.to_zoned(zone.clone());
    let today = Timestamp::from_second(now).ok()?.to_zoned(zone).date();
    let d = z.date();
    let month = z.strftime("%B").to_string();
    let mon = z.strftime("%b").to_string();
    let weekday = z.strftime("%A").to_string();
    let date = format!("{month} {}, {}", ordinal(d.day()), d.year());
    let date_short = format!("{mon} {}, {}", d.day(), d.year());
    let date_long = format!("{weekday}, {date}");
    let pretty = |fallback: &str| -> String {
        let diff = (d - today).get_days();
        match diff {
            0 => "Today".to_string(),
            -1 => "Yesterday".to_string(),
            1 => "Tomorrow".to_string(),
            _ => fallback.to_string(),
        }
    };
    let hour12 = |h: i8| if h % 12 == 0 { 12 } else { h % 12 };
    let ampm = if z.hour() < 12 { "AM" } else { "PM" };
    let time = format!("{}:{:02} {ampm}", hour12(z.hour()), z.minute());
    let time_secs = format!(
        "{}:{:02}:{:02} {ampm}",
        hour12(z.hour()),
        z.minute(),
        z.second()
    );
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after.find('}')?;
        let tok = &after[..j];
        let s = match tok {
            "date_num" => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            "date" => date.clone(),
            "date_short" => date_short.clone(),
            "date_long" => date_long.clone(),
            "date_pretty" => pretty(&date),
            "date_short_pretty" => pretty(&date_short),
            "date_long_pretty" => pretty(&date_long),
            "time" => time.clone(),
            "time_secs" => time_secs.clone(),
            _ => return None,
        };
        out.push_str(&s);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_zones() {
        // 2023-11-14T22:13:20Z
        let t = 1_700_000_000;
        assert_eq!(
            render_date(t, "{date_num} {time}", "UTC", t).unwrap(),
            "2023-11-14 10:13 PM"
        );
        assert_eq!(
            render_date(t, "{date_num} {time}", "Europe/Paris", t).unwrap(),
            "2023-11-14 11:13 PM"
        );
        assert_eq!(
            render_date(t, "{date_short_pretty} {time}", "Asia/Tokyo", t).unwrap(),
            "Today 7:13 AM"
        );
        assert_eq!(
            render_date(t, "{date_short_pretty}", "Asia/Tokyo", t + 86_400).unwrap(),
            "Yesterday"
        );
        assert_eq!(
            render_date(t, "{date_long}", "America/New_York", 0).unwrap(),
            "Tuesday, November 14th, 2023"
        );
        assert!(render_date(t, "{nope}", "UTC", t).is_none());
        let (label, off) = label_and_offset("Europe/Paris", t);
        assert_eq!((label.as_str(), off), ("Central European Time", 3600));
    }
}
