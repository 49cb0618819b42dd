//! The connector's own words in the recipient's language.
//!
//! Each language is one file, `crates/slack-connector/locales/<tag>.json`: a flat JSON object whose values are strings, or arrays of
//! strings (month and weekday names). `build.rs` embeds every file of the folder, so adding a language needs no code
//! change. The files are parsed once, at first use. A regional file (`fr-ca.json`) holds only what differs from its
//! language: a key it lacks comes from the language's file (`fr.json`), then from English; an unknown language is
//! English.

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

    /// The string for `key` in this language, else in the next one of its chain (`fr-ca` → `fr` → `en`, see
    /// [`chain`]), else the key itself (a visible, harmless mistake).
    pub fn text<'a>(&'a self, key: &'a str) -> &'a str {
        chain(registry(), self)
            .into_iter()
            .find_map(|l| l.strings.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// Item `index` of the list `key` of exactly `len` items (12 months, 7 weekdays), from the first language of
    /// this one's chain whose list has that length; `None` when none has it.
    pub fn list_item(&self, key: &str, len: usize, index: usize) -> Option<&str> {
        chain(registry(), self)
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

/// Where `locale`'s words come from, most specific first: itself, the languages of `registry` its tag narrows
/// (`fr-ca` → `fr`; `pt-br-x` → `pt-br` → `pt`), then English.
fn chain<'a>(registry: &'a HashMap<&str, Locale>, locale: &'a Locale) -> Vec<&'a Locale> {
    let mut chain = vec![locale];
    let mut tag = locale.tag.as_str();
    while let Some(dash) = tag.rfind('-') {
        tag = &tag[..dash];
        chain.extend(registry.get(tag));
    }
    if locale.tag != FALLBACK_TAG {
        chain.extend(registry.get(FALLBACK_TAG));
    }
    chain
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
            // Every value that is not a list is a string.
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(json).unwrap();
            assert_eq!(
                map.len(),
                locale.keys().count(),
                "{tag}: a value is neither a string nor a string list"
            );
            for key in locale.keys() {
                assert!(
                    en.keys().any(|k| k == key),
                    "{tag}.json has {key}, which en.json lacks"
                );
            }
            if let Some((language, _)) = tag.split_once('-') {
                // A regional file completes its language's file.
                assert!(
                    registry().contains_key(language),
                    "{tag}.json without {language}.json"
                );
                continue;
            }
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
        }
    }

    #[test]
    fn the_chain_goes_from_the_region_to_the_language_to_english() {
        let registry: HashMap<&str, Locale> = [
            ("fr-ca", r#"{"a": "fr-ca a"}"#),
            ("fr", r#"{"a": "fr a", "b": "fr b"}"#),
            ("en", r#"{"a": "en a", "b": "en b", "c": "en c"}"#),
        ]
        .into_iter()
        .map(|(t, json)| (t, Locale::parse(t, json).unwrap()))
        .collect();
        let fr_ca = pick(&registry, "fr-CA").unwrap();
        let tags: Vec<&str> = chain(&registry, fr_ca)
            .iter()
            .map(|l| l.tag.as_str())
            .collect();
        assert_eq!(tags, ["fr-ca", "fr", "en"]);
        let word = |key: &str| {
            chain(&registry, fr_ca)
                .into_iter()
                .find_map(|l| l.strings.get(key))
                .cloned()
        };
        assert_eq!(word("a").as_deref(), Some("fr-ca a"));
        assert_eq!(word("b").as_deref(), Some("fr b"));
        assert_eq!(word("c").as_deref(), Some("en c"));
        assert_eq!(word("d"), None);
        let en = pick(&registry, "en-US").unwrap();
        assert_eq!(chain(&registry, en).len(), 1);
    }

    #[test]
    fn canadian_french_has_its_own_times_and_french_words() {
        let fr_ca = locale_for("fr-CA");
        assert_eq!(fr_ca.tag, "fr-ca");
        // Its own file: times as "9 h 00".
        assert_eq!(
            fr_ca.text("date.pattern"),
            "{weekday} {day} {month} {year} à {h} h {mm}"
        );
        // French's file for what it does not change.
        assert_eq!(fr_ca.text("button.open_session"), "Ouvrir la session");
        assert_eq!(fr_ca.list_item("date.months", 12, 11), Some("déc."));
        // English for what French lacks (nothing today: a made-up regional file shows the last step).
        let partial = Locale::parse("fr-ca", "{}").unwrap();
        assert_eq!(partial.text("label.starts"), "Début");
        assert_eq!(partial.text("no.such.key"), "no.such.key");
        // Other French regions read France's French.
        assert_eq!(locale_for("fr-FR").tag, "fr");
        assert_eq!(locale_for("fr_BE").tag, "fr");
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
            "FR",
            " fr-BE ",
            "fr_FR.UTF-8",
            "fr_FR@euro",
            "fr-Latn-FR",
        ] {
            assert_eq!(locale_for(tag).tag, "fr", "{tag}");
        }
        for tag in ["fr-CA", "fr_ca", "FR-CA.UTF-8"] {
            assert_eq!(locale_for(tag).tag, "fr-ca", "{tag}");
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
