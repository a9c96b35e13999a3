//! Mailbox: where raw messages come from — a local Maildir folder or an IMAP mailbox.
//!
//! Owns fetching and the per-source bookkeeping (which messages were handed over), never
//! parsing or filing: each source yields raw bytes, an arrival time and a unique key as a
//! [`Job`] for the intake worker, and waits for its answer before it marks the message
//! processed.
//!
//! The seam is [`Source`]: one file per kind of mailbox (`maildir.rs`, `imap.rs` with
//! `imap/`) holds its config, its watch loop and its `doctor` check. Adding a kind is one
//! new file, plus its variant in [`MailboxConfig`] and the two arms that open and check it
//! below; the daemon runs any source the same way.

pub mod imap;
pub mod maildir;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use serde::Deserialize;

use crate::health::Health;
use crate::message::Limits;
use crate::registry::{Registry, RegistryError, SourceRef};
use crate::shutdown::Shutdown;

/// A raw message for the intake worker, with a channel for the outcome (the stored
/// message's id, or why it could not be filed).
pub struct Job {
    pub raw: Vec<u8>,
    pub source: SourceRef,
    pub done: mpsc::Sender<Result<i64, String>>,
}

/// What the daemon hands a running source.
pub struct Feed {
    /// The intake worker's queue; a closed queue means the worker is gone.
    pub jobs: mpsc::SyncSender<Job>,
    pub shutdown: Shutdown,
    pub health: Arc<Health>,
    /// Rung by the outbox after it sent mail (the IMAP source then copies the replies to
    /// its Sent folder).
    pub sent: Arc<tokio::sync::Notify>,
}

/// A mailbox being watched: it runs on a thread of its own until shutdown.
pub trait Source: Send {
    /// The name of its thread, and of the source in logs: `maildir`, `imap`.
    fn name(&self) -> &'static str;

    /// Hands every new message to the intake worker, in arrival order, until shutdown is
    /// requested or the intake worker is gone.
    fn run(self: Box<Self>, feed: Feed);
}

/// The config's `[mailbox]`: which kind (`kind = "maildir"` or `"imap"`) and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum MailboxConfig {
    /// A local Maildir: messages dropped into new/ are filed.
    Maildir(maildir::MaildirConfig),
    /// An IMAP mailbox.
    Imap(Box<imap::ImapConfig>),
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig::Maildir(maildir::MaildirConfig::default())
    }
}

/// A source that could not be prepared; `lndx run` does not start.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("maildir {}", dir.display())]
    Maildir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the registry in {}", dir.display())]
    Registry {
        dir: PathBuf,
        #[source]
        source: RegistryError,
    },
}

impl MailboxConfig {
    /// Prepares the configured source to run (creates the Maildir's folders, opens the IMAP
    /// source's own registry connection in `data_dir`).
    pub fn open(&self, data_dir: &Path, limits: Limits) -> Result<Box<dyn Source>, MailboxError> {
        Ok(match self {
            MailboxConfig::Maildir(cfg) => Box::new(maildir::Maildir::open(cfg.dir(data_dir))?),
            MailboxConfig::Imap(cfg) => {
                let reg = Registry::open(data_dir).map_err(|source| MailboxError::Registry {
                    dir: data_dir.to_path_buf(),
                    source,
                })?;
                Box::new(imap::Imap::new((**cfg).clone(), reg, limits))
            }
        })
    }

    /// Whether each Message-ID has a copy in the mailbox's Sent folder: None when the
    /// mailbox keeps none (a Maildir, or IMAP without `sent_folder`).
    pub fn in_sent(&self, ids: &[String]) -> Option<Result<Vec<bool>, String>> {
        match self {
            MailboxConfig::Maildir(_) => None,
            MailboxConfig::Imap(cfg) => {
                cfg.sent_folder.as_deref().filter(|f| !f.is_empty())?;
                Some(crate::runtime::block_on(imap::in_sent(cfg, ids)))
            }
        }
    }

    /// `lndx doctor`'s look at the source: the line's label and what was found, or what to
    /// fix. Connects when the source is remote.
    pub fn check(&self, data_dir: &Path) -> (&'static str, Result<String, String>) {
        match self {
            MailboxConfig::Maildir(cfg) => ("mailbox", Ok(maildir::check(&cfg.dir(data_dir)))),
            MailboxConfig::Imap(cfg) => ("imap", crate::runtime::block_on(imap::check(cfg))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_config_names_the_kind_and_refuses_strangers() {
        let data = Path::new("/srv/lndx");
        let m: MailboxConfig = toml::from_str("kind = \"maildir\"\n").unwrap();
        let MailboxConfig::Maildir(c) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(c.dir(data), data.join("mail"));
        let m: MailboxConfig =
            toml::from_str("kind = \"maildir\"\npath = \"/srv/mail\"\n").unwrap();
        let MailboxConfig::Maildir(c) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(c.dir(data), Path::new("/srv/mail"));
        let m: MailboxConfig = toml::from_str(
            "kind = \"imap\"\nhost = \"127.0.0.1\"\nport = 1143\nusername = \"u\"\npassword = { env = \"X\" }\n",
        )
        .unwrap();
        assert!(matches!(&m, MailboxConfig::Imap(c) if c.folder == "INBOX"));
        let e =
            toml::from_str::<MailboxConfig>("kind = \"maildir\"\nfolder = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `folder`"), "{e}");
        let e = toml::from_str::<MailboxConfig>("kind = \"pop3\"\n").unwrap_err();
        assert!(
            e.to_string().contains("expected `maildir` or `imap`"),
            "{e}"
        );
    }

    /// A source runs on its own behind the seam: a message dropped into new/ becomes a job,
    /// and once the intake worker answers it is moved to cur/; shutdown ends the loop.
    #[test]
    fn a_maildir_source_hands_over_and_marks_done() {
        let tmp = tempfile::tempdir().unwrap();
        let source = MailboxConfig::default()
            .open(tmp.path(), Limits::default())
            .unwrap();
        assert_eq!(source.name(), "maildir");
        let dir = tmp.path().join("mail");
        std::fs::write(
            dir.join("new").join("1.host"),
            b"Subject: hi\r\n\r\nbody\r\n",
        )
        .unwrap();
        let (trigger, shutdown) = Shutdown::channel();
        let (jobs, queue) = mpsc::sync_channel(1);
        let health = Arc::new(Health::default());
        let feed = Feed {
            jobs,
            shutdown,
            health: health.clone(),
            sent: Arc::new(tokio::sync::Notify::new()),
        };
        let running = std::thread::spawn(move || source.run(feed));
        let job: Job = queue.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(job.raw, b"Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(job.source.source, "maildir");
        assert!(job.source.key.as_deref().unwrap().ends_with(":1.host"));
        job.done.send(Ok(1)).unwrap();
        let moved = dir.join("cur").join("1.host:2,S");
        let t = std::time::Instant::now();
        while !moved.exists() && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(moved.exists());
        trigger.fire();
        running.join().unwrap();
        assert!(
            queue.try_recv().is_err(),
            "the message was handed over once"
        );
    }
}
