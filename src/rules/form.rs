//! Checks one application form against its kind's checks (checks.toml): required fields,
//! phones, numbers, lengths, the tick list, yes/no answers, the video rule, themes. Which
//! field is the entry's name or is not content comes from the fields' roles (forms.toml).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Code, Finding};
use crate::campaign::{Campaign, KindChecks, VideoCheck};
use crate::forms::spec::{AnswerSpec, Role};
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

pub fn check_form(form: &Form, campaign: &Campaign, ctx: &FormContext) -> CheckedForm {
    let kind = form.kind;
    let no_checks = KindChecks::default();
    let checks = campaign.checks.get(&kind).unwrap_or(&no_checks);
    let hints = &campaign.hint_words;
    // The label as printed, unless two fields share it (the two 联系电话): then the
    // standard label says which one is meant.
    let label = |field: &str| match form.labels.get(field) {
        Some(l) if form.labels.iter().filter(|(_, v)| *v == l).count() == 1 => l.clone(),
        _ => campaign.field_label(kind, field),
    };
    let value = |field: &str| form.fields.get(field).map(String::as_str).unwrap_or("");
    let present = |field: &str| !text::is_blank(value(field), hints);

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
        match text::whole_number(value(f), &campaign.forms.unit_words(f)) {
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
    let answers = &campaign.forms.answers;
    for f in &checks.consent {
        let raw = value(f);
        match yes_no(raw, answers, &campaign.forms.ticks.ticked_marks) {
            Some(yes) => {
                fields.insert(f.clone(), Value::String(answer_word(answers, yes)));
            }
            None if !text::is_blank(raw, hints) => errors.push(
                Finding::new(Code::InvalidChoice)
                    .field(f, label(f))
                    .value(raw),
            ),
            None => {}
        }
    }
    if let Some(video) = &checks.video {
        let consent = yes_no(
            value(&video.consent),
            answers,
            &campaign.forms.ticks.ticked_marks,
        );
        let choice = checks.choice.as_deref().unwrap_or_default();
        let v = VideoInput {
            form,
            rule: video,
            consent,
            choice_field: choice,
            ctx,
            hints,
        };
        check_video(&v, answers, &label, &mut fields, &mut errors);
    }

    let not_content: Vec<&str> = campaign
        .forms
        .fields
        .iter()
        .filter(|f| f.role == Some(Role::Opinion))
        .map(|f| f.key.as_str())
        .collect();
    let content: String = form
        .fields
        .iter()
        .filter(|(k, _)| !not_content.contains(&k.as_str()))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let themes = themes_of(&content, campaign);
    if themes.is_empty() {
        warnings.push(Finding::new(Code::OffTheme));
    }

    let name_field = campaign.role_field(kind, Role::Name).unwrap_or_default();
    CheckedForm {
        kind,
        name: value(name_field).trim().to_string(),
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
    let Some(field) = &checks.choice else {
        return;
    };
    let ticked: Vec<&str> = form
        .choices
        .iter()
        .filter(|c| c.ticked)
        .map(|c| c.option.as_str())
        .collect();
    match ticked.as_slice() {
        [] => errors.push(Finding::new(Code::NoChoice).field(field, label(field))),
        [one] => {
            fields.insert(field.clone(), Value::String(one.to_string()));
        }
        many => errors.push(
            Finding::new(Code::MultipleChoices)
                .field(field, label(field))
                .value(&many.join("、")),
        ),
    }
}

/// The word stored for a yes/no answer: the first of its list in forms.toml `[answers]`.
fn answer_word(answers: &AnswerSpec, yes: bool) -> String {
    let list = if yes { &answers.yes } else { &answers.no };
    list.first().cloned().unwrap_or_default()
}

/// What the video rule looks at.
struct VideoInput<'a> {
    form: &'a Form,
    rule: &'a VideoCheck,
    /// The consent field's answer, if readable.
    consent: Option<bool>,
    /// The tick-list field, named in the finding.
    choice_field: &'a str,
    ctx: &'a FormContext,
    hints: &'a [String],
}

/// When the rule's option is ticked: the duration must be a number > 0, and a video with
/// consent to share needs the file or a link, one without consent a web link.
fn check_video(
    v: &VideoInput,
    answers: &AnswerSpec,
    label: &dyn Fn(&str) -> String,
    fields: &mut BTreeMap<String, Value>,
    errors: &mut Vec<Finding>,
) {
    let rule = v.rule;
    let video_ticked = v
        .form
        .choices
        .iter()
        .any(|c| c.ticked && c.option == rule.option);
    if !video_ticked {
        fields.remove(&rule.minutes);
        return;
    }
    let minutes = v
        .form
        .fields
        .get(&rule.minutes)
        .map(String::as_str)
        .unwrap_or("");
    if text::is_blank(minutes, v.hints) {
        errors.push(Finding::new(Code::MissingField).field(&rule.minutes, label(&rule.minutes)));
    } else {
        match text::minutes(minutes) {
            Some(m) if m > 0.0 => {
                fields.insert(rule.minutes.clone(), Value::from(m));
            }
            _ => errors.push(
                Finding::new(Code::NotANumber)
                    .field(&rule.minutes, label(&rule.minutes))
                    .value(minutes),
            ),
        }
    }
    let link = text::has_web_link(&v.form.text) || v.ctx.body_has_link;
    let satisfied = match v.consent {
        Some(true) => link || v.ctx.has_video_file,
        Some(false) => link,
        None => link || v.ctx.has_video_file,
    };
    if !satisfied {
        let field = v.choice_field;
        errors.push(
            Finding::new(Code::VideoSourceMissing)
                .field(field, label(field))
                .value(
                    &v.consent
                        .map(|y| answer_word(answers, y))
                        .unwrap_or_default(),
                )
                .detail(if v.consent == Some(false) {
                    "web link"
                } else {
                    "video file or link"
                }),
        );
    }
}

/// Reads a yes/no cell with the campaign's words (是/同意, 否/不同意 for 智慧助老), also
/// written as ticks ("☑是 □否") or as a short answer that starts with the word ("是，同意共享").
fn yes_no(raw: &str, answers: &AnswerSpec, ticked_marks: &str) -> Option<bool> {
    let s = text::squeeze(raw).to_uppercase();
    if s.is_empty() {
        return None;
    }
    let strip: String = s
        .chars()
        .filter(|c| !matches!(c, '。' | '.' | '!' | '！'))
        .collect();
    let upper =
        |list: &[String]| -> Vec<String> { list.iter().map(|w| w.to_uppercase()).collect() };
    let (yes, no) = (upper(&answers.yes), upper(&answers.no));
    if no.contains(&strip) {
        return Some(false);
    }
    if yes.contains(&strip) {
        return Some(true);
    }
    // Tick style: the option right after a tick mark wins.
    let chars: Vec<char> = strip.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if ticked_marks.contains(*c) {
            let rest: String = chars[i + 1..].iter().collect();
            if no.iter().any(|n| rest.starts_with(n.as_str())) {
                return Some(false);
            }
            if yes.iter().any(|y| rest.starts_with(y.as_str())) {
                return Some(true);
            }
        }
    }
    // A short answer that starts with a word: "是，同意共享". "No" words are tried first
    // and longest first, since a "no" often contains a "yes" (不同意 ⊃ 同意).
    let mut words: Vec<(&String, bool)> = no
        .iter()
        .map(|w| (w, false))
        .chain(yes.iter().map(|w| (w, true)))
        .collect();
    words.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
    let non_ascii = |w: &str| !w.is_ascii();
    words
        .into_iter()
        .find(|(w, _)| non_ascii(w) && strip.starts_with(w.as_str()))
        .map(|(_, yes)| yes)
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
