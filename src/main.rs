//! The `lndx` command line: parses arguments, builds the app, runs one command (the
//! bodies are in `lndx::commands`). Errors end here, printed with their causes; library
//! code never exits the process.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lndx::commands;

mod cli;

#[derive(Parser)]
#[command(
    name = "lndx",
    version,
    about = "智慧助老 application intake: mailbox → registry → receipts and reports",
    after_help = "Environment:
  LNDX_CONFIG      the config file, as --config
  LNDX_LOG         what is logged on stderr, a tracing filter (default warn,lndx=info; e.g. debug)
  LNDX_LOG_FORMAT  how: text (default; colours only on a terminal, none with NO_COLOR) or json (one object per line)

Exit status: 0 done; 1 check found a form to fix or a file that is not a form, or doctor found a problem;
2 the command could not do its job (usage, config, rules, templates, unreadable input, database).
The full description: docs/commands.md."
)]
struct Args {
    /// The config file (TOML; every key is shown in deploy/lndx.example.toml). Without it:
    /// a Maildir inbox ./var/mail, replies written to ./var/outbox, everything under ./var.
    #[arg(
        long,
        global = true,
        env = "LNDX_CONFIG",
        value_name = "FILE",
        help_heading = "Global options"
    )]
    config: Option<PathBuf>,
    /// The data folder: the database lndx.db, raw/ (every message as received) and by
    /// default mail/ and outbox/ [default: the config's data_dir, else ./var].
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    data_dir: Option<PathBuf>,
    /// The campaign's rules folder (campaign.toml, provinces.toml, forms.toml, checks.toml,
    /// themes.toml, senders.toml) [default: the config's rules_dir, else ./rules if it
    /// exists, else the rules built into lndx].
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    rules: Option<PathBuf>,
    /// Who acts, for the audit log of staff actions: recorded as cli:NAME [default: $USER].
    #[arg(
        long = "as",
        id = "as_name",
        global = true,
        value_name = "NAME",
        help_heading = "Global options"
    )]
    as_name: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// File messages (.eml files) in the order given, as if they had arrived in the mailbox,
    /// and deliver their replies.
    #[command(
        long_about = "File messages (.eml files) in the order given, exactly as if they had arrived \
in the mailbox, then deliver the replies (to the outbox folder, or by SMTP when configured). \
A message's arrival time is its top-most Received: date, else its Date:, so samples are filed \
in the batch they were sent in.\n\nExit status: 0 when every message was filed, whatever its \
forms held; 2 when a file cannot be read or the database fails (the messages before it stay filed)."
    )]
    Ingest {
        /// Print one JSON result per message, one per line (docs/intake.md#json-result),
        /// instead of a summary line per message and per file.
        #[arg(long)]
        json: bool,
        /// The messages: .eml files (RFC 5322), filed in this order.
        #[arg(required = true, value_name = "FILE.eml")]
        files: Vec<PathBuf>,
    },
    /// Check form files without filing or sending anything: what a province runs before
    /// sending (报送前自查).
    #[command(
        long_about = "Check form files without filing or sending anything: what a province runs \
before sending (报送前自查). For each file it says in Chinese what the reply would say: what the \
file was taken for, every problem to fix and every warning, and the status its receipt would show.\n\n\
检查申报表，不登记、不发送：逐个文件说明回执将如何答复（识别为何种申报表、需修改之处、提示、回执状态）。\n\n\
Exit status: 0 every file is a form (or summary sheet) without errors, warnings allowed; \
1 a file has an error or is not a form; 2 a file cannot be read, or the rules or templates \
cannot be used (nothing is checked)."
    )]
    Check {
        /// Print the result as one JSON document, {"attachments": [...]}
        /// (docs/intake.md#json-result), instead of the Chinese account.
        #[arg(long)]
        json: bool,
        /// The forms: .docx or .xlsx (.doc, .xls, .wps, .et, .odt, .ods too when
        /// LibreOffice is installed); a summary sheet is checked against the forms given
        /// with it.
        #[arg(required = true, value_name = "FORM")]
        forms: Vec<PathBuf>,
    },
    /// The registry: list entries or stored messages, export entries.
    Registry {
        #[command(subcommand)]
        command: cli::RegistryCommand,
    },
    /// Watch the mailbox, file what arrives, send replies and weekly reports, serve the
    /// console with /healthz and /metrics on [web] listen; stops on SIGTERM or SIGINT.
    Run,
    /// File a stored message again (e.g. after the rules were corrected) and send the new
    /// reply; recorded in the audit log.
    Reprocess {
        /// The stored message's id (the first column of `lndx registry messages`).
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Check the config, rules, senders, templates, database, converter, mailbox, outbox,
    /// report and health address, and say what to fix; changes nothing.
    #[command(
        long_about = "Check the config, rules and registered senders, templates, database, \
converter, mailbox (IMAP: TLS, login, folder), outbox (SMTP: TLS, login), the weekly report \
(recipients, next three times) and the health address, one line each: ok, warn or FAIL, \
with what to fix. It changes nothing: no folder, database or file is created.\n\n\
Exit status: 0 nothing failed (warnings allowed); 1 a line says FAIL; 2 the config cannot be read."
    )]
    Doctor,
    /// The weekly progress report: preview it as files, or send one now.
    Report {
        #[command(subcommand)]
        command: cli::ReportCommand,
    },
    /// Console accounts: add one (prints its sign-in link last), list them, disable one.
    User {
        #[command(subcommand)]
        command: cli::UserCommand,
    },
    /// 待人工处理: what needs a person, each item with its key and the actions that resolve
    /// it (open items; with --all, resolved ones too, with who, when and how).
    Attention {
        /// Resolved items too.
        #[arg(long)]
        all: bool,
        /// Only this kind: held_province, held_auth, late_entry, link_only, no_attachment,
        /// unreadable_file, quarantined, reply_failed, reply_unknown, mail_held, bounce.
        #[arg(long, value_name = "KIND")]
        kind: Option<String>,
        /// Only this province (its code).
        #[arg(long, value_name = "PROVINCE")]
        province: Option<String>,
        /// One JSON array of items.
        #[arg(long)]
        json: bool,
    },
    /// Staff actions on a stored message (assign a province, release, reject, mark handled).
    Message {
        #[command(subcommand)]
        command: cli::MessageCommand,
    },
    /// Staff decisions on an entry (accept or reject a late entry, withdraw).
    Entry {
        #[command(subcommand)]
        command: cli::EntryCommand,
    },
    /// Queued mail that needs a decision: list unknown, failed and held mail (and whether
    /// a copy is in the Sent folder); resend, close or release it.
    Outbox {
        #[command(subcommand)]
        command: cli::OutboxCommand,
    },
    /// Add a note to an entry or a message.
    Note {
        #[command(subcommand)]
        command: cli::NoteCommand,
    },
    /// The audit log of staff actions, newest first (who, when, what, before → after).
    Audit {
        /// Only this object: message:ID, entry:RECEIPT or outbox:ID.
        #[arg(long, value_name = "OBJECT")]
        object: Option<String>,
        /// Only this actor (an e-mail, or cli:NAME).
        #[arg(long, value_name = "ACTOR")]
        actor: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: usize,
        /// One JSON array of rows (before and after as JSON).
        #[arg(long)]
        json: bool,
    },
    /// 专家评议: rounds, experts, the assignment, scores, ranking and decisions.
    Review {
        #[command(subcommand)]
        command: cli::ReviewCommand,
    },
    /// 汇编成册: write a batch's book as a PDF and an editable .docx into a folder.
    #[command(
        long_about = "汇编成册: write the book of a batch — cover, 前言, table of contents, one \
section per entry (kind, then province, then receipt) — as a typeset PDF and an editable .docx \
into DIR. Without --all-valid the book holds the entries the published review decisions \
recommend. Contact details (fields marked public = false in forms.toml) are never printed.\n\n\
Exit status: 0 written; 1 nothing to write or a setting to fix (code and Chinese message; \
one JSON object with --json); 2 the database, disk or typesetter failed."
    )]
    Book {
        /// The batch's number (rules/campaign.toml [[batches]]).
        #[arg(long, value_name = "N")]
        batch: u8,
        /// Every current valid entry of the batch, instead of the recommended ones.
        #[arg(long)]
        all_valid: bool,
        /// The folder to write the .pdf and the .docx into (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print one JSON object (ok, code, message / entries, pdf, docx).
        #[arg(long)]
        json: bool,
    },
    /// Export a batch for another system: `export platform` writes the national platform's
    /// package.
    Export {
        #[command(subcommand)]
        command: cli::ExportCommand,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_tracing();
    let result = (|| -> anyhow::Result<ExitCode> {
        let app = lndx::app::App::new(args.config.as_deref(), args.data_dir, args.rules)?;
        let actor = commands::desk::actor(args.as_name.as_deref());
        match args.command {
            Command::Ingest { json, files } => commands::ingest::ingest(&app, &files, json),
            Command::Check { json, forms } => commands::check::check(&app, &forms, json),
            Command::Registry { command } => cli::registry(&app, command),
            Command::Run => commands::run::run(&app),
            Command::Reprocess { id } => commands::desk::reprocess(&app, &actor, id),
            Command::Doctor => commands::doctor::doctor(&app),
            Command::Report { command } => cli::report(&app, command),
            Command::User { command } => cli::user(&app, command),
            Command::Attention {
                all,
                kind,
                province,
                json,
            } => commands::desk::attention(&app, all, kind.as_deref(), province.as_deref(), json),
            Command::Message { command } => cli::message(&app, &actor, command),
            Command::Entry { command } => cli::entry(&app, &actor, command),
            Command::Outbox { command } => cli::outbox(&app, &actor, command),
            Command::Note { command } => cli::note(&app, &actor, command),
            Command::Audit {
                object,
                actor: who,
                limit,
                json,
            } => commands::desk::audit(&app, object, who, limit, json),
            Command::Review { command } => cli::review(&app, command),
            Command::Book {
                batch,
                all_valid,
                out,
                json,
            } => commands::book::book(&app, batch, all_valid, &out, json),
            Command::Export { command } => cli::export(&app, command),
        }
    })();
    match result {
        Ok(code) => code,
        // The reader of our output went away (`| head`): not a failure of ours.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lndx: {}", cli::explain(&e));
            ExitCode::from(2)
        }
    }
}
