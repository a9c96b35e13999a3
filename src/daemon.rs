//! Daemon: `lndx run` — the only place that knows every long-running part and wires them:
//! a mailbox [`Source`] hands raw messages to the intake worker, which files them and
//! queues replies; the outbox worker delivers queued mail; the scheduler queues weekly
//! reports; the web server ([`crate::web`]) serves the console, /healthz and /metrics.
//!
//! Each part runs on its own thread with its own registry connection (SQLite in WAL mode
//! lets them share the file). Shutdown (SIGTERM/SIGINT) is a [`Shutdown`] signal every loop
//! watches; the intake worker finishes the message in hand before it stops.
//!
//! The parts come ready-made in a [`Daemon`] (the `run` command builds them from the
//! config); [`run`] only starts them, in the order of the steps below, and stops them.
//!
//! Every message intake returns is logged in one line that says what it came to
//! ([`log_outcome`]); the `ingest` and `reprocess` commands log theirs with it too.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use crate::health::Health;
use crate::intake::{Filed, Intake};
use crate::mailbox::{Feed, Job, Source};
use crate::outbox::Transport;
use crate::registry::{Registry, RegistryError};
use crate::report::Scheduler;
use crate::shutdown::{Shutdown, Trigger};

/// Messages the source may hand over before the intake worker has taken them.
const QUEUE: usize = 16;

/// Everything `lndx run` runs, prepared (configuration problems surface while building
/// it, before anything starts).
pub struct Daemon {
    /// Files messages: owned by the intake worker.
    pub intake: Intake,
    /// The data directory: each part opens its own registry connection in it.
    pub data_dir: PathBuf,
    /// The mailbox watched.
    pub source: Box<dyn Source>,
    /// Where queued mail goes.
    pub transport: Transport,
    /// Replies to one recipient per day (0: no cap).
    pub cap: u32,
    /// The weekly report's scheduler; None when reports are off or have no recipients.
    pub scheduler: Option<Scheduler>,
    /// The console, /healthz and /metrics, with the loopback address they are served on
    /// (checked by [`crate::health::check_listen`]); None: not served.
    pub web: Option<(std::net::SocketAddr, crate::web::Console)>,
    /// When /healthz turns degraded (`[health]`).
    pub thresholds: crate::health::Thresholds,
    /// Converter workers making LibreOffice conversions ahead of filing (0: the intake
    /// worker converts itself, holding up the queue).
    pub converter_workers: usize,
}

/// Why `lndx run` could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot open the registry in {}", dir.display())]
    Open {
        dir: PathBuf,
        #[source]
        source: RegistryError,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot start the {name} thread")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What the threads share: the shutdown signal, the health counters and the two wake-ups.
struct Shared {
    shutdown: Shutdown,
    health: Arc<Health>,
    /// Rung when there may be mail to send (a message was filed, a report queued, shutdown).
    outbox_wake: Arc<Notify>,
    /// Rung by the outbox after it sent mail, so the IMAP session copies replies to Sent.
    sent_wake: Arc<Notify>,
}

/// Runs the daemon until SIGTERM or SIGINT, then stops every part and waits for it.
pub fn run(d: Daemon) -> Result<(), DaemonError> {
    let Daemon {
        intake,
        data_dir,
        source,
        transport,
        cap,
        scheduler,
        web,
        thresholds,
        converter_workers,
    } = d;
    // Opened here first so that database problems stop start-up.
    let mut reg = open(&data_dir)?;
    finish_interrupted(&intake, &mut reg)?;

    let (trigger, shutdown) = Shutdown::channel();
    let shared = Shared {
        shutdown,
        health: Arc::new(Health::new(thresholds)),
        outbox_wake: Arc::new(Notify::new()),
        sent_wake: Arc::new(Notify::new()),
    };
    let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
    let mut threads = vec![start_intake(
        intake,
        reg,
        queue,
        converter_workers,
        &shared,
    )?];
    threads.push(start_outbox(transport, open(&data_dir)?, cap, &shared)?);
    if let Some(scheduler) = scheduler {
        threads.push(start_scheduler(scheduler, &shared)?);
    }
    if let Some((listen, console)) = web {
        threads.push(start_web(listen, console, &shared)?);
    }
    threads.push(start_source(source, jobs, &shared)?);

    wait_for_signal();
    stop(trigger, &shared, threads);
    Ok(())
}

/// Opens a registry connection for one part.
fn open(data_dir: &Path) -> Result<Registry, DaemonError> {
    Registry::open(data_dir).map_err(|source| DaemonError::Open {
        dir: data_dir.to_path_buf(),
        source,
    })
}

/// Starts a named thread.
fn spawn(
    name: &'static str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, DaemonError> {
    thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| DaemonError::Thread { name, source })
}

