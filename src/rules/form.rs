//! Checks one application form: required fields, phones, numbers, lengths, ticks, the
//! video rule, themes.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Code, Finding};
use crate::campaign::{Campaign, KindChecks, VideoCheck};
use crate::forms::{Form, Kind};
use crate::text;

/// What the rules need to know about the rest of the message.
#[derive(Debug, Clone, Default)]
pub struct FormContext {
    /// The message carries a video file (for a shared video resource).
    pub has_video_file: bool,
    /// The message body holds a web link.
    pub body_has_link: bool,
}

/// A form after the checks: typed fields, findings and theme tags.
#[derive(Debug, Clone)]
pub struct CheckedForm {
    pub kind: Kind,
    pub name: String,
    /// Field key → typed value: strings, whole numbers for counts, the ticked option for
    /// tick lists, 是/否 for yes/no fields.
    pub fields: BTreeMap<String, Value>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub themes: Vec<String>,
}

impl CheckedForm {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Fields never used for themes (opinions and stamps are not the entry's content).
const NOT_CONTENT: &[&str] = &["unit_opinion", "province_opinion"];

pub fn check_form(form: &Form, campaign: &Campaign, ctx: &FormContext) -> CheckedForm {
    let kind = form.kind();
    let checks = &campaign.checks[&kind];
    // The label as printed, unless two fields share it (the two 联系电话): then the
    // standard label says which one is meant.
    let label = |field: &str| match form.labels.get(field) {
        Some(l) if form.labels.iter().filter(|(_, v)| *v == l).count() == 1 => l.clone(),
        _ => campaign.field_label(kind, field),
    };
    let value = |field: &str| form.fields.get(field).map(String::as_str).unwrap_or("");
    let present = |field: &str| !text::is_blank(value(field));

    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut fields: BTreeMap<String, Value> = form
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.trim().to_string())))
        .collect();

    for f in &checks.required {
        if !present(f) {
            errors.push(Finding::new(Code::MissingField).field(f, label(f)));
        }
    }
    for f in &checks.phones {
        if present(f) && !text::phones_valid(value(f)) {
            errors.push(
                Finding::new(Code::InvalidPhone)
                    .field(f, label(f))
                    .value(value(f)),
            );
        }
    }
    for f in &checks.whole {
        if !present(f) {
            continue;
        }
        match text::whole_number(value(f)) {
            Some(n) if n >= 1 => {
                fields.insert(f.clone(), Value::from(n));
            }
            _ => errors.push(
                Finding::new(Code::NotANumber)
                    .field(f, label(f))
                    .value(value(f)),
            ),
        }
    }
    for (f, &limit) in &checks.max_chars {
        let n = text::char_count(value(f));
        if n > limit {
            errors.push(
                Finding::new(Code::TooLong)
                    .field(f, label(f))
                    .counts(limit as u64, n as u64),
            );
        }
    }
    if let Some(total) = &checks.total {
        let n: usize = total
            .fields
            .iter()
            .map(|f| text::char_count(value(f)))
            .sum();
        if n > total.limit {
            warnings.push(Finding::new(Code::OverTotal).counts(total.limit as u64, n as u64));
        }
    }
    check_choices(form, checks, &label, &mut fields, &mut errors);
    if let Some(video) = &checks.video {
        check_video(form, video, ctx, &label, &mut fields, &mut errors);
    }

    let content: String = form
        .fields
        .iter()
        .filter(|(k, _)| !NOT_CONTENT.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let themes = themes_of(&content, campaign);
    if themes.is_empty() {
        warnings.push(Finding::new(Code::OffTheme));
    }

    CheckedForm {
        kind,
        name: value("name").trim().to_string(),
        fields,
        errors,
        warnings,
        themes,
    }
}

fn check_choices(
    form: &Form,
    checks: &KindChecks,
    label: &dyn Fn(&str) -> String,
    fields: &mut BTreeMap<String, Value>,
    errors: &mut Vec<Finding>,
) {
    let Some(choice) = &checks.choice else {
        return;
    };
    let ticked: Vec<&str> = form
        .choices
        .iter()
        .filter(|c| c.ticked)
        .map(|c| c.option.as_str())
        .collect();
    match ticked.as_slice() {
        [] => errors.push(Finding::new(Code::NoChoice).field(&choice.field, label(&choice.field))),
        [one] => {
            fields.insert(choice.field.clone(), Value::String(one.to_string()));
        }
        many => errors.push(
            Finding::new(Code::MultipleChoices)
                .field(&choice.field, label(&choice.field))
                .value(&many.join("、")),
        ),
    }
}

