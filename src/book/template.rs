//! The book's template: `templates/book.toml` (wording, fonts, which fields each kind
//! prints) and `templates/book.typ` (the page layout typst sets the data in). Both are
//! data: a campaign words and orders its book without a change to the code. Loaded from
//! the templates folder when it holds them, else from the copies built into lndx, and
//! checked against the campaign at load (a field that is not public is refused).

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::Handlebars;
use serde::Deserialize;

use crate::campaign::Campaign;
use crate::forms::spec::Role;

/// The built-in copies, used when the templates folder has none.
pub const BUILTIN_TOML: &str = include_str!("../../templates/book.toml");
pub const BUILTIN_TYP: &str = include_str!("../../templates/book.typ");

/// A template that cannot be used; names the file and what to change.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("无法读取 {path}：{source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} 格式有误：{message}")]
    Parse { path: String, message: String },
    #[error("{path}：{message}")]
    Invalid { path: String, message: String },
}

/// `templates/book.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookToml {
    pub text: Texts,
    pub fonts: FontNames,
    pub docx: DocxFonts,
    /// Kind key → its layout; kinds not listed print every public content field.
    #[serde(default)]
    pub kinds: BTreeMap<String, KindLayout>,
}

/// The book's wording (handlebars templates where they take values).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub file_name: String,
    pub cover_title: String,
    pub cover_subtitle: String,
    pub date_format: String,
    pub running_head: String,
    pub preface_title: String,
    pub toc_title: String,
    pub province: String,
    pub receipt: String,
    pub themes: String,
    pub redacted: String,
    pub preface: String,
    #[serde(default)]
    pub preface_signature: Vec<String>,
}

/// Font families the PDF is set in (the files come from the config).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FontNames {
    pub body: String,
    pub heading: String,
    pub lang: String,
    pub region: String,
}

/// Fonts named in the .docx (not embedded: the editors' own).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocxFonts {
    pub body_east_asia: String,
    pub heading_east_asia: String,
    pub latin: String,
}

/// What one kind prints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindLayout {
    /// Field keys in print order.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// The field the platform export's LOM description takes.
    #[serde(default)]
    pub description: Option<String>,
}

/// The loaded, checked template.
#[derive(Debug, Clone)]
pub struct BookTemplate {
    pub toml: BookToml,
    /// The typst layout (`book.typ`).
    pub typ: String,
}

impl BookTemplate {
    /// Loads `book.toml` and `book.typ` from `dir` (each falls back to the built-in copy
    /// when the folder does not hold it) and checks them against the campaign.
    pub fn load(dir: Option<&Path>, campaign: &Campaign) -> Result<BookTemplate, TemplateError> {
        let read = |name: &str, builtin: &str| -> Result<(String, String), TemplateError> {
            match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
                Some(p) => std::fs::read_to_string(&p)
                    .map(|s| (p.display().to_string(), s))
                    .map_err(|source| TemplateError::Read {
                        path: p.display().to_string(),
                        source,
                    }),
                None => Ok((format!("templates/{name}"), builtin.to_string())),
            }
        };
        let (toml_path, toml_text) = read("book.toml", BUILTIN_TOML)?;
        let (_, typ) = read("book.typ", BUILTIN_TYP)?;
        Self::from_texts(&toml_path, &toml_text, typ, campaign)
    }

    /// Builds from texts (tests, and the fallback).
    pub fn from_texts(
        path: &str,
        toml_text: &str,
        typ: String,
        campaign: &Campaign,
    ) -> Result<BookTemplate, TemplateError> {
        let toml: BookToml = toml::from_str(toml_text).map_err(|e| TemplateError::Parse {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let t = BookTemplate { toml, typ };
        t.check(path, campaign)?;
        Ok(t)
    }

    fn check(&self, path: &str, campaign: &Campaign) -> Result<(), TemplateError> {
        let invalid = |message: String| TemplateError::Invalid {
            path: path.to_string(),
            message,
        };
        let tx = &self.toml.text;
        for (name, text) in [
            ("file_name", &tx.file_name),
            ("cover_title", &tx.cover_title),
            ("cover_subtitle", &tx.cover_subtitle),
            ("date_format", &tx.date_format),
            ("running_head", &tx.running_head),
            ("preface", &tx.preface),
        ]
        .into_iter()
        .chain(
            tx.preface_signature
                .iter()
                .map(|s| ("preface_signature", s)),
        ) {
            handlebars::Template::compile(text)
                .map_err(|e| invalid(format!("[text] {name} 不是有效的模板：{e}")))?;
        }
        for (key, layout) in &self.toml.kinds {
            let Some(kind) = campaign.kind(key) else {
                return Err(invalid(format!(
                    "[kinds.{key}]：活动规则中没有这一类别（campaign.toml 的类别：{}）",
                    campaign
                        .kinds()
                        .map(|k| k.key().to_string())
                        .collect::<Vec<_>>()
                        .join("、")
                )));
            };
            let named = layout
                .fields
                .iter()
                .flatten()
                .chain(layout.description.iter());
            for f in named {
                let is_blank = campaign.forms.ticks.blank_field == *f;
                match campaign.forms.field(f) {
                    None if is_blank => {}
                    None => {
                        return Err(invalid(format!(
                            "[kinds.{key}] 中的字段 {f} 不在 forms.toml 中"
                        )))
                    }
                    Some(spec) => {
                        if !campaign.forms.field_applies(spec, kind) {
                            return Err(invalid(format!(
                                "[kinds.{key}] 中的字段 {f} 不属于这一类别的申报表"
                            )));
                        }
                        if !spec.public {
                            return Err(invalid(format!(
                                "[kinds.{key}] 中的字段 {f} 在 forms.toml 中标为 public = false（联系信息），汇编不得刊印"
                            )));
                        }
                        if matches!(spec.role, Some(Role::Name | Role::Unit | Role::Opinion)) {
                            return Err(invalid(format!(
                                "[kinds.{key}] 中的字段 {f} 是名称、申报单位或意见栏，汇编另行处理，不应列在 fields 中"
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The fields `kind` prints, in order: the template's list, else every public content
    /// field of its form in forms.toml order (plus the tick list's blank after the tick
    /// list).
    pub fn fields_of(&self, campaign: &Campaign, kind: crate::kind::Kind) -> Vec<String> {
        if let Some(list) = self
            .toml
            .kinds
            .get(kind.key())
            .and_then(|l| l.fields.clone())
        {
            return list;
        }
        let forms = &campaign.forms;
        let mut out = Vec::new();
        for f in &forms.fields {
            if !forms.field_applies(f, kind) || !f.public || f.role.is_some() {
                continue;
            }
            // The case form's content cell is printed through its sections when the
            // sections are fields of their own.
            if f.key == forms.sections.field && !forms.sections.headings.is_empty() {
                continue;
            }
            out.push(f.key.clone());
            if f.key == forms.ticks.field && !forms.ticks.blank_field.is_empty() {
                out.push(forms.ticks.blank_field.clone());
            }
        }
        out
    }

    /// The field the LOM description of `kind` takes, if the template names one.
    pub fn description_field(&self, kind: crate::kind::Kind) -> Option<&str> {
        self.toml
            .kinds
            .get(kind.key())
            .and_then(|l| l.description.as_deref())
    }
}

/// A handlebars registry for plain text (no HTML escaping: the texts reach typst and the
/// .docx as data, never as markup), strict so a misspelt name is an error.
pub fn handlebars() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.register_escape_fn(handlebars::no_escape);
    hb.set_strict_mode(true);
    hb
}
