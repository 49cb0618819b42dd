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

    /// Lists the whole directory with `users.list` and records every reachable member with an address.
    pub fn refresh<T: Transport + ?Sized>(
        &mut self,
        slack: &mut Slack<'_, T>,
        token: &str,
    ) -> Result<usize, SlackError> {
        let mut cursor: Option<String> = None;
        let mut mapped = 0;
        for _ in 0..MAX_PAGES {
            let (members, next) = slack.users_list(token, cursor.as_deref(), PAGE_SIZE)?;
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
            match next {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                _ => break,
            }
        }
        let key = format!("{}{}", keys::DIRECTORY_SYNCED_PREFIX, self.team);
        let _ = self.settings.set(&key, &self.now.to_string());
        Ok(mapped)
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
