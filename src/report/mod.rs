//! Report: the weekly progress report to the ministry, and registry exports.
//!
//! - [`data`]: the numbers as of a moment, read from the registry.
//! - [`render`]: HTML and plain text from `templates/report.*.hbs`.
//! - [`xlsx`]: the workbook attached to the report (总览, 按省份, 按批次, 明细).
//! - [`schedule`]: the cron-driven scheduler; each slot's report is queued once.
//! - [`export`]: `lndx registry export` as CSV or .xlsx.
//!
//! A report is rendered once into a complete mail and queued in the outbox (purpose
//! `report`); retries resend those same bytes, and every attempt is logged per recipient.

pub mod data;
pub mod export;
pub mod render;
pub mod schedule;
pub mod wording;
pub mod xlsx;

pub use schedule::Scheduler;

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::app::App;
use crate::campaign::Campaign;
use crate::config::Config;
use crate::mail::{self, OutAttachment, Outgoing};
use crate::registry::{QueuedMail, Registry};

use data::ReportData;
use render::Renderer;
use wording::ReportWording;

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

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
    pub fn from_config(c: &Config) -> Sender {
        Sender {
            address: c.identity.address.clone(),
            name: c.identity.name.clone(),
            loop_header: c.identity.loop_header.clone(),
            to: c.report.to.clone(),
            cc: c.report.cc.clone(),
        }
    }

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

/// Everything needed to build reports: the campaign, the templates and the sender.
pub struct Reporter {
    pub campaign: Campaign,
    pub sender: Sender,
    wording: ReportWording,
    renderer: Renderer,
}

impl Reporter {
    pub fn new(app: &App) -> Result<Reporter> {
        Reporter::from_parts(
            app.campaign()?,
            app.templates_dir.as_deref(),
            Sender::from_config(&app.config),
        )
    }

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
            wording: ReportWording::load(templates_dir).context("report wording")?,
            renderer: Renderer::load(templates_dir).context("report templates")?,
        })
    }

    /// The report's data as of a moment; "new since" starts at the previous queued report
    /// (or 7 days before).
    pub fn data(&self, reg: &Registry, as_of: DateTime<Utc>) -> Result<ReportData> {
        let previous = data::previous_report(reg, as_of)?;
        data::collect(reg, &self.campaign, &self.wording, as_of, previous)
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
        let subject = format!("{}（数据截至{}）", d.report_title, d.as_of);
        let filename = format!("{}_{}.xlsx", d.report_title, d.as_of_date);
        let ctx = context(&d, &subject, &filename, note, &self.sender.address)?;
        let html = self.renderer.html(&ctx)?;
        let text = self.renderer.text(&ctx)?;
        let xlsx = xlsx::report_workbook(&d)?;
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
            headers: vec![
                // A report is not a reply (RFC 3834): generated, not answered.
                ("Auto-Submitted".into(), "auto-generated".into()),
                ("X-Auto-Response-Suppress".into(), "All".into()),
                (self.sender.loop_header.clone(), self.sender.address.clone()),
            ],
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
    pub fn queue(&self, reg: &mut Registry, r: &Report, slot: Option<&str>) -> Result<Option<i64>> {
        let recipients = self.sender.recipients();
        if recipients.is_empty() {
            bail!("no report recipients: set report.to in the config");
        }
        let (message_id, body) = self.compose(r, &self.sender.to, &self.sender.cc)?;
        let m = QueuedMail {
            message: None,
            purpose: "report",
            message_id,
            envelope_from: self.sender.address.clone(),
            recipients,
            body,
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

/// Parses `--at`: RFC 3339, or "YYYY-MM-DD HH:MM[:SS]" / "YYYY-MM-DD" in `tz`.
pub fn parse_at(s: &str, tz: Tz) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let Some(naive) = naive else {
        bail!("--at {s:?}: use RFC 3339 or \"YYYY-MM-DD HH:MM\" ({tz})");
    };
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .with_context(|| format!("--at {s:?} does not exist in {tz}"))
}

/// The report's time zone: the campaign's (rules/campaign.toml), the one that decides
/// batches too.
fn report_tz(app: &App) -> Result<Tz> {
    Ok(app.campaign()?.tz)
}

/// `lndx report preview`: writes report.html, report.txt, the .xlsx and report.eml to a
/// folder; queues nothing.
pub fn cli_preview(app: &App, at: Option<&str>, out: &Path) -> Result<()> {
    let as_of = match at {
        Some(s) => parse_at(s, report_tz(app)?)?,
        None => Utc::now(),
    };
    let reporter = Reporter::new(app)?;
    let reg = app.registry()?;
    let r = reporter.build(&reg, as_of, None)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let to = if reporter.sender.to.is_empty() {
        vec![reporter.sender.address.clone()]
    } else {
        reporter.sender.to.clone()
    };
    let (_, eml) = reporter.compose(&r, &to, &reporter.sender.cc)?;
    for (name, bytes) in [
        ("report.html", r.html.as_bytes()),
        ("report.txt", r.text.as_bytes()),
        (r.filename.as_str(), r.xlsx.as_slice()),
        ("report.eml", eml.as_slice()),
    ] {
        let p = out.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
    }
    eprintln!(
        "report as of {} written to {} (report.html, report.txt, {}, report.eml)",
        r.data.as_of,
        out.display(),
        r.filename
    );
    Ok(())
}

/// `lndx report send-now`: queues a report as of now to the configured recipients (the
/// command then flushes the outbox). Claims no schedule slot.
pub fn cli_send_now(app: &App) -> Result<()> {
    let reporter = Reporter::new(app)?;
    let mut reg = app.registry()?;
    let r = reporter.build(&reg, Utc::now(), None)?;
    let id = reporter.queue(&mut reg, &r, None)?;
    eprintln!(
        "report as of {} queued (outbox {}) to {}",
        r.data.as_of,
        id.unwrap_or_default(),
        reporter.sender.recipients().join(", ")
    );
    Ok(())
}
