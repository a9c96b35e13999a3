//! Report: the weekly progress report to the ministry, and registry exports.
//!
//! - [`data`]: the numbers as of a moment, read from the registry, computed in named steps
//!   by [`progress`] (targets and calendar, the weekly chart), [`breakdown`] (provinces,
//!   batches, themes, corrections) and [`attention`] (what needs a person).
//! - [`render`]: HTML and plain text from `templates/report.*.hbs`.
//! - [`labels`]: the report's own wording (`templates/report.toml`), checked complete at
//!   load; [`wording`] adds the replies' wording of findings.
//! - [`xlsx`]: the workbook attached to the report (overview, progress with its chart, by
//!   province, by batch, detail, mail that needs a person), set up to print.
//! - [`schedule`]: the cron-driven scheduler; each slot's report is queued once.
//! - [`export`]: `lndx registry export` as CSV or .xlsx.
//!
//! A report is rendered once into a complete mail and queued in the outbox (purpose
//! `report`); retries resend those same bytes, and every attempt is logged per recipient.
//!
//! The module is given what it needs — the campaign, the templates folder, the [`Sender`],
//! a registry connection — and returns [`ReportError`]; the command layer builds those from
//! the config (for `lndx report …`, `lndx registry export`, and the scheduler `lndx run`
//! starts).

pub mod attention;
pub mod breakdown;
pub mod data;
pub mod export;
pub mod labels;
pub mod progress;
pub mod render;
pub mod schedule;
pub mod wording;
pub mod xlsx;

pub use schedule::Scheduler;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::campaign::Campaign;
use crate::mail::{self, MailError, OutAttachment, Outgoing};
use crate::registry::{QueuedMail, Registry, RegistryError};
use crate::reply::ReplyError;

