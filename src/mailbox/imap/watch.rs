//! The watch loop: one long-lived session; each pass files what arrived since the last
//! UID processed; between passes IDLE (re-issued at most every `idle_secs`) or NOOP
//! polling, with a reconciliation pass at least every `poll_secs`; reconnects with
//! exponential backoff and jitter.
//!
//! Per message: RFC822.SIZE and INTERNALDATE → BODY.PEEK[] (or only BODY.PEEK[HEADER]
//! above the size limit) → the intake worker stores and files it (we wait for its answer)
//! → done keyword and/or MOVE (COPY when the server has no MOVE) → the folder's last UID
//! advances. Nothing is ever expunged or deleted, and \Seen is never relied upon.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_imap::extensions::idle::IdleResponse;
use async_imap::types::{Fetch, UnsolicitedResponse};
use chrono::{SecondsFormat, Utc};
use futures::TryStreamExt;

use super::conn::{self, step, Fail, ImapSession, Opened, Stage};
use super::ImapConfig;
use crate::backoff::{jitter, Exponential};
use crate::health::Health;
use crate::mailbox::Job;
use crate::message::Limits;
use crate::registry::imap::FolderState;
use crate::registry::{sha256_hex, MessageState, Registry, SourceRef};
use crate::shutdown::Shutdown;

/// Messages whose metadata is fetched in one command.
const META_CHUNK: usize = 200;
/// Bodies fetched in one command: at most this many, and at most `BODY_BYTES` together.
const BODY_CHUNK: usize = 25;
const BODY_BYTES: u64 = 8 * 1024 * 1024;
/// Jobs handed to the intake worker before waiting for the first answer.
const IN_FLIGHT: usize = 8;
/// NOOP interval when the server has no IDLE.
const NOOP_SECS: u64 = 15;

pub(super) struct Watcher {
    pub cfg: ImapConfig,
    pub account: String,
    pub folder: String,
    pub reg: Registry,
    pub limits: Limits,
    pub jobs: mpsc::SyncSender<Job>,
    pub shutdown: Shutdown,
    pub health: Arc<Health>,
    /// Rung by the outbox after it sent mail: wakes the session from IDLE to copy the
    /// replies into the Sent folder.
    pub sent: Arc<tokio::sync::Notify>,
    /// The highest UID that was old mail when this data folder first watched the folder
    /// (read at each session start).
    pub history_uid: Option<u32>,
}

/// How a session ended.
enum End {
    /// Shutdown was requested and the session was closed.
    Shutdown,
    /// The intake worker is gone: nothing more can be filed.
    IntakeGone,
}

/// What is known of one message before its body is fetched.
#[derive(Debug, Clone)]
struct Meta {
    uid: u32,
    size: u64,
    arrived_at: Option<String>,
    /// The message carries the done keyword (an earlier lndx filed it).
    done: bool,
}

/// A message handed to the intake worker, waiting for its answer.
struct Pending {
    uid: u32,
    done: mpsc::Receiver<Result<i64, String>>,
}

