//! 纳入平台数据库: the platform export, one documented and versioned zip package of a
//! batch's recommended (or all valid) entries for the national platform's database.
//!
//! The package (docs/platform-export.md; its manifest's JSON Schema is
//! docs/platform-manifest.schema.json):
//! - `manifest.json`: schema version, campaign, batch, generated time, and one item per
//!   entry — receipt, kind, name, unit, province, themes, decision, the public fields, and
//!   its files with their path in the zip, original name, SHA-256, size and media type;
//! - `items.xlsx`: the same rows as a workbook;
//! - `files/<receipt>/…`: the supporting files of the entry's message, and with
//!   `--include-contacts` the form itself (its cells hold the contact details), taken
//!   again out of the stored raw message through `message` (the registry keeps raw
//!   messages, not extracted files), each checked against the SHA-256 recorded at filing;
//! - `lom/<receipt>.xml`: IEEE LOM (1484.12.3 XML binding) for each entry of a kind whose
//!   checks name a video (the course), see `lom.rs`.
//!
//! Contact details (fields marked `public = false` in forms.toml) are left out unless
//! asked for. Nothing reads the clock: the generated time comes from the caller (the
//! config, else the batch's deadline), zip members carry that time and come in a fixed
//! order, the workbook's properties carry it too, so exporting the same registry twice
//! gives the same bytes.

mod lom;
mod xlsx;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use serde::Serialize;
use serde_json::Value;
use zip::write::SimpleFileOptions;

use crate::book::{self, BookError, BookTemplate, Selection};
use crate::campaign::Campaign;
use crate::filing::FileRole;
use crate::message::{self, ParseOptions};
use crate::registry::{Registry, RegistryError, StoredFile};

/// The manifest's schema version (docs/platform-export.md says what each version changed).
pub const SCHEMA_VERSION: &str = "1.0";

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Select(#[from] BookError),
    #[error("数据库错误：{0}")]
    Registry(#[from] RegistryError),
    #[error("受理编号 {receipt} 的原始邮件（{message}）不在存档中")]
    RawMissing { receipt: String, message: i64 },
    #[error(
        "受理编号 {receipt} 的文件“{filename}”无法从原始邮件中重新取出（SHA-256 不符或已缺失）"
    )]
    FileMissing { receipt: String, filename: String },
    #[error("写入压缩包失败：{0}")]
    Zip(String),
    #[error("生成 items.xlsx 失败：{0}")]
    Xlsx(String),
}

impl ExportError {
    /// The stable snake_case code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Select(e) => e.code(),
            ExportError::Registry(_) => "registry",
            ExportError::RawMissing { .. } => "raw_missing",
            ExportError::FileMissing { .. } => "file_missing",
            ExportError::Zip(_) => "zip_failed",
            ExportError::Xlsx(_) => "xlsx_failed",
        }
    }
}

/// What an export needs besides the registry.
pub struct ExportParts<'a> {
    pub campaign: &'a Campaign,
    pub template: &'a BookTemplate,
    /// How stored messages are parsed again to take their files out.
    pub parse: &'a ParseOptions,
    /// The package's generated time (the config's, else the batch's deadline).
    pub generated: DateTime<FixedOffset>,
    /// Contact details too (`--include-contacts`).
    pub include_contacts: bool,
    /// The files themselves (`files/…`); without them the manifest lists no files.
    pub include_files: bool,
}

/// A finished package.
#[derive(Debug, Clone)]
pub struct Package {
    pub zip: Vec<u8>,
    pub items: usize,
    pub files: usize,
}

