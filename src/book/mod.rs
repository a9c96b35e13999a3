//! 汇编成册: the book of a batch's recommended entries (or every current valid entry), as
//! a typeset PDF and an editable .docx with the same structure.
//!
//! [`select`] picks and orders the entries (kind in the campaign's order, then province in
//! the rules' order, then receipt); [`Book::gather`] turns them into the public text of the
//! book — only fields the rules mark public, phone numbers written inside that text
//! replaced — as plain data; `pdf` sets that data with typst (in-process, fonts given
//! explicitly, data passed as JSON so no form text is ever read as markup) and `docx`
//! writes it with docx-rs. [`build`] does all of it and is what a command or a web handler
//! calls. Nothing here reads the clock: the same registry and parts give the same bytes.

pub mod docx;
pub mod pdf;
pub mod template;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::Value;

use crate::campaign::Campaign;
use crate::kind::Kind;
use crate::registry::{PublishedEntry, Registry, RegistryError};

pub use pdf::Fonts;
pub use template::{BookTemplate, TemplateError};

/// Which entries of the batch a book or export takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every current valid entry of the batch (`--all-valid`).
    AllValid,
    /// These receipts: the recommended entries of the published review decisions.
    Receipts(Vec<String>),
}

/// Why a book or an export could not be made. The messages are for the person who asked
/// (Chinese); [`BookError::code`] is the stable code.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("第{batch}批尚无已发布的专家评议结果，无法确定推荐名单；如需汇编该批全部有效申报，请加 --all-valid")]
    NoPublishedDecisions { batch: u8 },
    #[error("活动规则中没有第{batch}批（已有批次：{known}）")]
    UnknownBatch { batch: u8, known: String },
    #[error("第{batch}批没有可汇编的有效申报")]
    Empty { batch: u8 },
    #[error("推荐名单中的受理编号不是第{batch}批的当前有效申报：{receipts}")]
    NotPublishable { batch: u8, receipts: String },
    #[error("汇编模板有误：{0}")]
    Template(#[from] TemplateError),
    #[error("无法读取字体文件 {path}：{message}")]
    Font { path: String, message: String },
    #[error("字体文件中没有模板所用的字体 {family}（templates/book.toml [fonts]；配置 [book] fonts 可指定字体文件）")]
    MissingFont { family: String },
    #[error("排版失败：{0}")]
    Typeset(String),
    #[error("生成 .docx 失败：{0}")]
    Docx(String),
    #[error("数据库错误：{0}")]
    Registry(#[from] RegistryError),
}

impl BookError {
    /// The stable snake_case code of the error (`--json` output, the console).
    pub fn code(&self) -> &'static str {
        match self {
            BookError::NoPublishedDecisions { .. } => "no_published_decisions",
            BookError::UnknownBatch { .. } => "unknown_batch",
            BookError::Empty { .. } => "empty_book",
            BookError::NotPublishable { .. } => "not_publishable",
            BookError::Template(_) => "book_template",
            BookError::Font { .. } => "font_unreadable",
            BookError::MissingFont { .. } => "font_missing",
            BookError::Typeset(_) => "typeset_failed",
            BookError::Docx(_) => "docx_failed",
            BookError::Registry(_) => "registry",
        }
    }
}

/// What building a book needs besides the registry: given by the caller (the command
/// layer builds it from the config), never read from the clock or the environment.
pub struct Parts<'a> {
    pub campaign: &'a Campaign,
    pub template: &'a BookTemplate,
    pub fonts: &'a Fonts,
    /// The book's date (cover, 前言): the config's `[book] date`, else the batch's deadline.
    pub date: NaiveDate,
}

/// What the configuration says about the book (`[book]` and the templates folder): the
/// command line and the console build books and packages through it alike.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The templates folder (`book.toml`, `book.typ`); None: the shipped one.
    pub templates_dir: Option<std::path::PathBuf>,
    /// The font files the PDF is set in.
    pub fonts: Vec<std::path::PathBuf>,
    /// The date on the cover and under the 前言; None: the batch's deadline.
    pub date: Option<NaiveDate>,
}

impl Setup {
    /// The book's date for `batch`: the configured one, else the batch's deadline (None for
    /// a batch the campaign does not have).
    pub fn date_for(&self, campaign: &Campaign, batch: u8) -> Option<NaiveDate> {
        self.date
            .or_else(|| campaign.batch(batch).map(|b| b.deadline))
    }

