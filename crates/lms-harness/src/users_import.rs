//! `lms-harness users import`: a platform's users from a CSV file (a header row naming the columns `id`, `email`,
//! `name`, `locale`, `time_zone`, in any order). Every row is checked before anything is written; one bad row and
//! nothing is imported, each bad row reported by its line with why. The users are then written in one transaction:
//! new ones as learners, existing ones (same id) updated, keeping their role. A data folder that does not exist yet
//! is created and seeded as `serve` seeds it.

use crate::connector::{DataDir, default_grants};
use crate::seed;
use crate::web::PLATFORM;
use anyhow::{Context, Result, bail};
use lms::db::{Db, Role};
use lms::sql::{OptionalExtension, params};
use slack_sim::SimConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `lms-harness users …`.
#[derive(Debug, clap::Subcommand)]
pub enum UsersCommand {
    /// Imports users from a CSV file with a header row: id, email, name, locale, time_zone. Nothing is imported
    /// when a row is bad (each is reported by line); users with an existing id are updated.
    Import(ImportArgs),
}

/// `lms-harness users import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The data folder (`lms.sqlite3`, `secrets.key`); created and seeded as `serve` seeds it when absent.
    #[arg(long)]
    pub data: PathBuf,
    /// The platform the users belong to.
    #[arg(long, default_value = PLATFORM)]
    pub platform: String,
    /// The CSV file.
    pub file: PathBuf,
}

/// A column of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Email,
    Name,
    Locale,
    TimeZone,
}

impl Column {
    const ALL: [Column; 5] = [
        Column::Id,
        Column::Email,
        Column::Name,
        Column::Locale,
        Column::TimeZone,
    ];

    /// The column's name in the header row.
    fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Email => "email",
            Column::Name => "name",
            Column::Locale => "locale",
            Column::TimeZone => "time_zone",
        }
    }

    /// The column a header names: its name in any letter case, with a space or `-` for `_` (`Time zone`).
    fn named(header: &str) -> Option<Column> {
        let header = header.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Column::ALL
            .into_iter()
            .find(|c| c.name() == header || (*c == Column::Email && header == "e_mail"))
    }
}

/// A user as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    /// The LMS id.
    pub id: String,
    /// The e-mail address.
    pub email: String,
    /// The name shown.
    pub name: String,
    /// A BCP 47 language tag.
    pub locale: String,
    /// An IANA time zone.
    pub time_zone: String,
}

/// A row the import refuses: its line in the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    /// Every problem found in the row.
    pub why: Vec<String>,
}

/// The file has bad rows: nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRows {
    /// The file.
    pub file: PathBuf,
    /// The bad rows, in file order.
    pub rows: Vec<BadRow>,
}

