//! Experts: added one by one or imported from an .xlsx with the columns 姓名, 单位, 省份,
//! 邮箱, 擅长类型 (found by their header, in any order, on the first sheet). Every row is
//! checked; a bad row is reported in Chinese with its row number and a stable code and
//! nothing of it is recorded, the good rows are. An address already known updates that
//! expert. 擅长类型 lists kinds (key, name or short name) and themes, separated by 、，,;
//! or spaces.

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};

use super::{account_for_expert, find_kind, ExpertAccount, Result, ReviewError};
use crate::campaign::Campaign;
use crate::registry::{NewExpert, Registry};
use crate::text::name_key;

/// An expert as a person gives them.
#[derive(Debug, Clone, Default)]
pub struct ExpertInput {
    pub email: String,
    pub name: String,
    /// Code, name, short name or alias of a province; empty for none.
    pub province: String,
    pub unit: String,
    /// Kinds and themes, as written.
    pub expertise: String,
}

/// A row of an import that was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    /// The row number as the spreadsheet shows it (the header is row 1).
    pub row: usize,
    pub code: &'static str,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub problems: Vec<RowProblem>,
    /// Console accounts made with role expert.
    pub accounts_created: usize,
    /// Rows whose address already had an expert account.
    pub accounts_linked: usize,
    /// Rows imported whose account was left as it is (another role, or disabled): said
    /// per row; these experts review on the score sheet.
    pub account_notes: Vec<RowProblem>,
}

/// The header words of the import (the first that matches names a column).
const COLUMNS: [(&str, &[&str]); 5] = [
    ("name", &["姓名", "专家姓名"]),
    ("unit", &["单位", "工作单位", "所在单位"]),
    ("province", &["省份", "所在省份", "省（区、市）"]),
    (
        "email",
        &["邮箱", "电子邮箱", "电子邮件", "email", "e-mail"],
    ),
    ("expertise", &["擅长类型", "擅长", "专长"]),
];

/// A plausible e-mail address: one @, something before it, a dotted domain after it, no
/// spaces or brackets.
pub fn email_ok(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(|c: char| c.is_whitespace() || "<>()[],;:\"@".contains(c) && c != '@')
        && s.matches('@').count() == 1
}

/// Checks an expert as given and turns it into what the registry stores.
pub fn check_expert(campaign: &Campaign, x: &ExpertInput) -> Result<NewExpert> {
    let email = x.email.trim().to_lowercase();
    if !email_ok(&email) {
        return Err(ReviewError::BadEmail(x.email.trim().to_string()));
    }
    let name = x.name.trim();
    if name.is_empty() {
        return Err(ReviewError::NoName);
    }
    let province = if x.province.trim().is_empty() {
        None
    } else {
        Some(
            campaign
                .province_typed(&x.province)
                .map(|p| p.code.clone())
                .ok_or_else(|| ReviewError::BadProvince(x.province.trim().to_string()))?,
        )
    };
    let mut kinds = Vec::new();
    let mut themes = Vec::new();
    for word in x
        .expertise
        .split(|c: char| "、，,;；/ 　".contains(c) || c.is_whitespace())
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        if let Some(k) = find_kind(campaign, word) {
            kinds.push(k.key().to_string());
        } else if let Some(t) = campaign.themes.iter().find(|t| t.name == word) {
            themes.push(t.name.clone());
        } else {
            return Err(ReviewError::BadExpertise(word.to_string()));
        }
    }
    kinds.dedup();
    themes.dedup();
    let unit = Some(x.unit.trim().to_string()).filter(|u| !u.is_empty());
    Ok(NewExpert {
        email,
        name: name.to_string(),
        province,
        unit_key: unit.as_deref().map(name_key),
        unit,
        kinds,
        themes,
    })
}

/// Adds (or updates) one expert; returns whether it was new and what became of their
/// console account.
pub fn add_expert(
    reg: &Registry,
    campaign: &Campaign,
    x: &ExpertInput,
) -> Result<(bool, ExpertAccount)> {
    let new = check_expert(campaign, x)?;
    let (_, added) = reg.upsert_expert(&new)?;
    let row = reg
        .expert_by_email(&new.email)?
        .ok_or_else(|| ReviewError::NoExpert(new.email.clone()))?;
    Ok((added, account_for_expert(reg, &row)?))
}

/// A cell as text, trimmed, the way forms are read (`forms::cell_text`).
fn cell_text(d: &Data) -> String {
    crate::forms::cell_text(d).trim().to_string()
}

