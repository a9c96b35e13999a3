//! `lndx check`: reads and checks forms without filing them (for provinces, before
//! sending).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::App;

/// `lndx check [--json] FORM…`: the result as one JSON line, or pretty-printed.
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
