//! `lndx registry list | messages | export`: what the registry holds.
//!
//! The filters of `list` are read the way people write them — a province's code in any case
//! or its Chinese name, a kind's key or name, a status in English or Chinese, a batch by
//! number or name, or L for late entries — and a value that matches nothing of the
//! campaign's is refused with the values that would, instead of printing nothing.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::DateTime;

use super::progress::Progress;
use crate::app::App;
use crate::campaign::Campaign;
use crate::filing::EntryStatus;
use crate::registry::EntryFilter;
use crate::report::export;

/// The filters of `registry list` as typed.
#[derive(Debug, Clone, Default)]
pub struct ListArgs {
    pub province: Option<String>,
    pub batch: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub all_versions: bool,
}

/// A `--batch` value: one of the campaign's batches, or the entries that came late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchChoice {
    Number(u8),
    Late,
}

/// The words that select late entries with `--batch`, besides the campaign's receipt tag
/// (BL).
const LATE_WORDS: &[&str] = &["l", "late", "逾期"];

/// Chinese words for each status (the reply's status wording is longer; these are what
/// people type). `held` entries wait for staff to confirm a province or a sender.
const STATUS_WORDS: &[(EntryStatus, &[&str])] = &[
    (EntryStatus::Valid, &["已受理", "受理", "有效", "合格"]),
    (EntryStatus::Invalid, &["需修改", "无效", "不合格"]),
    (EntryStatus::Held, &["暂存", "已暂存", "待确认"]),
];

/// A filter value that matches nothing of the campaign's: said to people with the values
/// that would match, and to scripts (`--json`) as a JSON line with the stable code
/// `unknown_value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option} {value:?} is not {what}; {hint}")]
pub struct UnknownFilter {
    /// The option: `--province`, `--batch`, `--kind`, `--status`.
    pub option: &'static str,
    /// What was typed.
    pub value: String,
    what: &'static str,
    /// The values that would match, as typed on the command line.
    pub valid: Vec<String>,
    hint: String,
}

impl UnknownFilter {
    /// The error as one JSON object, for `--json`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"error": {
            "code": "unknown_value",
            "option": self.option,
            "value": self.value,
            "valid": self.valid,
            "message": self.to_string(),
        }})
    }
}

/// A province's code from what was typed: a code in any case, a full or short name, or an
/// alias of rules/provinces.toml.
pub fn province(campaign: &Campaign, typed: &str) -> Result<String, UnknownFilter> {
    if let Some(p) = campaign.province_typed(typed) {
        return Ok(p.code.clone());
    }
    let known: Vec<String> = campaign
        .provinces
        .iter()
        .map(|p| format!("{} {}", p.code, p.short))
        .collect();
    Err(UnknownFilter {
        option: "--province",
        value: typed.to_string(),
        what: "a province of this campaign",
        valid: campaign.provinces.iter().map(|p| p.code.clone()).collect(),
        hint: format!(
            "use a code or a name from rules/provinces.toml: {}",
            known.join(", ")
        ),
    })
}

/// A kind's key from what was typed: the key in any case, or the kind's name or short name.
pub fn kind(campaign: &Campaign, typed: &str) -> Result<String, UnknownFilter> {
    let t = typed.trim();
    for k in campaign.kinds() {
        let info = campaign.kind_info(k);
        if info.key.eq_ignore_ascii_case(t) || info.name == t || info.short == t {
            return Ok(info.key.clone());
        }
    }
    let known: Vec<String> = campaign
        .kinds()
        .map(|k| {
            let i = campaign.kind_info(k);
            format!("{} ({}, {})", i.key, i.name, i.short)
        })
        .collect();
    Err(UnknownFilter {
        option: "--kind",
        value: typed.to_string(),
        what: "a kind of this campaign",
        valid: campaign.kinds().map(|k| k.key().to_string()).collect(),
        hint: format!("use one of: {}", known.join(", ")),
    })
}

