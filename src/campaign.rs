//! Campaign: the data that drives lndx, loaded once at start from a rules folder
//! (`rules/*.toml`): kinds and targets, batches and deadlines, provinces, themes, forms,
//! checks and registered senders. Nothing about a particular campaign lives in code: the
//! shipped `rules/` is 智慧助老, and another folder is another campaign.
//!
//! Owns: reading and validating those files, and the questions only they can answer
//! (which batch an arrival falls in, which province a sender or a text names). A broken
//! file stops start-up with its path, line and problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::forms::spec::Role;
use crate::forms::{FormsSpec, Kind};

/// The shipped rules folder (智慧助老), built into the binary: used when no rules folder is
/// given or found.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("campaign.toml", include_str!("../rules/campaign.toml")),
    ("provinces.toml", include_str!("../rules/provinces.toml")),
    ("themes.toml", include_str!("../rules/themes.toml")),
    ("forms.toml", include_str!("../rules/forms.toml")),
    ("checks.toml", include_str!("../rules/checks.toml")),
    ("senders.toml", include_str!("../rules/senders.toml")),
];

/// A rules file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInfo {
    /// Prefix of every receipt number (ZHZL-2021).
    pub code: String,
    /// The call's full title.
    pub title: String,
    /// The short name people use (智慧助老): replies and reports say who sends them with it.
    pub short_name: String,
    /// The weekly report's title: its subject, heading and workbook name.
    pub report_title: String,
    /// Display name of the mail lndx sends (the config's identity.name overrides it).
    pub sender_name: String,
    /// Whom senders ask when a reply leaves a question (named in every reply).
    #[serde(default)]
    pub contact: Option<Contact>,
    pub timezone: String,
    /// How replies and reports name the time zone (北京时间).
    pub timezone_name: String,
    pub opens: NaiveDate,
    pub closes: NaiveDate,
    pub late_batch_tag: String,
    pub held_province: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub number: u8,
    pub name: String,
    pub deadline: NaiveDate,
}

/// Whom senders ask: an organisation, its people, a phone number.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub organisation: String,
    #[serde(default)]
    pub people: String,
    #[serde(default)]
    pub phone: String,
}

/// One kind of entry as `campaign.toml` defines it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindInfo {
    /// Stable key (JSON, database, the other rules files).
    pub key: String,
    /// Full Chinese name (典型工作案例).
    pub name: String,
    /// Short Chinese name (案例).
    pub short: String,
    /// Letter(s) in receipt numbers (C).
    pub letter: String,
    /// The annex holding the form (附件2).
    pub form: String,
    /// How many entries the campaign aims for.
    pub target: u32,
    /// The measure word entries of this kind are counted with (个, 门).
    #[serde(default = "default_measure")]
    pub measure: String,
}

fn default_measure() -> String {
    "个".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub short: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub name: String,
    pub keywords: Vec<String>,
}

/// Per-kind checks (rules/checks.toml, `[kinds.<key>]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindChecks {
    /// Fields that must not be empty.
    #[serde(default)]
    pub required: Vec<String>,
    /// Fields holding one or more phone numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Fields holding a whole number >= 1 (unit words come from forms.toml).
    #[serde(default)]
    pub whole: Vec<String>,
    /// Per-field limit in 字数: error `too_long`.
    #[serde(default)]
    pub max_chars: BTreeMap<String, usize>,
    /// Fields whose 字数 should add up to at most a limit: warning `over_total`.
    pub total: Option<TotalCheck>,
    /// The tick-list field where exactly one option must be ticked.
    pub choice: Option<String>,
    /// Yes/no fields, answered with the words of forms.toml `[answers]`.
    #[serde(default)]
    pub consent: Vec<String>,
    /// A tick option that asks for a duration and a video source.
    pub video: Option<VideoCheck>,
}

