//! Renders the report's HTML and plain text from `templates/report.html.hbs` and
//! `templates/report.txt.hbs` (a folder copy wins over the built-in one). Two registries:
//! the HTML one escapes, the text one does not. Pure: the context carries every moment
//! shown, so the same data always renders the same bytes.

use std::path::Path;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

use super::{ReportError, Result};

/// Built-in copies of the report templates.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "report.html.hbs",
        include_str!("../../templates/report.html.hbs"),
    ),
    (
        "report.txt.hbs",
        include_str!("../../templates/report.txt.hbs"),
    ),
    ("report.toml", include_str!("../../templates/report.toml")),
];

/// A template file from `dir`, else the built-in copy.
pub fn template_source(dir: Option<&Path>, name: &str) -> Result<String> {
    if let Some(dir) = dir {
        let p = dir.join(name);
        if p.exists() {
            return std::fs::read_to_string(&p).map_err(|e| ReportError::Read {
                path: p.clone(),
                message: e.to_string(),
            });
        }
    }
    EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| s.to_string())
        .ok_or_else(|| ReportError::Template {
            name: name.to_string(),
            message: "not found".into(),
        })
}

/// `{{pad value width}}`: the value right-aligned in `width` columns. Columns are counted
/// as East Asian width in a CJK context (UAX #11, ambiguous characters wide): the report
/// is read in Chinese mail clients, whose fixed-width fonts draw 汉字, full-width
/// punctuation and ambiguous signs such as “·” and “—” two columns wide.
fn pad_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let v = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("pad", 0))?
        .value();
    let width = h.param(1).and_then(|p| p.value().as_u64()).unwrap_or(4) as usize;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let cols = UnicodeWidthStr::width_cjk(s.as_str());
    for _ in cols..width {
        out.write(" ")?;
    }
    out.write(&s)?;
    Ok(())
}

#[derive(Clone)]
pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

impl Renderer {
    /// Loads both templates and checks they parse.
    pub fn load(dir: Option<&Path>) -> Result<Renderer> {
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        for (reg, name) in [
            (&mut text, "report.txt.hbs"),
            (&mut html, "report.html.hbs"),
        ] {
            reg.register_helper("pad", Box::new(pad_helper));
            let src = template_source(dir, name)?;
            reg.register_template_string(name, src)
                .map_err(|e| template_error(name, e))?;
        }
        Ok(Renderer { html, text })
    }

    pub fn html(&self, ctx: &Value) -> Result<String> {
        self.html
            .render("report.html.hbs", ctx)
            .map_err(|e| template_error("report.html.hbs", e))
    }

    pub fn text(&self, ctx: &Value) -> Result<String> {
        let t = self
            .text
            .render("report.txt.hbs", ctx)
            .map_err(|e| template_error("report.txt.hbs", e))?;
        Ok(crate::reply::squeeze_blank_lines(&t))
    }
}

fn template_error(name: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Template {
        name: name.to_string(),
        message: e.to_string(),
    }
}
