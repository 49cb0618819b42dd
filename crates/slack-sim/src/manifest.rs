//! App manifests (the JSON form) as `apps.manifest.validate` and `apps.manifest.create` read them: the keys of
//! Slack's official v1 schema (`slackapi/manifest-schema`, `manifest.schema.1.0.0.json`) that a classic bot uses,
//! with their types and limits, an unknown key refused as the schema's `additionalProperties: false` refuses it;
//! Slack's documented rules beyond the schema; and the app settings a valid manifest gives.
//!
//! The schema's keys of the next-generation platform (`functions`, `workflows`, `datastores`, …) and the classic
//! keys no test needs yet (`shortcuts`, `slash_commands`, `unfurl_domains`, …) are refused as unknown: the
//! simulation could not behave by them. The messages are the JSON Schema validator's (Slack validates with one);
//! Slack's exact wording of a schema error is not documented, only that of the rules beyond it.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::scopes::KNOWN_SCOPES;

/// One problem of a manifest, as Slack lists it in `errors`: what is wrong, and where (a JSON Pointer, RFC 6901,
/// into the manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestError {
    /// What is wrong.
    pub message: String,
    /// Where: `/settings/event_subscriptions`.
    pub pointer: String,
}

/// What a value must be.
enum Shape {
    /// An object with these keys and no other.
    Object(&'static [Key]),
    /// A string of `min..=max` characters.
    Text {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// A URL: `^https?://`, at most 3,500 characters (the schema's request URLs).
    Url,
    /// A colour, `#` and 3 or 6 hex digits.
    Color,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// A list of distinct strings.
    List {
        /// Most items.
        max_items: usize,
        /// Most characters of an item.
        item_max: usize,
    },
}

/// A key of an object.
struct Key {
    /// Its name.
    name: &'static str,
    /// Its value's shape.
    shape: Shape,
    /// Whether the object must have it.
    required: bool,
}

/// An optional key.
const fn opt(name: &'static str, shape: Shape) -> Key {
    Key {
        name,
        shape,
        required: false,
    }
}

/// A required key.
const fn req(name: &'static str, shape: Shape) -> Key {
    Key {
        name,
        shape,
        required: true,
    }
}

/// `display_information`. The schema says `long_description` is 175..4000 characters (the docs: 174).
const DISPLAY: &[Key] = &[
    req("name", Shape::Text { min: 1, max: 35 }),
    opt("description", Shape::Text { min: 1, max: 140 }),
    opt(
        "long_description",
        Shape::Text {
            min: 175,
            max: 4000,
        },
    ),
    opt("background_color", Shape::Color),
];

/// `features.app_home`.
const APP_HOME: &[Key] = &[
    opt("home_tab_enabled", Shape::Bool),
    opt("messages_tab_enabled", Shape::Bool),
    opt("messages_tab_read_only_enabled", Shape::Bool),
];

/// `features.bot_user`.
const BOT_USER: &[Key] = &[
    req("display_name", Shape::Text { min: 1, max: 80 }),
    opt("always_online", Shape::Bool),
];

/// `features`.
const FEATURES: &[Key] = &[
    opt("app_home", Shape::Object(APP_HOME)),
    opt("bot_user", Shape::Object(BOT_USER)),
];

/// A scope list: at most 255 scopes of at most 50 characters.
const SCOPE_LIST: Shape = Shape::List {
    max_items: 255,
    item_max: 50,
};

/// `oauth_config.scopes`.
const SCOPES: &[Key] = &[opt("bot", SCOPE_LIST), opt("user", SCOPE_LIST)];

/// `oauth_config`.
const OAUTH: &[Key] = &[
    opt(
        "redirect_urls",
        Shape::List {
            max_items: 1000,
            item_max: 2500,
        },
    ),
    opt("scopes", Shape::Object(SCOPES)),
];

/// An event list: at most 100 events of at most 50 characters.
const EVENT_LIST: Shape = Shape::List {
    max_items: 100,
    item_max: 50,
};

/// `settings.event_subscriptions`.
const EVENTS: &[Key] = &[
    opt("request_url", Shape::Url),
    opt("bot_events", EVENT_LIST),
    opt("user_events", EVENT_LIST),
];

/// `settings.interactivity`.
const INTERACTIVITY: &[Key] = &[
    req("is_enabled", Shape::Bool),
    opt("request_url", Shape::Url),
    opt("message_menu_options_url", Shape::Url),
];

/// `settings`.
const SETTINGS: &[Key] = &[
    opt("event_subscriptions", Shape::Object(EVENTS)),
    opt("interactivity", Shape::Object(INTERACTIVITY)),
    opt("org_deploy_enabled", Shape::Bool),
    opt("socket_mode_enabled", Shape::Bool),
    opt("token_rotation_enabled", Shape::Bool),
    opt("is_hosted", Shape::Bool),
];

/// `_metadata`.
const METADATA: &[Key] = &[
    opt("major_version", Shape::Integer),
    opt("minor_version", Shape::Integer),
];

/// The manifest: only `display_information` is required.
const MANIFEST: &[Key] = &[
    opt("$schema", Shape::Text { min: 0, max: 2500 }),
    opt("_metadata", Shape::Object(METADATA)),
    req("display_information", Shape::Object(DISPLAY)),
    opt("features", Shape::Object(FEATURES)),
    opt("oauth_config", Shape::Object(OAUTH)),
    opt("settings", Shape::Object(SETTINGS)),
];

/// `pointer` with the key `name` added, escaped as RFC 6901 says (`~` as `~0`, `/` as `~1`).
fn child(pointer: &str, name: &str) -> String {
    format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"))
}

/// Checks `v` against `shape`, adding what is wrong at `pointer` to `errors`.
fn check(v: &Value, shape: &Shape, pointer: &str, errors: &mut Vec<ManifestError>) {
    let mut fail = |message: String| {
        errors.push(ManifestError {
            message,
            pointer: pointer.to_string(),
        })
    };
    match (shape, v) {
        (Shape::Object(keys), Value::Object(m)) => check_object(m, keys, pointer, errors),
        (Shape::Object(_), _) => fail("must be object".into()),
        (Shape::Text { min, max }, Value::String(s)) => {
            let n = s.chars().count();
            if n < *min {
                fail(format!("must NOT have fewer than {min} characters"));
            } else if n > *max {
                fail(format!("must NOT have more than {max} characters"));
            }
        }
        (Shape::Url, Value::String(s)) => {
            if !(s.starts_with("https://") || s.starts_with("http://")) {
                fail("must match pattern \"^https?://\"".into());
            } else if s.chars().count() > 3500 {
                fail("must NOT have more than 3500 characters".into());
            }
        }
        (Shape::Color, Value::String(s)) => {
            let hex = s.strip_prefix('#').unwrap_or("");
            let ok = s.starts_with('#')
                && matches!(hex.len(), 3 | 6)
                && hex.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                fail("must match pattern \"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$\"".into());
            }
        }
        (Shape::Text { .. } | Shape::Url | Shape::Color, _) => fail("must be string".into()),
        (Shape::Bool, Value::Bool(_)) => {}
        (Shape::Bool, _) => fail("must be boolean".into()),
        (Shape::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        (Shape::Integer, _) => fail("must be integer".into()),
        (
            Shape::List {
                max_items,
                item_max,
            },
            Value::Array(items),
        ) => {
            if items.len() > *max_items {
                fail(format!("must NOT have more than {max_items} items"));
            }
            let mut seen = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let at = child(pointer, &i.to_string());
                let text = Shape::Text {
                    min: 0,
                    max: *item_max,
                };
                check(item, &text, &at, errors);
                if seen.contains(&item) {
                    errors.push(ManifestError {
                        message: "must NOT have duplicate items".into(),
                        pointer: at,
                    });
                }
                seen.push(item);
            }
        }
        (Shape::List { .. }, _) => fail("must be array".into()),
    }
}

/// Checks an object's keys: the required ones present, no unknown one (pointed at itself), each known one's value.
fn check_object(
    m: &Map<String, Value>,
    keys: &[Key],
    pointer: &str,
    errors: &mut Vec<ManifestError>,
) {
    for key in keys.iter().filter(|k| k.required) {
        if !m.contains_key(key.name) {
            errors.push(ManifestError {
                message: format!("must have required property '{}'", key.name),
                pointer: pointer.to_string(),
            });
        }
    }
    for (name, v) in m {
        let at = child(pointer, name);
        match keys.iter().find(|k| k.name == name) {
            Some(key) => check(v, &key.shape, &at, errors),
            None => errors.push(ManifestError {
                message: format!("must NOT have additional properties: '{name}'"),
                pointer: at,
            }),
        }
    }
}

/// The value at `path` (keys) in `v`.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// A string at `path`, if it is one.
fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).and_then(Value::as_str).map(str::to_string)
}