impl KindChecks {
    /// Every field key the checks name, for validation.
    fn fields(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .required
            .iter()
            .chain(&self.phones)
            .chain(&self.whole)
            .chain(&self.consent)
            .map(String::as_str)
            .collect();
        v.extend(self.max_chars.keys().map(String::as_str));
        if let Some(t) = &self.total {
            v.extend(t.fields.iter().map(String::as_str));
        }
        v.extend(self.choice.as_deref());
        if let Some(video) = &self.video {
            v.extend([video.minutes.as_str(), video.consent.as_str()]);
        }
        v
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalCheck {
    pub fields: Vec<String>,
    pub limit: usize,
}

/// When `option` of the kind's tick list is ticked, `minutes` must hold a number > 0, and
/// the video must be reachable: with the file or a link when `consent` is yes, a web link
/// when it is no.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoCheck {
    pub option: String,
    pub minutes: String,
    pub consent: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    kinds: BTreeMap<String, KindChecks>,
    labels: Labels,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Labels {
    #[serde(flatten)]
    pub fields: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFile {
    campaign: CampaignInfo,
    batches: Vec<Batch>,
    kinds: Vec<KindInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvincesFile {
    provinces: Vec<Province>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemesFile {
    themes: Vec<Theme>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendersFile {
    #[serde(default, rename = "self")]
    own: Vec<String>,
    #[serde(default)]
    senders: BTreeMap<String, String>,
}

/// Everything loaded from the rules folder, validated.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub info: CampaignInfo,
    pub tz: Tz,
    pub batches: Vec<Batch>,
    pub kinds: BTreeMap<Kind, KindInfo>,
    pub provinces: Vec<Province>,
    pub themes: Vec<Theme>,
    pub forms: FormsSpec,
    pub checks: BTreeMap<Kind, KindChecks>,
    /// Words that make a bracket a template hint or note (forms.toml `[hints]` words and
    /// notes): a value holding only such brackets is empty.
    pub hint_words: Vec<String>,
    field_labels: BTreeMap<String, String>,
    name_labels: BTreeMap<String, String>,
    /// Lower-cased address or domain → province code.
    pub senders: BTreeMap<String, String>,
    /// Lower-cased own addresses.
    pub own_addresses: Vec<String>,
}

/// Reads one rules file by name: its path (for messages) and text.
type ReadRule<'a> = dyn Fn(&str) -> Result<(PathBuf, String), LoadError> + 'a;

/// Where an arrival falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Batch(u8),
    Late,
}

pub(crate) fn read(dir: &Path, name: &str) -> Result<(PathBuf, String), LoadError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path)
        .map(|s| (path.clone(), s))
        .map_err(|source| LoadError::Read { path, source })
}

pub(crate) fn parse<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

pub(crate) fn invalid(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A problem with a value written in a rules file, naming the first line where the value
/// stands (semantic checks run after parsing, when serde's positions are gone; a value that
/// is quoted once in its file is found exactly).
pub(crate) fn invalid_at(
    path: &Path,
    text: &str,
    value: &str,
    message: impl Into<String>,
) -> LoadError {
    let quoted = format!("\"{value}\"");
    let line = text
        .lines()
        .position(|l| l.contains(&quoted))
        .or_else(|| text.lines().position(|l| l.contains(value)));
    match line {
        Some(n) => LoadError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {}: {}", n + 1, message.into()),
        },
        None => invalid(path, message),
    }
}

/// The `[[kinds]]` of campaign.toml as kinds in their written order.
fn load_kinds(
    path: &Path,
    text: &str,
    list: Vec<KindInfo>,
) -> Result<BTreeMap<Kind, KindInfo>, LoadError> {
    if list.is_empty() {
        return Err(invalid(path, "at least one [[kinds]] is needed"));
    }
    let mut kinds = BTreeMap::new();
    let mut letters = BTreeMap::new();
    for (i, info) in list.into_iter().enumerate() {
        let ok_key = !info.key.is_empty()
            && info
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_key {
            return Err(invalid_at(
                path,
                text,
                &info.key,
                format!(
                    "kind key {:?}: use lower-case letters, digits and _",
                    info.key
                ),
            ));
        }
        let ok_letter = !info.letter.is_empty()
            && info.letter.len() <= 3
            && info.letter.chars().all(|c| c.is_ascii_uppercase());
        if !ok_letter {
            return Err(invalid_at(
                path,
                text,
                &info.letter,
                format!(
                    "kind {}: letter {:?} must be one to three capital letters A-Z",
                    info.key, info.letter
                ),
            ));
        }
        if let Some(other) = letters.insert(info.letter.clone(), info.key.clone()) {
            return Err(invalid_at(
                path,
                text,
                &info.letter,
                format!(
                    "kinds {other} and {} share the receipt letter {}",
                    info.key, info.letter
                ),
            ));
        }
        let kind = Kind::new(i as u16, &info.key);
        if kinds.keys().any(|k: &Kind| k.key() == kind.key()) {
            return Err(invalid_at(
                path,
                text,
                &info.key,
                format!("kind {} is defined twice", info.key),
            ));
        }
        kinds.insert(kind, info);
    }
    Ok(kinds)
}

/// The `[kinds.<key>]` tables of checks.toml, each naming only fields its kind's form has.
fn load_checks(
    path: &Path,
    text: &str,
    tables: BTreeMap<String, KindChecks>,
    forms: &FormsSpec,
) -> Result<BTreeMap<Kind, KindChecks>, LoadError> {
    let mut checks = BTreeMap::new();
    for (key, c) in tables {
        let Some(kind) = forms.kind(&key) else {
            return Err(invalid_at(
                path,
                text,
                &format!("[kinds.{key}"),
                format!("[kinds.{key}]: {key} is not a kind of campaign.toml"),
            ));
        };
        for f in c.fields() {
            let known = match forms.field(f) {
                Some(spec) => forms.field_applies(spec, kind),
                // The fill-in blank of the tick list (视频时长 ____ 分钟) is a field too.
                None => f == forms.ticks.blank_field && !f.is_empty(),
            };
            if !known {
                return Err(invalid_at(
                    path,
                    text,
                    f,
                    format!(
                        "[kinds.{key}] names field \"{f}\", which forms.toml does not define for {key}"
                    ),
                ));
            }
        }
        if let Some(choice) = &c.choice {
            if *choice != forms.ticks.field {
                return Err(invalid_at(
                    path,
                    text,
                    choice,
                    format!("[kinds.{key}] choice = \"{choice}\" is not the [ticks] field of forms.toml"),
                ));
            }
        }
        if let Some(video) = &c.video {
            if !forms.ticks.options.iter().any(|o| o.option == video.option) {
                return Err(invalid_at(
                    path,
                    text,
                    &video.option,
                    format!(
                        "[kinds.{key}.video] option \"{}\" is not a [[ticks.options]] of forms.toml",
                        video.option
                    ),
                ));
            }
        }
        let needs_answers = !c.consent.is_empty() || c.video.is_some();
        if needs_answers && forms.answers.yes.is_empty() {
            return Err(invalid(
                path,
                format!("[kinds.{key}] has yes/no fields, but forms.toml has no [answers]"),
            ));
        }
        checks.insert(kind, c);
    }
    for kind in forms.all_kinds() {
        if !checks.contains_key(&kind) {
            return Err(invalid(path, format!("[kinds.{}] is missing", kind.key())));
        }
    }
    Ok(checks)
}

impl Campaign {
    /// Loads and validates every file of a rules folder.
    pub fn load(dir: &Path) -> Result<Campaign, LoadError> {
        Campaign::from_files(&|name| read(dir, name))
    }

    /// Loads rules given as (file name, text) pairs, e.g. the copies built into the binary.
    pub fn from_texts(files: &[(&str, &str)]) -> Result<Campaign, LoadError> {
        Campaign::from_files(&|name| {
            files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, t)| (PathBuf::from(format!("rules/{n}")), t.to_string()))
                .ok_or_else(|| LoadError::Read {
                    path: PathBuf::from(format!("rules/{name}")),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                })
        })
    }

