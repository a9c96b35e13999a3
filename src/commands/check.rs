//! `lndx check`: reads and checks forms without filing them — what a province runs before
//! sending (报送前自查). It says, per file and in Chinese, what the reply would say: what
//! the file was taken for, each problem in the reply's own wording (`templates/
//! findings.toml`, through [`crate::reply::Wording`]), and the status its receipt would
//! show; `--json` prints the machine-readable result instead.
//!
//! Exit status: 0 when every file is a form (or summary sheet) without errors, warnings
//! allowed; 1 when a file has an error or is not a form; 2 when a file cannot be read or the
//! rules or templates cannot be used (nothing is checked then).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;

use crate::app::App;
use crate::intake::selfcheck::self_check;

/// `lndx check [--json] FORM…`: the Chinese account per file, or the result as one JSON
/// line (`docs/intake.md#json-result`).
pub fn check(app: &App, forms: &[PathBuf], json: bool) -> Result<ExitCode> {
    let intake = app.intake()?;
    let mut files = Vec::new();
    let mut unreadable = false;
    for p in forms {
        match std::fs::read(p) {
            Ok(bytes) => {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                files.push((name, bytes));
            }
            Err(e) => {
                unreadable = true;
                let message = cannot_read(p, &e);
                if json {
                    // Scripts get a stable code on stdout; people read stderr.
                    writeln!(
                        std::io::stdout(),
                        "{}",
                        json!({"error": {
                            "code": "unreadable_file",
                            "path": p.display().to_string(),
                            "reason": reason(&e),
                            "message": message,
                        }})
                    )?;
                }
                eprintln!("lndx: {message}");
            }
        }
    }
    if unreadable {
        return Ok(ExitCode::from(2));
    }
    let checked = self_check(&intake, files);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", checked.result)?;
    } else {
        write!(out, "{}", checked.account)?;
    }
    Ok(if checked.ready() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Why a file could not be read, for a clerk (in Chinese) and an operator (the system's
/// own words), said once.
fn cannot_read(path: &Path, e: &std::io::Error) -> String {
    let why = match e.kind() {
        std::io::ErrorKind::NotFound => "文件不存在，请检查文件名和所在文件夹",
        std::io::ErrorKind::PermissionDenied => "没有读取该文件的权限",
        std::io::ErrorKind::IsADirectory => "这是一个文件夹，请给出其中的申报表文件",
        _ => "无法读取该文件",
    };
    format!("cannot read {}: {e}（{why}）", path.display())
}

/// Why a file could not be read, as a stable word for `--json`.
fn reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not_found",
        std::io::ErrorKind::PermissionDenied => "permission_denied",
        std::io::ErrorKind::IsADirectory => "is_a_directory",
        _ => "io_error",
    }
}
