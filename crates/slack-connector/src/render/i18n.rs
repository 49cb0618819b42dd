//! The connector's own words in the recipient's language.
//!
//! Each language is one file, `crates/slack-connector/locales/<tag>.json`: a flat JSON object whose values are strings, or arrays of
//! strings (month and weekday names). `build.rs` reads every file of the folder at build time and embeds each language
//! as a [`Locale`] of sorted tables, so adding a language needs no code change, and a component instance (fresh for
//! every call) finds its words in place instead of parsing JSON first. A regional file (`fr-ca.json`) holds only what
//! differs from its language: a key it lacks comes from the language's file (`fr.json`), then from English; an unknown
//! language is English.

mod files {
    use super::Locale;
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// The language used when the recipient's is unknown, and for any key a language lacks.
pub const FALLBACK_TAG: &str = "en";

/// The words of one language: tables sorted by key.
#[derive(Debug)]
pub struct Locale {
    /// The language tag, lower case, from the file name (`en`, `fr`, `pt-br`).
    pub tag: &'static str,
    strings: &'static [(&'static str, &'static str)],
    lists: &'static [(&'static str, &'static [&'static str])],
}

impl Locale {
    /// A language embedded by `build.rs`: its tables sorted by key.
    const fn embedded(
        tag: &'static str,
        strings: &'static [(&'static str, &'static str)],
        lists: &'static [(&'static str, &'static [&'static str])],
    ) -> Self {
        Locale {
            tag,
            strings,
            lists,
        }
    }

    /// This language's own string for `key`, if its file has one.
    fn own_text(&self, key: &str) -> Option<&'static str> {
        let i = self.strings.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        Some(self.strings[i].1)
    }

    /// This language's own list `key`, if its file has one.
    fn own_list(&self, key: &str) -> Option<&'static [&'static str]> {
        let i = self.lists.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        Some(self.lists[i].1)
    }

    /// The string for `key` in this language, else in the next one of its chain (`fr-ca` → `fr` → `en`, see
    /// [`chain`]), else the key itself (a visible, harmless mistake).
    pub fn text<'a>(&self, key: &'a str) -> &'a str {
        chain(files::LOCALES, self)
            .find_map(|l| l.own_text(key))
            .unwrap_or(key)
    }

    /// Item `index` of the list `key` of exactly `len` items (12 months, 7 weekdays), from the first language of
    /// this one's chain whose list has that length; `None` when none has it.
    pub fn list_item(&self, key: &str, len: usize, index: usize) -> Option<&'static str> {
        chain(files::LOCALES, self)
            .filter_map(|l| l.own_list(key))
            .find(|list| list.len() == len)
            .and_then(|list| list.get(index).copied())
    }

    /// The keys of this language's strings and lists.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + use<> {
        let (strings, lists) = (self.strings, self.lists);
        strings
            .iter()
            .map(|(k, _)| *k)
            .chain(lists.iter().map(|(k, _)| *k))
    }
}

/// The language tagged `tag` in `registry` (sorted by tag).
fn find<'a>(registry: &'a [Locale], tag: &str) -> Option<&'a Locale> {
    let i = registry.binary_search_by(|l| l.tag.cmp(tag)).ok()?;
    Some(&registry[i])
}

/// Where `locale`'s words come from, most specific first: itself, the languages of `registry` its tag narrows
/// (`fr-ca` → `fr`; `pt-br-x` → `pt-br` → `pt`), then English.
fn chain<'a>(registry: &'a [Locale], locale: &'a Locale) -> impl Iterator<Item = &'a Locale> {
    let narrower = std::iter::successors(Some(locale.tag), |tag| {
        tag.rfind('-').map(|dash| &tag[..dash])
    })
    .skip(1)
    .filter_map(move |tag| find(registry, tag));
    let english = (locale.tag != FALLBACK_TAG)
        .then(|| find(registry, FALLBACK_TAG))
        .flatten();
    std::iter::once(locale).chain(narrower).chain(english)
}

/// English, the fallback language.
pub fn english() -> &'static Locale {
    static EMPTY: Locale = Locale::embedded(FALLBACK_TAG, &[], &[]);
    find(files::LOCALES, FALLBACK_TAG).unwrap_or(&EMPTY)
}

/// The tags of the embedded languages, sorted.
pub fn available() -> Vec<&'static str> {
    files::LOCALES.iter().map(|l| l.tag).collect()
}

/// The language for a recipient's locale: a BCP 47 tag (`fr-FR`), a POSIX one (`fr_CA.UTF-8`) or a bare language
/// (`FR`), in any case. Tries the whole tag, then drops subtags from the end (`pt-br-x` → `pt-br` → `pt`), then any
/// regional file of the same language (`pt` → `pt-br.json`); English when nothing matches.
pub fn locale_for(tag: &str) -> &'static Locale {
    pick(files::LOCALES, tag).unwrap_or_else(english)
}