    fn from_files(read: &ReadRule<'_>) -> Result<Campaign, LoadError> {
        let (p, t) = read("campaign.toml")?;
        let cf: CampaignFile = parse(&p, &t)?;
        let tz: Tz = cf.campaign.timezone.parse().map_err(|_| {
            invalid_at(
                &p,
                &t,
                &cf.campaign.timezone,
                format!("unknown time zone {:?}", cf.campaign.timezone),
            )
        })?;
        let kinds = load_kinds(&p, &t, cf.kinds)?;
        let mut batches = cf.batches;
        batches.sort_by_key(|b| b.deadline);
        if batches.is_empty() {
            return Err(invalid(&p, "at least one [[batches]] is needed"));
        }

        let (pp, pt) = read("provinces.toml")?;
        let provinces = parse::<ProvincesFile>(&pp, &pt)?.provinces;
        for pr in &provinces {
            for n in std::iter::once(&pr.name)
                .chain(&pr.aliases)
                .chain(std::iter::once(&pr.short))
            {
                if n.chars().count() < 2 {
                    return Err(invalid(
                        &pp,
                        format!("{}: name {n:?} is shorter than two characters", pr.code),
                    ));
                }
            }
        }

        let (tp, tt) = read("themes.toml")?;
        let themes = parse::<ThemesFile>(&tp, &tt)?.themes;
        for th in &themes {
            if !th.keywords.contains(&th.name) {
                return Err(invalid(
                    &tp,
                    format!(
                        "theme {}: keywords must contain the theme's own word",
                        th.name
                    ),
                ));
            }
        }

        let (fp, ft) = read("forms.toml")?;
        let mut forms: FormsSpec = parse(&fp, &ft)?;
        forms.bind(kinds.keys().copied());
        forms.validate().map_err(|m| invalid(&fp, m))?;

        let (cp, ct) = read("checks.toml")?;
        let checks_file: ChecksFile = parse(&cp, &ct)?;
        let mut field_labels = BTreeMap::new();
        let mut name_labels = BTreeMap::new();
        for (k, v) in &checks_file.labels.fields {
            match v {
                toml::Value::String(s) => {
                    field_labels.insert(k.clone(), s.clone());
                }
                toml::Value::Table(t) if k == "names" => {
                    for (kk, vv) in t {
                        let Some(s) = vv.as_str().filter(|_| forms.kind(kk).is_some()) else {
                            return Err(invalid_at(
                                &cp,
                                &ct,
                                kk,
                                format!("[labels.names] {kk}: expected a kind of campaign.toml with a string"),
                            ));
                        };
                        name_labels.insert(kk.clone(), s.to_string());
                    }
                }
                _ => return Err(invalid(&cp, format!("[labels] {k}: expected a string"))),
            }
        }
        let checks = load_checks(&cp, &ct, checks_file.kinds, &forms)?;
        for f in &forms.fields {
            if !field_labels.contains_key(&f.key) {
                return Err(invalid(
                    &cp,
                    format!(
                        "[labels] has no wording for field \"{}\" (forms.toml); add {} = \"…\"",
                        f.key, f.key
                    ),
                ));
            }
        }

        let hint_words: Vec<String> = forms
            .hints
            .words
            .iter()
            .chain(&forms.hints.notes)
            .chain(&forms.hints.placeholders)
            .map(|w| crate::text::normalize_hint(w))
            .collect();

        let (sp, st) = read("senders.toml")?;
        let senders_file: SendersFile = parse(&sp, &st)?;
        let mut senders = BTreeMap::new();
        for (who, code) in senders_file.senders {
            if !provinces.iter().any(|p| p.code == code) {
                return Err(invalid(
                    &sp,
                    format!("{who:?} = {code:?}: unknown province code"),
                ));
            }
            senders.insert(who.trim().to_lowercase(), code);
        }
        let own_addresses = senders_file
            .own
            .iter()
            .map(|a| a.trim().to_lowercase())
            .collect();

        Ok(Campaign {
            info: cf.campaign,
            tz,
            batches,
            kinds,
            provinces,
            themes,
            hint_words,
            forms,
            checks,
            field_labels,
            name_labels,
            senders,
            own_addresses,
        })
    }

