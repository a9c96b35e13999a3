//! Chinese wording of the error codes an entry carries, from the same
//! `templates/findings.toml` the replies use, so staff and provinces read the same words.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct FindingsFile {
    codes: BTreeMap<String, String>,
}

pub struct ReportWording {
    hb: Handlebars<'static>,
}

impl ReportWording {
    /// Loads the wording from the templates folder, else the built-in copy.
    pub fn load(dir: Option<&Path>) -> Result<ReportWording> {
        let src = crate::reply::template_source(dir, "findings.toml")?;
        let file: FindingsFile = toml::from_str(&src).context("templates/findings.toml")?;
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        for (code, t) in &file.codes {
            hb.register_template_string(code, t)
                .with_context(|| format!("templates/findings.toml: {code}"))?;
        }
        Ok(ReportWording { hb })
    }

    /// One sentence for a stored error (`{"code": …, "label": …, "limit": …}`).
    pub fn describe(&self, e: &Value) -> String {
        let code = e.get("code").and_then(|v| v.as_str()).unwrap_or("?");
        let num = |k: &str| e.get(k).and_then(|v| v.as_u64());
        let label = e
            .get("label")
            .or_else(|| e.get("field"))
            .cloned()
            .unwrap_or(Value::Null);
        let ctx = json!({
            "label": label,
            "limit": num("limit"),
            "actual": num("actual"),
            "over": num("actual").zip(num("limit")).map(|(a, l)| a.saturating_sub(l)),
            "value": e.get("value"),
            "name": e.get("name"),
            "receipt": e.get("receipt"),
        });
        self.hb
            .render(code, &ctx)
            .unwrap_or_else(|_| code.to_string())
    }

    /// The short status word used in report tables.
    pub fn status(&self, status: &str) -> String {
        match status {
            "valid" => "有效",
            "invalid" => "待更正",
            "held" => "暂存（省份待定）",
            other => other,
        }
        .to_string()
    }
}
