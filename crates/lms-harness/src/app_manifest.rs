//! `lms-harness slack-app-manifest`: prints the Slack app manifest the connector needs for one platform, with the
//! URLs at which Slack reaches this LMS, derived from its public base URL: the OAuth redirect
//! ([`crate::web::CALLBACK_PATH`]) and the events and interactivity routes ([`lms::inbound::path`]). What the
//! manifest asks Slack for (scopes, events, the Messages tab) is the connector's: [`slack_connector::app_manifest`].

use anyhow::{Context, Result, bail};
use slack_connector::app_manifest::{AppUrls, app_manifest};

/// The environment variable that gives the public base URL, as Bolt names it.
pub const PUBLIC_URL_ENV: &str = "LMS_PUBLIC_URL";

/// `slack-app-manifest` options.
#[derive(clap::Args)]
pub struct AppManifestArgs {
    /// The public https base URL at which Slack reaches this LMS, such as `https://lms.example.com` (default: the
    /// `LMS_PUBLIC_URL` environment variable).
    #[arg(long)]
    pub base_url: Option<String>,
    /// The platform the app serves: its events and interactivity URLs name it.
    #[arg(long)]
    pub platform: String,
    /// The app's name, also its bot's display name (1 to 35 characters).
    #[arg(long, default_value = "LMS")]
    pub name: String,
    /// Turns Slack's token rotation on: bot tokens expire after 12 hours and the connector renews them.
    #[arg(long)]
    pub token_rotation: bool,
    /// Prints the manifest as YAML instead of JSON.
    #[arg(long)]
    pub yaml: bool,
}

/// The public base URL as links are built from it: an absolute https URL without query or fragment, its trailing
/// `/` removed.
pub fn public_base(base_url: &str) -> Result<String> {
    let uri: http::Uri = base_url
        .parse()
        .with_context(|| format!("`{base_url}` is not a URL"))?;
    if uri.scheme_str() != Some("https") || uri.authority().is_none() {
        bail!(
            "the base URL `{base_url}` must be an absolute https URL: Slack sends OAuth redirects, events and \
             interactivity only to https"
        );
    }
    if uri.query().is_some() || base_url.contains('#') {
        bail!("the base URL `{base_url}` must have no query or fragment");
    }
    Ok(base_url.trim_end_matches('/').to_string())
}

/// The URLs Slack must reach for `platform_id`, under the public `base_url` ([`public_base`]).
pub fn urls(base_url: &str, connector_id: &str, platform_id: &str) -> Result<AppUrls> {
    let base = public_base(base_url)?;
    if platform_id.is_empty()
        || !platform_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("`{platform_id}` is not a platform id (letters, digits, `-` and `_`)");
    }
    Ok(AppUrls {
        redirect: format!("{base}{}", crate::web::CALLBACK_PATH),
        events: format!(
            "{base}{}",
            lms::inbound::path(connector_id, platform_id, "events")
        ),
        interactivity: format!(
            "{base}{}",
            lms::inbound::path(connector_id, platform_id, "interactivity")
        ),
    })
}

/// The manifest as text: pretty JSON, or YAML.
pub fn render(args: &AppManifestArgs, base_url: &str) -> Result<String> {
    let connector_id = slack_connector::connector::DESCRIPTION.id;
    let manifest = app_manifest(
        &args.name,
        &urls(base_url, connector_id, &args.platform)?,
        args.token_rotation,
    )?;
    Ok(if args.yaml {
        serde_norway::to_string(&manifest)?
    } else {
        format!("{}\n", serde_json::to_string_pretty(&manifest)?)
    })
}

/// Runs the command: prints the manifest.
pub fn command(args: AppManifestArgs) -> Result<()> {
    let base_url = match &args.base_url {
        Some(url) => url.clone(),
        None => std::env::var(PUBLIC_URL_ENV).with_context(|| {
            format!("give the public base URL with --base-url or the {PUBLIC_URL_ENV} environment variable")
        })?,
    };
    print!("{}", render(&args, &base_url)?);
    Ok(())
}