fn pick<'a>(registry: &'a [Locale], tag: &str) -> Option<&'a Locale> {
    let normalised = normalise_tag(tag);
    let mut candidate = normalised.as_str();
    loop {
        if let Some(locale) = find(registry, candidate) {
            return Some(locale);
        }
        match candidate.rfind('-') {
            Some(dash) => candidate = &candidate[..dash],
            None => break,
        }
    }
    // `candidate` is now the primary language subtag; the registry is sorted, so the first regional file is the
    // first match.
    let prefix = format!("{candidate}-");
    registry
        .iter()
        .find(|l| !candidate.is_empty() && l.tag.starts_with(&prefix))
}

/// Lower case, `_` read as `-`, a POSIX encoding or modifier (`.UTF-8`, `@euro`) dropped, blanks trimmed.
fn normalise_tag(tag: &str) -> String {
    let tag = tag.trim();
    let tag = tag.split(['.', '@']).next().unwrap_or_default();
    tag.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
impl Locale {
    /// A language from JSON text, as `build.rs` reads a file, values that are neither strings nor lists of strings
    /// left out. Its tables are leaked: for tests only.
    pub fn parse(tag: &str, json: &str) -> Result<Self, serde_json::Error> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)?;
        let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
        let mut strings = Vec::new();
        let mut lists = Vec::new();
        for (key, value) in &map {
            match value {
                serde_json::Value::String(s) => strings.push((leak(key), leak(s))),
                serde_json::Value::Array(items) => {
                    let list: Option<Vec<&'static str>> =
                        items.iter().map(|v| v.as_str().map(leak)).collect();
                    if let Some(list) = list {
                        lists.push((leak(key), &*Box::leak(list.into_boxed_slice())));
                    }
                }
                _ => {}
            }
        }
        strings.sort_unstable();
        lists.sort_unstable();
        Ok(Locale::embedded(
            leak(tag),
            Box::leak(strings.into_boxed_slice()),
            Box::leak(lists.into_boxed_slice()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry of languages from JSON texts, sorted by tag as the embedded one is.
    fn registry_of(files: &[(&str, &str)]) -> Vec<Locale> {
        let mut registry: Vec<Locale> = files
            .iter()
            .map(|(tag, json)| Locale::parse(tag, json).unwrap())
            .collect();
        registry.sort_by_key(|l| l.tag);
        registry
    }

    #[test]
    fn every_language_is_complete() {
        assert!(
            files::LOCALES.windows(2).all(|w| w[0].tag < w[1].tag),
            "sorted by tag"
        );
        let en = english();
        assert_eq!(en.tag, "en");
        assert!(en.keys().count() > 5);
        for locale in files::LOCALES {
            let tag = locale.tag;
            assert!(
                locale.strings.windows(2).all(|w| w[0].0 < w[1].0)
                    && locale.lists.windows(2).all(|w| w[0].0 < w[1].0),
                "{tag}: tables sorted by key"
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
                    find(files::LOCALES, language).is_some(),
                    "{tag}.json without {language}.json"
                );
                continue;
            }
            for key in en.keys() {
                assert!(locale.keys().any(|k| k == key), "{tag}.json lacks {key}");
            }
            assert_eq!(
                locale.own_list("date.months").map(<[_]>::len),
                Some(12),
                "{tag}: 12 months"
            );
            assert_eq!(
                locale.own_list("date.weekdays").map(<[_]>::len),
                Some(7),
                "{tag}: 7 weekdays"
            );
        }
    }

    #[test]
    fn the_chain_goes_from_the_region_to_the_language_to_english() {
        let registry = registry_of(&[
            ("fr-ca", r#"{"a": "fr-ca a"}"#),
            ("fr", r#"{"a": "fr a", "b": "fr b"}"#),
            ("en", r#"{"a": "en a", "b": "en b", "c": "en c"}"#),
        ]);
        let fr_ca = pick(&registry, "fr-CA").unwrap();
        let tags: Vec<&str> = chain(&registry, fr_ca).map(|l| l.tag).collect();
        assert_eq!(tags, ["fr-ca", "fr", "en"]);
        let word = |key: &str| chain(&registry, fr_ca).find_map(|l| l.own_text(key));
        assert_eq!(word("a"), Some("fr-ca a"));
        assert_eq!(word("b"), Some("fr b"));
        assert_eq!(word("c"), Some("en c"));
        assert_eq!(word("d"), None);
        let en = pick(&registry, "en-US").unwrap();
        assert_eq!(chain(&registry, en).count(), 1);
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
        let registry = registry_of(&[
            ("pt-br", "{}"),
            ("pt-pt", "{}"),
            ("de-de", "{}"),
            ("en", "{}"),
        ]);
        let tag_of = |tag: &str| pick(&registry, tag).map(|l| l.tag);
        assert_eq!(tag_of("pt-PT"), Some("pt-pt"));
        assert_eq!(tag_of("pt"), Some("pt-br"));
        assert_eq!(tag_of("pt-AO"), Some("pt-br"));
        assert_eq!(tag_of("de_AT"), Some("de-de"));
        assert_eq!(tag_of("EN-au"), Some("en"));
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