    /// Builds the book of `batch`: the batch and the selection are checked before the
    /// template and the fonts are read.
    pub fn build(
        &self,
        reg: &Registry,
        campaign: &Campaign,
        batch: u8,
        selection: &Selection,
    ) -> Result<BookFiles, BookError> {
        select(reg, campaign, batch, selection)?;
        let template = BookTemplate::load(self.templates_dir.as_deref(), campaign)?;
        let fonts = Fonts::load(&self.fonts)?;
        let date = self
            .date_for(campaign, batch)
            .expect("select checked the batch");
        let parts = Parts {
            campaign,
            template: &template,
            fonts: &fonts,
            date,
        };
        build(reg, &parts, batch, selection)
    }
}

/// The two files of a book.
#[derive(Debug, Clone)]
pub struct BookFiles {
    /// File name without extension (from the template), e.g. 智慧助老第三批汇编.
    pub stem: String,
    pub pdf: Vec<u8>,
    pub docx: Vec<u8>,
    pub entries: usize,
}

/// Builds the book of `batch`: the PDF and the .docx.
pub fn build(
    reg: &Registry,
    parts: &Parts,
    batch: u8,
    selection: &Selection,
) -> Result<BookFiles, BookError> {
    let entries = select(reg, parts.campaign, batch, selection)?;
    let book = Book::gather(parts, batch, &entries)?;
    let pdf = pdf::typeset(&book, &parts.template.typ, parts.fonts)?;
    let docx = docx::write(&book, parts.template, parts.date)?;
    Ok(BookFiles {
        stem: book.file_name.clone(),
        pdf,
        docx,
        entries: entries.len(),
    })
}

/// The entries of the batch the selection names, in book order: kind (campaign order),
/// province (the rules' order), receipt. Only current valid entries are ever returned.
pub fn select(
    reg: &Registry,
    campaign: &Campaign,
    batch: u8,
    selection: &Selection,
) -> Result<Vec<PublishedEntry>, BookError> {
    if campaign.batch(batch).is_none() {
        return Err(BookError::UnknownBatch {
            batch,
            known: campaign
                .batches
                .iter()
                .map(|b| b.number.to_string())
                .collect::<Vec<_>>()
                .join("、"),
        });
    }
    let mut entries = match selection {
        Selection::AllValid => reg.published_entries(batch, None)?,
        Selection::Receipts(wanted) => {
            let found = reg.published_entries(batch, Some(wanted))?;
            let missing: Vec<&str> = wanted
                .iter()
                .filter(|w| !found.iter().any(|e| &e.receipt == *w))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(BookError::NotPublishable {
                    batch,
                    receipts: missing.join("、"),
                });
            }
            found
        }
    };
    if entries.is_empty() {
        return Err(BookError::Empty { batch });
    }
    let province_pos = |p: &Option<String>| {
        p.as_deref()
            .and_then(|code| campaign.provinces.iter().position(|q| q.code == code))
            .unwrap_or(usize::MAX)
    };
    entries.sort_by(|a, b| {
        let ka = campaign.kind(&a.kind);
        let kb = campaign.kind(&b.kind);
        (ka.is_none(), ka, province_pos(&a.province), &a.receipt).cmp(&(
            kb.is_none(),
            kb,
            province_pos(&b.province),
            &b.receipt,
        ))
    });
    Ok(entries)
}

/// The recommended entries of a batch: the receipts the published review decisions
/// recommend (专家评议, `lndx review publish-decisions`). Before any round of the batch has
/// published its decisions there is no list, and the book and the export ask for
/// `--all-valid`.
pub fn recommended(reg: &Registry, batch: u8) -> Result<Vec<String>, BookError> {
    reg.published_recommendations(batch)?
        .ok_or(BookError::NoPublishedDecisions { batch })
}

