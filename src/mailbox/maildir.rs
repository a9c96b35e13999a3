//! The Maildir source: messages delivered into `new/` are handed over in arrival order
//! and, once filed, moved to `cur/` (never deleted). The arrival time is the file's
//! delivery time (its modification time); the key is the Maildir unique name, so a
//! message is filed once even if the move to `cur/` was interrupted.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

/// A message waiting in `new/`.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub path: PathBuf,
    pub key: String,
    pub arrived_at: String,
}

/// Creates `new/`, `cur/` and `tmp/` when missing.
pub fn ensure(dir: &Path) -> std::io::Result<()> {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    Ok(())
}

/// Messages in `new/`, oldest first.
pub fn waiting(dir: &Path) -> std::io::Result<Vec<Waiting>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.join("new"))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let mtime = entry.metadata()?.modified().unwrap_or(SystemTime::now());
        let unique = name.split(':').next().unwrap_or(&name).to_string();
        out.push((
            mtime,
            Waiting {
                path: entry.path(),
                key: format!("maildir:{}:{}", dir.display(), unique),
                arrived_at: DateTime::<Utc>::from(mtime).to_rfc3339_opts(SecondsFormat::Secs, true),
            },
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
    Ok(out.into_iter().map(|(_, w)| w).collect())
}

/// Moves a filed message to `cur/` with the Seen flag.
pub fn mark_done(dir: &Path, w: &Waiting) -> std::io::Result<()> {
    let name = w
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let base = name.split(':').next().unwrap_or(&name);
    std::fs::rename(&w.path, dir.join("cur").join(format!("{base}:2,S")))
}