impl Watcher {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.timeout_secs.max(1))
    }

    fn key_prefix(&self) -> String {
        format!("imap:{}:{}:", self.account, self.folder)
    }

    /// Why a message is filed without a reply, if it is: it carries the done keyword (an
    /// earlier lndx answered it: a fresh data folder or an old backup must not answer it
    /// again), or it was in the folder before this data folder first watched it and
    /// `existing_mail = "file"`.
    fn no_reply(&self, m: &Meta) -> Option<&'static str> {
        if m.done {
            return Some("done_keyword");
        }
        let old = self.history_uid.is_some_and(|h| m.uid <= h);
        (old && self.cfg.existing_mail == crate::mailbox::imap::ExistingMail::File)
            .then_some("existing_mail")
    }

    fn key(&self, uidvalidity: u32, uid: u32) -> String {
        format!("{}{}:{}", self.key_prefix(), uidvalidity, uid)
    }

    /// Runs until shutdown, reconnecting as needed: 1 s after a failure, doubling up to
    /// 5 min, at least 30 s when retrying soon does not help (login, TLS, config), ±25 %
    /// jitter; a session that had been fine for a minute starts the count afresh.
    pub async fn run(mut self) {
        const DELAYS: Exponential = Exponential {
            first: Duration::from_secs(1),
            max: Duration::from_secs(300),
        };
        let mut failures = 0u32;
        loop {
            if self.shutdown.is_set() {
                return;
            }
            let started = Instant::now();
            let result = match conn::open(&self.cfg).await {
                Ok(opened) => self.session(opened).await,
                Err(f) => Err(f),
            };
            self.health.set_connected(false);
            let f = match result {
                Ok(End::Shutdown) => return,
                Ok(End::IntakeGone) => {
                    tracing::error!("the intake worker stopped; IMAP watching ends");
                    return;
                }
                Err(f) => f,
            };
            self.health.error();
            if started.elapsed() > Duration::from_secs(60) {
                // The session had been fine for a while: this is a fresh failure.
                failures = 0;
            }
            let mut wait = DELAYS.delay(failures);
            if f.is_persistent() {
                wait = wait.max(Duration::from_secs(30));
            }
            let wait = jitter(wait, 0.25);
            tracing::warn!(error = %f, hint = f.hint(), retry_in = ?wait, "IMAP session ended");
            let mut sd = self.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = sd.wait() => return,
            }
            failures = failures.saturating_add(1);
        }
    }

    async fn session(&mut self, opened: Opened) -> Result<End, Fail> {
        let t = self.timeout();
        let idle = opened.has("IDLE");
        let can_move = opened.has("MOVE");
        let Opened {
            mut session,
            server,
            ..
        } = opened;
        let mbox = match tokio::time::timeout(t, session.select(&self.folder)).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                return Err(Fail::new(
                    Stage::Folder,
                    format!("SELECT {}: {e}", self.cfg.folder),
                ))
            }
            Err(_) => return Err(Fail::new(Stage::Protocol, "SELECT: no answer")),
        };
        let Some(uidvalidity) = mbox.uid_validity else {
            return Err(Fail::new(
                Stage::Protocol,
                "the server gives no UIDVALIDITY; UIDs cannot be trusted",
            ));
        };
        let mut state = self.reconcile(uidvalidity, mbox.uid_next)?;
        self.health.set_connected(true);
        tracing::info!(
            host = %self.cfg.host,
            folder = %self.cfg.folder,
            server = server.as_deref().unwrap_or("-"),
            uidvalidity,
            last_uid = state.last_uid,
            idle,
            "IMAP session open"
        );
        let poll = Duration::from_secs(self.cfg.poll_secs.max(1));
        let idle_max = Duration::from_secs(self.cfg.idle_secs.clamp(1, 600));
        let mut sd = self.shutdown.clone();
        loop {
            match self.pass(&mut session, &mut state, can_move).await? {
                PassEnd::Done => {}
                PassEnd::Retry => {
                    // The intake worker failed (database, disk): try again later.
                }
                PassEnd::IntakeGone => return Ok(End::IntakeGone),
            }
            self.copy_sent(&mut session).await?;
            let last_pass = Instant::now();
            if self.shutdown.is_set() {
                logout(session, t).await;
                return Ok(End::Shutdown);
            }
            // New mail announced during the pass: look again at once.
            if drain_news(&session) {
                continue;
            }
            if idle {
                let wait = idle_max.min(poll);
                let mut handle = session.idle();
                step(t, "IDLE", handle.init()).await?;
                let woke = {
                    let (fut, stop) = handle.wait_with_timeout(wait);
                    let sent = self.sent.clone();
                    let copy_due = self
                        .cfg
                        .sent_folder
                        .as_deref()
                        .is_some_and(|f| !f.is_empty());
                    let r = tokio::select! {
                        r = tokio::time::timeout(wait + Duration::from_secs(5), fut) => Some(r),
                        _ = sent.notified(), if copy_due => Some(Ok(Ok(IdleResponse::ManualInterrupt))),
                        _ = sd.wait() => None,
                    };
                    drop(stop);
                    r
                };
                session = step(t, "DONE", handle.done()).await?;
                match woke {
                    None => {
                        logout(session, t).await;
                        return Ok(End::Shutdown);
                    }
                    Some(Ok(Ok(IdleResponse::NewData(d)))) => {
                        tracing::debug!(data = ?d.parsed(), "IDLE woke");
                    }
                    Some(Ok(Ok(_))) | Some(Err(_)) => {}
                    Some(Ok(Err(e))) => {
                        return Err(Fail::new(Stage::Protocol, format!("IDLE: {e}")))
                    }
                }
            } else {
                // No IDLE: NOOP now and then, a full pass at least every `poll`.
                loop {
                    let left = poll.saturating_sub(last_pass.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    let nap = left.min(Duration::from_secs(NOOP_SECS));
                    tokio::select! {
                        _ = tokio::time::sleep(nap) => {}
                        _ = sd.wait() => {
                            logout(session, t).await;
                            return Ok(End::Shutdown);
                        }
                    }
                    step(t, "NOOP", session.noop()).await?;
                    if drain_news(&session) {
                        break;
                    }
                }
            }
        }
    }

    /// Compares the server's UIDVALIDITY with the stored one. A change means the UIDs were
    /// renumbered: start again from the first UID and re-match by content.
    fn reconcile(&mut self, uidvalidity: u32, uid_next: Option<u32>) -> Result<FolderState, Fail> {
        let db = |e: crate::registry::RegistryError| Fail::new(Stage::Protocol, e.to_string());
        let stored = self
            .reg
            .imap_folder(&self.account, &self.folder)
            .map_err(db)?;
        let first = stored.is_none();
        let state = match stored {
            Some(s) if s.uidvalidity == uidvalidity => s,
            Some(s) => {
                self.health.error();
                tracing::warn!(
                    folder = %self.cfg.folder,
                    old = s.uidvalidity,
                    new = uidvalidity,
                    "the server changed the folder's UIDVALIDITY: every message is looked at again \
                     and re-matched by content; nothing already filed is filed twice — check that \
                     the mailbox was not restored or replaced"
                );
                FolderState {
                    uidvalidity,
                    last_uid: 0,
                }
            }
            None => FolderState {
                uidvalidity,
                last_uid: 0,
            },
        };
        self.reg
            .set_imap_folder(&self.account, &self.folder, state)
            .map_err(db)?;
        if first {
            // What is in the folder now is old mail (UIDs below UIDNEXT).
            let old = uid_next.unwrap_or(1).saturating_sub(1);
            self.reg
                .set_imap_history(&self.account, &self.folder, old)
                .map_err(db)?;
            if old > 0 {
                tracing::info!(
                    folder = %self.cfg.folder,
                    up_to_uid = old,
                    existing_mail = ?self.cfg.existing_mail,
                    "first run on this folder: the mail already in it is old mail"
                );
            }
        }
        self.history_uid = self
            .reg
            .imap_history(&self.account, &self.folder)
            .map_err(db)?;
        Ok(state)
    }

    /// Files everything after `state.last_uid`.
    async fn pass(
        &mut self,
        s: &mut ImapSession,
        state: &mut FolderState,
        can_move: bool,
    ) -> Result<PassEnd, Fail> {
        let t = self.timeout();
        let found = step(
            t,
            "UID SEARCH",
            s.uid_search(format!("UID {}:*", state.last_uid.saturating_add(1))),
        )
        .await?;
        // `n:*` also matches the highest UID when nothing is newer.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > state.last_uid).collect();
        uids.sort_unstable();
        if uids.is_empty() {
            self.health.polled();
            return Ok(PassEnd::Done);
        }
        tracing::debug!(count = uids.len(), "new messages");
        for chunk in uids.chunks(META_CHUNK) {
            let metas = self.fetch_meta(s, chunk).await?;
            let end = self.file_chunk(s, state, &metas, can_move).await?;
            if !matches!(end, PassEnd::Done) {
                return Ok(end);
            }
            if self.shutdown.is_set() {
                break;
            }
        }
        Ok(PassEnd::Done)
    }

    async fn fetch_meta(&self, s: &mut ImapSession, uids: &[u32]) -> Result<Vec<Meta>, Fail> {
        let t = self.timeout();
        let set = uid_set(uids);
        let fetches: Vec<Fetch> = step(t, "UID FETCH (meta)", async {
            s.uid_fetch(&set, "(UID RFC822.SIZE INTERNALDATE FLAGS)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        let mut by_uid: HashMap<u32, Meta> = HashMap::new();
        let kw = self.cfg.done_keyword.trim();
        for f in fetches {
            let Some(uid) = f.uid else { continue };
            let done = !kw.is_empty()
                && f.flags().any(|flag| match flag {
                    async_imap::types::Flag::Custom(c) => c.eq_ignore_ascii_case(kw),
                    _ => false,
                });
            by_uid.insert(
                uid,
                Meta {
                    uid,
                    done,
                    size: f.size.map(u64::from).unwrap_or(0),
                    arrived_at: f.internal_date().map(|d| {
                        d.with_timezone(&Utc)
                            .to_rfc3339_opts(SecondsFormat::Secs, true)
                    }),
                },
            );
        }
        // A UID the server no longer has (expunged meanwhile) is simply absent.
        Ok(uids.iter().filter_map(|u| by_uid.remove(u)).collect())
    }

    /// Files the messages of one chunk in UID order.
    async fn file_chunk(
        &mut self,
        s: &mut ImapSession,
        state: &mut FolderState,
        metas: &[Meta],
        can_move: bool,
    ) -> Result<PassEnd, Fail> {
        let mut rest = metas;
        while !rest.is_empty() {
            if self.shutdown.is_set() {
                return Ok(PassEnd::Done);
            }
            let (group, bytes) = self.body_group(rest);
            rest = &rest[group.len()..];
            let known = self.known_filed(state, group)?;
            let wanted: Vec<u32> = group
                .iter()
                .zip(&known)
                .filter(|(m, k)| !**k && m.size <= self.limits.message_bytes)
                .map(|(m, _)| m.uid)
                .collect();
            let bodies = self.fetch_bodies(s, &wanted, bytes).await?;
            match self
                .file_group(s, state, group, known, bodies, can_move)
                .await?
            {
                PassEnd::Done => {}
                end => return Ok(end),
            }
        }
        Ok(PassEnd::Done)
    }

    /// The first messages of `metas` whose bodies are fetched in one command: at most
    /// `BODY_CHUNK` of them and `BODY_BYTES` together (always at least one), and the bytes
    /// expected (each message counted up to the size limit).
    fn body_group<'m>(&self, metas: &'m [Meta]) -> (&'m [Meta], u64) {
        let mut n = 0;
        let mut bytes = 0u64;
        while n < metas.len() && n < BODY_CHUNK {
            let m = &metas[n];
            if n > 0 && bytes + m.size.min(BODY_BYTES) > BODY_BYTES {
                break;
            }
            bytes += m.size.min(self.limits.message_bytes);
            n += 1;
        }
        (&metas[..n], bytes)
    }

    /// For each message of the group, whether the database already has it filed (under
    /// its key, or its oversize key); a `received` row still needs filing.
    fn known_filed(&self, state: &FolderState, group: &[Meta]) -> Result<Vec<bool>, Fail> {
        group
            .iter()
            .map(|m| {
                let key = self.key(state.uidvalidity, m.uid);
                let over = format!("{key}:oversize");
                let st = self
                    .reg
                    .source_state(&[&key, &over])
                    .map_err(|e| Fail::new(Stage::Protocol, e.to_string()))?;
                Ok(matches!(st, Some(s) if s != MessageState::Received))
            })
            .collect()
    }

    /// The bodies of `wanted` in one UID FETCH, by UID; the timeout grows with the bytes
    /// expected (one more second per 256 KiB).
    async fn fetch_bodies(
        &self,
        s: &mut ImapSession,
        wanted: &[u32],
        bytes: u64,
    ) -> Result<HashMap<u32, Vec<u8>>, Fail> {
        let mut bodies = HashMap::new();
        if wanted.is_empty() {
            return Ok(bodies);
        }
        let tb = self.timeout() + Duration::from_secs(bytes / (256 * 1024));
        let fetches: Vec<Fetch> = step(tb, "UID FETCH (body)", async {
            s.uid_fetch(uid_set(wanted), "(UID BODY.PEEK[])")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        for f in fetches {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                bodies.insert(uid, body.to_vec());
            }
        }
        Ok(bodies)
    }

    /// Hands the group to the intake worker, a few at a time, and settles each message in
    /// order (keyword, move, last UID). `Retry` when one could not be settled.
    async fn file_group(
        &mut self,
        s: &mut ImapSession,
        state: &mut FolderState,
        group: &[Meta],
        known: Vec<bool>,
        mut bodies: HashMap<u32, Vec<u8>>,
        can_move: bool,
    ) -> Result<PassEnd, Fail> {
        let mut in_flight: std::collections::VecDeque<Pending> = Default::default();
        let mut settled_ok = true;
        for (m, known) in group.iter().zip(known) {
            let pending = if known {
                // Filed before (a crash came between filing and marking): mark only.
                Pending {
                    uid: m.uid,
                    done: ready(Ok(0)),
                }
            } else {
                match self.hand_over(s, state, m, &mut bodies).await? {
                    Some(p) => p,
                    None => return Ok(PassEnd::IntakeGone),
                }
            };
            in_flight.push_back(pending);
            while in_flight.len() >= IN_FLIGHT {
                let p = in_flight.pop_front().expect("non-empty");
                if !self.settle(s, state, p, can_move, &mut settled_ok).await? {
                    return Ok(PassEnd::IntakeGone);
                }
            }
        }
        while let Some(p) = in_flight.pop_front() {
            if !self.settle(s, state, p, can_move, &mut settled_ok).await? {
                return Ok(PassEnd::IntakeGone);
            }
        }
        Ok(if settled_ok {
            PassEnd::Done
        } else {
            PassEnd::Retry
        })
    }

    /// One message not yet filed: its raw bytes (the fetched body, or the header alone
    /// above the size limit) go to the intake worker, unless the same bytes were filed
    /// under an earlier UIDVALIDITY or the message vanished. None when the intake worker
    /// is gone.
    async fn hand_over(
        &mut self,
        s: &mut ImapSession,
        state: &FolderState,
        m: &Meta,
        bodies: &mut HashMap<u32, Vec<u8>>,
    ) -> Result<Option<Pending>, Fail> {
        let answered = |id| {
            Some(Pending {
                uid: m.uid,
                done: ready(Ok(id)),
            })
        };
        let oversize = m.size > self.limits.message_bytes;
        let key = self.key(state.uidvalidity, m.uid);
        let (raw, key) = if oversize {
            let head = self.fetch_header(s, m.uid).await?;
            self.health.fetched();
            let raw = oversized(&head, m.size, self.limits.message_bytes);
            (raw, format!("{key}:oversize"))
        } else if let Some(body) = bodies.remove(&m.uid) {
            self.health.fetched();
            (body, key)
        } else {
            // Expunged by someone else between SEARCH and FETCH.
            tracing::info!(uid = m.uid, "message vanished before its body was fetched");
            return Ok(answered(0));
        };
        if let Some(id) = self.filed_before_uidvalidity_change(state, &raw)? {
            tracing::warn!(
                uid = m.uid,
                message = id,
                "same bytes as a message filed before the UIDVALIDITY change: not filed again"
            );
            return Ok(answered(id));
        }
        let (tx, rx) = mpsc::channel();
        let job = Job {
            raw,
            source: SourceRef {
                source: "imap",
                key: Some(key),
                arrived_at: m.arrived_at.clone(),
                declared_size: oversize.then_some(m.size),
                no_reply: self.no_reply(m),
            },
            done: tx,
        };
        let jobs = self.jobs.clone();
        let sent = tokio::task::spawn_blocking(move || jobs.send(job).is_ok())
            .await
            .unwrap_or(false);
        Ok(sent.then_some(Pending {
            uid: m.uid,
            done: rx,
        }))
    }

    /// The message id of the same bytes filed from this folder under an earlier
    /// UIDVALIDITY (the server renumbered its messages): such a message is not filed again.
    fn filed_before_uidvalidity_change(
        &self,
        state: &FolderState,
        raw: &[u8],
    ) -> Result<Option<i64>, Fail> {
        self.reg
            .filed_in_earlier_epoch(
                &sha256_hex(raw),
                &self.key_prefix(),
                &format!("{}{}:", self.key_prefix(), state.uidvalidity),
            )
            .map_err(|e| Fail::new(Stage::Protocol, e.to_string()))
    }

    /// Waits for the intake's answer on one message, then marks it and advances the UID.
    /// After a failure, later messages are still waited for but not marked, so the UID
    /// never passes a message that was not filed. False when the intake worker is gone.
    async fn settle(
        &mut self,
        s: &mut ImapSession,
        state: &mut FolderState,
        p: Pending,
        can_move: bool,
        ok_so_far: &mut bool,
    ) -> Result<bool, Fail> {
        let rx = p.done;
        let answer = tokio::task::spawn_blocking(move || rx.recv())
            .await
            .ok()
            .and_then(|r| r.ok());
        let Some(answer) = answer else {
            return Ok(false);
        };
        if let Err(e) = answer {
            *ok_so_far = false;
            tracing::error!(uid = p.uid, error = %e, "not filed; will try again");
            return Ok(true);
        }
        if !*ok_so_far {
            return Ok(true);
        }
        self.mark(s, p.uid, can_move).await?;
        state.last_uid = state.last_uid.max(p.uid);
        self.reg
            .set_imap_folder(&self.account, &self.folder, *state)
            .map_err(|e| Fail::new(Stage::Protocol, e.to_string()))?;
        Ok(true)
    }

    /// Sets the done keyword and/or moves the message, as configured. Never expunges.
    async fn mark(&self, s: &mut ImapSession, uid: u32, can_move: bool) -> Result<(), Fail> {
        let t = self.timeout();
        let set = uid.to_string();
        let kw = self.cfg.done_keyword.trim();
        if !kw.is_empty() {
            step(t, "UID STORE", async {
                s.uid_store(&set, format!("+FLAGS.SILENT ({kw})"))
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
        }
        if let Some(dest) = self.cfg.move_to.as_deref().filter(|d| !d.is_empty()) {
            let dest = conn::mailbox_name(dest);
            if can_move {
                step(t, "UID MOVE", s.uid_mv(&set, &dest)).await?;
            } else {
                step(t, "UID COPY", s.uid_copy(&set, &dest)).await?;
            }
        }
        Ok(())
    }

    async fn fetch_header(&self, s: &mut ImapSession, uid: u32) -> Result<Vec<u8>, Fail> {
        let t = self.timeout();
        let fetches: Vec<Fetch> = step(t, "UID FETCH (header)", async {
            s.uid_fetch(uid.to_string(), "(UID BODY.PEEK[HEADER])")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.header())
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// Copies replies sent since the last time into the Sent folder.
    async fn copy_sent(&mut self, s: &mut ImapSession) -> Result<(), Fail> {
        let Some(sent) = self.cfg.sent_folder.clone().filter(|f| !f.is_empty()) else {
            return Ok(());
        };
        let t = self.timeout();
        let marker = format!("{}#sent", self.account);
        let db = |e: crate::registry::RegistryError| Fail::new(Stage::Protocol, e.to_string());
        loop {
            let after = self
                .reg
                .imap_folder(&marker, &sent)
                .map_err(db)?
                .map(|st| st.last_uid as i64)
                .unwrap_or(0);
            let (rows, settled) = self.reg.sent_replies_after(after, 50).map_err(db)?;
            if settled == after {
                return Ok(());
            }
            for r in &rows {
                let date = r
                    .sent_at
                    .as_deref()
                    .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
                    .map(|d| format!("\"{}\"", d.format("%d-%b-%Y %H:%M:%S %z")));
                let res = tokio::time::timeout(
                    t,
                    s.append(
                        conn::mailbox_name(&sent),
                        Some("(\\Seen)"),
                        date.as_deref(),
                        &r.body,
                    ),
                )
                .await;
                match res {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        // The folder is missing or the server refuses: keep the reply
                        // pending for the next pass, say so, and go on filing.
                        tracing::warn!(folder = %sent, outbox = r.id, error = %e,
                            "cannot copy a sent reply to the Sent folder");
                        return Ok(());
                    }
                    Err(_) => {
                        return Err(Fail::new(Stage::Protocol, "APPEND: no answer"));
                    }
                }
            }
            let st = FolderState {
                uidvalidity: 0,
                last_uid: settled as u32,
            };
            self.reg.set_imap_folder(&marker, &sent, st).map_err(db)?;
        }
    }
}

enum PassEnd {
    Done,
    Retry,
    IntakeGone,
}

/// An already-answered job.
fn ready(v: Result<i64, String>) -> mpsc::Receiver<Result<i64, String>> {
    let (tx, rx) = mpsc::channel();
    let _ = tx.send(v);
    rx
}

/// Drains unsolicited responses; true when new mail was announced.
fn drain_news(s: &ImapSession) -> bool {
    let mut news = false;
    while let Ok(r) = s.unsolicited_responses.try_recv() {
        if matches!(
            r,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        ) {
            news = true;
        }
    }
    news
}

async fn logout(mut s: ImapSession, t: Duration) {
    let _ = tokio::time::timeout(t.min(Duration::from_secs(5)), s.logout()).await;
}

/// `1:3,7,9:10` for sorted UIDs.
pub(super) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// A stand-in for a message over the size limit whose body was not downloaded: its
/// header, then a note. The filing is told the real size and answers `too_large`.
pub(super) fn oversized(header: &[u8], size: u64, limit: u64) -> Vec<u8> {
    let head = header
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| &header[..p + 2])
        .or_else(|| {
            header
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| &header[..p + 1])
        })
        .unwrap_or(header);
    let mut raw = head.to_vec();
    raw.extend_from_slice(b"\r\n");
    raw.extend_from_slice(
        format!(
            "[lndx: this message is {size} bytes on the server, over the limit of {limit}; \
             only its header was fetched]\r\n"
        )
        .as_bytes(),
    );
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn oversized_stand_in_passes_the_limit_and_keeps_the_header() {
        let h = b"From: a@b.test\r\nSubject: big\r\n\r\n";
        let raw = oversized(h, 5000, 1000);
        assert!(raw.len() < 200, "no padding is stored");
        assert!(raw.starts_with(b"From: a@b.test\r\nSubject: big\r\n\r\n[lndx:"));
    }
}
