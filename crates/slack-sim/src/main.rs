//! `slack-sim`: the simulated Slack workspace on its own, for Slack client libraries and manual exploration.

use anyhow::Context;
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serves a simulated Slack workspace: the Web API (with Slack's rate limits), the OAuth consent pages, the
/// inspection pages at `/_sim/`.
#[derive(Parser)]
#[command(name = "slack-sim", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8025")]
    listen: SocketAddr,
    /// A workspace seed file (JSON); the demo workspace when absent.
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// A host name to answer for besides the listen address, `localhost` and `slack.com` (repeatable); requests
    /// naming any other `Host` are refused.
    #[arg(long = "host", value_name = "NAME")]
    hosts: Vec<String>,
    /// Turns Slack's rate limits off (they are on by default, as in Slack).
    #[arg(long)]
    no_rate_limits: bool,
    /// Serves over TLS with this certificate chain (PEM, the server's certificate first); needs `--tls-key`.
    #[arg(long, value_name = "PEM_FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM).
    #[arg(long, value_name = "PEM_FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,slack_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = slack_sim::standalone_config(cli.workspace)?;
    config.hosts.extend(cli.hosts);
    if cli.no_rate_limits {
        config.rate_limits.enabled = false;
    }
    match (cli.tls_cert, cli.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
            };
            let identity = slack_sim::TlsIdentity::from_pem(&read(&cert)?, &read(&key)?)?;
            slack_sim::run_tls_until_ctrl_c(cli.listen, config, identity).await
        }
        _ => slack_sim::run_until_ctrl_c(cli.listen, config).await,
    }
}
