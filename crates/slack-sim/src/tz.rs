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

/// The instant `unix` in zone `tz` in RFC 3339, with the zone's offset (`2026-12-01T09:00:00+01:00`); `None` when
/// the instant is out of range.
pub fn rfc3339(unix: i64, tz: &str) -> Option<String> {
    let z = Timestamp::from_second(unix).ok()?.to_zoned(zone(tz));
    Some(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// The language a member reads Slack in, from their `locale` (Slack's `users.info` field, such as `fr-FR`):
/// French for any `fr…` tag, English for anything else (the simulation knows these two).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lang {
    /// English (Slack's default, `en-US`).
    #[default]
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The language of a BCP 47 or POSIX locale (`fr-FR`, `fr_CA.UTF-8`, `FR`); English when not French.
    pub fn of_locale(locale: &str) -> Lang {
        let primary = locale
            .trim()
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or("");
        if primary.eq_ignore_ascii_case("fr") {
            Lang::Fr
        } else {
            Lang::En
        }
    }

    /// `en` in English, `fr` in French.
    pub fn pick<'a>(self, en: &'a str, fr: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }
}

/// A day of the month as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st.
fn ordinal(d: i8) -> String {
    let suffix = match (d % 10, d % 100) {
        (1, x) if x != 11 => "st",
        (2, x) if x != 12 => "nd",
        (3, x) if x != 13 => "rd",
        _ => "th",
    };
    format!("{d}{suffix}")
}

/// French month names, January first: full, then abbreviated.
const FR_MONTHS: [(&str, &str); 12] = [
    ("janvier", "janv."),
    ("février", "févr."),
    ("mars", "mars"),
    ("avril", "avr."),
    ("mai", "mai"),
    ("juin", "juin"),
    ("juillet", "juil."),
    ("août", "août"),
    ("septembre", "sept."),
    ("octobre", "oct."),
    ("novembre", "nov."),
    ("décembre", "déc."),
];

/// French weekday names, Monday first.
const FR_WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];

/// The words of a date in one language: `{date}`, `{date_short}`, `{date_long}`, `{time}`, `{time_secs}`, and
/// the names of the day before, the day and the day after.
struct DateWords {
    date: String,
    date_short: String,
    date_long: String,
    time: String,
    time_secs: String,
    relative: [&'static str; 3],
}

impl DateWords {
    /// English as Slack writes it: `November 14th, 2023`, `Nov 14, 2023`, `Tuesday, November 14th, 2023`, `10:13 PM`.
    fn english(z: &jiff::Zoned) -> DateWords {
        let d = z.date();
        let date = format!("{} {}, {}", z.strftime("%B"), ordinal(d.day()), d.year());
        let hour12 = match z.hour() % 12 {
            0 => 12,
            h => h,
        };
        let ampm = if z.hour() < 12 { "AM" } else { "PM" };
        DateWords {
            date_short: format!("{} {}, {}", z.strftime("%b"), d.day(), d.year()),
            date_long: format!("{}, {date}", z.strftime("%A")),
            date,
            time: format!("{hour12}:{:02} {ampm}", z.minute()),
            time_secs: format!("{hour12}:{:02}:{:02} {ampm}", z.minute(), z.second()),
            relative: ["Yesterday", "Today", "Tomorrow"],
        }
    }

    /// French: `14 novembre 2023` (`1er` for the first), `14 nov. 2023`, `mardi 14 novembre 2023`, `22:13`.
    fn french(z: &jiff::Zoned) -> DateWords {
        let d = z.date();
        let (month, mon) = FR_MONTHS[usize::try_from(d.month() - 1).unwrap_or(0)];
        let weekday =
            FR_WEEKDAYS[usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0)];
        let day = if d.day() == 1 {
            "1er".to_string()
        } else {
            d.day().to_string()
        };
        let date = format!("{day} {month} {}", d.year());
        DateWords {
            date_short: format!("{} {mon} {}", d.day(), d.year()),
            date_long: format!("{weekday} {date}"),
            date,
            time: format!("{:02}:{:02}", z.hour(), z.minute()),
            time_secs: format!("{:02}:{:02}:{:02}", z.hour(), z.minute(), z.second()),
            relative: ["Hier", "Aujourd’hui", "Demain"],
        }
    }
}