impl std::fmt::Display for BadRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} bad row(s), nothing imported:",
            self.file.display(),
            self.rows.len()
        )?;
        for row in &self.rows {
            write!(f, "\n  line {}: {}", row.line, row.why.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for BadRows {}

/// Reads and checks every row of `file`; any bad row refuses the whole file with [`BadRows`].
pub fn read(file: &Path) -> Result<Vec<ImportedUser>> {
    let refuse = |rows| BadRows {
        file: file.to_path_buf(),
        rows,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {}", file.display()))?
        .clone();
    let columns = columns(&headers).map_err(|why| refuse(vec![BadRow { line: 1, why }]))?;
    let mut users = Vec::new();
    let mut bad = Vec::new();
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("reading {}", file.display()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |c: Column| {
            columns
                .iter()
                .position(|x| *x == Some(c))
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or("")
                .to_string()
        };
        let user = ImportedUser {
            id: field(Column::Id),
            email: field(Column::Email),
            name: field(Column::Name),
            locale: field(Column::Locale),
            time_zone: field(Column::TimeZone),
        };
        let mut why = problems(&user);
        if !user.id.is_empty() {
            match first_line_of.get(&user.id) {
                Some(first) => why.push(format!(
                    "duplicate id `{}` (first on line {first})",
                    user.id
                )),
                None => {
                    first_line_of.insert(user.id.clone(), line);
                }
            }
        }
        if record.len() > headers.len() {
            why.push(format!(
                "{} fields where the header has {}",
                record.len(),
                headers.len()
            ));
        }
        if why.is_empty() {
            users.push(user);
        } else {
            bad.push(BadRow { line, why });
        }
    }
    if bad.is_empty() {
        Ok(users)
    } else {
        Err(refuse(bad).into())
    }
}

/// Which column each header field is; refused when a column is unknown, repeated or missing.
fn columns(headers: &csv::StringRecord) -> Result<Vec<Option<Column>>, Vec<String>> {
    let expected = Column::ALL.map(Column::name).join(", ");
    let mut why = Vec::new();
    let columns: Vec<Option<Column>> = headers.iter().map(Column::named).collect();
    for (header, column) in headers.iter().zip(&columns) {
        if column.is_none() {
            why.push(format!(
                "unknown column `{header}` (the columns are {expected})"
            ));
        }
    }
    for c in Column::ALL {
        match columns.iter().filter(|x| **x == Some(c)).count() {
            0 => why.push(format!(
                "no column `{}` (the columns are {expected})",
                c.name()
            )),
            1 => {}
            _ => why.push(format!("the column `{}` appears twice", c.name())),
        }
    }
    if why.is_empty() {
        Ok(columns)
    } else {
        Err(why)
    }
}

/// What is wrong with a user's fields.
fn problems(u: &ImportedUser) -> Vec<String> {
    let mut why = Vec::new();
    for (c, value) in [
        (Column::Id, &u.id),
        (Column::Email, &u.email),
        (Column::Name, &u.name),
        (Column::Locale, &u.locale),
        (Column::TimeZone, &u.time_zone),
    ] {
        if value.is_empty() {
            why.push(format!("missing field `{}`", c.name()));
        }
    }
    if !u.email.is_empty() && !is_email(&u.email) {
        why.push(format!("bad e-mail address `{}`", u.email));
    }
    if !u.locale.is_empty() && !is_language_tag(&u.locale) {
        why.push(format!(
            "bad locale `{}` (a BCP 47 language tag, such as fr-FR)",
            u.locale
        ));
    }
    if !u.time_zone.is_empty() && jiff::tz::TimeZone::get(&u.time_zone).is_err() {
        why.push(format!(
            "unknown time zone `{}` (an IANA time zone, such as Europe/Paris)",
            u.time_zone
        ));
    }
    why
}

/// An address `local@domain`: no spaces or controls, one `@`, a domain of dot-separated labels (letters, digits,
/// `-`) with at least one dot, at most 254 bytes.
fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    address.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains(['@', '"', '(', ')', ',', ':', ';', '<', '>', '[', ']', '\\'])
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && domain.split('.').all(label_ok)
}

/// A BCP 47 language tag as ICU reads it, written with `-` (not `_`), whose language is an ISO 639 code of two or
/// three letters (the syntax also allows five to eight, which no language has).
fn is_language_tag(tag: &str) -> bool {
    let language = tag.split('-').next().unwrap_or("");
    !tag.contains('_')
        && (2..=3).contains(&language.len())
        && icu_locale_core::Locale::try_from_str(tag).is_ok()
}

/// How many users an import added and updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// New users (learners).
    pub added: usize,
    /// Users with an existing id, updated.
    pub updated: usize,
}

/// Writes `users` to `platform_id` in one transaction: new ones as learners, existing ones updated (their role
/// kept).
pub fn import(db: &Db, platform_id: &str, users: &[ImportedUser]) -> Result<Counts> {
    let mut conn = db.conn();
    let tx = conn.write()?;
    let mut counts = Counts::default();
    {
        let mut exists = tx.prepare("SELECT 1 FROM users WHERE platform_id = ?1 AND id = ?2")?;
        let mut write = tx.prepare(
            "INSERT INTO users (platform_id, id, email, display_name, locale, time_zone, role)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (platform_id, id) DO UPDATE SET email = ?3, display_name = ?4, locale = ?5,
                 time_zone = ?6",
        )?;
        for u in users {
            let known: Option<i64> = exists
                .query_row(params![platform_id, u.id], |r| r.get(0))
                .optional()?;
            write.execute(params![
                platform_id,
                u.id,
                u.email,
                u.name,
                u.locale,
                u.time_zone,
                Role::Learner
            ])?;
            if known.is_some() {
                counts.updated += 1;
            } else {
                counts.added += 1;
            }
        }
    }
    tx.commit()?;
    Ok(counts)
}

/// Runs `lms-harness users …`.
pub fn command(command: UsersCommand) -> Result<()> {
    let UsersCommand::Import(args) = command;
    let users = read(&args.file)?;
    let new_folder = !DataDir::has_database(&args.data);
    if new_folder && args.platform != PLATFORM {
        bail!(
            "{} holds no LMS yet: a new data folder is seeded with the demo platform `{PLATFORM}` only, so \
             --platform {} does not exist there",
            args.data.display(),
            args.platform
        );
    }
    let db = DataDir::open_db(&args.data, true)?;
    if new_folder {
        seed::site(
            &db,
            &default_grants().connector,
            PLATFORM,
            &SimConfig::demo(),
            seed::DEFAULT_SITE,
        )?;
        eprintln!(
            "{}: a new data folder, seeded as serve seeds it (platform {PLATFORM})",
            args.data.display()
        );
    } else if db.platform(&args.platform)?.is_none() {
        bail!(
            "there is no platform `{}` in {}",
            args.platform,
            args.data.display()
        );
    }
    let counts = import(&db, &args.platform, &users)?;
    println!(
        "Imported {} users into platform {}: {} new, {} updated.",
        users.len(),
        args.platform,
        counts.added,
        counts.updated
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_tags_and_columns_are_checked() {
        for good in ["a@b.co", "Bob.Smith@Example.com", "x+y@mail.example.org"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b..co", "a@-b.co", "a@b@c.de",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        for good in ["fr", "fr-FR", "en-US", "zh-Hant-TW", "es-419"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "fr_FR", "english", "e", "fr-", "123"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert_eq!(Column::named(" Time zone"), Some(Column::TimeZone));
        assert_eq!(Column::named("E-mail"), Some(Column::Email));
        assert_eq!(Column::named("role"), None);
    }
}