/// A status from what was typed: valid, invalid, held in any case, or a Chinese word.
pub fn status(typed: &str) -> Result<EntryStatus, UnknownFilter> {
    let t = typed.trim();
    if let Ok(s) = t.to_ascii_lowercase().parse::<EntryStatus>() {
        return Ok(s);
    }
    if let Some((s, _)) = STATUS_WORDS.iter().find(|(_, words)| words.contains(&t)) {
        return Ok(*s);
    }
    let known: Vec<String> = STATUS_WORDS
        .iter()
        .map(|(s, words)| format!("{s} ({})", words[0]))
        .collect();
    Err(UnknownFilter {
        option: "--status",
        value: typed.to_string(),
        what: "a status",
        valid: EntryStatus::ALL.iter().map(|s| s.to_string()).collect(),
        hint: format!("use one of: {}", known.join(", ")),
    })
}

/// A batch from what was typed: a batch's number or name, or L / late / 逾期 / the
/// campaign's late tag for entries that arrived after the last deadline.
pub fn batch(campaign: &Campaign, typed: &str) -> Result<BatchChoice, UnknownFilter> {
    let t = typed.trim();
    let lower = t.to_lowercase();
    if LATE_WORDS.contains(&lower.as_str()) || lower == campaign.info.late_batch_tag.to_lowercase()
    {
        return Ok(BatchChoice::Late);
    }
    let by_number = t
        .trim_start_matches(['B', 'b'])
        .parse::<u8>()
        .ok()
        .and_then(|n| campaign.batch(n));
    if let Some(b) = by_number.or_else(|| campaign.batches.iter().find(|b| b.name == t)) {
        return Ok(BatchChoice::Number(b.number));
    }
    let known: Vec<String> = campaign
        .batches
        .iter()
        .map(|b| format!("{} ({})", b.number, b.name))
        .collect();
    let mut valid: Vec<String> = campaign
        .batches
        .iter()
        .map(|b| b.number.to_string())
        .collect();
    valid.push("L".into());
    Err(UnknownFilter {
        option: "--batch",
        value: typed.to_string(),
        what: "a batch of this campaign",
        valid,
        hint: format!(
            "use {}, or L (late, 逾期) for entries that arrived after the last deadline",
            known.join(", ")
        ),
    })
}

/// The filter the typed values select, with the words that say it (for the count line).
fn select(campaign: &Campaign, args: &ListArgs) -> Result<Selection, UnknownFilter> {
    let mut sel = Selection {
        filter: EntryFilter {
            all_versions: args.all_versions,
            ..EntryFilter::default()
        },
        late_only: false,
        said: vec![if args.all_versions {
            "all versions".into()
        } else {
            "current versions".into()
        }],
    };
    if let Some(p) = &args.province {
        let code = province(campaign, p)?;
        sel.said.push(format!("province {code}"));
        sel.filter.province = Some(code);
    }
    if let Some(b) = &args.batch {
        match batch(campaign, b)? {
            BatchChoice::Number(n) => {
                sel.said.push(format!("batch {n}"));
                sel.filter.batch = Some(n);
            }
            BatchChoice::Late => {
                sel.said.push("late".into());
                sel.late_only = true;
            }
        }
    }
    if let Some(k) = &args.kind {
        let key = kind(campaign, k)?;
        sel.said.push(format!("kind {key}"));
        sel.filter.kind = Some(key);
    }
    if let Some(s) = &args.status {
        let st = status(s)?;
        sel.said.push(format!("status {st}"));
        sel.filter.status = Some(st);
    }
    Ok(sel)
}

/// What `registry list` selects.
struct Selection {
    filter: EntryFilter,
    /// Only entries that arrived after the last deadline (they have no batch).
    late_only: bool,
    said: Vec<String>,
}