/// The book as data: what typst sets and the .docx writer writes.
#[derive(Debug, Clone, Serialize)]
pub struct Book {
    pub title: String,
    pub file_name: String,
    pub fonts: template::FontNames,
    pub cover: Cover,
    pub running_head: String,
    pub preface: Preface,
    pub toc_title: String,
    pub kinds: Vec<KindPart>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cover {
    pub title: String,
    pub subtitle: String,
    pub date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preface {
    pub title: String,
    pub paragraphs: Vec<String>,
    pub signature: Vec<String>,
}

/// The entries of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindPart {
    pub key: String,
    pub name: String,
    pub entries: Vec<BookEntry>,
}

/// One entry as printed.
#[derive(Debug, Clone, Serialize)]
pub struct BookEntry {
    pub receipt: String,
    pub name: String,
    /// Short facts printed as "label：value" under the heading.
    pub meta: Vec<(String, String)>,
    /// Longer texts, each under a heading of its own.
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Block {
    pub label: String,
    pub paragraphs: Vec<String>,
}

/// A value longer than this (in characters), or of several lines, gets a heading of its own.
const SHORT_VALUE: usize = 40;

impl Book {
    /// The book of these entries (already selected and ordered by [`select`]).
    pub fn gather(parts: &Parts, batch: u8, entries: &[PublishedEntry]) -> Result<Book, BookError> {
        let campaign = parts.campaign;
        let tpl = parts.template;
        let tx = &tpl.toml.text;
        let batch_info = campaign
            .batch(batch)
            .ok_or_else(|| BookError::UnknownBatch {
                batch,
                known: String::new(),
            })?;
        let mut parts_by_kind: Vec<KindPart> = Vec::new();
        for e in entries {
            let Some(kind) = campaign.kind(&e.kind) else {
                continue;
            };
            if parts_by_kind.last().map(|p| p.key.as_str()) != Some(kind.key()) {
                let info = campaign.kind_info(kind);
                parts_by_kind.push(KindPart {
                    key: kind.key().to_string(),
                    name: info.name.clone(),
                    entries: Vec::new(),
                });
            }
            let entry = book_entry(parts, kind, e);
            parts_by_kind
                .last_mut()
                .expect("pushed above")
                .entries
                .push(entry);
        }
        let hb = template::handlebars();
        let date_vars = serde_json::json!({
            "year": parts.date.year(),
            "month": parts.date.month(),
            "day": parts.date.day(),
        });
        let render = |name: &str, text: &str, vars: &Value| -> Result<String, BookError> {
            hb.render_template(text, vars).map_err(|e| {
                BookError::Template(TemplateError::Invalid {
                    path: "book.toml".into(),
                    message: format!("[text] {name}：{e}"),
                })
            })
        };
        let date = render("date_format", &tx.date_format, &date_vars)?;
        let vars = serde_json::json!({
            "title": campaign.info.title,
            "short_name": campaign.info.short_name,
            "batch_name": batch_info.name,
            "batch": batch,
            "count": entries.len(),
            "date": date,
            "kinds": parts_by_kind.iter().map(|p| {
                let kind = campaign.kind(&p.key).expect("kind of the campaign");
                let info = campaign.kind_info(kind);
                serde_json::json!({
                    "name": info.name, "short": info.short,
                    "count": p.entries.len(), "measure": info.measure,
                })
            }).collect::<Vec<_>>(),
        });
        let preface = render("preface", &tx.preface, &vars)?;
        let paragraphs = preface
            .split("\n\n")
            .map(|p| p.trim().replace('\n', ""))
            .filter(|p| !p.is_empty())
            .collect();
        let signature = tx
            .preface_signature
            .iter()
            .map(|s| render("preface_signature", s, &vars))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Book {
            title: render("cover_title", &tx.cover_title, &vars)?,
            file_name: sanitize_file_name(&render("file_name", &tx.file_name, &vars)?),
            fonts: tpl.toml.fonts.clone(),
            cover: Cover {
                title: render("cover_title", &tx.cover_title, &vars)?,
                subtitle: render("cover_subtitle", &tx.cover_subtitle, &vars)?,
                date,
            },
            running_head: render("running_head", &tx.running_head, &vars)?,
            preface: Preface {
                title: tx.preface_title.clone(),
                paragraphs,
                signature,
            },
            toc_title: tx.toc_title.clone(),
            kinds: parts_by_kind,
        })
    }