/// Reads the rows of an experts workbook: (row number, input) per non-empty row.
pub fn read_workbook(bytes: &[u8]) -> Result<Vec<(usize, ExpertInput)>> {
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| ReviewError::Workbook(format!("不是可读的 .xlsx 文件（{e}）")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| ReviewError::Workbook("工作簿中没有工作表".into()))?
        .map_err(|e| ReviewError::Workbook(e.to_string()))?;
    let all: Vec<Vec<String>> = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect())
        .collect();
    // The header is the first row naming the address column.
    let header_at = all
        .iter()
        .position(|cells| {
            cells
                .iter()
                .any(|c| c.contains("邮箱") || c.eq_ignore_ascii_case("email"))
        })
        .ok_or_else(|| {
            ReviewError::Workbook("找不到表头（需要：姓名、单位、省份、邮箱、擅长类型）".into())
        })?;
    let header = &all[header_at];
    let col = |field: &str| -> Option<usize> {
        let words = COLUMNS.iter().find(|(f, _)| *f == field).map(|(_, w)| *w)?;
        header.iter().position(|h| {
            let h = h.replace(char::is_whitespace, "");
            words.iter().any(|w| h.eq_ignore_ascii_case(w))
        })
    };
    let missing: Vec<&str> = COLUMNS
        .iter()
        .filter(|(f, _)| col(f).is_none())
        .map(|(_, w)| w[0])
        .collect();
    if !missing.is_empty() {
        return Err(ReviewError::Workbook(format!(
            "表头缺少列：{}",
            missing.join("、")
        )));
    }
    let (n, u, p, e, x) = (
        col("name").unwrap(),
        col("unit").unwrap(),
        col("province").unwrap(),
        col("email").unwrap(),
        col("expertise").unwrap(),
    );
    // Row numbers as the spreadsheet shows them: where the used range starts, plus one.
    let first = range.start().map(|s| s.0 as usize).unwrap_or(0) + 1;
    let mut out = Vec::new();
    for (i, r) in all.iter().enumerate().skip(header_at + 1) {
        let get = |c: usize| r.get(c).cloned().unwrap_or_default();
        let input = ExpertInput {
            name: get(n),
            unit: get(u),
            province: get(p),
            email: get(e),
            expertise: get(x),
        };
        if [
            &input.name,
            &input.unit,
            &input.province,
            &input.email,
            &input.expertise,
        ]
        .iter()
        .all(|s| s.is_empty())
        {
            continue;
        }
        out.push((first + i, input));
    }
    Ok(out)
}

/// Imports an experts workbook: good rows recorded, bad rows reported (nothing of them
/// recorded), an address given twice reported at its second row.
pub fn import_experts(reg: &Registry, campaign: &Campaign, bytes: &[u8]) -> Result<ImportReport> {
    let rows = read_workbook(bytes)?;
    let mut report = ImportReport::default();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (row, input) in rows {
        let email = input.email.trim().to_lowercase();
        if let Some((_, first)) = seen.iter().find(|(e, _)| *e == email && !email.is_empty()) {
            report.problems.push(RowProblem {
                row,
                code: "duplicate_email",
                message: format!("第 {row} 行：邮箱 {email} 与第 {first} 行重复，本行未导入"),
            });
            continue;
        }
        match check_expert(campaign, &input) {
            Err(e) => report.problems.push(RowProblem {
                row,
                code: e.code(),
                message: format!("第 {row} 行：{e}，本行未导入"),
            }),
            Ok(new) => {
                let (_, added) = reg.upsert_expert(&new)?;
                if let Some(x) = reg.expert_by_email(&new.email)? {
                    let account = account_for_expert(reg, &x)?;
                    match &account {
                        ExpertAccount::Created { .. } => report.accounts_created += 1,
                        ExpertAccount::Linked { .. } => report.accounts_linked += 1,
                        _ => report.account_notes.push(RowProblem {
                            row,
                            code: account.code(),
                            message: format!("第 {row} 行：{}", account.text(&x.email)),
                        }),
                    }
                }
                if added {
                    report.added += 1;
                } else {
                    report.updated += 1;
                }
                seen.push((email, row));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(email_ok("zhang.san@pku.edu.cn"));
        assert!(!email_ok("zhang san@pku.edu.cn"));
        assert!(!email_ok("zhangsan"));
        assert!(!email_ok("a@b@c.cn"));
        assert!(!email_ok("a@localhost"));
    }

    #[test]
    fn expertise_words_become_kinds_and_themes() {
        let c = Campaign::from_texts(crate::campaign::BUILTIN_RULES).unwrap();
        let theme = c.themes[0].name.clone();
        let x = check_expert(
            &c,
            &ExpertInput {
                email: " Li@Example.CN ".into(),
                name: "李四".into(),
                province: "广东".into(),
                unit: "广东 开放大学".into(),
                expertise: format!("案例、course，{theme}"),
            },
        )
        .unwrap();
        assert_eq!(x.email, "li@example.cn");
        assert_eq!(x.province.as_deref(), Some("GD"));
        assert_eq!(x.kinds, ["case", "course"]);
        assert_eq!(x.themes, [theme]);
        assert_eq!(x.unit_key.as_deref(), Some("广东开放大学"));
        let bad = check_expert(
            &c,
            &ExpertInput {
                email: "w@x.cn".into(),
                name: "王".into(),
                expertise: "烹饪".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(bad.code(), "unknown_expertise");
    }
}
