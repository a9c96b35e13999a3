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

/// The log filter when `LNDX_LOG` is not set.
const DEFAULT_LOG: &str = "warn,lndx=info";

/// Sets up the log on stderr: `LNDX_LOG` (a tracing filter, default `warn,lndx=info`) says
/// what is logged, `LNDX_LOG_FORMAT` how: `text` (the default; colours only when stderr is
/// a terminal and `NO_COLOR` is not set, so files and the journal get plain text) or `json`
/// (one JSON object per line). A value that cannot be used is said on stderr and the
/// default taken instead: a typo in a log setting must not keep the service from starting.
pub fn init_tracing() {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("LNDX_LOG") {
        Ok(s) if !s.trim().is_empty() => EnvFilter::try_new(&s).unwrap_or_else(|e| {
            eprintln!(
                "lndx: LNDX_LOG={s:?} is not a log filter ({e}); using {DEFAULT_LOG:?} \
                 (examples: LNDX_LOG=debug, LNDX_LOG=warn,lndx=info)"
            );
            EnvFilter::new(DEFAULT_LOG)
        }),
        _ => EnvFilter::new(DEFAULT_LOG),
    };
    let json = match std::env::var("LNDX_LOG_FORMAT").as_deref().map(str::trim) {
        Err(_) | Ok("") | Ok("text") => false,
        Ok("json") => true,
        Ok(other) => {
            eprintln!("lndx: LNDX_LOG_FORMAT={other:?} is not a log format; use text or json (using text)");
            false
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LogLine(Vec::new()));
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).try_init()
    };
}

/// One log line, collected and written whole when dropped (above the progress line, if one
/// is on screen).
struct LogLine(Vec<u8>);

impl std::io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let _ = commands::progress::write_log(&self.0);
        }
    }
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