/// Finishes what a crash left half done: mail that was being handed to the SMTP server is
/// marked `unknown` rather than resent blindly, and messages stored but not filed are
/// filed now.
fn finish_interrupted(intake: &Intake, reg: &mut Registry) -> Result<(), DaemonError> {
    let interrupted = reg.recover_in_flight()?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "mail was being sent when lndx stopped; marked unknown, not resent"
        );
    }
    for id in reg.unfinished_messages()? {
        if let Some(raw) = reg.raw_message(id)? {
            let (_, arrived) = reg.message_source(id)?.unwrap_or_default();
            match intake.process_stored(reg, id, &raw, arrived.as_deref()) {
                Ok(filed) => log_outcome(&filed),
                Err(e) => tracing::error!(id, error = %e, "cannot finish a stored message"),
            }
        }
    }
    Ok(())
}

/// What one message came to, counted from its JSON result the way its reply counts it
/// (`reply::Tally`): entries accepted, files to fix, late and held entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    pub to_fix: usize,
    pub late: usize,
    pub held: usize,
    /// The receipts of the entries filed, in order.
    pub receipts: Vec<String>,
}

impl Counts {
    /// Counts a result as printed by `ingest --json` (docs/intake.md#json-result).
    pub fn of(result: &Value) -> Counts {
        let mut c = Counts::default();
        for a in result["attachments"].as_array().into_iter().flatten() {
            let has_errors = a["errors"].as_array().is_some_and(|e| !e.is_empty());
            if has_errors {
                c.to_fix += 1;
            }
            let entry = &a["entry"];
            if let Some(r) = entry["receipt"].as_str() {
                c.receipts.push(r.to_string());
            }
            let late = entry["late"].as_bool().unwrap_or(false);
            match entry["status"].as_str() {
                Some("held") => c.held += 1,
                Some("valid") if late => c.late += 1,
                Some("valid") if !has_errors => c.accepted += 1,
                _ => {}
            }
        }
        c
    }
}

/// Logs the one line that says what a message intake returned came to: `filed` with its
/// province, batch, receipts and counts (accepted, to fix, late, held) and whom the reply
/// goes to; `skipped` with the reason it is not answered (an auto-reply, a bounce, our own
/// mail …); `already filed` for a source message filed before. Fields are written with
/// Display (`province=GD`), and a field the message does not have is left out.
pub fn log_outcome(filed: &Filed) {
    use tracing::field::display;
    let v = &filed.json;
    let id = filed.id;
    let text = |key: &str| v[key].as_str().map(display);
    if !filed.fresh {
        tracing::info!(id, "already filed; not filed again");
        return;
    }
    if let Some(reason) = text("skipped") {
        tracing::info!(
            id,
            from = text("from"),
            reason,
            "skipped (filed, not answered)"
        );
        return;
    }
    let c = Counts::of(v);
    let join = |items: &[String]| Some(items.join(",")).filter(|s| !s.is_empty()).map(display);
    let codes: Vec<String> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str().map(String::from))
        .collect();
    let reply_to: Vec<String> = v["reply"]["to"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(String::from))
        .collect();
    tracing::info!(
        id,
        from = text("from"),
        province = text("province"),
        batch = v["batch"].as_u64(),
        receipts = join(&c.receipts),
        accepted = c.accepted,
        to_fix = c.to_fix,
        late = c.late,
        held = c.held,
        problems = join(&codes),
        reply_to = join(&reply_to),
        "filed"
    );
}

/// A stored message waiting to be filed: behind its own conversions, or behind an
/// earlier message of the same sender.
struct Waiting {
    id: i64,
    raw: Vec<u8>,
    source: crate::registry::SourceRef,
    /// Its conversions are done (or it needs none).
    ready: bool,
}

/// The intake worker's queue of messages waiting to be filed, one FIFO per sender:
/// replies to one sender follow the order their messages arrived, while messages of other
/// senders are filed as they come (a legacy file converting does not hold them up).
#[derive(Default)]
struct Order {
    senders: std::collections::HashMap<String, std::collections::VecDeque<Waiting>>,
}

impl Order {
    fn busy(&self, sender: &str) -> bool {
        self.senders.get(sender).is_some_and(|q| !q.is_empty())
    }

    fn push(&mut self, sender: String, w: Waiting) {
        self.senders.entry(sender).or_default().push_back(w);
    }