    /// Every entry, in book order.
    pub fn entries(&self) -> impl Iterator<Item = &BookEntry> {
        self.kinds.iter().flat_map(|k| k.entries.iter())
    }
}

/// One entry's public text.
fn book_entry(parts: &Parts, kind: Kind, e: &PublishedEntry) -> BookEntry {
    let campaign = parts.campaign;
    let tx = &parts.template.toml.text;
    let fields: BTreeMap<String, Value> = serde_json::from_str(&e.fields).unwrap_or_default();
    let secrets = private_values(campaign, &fields);
    let clean = |s: &str| scrub(s, &secrets, &tx.redacted);
    let mut meta = Vec::new();
    if let (Some(unit_key), Some(unit)) = (
        campaign.role_field(kind, crate::forms::spec::Role::Unit),
        e.unit.as_deref().filter(|u| !u.trim().is_empty()),
    ) {
        meta.push((campaign.field_label(kind, unit_key), clean(unit)));
    }
    if let Some(p) = e.province.as_deref().and_then(|c| campaign.province(c)) {
        meta.push((tx.province.clone(), p.name.clone()));
    }
    meta.push((tx.receipt.clone(), e.receipt.clone()));
    let themes: Vec<String> = serde_json::from_str(&e.themes).unwrap_or_default();
    if !themes.is_empty() {
        meta.push((tx.themes.clone(), themes.join("、")));
    }
    let mut blocks = Vec::new();
    for key in parts.template.fields_of(campaign, kind) {
        let Some(value) = fields
            .get(&key)
            .and_then(|v| display_value(campaign, &key, v))
        else {
            continue;
        };
        if crate::text::is_blank(&value, &campaign.hint_words) {
            continue;
        }
        let label = campaign.field_label(kind, &key);
        let value = clean(&value);
        if !value.contains('\n') && crate::text::char_count(&value) <= SHORT_VALUE {
            meta.push((label, value));
        } else {
            let paragraphs: Vec<String> = value
                .split('\n')
                .map(|p| {
                    p.trim_matches(|c: char| crate::text::is_space(c))
                        .to_string()
                })
                .filter(|p| !p.is_empty())
                .collect();
            if !paragraphs.is_empty() {
                blocks.push(Block { label, paragraphs });
            }
        }
    }
    BookEntry {
        receipt: e.receipt.clone(),
        name: clean(&e.name),
        meta,
        blocks,
    }
}

/// A field's value as text: counts with the field's first unit word (培训期数 4 → 4期),
/// the tick list's blank with the word after it (视频时长 45 → 45分钟).
pub fn display_value(campaign: &Campaign, key: &str, v: &Value) -> Option<String> {
    let unit = || -> String {
        let forms = &campaign.forms;
        if let Some(u) = forms.field(key).and_then(|f| f.units.first()) {
            return u.clone();
        }
        if forms.ticks.blank_field == key {
            if let Some(u) = forms.ticks.blank_after.first() {
                return u.clone();
            }
        }
        String::new()
    };
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i.to_string(),
                (None, Some(f)) if f.fract() == 0.0 => format!("{f:.0}"),
                (None, Some(f)) => f.to_string(),
                _ => n.to_string(),
            };
            Some(format!("{text}{}", unit()))
        }
        _ => None,
    }
}

/// Whether the rules let this field be published (`public = false` marks contact details).
/// A key the rules do not list (a blank of the tick list) is content.
pub fn is_public(campaign: &Campaign, key: &str) -> bool {
    campaign.forms.field(key).is_none_or(|f| f.public)
}

/// The values of an entry's non-public fields: never printed, and removed wherever they
/// are repeated in the public text.
fn private_values(campaign: &Campaign, fields: &BTreeMap<String, Value>) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| !is_public(campaign, k))
        .filter_map(|(_, v)| v.as_str().map(str::to_string))
        .flat_map(|v| {
            // A phone cell may hold several numbers ("0531-1234567 / 138…").
            v.split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .filter(|p| p.chars().filter(char::is_ascii_digit).count() >= 7)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Replaces, in public text, the private values given and anything that reads as a phone
/// number: a mainland mobile number (11 digits from 13–19) or a number with an area code
/// (0 and 9–11 more digits, hyphens and spaces allowed between digits).
pub fn scrub(text: &str, secrets: &[String], redacted: &str) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s.as_str(), redacted);
        }
    }
    let chars: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_ascii_digit() || chars[i - 1] == '.'));
        if starts_number {
            let mut j = i;
            let mut digits = String::new();
            while j < chars.len() {
                let c = chars[j];
                if c.is_ascii_digit() {
                    digits.push(c);
                    j += 1;
                } else if matches!(c, '-' | '－' | ' ')
                    && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit())
                    && !digits.is_empty()
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if looks_like_phone(&digits) {
                result.push_str(redacted);
                i = j;
                continue;
            }
            result.extend(&chars[i..j.max(i + 1)]);
            i = j.max(i + 1);
            continue;
        }
        result.push(chars[i]);
        i += 1;
    }
    result
}

fn looks_like_phone(digits: &str) -> bool {
    let b = digits.as_bytes();
    let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
    let landline = b.len() >= 10 && b.len() <= 12 && b[0] == b'0';
    mobile || landline
}

/// A file name from a template: no path separators or control characters.
fn sanitize_file_name(s: &str) -> String {
    let cleaned: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if cleaned.is_empty() {
        "book".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_scrubbed_and_other_numbers_kept() {
        let s = scrub(
            "电话0531-86197320，手机 13691127485；2021-2022年培训1,260人次，共186期。",
            &[],
            "（略）",
        );
        assert_eq!(
            s,
            "电话（略），手机 （略）；2021-2022年培训1,260人次，共186期。"
        );
        let s = scrub("联系 6649 0580 或 66490580", &["66490580".into()], "X");
        assert!(!s.contains("66490580"), "{s}");
    }
}