/// Renders a Slack date token format (`{date_short_pretty} {time}` …) for `unix` in zone `tz` and language
/// `lang`, with `now` for "Today"/"Yesterday"/"Tomorrow". `None` when the format has an unknown token or the time
/// is invalid (the caller then shows the fallback text, as Slack does).
pub fn render_date(unix: i64, format: &str, tz: &str, lang: Lang, now: i64) -> Option<String> {
    let zone = zone(tz);
    let z = Timestamp::from_second(unix).ok()?.to_zoned(zone.clone());
    let today = Timestamp::from_second(now).ok()?.to_zoned(zone).date();
    let d = z.date();
    let words = match lang {
        Lang::En => DateWords::english(&z),
        Lang::Fr => DateWords::french(&z),
    };
    let pretty = |absolute: &str| -> String {
        match (d - today).get_days() {
            -1 => words.relative[0].to_string(),
            0 => words.relative[1].to_string(),
            1 => words.relative[2].to_string(),
            _ => absolute.to_string(),
        }
    };
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after.find('}')?;
        let s = match &after[..j] {
            "date_num" => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
            "date" => words.date.clone(),
            "date_short" => words.date_short.clone(),
            "date_long" => words.date_long.clone(),
            "date_pretty" => pretty(&words.date),
            "date_short_pretty" => pretty(&words.date_short),
            "date_long_pretty" => pretty(&words.date_long),
            "time" => words.time.clone(),
            "time_secs" => words.time_secs.clone(),
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
            render_date(t, "{date_num} {time}", "UTC", Lang::En, t).unwrap(),
            "2023-11-14 10:13 PM"
        );
        assert_eq!(
            render_date(t, "{date_num} {time}", "Europe/Paris", Lang::En, t).unwrap(),
            "2023-11-14 11:13 PM"
        );
        assert_eq!(
            render_date(t, "{date_short_pretty} {time}", "Asia/Tokyo", Lang::En, t).unwrap(),
            "Today 7:13 AM"
        );
        assert_eq!(
            render_date(t, "{date_short_pretty}", "Asia/Tokyo", Lang::En, t + 86_400).unwrap(),
            "Yesterday"
        );
        assert_eq!(
            render_date(t, "{date_long}", "America/New_York", Lang::En, 0).unwrap(),
            "Tuesday, November 14th, 2023"
        );
        assert!(render_date(t, "{nope}", "UTC", Lang::En, t).is_none());
        let (label, off) = label_and_offset("Europe/Paris", t);
        assert_eq!((label.as_str(), off), ("Central European Time", 3600));
    }

    #[test]
    fn dates_in_french() {
        // 2026-12-01T08:00:00Z, a Tuesday.
        let t = 1_796_112_000;
        let fr =
            |format: &str, tz: &str, now: i64| render_date(t, format, tz, Lang::Fr, now).unwrap();
        assert_eq!(
            fr("{date_short_pretty} {time}", "Europe/Paris", 0),
            "1 déc. 2026 09:00"
        );
        assert_eq!(
            fr("{date_long} {time_secs}", "America/New_York", 0),
            "mardi 1er décembre 2026 03:00:00"
        );
        assert_eq!(fr("{date}", "Asia/Tokyo", 0), "1er décembre 2026");
        assert_eq!(fr("{date_short_pretty}", "Europe/Paris", t), "Aujourd’hui");
        assert_eq!(fr("{date_pretty}", "Europe/Paris", t - 86_400), "Demain");
        assert_eq!(fr("{date_long_pretty}", "Europe/Paris", t + 86_400), "Hier");
        assert_eq!(fr("{date_num}", "Pacific/Kiritimati", 0), "2026-12-01");
        assert_eq!(
            render_date(t + 86_400 * 14, "{date_long}", "Europe/Paris", Lang::Fr, 0).unwrap(),
            "mardi 15 décembre 2026"
        );
    }

    #[test]
    fn a_members_locale_picks_the_language() {
        for tag in ["fr", "fr-FR", "fr_CA.UTF-8", "FR", " fr-BE"] {
            assert_eq!(Lang::of_locale(tag), Lang::Fr, "{tag}");
        }
        for tag in ["", "en-US", "en-GB", "de-DE", "fry", "français"] {
            assert_eq!(Lang::of_locale(tag), Lang::En, "{tag}");
        }
    }
}
