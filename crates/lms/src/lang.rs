//! The languages the LMS speaks: its pages, and the texts it writes for learners (an invitation's subject line).
//! A user's BCP 47 locale chooses one through its chain: `fr-CA` → `fr` → English, the platform's fallback.

/// A language of the LMS's pages and texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English, the fallback of every chain.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// Every language, in the order a language switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The language of a BCP 47 locale (`fr-CA`, `fr_FR`, `FR`): its primary subtag if the LMS speaks it, else
    /// English.
    pub fn of_locale(locale: &str) -> Lang {
        Lang::spoken(locale).unwrap_or(Lang::En)
    }

    /// The first language of an HTTP `Accept-Language` value that the LMS speaks, by the client's order of
    /// preference; English when none.
    pub fn of_accept_language(header: &str) -> Lang {
        let mut ranges: Vec<(&str, f32)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
                (!tag.is_empty() && q > 0.0).then_some((tag, q))
            })
            .collect();
        // A stable sort keeps the client's order among equal weights.
        ranges.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranges
            .iter()
            .find_map(|(tag, _)| Lang::spoken(tag))
            .unwrap_or(Lang::En)
    }

    /// The language of a tag whose primary subtag the LMS speaks exactly, or `None`.
    fn spoken(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    /// The language's BCP 47 tag (`en`, `fr`), for `<html lang>` and for a user's locale.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's name in itself, as a language switch shows it.
    pub fn autonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    /// The text in this language, from its English and French forms.
    pub fn pick<'a>(self, en: &'a str, fr: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    /// The language a tag names exactly (`en`, `fr`), as a language switch posts it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locale_falls_back_along_its_chain_to_english() {
        assert_eq!(Lang::of_locale("fr-CA"), Lang::Fr);
        assert_eq!(Lang::of_locale("fr_FR"), Lang::Fr);
        assert_eq!(Lang::of_locale("FR"), Lang::Fr);
        assert_eq!(Lang::of_locale("fr"), Lang::Fr);
        assert_eq!(Lang::of_locale("en-GB"), Lang::En);
        assert_eq!(Lang::of_locale("de-DE"), Lang::En);
        assert_eq!(Lang::of_locale(""), Lang::En);
        assert_eq!(Lang::of_locale("french"), Lang::En);
    }

    #[test]
    fn accept_language_takes_the_client_s_first_spoken_language() {
        assert_eq!(
            Lang::of_accept_language("fr-CA,fr;q=0.9,en;q=0.8"),
            Lang::Fr
        );
        assert_eq!(
            Lang::of_accept_language("en-US,en;q=0.9,fr;q=0.8"),
            Lang::En
        );
        assert_eq!(Lang::of_accept_language("de-DE,fr;q=0.5"), Lang::Fr);
        assert_eq!(Lang::of_accept_language("en;q=0.2,fr;q=0.9"), Lang::Fr);
        assert_eq!(Lang::of_accept_language("fr;q=0"), Lang::En);
        assert_eq!(Lang::of_accept_language(""), Lang::En);
        assert_eq!(Lang::of_accept_language("*"), Lang::En);
    }

    #[test]
    fn tags_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_tag(l.tag()), Some(l));
            assert_eq!(Lang::of_locale(l.tag()), l);
        }
        assert_eq!(Lang::from_tag("de"), None);
    }
}
