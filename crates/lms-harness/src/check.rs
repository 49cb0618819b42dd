//! `lms-harness check`: before going live, reports line by line what is missing or wrong in the configuration
//! ([`crate::live`]), the URLs Slack must reach, whether Slack answers through the very outbound path deliveries use
//! (the connector's grants, the proxy, TLS with the extra roots and pins), and, for a platform with an installation,
//! whether its bot token is valid and holds every scope the connector needs. Exits non-zero when something would
//! fail.

use crate::connector::{DataDir, default_grants, embedded_manifest};
use crate::live::LiveConfig;
use anyhow::Result;
use bytes::Bytes;
use connector_api::{HttpRequest, HttpResponse, Transport, TransportError};
use connector_host::Policy;
use connector_host::outbound::OutboundPolicy;
use slack_connector::going_live;
use std::path::PathBuf;
use std::sync::Arc;

/// `check` options.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The configuration file (TOML; every value may also come from the environment).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A PEM file of root certificates to trust besides the built-in ones (repeatable).
    #[arg(long)]
    pub cacert: Vec<PathBuf>,
    /// Pins HOST:PORT to ADDR, with curl's meaning (repeatable).
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// A data folder, to check a platform's installation.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The platform whose URLs are printed and whose installation is checked.
    #[arg(long)]
    pub platform: Option<String>,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// As it should be.
    Ok(String),
    /// Would fail.
    Wrong(String),
    /// For information.
    Note(String),
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Line::Ok(text) => write!(f, "ok     {text}"),
            Line::Wrong(text) => write!(f, "WRONG  {text}"),
            Line::Note(text) => write!(f, "       {text}"),
        }
    }
}

/// The host's outbound path as the connector's [`Transport`], for the checks: each request goes through
/// [`OutboundPolicy::send_from_host`].
struct HostTransport {
    policy: OutboundPolicy,
    runtime: tokio::runtime::Handle,
}

impl Transport for HostTransport {
    fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = builder.body(Bytes::from(request.body)).map_err(|e| {
            TransportError::Connection(format!("the request could not be made: {e}"))
        })?;
        let answer = self
            .runtime
            .block_on(self.policy.send_from_host(built))
            .map_err(|e| TransportError::Connection(e.to_string()))?;
        Ok(HttpResponse {
            status: answer.status().as_u16(),
            headers: answer
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: answer.into_body().to_vec(),
        })
    }
}

/// Runs every check and returns the report; `env` reads the environment.
pub async fn run(args: &CheckArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Line>> {
    let config = LiveConfig::load(args.config.as_deref(), env, &args.cacert, &args.resolve)?;
    let mut lines = configuration(&config, args.platform.as_deref());
    let manifest = embedded_manifest();
    let connector_id = manifest.id.clone();
    let mut policy = Policy::new(&connector_id, default_grants(), Some(manifest))?;
    config.egress.apply(&mut policy.outbound)?;
    let route = match (&config.egress.proxy, config.egress.pins.first()) {
        (Some(proxy), _) => format!(" through the proxy {proxy}"),
        (None, Some(pin)) => format!(" (pinned: {pin})"),
        (None, None) => String::new(),
    };
    // The installation to check: the platform's bot token, when it has one.
    let installation = match (&args.data, &args.platform) {
        (Some(data), Some(platform)) => {
            let db = DataDir::open_db(data, false)?;
            let token = db.secret(
                platform,
                &connector_id,
                slack_connector::connector::secrets::BOT_TOKEN,
            )?;
            Some((platform.clone(), token))
        }
        _ => None,
    };
    let mut transport = HostTransport {
        policy: OutboundPolicy::new(Arc::new(policy.outbound), format!("check/{connector_id}")),
        runtime: tokio::runtime::Handle::current(),
    };
    // The connector's checks are synchronous; the transport waits for the host's requests on this runtime.
    let (reached, installation) = tokio::task::spawn_blocking(move || {
        let reached = going_live::reachable(&mut transport);
        let installation = installation.map(|(platform, token)| {
            let info = token.map(|token| going_live::token_info(&mut transport, &token));
            (platform, info)
        });
        (reached, installation)
    })
    .await?;
    lines.push(match reached {
        Ok(()) => Line::Ok(format!("Slack answers api.test{route}")),
        Err(e) => Line::Wrong(format!(
            "Slack does not answer api.test{route}: {} ({e:?})",
            e.code()
        )),
    });
    if let Some((platform, info)) = installation {
        lines.push(match info {
            None => Line::Note(format!(
                "no installation on platform {platform}: activate the integration, then check again"
            )),
            Some(Ok(info)) if info.missing_scopes().is_empty() => Line::Ok(format!(
                "the installation on {platform} is valid for the workspace {} ({}) with every scope",
                info.team, info.team_id
            )),
            Some(Ok(info)) => Line::Wrong(format!(
                "the installation on {platform} lacks the scopes {}: reinstall the app from its manifest",
                info.missing_scopes().join(", ")
            )),
            Some(Err(e)) => Line::Wrong(format!(
                "the installation on {platform} is refused by auth.test: {}",
                e.code()
            )),
        });
    }
    Ok(lines)
}

/// The configuration's lines ([`LiveConfig::review`]), and the URLs Slack must reach when the public URL is right.
fn configuration(config: &LiveConfig, platform: Option<&str>) -> Vec<Line> {
    let mut lines: Vec<Line> = config
        .review()
        .into_iter()
        .map(|item| item.map_or_else(Line::Wrong, Line::Ok))
        .collect();
    let connector_id = slack_connector::connector::DESCRIPTION.id;
    let public_url = config
        .public_url
        .as_ref()
        .filter(|url| crate::app_manifest::public_base(&url.value).is_ok());
    if let Some(url) = public_url {
        lines.push(
            match crate::app_manifest::urls(
                &url.value,
                connector_id,
                platform.unwrap_or("PLATFORM"),
            ) {
                Ok(urls) => Line::Note(format!(
                    "Slack must reach: the OAuth redirect {}, events {}, interactivity {}",
                    urls.redirect, urls.events, urls.interactivity
                )),
                Err(e) => Line::Wrong(format!("{e:#}")),
            },
        );
    }
    lines
}

/// Runs the command: prints the report; exits 1 when a line is wrong.
pub async fn command(args: CheckArgs) -> Result<()> {
    let lines = run(&args, &|name| std::env::var(name).ok()).await?;
    for line in &lines {
        println!("{line}");
    }
    if lines.iter().any(|l| matches!(l, Line::Wrong(_))) {
        std::process::exit(1);
    }
    Ok(())
}
