//! The connector's own words in the recipient's language.
//!
//! Each language is one file, `crates/slack-connector/locales/<tag>.json`: a flat JSON object whose values are strings, or arrays of
//! strings (month and weekday names). `build.rs` embeds every file of the folder, so adding a language needs no code
//! change. The files are parsed once, at first use. A key missing from a language falls back to English; an unknown
//! language is English.

use std::collections::HashMap;
use std::sync::OnceLock;

mod files {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// The language used when the recipient's is unknown, and for any key a language lacks.
pub const FALLBACK_TAG: &str = "en";

/// The words of one language.
#[derive(Debug, Default)]
pub struct Locale {
    /// The language tag, lower case, from the file name (`en`, `fr`, `pt-br`).
    pub tag: String,
    strings: HashMap<String, String>,
    lists: HashMap<String, Vec<String>>,
}

impl Locale {
    /// Parses one locale file. Values that are neither strings nor arrays of strings are ignored.
    pub fn parse(tag: &str, json: &str) -> Result<Self, serde_json::Error> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)?;
        let mut locale = Locale {
            tag: tag.to_string(),
            ..Locale::default()
        };
        for (key, value) in map {
            match value {
                serde_json::Value::String(s) => {
                    locale.strings.insert(key, s);
                }
                serde_json::Value::Array(items) => {
                    let list: Option<Vec<String>> = items
                        .into_iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect();
                    if let Some(list) = list {
                        locale.lists.insert(key, list);
                    }
                }
                _ => {}
            }
        }
        Ok(locale)
    }

    /// The string for `key` in this language, else in English, else the key itself (a visible, harmless mistake).
    pub fn text<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings
            .get(key)
            .or_else(|| english().strings.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// Item `index` of the list `key` of exactly `len` items (12 months, 7 weekdays), from this language when its
    /// list has that length, else from English; `None` when neither has it.
    pub fn list_item(&self, key: &str, len: usize, index: usize) -> Option<&str> {
        [self, english()]
            .into_iter()
            .filter_map(|l| l.lists.get(key))
            .find(|list| list.len() == len)
            .and_then(|list| list.get(index))
            .map(String::as_str)
    }

    /// The keys of this language's strings and lists.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings
            .keys()
            .chain(self.lists.keys())
            .map(String::as_str)
    }
}

/// All embedded languages, parsed at first use. A file that does not parse is left out (its language then falls
/// back to English); the tests check that every file parses.
fn registry() -> &'static HashMap<&'static str, Locale> {
    static REGISTRY: OnceLock<HashMap<&'static str, Locale>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        files::LOCALE_FILES
            .iter()
            .filter_map(|(tag, json)| Locale::parse(tag, json).ok().map(|l| (*tag, l)))
            .collect()
    })
}

/// English, the fallback language.
pub fn english() -> &'static Locale {
    static EMPTY: OnceLock<Locale> = OnceLock::new();
    registry().get(FALLBACK_TAG).unwrap_or_else(|| {
        EMPTY.get_or_init(|| Locale {
            tag: FALLBACK_TAG.to_string(),
            ..Locale::default()
        })
    })
}

/// The tags of the embedded languages, sorted.
pub fn available() -> Vec<&'static str> {
    let mut tags: Vec<&'static str> = registry().keys().copied().collect();
    tags.sort_unstable();
    tags
}

/// The language for a recipient's locale: a BCP 47 tag (`fr-FR`), a POSIX one (`fr_CA.UTF-8`) or a bare language
/// (`FR`), in any case. Tries the whole tag, then drops subtags from the end (`pt-br-x` → `pt-br` → `pt`), then any
/// regional file of the same language (`pt` → `pt-br.json`); English when nothing matches.
pub fn locale_for(tag: &str) -> &'static Locale {
    pick(registry(), tag).unwrap_or_else(english)
}

fn pick<'a>(registry: &'a HashMap<&str, Locale>, tag: &str) -> Option<&'a Locale> {
    let normalised = normalise_tag(tag);
    let mut candidate = normalised.as_str();
    loop {
        if let Some(locale) = registry.get(candidate) {
            return Some(locale);
        }
        match candidate.rfind('-') {
            Some(dash) => candidate = &candidate[..dash],
            None => break,
        }
    }
    // `candidate` is now the primary language subtag.
    let prefix = format!("{candidate}-");
    let mut regional: Vec<(&&str, &Locale)> = registry
        .iter()
        .filter(|(t, _)| !candidate.is_empty() && t.starts_with(&prefix))
        .collect();
    regional.sort_by_key(|(t, _)| **t);
    regional.first().map(|(_, l)| *l)
}