/// SPEC: 视频时长 required when 视频资源 is ticked; 是否共享 must be yes or no; a shared
/// video needs the file or a download link, an unshared one a web link.
fn check_video(
    form: &Form,
    video: &VideoCheck,
    ctx: &FormContext,
    label: &dyn Fn(&str) -> String,
    fields: &mut BTreeMap<String, Value>,
    errors: &mut Vec<Finding>,
) {
    let value = |field: &str| form.fields.get(field).map(String::as_str).unwrap_or("");
    let shared_raw = value(&video.shared);
    let shared = yes_no(shared_raw, video);
    match shared {
        Some(yes) => {
            fields.insert(
                video.shared.clone(),
                Value::String(if yes { "是" } else { "否" }.to_string()),
            );
        }
        None if !text::is_blank(shared_raw) => errors.push(
            Finding::new(Code::InvalidChoice)
                .field(&video.shared, label(&video.shared))
                .value(shared_raw),
        ),
        None => {}
    }
    let video_ticked = form
        .choices
        .iter()
        .any(|c| c.ticked && c.option == video.option);
    if !video_ticked {
        fields.remove(&video.minutes);
        return;
    }
    let minutes = value(&video.minutes);
    if text::is_blank(minutes) {
        errors.push(Finding::new(Code::MissingField).field(&video.minutes, label(&video.minutes)));
    } else {
        match text::decimal_number(minutes) {
            Some(m) if m > 0.0 => {
                fields.insert(video.minutes.clone(), Value::from(m));
            }
            _ => errors.push(
                Finding::new(Code::NotANumber)
                    .field(&video.minutes, label(&video.minutes))
                    .value(minutes),
            ),
        }
    }
    let link = text::has_web_link(&form.text) || ctx.body_has_link;
    let satisfied = match shared {
        Some(true) => link || ctx.has_video_file,
        Some(false) => link,
        None => link || ctx.has_video_file,
    };
    if !satisfied {
        let field = "resource_type";
        errors.push(
            Finding::new(Code::VideoSourceMissing)
                .field(field, label(field))
                .value(match shared {
                    Some(true) => "是",
                    Some(false) => "否",
                    None => "",
                })
                .detail(if shared == Some(false) {
                    "web link"
                } else {
                    "video file or link"
                }),
        );
        if let Some(Value::String(_)) = fields.get(field) {
            // keep the ticked option as the field's value
        }
    }
}

/// Reads a yes/no cell: 是/同意 or 否/不同意, also as ticks ("☑是 □否").
fn yes_no(raw: &str, video: &VideoCheck) -> Option<bool> {
    let s = text::squeeze(raw).to_uppercase();
    if s.is_empty() {
        return None;
    }
    let strip: String = s
        .chars()
        .filter(|c| !matches!(c, '。' | '.' | '!' | '！'))
        .collect();
    if video.no.iter().any(|n| n.to_uppercase() == strip) {
        return Some(false);
    }
    if video.yes.iter().any(|y| y.to_uppercase() == strip) {
        return Some(true);
    }
    // Tick style: the option right after a tick mark wins.
    const TICKS: &[char] = &['☑', '☒', '■', '√', '✓', '✔', '✅'];
    let chars: Vec<char> = strip.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if TICKS.contains(c) {
            let rest: String = chars[i + 1..].iter().collect();
            if video.no.iter().any(|n| rest.starts_with(&n.to_uppercase())) {
                return Some(false);
            }
            if video
                .yes
                .iter()
                .any(|y| rest.starts_with(&y.to_uppercase()))
            {
                return Some(true);
            }
        }
    }
    // A short answer that starts with the word: "是，同意共享".
    if strip.starts_with("不同意") || strip.starts_with('否') {
        return Some(false);
    }
    if strip.starts_with('是') || strip.starts_with("同意") {
        return Some(true);
    }
    None
}

/// Themes whose keywords occur in the text, in the order of rules/themes.toml.
pub fn themes_of(content: &str, campaign: &Campaign) -> Vec<String> {
    let squeezed = text::squeeze(content);
    campaign
        .themes
        .iter()
        .filter(|t| t.keywords.iter().any(|k| squeezed.contains(k.as_str())))
        .map(|t| t.name.clone())
        .collect()
}
