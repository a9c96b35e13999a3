//! Campaign: the data that drives lndx, loaded once at start from a rules folder
//! (`rules/*.toml`): kinds and targets, batches and deadlines, provinces, themes, forms,
//! checks and registered senders.
//!
//! Owns: reading and validating those files, and the questions only they can answer
//! (which batch an arrival falls in, which province a sender or a text names). A broken
//! file stops start-up with its path, line and problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::forms::{FormsSpec, Kind};

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
    pub code: String,
    pub title: String,
    pub timezone: String,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindInfo {
    pub name: String,
    pub short: String,
    pub form: String,
    pub target: u32,
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

/// Per-kind checks (rules/checks.toml).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindChecks {
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub whole: Vec<String>,
    #[serde(default)]
    pub max_chars: BTreeMap<String, usize>,
    pub total: Option<TotalCheck>,
    pub choice: Option<ChoiceCheck>,
    pub video: Option<VideoCheck>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalCheck {
    pub fields: Vec<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceCheck {
    pub field: String,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoCheck {
    pub option: String,
    pub minutes: String,
    pub shared: String,
    pub yes: Vec<String>,
    pub no: Vec<String>,
    pub video_file_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecksFile {
    case: KindChecks,
    project: KindChecks,
    course: KindChecks,
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
    kinds: BTreeMap<String, KindInfo>,
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

fn read(dir: &Path, name: &str) -> Result<(PathBuf, String), LoadError> {
    let path = dir.join(name);
    std::fs::read_to_string(&path)
        .map(|s| (path.clone(), s))
        .map_err(|source| LoadError::Read { path, source })
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

fn invalid(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        path: path.to_path_buf(),
        message: message.into(),
    }
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
        let tz: Tz =
            cf.campaign.timezone.parse().map_err(|_| {
                invalid(&p, format!("unknown time zone {:?}", cf.campaign.timezone))
            })?;
        let mut kinds = BTreeMap::new();
        for (key, info) in cf.kinds {
            let kind = Kind::from_key(&key).ok_or_else(|| {
                invalid(
                    &p,
                    format!("unknown kind [kinds.{key}]: use case, project or course"),
                )
            })?;
            kinds.insert(kind, info);
        }
        if kinds.len() != 3 {
            return Err(invalid(&p, "[kinds] must define case, project and course"));
        }
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
        let forms: FormsSpec = parse(&fp, &ft)?;
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
                        if let Some(s) = vv.as_str() {
                            name_labels.insert(kk.clone(), s.to_string());
                        }
                    }
                }
                _ => return Err(invalid(&cp, format!("[labels] {k}: expected a string"))),
            }
        }
        let checks = BTreeMap::from([
            (Kind::Case, checks_file.case),
            (Kind::Project, checks_file.project),
            (Kind::Course, checks_file.course),
        ]);

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
            forms,
            checks,
            field_labels,
            name_labels,
            senders,
            own_addresses,
        })
    }

    /// The batch an arrival time falls in (SPEC: deadlines inclusive, end of day in the
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
        let mut best: Option<(&str, usize)> = None;
        for p in &self.provinces {
            for n in std::iter::once(&p.name)
                .chain(&p.aliases)
                .chain(std::iter::once(&p.short))
            {
                let len = n.chars().count();
                if t.contains(n.as_str()) && best.is_none_or(|(_, l)| len > l) {
                    best = Some((p.code.as_str(), len));
                }
            }
        }
        best.map(|(c, _)| c)
    }

    /// The label used in replies for a field of a kind.
    pub fn field_label(&self, kind: Kind, field: &str) -> String {
        if field == "name" {
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

    pub fn batch(&self, number: u8) -> Option<&Batch> {
        self.batches.iter().find(|b| b.number == number)
    }
}
