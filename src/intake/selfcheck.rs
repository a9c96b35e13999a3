//! 报送前自查: forms read and checked without filing, and the Chinese account of what the
//! reply would say about each file — shared by `lndx check` and the console's public
//! self-check page, so both say exactly the same.

use serde_json::{json, Value};

use super::Intake;
use crate::campaign::Campaign;
use crate::filing::{EntryStatus, FileRole};
use crate::reply::{book_title, Facts, Wording};
use crate::rules::{Code, Finding};

/// What checking some files came to.
pub struct SelfCheck {
    /// The machine-readable result (`lndx check --json`).
    pub result: Value,
    /// The Chinese account, one numbered block per file and a closing count.
    pub account: String,
    verdicts: Vec<Verdict>,
}

impl SelfCheck {
    /// Every file is a form (or summary sheet) without errors.
    pub fn ready(&self) -> bool {
        self.verdicts.iter().all(|v| *v == Verdict::Ready)
    }
}

/// Reads and checks files (name, bytes) as a reply would, filing nothing.
pub fn self_check(intake: &Intake, files: Vec<(String, Vec<u8>)>) -> SelfCheck {
    let empty: Vec<bool> = files.iter().map(|(_, b)| b.is_empty()).collect();
    let result = intake.check_files(files);
    let attachments = result["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let verdicts: Vec<Verdict> = attachments
        .iter()
        .zip(&empty)
        .map(|(a, empty)| Verdict::of(a, *empty))
        .collect();
    let account = account(intake, &attachments, &verdicts);
    SelfCheck {
        result,
        account,
        verdicts,
    }
}

/// What a checked file comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A form or summary sheet with no error (warnings allowed): ready to send.
    Ready,
    /// A form with errors, or a file that could not be read as one.
    ToFix,
    /// Read, but not a form (a scan, a photo, an unrelated document).
    NotAForm,
}

impl Verdict {
    /// What a file's result comes to; an empty file (a wrong pick, an upload cut short) is
    /// one to fix, not a supporting file.
    fn of(a: &Value, empty: bool) -> Verdict {
        let has_errors = empty || a["errors"].as_array().is_some_and(|e| !e.is_empty());
        let role = a["role"].as_str().and_then(|r| r.parse::<FileRole>().ok());
        match role {
            _ if has_errors => Verdict::ToFix,
            Some(FileRole::Form | FileRole::Summary) => Verdict::Ready,
            _ => Verdict::NotAForm,
        }
    }
}

/// The Chinese account of every file, numbered as a reply numbers them, and a closing
/// count.
fn account(intake: &Intake, attachments: &[Value], verdicts: &[Verdict]) -> String {
    let campaign = &intake.campaign;
    let wording = &intake.replier.wording;
    let facts = Facts {
        province: None,
        batch: None,
        campaign,
        staff_notified: false,
    };
    let mut s = String::from("报送前自查结果（只检查，不登记、不发送）：\n");
    for (i, (a, verdict)) in attachments.iter().zip(verdicts).enumerate() {
        s.push('\n');
        s.push_str(&file_account(i + 1, a, *verdict, campaign, wording, &facts));
    }
    let count = |v: Verdict| verdicts.iter().filter(|x| **x == v).count();
    let mut parts = vec![format!("{} 个可以报送", count(Verdict::Ready))];
    if count(Verdict::ToFix) > 0 {
        parts.push(format!("{} 个需修改", count(Verdict::ToFix)));
    }
    if count(Verdict::NotAForm) > 0 {
        parts.push(format!("{} 个不是申报表", count(Verdict::NotAForm)));
    }
    s.push_str(&format!(
        "\n共 {} 个文件：{}。\n",
        attachments.len(),
        parts.join("，")
    ));
    let mismatch = attachments.iter().any(|a| {
        a["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["code"] == Code::SummaryMismatch.key())
    });
    if mismatch {
        s.push_str("汇总表与申报表一并发送时才能核对，自查时请把汇总表和全部申报表一起检查。\n");
    }
    s
}

/// One file: its name, what it was taken for, its name as an entry, each error (✗) and
/// warning (!) in the reply's wording, and the conclusion with the status its receipt
/// would show.
fn file_account(
    n: usize,
    a: &Value,
    verdict: Verdict,
    campaign: &Campaign,
    wording: &Wording,
    facts: &Facts,
) -> String {
    let kind = a["kind"].as_str().and_then(|k| campaign.kind(k));
    let role = a["role"].as_str().and_then(|r| r.parse::<FileRole>().ok());
    let what = match (role, kind) {
        (Some(FileRole::Form), Some(k)) => {
            let info = campaign.kind_info(k);
            wording.phrase("form_of", &json!({"kind": info.name, "form": info.form}))
        }
        (Some(role), _) => wording.role(role),
        (None, _) => wording.role(FileRole::Unknown),
    };
    let findings = |key: &str| -> Vec<Finding> {
        a[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| serde_json::from_value(f.clone()).ok())
            .collect()
    };
    let mut errors = findings("errors");
    if verdict == Verdict::NotAForm && role != Some(FileRole::Archive) {
        errors.push(Finding::new(Code::NotAForm));
    }
    if verdict == Verdict::ToFix && errors.is_empty() {
        // Only an empty file is to fix without an error of its own: said as a file that
        // cannot be opened, in the reply's words.
        errors.push(Finding::new(Code::UnreadableAttachment));
    }
    let mut s = format!(
        "{n}. {}\n   识别为：{what}\n",
        a["filename"].as_str().unwrap_or("")
    );
    let entry = &a["entry"];
    if let Some(name) = entry["name"]
        .as_str()
        .map(book_title)
        .filter(|n| !n.is_empty())
    {
        s.push_str(&format!("   名称：{name}\n"));
    }
    for f in &errors {
        s.push_str(&format!("   ✗ {}\n", wording.describe(f, kind, facts)));
    }
    for f in &findings("warnings") {
        s.push_str(&format!("   ! {}\n", wording.describe(f, kind, facts)));
    }
    let themes: Vec<&str> = entry["themes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !themes.is_empty() {
        s.push_str(&format!("   涉及场景：{}\n", themes.join("、")));
    }
    let status = entry["status"]
        .as_str()
        .and_then(|st| st.parse::<EntryStatus>().ok());
    let receipt = |st: EntryStatus| format!("（报送后回执将显示：{}）", wording.status(st));
    let conclusion = match verdict {
        Verdict::Ready => format!("可以报送{}", status.map(receipt).unwrap_or_default()),
        Verdict::ToFix => format!(
            "需按上述说明修改后再报送{}",
            status.map(receipt).unwrap_or_default()
        ),
        Verdict::NotAForm if role == Some(FileRole::Archive) => {
            "压缩包不在自查范围内，请解压后对其中的申报表逐个自查".into()
        }
        Verdict::NotAForm => "不是申报表，可作为佐证材料随申报表一并发送".into(),
    };
    s.push_str(&format!("   结论：{conclusion}\n"));
    s
}