/// `lndx registry list`: entries, one per line (tab-separated with a header and a count,
/// or JSON).
pub fn list(app: &App, args: &ListArgs, json: bool) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let sel = match select(&campaign, args) {
        Ok(sel) => sel,
        Err(e) if json => {
            writeln!(std::io::stdout(), "{}", e.json())?;
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    // Filters are checked before the database is opened: a wrong value creates nothing.
    let reg = app.registry()?;
    let mut rows = reg.entries(&sel.filter)?;
    if sel.late_only {
        // Late entries have no batch; the registry marks them `late`.
        rows.retain(|r| r.late);
    }
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(out, "receipt\tprovince\tbatch\tkind\tstatus\tname\tunit")?;
    }
    for r in &rows {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({
                    "receipt": r.receipt, "province": r.province, "batch": r.batch,
                    "kind": r.kind, "name": r.name, "unit": r.unit, "status": r.status,
                    "version": r.version, "supersedes": r.supersedes,
                    "superseded_by": r.superseded_by, "late": r.late,
                    "errors": serde_json::from_str::<serde_json::Value>(&r.errors).unwrap_or_default(),
                })
            )?;
        } else {
            let batch = match (r.batch, r.late) {
                (_, true) => "L".to_string(),
                (Some(b), false) => b.to_string(),
                (None, false) => "-".to_string(),
            };
            writeln!(
                out,
                "{}\t{}\t{batch}\t{}\t{}\t{}\t{}",
                r.receipt,
                r.province.as_deref().unwrap_or("-"),
                r.kind,
                r.status,
                r.name,
                r.unit.as_deref().unwrap_or("")
            )?;
        }
    }
    if !json {
        let noun = if rows.len() == 1 { "entry" } else { "entries" };
        writeln!(out, "{} {noun} ({})", rows.len(), sel.said.join(", "))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx registry messages`: stored messages, newest first, with their ids; arrival times
/// in the campaign's time zone, the skip reason in a column of its own.
pub fn messages(app: &App, limit: usize) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let reg = app.registry()?;
    let rows = reg.messages(limit)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "id\tarrived ({}, {})\tstate\tprovince\tskipped\tsender\tsubject",
        campaign.info.timezone, campaign.info.timezone_name
    )?;
    for m in &rows {
        let arrived = m
            .arrived_at
            .as_deref()
            .map(|a| match DateTime::parse_from_rfc3339(a) {
                Ok(t) => t
                    .with_timezone(&campaign.tz)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
                Err(_) => a.to_string(),
            })
            .unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}\t{arrived}\t{}\t{}\t{}\t{}\t{}",
            m.id,
            m.state,
            m.province.as_deref().unwrap_or("-"),
            m.skipped.as_deref().unwrap_or("-"),
            m.sender.as_deref().unwrap_or("-"),
            m.subject.as_deref().unwrap_or("")
        )?;
    }
    let noun = if rows.len() == 1 {
        "message"
    } else {
        "messages"
    };
    writeln!(
        out,
        "{} {noun} (newest first, at most {limit}; --limit N for more)",
        rows.len()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `lndx registry export --out FILE.csv|FILE.xlsx`: entries as a spreadsheet, by the
/// file's extension.
pub fn export(app: &App, out: &Path, all_versions: bool) -> Result<ExitCode> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    if ext != "csv" && ext != "xlsx" {
        bail!(
            "--out {}: the file name must end in .csv or .xlsx (the format is chosen by it)",
            out.display()
        );
    }
    let reg = app.registry()?;
    let campaign = app.campaign()?;
    let src = export::Source {
        reg: &reg,
        campaign: &campaign,
        templates: app.templates_dir.as_deref(),
    };
    let progress = Progress::working(&format!("writing {}", out.display()));
    let n = if ext == "csv" {
        export::csv(&src, out, all_versions)?
    } else {
        export::xlsx(&src, out, all_versions)?
    };
    drop(progress);
    eprintln!("{n} entries written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}
