//! The `lndx` command line: parses arguments, builds the app, runs one command (the
//! bodies are in `lndx::commands`). Errors end here, printed with their causes; library
//! code never exits the process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lndx::commands;

mod cli;

#[derive(Parser)]
#[command(
    name = "lndx",
    version,
    about = "智慧助老 application intake: mailbox → registry → receipts and reports"
)]
struct Args {
    /// Config file (TOML); without it the built-in default is used.
    #[arg(long, global = true, env = "LNDX_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: database, raw messages (default ./var, or the config's data_dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Rules folder (default ./rules, or the built-in rules).
    #[arg(long, global = true)]
    rules: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// File messages (.eml files) in order and print one JSON result per message.
    Ingest {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check form files without filing them (for provinces, before sending).
    Check {
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        forms: Vec<PathBuf>,
    },
    /// The registry: list or export entries.
    Registry {
        #[command(subcommand)]
        command: cli::RegistryCommand,
    },
    /// Watch the mailbox, file what arrives, send replies and reports.
    Run,
    /// Process a stored message again (e.g. after the rules were corrected).
    Reprocess {
        /// The stored message's id (see `registry messages`).
        id: i64,
    },
    /// Check the config, rules, TLS, logins, folders and SMTP, and say what to fix.
    Doctor,
    /// The weekly progress report.
    Report {
        #[command(subcommand)]
        command: cli::ReportCommand,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_tracing();
    let result = (|| -> anyhow::Result<ExitCode> {
        let app = lndx::app::App::new(args.config.as_deref(), args.data_dir, args.rules)?;
        match args.command {
            Command::Ingest { json, files } => commands::ingest::ingest(&app, &files, json),
            Command::Check { json, forms } => commands::check::check(&app, &forms, json),
            Command::Registry { command } => cli::registry(&app, command),
            Command::Run => commands::run::run(&app),
            Command::Reprocess { id } => commands::ingest::reprocess(&app, id),
            Command::Doctor => commands::doctor::doctor(&app),
            Command::Report { command } => cli::report(&app, command),
        }
    })();
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): not a failure of ours.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lndx: {e:#}");
            ExitCode::from(2)
        }
    }
}