    /// The batch an arrival time falls in (docs/intake.md#batches-and-arrival-time: deadlines inclusive, end of day in the
    /// campaign's time zone; before the campaign opens counts as batch 1).
    pub fn arrival(&self, at: DateTime<Utc>) -> Arrival {
        let day = at.with_timezone(&self.tz).date_naive();
        self.batches
            .iter()
            .find(|b| day <= b.deadline)
            .map(|b| Arrival::Batch(b.number))
            .unwrap_or(Arrival::Late)
    }

    /// End of a calendar day in the campaign's zone, as a UTC instant.
    pub fn end_of_day(&self, day: NaiveDate) -> DateTime<Utc> {
        let next = day.succ_opt().unwrap_or(day);
        self.tz
            .from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight")))
    }

    /// The batch a subject names (第一批 …), if any.
    pub fn batch_in_subject(&self, subject: &str) -> Option<u8> {
        let s = crate::text::squeeze(subject);
        self.batches
            .iter()
            .find(|b| s.contains(&b.name))
            .map(|b| b.number)
    }

    pub fn province(&self, code: &str) -> Option<&Province> {
        self.provinces.iter().find(|p| p.code == code)
    }

    /// The province a person typed (a command-line option, a form field, a cell of an
    /// experts workbook): its code in any case, its full or short name, or an alias of
    /// rules/provinces.toml. One rule for every place a person names a province.
    pub fn province_typed(&self, typed: &str) -> Option<&Province> {
        let t = typed.trim();
        self.provinces.iter().find(|p| {
            p.code.eq_ignore_ascii_case(t)
                || p.name == t
                || p.short == t
                || p.aliases.iter().any(|a| a == t)
        })
    }

