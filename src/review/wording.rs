//! The wording of 专家评议 (`templates/review.toml`): the score sheet's headers and
//! messages, the subjects and texts of the review mail, the reminder's "when" phrases and
//! the receipt's problem lines. Checked complete at load (every key the code uses, no
//! unknown one, each template compiles), naming the line of a problem, like
//! `findings.toml` and `report.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::Value;

use super::sheet::SheetWords;
use crate::reply::tables;

/// The shipped wording, used when no templates folder is given.
pub const BUILTIN: &str = include_str!("../../templates/review.toml");

const SHEET: &[&str] = &[
    "receipt",
    "name",
    "criterion",
    "total",
    "comment",
    "recommendation",
    "invalid_score_title",
    "invalid_score",
    "invalid_recommendation",
    "filename",
];
const MAILS: &[&str] = &["invitation", "reminder", "complete", "outcome", "receipt"];
const WHEN: &[&str] = &[
    "before",
    "on",
    "after",
    "soon",
    "overdue",
    "sign_in_pending",
    "sign_in",
];
/// The problems a returned score sheet can have (also their stable codes).
pub const PROBLEMS: &[&str] = &[
    "not_assigned",
    "wrong_sender",
    "round_closed",
    "unknown_round",
    "score_out_of_range",
    "not_a_number",
    "missing_score",
    "missing_comment",
    "missing_recommendation",
    "bad_recommendation",
];

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WordingError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    sheet: BTreeMap<String, String>,
    subjects: BTreeMap<String, String>,
    texts: BTreeMap<String, String>,
    when: BTreeMap<String, String>,
    problems: BTreeMap<String, String>,
}

/// The loaded wording.
#[derive(Clone)]
pub struct Wording {
    file: File,
    hb: Handlebars<'static>,
}

impl std::fmt::Debug for Wording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wording")
    }
}

impl Wording {
    /// Loads `review.toml` from a templates folder (when it has one), else the shipped one.
    pub fn load(dir: Option<&Path>) -> Result<Wording, WordingError> {
        if let Some(d) = dir {
            let p = d.join("review.toml");
            if p.is_file() {
                let src = std::fs::read_to_string(&p).map_err(|e| WordingError {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?;
                return Wording::from_text(&p.display().to_string(), &src);
            }
        }
        Wording::from_text("templates/review.toml", BUILTIN)
    }

    pub fn from_text(path: &str, src: &str) -> Result<Wording, WordingError> {
        let err = |message: String| WordingError {
            path: path.to_string(),
            message,
        };
        let file: File = toml::from_str(src).map_err(|e| err(e.to_string().trim().to_string()))?;
        let t: Vec<tables::Table> = vec![
            ("sheet", &file.sheet, SHEET),
            ("subjects", &file.subjects, MAILS),
            ("texts", &file.texts, MAILS),
            ("when", &file.when, WHEN),
            ("problems", &file.problems, PROBLEMS),
        ];
        tables::check_complete(&t).map_err(|p| err(p.located(src)))?;
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (table, map) in [
            ("subjects", &file.subjects),
            ("texts", &file.texts),
            ("problems", &file.problems),
        ] {
            for (k, v) in map {
                hb.register_template_string(&format!("{table}.{k}"), v)
                    .map_err(|e| err(tables_line(src, k, &format!("[{table}] {k}: {e}"))))?;
            }
        }
        Ok(Wording { file, hb })
    }

    /// Renders `table.key` with `params`.
    pub fn render(&self, table: &str, key: &str, params: &Value) -> String {
        self.hb
            .render(&format!("{table}.{key}"), params)
            .unwrap_or_else(|e| format!("{table}.{key}: {e}"))
    }

    pub fn subject(&self, mail: &str, params: &Value) -> String {
        self.render("subjects", mail, params).trim().to_string()
    }

    pub fn text(&self, mail: &str, params: &Value) -> String {
        let t = self.render("texts", mail, params);
        // Blank lines the block helpers leave collapse to one.
        let mut out = String::new();
        let mut blank = 0;
        for line in t.trim().lines() {
            if line.trim().is_empty() {
                blank += 1;
                if blank > 1 {
                    continue;
                }
            } else {
                blank = 0;
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn problem(&self, code: &str, params: &Value) -> String {
        self.render("problems", code, params).trim().to_string()
    }

    pub fn when(&self, key: &str) -> &str {
        self.file
            .when
            .get(key)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The sign-in sentence of an invitation or reminder: `{link}` and `{hours}` filled in.
    pub fn sign_in(&self, link: &str, hours: u32) -> String {
        self.when("sign_in")
            .replace("{link}", link)
            .replace("{hours}", &hours.to_string())
    }

    /// The score sheet's file name for a round.
    pub fn sheet_filename(&self, round: i64) -> String {
        self.file.sheet["filename"].replace("{round}", &round.to_string())
    }

    pub fn sheet_words(&self) -> SheetWords {
        let s = |k: &str| self.file.sheet[k].clone();
        SheetWords {
            receipt: s("receipt"),
            name: s("name"),
            criterion: s("criterion"),
            total: s("total"),
            comment: s("comment"),
            recommendation: s("recommendation"),
            invalid_score_title: s("invalid_score_title"),
            invalid_score: s("invalid_score"),
            invalid_recommendation: s("invalid_recommendation"),
        }
    }
}

fn tables_line(src: &str, key: &str, message: &str) -> String {
    match src
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{key} =")))
    {
        Some(n) => format!("line {}: {message}", n + 1),
        None => message.to_string(),
    }
}

/// Plain text as HTML: escaped, line breaks kept.
pub fn html(text: &str) -> String {
    let mut out = String::from("<div style=\"white-space:pre-wrap;font-family:sans-serif\">");
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_wording_is_complete_and_renders() {
        let w = Wording::from_text("templates/review.toml", BUILTIN).unwrap();
        let t = w.text(
            "invitation",
            &serde_json::json!({"name": "李四", "batch_name": "第一批", "due": "2021年11月20日",
                "count": 1, "entries": [{"receipt": "R-1", "kind": "案例", "title": "<b>题</b>"}],
                "sheet": "评分表.xlsx", "sign_in": "（登录链接）", "short_name": "智慧助老"}),
        );
        assert!(t.contains("R-1") && t.contains("<b>题</b>"), "{t}");
        assert!(html(&t).contains("&lt;b&gt;"));
        assert!(w.sheet_filename(3).contains('3'));
    }

    #[test]
    fn a_missing_key_is_named_with_its_line() {
        let src = BUILTIN.replace("not_assigned = ", "not_assigned_x = ");
        let e = Wording::from_text("templates/review.toml", &src).unwrap_err();
        assert!(e.message.contains("not_assigned"), "{e}");
        assert!(e.message.starts_with("line "), "{e}");
    }
}
