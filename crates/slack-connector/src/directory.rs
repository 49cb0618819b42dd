//! The map from learners' e-mail addresses to Slack members, kept in the connector's settings per workspace.
//!
//! Each entry is `member:T…:address` → `"U… STAMP"` (or `"- STAMP"` for an address Slack does not know), valid for
//! a configurable age. Large deliveries refresh the whole map with `users.list` (Tier 2, pages of up to 200 members)
//! instead of one `users.lookupByEmail` (Tier 3) per learner; a miss falls back to a lookup.

use crate::api::{Member, Slack, SlackError, Transport};
use crate::stored::{keys, normalise_email};
use connector_api::Settings;

/// How long an entry is trusted unless the `directory_max_age_secs` setting says otherwise.
pub const DEFAULT_MAX_AGE_SECS: i64 = 24 * 3600;
/// A delivery with at least this many unmapped recipients lists the directory instead of looking each one up.
pub const LIST_THRESHOLD: usize = 10;
/// Members asked per `users.list` page (Slack recommends no more than 200).
pub const PAGE_SIZE: u32 = 200;
/// Pages read at most in one refresh (200,000 members), so that a misbehaving cursor cannot loop forever.
pub const MAX_PAGES: usize = 1_000;

/// What the map says about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A reachable member.
    Member(String),
    /// Slack has no reachable member with this address.
    Absent,
    /// Not mapped, or mapped too long ago.
    Unknown,
}

/// The map for one workspace at one instant.
pub struct Directory<'s, S: Settings + ?Sized> {
    settings: &'s mut S,
    team: String,
    now: i64,
    max_age: i64,
}

impl<'s, S: Settings + ?Sized> Directory<'s, S> {
    /// The map of workspace `team` as of `now`.
    pub fn new(settings: &'s mut S, team: &str, now: i64) -> Self {
        let max_age = settings
            .get(keys::DIRECTORY_MAX_AGE)
            .and_then(|v| v.parse().ok())
            .filter(|v: &i64| *v >= 0)
            .unwrap_or(DEFAULT_MAX_AGE_SECS);
        Directory {
            settings,
            team: team.to_string(),
            now,
            max_age,
        }
    }

    fn key(&self, email: &str) -> String {
        format!("{}{}:{}", keys::MEMBER_PREFIX, self.team, email)
    }

    /// The entry for a (normalised) address.
    pub fn entry(&self, email: &str) -> Entry {
        let Some(value) = self.settings.get(&self.key(email)) else {
            return Entry::Unknown;
        };
        let Some((id, stamp)) = value.split_once(' ') else {
            return Entry::Unknown;
        };
        match stamp.parse::<i64>() {
            Ok(stamp) if self.now.saturating_sub(stamp) <= self.max_age => {
                if id == "-" {
                    Entry::Absent
                } else {
                    Entry::Member(id.to_string())
                }
            }
            _ => Entry::Unknown,
        }
    }

    fn record(&mut self, email: &str, member: Option<&str>) {
        let value = format!("{} {}", member.unwrap_or("-"), self.now);
        let key = self.key(email);
        // A full settings store only costs a later lookup.
        let _ = self.settings.set(&key, &value);
    }