    /// Marks message `id` converted; returns its sender.
    fn converted(&mut self, id: i64) -> Option<String> {
        for (sender, q) in self.senders.iter_mut() {
            if let Some(w) = q.iter_mut().find(|w| w.id == id) {
                w.ready = true;
                return Some(sender.clone());
            }
        }
        None
    }

    /// The messages of `sender` that can be filed now, in order.
    fn take_ready(&mut self, sender: &str) -> Vec<Waiting> {
        let mut out = Vec::new();
        if let Some(q) = self.senders.get_mut(sender) {
            while q.front().is_some_and(|w| w.ready) {
                out.extend(q.pop_front());
            }
            if q.is_empty() {
                self.senders.remove(sender);
            }
        }
        out
    }

    /// Everything still waiting, each sender's in order (at shutdown).
    fn drain(&mut self) -> Vec<Waiting> {
        self.senders.drain().flat_map(|(_, q)| q).collect()
    }
}

/// Where the intake worker hands a message's conversions to the converter workers.
type ConvertQueue = mpsc::Sender<(i64, Vec<crate::convert::Conversion>)>;

/// Starts `n` converter workers: each takes a message's conversions, makes them ahead
/// ([`crate::convert::Converter::prepare`]: LibreOffice runs outside the intake worker),
/// and says the message is ready. They end when the intake worker drops its sender.
fn start_converters(
    n: usize,
    converter: crate::convert::Converter,
    ready: mpsc::Sender<i64>,
) -> Result<(ConvertQueue, Vec<JoinHandle<()>>), DaemonError> {
    let (tx, rx) = mpsc::channel::<(i64, Vec<crate::convert::Conversion>)>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let mut handles = Vec::new();
    for _ in 0..n.max(1) {
        let rx = rx.clone();
        let ready = ready.clone();
        let converter = converter.clone();
        handles.push(spawn("converter", move || {
            // Each worker its own warm LibreOffice (started now, so that the first legacy
            // file does not wait for it; killed when the worker ends), or cold conversions
            // without python3-uno.
            let mut warm = converter.warm();
            if let Some(w) = warm.as_mut() {
                w.start_now();
            }
            loop {
                let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((id, conversions)) = next else { return };
                for c in &conversions {
                    converter.prepare_with(c, warm.as_mut());
                }
                if ready.send(id).is_err() {
                    return;
                }
            }
        })?);
    }
    Ok((tx, handles))
}

/// Starts the intake worker, the only writer of filings. Each message is stored raw first
/// (and the source answered: from then on it is safe, a crash leaves it to be filed at the
/// next start). A message whose files need LibreOffice waits for converter workers while
/// the queue moves on; a message from a sender with a message still waiting waits behind
/// it, so replies to one sender follow arrival order. It ends when every job sender is
/// gone, after filing what still waits.
fn start_intake(
    intake: Intake,
    mut reg: Registry,
    queue: mpsc::Receiver<Job>,
    converter_workers: usize,
    shared: &Shared,
) -> Result<JoinHandle<()>, DaemonError> {
    let health = shared.health.clone();
    let wake = shared.outbox_wake.clone();
    let (ready_tx, ready_rx) = mpsc::channel::<i64>();
    let pool = match intake.converter.clone() {
        Some(c) if converter_workers > 0 => Some(start_converters(converter_workers, c, ready_tx)?),
        _ => None,
    };
    spawn("intake", move || {
        let (convert, workers) = match pool {
            Some((tx, handles)) => (Some(tx), handles),
            None => (None, Vec::new()),
        };
        let mut order = Order::default();
        let file = |reg: &mut Registry, w: &Waiting| {
            let span =
                tracing::info_span!("message", source = %w.source.key.as_deref().unwrap_or("-"));
            let _g = span.enter();
            match intake.file_stored(reg, w.id, &w.raw, &w.source) {
                Ok(f) => {
                    health.filed();
                    log_outcome(&f);
                }
                Err(e) => {
                    health.error();
                    tracing::error!(id = w.id, error = %e, "cannot file a message");
                }
            }
            wake.notify_one();
        };
        loop {
            while let Ok(id) = ready_rx.try_recv() {
                if let Some(sender) = order.converted(id) {
                    for w in order.take_ready(&sender) {
                        file(&mut reg, &w);
                    }
                }
            }
            let job = match queue.recv_timeout(Duration::from_millis(20)) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let span =
                tracing::info_span!("message", source = %job.source.key.as_deref().unwrap_or("-"));
            let admitted = {
                let _g = span.enter();
                intake.admit(&mut reg, &job.raw, &job.source)
            };
            let id = match admitted {
                Ok(crate::intake::Admitted::Done(f)) => {
                    log_outcome(&f);
                    let _ = job.done.send(Ok(f.id));
                    continue;
                }
                Ok(crate::intake::Admitted::Stored { id }) => id,
                Err(e) => {
                    health.error();
                    tracing::error!(error = %e, "cannot store a message");
                    let _ = job.done.send(Err(e.to_string()));
                    continue;
                }
            };
            let prep = intake.prepare(&job.raw, &job.source);
            // Mail without a sender is ordered behind nothing.
            let sender = prep.sender.unwrap_or_else(|| format!("#{id}"));
            let w = Waiting {
                id,
                raw: job.raw,
                source: job.source,
                ready: true,
            };
            match &convert {
                Some(tx) if !prep.conversions.is_empty() => {
                    // Stored raw: the source may settle it now; it is filed once converted.
                    let _ = job.done.send(Ok(id));
                    order.push(sender, Waiting { ready: false, ..w });
                    if tx.send((id, prep.conversions)).is_err() {
                        tracing::error!(id, "the converter workers are gone");
                    }
                }
                _ if order.busy(&sender) => {
                    let _ = job.done.send(Ok(id));
                    order.push(sender, w);
                }
                _ => {
                    file(&mut reg, &w);
                    let _ = job.done.send(Ok(id));
                }
            }
        }
        // The sources are gone: wait for the conversions under way, then file what waits
        // (what is not ready converts here).
        drop(convert);
        for h in workers {
            let _ = h.join();
        }
        for w in order.drain() {
            file(&mut reg, &w);
        }
    })
}