    /// A province's full name from its code: the code itself when the rules do not know
    /// it, "" for none.
    pub fn province_name(&self, code: Option<&str>) -> String {
        code.map(|c| {
            self.province(c)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| c.to_string())
        })
        .unwrap_or_default()
    }

    /// The province registered for a sender address (exact address first, then its domain
    /// and parent domains).
    pub fn registered_province(&self, address: &str) -> Option<&str> {
        let a = address.trim().to_lowercase();
        if let Some(code) = self.senders.get(&a) {
            return Some(code);
        }
        let mut domain = a.rsplit_once('@').map(|(_, d)| d)?;
        loop {
            if let Some(code) = self.senders.get(domain) {
                return Some(code);
            }
            domain = domain.split_once('.')?.1;
            if !domain.contains('.') {
                return None;
            }
        }
    }

    /// The province a text names: the longest full name, short name or alias found
    /// (so 新疆生产建设兵团 wins over 新疆). None when none or when two provinces tie.
    pub fn province_in_text(&self, text: &str) -> Option<&str> {
        let t = crate::text::squeeze(text);
        // The longest name found, per province; then the longest over provinces.
        let mut found: Vec<(&str, usize)> = Vec::new();
        for p in &self.provinces {
            let longest = std::iter::once(&p.name)
                .chain(&p.aliases)
                .chain(std::iter::once(&p.short))
                .filter(|n| t.contains(n.as_str()))
                .map(|n| n.chars().count())
                .max();
            if let Some(len) = longest {
                found.push((p.code.as_str(), len));
            }
        }
        let best = found.iter().map(|(_, l)| *l).max()?;
        let mut winners = found.iter().filter(|(_, l)| *l == best);
        let first = winners.next()?;
        // Two provinces named equally well: the text does not say which.
        winners.next().is_none().then_some(first.0)
    }

    /// The label used in replies for a field of a kind.
    pub fn field_label(&self, kind: Kind, field: &str) -> String {
        if self.forms.role_field(kind, Role::Name) == Some(field) {
            if let Some(l) = self.name_labels.get(kind.key()) {
                return l.clone();
            }
        }
        self.field_labels
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_string())
    }

    pub fn kind_info(&self, kind: Kind) -> &KindInfo {
        &self.kinds[&kind]
    }

    /// The kind a key names (from JSON, the database, a command line).
    pub fn kind(&self, key: &str) -> Option<Kind> {
        self.forms.kind(key)
    }

    /// The kinds in the campaign's order.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.kinds.keys().copied()
    }

    /// The key of the field with `role` on forms of `kind` (e.g. the entry's name).
    pub fn role_field(&self, kind: Kind, role: Role) -> Option<&str> {
        self.forms.role_field(kind, role)
    }

    /// The last batch (the one whose deadline ends the campaign's intake).
    pub fn last_batch(&self) -> &Batch {
        self.batches.last().expect("validated: at least one batch")
    }

    pub fn batch(&self, number: u8) -> Option<&Batch> {
        self.batches.iter().find(|b| b.number == number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Campaign {
        Campaign::from_texts(BUILTIN_RULES).expect("the shipped rules load")
    }

    #[test]
    fn a_typed_province_is_a_code_in_any_case_a_name_or_an_alias() {
        let c = shipped();
        let code = |t: &str| c.province_typed(t).map(|p| p.code.as_str());
        for t in ["gd", " GD ", "广东省", "广东"] {
            assert_eq!(code(t), Some("GD"), "{t}");
        }
        assert_eq!(code("新疆兵团"), Some("XJBT"));
        assert_eq!(code("兵团"), Some("XJBT"));
        assert_eq!(
            code("广东开放大学"),
            None,
            "a name inside a text is not typed"
        );
        assert_eq!(code(""), None);
        assert_eq!(c.province_name(Some("GD")), "广东省");
        assert_eq!(c.province_name(Some("ZZ")), "ZZ");
        assert_eq!(c.province_name(None), "");
    }

    #[test]
    fn the_longest_province_name_wins_and_a_tie_names_none() {
        let c = shipped();
        assert_eq!(c.province_in_text("新疆生产建设兵团第一师"), Some("XJBT"));
        assert_eq!(c.province_in_text("广东开放大学"), Some("GD"));
        assert_eq!(c.province_in_text("广东与广西两地联合申报"), None);
        assert_eq!(c.province_in_text("某市老年大学"), None);
    }

    #[test]
    fn kinds_keep_the_order_of_campaign_toml() {
        let c = shipped();
        let keys: Vec<&str> = c.kinds().map(|k| k.key()).collect();
        assert_eq!(keys, ["case", "project", "course"]);
        let course = c.kind("course").unwrap();
        assert_eq!(c.kind_info(course).letter, "R");
        assert_eq!(c.role_field(course, Role::Name), Some("name"));
        assert_eq!(c.role_field(course, Role::Unit), Some("unit"));
    }
}
