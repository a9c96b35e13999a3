//! Checks shared by the wording files (`templates/findings.toml` of the replies and
//! `templates/report.toml` of the report): every table has exactly the keys the code knows,
//! and date formats parse. A problem names the line where it stands; each file wraps it in
//! its own error.

use std::collections::BTreeMap;

/// A problem in a wording file: what is wrong, and the text a line starts with to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    needle: String,
    message: String,
}

impl Problem {
    /// The message, prefixed with the line of `src` where the problem stands when found.
    pub fn located(&self, src: &str) -> String {
        match src
            .lines()
            .position(|l| l.trim_start().starts_with(&self.needle))
        {
            Some(n) => format!("line {}: {}", n + 1, self.message),
            None => self.message.clone(),
        }
    }
}

/// A table of a wording file: its name, the keys it has, the keys the code knows.
pub type Table<'a> = (&'a str, &'a BTreeMap<String, String>, &'a [&'a str]);

/// Every known key is present and no unknown key is, in every table.
pub fn check_complete(tables: &[Table]) -> Result<(), Problem> {
    for (table, have, want) in tables {
        if let Some(key) = want.iter().find(|k| !have.contains_key(**k)) {
            return Err(Problem {
                needle: format!("[{table}]"),
                message: format!("[{table}] has no wording for \"{key}\"; add {key} = \"…\""),
            });
        }
        if let Some(key) = have.keys().find(|k| !want.contains(&k.as_str())) {
            return Err(Problem {
                needle: format!("{key} ="),
                message: format!(
                    "[{table}] {key}: unknown; the known ones are {}",
                    want.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// A date format (chrono's strftime items) that can be used: a bad item would make
/// formatting fail at the moment a reply or report is written.
pub fn check_date_format(table: &str, key: &str, format: &str) -> Result<(), Problem> {
    let bad = format.trim().is_empty()
        || chrono::format::StrftimeItems::new(format)
            .any(|i| matches!(i, chrono::format::Item::Error));
    if bad {
        return Err(Problem {
            needle: format!("{key} ="),
            message: format!(
                "[{table}] {key} = {format:?} is not a valid date format (e.g. \"%Y年%m月%d日 %H:%M\")"
            ),
        });
    }
    Ok(())
}
