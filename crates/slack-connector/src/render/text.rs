//! Text helpers: mrkdwn escaping, grapheme-aware truncation and template filling.
//!
//! Lengths are counted in Unicode scalar values (`char`s), which is how the limits of this module are stated.
//! A cut never falls inside a multi-byte character nor inside an extended grapheme cluster (emoji ZWJ sequences,
//! flags, skin tones, combining marks): a cluster is kept whole or dropped whole.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

/// Appended to text that was cut. One character.
pub const ELLIPSIS: &str = "…";

/// Escapes text for Slack mrkdwn: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`.
///
/// After this, the text holds no `<` and cannot form a link, a mention (`<!channel>`, `<@U123>`) or a date token.
pub fn escape_mrkdwn(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// The length in characters of `c` once escaped for mrkdwn.
fn escaped_char_len(c: char) -> usize {
    match c {
        '&' => 5,
        '<' | '>' => 4,
        _ => 1,
    }
}

/// The length in characters of `s` once escaped for mrkdwn.
pub fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

/// Number of characters (Unicode scalar values).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to at most `max_chars` characters: text that fits is returned whole; longer text is cut at a grapheme
/// boundary so that the kept part plus [`ELLIPSIS`] is at most `max_chars` characters.
pub fn truncate_graphemes(s: &str, max_chars: usize) -> Cow<'_, str> {
    truncate_measured(s, max_chars, char_len)
}

/// Escapes `s` for mrkdwn and cuts it so that the escaped result is at most `max_chars` characters (`&amp;` counts
/// five). The cut falls between grapheme clusters of the original text, so no entity is ever split.
pub fn escape_truncated(s: &str, max_chars: usize) -> String {
    escape_mrkdwn(&truncate_measured(s, max_chars, escaped_len))
}

/// The shared cut: `measure` gives the length of a piece of text in the output (plain or escaped).
fn truncate_measured(s: &str, max_chars: usize, measure: fn(&str) -> usize) -> Cow<'_, str> {
    if measure(s) <= max_chars {
        return Cow::Borrowed(s);
    }
    let Some(budget) = max_chars.checked_sub(char_len(ELLIPSIS)) else {
        return Cow::Borrowed("");
    };
    let mut used = 0;
    let mut end = 0;
    for (start, grapheme) in s.grapheme_indices(true) {
        let len = measure(grapheme);
        if used + len > budget {
            break;
        }
        used += len;
        end = start + grapheme.len();
    }
    let kept = s[..end].trim_end();
    Cow::Owned(format!("{kept}{ELLIPSIS}"))
}

/// Makes text fit on one line: control characters (newlines, tabs…) become spaces, runs of spaces collapse to one,
/// and the ends are trimmed. For titles, alt text and button labels.
pub fn single_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cleans multi-line text: `\r\n` and `\r` become `\n`, other control characters (except `\n` and `\t`) become
/// spaces, and the ends are trimmed. For descriptions and bodies.
pub fn multi_line(s: &str) -> String {
    let normalised = s.replace("\r\n", "\n").replace('\r', "\n");
    let cleaned: String = normalised
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    cleaned.trim().to_string()
}

/// One piece of a template: literal text, or the index of a variable.
enum Piece<'a> {
    Literal(&'a str),
    Var(usize),
}

/// Splits `template` at `{name}` placeholders naming one of `names`; other braces stay literal.
fn parse_template<'a>(template: &'a str, names: &[&str]) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    let mut literal_start = 0;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let var = after.find('}').and_then(|close| {
            names
                .iter()
                .position(|n| *n == &after[..close])
                .map(|i| (i, close))
        });
        match var {
            Some((index, close)) => {
                let literal_end = offset + open;
                if literal_end > literal_start {
                    pieces.push(Piece::Literal(&template[literal_start..literal_end]));
                }
                pieces.push(Piece::Var(index));
                let consumed = open + 1 + close + 1;
                offset += consumed;
                literal_start = offset;
                rest = &rest[consumed..];
            }
            None => {
                offset += open + 1;
                rest = &rest[open + 1..];
            }
        }
    }
    if literal_start < template.len() {
        pieces.push(Piece::Literal(&template[literal_start..]));
    }
    pieces
}

