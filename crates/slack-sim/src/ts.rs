//! Slack timestamps (`1700000000.000100`): a message's ID in its conversation, seconds and microseconds.

/// A ts in microseconds; `None` when it is not one.
pub fn parse(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    if secs.is_empty()
        || secs.len() > 12
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let micros: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    Some(secs.parse::<i64>().ok()? * 1_000_000 + micros.parse::<i64>().ok()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_parse_to_microseconds() {
        assert_eq!(
            super::parse("1700000000.000100"),
            Some(1_700_000_000_000_100)
        );
        assert_eq!(super::parse("1700000000.5"), Some(1_700_000_000_500_000));
        assert_eq!(super::parse("1700000000"), Some(1_700_000_000_000_000));
        for bad in ["", ".5", "17e8", "-1", "1700000000.x"] {
            assert_eq!(super::parse(bad), None, "{bad}");
        }
    }
}
