//! `lms-harness`: the simulated LMS with the Slack connector in its sandbox, and the simulated Slack workspace.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "lms-harness",
    version,
    about = "A simulated LMS hosting the Slack connector component, and a simulated Slack workspace"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole story on embedded defaults: activation, an invitation, what each learner received.
    Demo {
        /// Prints the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serves the simulated Slack workspace alone.
    SlackSim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8025")]
        listen: SocketAddr,
        /// A workspace seed file (JSON); the demo workspace when absent.
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,host_harness=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Demo { json } => {
            let report = host_harness::demo::run().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                host_harness::demo::print(&report);
            }
        }
        Command::SlackSim { listen, workspace } => {
            host_harness::slack_sim::run_standalone(listen, workspace).await?
        }
    }
    Ok(())
}