/// Fills `template` (plain text with `{name}` placeholders) with `vars` and escapes the whole for mrkdwn, within
/// `max_chars` characters after escaping.
///
/// When the result would be too long, the longest values are cut first (each at a grapheme boundary, with
/// [`ELLIPSIS`]) so that short values stay whole; the template's own words are kept. Placeholders naming no variable
/// stay as written. The template is plain text too: an `&` in a translation is escaped like any other.
pub fn fill_mrkdwn(template: &str, vars: &[(&str, &str)], max_chars: usize) -> String {
    let names: Vec<&str> = vars.iter().map(|(name, _)| *name).collect();
    let pieces = parse_template(template, &names);

    let literal_len: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(text) => escaped_len(text),
            Piece::Var(_) => 0,
        })
        .sum();
    // Each occurrence of a variable gets its own allowance, shared out so that short values stay whole.
    let wanted: Vec<usize> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Var(i) => Some(escaped_len(vars[*i].1)),
            Piece::Literal(_) => None,
        })
        .collect();
    let allowance = share_out(max_chars.saturating_sub(literal_len), &wanted);

    let mut out = String::new();
    let mut occurrence = 0;
    for piece in &pieces {
        match piece {
            Piece::Literal(text) => out.push_str(&escape_mrkdwn(text)),
            Piece::Var(i) => {
                out.push_str(&escape_truncated(vars[*i].1, allowance[occurrence]));
                occurrence += 1;
            }
        }
    }
    if char_len(&out) > max_chars {
        // Only when the template's own words are longer than the limit.
        out = truncate_escaped(&out, max_chars);
    }
    out
}

/// Shares `budget` between values that want `wanted[i]` characters: values shorter than an even share get all they
/// want, the rest split what remains evenly.
fn share_out(budget: usize, wanted: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i]);
    let mut given = vec![0; wanted.len()];
    let mut remaining = budget;
    for (k, &i) in order.iter().enumerate() {
        let share = remaining / (wanted.len() - k);
        given[i] = wanted[i].min(share);
        remaining -= given[i];
    }
    given
}

