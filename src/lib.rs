//! lndx turns a public mailbox into a registry of 智慧助老 application forms.
//!
//! The crate is a pipeline; modules are listed in the order data flows through them:
//!
//! - [`mailbox`]: where raw messages come from (a Maildir folder or an IMAP mailbox).
//! - [`message`]: raw bytes → an [`message::Inbound`] with every attached file found (pure).
//! - [`forms`]: a .docx/.xlsx file → a typed [`forms::Form`] or a summary sheet (pure).
//! - [`campaign`]: the campaign's data loaded from `rules/*.toml` (kinds, batches, provinces,
//!   forms, themes, senders).
//! - [`rules`]: checks a form against the campaign → errors and warnings (pure).
//! - [`registry`]: SQLite: messages, files, entries, versions, receipts, outbox queue.
//! - [`reply`]: renders the answer to a message from `templates/` (pure).
//! - [`outbox`]: delivers queued mail (a folder of .eml files, or SMTP).
//! - [`report`]: the weekly progress report.
//! - [`review`]: 专家评议: rounds, experts, the assignment, scores, ranking, decisions.
//! - [`book`]: 汇编成册, a batch's entries as a typeset PDF (typst) and an editable .docx.
//! - [`platform`]: the platform export, a documented zip package (manifest, workbook,
//!   files, LOM records).
//! - [`intake`]: wires one message through the stages above.
//! - [`desk`]: what staff do with what intake could not finish (the 待人工处理 queue, the
//!   actions that resolve it, the audit log).
//! - [`daemon`]: the long-running `lndx run`.
//! - [`commands`], with [`app`]: the command layer, which builds the parts above from the
//!   config and runs one command.
//!
//! Imports run one way: commands → daemon → stages → small leaf types ([`kind`],
//! [`filing`], [`spelling`], [`secret`], [`shutdown`], [`runtime`]); `tests/modules.rs`
//! checks it.

pub mod app;
pub mod backoff;
pub mod book;
pub mod campaign;
pub mod commands;
pub mod config;
pub mod convert;
pub mod daemon;
pub mod desk;
pub mod filing;
pub mod forms;
pub mod health;
pub mod intake;
pub mod kind;
pub mod mail;
pub mod mailbox;
pub mod message;
pub mod outbox;
pub mod outcome;
pub mod platform;
pub mod queued;
pub mod registry;
pub mod reply;
pub mod report;
pub mod review;
pub mod rules;
pub mod runtime;
pub mod secret;
pub mod security;
pub mod settings;
pub mod shutdown;
pub mod spelling;
pub mod text;
pub mod web;
