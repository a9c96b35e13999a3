//! The subcommands' arguments and their dispatch to [`lndx::commands`], where the command
//! bodies live; and the log set-up.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use lndx::app::App;
use lndx::commands;

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// List entries, current versions only unless --all-versions: a header line, one
    /// tab-separated line per entry, and a count.
    #[command(
        long_about = "List entries in filing order, current versions only unless --all-versions: \
a header line, one tab-separated line per entry (receipt, province, batch, kind, status, name, unit) \
and a closing count. Filters may be combined; a value that is not one of the campaign's is refused \
with the list of those that are (exit 2)."
    )]
    List {
        /// Only this province: its code in any case (GD, gd) or its name (广东省, 广东), as in
        /// rules/provinces.toml.
        #[arg(long, value_name = "PROVINCE")]
        province: Option<String>,
        /// Only this batch: its number (1, 2, 3 for 智慧助老) or name (第一批); L, late or 逾期
        /// for entries that arrived after the last deadline.
        #[arg(long, value_name = "BATCH")]
        batch: Option<String>,
        /// Only this kind: its key or name in rules/campaign.toml (智慧助老: case 典型工作案例
        /// 案例, project 典型教育培训项目 项目, course 典型课程资源 课程).
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only this status: valid (已受理), invalid (需修改) or held (暂存, province or
        /// sender to be confirmed).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Superseded versions too (an entry sent again replaces the earlier version).
        #[arg(long)]
        all_versions: bool,
        /// One JSON object per entry and line (receipt, province, batch, kind, name, unit,
        /// status, version, supersedes, superseded_by, late, errors), nothing else.
        #[arg(long)]
        json: bool,
    },
    /// Stored messages, newest first, with their ids (what `reprocess` takes) and arrival
    /// times in the campaign's time zone.
    Messages {
        /// At most this many messages.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
    },
    /// Export entries as CSV or .xlsx (chosen by the output file's extension).
    Export {
        /// The file to write: NAME.csv or NAME.xlsx.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Superseded versions too.
        #[arg(long)]
        all_versions: bool,
    },
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Write report.html, report.txt, the .xlsx workbook and report.eml into a folder;
    /// queues and sends nothing.
    Preview {
        /// The moment the report is as of: RFC 3339 (2022-03-07T09:00:00+08:00), or
        /// "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DD" in the campaign's time zone [default: now].
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The folder to write into (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Queue a report as of now to report.to and report.cc and deliver it at once; takes no
    /// slot of the schedule.
    SendNow,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// 纳入平台数据库: the batch's package for the national platform (manifest.json,
    /// items.xlsx, files/<receipt>/…, lom/<receipt>.xml; docs/platform-export.md).
    Platform {
        /// The batch's number (rules/campaign.toml [[batches]]).
        #[arg(long, value_name = "N")]
        batch: u8,
        /// Every current valid entry of the batch, instead of the recommended ones.
        #[arg(long)]
        all_valid: bool,
        /// Contact details too (fields marked public = false in forms.toml: phone numbers,
        /// contact persons); left out otherwise.
        #[arg(long)]
        include_contacts: bool,
        /// The zip file to write.
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
        /// Print one JSON object (ok, code, message / items, files, out).
        #[arg(long)]
        json: bool,
    },
}

/// An error and its causes, each said once: a cause whose text its parent already
/// includes (`cannot read config X: No such file…` over the same io::Error) is left out.
pub fn explain(e: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if said.contains(&text) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&text);
    }
    said
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
            &commands::registry::ListArgs {
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

pub fn export(app: &App, cmd: ExportCommand) -> Result<ExitCode> {
    match cmd {
        ExportCommand::Platform {
            batch,
            all_valid,
            include_contacts,
            out,
            json,
        } => commands::book::export_platform(app, batch, all_valid, include_contacts, &out, json),
    }
}