/// Cuts text that is already escaped for mrkdwn to `max_chars` characters, at a grapheme boundary, never inside an
/// `&amp;`/`&lt;`/`&gt;` entity.
pub fn truncate_escaped(escaped: &str, max_chars: usize) -> String {
    let Cow::Owned(cut) = truncate_graphemes(escaped, max_chars) else {
        return escaped.to_string();
    };
    let Some(kept) = cut.strip_suffix(ELLIPSIS) else {
        return cut;
    };
    // In escaped text every `&` opens an entity that ends with `;`: drop a trailing entity that was cut.
    let kept = match kept.rfind('&') {
        Some(amp) if !kept[amp..].contains(';') => kept[..amp].trim_end(),
        _ => kept,
    };
    format!("{kept}{ELLIPSIS}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "👩\u{200d}👩\u{200d}👧\u{200d}👦"; // 7 scalar values, one grapheme
    const FLAG_FR: &str = "🇫🇷"; // 2 scalar values
    const THUMB_SKIN: &str = "👍🏽"; // 2 scalar values
    const E_ACUTE_COMBINING: &str = "e\u{301}"; // 2 scalar values

    #[test]
    fn escapes_the_three_special_characters() {
        assert_eq!(escape_mrkdwn("a & b < c > d"), "a &amp; b &lt; c &gt; d");
        assert_eq!(escape_mrkdwn("&amp;"), "&amp;amp;");
        assert_eq!(
            escape_mrkdwn("plain *bold* _it_ é 👍"),
            "plain *bold* _it_ é 👍"
        );
    }

    #[test]
    fn escaping_defuses_mentions_and_links() {
        assert_eq!(escape_mrkdwn("<!channel>"), "&lt;!channel&gt;");
        assert_eq!(
            escape_mrkdwn("<!everyone> <!here>"),
            "&lt;!everyone&gt; &lt;!here&gt;"
        );
        assert_eq!(
            escape_mrkdwn("<https://evil|click>"),
            "&lt;https://evil|click&gt;"
        );
        assert_eq!(escape_mrkdwn("<@U123>"), "&lt;@U123&gt;");
        assert_eq!(
            escape_mrkdwn("<!date^1^{date}|x>"),
            "&lt;!date^1^{date}|x&gt;"
        );
    }

    #[test]
    fn escaped_len_counts_entities() {
        assert_eq!(escaped_len("&"), 5);
        assert_eq!(escaped_len("<>"), 8);
        assert_eq!(escaped_len("é👍"), 2);
        assert_eq!(
            escaped_len(&"&".repeat(10)),
            char_len(&escape_mrkdwn(&"&".repeat(10)))
        );
    }

    #[test]
    fn short_text_is_kept_whole() {
        assert!(matches!(truncate_graphemes("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(truncate_graphemes("", 0), "");
        let s = "é".repeat(200);
        assert_eq!(truncate_graphemes(&s, 200), s);
    }

    #[test]
    fn descriptions_of_199_200_and_201_characters() {
        let d199 = "x".repeat(199);
        let d200 = "y".repeat(200);
        let d201 = "z".repeat(201);
        assert_eq!(truncate_graphemes(&d199, 200), d199);
        assert_eq!(truncate_graphemes(&d200, 200), d200);
        let cut = truncate_graphemes(&d201, 200);
        assert_eq!(cut, format!("{}…", "z".repeat(199)));
        assert_eq!(char_len(&cut), 200);
        // Multi-byte characters count one each.
        let e201 = "é".repeat(201);
        let cut = truncate_graphemes(&e201, 200);
        assert_eq!(cut, format!("{}…", "é".repeat(199)));
    }

    #[test]
    fn cut_keeps_or_drops_whole_grapheme_clusters() {
        for cluster in [FAMILY, FLAG_FR, THUMB_SKIN, E_ACUTE_COMBINING] {
            for pad in 0..=char_len(cluster) + 1 {
                // The cluster straddles the cut at every possible position.
                let s = format!("{}{cluster}{}", "a".repeat(199 - pad), "b".repeat(20));
                let cut = truncate_graphemes(&s, 200);
                assert!(char_len(&cut) <= 200, "{cluster:?} pad {pad}");
                let kept = cut.strip_suffix(ELLIPSIS).expect("was cut");
                // The kept part is made of the input's own first graphemes, whole.
                let kept_graphemes: Vec<&str> = kept.graphemes(true).collect();
                let input_graphemes: Vec<&str> =
                    s.graphemes(true).take(kept_graphemes.len()).collect();
                assert_eq!(kept_graphemes, input_graphemes, "{cluster:?} pad {pad}");
                // And as many as fit: the next grapheme would not.
                let next = s.graphemes(true).nth(kept_graphemes.len()).unwrap();
                assert!(
                    char_len(kept) + char_len(next) > 199,
                    "{cluster:?} pad {pad}"
                );
            }
        }
    }

    #[test]
    fn emoji_sequences_at_the_cut() {
        // 198 letters, then the family (7 chars): 198 + 7 > 199, so the family is dropped whole.
        let s = format!("{}{FAMILY}", "a".repeat(198));
        assert_eq!(truncate_graphemes(&s, 200), format!("{}…", "a".repeat(198)));
        // A flag fits exactly: 197 + 2 = 199, plus the ellipsis = 200.
        let s = format!("{}{FLAG_FR}{FLAG_FR}", "a".repeat(197));
        assert_eq!(
            truncate_graphemes(&s, 200),
            format!("{}{FLAG_FR}…", "a".repeat(197))
        );
        // A skin tone is never separated from its emoji.
        let s = format!("{}{THUMB_SKIN}zz", "a".repeat(198));
        assert_eq!(truncate_graphemes(&s, 200), format!("{}…", "a".repeat(198)));
        // A combining accent stays on its letter.
        let s = format!("{}{E_ACUTE_COMBINING}zz", "a".repeat(198));
        assert_eq!(truncate_graphemes(&s, 200), format!("{}…", "a".repeat(198)));
        // Only one huge cluster: nothing of it is kept.
        assert_eq!(truncate_graphemes(FAMILY, 5), "…");
        assert_eq!(truncate_graphemes(FAMILY, 0), "");
    }

    #[test]
    fn trailing_space_before_the_ellipsis_is_dropped() {
        assert_eq!(truncate_graphemes("abc def", 5), "abc…");
    }

    #[test]
    fn escape_truncated_counts_after_escaping_and_never_splits_an_entity() {
        let s = "&".repeat(1000);
        let out = escape_truncated(&s, 3000);
        assert!(char_len(&out) <= 3000);
        assert_eq!(out, format!("{}…", "&amp;".repeat(599)));
        assert_eq!(escape_truncated("a<b", 6), "a&lt;b");
        assert_eq!(escape_truncated("a<b", 5), "a…");
        assert_eq!(escape_truncated("ab<", 5), "ab…");
        assert_eq!(escape_truncated("", 10), "");
        for max in 0..40 {
            let out = escape_truncated("x&y<z>w&&<<>>", max);
            assert!(char_len(&out) <= max);
            let body = out.trim_end_matches(ELLIPSIS);
            assert!(!body.contains('<') && !body.contains('>'));
            // Every & opens a whole entity.
            for (i, _) in body.match_indices('&') {
                let rest = &body[i..];
                assert!(
                    rest.starts_with("&amp;")
                        || rest.starts_with("&lt;")
                        || rest.starts_with("&gt;"),
                    "{out}"
                );
            }
        }
    }

    #[test]
    fn truncate_escaped_drops_a_cut_entity() {
        assert_eq!(truncate_escaped("ab&amp;cd", 5), "ab…");
        assert_eq!(truncate_escaped("ab&amp;cd", 8), "ab&amp;…");
        assert_eq!(truncate_escaped("ab&amp;cd", 9), "ab&amp;cd");
        assert_eq!(truncate_escaped("abc…", 4), "abc…");
    }

    #[test]
    fn single_and_multi_line_cleaning() {
        assert_eq!(single_line("  a\n\tb \r\n c\u{0}d  "), "a b c d");
        assert_eq!(single_line("\n\n"), "");
        assert_eq!(multi_line(" a\r\nb\rc\u{7}d\n\te "), "a\nb\nc d\n\te");
    }

    #[test]
    fn fill_substitutes_and_escapes() {
        let out = fill_mrkdwn(
            "Invitation: {session}",
            &[("session", "<!channel> & co")],
            3000,
        );
        assert_eq!(out, "Invitation: &lt;!channel&gt; &amp; co");
        // Unknown placeholders and lone braces stay.
        assert_eq!(fill_mrkdwn("{x} {a} {", &[("a", "1")], 100), "{x} 1 {");
        // A translator's & is escaped too.
        assert_eq!(fill_mrkdwn("Q&A {a}", &[("a", "1")], 100), "Q&amp;A 1");
        // Repeated variables.
        assert_eq!(fill_mrkdwn("{a}{a}", &[("a", "xy")], 100), "xyxy");
    }

    #[test]
    fn fill_cuts_the_longest_values_first() {
        let long = "L".repeat(5000);
        let out = fill_mrkdwn(
            "{title} — {session}",
            &[("title", &long), ("session", "Short")],
            100,
        );
        assert_eq!(char_len(&out), 100);
        assert!(out.ends_with(" — Short"));
        assert!(out.starts_with(&"L".repeat(90)));
        let out = fill_mrkdwn(
            "{a}|{b}",
            &[("a", &"&".repeat(900)), ("b", &"<".repeat(900))],
            3000,
        );
        assert!(char_len(&out) <= 3000);
        // Template words longer than the limit.
        let out = fill_mrkdwn(&"W&".repeat(100), &[], 50);
        assert!(char_len(&out) <= 50 && out.ends_with('…'));
    }

    #[test]
    fn share_out_gives_short_values_all_they_want() {
        assert_eq!(share_out(100, &[10, 500]), vec![10, 90]);
        assert_eq!(share_out(100, &[500, 500]), vec![50, 50]);
        assert_eq!(share_out(100, &[5, 6]), vec![5, 6]);
        assert_eq!(share_out(0, &[5]), vec![0]);
        assert!(share_out(10, &[]).is_empty());
    }
}