use data::ReportData;
use render::Renderer;
use wording::ReportWording;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Why a report or an export could not be made. The messages name the file or template
/// concerned and include the cause.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The wording of findings (`templates/findings.toml`).
    #[error(transparent)]
    Wording(#[from] ReplyError),
    /// The report's own wording (`templates/report.toml`): incomplete, unknown keys, a
    /// phrase or a format that does not parse.
    #[error("{path}: {message}")]
    Labels { path: String, message: String },
    /// A report template could not be read, parsed or rendered.
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error(transparent)]
    Workbook(#[from] rust_xlsxwriter::XlsxError),
    #[error("cannot read {}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
    #[error(transparent)]
    Mail(#[from] MailError),
    /// The report's data could not be turned into the templates' context.
    #[error(transparent)]
    Context(#[from] serde_json::Error),
    #[error("no report recipients: set report.to in the config")]
    NoRecipients,
    #[error("report.schedule {schedule:?} (cron with seconds, e.g. \"0 0 9 * * Mon\"): {message}")]
    Schedule { schedule: String, message: String },
}

/// A rendered report: what the mail shows and the workbook it carries.
#[derive(Debug, Clone)]
pub struct Report {
    pub data: ReportData,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The attachment's file name, e.g. 智慧助老推介工作进度周报_2022-05-30.xlsx (campaign.toml `report_title`).
    pub filename: String,
    pub xlsx: Vec<u8>,
}

/// Who sends the report and to whom.
#[derive(Debug, Clone)]
pub struct Sender {
    pub address: String,
    pub name: String,
    pub loop_header: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

impl Sender {
    /// Every envelope recipient once (to, then cc).
    pub fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for a in self.to.iter().chain(&self.cc) {
            let a = a.trim().to_string();
            if !a.is_empty() && !all.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
                all.push(a);
            }
        }
        all
    }
}

/// The audit log's action keys of reports (the console labels them).
pub const ACTIONS: &[(&str, &str)] = &[("report_send", "手动发送周报")];

/// Everything needed to build reports: the campaign, the templates and the sender.
#[derive(Clone)]
pub struct Reporter {
    pub campaign: Campaign,
    pub sender: Sender,
    wording: ReportWording,
    renderer: Renderer,
}

impl Reporter {
    /// Loads the report templates and the wording of findings from `templates_dir` (else
    /// the built-in copies).
    pub fn from_parts(
        campaign: Campaign,
        templates_dir: Option<&Path>,
        mut sender: Sender,
    ) -> Result<Reporter> {
        if sender.name.trim().is_empty() {
            sender.name = campaign.info.sender_name.clone();
        }
        Ok(Reporter {
            campaign,
            sender,
            wording: ReportWording::load(templates_dir)?,
            renderer: Renderer::load(templates_dir)?,
        })
    }

    /// The report's data as of a moment; "new since" starts at the previous queued report
    /// (or 7 days before).
    pub fn data(&self, reg: &Registry, as_of: DateTime<Utc>) -> Result<ReportData> {
        let previous = data::previous_report(reg, as_of)?;
        data::collect(reg, &self.campaign, &self.wording, as_of, previous)
    }

    /// The report's own wording (`templates/report.toml`).
    pub fn labels(&self) -> &labels::Labels {
        &self.wording.labels
    }

    /// Builds and renders the report as of a moment. `note` is shown at the top (e.g. that
    /// a missed report is sent late).
    pub fn build(
        &self,
        reg: &Registry,
        as_of: DateTime<Utc>,
        note: Option<String>,
    ) -> Result<Report> {
        let d = self.data(reg, as_of)?;
        self.render(d, note)
    }

    /// Renders data into a report (pure).
    pub fn render(&self, d: ReportData, note: Option<String>) -> Result<Report> {
        let l = self.labels();
        let names = json!({"report_title": d.report_title, "as_of": d.as_of, "date": d.as_of_date});
        let subject = l.phrase("subject", &names);
        let filename = l.phrase("attachment", &names);
        let ctx = context(&d, &subject, &filename, note, &self.sender.address)?;
        let html = self.renderer.html(&ctx)?;
        let text = self.renderer.text(&ctx)?;
        let xlsx = xlsx::report_workbook(&d, l)?;
        Ok(Report {
            data: d,
            subject,
            html,
            text,
            filename,
            xlsx,
        })
    }

    /// The report as a complete mail: (Message-ID, RFC 5322 bytes).
    pub fn compose(&self, r: &Report, to: &[String], cc: &[String]) -> Result<(String, Vec<u8>)> {
        let message_id = mail::new_message_id("report", &self.sender.address);
        let out = Outgoing {
            from: self.sender.address.clone(),
            from_name: Some(self.sender.name.clone()),
            to: to.to_vec(),
            cc: cc.to_vec(),
            subject: r.subject.clone(),
            text: r.text.clone(),
            html: r.html.clone(),
            message_id: message_id.clone(),
            in_reply_to: None,
            references: Vec::new(),
            // A report is not a reply (RFC 3834): generated, not answered.
            headers: crate::mail::automatic_headers(
                crate::mail::Automatic::Generated,
                &self.sender.loop_header,
                &self.sender.address,
            ),
            attachments: vec![OutAttachment {
                filename: r.filename.clone(),
                content_type: XLSX_TYPE.into(),
                bytes: r.xlsx.clone(),
            }],
        };
        Ok((message_id, mail::encode(&out)?))
    }

    /// Queues a rendered report to the configured recipients. With a slot, the slot is
    /// claimed in the same transaction: None when it had been claimed already.
    /// Queues a report that a person asked for (the console's 立即发送), with its
    /// `report_send` audit row by `actor`, both or neither.
    pub fn queue_by(&self, reg: &mut Registry, r: &Report, actor: &str) -> Result<Option<i64>> {
        reg.atomically(|reg| {
            let id = self.queue(reg, r, None)?;
            let tx = reg.begin()?;
            tx.audit(&crate::registry::NewAudit {
                actor,
                action: "report_send",
                object: &format!("outbox:{}", id.unwrap_or_default()),
                before: serde_json::Value::Null.to_string(),
                after: serde_json::json!({ "to": self.sender.recipients() }).to_string(),
                note: None,
            })?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn queue(&self, reg: &mut Registry, r: &Report, slot: Option<&str>) -> Result<Option<i64>> {
        let recipients = self.sender.recipients();
        if recipients.is_empty() {
            return Err(ReportError::NoRecipients);
        }
        let (message_id, body) = self.compose(r, &self.sender.to, &self.sender.cc)?;
        let m = QueuedMail {
            message: None,
            purpose: crate::queued::Purpose::Report,
            message_id,
            envelope_from: self.sender.address.clone(),
            recipients,
            body,
            held: None,
        };
        match slot {
            None => Ok(Some(reg.enqueue(&m)?)),
            Some(slot) => {
                let tx = reg.begin()?;
                if !tx.claim_report_slot(slot)? {
                    return Ok(None);
                }
                let id = tx.enqueue(&m)?;
                tx.set_report_outbox(slot, id)?;
                tx.commit()?;
                Ok(Some(id))
            }
        }
    }
}

/// The template context: the data plus what the mail around it says.
fn context(
    d: &ReportData,
    subject: &str,
    attachment: &str,
    note: Option<String>,
    own_address: &str,
) -> Result<Value> {
    let mut v = serde_json::to_value(d)?;
    let o = v.as_object_mut().expect("report data is an object");
    o.insert("subject".into(), subject.into());
    o.insert("attachment".into(), attachment.into());
    o.insert("note".into(), note.map(Value::from).unwrap_or(Value::Null));
    o.insert("own_address".into(), own_address.into());
    Ok(v)
}
