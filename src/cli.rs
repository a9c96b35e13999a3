//! The subcommands' arguments and their dispatch to [`lndx::commands`], where the command
//! bodies live; and the log set-up.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use lndx::app::App;
use lndx::commands;
use lndx::registry::EntryFilter;

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// List entries (current versions; --all-versions for superseded ones too).
    List {
        #[arg(long)]
        province: Option<String>,
        #[arg(long)]
        batch: Option<u8>,
        /// A kind of the campaign (its key in rules/campaign.toml, e.g. case).
        #[arg(long)]
        kind: Option<String>,
        /// valid, invalid or held.
        #[arg(long)]
        status: Option<lndx::filing::EntryStatus>,
        #[arg(long)]
        all_versions: bool,
        #[arg(long)]
        json: bool,
    },
    /// Stored messages, newest first (their ids are what `reprocess` takes).
    Messages {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Export entries as CSV or .xlsx (by the output file's extension).
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        all_versions: bool,
    },
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Write report.html, report.txt, the .xlsx and the .eml to a folder.
    Preview {
        /// The report's time (RFC 3339 or "YYYY-MM-DD HH:MM" in the report's time zone).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Queue and send a report now to the configured recipients.
    SendNow,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LNDX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,lndx=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn registry(app: &App, cmd: RegistryCommand) -> Result<ExitCode> {
    match cmd {
        RegistryCommand::List {
            province,
            batch,
            kind,
            status,
            all_versions,
            json,
        } => commands::registry::list(
            app,
            EntryFilter {
                province,
                batch,
                kind,
                status,
                all_versions,
            },
            json,
        ),
        RegistryCommand::Messages { limit } => commands::registry::messages(app, limit),
        RegistryCommand::Export { out, all_versions } => {
            commands::registry::export(app, &out, all_versions)
        }
    }
}

pub fn report(app: &App, cmd: ReportCommand) -> Result<ExitCode> {
    match cmd {
        ReportCommand::Preview { at, out } => {
            commands::report::preview(app, at.as_deref(), &out)?;
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::SendNow => commands::report::send_now(app),
    }
}
