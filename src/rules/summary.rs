//! Checks a province summary sheet (推荐汇总表) against the forms of the same message:
//! every row must have a form (same name, and same kind when the row gives one).

use super::{Code, Finding};
use crate::forms::{Kind, SummaryRow};
use crate::text;

/// `forms` are the (kind, name) of every form read from the message.
pub fn check_summary(rows: &[SummaryRow], forms: &[(Kind, String)]) -> Vec<Finding> {
    rows.iter()
        .filter(|row| {
            let key = text::name_key(&row.name);
            !forms.iter().any(|(kind, name)| {
                text::name_key(name) == key && row.kind.is_none_or(|k| k == *kind)
            })
        })
        .map(|row| {
            let mut f = Finding::new(Code::SummaryMismatch);
            f.name = Some(row.name.clone());
            f.detail = Some(format!("row {}", row.row));
            f.actual = Some(row.row as u64);
            f
        })
        .collect()
}
