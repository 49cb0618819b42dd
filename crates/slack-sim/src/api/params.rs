//! A Web API request's parameters, decoded as Slack decodes them: the query, a form or JSON body, the token
//! from `Authorization: Bearer` or a `token` field, client credentials from HTTP Basic.

use serde_json::{Map, Value};

use super::{MethodResult, Reply};

/// Decoded request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Query and body fields (form values are strings; JSON values keep their type).
    pub fields: Map<String, Value>,
    /// Token from `Authorization: Bearer` or a `token` field.
    pub token: Option<String>,
    /// Where the token came from: `header` or `param`.
    pub token_source: Option<&'static str>,
    /// HTTP Basic credentials (client ID, client secret).
    pub basic_credentials: Option<(String, String)>,
    /// Warnings to add to the answer (e.g. `missing_charset`).
    pub warnings: Vec<&'static str>,
}

impl Params {
    /// A field as a string (numbers and booleans converted; null is absent).
    pub fn string(&self, k: &str) -> Option<String> {
        match self.fields.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A string field, absent when empty.
    pub fn non_empty(&self, k: &str) -> Option<String> {
        self.string(k).filter(|s| !s.is_empty())
    }

    /// A boolean flag: `true`, `1`.
    pub fn flag(&self, k: &str) -> bool {
        match self.fields.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// A non-negative integer field; absent when missing, null or empty; `invalid_arguments` otherwise.
    pub fn integer(&self, k: &str) -> MethodResult<Option<u64>> {
        let parsed = match self.fields.get(k) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(_) => None,
        };
        match parsed {
            Some(n) => Ok(Some(n)),
            None => Err(Reply::err_msgs(
                "invalid_arguments",
                vec![format!("[ERROR] invalid value for {k}")],
            )),
        }
    }

    /// A JSON field, given as JSON or as a string of JSON (as forms send it); absent when missing, null or
    /// blank; `error` when the string is not JSON.
    pub fn json(&self, k: &str, error: &str) -> MethodResult<Option<Value>> {
        match self.fields.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| Reply::err(error)),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// Whether a post asks for a custom sender name or icon (`username`, `icon_url`, `icon_emoji`).
    pub fn customises_sender(&self) -> bool {
        ["username", "icon_url", "icon_emoji"]
            .iter()
            .any(|k| self.non_empty(k).is_some())
    }

    /// The client credentials: HTTP Basic, else the `client_id` and `client_secret` fields.
    pub fn client_credentials(&self) -> (Option<String>, Option<String>) {
        match &self.basic_credentials {
            Some((id, secret)) => (Some(id.clone()), Some(secret.clone())),
            None => (self.non_empty("client_id"), self.non_empty("client_secret")),
        }
    }
}

/// Decodes the request the way Slack does. With the parameters comes the Slack error code that ends the call
/// early, if any (a body Slack cannot read); the parameters then hold what was read before it.
pub fn decode(
    http_method: &http::Method,
    headers: &http::HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> (Params, Option<&'static str>) {
    let mut p = Params::default();
    if let Some(q) = query {
        add_form_fields(&mut p, q.as_bytes());
    }
    read_authorization(&mut p, headers);
    let json_body = if *http_method == http::Method::POST && !body.is_empty() {
        match read_body(&mut p, headers, body) {
            Ok(json_body) => json_body,
            Err(code) => return (p, Some(code)),
        }
    } else {
        false
    };
    // With a JSON body Slack takes the token only from the Authorization header.
    if p.token.is_none() && !json_body {
        let field = p.fields.get("token").and_then(Value::as_str);
        if let Some(t) = field.filter(|t| !t.is_empty()) {
            p.token = Some(t.to_string());
            p.token_source = Some("param");
        }
    }
    (p, None)
}

/// Adds urlencoded fields (a repeated name: the last value).
fn add_form_fields(p: &mut Params, form: &[u8]) {
    for (k, v) in form_urlencoded::parse(form) {
        p.fields
            .insert(k.into_owned(), Value::String(v.into_owned()));
    }
}

/// A Bearer token, or HTTP Basic client credentials.
fn read_authorization(p: &mut Params, headers: &http::HeaderMap) {
    let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let auth = auth.trim();
    let scheme = |name: &str| {
        auth.strip_prefix(&format!("{name} "))
            .or_else(|| auth.strip_prefix(&format!("{} ", name.to_ascii_lowercase())))
            .map(str::trim)
    };
    if let Some(t) = scheme("Bearer") {
        p.token = Some(t.to_string());
        p.token_source = Some("header");
    } else if let Some(b) = scheme("Basic")
        && let Some(dec) = crate::b64::decode(b).and_then(|d| String::from_utf8(d).ok())
        && let Some((id, secret)) = dec.split_once(':')
    {
        p.basic_credentials = Some((id.to_string(), secret.to_string()));
    }
}

/// Reads a POST body by its content type; `Ok(true)` for a JSON body.
fn read_body(p: &mut Params, headers: &http::HeaderMap, body: &[u8]) -> Result<bool, &'static str> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.to_ascii_lowercase())
        .ok_or("missing_post_type")?;
    let mut parts = content_type.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    let charset = parts
        .find_map(|x| x.strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_string());
    if charset
        .as_deref()
        .is_some_and(|cs| cs != "utf-8" && cs != "utf8")
    {
        return Err("invalid_charset");
    }
    match mime {
        "application/json" => {
            if charset.is_none() {
                // Slack answers JSON posted without a charset with a `missing_charset` warning.
                p.warnings.push("missing_charset");
            }
            let v: Value = serde_json::from_slice(body).map_err(|_| "invalid_json")?;
            let Value::Object(obj) = v else {
                return Err("json_not_object");
            };
            p.fields.extend(obj);
            Ok(true)
        }
        "application/x-www-form-urlencoded" => {
            if std::str::from_utf8(body).is_err() {
                return Err("invalid_form_data");
            }
            add_form_fields(p, body);
            Ok(false)
        }
        // multipart/form-data is accepted by Slack but not simulated.
        "multipart/form-data" => Err("invalid_form_data"),
        _ => Err("invalid_post_type"),
    }
}