/// Starts the outbox worker: a delivery pass whenever it is woken, and at least every
/// second; it stops between mails on shutdown, leaving the rest queued.
fn start_outbox(
    transport: Transport,
    reg: Registry,
    cap: u32,
    shared: &Shared,
) -> Result<JoinHandle<()>, DaemonError> {
    let mut shutdown = shared.shutdown.clone();
    let health = shared.health.clone();
    let wake = shared.outbox_wake.clone();
    let sent = shared.sent_wake.clone();
    spawn("outbox", move || {
        crate::runtime::block_on(async move {
            loop {
                let stopping = shutdown.clone();
                let stop = move || stopping.is_set();
                match crate::outbox::deliver_until(&reg, &transport, cap, &stop).await {
                    Ok(pass) => {
                        health.delivered(pass.sent, pass.failed);
                        if pass.sent > 0 {
                            sent.notify_one();
                        }
                    }
                    Err(e) => {
                        health.error();
                        tracing::error!(error = %e, "outbox");
                    }
                }
                if shutdown.is_set() {
                    break;
                }
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait() => {}
                }
            }
        })
    })
}

/// Starts the weekly report scheduler, which wakes the outbox when it queued a report.
fn start_scheduler(scheduler: Scheduler, shared: &Shared) -> Result<JoinHandle<()>, DaemonError> {
    let shutdown = shared.shutdown.clone();
    let wake = shared.outbox_wake.clone();
    let health = shared.health.clone();
    spawn("report", move || scheduler.run(shutdown, wake, health))
}

/// Starts the web server: the console, /healthz and /metrics. A port that cannot be
/// bound is logged and leaves the rest of the daemon running (as before the console).
fn start_web(
    listen: std::net::SocketAddr,
    console: crate::web::Console,
    shared: &Shared,
) -> Result<JoinHandle<()>, DaemonError> {
    let shutdown = shared.shutdown.clone();
    let health = shared.health.clone();
    spawn("web", move || {
        if let Err(e) = crate::web::serve(listen, console, health, shutdown) {
            tracing::error!(%listen, error = %e, "the console, /healthz and /metrics are not served");
        }
    })
}

/// Starts the mailbox source on a thread named after it; it feeds the intake worker.
fn start_source(
    source: Box<dyn Source>,
    jobs: mpsc::SyncSender<Job>,
    shared: &Shared,
) -> Result<JoinHandle<()>, DaemonError> {
    let feed = Feed {
        jobs,
        shutdown: shared.shutdown.clone(),
        health: shared.health.clone(),
        sent: shared.sent_wake.clone(),
    };
    spawn(source.name(), move || source.run(feed))
}

/// Waits for SIGTERM or SIGINT.
fn wait_for_signal() {
    crate::runtime::block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
}

/// Requests shutdown, wakes the outbox so it sees the request, and waits for every thread.
/// The intake worker ends once the source, its last job sender, has stopped.
fn stop(trigger: Trigger, shared: &Shared, threads: Vec<JoinHandle<()>>) {
    tracing::info!("shutting down");
    trigger.fire();
    shared.outbox_wake.notify_one();
    for t in threads {
        let _ = t.join();
    }
}
