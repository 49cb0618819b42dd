//! Text helpers: mrkdwn escaping (for the connector's own mrkdwn and the message's `text`), cuts at word
//! boundaries, cleaning to one or many lines, and template filling.
//!
//! Lengths are counted in Unicode scalar values (`char`s), which is how Slack states its limits. A cut keeps the
//! text's first whole words and marks the cut with [`ELLIPSIS`]; it never falls inside an extended grapheme cluster
//! (emoji ZWJ sequences, flags, skin tones, combining marks), and falls inside a word only when that word alone is
//! longer than half of what may be kept (a long URL, a run of letters with no space).

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

/// Appended to text that was cut. One character.
pub const ELLIPSIS: &str = "…";

/// Escapes text for Slack mrkdwn: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`.
///
/// After this, the text holds no `<` and cannot form a link, a mention (`<!channel>`, `<@U123>`) or a date token.
/// Formatting characters (`*_~``) stay: Slack has no escape for them, so text from the LMS goes in `plain_text`
/// objects, and in mrkdwn only where Slack reads nothing but entities (a `text` posted with `mrkdwn: false`).
pub fn escape_mrkdwn(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The length in characters of `s` once escaped for mrkdwn.
pub fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '&' => 5,
            '<' | '>' => 4,
            _ => 1,
        })
        .sum()
}

/// Number of characters (Unicode scalar values).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to at most `max_chars` characters (see the module's documentation): text that fits is returned whole.
pub fn cut(s: &str, max_chars: usize) -> Cow<'_, str> {
    cut_measured(s, max_chars, char_len)
}

/// Cuts `s` so that once escaped for mrkdwn it is at most `max_chars` characters (`&` counts five), and escapes it.
pub fn escape_cut(s: &str, max_chars: usize) -> String {
    escape_mrkdwn(&cut_measured(s, max_chars, escaped_len))
}

/// Punctuation not left before the ellipsis: after a word (`quiz,…`), or alone after a space (`Safety &…`).
const AFTER_WORD: &[char] = &[',', ';', ':'];
/// See [`AFTER_WORD`].
const ALONE: &[char] = &[
    '&', '-', '–', '—', '/', '(', '[', '{', '«', '“', '‘', '"', '\'',
];

/// `kept` without trailing spaces and one dangling punctuation mark (see [`AFTER_WORD`]).
fn without_dangling(kept: &str) -> &str {
    let kept = kept.trim_end();
    match kept.char_indices().next_back() {
        Some((i, c))
            if AFTER_WORD.contains(&c)
                || (ALONE.contains(&c) && kept[..i].ends_with(char::is_whitespace)) =>
        {
            kept[..i].trim_end()
        }
        _ => kept,
    }
}

/// The shared cut: `measure` gives the length of a piece of text in the output (plain or escaped).
fn cut_measured(s: &str, max_chars: usize, measure: fn(&str) -> usize) -> Cow<'_, str> {
    if measure(s) <= max_chars {
        return Cow::Borrowed(s);
    }
    let Some(budget) = max_chars.checked_sub(char_len(ELLIPSIS)) else {
        return Cow::Borrowed("");
    };
    // The most whole grapheme clusters that fit…
    let (end, used) = match fitting_chars(s, budget, measure) {
        Some(fit) => fit,
        None => fitting_graphemes(s, budget, measure),
    };
    // …back to the last word boundary (Unicode's, UAX #29), unless that drops more than half of them.
    let word_end = last_word_boundary(s, end);
    let end = if measure(&s[..word_end]) * 2 >= used {
        word_end
    } else {
        end
    };
    Cow::Owned(format!("{}{ELLIPSIS}", without_dangling(&s[..end])))
}

/// Below this character, every character is a grapheme cluster of its own but for `\r\n`: combining marks, joiners
/// and every other character that can join a neighbour start at U+0300.
const FIRST_JOINING: char = '\u{300}';

