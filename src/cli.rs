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
pub enum UserCommand {
    /// Create an account; its one-time sign-in link is the last line printed (and mailed
    /// to it when the outbox is SMTP).
    Add {
        /// The person's e-mail address (their login).
        #[arg(value_name = "EMAIL")]
        email: String,
        /// admin, staff, viewer, province or expert.
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// The province code (rules/provinces.toml) a province account sees.
        #[arg(long, value_name = "CODE")]
        province: Option<String>,
        /// The person's unit.
        #[arg(long, value_name = "UNIT")]
        unit: Option<String>,
        /// The person's name.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (it is kept) and end its sessions.
    Disable {
        #[arg(value_name = "EMAIL")]
        email: String,
    },
    /// Make a new sign-in link for an account (the last line printed).
    Link {
        #[arg(value_name = "EMAIL")]
        email: String,
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

pub fn user(app: &App, cmd: UserCommand) -> Result<ExitCode> {
    match cmd {
        UserCommand::Add {
            email,
            role,
            province,
            unit,
            name,
            json,
        } => commands::user::add(
            app,
            &commands::user::AddArgs {
                email,
                role,
                province,
                unit,
                name,
            },
            json,
        ),
        UserCommand::List { json } => commands::user::list(app, json),
        UserCommand::Disable { email } => commands::user::disable(app, &email),
        UserCommand::Link { email } => commands::user::link(app, &email),
    }
}

/// `lndx message …`: actions on a stored message.
#[derive(Subcommand)]
pub enum MessageCommand {
    /// Give a message held for an unknown province its province: its entries are filed
    /// with receipts for it and the sender gets the normal reply.
    AssignProvince {
        /// The stored message's id (`lndx attention`, `lndx registry messages`).
        #[arg(value_name = "MSG")]
        message: i64,
        /// The province: its code (GD, gd) or name (广东省, 广东), as in rules/provinces.toml.
        #[arg(value_name = "PROVINCE")]
        province: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Release a message held because the sender failed the authentication check: it is
    /// filed normally and answered.
    Release {
        /// The stored message's id.
        #[arg(value_name = "MSG")]
        message: i64,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Reject a held message: its entries stay held, counted nowhere.
    Reject {
        /// The stored message's id.
        #[arg(value_name = "MSG")]
        message: i64,
        /// Tell the sender (templates/desk.toml reject_held).
        #[arg(long)]
        notify: bool,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Mark a link-only, no-attachment, unreadable-file, quarantined or bounced message
    /// handled by hand.
    Handled {
        /// The stored message's id.
        #[arg(value_name = "MSG")]
        message: i64,
        /// What was done (required).
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// Also send the sender the templated reply (templates/desk.toml handled).
        #[arg(long)]
        reply: bool,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
}

/// `lndx entry …`: decisions on an entry, by receipt.
#[derive(Subcommand)]
pub enum EntryCommand {
    /// Accept a late entry into a batch; the sender is told.
    AcceptLate {
        /// The entry's receipt number (ZHZL-2021-BL-JL-R-0001).
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// The batch's number (rules/campaign.toml).
        #[arg(long, value_name = "N")]
        batch: u8,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Reject a late entry; the sender is told.
    RejectLate {
        /// The entry's receipt number (ZHZL-2021-BL-JL-R-0001).
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Withdraw an entry (撤回) at a province's request: kept, counted nowhere.
    Withdraw {
        /// The entry's receipt number (ZHZL-2021-BL-JL-R-0001).
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// Why (required), e.g. who asked.
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
}

/// `lndx outbox …`: queued mail that needs a decision, and the actions on it, by its outbox id.
#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Mail that needs a decision — unknown (a send cut off by a crash), failed, held by
    /// the loop guard — and whether a copy with its Message-ID is in the Sent folder.
    /// Read-only.
    List {
        /// Only this state: pending, sending, sent, failed, unknown or held [default:
        /// unknown, failed and held].
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        /// One JSON object per mail and line (id, message, purpose, message_id,
        /// recipients, state, attempts, last_error, created_at, sent_at, answered_from,
        /// answered_subject, in_sent_folder: true, false or null when not checked).
        #[arg(long)]
        json: bool,
    },
    /// Queue a failed, unknown or sent mail again under a new Message-ID, to its
    /// recipients or to another address.
    Resend {
        /// The mail's outbox id (`lndx attention`).
        #[arg(value_name = "ID")]
        id: i64,
        /// Send to this address instead.
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Settle a failed, unknown or held mail without sending it.
    Close {
        /// The mail's outbox id (`lndx attention`).
        #[arg(value_name = "ID")]
        id: i64,
        /// Why (required).
        #[arg(long, value_name = "TEXT")]
        note: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// Let mail held by the per-recipient daily cap (loop guard) go.
    Release {
        /// The mail's outbox id (`lndx attention`).
        #[arg(value_name = "ID")]
        id: i64,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
}

/// `lndx note …`: a note on an entry or a message.
#[derive(Subcommand)]
pub enum NoteCommand {
    /// A note on an entry, by receipt.
    Entry {
        /// The entry's receipt number (ZHZL-2021-BL-JL-R-0001).
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// The note.
        #[arg(value_name = "TEXT")]
        text: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
    /// A note on a stored message, by id.
    Message {
        /// The stored message's id.
        #[arg(value_name = "MSG")]
        message: i64,
        /// The note.
        #[arg(value_name = "TEXT")]
        text: String,
        /// Print one JSON document: {"audit", "summary", "queued"}, or {"error": {"code",
        /// "message"}} when refused.
        #[arg(long)]
        json: bool,
    },
}

pub fn message(app: &App, actor: &str, cmd: MessageCommand) -> Result<ExitCode> {
    use lndx::desk::Action;
    let (action, json) = match cmd {
        MessageCommand::AssignProvince {
            message,
            province,
            json,
        } => (Action::AssignProvince { message, province }, json),
        MessageCommand::Release { message, json } => (Action::ReleaseHeld { message }, json),
        MessageCommand::Reject {
            message,
            notify,
            json,
        } => (Action::RejectHeld { message, notify }, json),
        MessageCommand::Handled {
            message,
            note,
            reply,
            json,
        } => (
            Action::MarkHandled {
                message,
                note,
                reply,
            },
            json,
        ),
    };
    commands::desk::perform(app, actor, action, json)
}

pub fn entry(app: &App, actor: &str, cmd: EntryCommand) -> Result<ExitCode> {
    use lndx::desk::Action;
    let (action, json) = match cmd {
        EntryCommand::AcceptLate {
            receipt,
            batch,
            json,
        } => (Action::AcceptLate { receipt, batch }, json),
        EntryCommand::RejectLate { receipt, json } => (Action::RejectLate { receipt }, json),
        EntryCommand::Withdraw {
            receipt,
            note,
            json,
        } => (Action::Withdraw { receipt, note }, json),
    };
    commands::desk::perform(app, actor, action, json)
}

pub fn outbox(app: &App, actor: &str, cmd: OutboxCommand) -> Result<ExitCode> {
    use lndx::desk::Action;
    let (action, json) = match cmd {
        OutboxCommand::List { state, json } => {
            return commands::outbox::list(app, state.as_deref(), json)
        }
        OutboxCommand::Resend { id, to, json } => (Action::Resend { outbox: id, to }, json),
        OutboxCommand::Close { id, note, json } => (Action::CloseMail { outbox: id, note }, json),
        OutboxCommand::Release { id, json } => (Action::ReleaseMail { outbox: id }, json),
    };
    commands::desk::perform(app, actor, action, json)
}

pub fn note(app: &App, actor: &str, cmd: NoteCommand) -> Result<ExitCode> {
    use lndx::desk::{Action, NoteTarget};
    let (target, text, json) = match cmd {
        NoteCommand::Entry {
            receipt,
            text,
            json,
        } => (NoteTarget::Entry(receipt), text, json),
        NoteCommand::Message {
            message,
            text,
            json,
        } => (NoteTarget::Message(message), text, json),
    };
    commands::desk::perform(app, actor, Action::Note { target, text }, json)
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Review rounds: create one (its id is the last line printed), list them.
    Round {
        #[command(subcommand)]
        command: RoundCommand,
    },
    /// Experts: add one, import an .xlsx, declare a conflict, list them.
    Expert {
        #[command(subcommand)]
        command: ExpertCommand,
    },
    /// Compute the round's draft assignment (an exact min-cost flow: no conflict of
    /// interest, k experts per entry, the cap, balanced load, matched expertise). Exits 2
    /// naming the entries that cannot get k experts and why.
    Assign {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// One JSON document: {"round": …, "assignments": [{"receipt", "expert"}, …]}; on
        /// failure {"error": {"code", "message", "unservable": […]}}.
        #[arg(long)]
        json: bool,
    },
    /// The assignments in force in a round.
    Assignments {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// One JSON document: {"round": …, "assignments": [{"receipt", "expert"}, …]}.
        #[arg(long)]
        json: bool,
    },
    /// Change one entry's experts: take one off, put one on (checked against conflicts).
    Adjust {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// The entry's receipt number.
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// The expert to take off the entry.
        #[arg(long, value_name = "EMAIL")]
        remove: Option<String>,
        /// The expert to put on the entry (refused on a conflict of interest).
        #[arg(long, value_name = "EMAIL")]
        add: Option<String>,
    },
    /// An expert recuses from an entry: recorded as a declared conflict, replaced by the
    /// next-best feasible expert (the last line printed).
    Recuse {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// The entry's receipt number.
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// The expert who recuses.
        #[arg(value_name = "EMAIL")]
        expert: String,
        /// A note kept with it.
        #[arg(long, default_value = "", value_name = "TEXT")]
        note: String,
    },
    /// Publish the round's draft assignment: one invitation per expert listing all their
    /// entries, with the score sheet attached.
    Publish {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
    },
    /// Record a review version for an expert (a paper review entered by staff).
    Score {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// The entry's receipt number.
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// The expert whose review it is.
        #[arg(long, value_name = "EMAIL")]
        expert: String,
        /// KEY=POINTS, the criterion by key or name (repeat per criterion).
        #[arg(long = "score", value_name = "KEY=POINTS")]
        scores: Vec<String>,
        /// The review's comment (评审意见; required to submit).
        #[arg(long, default_value = "", value_name = "TEXT")]
        comment: String,
        /// One of review.toml's recommendations (推荐, 可推荐, 不推荐).
        #[arg(long, value_name = "WORD")]
        recommendation: Option<String>,
        /// Save without submitting.
        #[arg(long)]
        draft: bool,
    },
    /// Close a round: reviews can no longer change.
    Close {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
    },
    /// The round's ranking per kind by mean z-score (ties: raw mean, then receipt).
    Ranking {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// {"round": …, "entries": [{"receipt", "rank", "mean", "median", "mean_z",
        /// "spread", "flagged", "reviews"}, …]}
        #[arg(long)]
        json: bool,
    },
    /// Decide an entry: 推介 or 不推介 (recommend/decline), with a note; changeable until
    /// the decisions are published.
    Decide {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// The entry's receipt number.
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// 推介 or 不推介 (also recommend, decline).
        #[arg(value_name = "DECISION")]
        decision: String,
        /// A note kept with it.
        #[arg(long, default_value = "", value_name = "TEXT")]
        note: String,
    },
    /// What decisions are made with: rank, figures, flags, province and decision per entry;
    /// per kind the recommended count against the batch's quota and the campaign's target.
    Decisions {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
        /// One JSON document: {"round", "published", "entries", "kinds", "provinces"}.
        #[arg(long)]
        json: bool,
    },
    /// Reminders due now (or at --at): 3 days before, on and 3 days after the due date,
    /// to experts with unfinished reviews, each once; `lndx run` does this by itself.
    Remind {
        /// The moment to act as of: RFC 3339, or "YYYY-MM-DD HH:MM" in the campaign's
        /// time zone [default: now].
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Remind this round's experts with unfinished reviews now, whatever the day (each
        /// at most one review mail a day), as the console's 立即催办 does.
        #[arg(long, value_name = "ROUND")]
        round: Option<i64>,
    },
    /// Publish the round's decisions: one outcome mail per province.
    PublishDecisions {
        /// The round's id (the last line of `review round create`).
        #[arg(value_name = "ROUND")]
        round: i64,
    },
}

#[derive(Subcommand)]
pub enum RoundCommand {
    /// Create a round over a batch's current valid entries of one or several kinds.
    Create {
        /// The batch: its number or name.
        #[arg(long, value_name = "N")]
        batch: String,
        /// A kind (key or name); repeat for several; none: every kind.
        #[arg(long = "kind", value_name = "KIND")]
        kinds: Vec<String>,
        /// Experts per entry [default: review.toml's per_entry].
        #[arg(long, value_name = "K")]
        per_entry: Option<u32>,
        /// The due date, YYYY-MM-DD [default: 14 days after the batch's deadline].
        #[arg(long, value_name = "YYYY-MM-DD")]
        due: Option<String>,
        /// Most reviews per expert [default: an even share plus review.toml's cap_extra].
        #[arg(long, value_name = "N")]
        cap: Option<u32>,
        /// Once an expert has submitted their review of an entry, show them the other
        /// experts' submitted scores of it (never who they are).
        #[arg(long)]
        show_others: bool,
    },
    /// The rounds, one tab-separated line each.
    List,
}

#[derive(Subcommand)]
pub enum ExpertCommand {
    /// Add (or update) one expert.
    Add {
        /// The expert's e-mail address (their key; lower-cased).
        #[arg(value_name = "EMAIL")]
        email: String,
        /// The expert's name.
        #[arg(long)]
        name: String,
        /// Province code or name (entries of it are never assigned to the expert).
        #[arg(long, default_value = "")]
        province: String,
        /// Unit (entries of the same unit, normalised, are never assigned to the expert).
        #[arg(long, default_value = "")]
        unit: String,
        /// Kinds and themes the expert knows, separated by 、 or commas.
        #[arg(long, default_value = "")]
        expertise: String,
    },
    /// Import experts from an .xlsx with the columns 姓名, 单位, 省份, 邮箱, 擅长类型; exits 1
    /// when some row was not imported (each such row is said, with its code).
    Import {
        /// The workbook: the first sheet, a header row with the five columns (any order),
        /// one expert per row.
        #[arg(value_name = "FILE.xlsx")]
        file: PathBuf,
        /// {"added", "updated", "problems": [{"row", "code", "message"}]}
        #[arg(long)]
        json: bool,
    },
    /// Declare a conflict of interest between an expert and an entry.
    Conflict {
        /// The expert's e-mail address (their key; lower-cased).
        #[arg(value_name = "EMAIL")]
        email: String,
        /// The entry's receipt number.
        #[arg(value_name = "RECEIPT")]
        receipt: String,
        /// A note kept with it.
        #[arg(long, default_value = "", value_name = "TEXT")]
        note: String,
    },
    /// The experts, one tab-separated line each.
    List,
}

pub fn review(app: &App, cmd: ReviewCommand) -> Result<ExitCode> {
    use commands::review as r;
    match cmd {
        ReviewCommand::Round { command } => match command {
            RoundCommand::Create {
                batch,
                kinds,
                per_entry,
                due,
                cap,
                show_others,
            } => r::round_create(
                app,
                &lndx::review::RoundRequest {
                    batch,
                    kinds,
                    per_entry,
                    cap,
                    due,
                    show_others,
                },
            ),
            RoundCommand::List => r::round_list(app),
        },
        ReviewCommand::Expert { command } => match command {
            ExpertCommand::Add {
                email,
                name,
                province,
                unit,
                expertise,
            } => r::expert_add(
                app,
                &lndx::review::experts::ExpertInput {
                    email,
                    name,
                    province,
                    unit,
                    expertise,
                },
            ),
            ExpertCommand::Import { file, json } => r::expert_import(app, &file, json),
            ExpertCommand::Conflict {
                email,
                receipt,
                note,
            } => r::expert_conflict(app, &email, &receipt, &note),
            ExpertCommand::List => r::expert_list(app),
        },
        ReviewCommand::Assign { round, json } => r::assign(app, round, json),
        ReviewCommand::Assignments { round, json } => r::assignments(app, round, json),
        ReviewCommand::Adjust {
            round,
            receipt,
            remove,
            add,
        } => r::adjust(app, round, &receipt, remove.as_deref(), add.as_deref()),
        ReviewCommand::Recuse {
            round,
            receipt,
            expert,
            note,
        } => r::recuse(app, round, &receipt, &expert, &note),
        ReviewCommand::Publish { round } => r::publish(app, round),
        ReviewCommand::Score {
            round,
            receipt,
            expert,
            scores,
            comment,
            recommendation,
            draft,
        } => r::score(
            app,
            round,
            &receipt,
            &expert,
            &scores,
            lndx::review::ScoreInput {
                scores: Default::default(),
                comment,
                recommendation,
                submit: !draft,
            },
        ),
        ReviewCommand::Close { round } => r::close(app, round),
        ReviewCommand::Ranking { round, json } => r::ranking(app, round, json),
        ReviewCommand::Decide {
            round,
            receipt,
            decision,
            note,
        } => r::decide(app, round, &receipt, &decision, &note),
        ReviewCommand::Decisions { round, json } => r::decisions(app, round, json),
        ReviewCommand::Remind { at, round } => r::remind(app, at.as_deref(), round),
        ReviewCommand::PublishDecisions { round } => r::publish_decisions(app, round),
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
