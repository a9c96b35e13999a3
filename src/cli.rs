//! Command implementations: each takes the app, does one job, and returns an exit code.
//! User-facing failures are errors with context; results go to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use lndx::app::{block_on, App};
use lndx::registry::{EntryFilter, SourceRef};

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

pub fn ingest(app: &App, files: &[PathBuf], json: bool) -> Result<ExitCode> {
    let intake = app.intake()?;
    let mut reg = app.registry()?;
    let stdout = std::io::stdout();
    for path in files {
        let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let filed = intake
            .file(
                &mut reg,
                &raw,
                SourceRef {
                    source: "file",
                    key: None,
                    arrived_at: None,
                    declared_size: None,
                },
            )
            .with_context(|| format!("cannot file {}", path.display()))?;
        let mut out = stdout.lock();
        if json {
            writeln!(out, "{}", filed.json)?;
        } else {
            print_summary(&mut out, path, &filed.json)?;
        }
    }
    flush_outbox(app, &reg)?;
    Ok(ExitCode::SUCCESS)
}

fn print_summary(out: &mut impl Write, path: &Path, v: &serde_json::Value) -> Result<()> {
    writeln!(
        out,
        "{}: province {} batch {} {}",
        path.display(),
        v["province"].as_str().unwrap_or("-"),
        v["batch"]
            .as_u64()
            .map(|b| b.to_string())
            .unwrap_or_else(|| "-".into()),
        v["skipped"]
            .as_str()
            .map(|s| format!("skipped ({s})"))
            .unwrap_or_default()
    )?;
    for a in v["attachments"].as_array().into_iter().flatten() {
        let codes: Vec<&str> = a["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(a["warnings"].as_array().into_iter().flatten())
            .filter_map(|f| f["code"].as_str())
            .collect();
        writeln!(
            out,
            "  {} [{}] {} {}",
            a["filename"].as_str().unwrap_or(""),
            a["role"].as_str().unwrap_or(""),
            a["entry"]["receipt"].as_str().unwrap_or(""),
            codes.join(" ")
        )?;
    }
    Ok(())
}

/// Delivers what is due in the outbox once (folder, or SMTP with timeouts).
fn flush_outbox(app: &App, reg: &lndx::registry::Registry) -> Result<()> {
    reg.recover_in_flight()?;
    let transport = app.transport()?;
    let pass = block_on(async {
        tokio::time::timeout(
            lndx::app::SEND_TIMEOUT,
            lndx::outbox::deliver_due(reg, &transport, app.cap()),
        )
        .await
    });
    match pass {
        Ok(r) => {
            r?;
        }
        Err(_) => eprintln!("lndx: sending timed out; the rest stays queued for `lndx run`"),
    }
    Ok(())
}

pub fn check(app: &App, forms: &[PathBuf], json: bool) -> Result<ExitCode> {
    let intake = app.intake()?;
    let mut files = Vec::new();
    for p in forms {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        files.push((name, bytes));
    }
    let result = intake.check_files(files);
    if json {
        writeln!(std::io::stdout(), "{result}")?;
    } else {
        writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&result)?
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn registry(app: &App, cmd: RegistryCommand) -> Result<ExitCode> {
    let reg = app.registry()?;
    match cmd {
        RegistryCommand::List {
            province,
            batch,
            kind,
            status,
            all_versions,
            json,
        } => {
            if let Some(k) = &kind {
                let campaign = app.campaign()?;
                if campaign.kind(k).is_none() {
                    let keys: Vec<&str> = campaign.kinds().map(|k| k.key()).collect();
                    bail!(
                        "--kind {k:?} is not a kind of this campaign; use one of: {}",
                        keys.join(", ")
                    );
                }
            }
            let rows = reg.entries(&EntryFilter {
                province,
                batch,
                kind,
                status,
                all_versions,
            })?;
            for r in rows {
                if json {
                    writeln!(
                        std::io::stdout(),
                        "{}",
                        serde_json::json!({
                            "receipt": r.receipt, "province": r.province, "batch": r.batch,
                            "kind": r.kind, "name": r.name, "unit": r.unit, "status": r.status,
                            "version": r.version, "supersedes": r.supersedes,
                            "superseded_by": r.superseded_by, "late": r.late,
                            "errors": serde_json::from_str::<serde_json::Value>(&r.errors).unwrap_or_default(),
                        })
                    )?;
                } else {
                    writeln!(
                        std::io::stdout(),
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        r.receipt,
                        r.province.as_deref().unwrap_or("-"),
                        r.kind,
                        r.status,
                        r.name,
                        r.unit.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        RegistryCommand::Messages { limit } => {
            let mut out = std::io::stdout().lock();
            for m in reg.messages(limit)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    m.id,
                    m.arrived_at.as_deref().unwrap_or("-"),
                    m.state,
                    m.skipped.or(m.province).unwrap_or_else(|| "-".into()),
                    m.sender.as_deref().unwrap_or("-"),
                    m.subject.as_deref().unwrap_or("")
                )?;
            }
        }
        RegistryCommand::Export { out, all_versions } => {
            let campaign = app.campaign()?;
            let ext = out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_lowercase();
            let src = lndx::report::export::Source {
                reg: &reg,
                campaign: &campaign,
                templates: app.templates_dir.as_deref(),
            };
            let n = match ext.as_str() {
                "csv" => lndx::report::export::csv(&src, &out, all_versions)?,
                "xlsx" => lndx::report::export::xlsx(&src, &out, all_versions)?,
                _ => bail!("{}: use a .csv or .xlsx file name", out.display()),
            };
            eprintln!("{n} entries written to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reprocess(app: &App, id: i64) -> Result<ExitCode> {
    let intake = app.intake()?;
    let mut reg = app.registry()?;
    let raw = reg
        .raw_message(id)?
        .with_context(|| format!("no stored message {id}"))?;
    let (_, arrived) = reg.message_source(id)?.unwrap_or_default();
    let filed = intake.process_stored(&mut reg, id, &raw, arrived.as_deref())?;
    writeln!(std::io::stdout(), "{}", filed.json)?;
    flush_outbox(app, &reg)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run(app: &App) -> Result<ExitCode> {
    lndx::daemon::run(app)?;
    Ok(ExitCode::SUCCESS)
}

pub fn doctor(app: &App) -> Result<ExitCode> {
    let ok = lndx::daemon::doctor(app);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn report(app: &App, cmd: ReportCommand) -> Result<ExitCode> {
    match cmd {
        ReportCommand::Preview { at, out } => lndx::report::cli_preview(app, at.as_deref(), &out)?,
        ReportCommand::SendNow => {
            lndx::report::cli_send_now(app)?;
            let reg = app.registry()?;
            flush_outbox(app, &reg)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