/// The manifest (see docs/platform-manifest.schema.json).
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub schema_version: &'static str,
    pub campaign: CampaignRef,
    pub batch: BatchRef,
    pub generated: String,
    pub selection: &'static str,
    pub contacts_included: bool,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CampaignRef {
    pub code: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRef {
    pub number: u8,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub receipt: String,
    pub kind: KindRef,
    pub name: String,
    pub unit: Option<String>,
    pub province: Option<ProvinceRef>,
    pub themes: Vec<String>,
    /// `recommended` (a published review decision named it) or `valid` (taken with
    /// `--all-valid`, not reviewed).
    pub decision: &'static str,
    pub fields: Vec<FieldValue>,
    pub files: Vec<FileRef>,
    /// Path in the zip of the item's LOM record, if it has one.
    pub lom: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KindRef {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProvinceRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldValue {
    pub key: String,
    pub label: String,
    pub value: String,
    /// A contact detail (only present with `--include-contacts`).
    pub contact: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub path: String,
    pub original_name: String,
    pub role: FileRole,
    pub sha256: String,
    pub size: u64,
    pub media_type: &'static str,
}

/// Builds the package of `batch` with the book's settings (templates, date): the command
/// line and the console alike. The generated time is the book's date, 00:00 in the
/// campaign's time zone (never the clock, so the same registry gives the same bytes).
pub fn export_with(
    setup: &book::Setup,
    reg: &Registry,
    campaign: &Campaign,
    parse: &ParseOptions,
    batch: u8,
    selection: &Selection,
    include_contacts: bool,
) -> Result<Package, ExportError> {
    book::select(reg, campaign, batch, selection)?;
    let template =
        BookTemplate::load(setup.templates_dir.as_deref(), campaign).map_err(BookError::from)?;
    let date = setup
        .date_for(campaign, batch)
        .expect("select checked the batch");
    let parts = ExportParts {
        campaign,
        template: &template,
        parse,
        generated: start_of_day(campaign, date),
        include_contacts,
        include_files: true,
    };
    export(reg, &parts, batch, selection)
}

/// Midnight of `day` in the campaign's time zone.
pub fn start_of_day(campaign: &Campaign, day: chrono::NaiveDate) -> DateTime<FixedOffset> {
    use chrono::TimeZone;
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    campaign
        .tz
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.fixed_offset())
        .unwrap_or_else(|| midnight.and_utc().fixed_offset())
}

/// Builds the package of `batch`.
pub fn export(
    reg: &Registry,
    parts: &ExportParts,
    batch: u8,
    selection: &Selection,
) -> Result<Package, ExportError> {
    let campaign = parts.campaign;
    let entries = book::select(reg, campaign, batch, selection)?;
    let batch_info = campaign.batch(batch).expect("select checked the batch");
    let decision = match selection {
        Selection::AllValid => "valid",
        Selection::Receipts(_) => "recommended",
    };
    let mut items = Vec::with_capacity(entries.len());
    // Zip members after manifest.json and items.xlsx, in order: files, then LOM records.
    let mut file_members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut lom_members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut parsed: HashMap<i64, Vec<message::File>> = HashMap::new();
    for e in &entries {
        let kind = campaign
            .kind(&e.kind)
            .expect("select keeps the campaign's kinds");
        let fields: BTreeMap<String, Value> = serde_json::from_str(&e.fields).unwrap_or_default();
        let mut values = Vec::new();
        for (key, v) in &fields {
            let public = book::is_public(campaign, key);
            if !public && !parts.include_contacts {
                continue;
            }
            // Name, unit and opinion boxes are not content.
            let role = campaign.forms.field(key).and_then(|f| f.role);
            if role.is_some() {
                continue;
            }
            let Some(value) = book::display_value(campaign, key, v) else {
                continue;
            };
            let value = if public && !parts.include_contacts {
                book::scrub(&value, &contact_digits(campaign, &fields), "")
            } else {
                value
            };
            values.push(FieldValue {
                key: key.clone(),
                label: campaign.field_label(kind, key),
                value,
                contact: !public,
            });
        }
        let mut files = Vec::new();
        if parts.include_files {
            // The form itself carries the contact details (phone numbers, contact
            // persons) in its cells: it travels only with `--include-contacts`; its public
            // content is in the manifest's fields either way.
            let mut wanted = if parts.include_contacts {
                vec![e.form.clone()]
            } else {
                Vec::new()
            };
            wanted.extend(
                reg.message_files(e.message, FileRole::Supporting)?
                    .into_iter()
                    .filter(|f| f.id != e.form.id),
            );
            if let std::collections::hash_map::Entry::Vacant(slot) = parsed.entry(e.message) {
                let raw = reg.raw_message(e.message)?.ok_or(ExportError::RawMissing {
                    receipt: e.receipt.clone(),
                    message: e.message,
                })?;
                slot.insert(message::parse(&raw, parts.parse).files);
            }
            let extracted = &parsed[&e.message];
            let mut used_names: Vec<String> = Vec::new();
            for f in &wanted {
                let bytes = find_bytes(extracted, f).ok_or_else(|| ExportError::FileMissing {
                    receipt: e.receipt.clone(),
                    filename: f.filename.clone(),
                })?;
                let mut name = safe_name(&f.filename);
                if used_names.contains(&name) {
                    name = format!("{}-{}", f.seq, name);
                }
                used_names.push(name.clone());
                let path = format!("files/{}/{}", e.receipt, name);
                files.push(FileRef {
                    path: path.clone(),
                    original_name: f.filename.clone(),
                    role: f.role,
                    sha256: crate::registry::sha256_hex(bytes),
                    size: bytes.len() as u64,
                    media_type: media_type(&f.file_type, &f.filename),
                });
                file_members.push((path, bytes.to_vec()));
            }
        }
        let lom_path = if let Some(video) =
            campaign.checks.get(&kind).and_then(|c| c.video.as_ref())
        {
            let path = format!("lom/{}.xml", e.receipt);
            let record = lom::Record {
                identifier: &e.receipt,
                catalog: &campaign.info.code,
                title: &e.name,
                description: parts
                    .template
                    .description_field(kind)
                    .and_then(|k| fields.get(k))
                    .and_then(Value::as_str)
                    .map(|s| book::scrub(s, &contact_digits(campaign, &fields), ""))
                    .unwrap_or_default(),
                unit: e.unit.as_deref().unwrap_or_default(),
                date: &parts.generated.format("%Y-%m-%d").to_string(),
                formats: files.iter().map(|f| f.media_type).collect(),
                minutes: fields.get(&video.minutes).and_then(|v| match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => crate::text::minutes(s),
                    _ => None,
                }),
                consent: fields
                    .get(&video.consent)
                    .and_then(Value::as_str)
                    .map(|answer| {
                        (
                            campaign.field_label(kind, &video.consent),
                            answer.to_string(),
                            campaign.forms.answers.yes.first().map(String::as_str) == Some(answer),
                        )
                    }),
            };
            lom_members.push((path.clone(), lom::write(&record).into_bytes()));
            Some(path)
        } else {
            None
        };
        items.push(Item {
            receipt: e.receipt.clone(),
            kind: KindRef {
                key: kind.key().to_string(),
                name: campaign.kind_info(kind).name.clone(),
            },
            name: e.name.clone(),
            unit: e.unit.clone(),
            province: e.province.as_deref().map(|code| ProvinceRef {
                code: code.to_string(),
                name: campaign
                    .province(code)
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
            }),
            themes: serde_json::from_str(&e.themes).unwrap_or_default(),
            decision,
            fields: values,
            files,
            lom: lom_path,
        });
    }
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        campaign: CampaignRef {
            code: campaign.info.code.clone(),
            title: campaign.info.title.clone(),
        },
        batch: BatchRef {
            number: batch,
            name: batch_info.name.clone(),
        },
        generated: parts.generated.to_rfc3339(),
        selection: match selection {
            Selection::AllValid => "all_valid",
            Selection::Receipts(_) => "recommended",
        },
        contacts_included: parts.include_contacts,
        items,
    };
    let workbook = xlsx::items(&manifest, parts.generated)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stamp = zip_time(parts.generated);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp)
        .unix_permissions(0o644);
    let mut json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    json.push(b'\n');
    let n_files = file_members.len();
    let members = [
        ("manifest.json".to_string(), json),
        ("items.xlsx".to_string(), workbook),
    ]
    .into_iter()
    .chain(file_members)
    .chain(lom_members);
    for (name, bytes) in members {
        zip.start_file(name, options)
            .map_err(|e| ExportError::Zip(e.to_string()))?;
        zip.write_all(&bytes)
            .map_err(|e| ExportError::Zip(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| ExportError::Zip(e.to_string()))?;
    Ok(Package {
        zip: cursor.into_inner(),
        items: manifest.items.len(),
        files: n_files,
    })
}

/// The phone numbers among an entry's contact fields, to keep them out of public text.
fn contact_digits(campaign: &Campaign, fields: &BTreeMap<String, Value>) -> Vec<String> {
    fields
        .iter()
        .filter(|(k, _)| !book::is_public(campaign, k))
        .filter_map(|(_, v)| v.as_str())
        .flat_map(|v| {
            v.split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .filter(|p| p.chars().filter(char::is_ascii_digit).count() >= 7)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The bytes of a recorded file among the files parsed again from its message: the one at
/// the same position when its SHA-256 matches, else any with that SHA-256.
fn find_bytes<'a>(files: &'a [message::File], f: &StoredFile) -> Option<&'a [u8]> {
    let matches = |m: &message::File| crate::registry::sha256_hex(&m.bytes) == f.sha256;
    usize::try_from(f.seq)
        .ok()
        .and_then(|i| files.get(i))
        .filter(|m| matches(m))
        .or_else(|| files.iter().find(|m| matches(m)))
        .map(|m| m.bytes.as_slice())
}

/// A member name from a sender's file name: its last path part, without control characters
/// or separators, never empty and never `.`/`..`.
fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() || c == ':' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "file".into()
    } else {
        cleaned
    }
}