    /// Whether the whole directory was listed within the max age.
    pub fn is_fresh(&self) -> bool {
        self.settings
            .get(&format!("{}{}", keys::DIRECTORY_SYNCED_PREFIX, self.team))
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|at| self.now.saturating_sub(at) <= self.max_age)
    }

    /// Lists the whole directory with `users.list` and records every reachable member with an address. Each page
    /// is recorded while the request for the next one is in flight; a listing that fails part-way keeps what it
    /// recorded.
    pub fn refresh<T: Transport + ?Sized>(
        &mut self,
        slack: &mut Slack<'_, T>,
        token: &str,
    ) -> Result<usize, SlackError> {
        let mut cursor: Option<String> = None;
        let mut mapped = 0;
        let mut unrecorded: Vec<Member> = Vec::new();
        for _ in 0..MAX_PAGES {
            // The previous page is recorded during the request, whatever its answer.
            let (members, next) =
                slack.users_list(token, cursor.as_deref(), PAGE_SIZE, &mut || {
                    mapped += self.record_members(&unrecorded);
                })?;
            unrecorded = members;
            match next {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => break,
            }
        }
        mapped += self.record_members(&unrecorded);
        let key = format!("{}{}", keys::DIRECTORY_SYNCED_PREFIX, self.team);
        let _ = self.settings.set(&key, &self.now.to_string());
        Ok(mapped)
    }

    /// Records the reachable members with an address; how many.
    fn record_members(&mut self, members: &[Member]) -> usize {
        let mut mapped = 0;
        for member in members.iter().filter(|m| m.is_reachable()) {
            if let Some(email) = member
                .email
                .as_deref()
                .map(normalise_email)
                .filter(|e| !e.is_empty())
            {
                self.record(&email, Some(&member.id));
                mapped += 1;
            }
        }
        mapped
    }

    /// The reachable member for an address: from the map, else `users.lookupByEmail` (and the answer is recorded).
    pub fn resolve<T: Transport + ?Sized>(
        &mut self,
        slack: &mut Slack<'_, T>,
        token: &str,
        email: &str,
    ) -> Result<Option<Member>, SlackError> {
        let email = normalise_email(email);
        if email.is_empty() {
            return Ok(None);
        }
        match self.entry(&email) {
            Entry::Member(id) => {
                return Ok(Some(Member {
                    id,
                    email: Some(email),
                    deleted: false,
                    is_bot: false,
                }));
            }
            Entry::Absent => return Ok(None),
            Entry::Unknown => {}
        }
        let found = slack
            .lookup_by_email(token, &email)?
            .filter(Member::is_reachable)
            .filter(|m| {
                m.email
                    .as_deref()
                    .map(normalise_email)
                    .is_none_or(|e| e == email)
            });
        self.record(&email, found.as_ref().map(|m| m.id.as_str()));
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connector_api::fakes::MemorySettings;
    use connector_api::{HttpRequest, HttpResponse, TransportError};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// What happened, in order: requests started and settings written.
    type Events = Rc<RefCell<Vec<String>>>;

    /// Settings that log their writes.
    struct Logged {
        inner: MemorySettings,
        events: Events,
    }

    impl Settings for Logged {
        fn get(&self, key: &str) -> Option<String> {
            self.inner.get(key)
        }
        fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
            self.events.borrow_mut().push(format!("set {key}"));
            self.inner.set(key, value)
        }
        fn remove(&mut self, key: &str) {
            self.inner.remove(key)
        }
        fn get_secret(&self, key: &str) -> Option<String> {
            self.inner.get_secret(key)
        }
        fn set_secret(&mut self, key: &str, value: &str) -> Result<(), String> {
            self.inner.set_secret(key, value)
        }
        fn remove_secret(&mut self, key: &str) {
            self.inner.remove_secret(key)
        }
    }

    /// A directory of `pages` pages of two members each (`a1@x`, `b1@x` on the first), answered as wasi:http does:
    /// the request starts, then the work meanwhile runs, then the answer comes. The page `fails` is answered 500.
    struct Pages {
        pages: usize,
        fails: Option<usize>,
        events: Events,
    }

    impl Transport for Pages {
        fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.send_overlapping(request, &mut || {})
        }
        fn send_overlapping(
            &mut self,
            request: HttpRequest,
            meanwhile: &mut dyn FnMut(),
        ) -> Result<HttpResponse, TransportError> {
            let page: usize = form_urlencoded::parse(&request.body)
                .find(|(k, _)| k == "cursor")
                .map_or(1, |(_, v)| v.parse().unwrap());
            self.events.borrow_mut().push(format!("request {page}"));
            meanwhile();
            if self.fails == Some(page) {
                return Ok(HttpResponse {
                    status: 500,
                    headers: vec![],
                    body: vec![],
                });
            }
            let member = |name: &str| serde_json::json!({"id": format!("U{name}{page}"), "profile": {"email": format!("{name}{page}@x")}});
            let next = if page < self.pages {
                (page + 1).to_string()
            } else {
                String::new()
            };
            let body = serde_json::json!({
                "ok": true,
                "members": [member("a"), member("b")],
                "response_metadata": {"next_cursor": next},
            });
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: body.to_string().into_bytes(),
            })
        }
    }

    /// Lists a directory of three pages (`fails` answered 500) into fresh settings: the settings, what happened
    /// and the listing's result.
    fn list_three_pages(fails: Option<usize>) -> (Logged, Events, Result<usize, SlackError>) {
        let events = Events::default();
        let mut settings = Logged {
            inner: MemorySettings::default(),
            events: events.clone(),
        };
        let mut transport = Pages {
            pages: 3,
            fails,
            events: events.clone(),
        };
        let listed = Directory::new(&mut settings, "T1", 100)
            .refresh(&mut Slack::new(&mut transport), "xoxb-1");
        (settings, events, listed)
    }

    #[test]
    fn each_page_is_recorded_while_the_next_one_is_asked_for() {
        let (mut settings, events, listed) = list_three_pages(None);
        assert_eq!(listed.unwrap(), 6);
        let set = |email: &str| format!("set {}T1:{email}", keys::MEMBER_PREFIX);
        assert_eq!(
            *events.borrow(),
            [
                "request 1".to_string(),
                "request 2".to_string(),
                set("a1@x"),
                set("b1@x"),
                "request 3".to_string(),
                set("a2@x"),
                set("b2@x"),
                set("a3@x"),
                set("b3@x"),
                format!("set {}T1", keys::DIRECTORY_SYNCED_PREFIX),
            ]
        );
        let directory = Directory::new(&mut settings, "T1", 100);
        assert_eq!(directory.entry("b3@x"), Entry::Member("Ub3".into()));
        assert!(directory.is_fresh());
    }

    #[test]
    fn a_listing_that_fails_part_way_keeps_the_pages_before_and_is_not_fresh() {
        let (mut settings, events, listed) = list_three_pages(Some(3));
        let failed = listed.unwrap_err();
        assert!(matches!(failed, SlackError::Http(500)), "{failed:?}");
        let directory = Directory::new(&mut settings, "T1", 100);
        assert_eq!(directory.entry("b2@x"), Entry::Member("Ub2".into()));
        assert_eq!(directory.entry("a3@x"), Entry::Unknown);
        assert!(!directory.is_fresh());
        assert_eq!(events.borrow().len(), 3 + 4);
    }
}
