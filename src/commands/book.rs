//! `lndx book` (汇编成册: a PDF and a .docx into a folder) and `lndx export platform` (the
//! platform package): the config's `[book]` values become the library's parts here.
//!
//! Without `--all-valid` both take the recommended entries of the batch's published review
//! decisions; while there are none they stop with `no_published_decisions`. A problem the
//! person can fix is said in Chinese with its stable code (one JSON object with `--json`),
//! exit status 1; a failure of the database, the disk or the typesetter exits 2.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::App;
use crate::book::{self, BookError, Selection};
use crate::platform::{self, ExportError};

/// The selection: every valid entry, or the published recommendations.
fn selection(
    reg: &crate::registry::Registry,
    batch: u8,
    all_valid: bool,
) -> Result<Selection, BookError> {
    if all_valid {
        Ok(Selection::AllValid)
    } else {
        book::recommended(reg, batch).map(Selection::Receipts)
    }
}

/// Says a refusal: Chinese on stderr, or one JSON object on stdout.
fn refuse(code: &str, message: &str, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({"ok": false, "code": code, "message": message})
        );
    } else {
        eprintln!("lndx: {message}（{code}）");
    }
    ExitCode::from(1)
}

/// Whether an error is the person's to fix (exit 1) rather than the machine's (exit 2).
fn is_refusal(e: &BookError) -> bool {
    matches!(
        e,
        BookError::NoPublishedDecisions { .. }
            | BookError::UnknownBatch { .. }
            | BookError::Empty { .. }
            | BookError::NotPublishable { .. }
            | BookError::Template(_)
            | BookError::Font { .. }
            | BookError::MissingFont { .. }
    )
}

/// `lndx book --batch N [--all-valid] --out DIR`.
pub fn book(app: &App, batch: u8, all_valid: bool, out: &Path, json: bool) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let reg = app.registry()?;
    let setup = app.book_setup();
    let run = || -> Result<book::BookFiles, BookError> {
        let selection = selection(&reg, batch, all_valid)?;
        setup.build(&reg, &campaign, batch, &selection)
    };
    let files = match run() {
        Ok(f) => f,
        Err(e) if is_refusal(&e) => return Ok(refuse(e.code(), &e.to_string(), json)),
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let pdf = out.join(format!("{}.pdf", files.stem));
    let docx = out.join(format!("{}.docx", files.stem));
    write_file(&pdf, &files.pdf)?;
    write_file(&docx, &files.docx)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": true, "batch": batch, "entries": files.entries,
                "pdf": pdf.display().to_string(), "docx": docx.display().to_string(),
            })
        );
    } else {
        println!(
            "第{batch}批汇编：{} 项，已写入 {} 和 {}",
            files.entries,
            pdf.display(),
            docx.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx export platform --batch N [--all-valid] [--include-contacts] --out FILE.zip`.
pub fn export_platform(
    app: &App,
    batch: u8,
    all_valid: bool,
    include_contacts: bool,
    out: &Path,
    json: bool,
) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let reg = app.registry()?;
    let intake = app.intake()?;
    let parse = intake.parse_options();
    let setup = app.book_setup();
    let run = || -> Result<platform::Package, ExportError> {
        let selection = selection(&reg, batch, all_valid)?;
        platform::export_with(
            &setup,
            &reg,
            &campaign,
            &parse,
            batch,
            &selection,
            include_contacts,
        )
    };
    let package = match run() {
        Ok(p) => p,
        Err(ExportError::Select(e)) if is_refusal(&e) => {
            return Ok(refuse(e.code(), &e.to_string(), json))
        }
        Err(e) => return Err(anyhow::Error::new(e)),
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_file(out, &package.zip)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": true, "batch": batch, "items": package.items, "files": package.files,
                "out": out.display().to_string(), "contacts_included": include_contacts,
            })
        );
    } else {
        println!(
            "第{batch}批平台数据包：{} 项、{} 个文件，已写入 {}{}",
            package.items,
            package.files,
            out.display(),
            if include_contacts {
                "（含联系人信息）"
            } else {
                ""
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a file.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