/// Lower case, `_` read as `-`, a POSIX encoding or modifier (`.UTF-8`, `@euro`) dropped, blanks trimmed.
fn normalise_tag(tag: &str) -> String {
    let tag = tag.trim();
    let tag = tag.split(['.', '@']).next().unwrap_or_default();
    tag.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_file_parses_and_is_complete() {
        assert_eq!(
            files::LOCALE_FILES.len(),
            registry().len(),
            "a locale file does not parse"
        );
        let en = english();
        assert_eq!(en.tag, "en");
        assert!(en.keys().count() > 5);
        for (tag, json) in files::LOCALE_FILES {
            let locale = Locale::parse(tag, json).expect("parses");
            for key in en.keys() {
                assert!(locale.keys().any(|k| k == key), "{tag}.json lacks {key}");
            }
            assert_eq!(
                locale.lists.get("date.months").map(Vec::len),
                Some(12),
                "{tag}: 12 months"
            );
            assert_eq!(
                locale.lists.get("date.weekdays").map(Vec::len),
                Some(7),
                "{tag}: 7 weekdays"
            );
            // Every value that is not a list is a string.
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(json).unwrap();
            assert_eq!(
                map.len(),
                locale.keys().count(),
                "{tag}: a value is neither a string nor a string list"
            );
        }
    }

    #[test]
    fn french_and_english_are_there() {
        let tags = available();
        assert!(tags.contains(&"en") && tags.contains(&"fr"), "{tags:?}");
    }

    #[test]
    fn french_variants_pick_french() {
        for tag in [
            "fr",
            "fr-FR",
            "fr_CA",
            "FR",
            "fr-ca",
            " fr-BE ",
            "fr_FR.UTF-8",
            "fr_FR@euro",
            "fr-Latn-FR",
        ] {
            assert_eq!(locale_for(tag).tag, "fr", "{tag}");
        }
    }

    #[test]
    fn unknown_or_empty_is_english() {
        for tag in [
            "",
            "en",
            "en-GB",
            "EN_us",
            "de-DE",
            "zz",
            "-",
            "fr?",
            "x-klingon",
            "français",
        ] {
            assert_eq!(locale_for(tag).tag, "en", "{tag:?}");
        }
    }

    #[test]
    fn lookup_and_fallback() {
        let fr = locale_for("fr");
        assert_eq!(fr.text("button.open_session"), "Ouvrir la session");
        assert_eq!(english().text("button.open_session"), "Open the session");
        assert_eq!(fr.text("label.starts"), "Début");
        assert_eq!(fr.text("no.such.key"), "no.such.key");
        assert_eq!(fr.list_item("date.months", 12, 11), Some("déc."));
        assert_eq!(fr.list_item("date.weekdays", 7, 0), Some("lun."));
        assert_eq!(fr.list_item("date.months", 12, 12), None);
    }

    #[test]
    fn a_regional_file_serves_its_whole_language() {
        let registry: HashMap<&str, Locale> = [
            ("pt-br", "{}"),
            ("pt-pt", "{}"),
            ("de-de", "{}"),
            ("en", "{}"),
        ]
        .into_iter()
        .map(|(t, json)| (t, Locale::parse(t, json).unwrap()))
        .collect();
        let tag_of = |tag: &str| pick(&registry, tag).map(|l| l.tag.clone());
        assert_eq!(tag_of("pt-PT").as_deref(), Some("pt-pt"));
        assert_eq!(tag_of("pt").as_deref(), Some("pt-br"));
        assert_eq!(tag_of("pt-AO").as_deref(), Some("pt-br"));
        assert_eq!(tag_of("de_AT").as_deref(), Some("de-de"));
        assert_eq!(tag_of("EN-au").as_deref(), Some("en"));
        assert_eq!(tag_of("it"), None);
        assert_eq!(tag_of(""), None);
        assert_eq!(tag_of("-"), None);
    }

    #[test]
    fn a_partial_language_falls_back_to_english_per_key() {
        let partial = Locale::parse(
            "xx",
            r#"{"label.starts": "Start!", "date.months": ["only", "three", "months"], "n": 3}"#,
        )
        .unwrap();
        assert_eq!(partial.text("label.starts"), "Start!");
        assert_eq!(partial.text("label.ends"), "Ends");
        // A list of the wrong length is not used.
        assert_eq!(partial.list_item("date.months", 12, 0), Some("Jan"));
        assert!(Locale::parse("bad", "[1, 2]").is_err());
    }
}