/// [`fitting_graphemes`] for text whose grapheme clusters are single characters up to the cut: no character from
/// U+0300 on (combining marks, joiners, emoji, regional indicators) nor `\r` (`\r\n` is one cluster), up to the
/// character after the cut included, which would join the last one kept. `None` for other text. Unicode's segmentation
/// costs a table look-up per character; most text (any Latin script written with precomposed letters) needs none.
fn fitting_chars(s: &str, budget: usize, measure: fn(&str) -> usize) -> Option<(usize, usize)> {
    let mut used = 0;
    let mut end = 0;
    let mut buffer = [0; 4];
    for (start, c) in s.char_indices() {
        if c >= FIRST_JOINING || c == '\r' {
            return None;
        }
        let len = measure(c.encode_utf8(&mut buffer));
        if used + len > budget {
            return Some((end, used));
        }
        used += len;
        end = start + c.len_utf8();
    }
    Some((end, used))
}

/// The byte length and measure of the most whole grapheme clusters of `s` that fit in `budget`.
fn fitting_graphemes(s: &str, budget: usize, measure: fn(&str) -> usize) -> (usize, usize) {
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
    (end, used)
}

/// The last word boundary of `s` (UAX #29) at or before the byte `end`, 0 when there is none.
///
/// Only the text from the last run of white space before `end` is segmented: a boundary falls before white space that
/// follows anything else (UAX #29 joins white space only to white space, and to the marks that follow it), and no
/// rule looks back across it, so the boundaries after it are the same in that text as in the whole.
fn last_word_boundary(s: &str, end: usize) -> usize {
    let head = &s[..end];
    let from = match head.rfind(char::is_whitespace) {
        Some(space) => head[..space].trim_end_matches(char::is_whitespace).len(),
        None => 0,
    };
    s[from..]
        .split_word_bound_indices()
        .map(|(start, word)| from + start + word.len())
        .take_while(|&word_end| word_end <= end)
        .last()
        .unwrap_or(from)
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

/// Fills `template` (plain text with `{name}` placeholders) with `vars`, within `max_chars` characters as
/// `measure` counts them ([`char_len`] for plain text, [`escaped_len`] for text to be escaped).
///
/// When the result would be too long, the longest values are cut first (each at a word, see [`cut`]) so that short
/// values stay whole; the template's own words are kept. Placeholders naming no variable stay as written.
pub fn fill(
    template: &str,
    vars: &[(&str, &str)],
    max_chars: usize,
    measure: fn(&str) -> usize,
) -> String {
    let names: Vec<&str> = vars.iter().map(|(name, _)| *name).collect();
    let pieces = parse_template(template, &names);

    let literal_len: usize = pieces
        .iter()
        .map(|p| match p {
            Piece::Literal(text) => measure(text),
            Piece::Var(_) => 0,
        })
        .sum();
    // Each occurrence of a variable gets its own allowance, shared out so that short values stay whole.
    let wanted: Vec<usize> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Var(i) => Some(measure(vars[*i].1)),
            Piece::Literal(_) => None,
        })
        .collect();
    let allowance = share_out(max_chars.saturating_sub(literal_len), &wanted);

    let mut out = String::new();
    let mut occurrence = 0;
    for piece in &pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Var(i) => {
                out.push_str(&cut_measured(vars[*i].1, allowance[occurrence], measure));
                occurrence += 1;
            }
        }
    }
    // Only when the template's own words are longer than the limit.
    cut_measured(&out, max_chars, measure).into_owned()
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
        assert!(matches!(cut("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(cut("", 0), "");
        let s = "é".repeat(200);
        assert_eq!(cut(&s, 200), s);
    }

    #[test]
    fn cuts_fall_between_words() {
        // The description of the issue: never "live session w…" nor "hameçonn…".
        let s = "each module ends with a short quiz, and the last one with a live session with your mentor.";
        assert_eq!(
            cut(s, 80),
            "each module ends with a short quiz, and the last one with a live session with…"
        );
        assert_eq!(
            cut(s, 77),
            "each module ends with a short quiz, and the last one with a live session…"
        );
        assert_eq!(cut(s, 40), "each module ends with a short quiz, and…");
        // A comma is not left before the ellipsis.
        assert_eq!(cut(s, 38), "each module ends with a short quiz…");
        let fr = "Repérer un courriel d’hameçonnage avant de cliquer";
        assert_eq!(cut(fr, 30), "Repérer un courriel…");
        // An apostrophe inside a word does not end it.
        assert_eq!(cut("l’hameçonnage ciblé", 16), "l’hameçonnage…");
        // A cut exactly at the end of a word keeps it.
        assert_eq!(cut("abc def ghi", 8), "abc def…");
        // Dangling punctuation and spaces go before the ellipsis.
        assert_eq!(cut("Safety & Security", 12), "Safety…");
        assert_eq!(cut("abc def", 5), "abc…");
        // Text without spaces in another script: each ideograph is a word.
        assert_eq!(cut("安全研修のご案内です", 6), "安全研修の…");
    }

    #[test]
    fn a_word_longer_than_half_the_room_is_cut_inside() {
        let d201 = "z".repeat(201);
        let cut201 = cut(&d201, 200);
        assert_eq!(cut201, format!("{}…", "z".repeat(199)));
        assert_eq!(char_len(&cut201), 200);
        let e201 = "é".repeat(201);
        assert_eq!(cut(&e201, 200), format!("{}…", "é".repeat(199)));
        // A short first word then a long one: the long one is cut rather than dropping almost everything.
        let s = format!("See https://lms.example/{}", "p".repeat(300));
        let got = cut(&s, 100);
        assert_eq!(char_len(&got), 100);
        assert!(got.starts_with("See https://lms.example/ppp"), "{got}");
    }

    #[test]
    fn cut_keeps_or_drops_whole_grapheme_clusters() {
        for cluster in [FAMILY, FLAG_FR, THUMB_SKIN, E_ACUTE_COMBINING] {
            for pad in 0..=char_len(cluster) + 1 {
                // The cluster straddles the cut at every possible position, inside one long word.
                let s = format!("{}{cluster}{}", "a".repeat(199 - pad), "b".repeat(20));
                let got = cut(&s, 200);
                assert!(char_len(&got) <= 200, "{cluster:?} pad {pad}");
                let kept = got.strip_suffix(ELLIPSIS).expect("was cut");
                // The kept part is made of the input's own first graphemes, whole.
                let kept_graphemes: Vec<&str> = kept.graphemes(true).collect();
                let input_graphemes: Vec<&str> =
                    s.graphemes(true).take(kept_graphemes.len()).collect();
                assert_eq!(kept_graphemes, input_graphemes, "{cluster:?} pad {pad}");
            }
        }
    }

    #[test]
    fn emoji_sequences_at_the_cut() {
        // 198 letters, then the family (7 chars): 198 + 7 > 199, so the family is dropped whole.
        let s = format!("{}{FAMILY}", "a".repeat(198));
        assert_eq!(cut(&s, 200), format!("{}…", "a".repeat(198)));
        // A flag fits exactly: 197 + 2 = 199, plus the ellipsis = 200.
        let s = format!("{}{FLAG_FR}{FLAG_FR}", "a".repeat(197));
        assert_eq!(cut(&s, 200), format!("{}{FLAG_FR}…", "a".repeat(197)));
        // A skin tone is never separated from its emoji.
        let s = format!("{}{THUMB_SKIN}zz", "a".repeat(198));
        assert_eq!(cut(&s, 200), format!("{}…", "a".repeat(198)));
        // A combining accent stays on its letter.
        let s = format!("{}{E_ACUTE_COMBINING}zz", "a".repeat(198));
        assert_eq!(cut(&s, 200), format!("{}…", "a".repeat(198)));
        // Only one huge cluster: nothing of it is kept.
        assert_eq!(cut(FAMILY, 5), "…");
        assert_eq!(cut(FAMILY, 0), "");
    }

    #[test]
    fn escape_cut_counts_after_escaping_and_never_splits_an_entity() {
        let s = "&".repeat(1000);
        let out = escape_cut(&s, 3000);
        assert!(char_len(&out) <= 3000);
        assert_eq!(out, format!("{}…", "&amp;".repeat(599)));
        assert_eq!(escape_cut("a<b", 6), "a&lt;b");
        assert_eq!(escape_cut("a<b", 5), "a…");
        assert_eq!(escape_cut("ab<", 5), "ab…");
        assert_eq!(escape_cut("", 10), "");
        for max in 0..40 {
            let out = escape_cut("x&y<z>w&&<<>>", max);
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
    fn single_and_multi_line_cleaning() {
        assert_eq!(single_line("  a\n\tb \r\n c\u{0}d  "), "a b c d");
        assert_eq!(single_line("\n\n"), "");
        assert_eq!(multi_line(" a\r\nb\rc\u{7}d\n\te "), "a\nb\nc d\n\te");
    }

    #[test]
    fn fill_substitutes_without_escaping() {
        let out = fill(
            "Invitation: {session}",
            &[("session", "<!channel> & co")],
            3000,
            char_len,
        );
        assert_eq!(out, "Invitation: <!channel> & co");
        // Unknown placeholders and lone braces stay.
        assert_eq!(fill("{x} {a} {", &[("a", "1")], 100, char_len), "{x} 1 {");
        // Repeated variables.
        assert_eq!(fill("{a}{a}", &[("a", "xy")], 100, char_len), "xyxy");
    }

    #[test]
    fn fill_cuts_the_longest_values_first() {
        let long = "Long words ".repeat(500);
        let out = fill(
            "{title} — {session}",
            &[("title", &long), ("session", "Short")],
            100,
            char_len,
        );
        assert!(char_len(&out) <= 100);
        assert!(out.ends_with("… — Short"), "{out}");
        assert!(out.starts_with("Long words Long words"));
        // Measured once escaped.
        let out = fill(
            "{a}|{b}",
            &[("a", &"&".repeat(900)), ("b", &"<".repeat(900))],
            3000,
            escaped_len,
        );
        assert!(escaped_len(&out) <= 3000);
        // Template words longer than the limit.
        let out = fill(&"W& ".repeat(100), &[], 50, escaped_len);
        assert!(escaped_len(&out) <= 50 && out.ends_with('…'), "{out}");
    }

    #[test]
    fn share_out_gives_short_values_all_they_want() {
        assert_eq!(share_out(100, &[10, 500]), vec![10, 90]);
        assert_eq!(share_out(100, &[500, 500]), vec![50, 50]);
        assert_eq!(share_out(100, &[5, 6]), vec![5, 6]);
        assert_eq!(share_out(0, &[5]), vec![0]);
        assert!(share_out(10, &[]).is_empty());
    }

    /// Characters that stress both segmentations: words, numbers and their punctuation, white space of several
    /// kinds, combining marks, joiners, emoji, flags, Hebrew, and line ends.
    fn tricky_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let pieces = prop::sample::select(vec![
            "a",
            "Z",
            "é",
            "7",
            ".",
            ",",
            ":",
            ";",
            "'",
            "’",
            "_",
            "-",
            " ",
            "  ",
            "\t",
            "\n",
            "\r",
            "\r\n",
            "\u{3000}",
            "\u{2003}",
            "\u{85}",
            "\u{a0}",
            "\u{301}",
            "\u{200d}",
            "\u{200b}",
            "\u{ad}",
            "👍",
            "👍🏽",
            "👩‍💻",
            "🇫🇷",
            "🇫",
            "א",
            "\"",
            "©",
            "&",
            "<",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, failure_persistence: None, ..Default::default() })]

        /// The windowed search finds the boundary a segmentation of the whole text finds, wherever the cut falls.
        #[test]
        fn the_last_word_boundary_is_the_whole_texts(s in tricky_text()) {
            for (end, _) in s.char_indices().chain([(s.len(), ' ')]) {
                let whole = s
                    .split_word_bound_indices()
                    .map(|(start, word)| start + word.len())
                    .take_while(|&word_end| word_end <= end)
                    .last()
                    .unwrap_or(0);
                proptest::prop_assert_eq!(last_word_boundary(&s, end), whole, "{:?} at {}", s, end);
            }
        }

        /// Where the character path answers, it keeps what the grapheme path keeps, for both measures.
        #[test]
        fn fitting_characters_are_fitting_graphemes(s in tricky_text(), budget in 0usize..60) {
            for measure in [char_len as fn(&str) -> usize, escaped_len] {
                if let Some(fit) = fitting_chars(&s, budget, measure) {
                    proptest::prop_assert_eq!(fit, fitting_graphemes(&s, budget, measure), "{:?}", s);
                }
            }
        }
    }
}