/// A boolean at `path`; `false` when absent.
fn flag_at(v: &Value, path: &[&str]) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

/// A list of strings at `path`; empty when absent.
fn list_at(v: &Value, path: &[&str]) -> Vec<String> {
    at(v, path)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Slack's rules beyond the schema, on a manifest the schema accepts: the documented ones (an event
/// subscription needs a Request URL or Socket Mode; enabled interactivity needs a Request URL, unless Socket
/// Mode), the version this reader knows (1; 2 is the next-generation platform's), and bot scopes Slack knows.
fn check_rules(v: &Value, errors: &mut Vec<ManifestError>) {
    let mut rule = |message: &str, pointer: &str| {
        errors.push(ManifestError {
            message: message.into(),
            pointer: pointer.into(),
        })
    };
    let socket_mode = flag_at(v, &["settings", "socket_mode_enabled"]);
    if at(v, &["settings", "event_subscriptions"]).is_some()
        && text_at(v, &["settings", "event_subscriptions", "request_url"]).is_none()
        && !socket_mode
    {
        rule(
            "Event Subscription requires either Request URL or Socket Mode Enabled",
            "/settings/event_subscriptions",
        );
    }
    if flag_at(v, &["settings", "interactivity", "is_enabled"])
        && text_at(v, &["settings", "interactivity", "request_url"]).is_none()
        && !socket_mode
    {
        rule(
            "Interactivity requires a Request URL",
            "/settings/interactivity",
        );
    }
    if let Some(version) = at(v, &["_metadata", "major_version"]).and_then(Value::as_i64)
        && version != 1
    {
        rule(
            "must be equal to 1 (the simulation reads manifests of major version 1)",
            "/_metadata/major_version",
        );
    }
    // The wording of an unknown scope's error is not documented (users report the scope named).
    for (i, scope) in list_at(v, &["oauth_config", "scopes", "bot"])
        .iter()
        .enumerate()
    {
        if !KNOWN_SCOPES.contains(&scope.as_str()) {
            rule(
                &format!("Invalid scope: {scope}"),
                &format!("/oauth_config/scopes/bot/{i}"),
            );
        }
    }
}

/// The app a valid manifest configures (what the simulation behaves by).
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestApp {
    /// `display_information.name`.
    pub name: String,
    /// `features.bot_user.display_name`.
    pub bot_display_name: Option<String>,
    /// `oauth_config.redirect_urls`.
    pub redirect_urls: Vec<String>,
    /// `oauth_config.scopes.bot`.
    pub bot_scopes: Vec<String>,
    /// `settings.event_subscriptions.request_url`.
    pub events_url: Option<String>,
    /// `settings.event_subscriptions.bot_events`, when the app subscribes to events.
    pub bot_events: Option<Vec<String>>,
    /// `settings.interactivity.request_url`, when `is_enabled`.
    pub interactivity_url: Option<String>,
    /// `features.app_home.messages_tab_enabled` (off when absent, as a new app's Messages tab is).
    pub messages_tab_enabled: bool,
    /// `settings.token_rotation_enabled`.
    pub token_rotation_enabled: bool,
}

/// Reads a manifest: the app it configures, or everything wrong with it.
pub fn read(v: &Value) -> Result<ManifestApp, Vec<ManifestError>> {
    let mut errors = Vec::new();
    check(v, &Shape::Object(MANIFEST), "", &mut errors);
    if errors.is_empty() {
        check_rules(v, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let interactive = flag_at(v, &["settings", "interactivity", "is_enabled"]);
    Ok(ManifestApp {
        name: text_at(v, &["display_information", "name"]).unwrap_or_default(),
        bot_display_name: text_at(v, &["features", "bot_user", "display_name"]),
        redirect_urls: list_at(v, &["oauth_config", "redirect_urls"]),
        bot_scopes: list_at(v, &["oauth_config", "scopes", "bot"]),
        events_url: text_at(v, &["settings", "event_subscriptions", "request_url"]),
        bot_events: at(v, &["settings", "event_subscriptions"])
            .map(|_| list_at(v, &["settings", "event_subscriptions", "bot_events"])),
        interactivity_url: text_at(v, &["settings", "interactivity", "request_url"])
            .filter(|_| interactive),
        messages_tab_enabled: flag_at(v, &["features", "app_home", "messages_tab_enabled"]),
        token_rotation_enabled: flag_at(v, &["settings", "token_rotation_enabled"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The research notes' example: a bot with four scopes, two events, token rotation.
    fn example() -> Value {
        json!({
            "_metadata": {"major_version": 1, "minor_version": 1},
            "display_information": {"name": "Acme Connector", "background_color": "#1d4ed8"},
            "features": {
                "app_home": {"home_tab_enabled": false, "messages_tab_enabled": true},
                "bot_user": {"display_name": "acme-connector", "always_online": true}
            },
            "oauth_config": {
                "redirect_urls": ["https://connector.example.com/slack/oauth/callback"],
                "scopes": {"bot": ["chat:write", "im:write", "users:read", "users:read.email"]}
            },
            "settings": {
                "event_subscriptions": {
                    "request_url": "https://connector.example.com/slack/events",
                    "bot_events": ["app_uninstalled", "tokens_revoked"]
                },
                "org_deploy_enabled": false,
                "socket_mode_enabled": false,
                "token_rotation_enabled": true
            }
        })
    }

    /// The pointers of what is wrong with `v`.
    fn pointers(v: &Value) -> Vec<String> {
        read(v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn the_example_configures_the_app() {
        let app = read(&example()).unwrap();
        assert_eq!(app.name, "Acme Connector");
        assert_eq!(app.bot_display_name.as_deref(), Some("acme-connector"));
        assert_eq!(app.bot_scopes.len(), 4);
        assert!(app.token_rotation_enabled && app.messages_tab_enabled);
        assert_eq!(app.interactivity_url, None);
        let events = ["app_uninstalled".to_string(), "tokens_revoked".to_string()];
        assert_eq!(app.bot_events.as_deref(), Some(&events[..]));
    }

    #[test]
    fn schema_errors_point_at_their_place() {
        let mut v = example();
        v["display_information"]["name"] = json!("x".repeat(36));
        v["features"]["bot_user"]["display_name"] = json!("");
        v["settings"]["colour"] = json!(true);
        v["settings"]["token_rotation_enabled"] = json!("yes");
        v["oauth_config"]["redirect_urls"] = json!(["https://a/", "https://a/"]);
        assert_eq!(
            pointers(&v),
            [
                "/display_information/name",
                "/features/bot_user/display_name",
                "/oauth_config/redirect_urls/1",
                "/settings/colour",
                "/settings/token_rotation_enabled",
            ]
        );
        let missing = read(&json!({"features": {}})).unwrap_err();
        assert_eq!(
            missing,
            [ManifestError {
                message: "must have required property 'display_information'".into(),
                pointer: String::new(),
            }]
        );
        assert_eq!(
            pointers(&json!({"display_information": {"name": "a"}, "a/b~": 1})),
            ["/a~1b~0"]
        );
    }

    #[test]
    fn the_documented_rules() {
        let mut v = example();
        v["settings"]["event_subscriptions"]
            .as_object_mut()
            .unwrap()
            .remove("request_url");
        v["settings"]["interactivity"] = json!({"is_enabled": true});
        let errors = read(&v).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Event Subscription requires either Request URL or Socket Mode Enabled",
                "Interactivity requires a Request URL"
            ]
        );
        v["settings"]["socket_mode_enabled"] = json!(true);
        assert!(read(&v).is_ok());
        let mut v = example();
        v["oauth_config"]["scopes"]["bot"] = json!(["chat:write", "files:write:user"]);
        assert_eq!(pointers(&v), ["/oauth_config/scopes/bot/1"]);
    }
}
