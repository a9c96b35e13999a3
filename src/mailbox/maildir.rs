//! The Maildir source: messages delivered into `new/` are handed over in arrival order
//! and, once filed, moved to `cur/` (never deleted). The arrival time is the file's
//! delivery time (its modification time); the key is the Maildir unique name, so a
//! message is filed once even if the move to `cur/` was interrupted. `new/` is looked at
//! four times a second.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use super::{Feed, Job, MailboxError, Source};
use crate::registry::SourceRef;

/// How often `new/` is looked at.
const POLL: Duration = Duration::from_millis(250);

/// `[mailbox] kind = "maildir"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaildirConfig {
    /// The Maildir; default `mail/` in the data directory.
    pub path: Option<PathBuf>,
}

impl MaildirConfig {
    /// The Maildir watched: the configured one, else `mail/` in the data directory.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.path.clone().unwrap_or_else(|| data_dir.join("mail"))
    }
}

/// `lndx doctor`: what is watched.
pub fn check(dir: &Path) -> String {
    format!("maildir {}", dir.display())
}

/// The Maildir source, ready to run.
pub struct Maildir {
    dir: PathBuf,
}

impl Maildir {
    /// Prepares a Maildir to be watched, creating its folders when missing.
    pub fn open(dir: PathBuf) -> Result<Maildir, MailboxError> {
        match ensure(&dir) {
            Ok(()) => Ok(Maildir { dir }),
            Err(source) => Err(MailboxError::Maildir { dir, source }),
        }
    }
}

impl Source for Maildir {
    fn name(&self) -> &'static str {
        "maildir"
    }

    fn run(self: Box<Self>, feed: Feed) {
        tracing::info!(maildir = %self.dir.display(), "watching");
        loop {
            match waiting(&self.dir) {
                Ok(list) => {
                    feed.health.set_connected(true);
                    feed.health.polled();
                    for w in list {
                        if feed.shutdown.is_set() || !self.hand_over(&w, &feed) {
                            return;
                        }
                    }
                }
                Err(e) => {
                    feed.health.set_connected(false);
                    feed.health.error();
                    tracing::error!(error = %e, "cannot read the maildir")
                }
            }
            if feed.shutdown.sleep(POLL) {
                return;
            }
        }
    }
}

impl Maildir {
    /// Hands one waiting message to the intake worker and, once it is filed, moves it to
    /// `cur/`. False when the intake worker is gone.
    fn hand_over(&self, w: &Waiting, feed: &Feed) -> bool {
        let raw = match std::fs::read(&w.path) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path = %w.path.display(), error = %e, "cannot read");
                return true;
            }
        };
        let (tx, rx) = mpsc::channel();
        let job = Job {
            raw,
            source: SourceRef {
                source: "maildir",
                key: Some(w.key.clone()),
                arrived_at: Some(w.arrived_at.clone()),
                declared_size: None,
                no_reply: None,
            },
            done: tx,
        };
        if feed.jobs.send(job).is_err() {
            return false;
        }
        feed.health.fetched();
        if let Ok(Ok(_)) = rx.recv() {
            if let Err(e) = mark_done(&self.dir, w) {
                tracing::warn!(error = %e, "cannot move a filed message to cur/");
            }
        }
        true
    }
}

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