/// The media type of a recorded file, by the type lndx recognised (else the extension).
pub fn media_type(file_type: &str, filename: &str) -> &'static str {
    let ext = filename
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let key = match file_type {
        "unknown" | "" => ext.as_str(),
        t => t,
    };
    match key {
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docm" => "application/vnd.ms-word.document.macroEnabled.12",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsm" => "application/vnd.ms-excel.sheet.macroEnabled.12",
        "doc" | "word2003xml" => "application/msword",
        "xls" | "excel2003xml" => "application/vnd.ms-excel",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "pdf" => "application/pdf",
        "jpeg" | "jpg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "zip" => "application/zip",
        "rar" => "application/vnd.rar",
        "7z" => "application/x-7z-compressed",
        "rtf" => "application/rtf",
        "html" => "text/html",
        "mhtml" => "multipart/related",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The zip timestamp of the generated time (zip keeps local date and time, from 1980).
fn zip_time(t: DateTime<FixedOffset>) -> zip::DateTime {
    zip::DateTime::from_date_and_time(
        t.year().clamp(1980, 2107) as u16,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_safe() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("a\\b\\申报表.docx"), "申报表.docx");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name("x\u{0}y.pdf"), "x_y.pdf");
    }

    #[test]
    fn media_types_by_recognised_type_then_extension() {
        assert_eq!(media_type("pdf", "a.bin"), "application/pdf");
        assert_eq!(media_type("unknown", "clip.MP4"), "video/mp4");
        assert_eq!(media_type("unknown", "x"), "application/octet-stream");
    }
}
