//! A Web API request's parameters, decoded as Slack decodes them: the query, a urlencoded form (UTF-8 or
//! ISO-8859-1), a `multipart/form-data` or JSON body, the token from `Authorization: Bearer` or a `token` body
//! field (a token in the query string is noted, to be refused), client credentials from HTTP Basic.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{MethodResult, Reply};

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `Authorization: Bearer`.
    Header,
    /// A `token` field of a form or multipart body.
    Body,
    /// A `token` parameter of the query string: refused (`invalid_auth`) even beside a header, as Slack refuses
    /// it to apps created after 24 February 2021.
    Query,
}

impl TokenSource {
    /// How the call log names it: `header`, `param` or `query`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Header => "header",
            TokenSource::Body => "param",
            TokenSource::Query => "query",
        }
    }
}

/// Decoded request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Query and body fields (form values are strings; JSON values keep their type).
    pub fields: Map<String, Value>,
    /// Token from `Authorization: Bearer`, a `token` body field or the query string.
    pub token: Option<String>,
    /// Where the token came from.
    pub token_source: Option<TokenSource>,
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
pub async fn decode(
    http_method: &http::Method,
    headers: &http::HeaderMap,
    query: Option<&str>,
    body: Bytes,
) -> (Params, Option<&'static str>) {
    let mut p = Params::default();
    let query_token = query.and_then(|q| {
        let fields =
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()));
        add_fields(&mut p, fields);
        p.non_empty("token")
    });
    read_authorization(&mut p, headers);
    let json_body = if *http_method == http::Method::POST && !body.is_empty() {
        match read_body(&mut p, headers, body).await {
            Ok(json_body) => json_body,
            Err(code) => return (p, Some(code)),
        }
    } else {
        false
    };
    if let Some(t) = query_token {
        // Slack's changelog "No more tokens in querystrings for newly created apps": apps created after
        // 24 February 2021 must send the token in the Authorization header or a POST body. The docs name no
        // error code; clients report `invalid_auth`, also when a header carries the token too (slack-go/slack
        // #992, #995; HubSpot/slack-client #215).
        p.token = Some(t);
        p.token_source = Some(TokenSource::Query);
    } else if p.token.is_none() && !json_body {
        // With a JSON body Slack takes the token only from the Authorization header.
        if let Some(t) = p.non_empty("token") {
            p.token = Some(t);
            p.token_source = Some(TokenSource::Body);
        }
    }
    (p, None)
}

/// Adds text fields (a repeated name: the last value).
fn add_fields(p: &mut Params, fields: impl IntoIterator<Item = (String, String)>) {
    for (k, v) in fields {
        p.fields.insert(k, Value::String(v));
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
        p.token_source = Some(TokenSource::Header);
    } else if let Some(b) = scheme("Basic")
        && let Some(dec) = crate::b64::decode(b).and_then(|d| String::from_utf8(d).ok())
        && let Some((id, secret)) = dec.split_once(':')
    {
        p.basic_credentials = Some((id.to_string(), secret.to_string()));
    }
}

/// The character set a body is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    /// UTF-8 (also when no `charset` is given).
    Utf8,
    /// ISO-8859-1 (Latin-1): each byte is the character of the same number.
    Latin1,
}

impl Charset {
    /// A `charset` parameter as Slack reads it: "Valid charset names are: utf-8 iso-8859-1" (Slack's
    /// `invalid_charset` error, on every method's page); any other is `invalid_charset`. (`utf8` is taken too.)
    fn from_param(name: &str) -> Result<Charset, &'static str> {
        match name {
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            "iso-8859-1" => Ok(Charset::Latin1),
            _ => Err("invalid_charset"),
        }
    }

    /// Bytes of this character set as text (bytes that are not UTF-8 in a UTF-8 text as U+FFFD).
    fn text(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Charset::Latin1 => bytes.iter().copied().map(char::from).collect(),
        }
    }
}

/// Reads a POST body by its content type; `Ok(true)` for a JSON body.
async fn read_body(
    p: &mut Params,
    headers: &http::HeaderMap,
    body: Bytes,
) -> Result<bool, &'static str> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or("missing_post_type")?;
    let lower = content_type.to_ascii_lowercase();
    let mut parts = lower.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    let charset_param = parts
        .find_map(|x| x.strip_prefix("charset="))
        .map(|c| c.trim_matches('"').to_string());
    let charset = charset_param
        .as_deref()
        .map(Charset::from_param)
        .transpose()?;
    match mime {
        "application/json" => {
            if charset.is_none() {
                // Slack answers JSON posted without a charset with a `missing_charset` warning.
                p.warnings.push("missing_charset");
            }
            let v: Value = match charset {
                Some(Charset::Latin1) => serde_json::from_str(&Charset::Latin1.text(&body)),
                _ => serde_json::from_slice(&body),
            }
            .map_err(|_| "invalid_json")?;
            let Value::Object(obj) = v else {
                return Err("json_not_object");
            };
            p.fields.extend(obj);
            Ok(true)
        }
        "application/x-www-form-urlencoded" => {
            let charset = charset.unwrap_or(Charset::Utf8);
            if charset == Charset::Utf8 && std::str::from_utf8(&body).is_err() {
                return Err("invalid_form_data");
            }
            add_fields(p, urlencoded_fields(&body, charset));
            Ok(false)
        }
        "multipart/form-data" => {
            // The boundary is read from the header as sent (a boundary is case-sensitive).
            let boundary = multer::parse_boundary(content_type).map_err(|_| "invalid_form_data")?;
            let fields = multipart_fields(body, boundary)
                .await
                .ok_or("invalid_form_data")?;
            add_fields(p, fields);
            Ok(false)
        }
        _ => Err("invalid_post_type"),
    }
}

/// The fields of a urlencoded form in `charset`: `+` is a space, `%XX` a byte of the charset.
fn urlencoded_fields(body: &[u8], charset: Charset) -> Vec<(String, String)> {
    let text = |part: &[u8]| {
        let spaced: Vec<u8> = part
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
        charset.text(&bytes)
    };
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(i) => (text(&pair[..i]), text(&pair[i + 1..])),
            None => (text(pair), String::new()),
        })
        .collect()
}

/// The text fields of a `multipart/form-data` body (parsed by `multer`); `None` when it is malformed or a field
/// is not UTF-8. Parts carrying a file name are files, which no simulated method takes: they are skipped.
async fn multipart_fields(body: Bytes, boundary: String) -> Option<Vec<(String, String)>> {
    let stream =
        futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(body)));
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        let name = field.name()?.to_string();
        if field.file_name().is_some() {
            continue;
        }
        let bytes = field.bytes().await.ok()?;
        fields.push((name, String::from_utf8(bytes.to_vec()).ok()?));
    }
    Some(fields)
}
