//! The form definitions loaded from `rules/forms.toml`: how each kind's form is recognised,
//! fields with their labels and roles, the tick list, the yes/no vocabulary, section
//! headings, template hints. Deserialised by `campaign`, used by the readers and the rules.
//!
//! Owns the data model of the toml file, its semantic checks ([`FormsSpec::validate`]) and a
//! lazily built lookup index (normalised label → fields) shared by every read.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;

use super::labels::normalize_label;
use super::Kind;

/// The whole of `rules/forms.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FormsSpec {
    /// One entry per kind of form (case, project, course).
    #[serde(default, rename = "kind")]
    pub kinds: Vec<KindSpec>,
    /// Every field of every form, with its label variants.
    #[serde(default, rename = "field")]
    pub fields: Vec<FieldSpec>,
    /// The tick list (课程资源类型) and the tick marks.
    #[serde(default)]
    pub ticks: TickSpec,
    /// The case form's big content cell and its three sections.
    #[serde(default)]
    pub sections: SectionSpec,
    /// Template hints such as "（500字以内）".
    #[serde(default)]
    pub hints: HintSpec,
    /// The province summary sheet (推荐汇总表).
    #[serde(default)]
    pub summary: SummarySpec,
    /// Words that answer a yes/no (consent) field.
    #[serde(default)]
    pub answers: AnswerSpec,
    /// The campaign's kinds by key, set by [`FormsSpec::bind`] before validation.
    #[serde(skip)]
    kinds_by_key: HashMap<String, Kind>,
    #[serde(skip)]
    index: OnceLock<LabelIndex>,
}

/// What a field is for, beyond holding text. Rules and intake find the fields they need by
/// role, never by key, so a campaign names its fields as it likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The entry's name (案例名称, 姓名 …): one per kind; versions and receipts key on it.
    Name,
    /// The unit that submits the entry (申报单位): the province is inferred from it.
    Unit,
    /// An opinion or stamp box (申报单位意见): kept, but not the entry's content (not
    /// searched for themes).
    Opinion,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Name => "name",
            Role::Unit => "unit",
            Role::Opinion => "opinion",
        })
    }
}

/// The yes/no vocabulary of consent fields (是否同意共享 …). The first word of each list is
/// the value stored and shown.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AnswerSpec {
    #[serde(default)]
    pub yes: Vec<String>,
    #[serde(default)]
    pub no: Vec<String>,
}

/// How one kind of form is recognised.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    /// The kind's key in campaign.toml `[[kinds]]`.
    pub key: String,
    /// Title keywords found in the document's text outside the label cells.
    #[serde(default)]
    pub titles: Vec<String>,
    /// Labels whose presence marks this kind (e.g. 案例名称, 案例内容).
    #[serde(default)]
    pub markers: Vec<String>,
    /// Values of a summary sheet's 类型 column meaning this kind.
    #[serde(default)]
    pub summary_names: Vec<String>,
}

/// One field of a form.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Key used in `Form::fields`.
    pub key: String,
    /// Label variants as printed on forms (compared after normalisation).
    pub labels: Vec<String>,
    /// Kinds whose form has this field; empty = all kinds.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// When several fields share a label (联系电话), this one is chosen when the previous
    /// label in reading order was the field named here.
    #[serde(default)]
    pub follows: Option<String>,
    /// What the field is for (see [`Role`]); most fields have none.
    #[serde(default)]
    pub role: Option<Role>,
    /// Unit words written after a count in this field ("6期", "1,260人次"): the number they
    /// follow is the count even when more numbers stand in the cell.
    #[serde(default)]
    pub units: Vec<String>,
    /// Whether the value may be published: `public = false` marks contact details (phone
    /// numbers, contact persons), which the book never prints and the platform export
    /// leaves out unless contacts are asked for. Decided here, by the rules, never by a
    /// field's name in code.
    #[serde(default = "public_default")]
    pub public: bool,
}

fn public_default() -> bool {
    true
}

/// One option of the tick list.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TickOption {
    /// Canonical label reported in `Choice::option`.
    pub option: String,
    /// Texts that identify the option in the cell (compared after normalisation).
    pub matches: Vec<String>,
}

/// The tick list and the marks that tick or leave a box empty.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TickSpec {
    /// Field whose value holds the tick list.
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub options: Vec<TickOption>,
    /// Characters meaning "ticked".
    #[serde(default)]
    pub ticked_marks: String,
    /// Characters meaning "empty box".
    #[serde(default)]
    pub empty_marks: String,
    /// Fonts whose `w:sym` glyphs are boxes.
    #[serde(default)]
    pub sym_fonts: Vec<String>,
    /// `w:sym w:char` codes (hex) of ticked boxes.
    #[serde(default)]
    pub sym_ticked: Vec<String>,
    /// `w:sym w:char` codes (hex) of empty boxes.
    #[serde(default)]
    pub sym_empty: Vec<String>,
    /// Private-use characters (symbol fonts typed as text) meaning ticked.
    #[serde(default)]
    pub pua_ticked: String,
    /// Private-use characters meaning an empty box.
    #[serde(default)]
    pub pua_empty: String,
    /// Field receiving the blank's content (视频时长 __ 分钟).
    #[serde(default)]
    pub blank_field: String,
    /// Text right before the blank.
    #[serde(default)]
    pub blank_before: Vec<String>,
    /// Text right after the blank.
    #[serde(default)]
    pub blank_after: Vec<String>,
    /// Filler characters removed from the blank (underscores).
    #[serde(default)]
    pub blank_filler: String,
}

/// A section heading of the case form.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SectionHeading {
    /// Field key receiving the section text.
    pub key: String,
    /// Heading words (without numbering), e.g. 基本情况.
    pub words: Vec<String>,
}

/// The case form's content cell.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    /// Field whose value is split into sections (案例内容); it stays in the fields as read.
    #[serde(default)]
    pub field: String,
    /// Intro lines that are not content.
    #[serde(default)]
    pub intro: Vec<String>,
    #[serde(default)]
    pub headings: Vec<SectionHeading>,
}

/// Template hints: an opening bracket, a number, one of `words`, a closing bracket, and an
/// optional full stop; white space anywhere inside. `notes` are bracketed instructions
/// without a number ("（盖章）"): a value holding only hints and notes is empty.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HintSpec {
    #[serde(default)]
    pub words: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Text a template shows until someone types ("单击此处输入文字。"): a value that is only
    /// this is empty.
    #[serde(default)]
    pub placeholders: Vec<String>,
}

/// The summary sheet's header row.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SummarySpec {
    /// Header of the name column.
    #[serde(default)]
    pub name_headers: Vec<String>,
    /// Header of the kind column.
    #[serde(default)]
    pub type_headers: Vec<String>,
    /// Header of the unit column (optional column).
    #[serde(default)]
    pub unit_headers: Vec<String>,
}

/// Normalised lookups derived from the spec.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabelIndex {
    /// Normalised label → indices into `fields`.
    pub labels: HashMap<String, Vec<usize>>,
    /// Normalised marker → kinds it marks.
    pub markers: HashMap<String, Vec<Kind>>,
    /// Longest normalised label, in chars.
    pub max_len: usize,
}

impl FormsSpec {
    /// Tells the spec the campaign's kinds, so that the `key`s of `[[kind]]` and the `kinds`
    /// of `[[field]]` resolve. Call before [`FormsSpec::validate`].
    pub fn bind(&mut self, kinds: impl IntoIterator<Item = Kind>) {
        self.kinds_by_key = kinds
            .into_iter()
            .map(|k| (k.key().to_string(), k))
            .collect();
        self.index = OnceLock::new();
    }

    /// The kind a key names, if the campaign defines it.
    pub fn kind(&self, key: &str) -> Option<Kind> {
        self.kinds_by_key.get(key).copied()
    }

    /// The campaign's kinds, in its order.
    pub fn all_kinds(&self) -> Vec<Kind> {
        let mut v: Vec<Kind> = self.kinds_by_key.values().copied().collect();
        v.sort();
        v
    }

    /// The key of the field with `role` on forms of `kind`, if any.
    pub fn role_field(&self, kind: Kind, role: Role) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.role == Some(role) && self.field_applies(f, kind))
            .map(|f| f.key.as_str())
    }

    /// The field spec of a key.
    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// Every unit word of every field, longest first (for reading counts).
    pub fn unit_words(&self, key: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .field(key)
            .map(|f| f.units.iter().map(String::as_str).collect())
            .unwrap_or_default();
        v.sort_by_key(|u| std::cmp::Reverse(u.chars().count()));
        v
    }

    /// Semantic checks that serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        self.check_kinds(&mut problems);
        self.check_fields(&mut problems);
        self.check_roles(&mut problems);
        self.check_answers(&mut problems);
        self.check_ticks(&mut problems);
        self.check_sections(&mut problems);
        if self.summary.name_headers.is_empty() || self.summary.type_headers.is_empty() {
            problems.push("[summary] needs name_headers and type_headers".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn check_kinds(&self, problems: &mut Vec<String>) {
        let mut seen = BTreeSet::new();
        for k in &self.kinds {
            if self.kind(&k.key).is_none() {
                problems.push(format!(
                    "[[kind]] key \"{}\" is not a kind of campaign.toml ({})",
                    k.key,
                    self.kind_list()
                ));
            }
            if !seen.insert(k.key.as_str()) {
                problems.push(format!("[[kind]] \"{}\" defined twice", k.key));
            }
            if k.markers.is_empty() && k.titles.is_empty() {
                problems.push(format!(
                    "[[kind]] \"{}\" has neither titles nor markers",
                    k.key
                ));
            }
        }
        for kind in self.all_kinds() {
            if !seen.contains(kind.key()) {
                problems.push(format!("[[kind]] \"{}\" is missing", kind.key()));
            }
        }
    }

    fn check_fields(&self, problems: &mut Vec<String>) {
        let mut seen = BTreeSet::new();
        for f in &self.fields {
            if f.key.is_empty() {
                problems.push("[[field]] with an empty key".to_string());
            }
            if !seen.insert(f.key.as_str()) {
                problems.push(format!("[[field]] \"{}\" defined twice", f.key));
            }
            if f.labels.iter().all(|l| normalize_label(l).is_empty()) {
                problems.push(format!("[[field]] \"{}\" has no label", f.key));
            }
            for k in &f.kinds {
                if self.kind(k).is_none() {
                    problems.push(format!(
                        "[[field]] \"{}\": unknown kind \"{k}\" ({})",
                        f.key,
                        self.kind_list()
                    ));
                }
            }
        }
        for f in &self.fields {
            if let Some(prev) = &f.follows {
                if !seen.contains(prev.as_str()) {
                    problems.push(format!(
                        "[[field]] \"{}\" follows unknown \"{prev}\"",
                        f.key
                    ));
                }
            }
        }
    }

    fn kind_list(&self) -> String {
        let keys: Vec<&str> = self.all_kinds().iter().map(|k| k.key()).collect();
        format!("the kinds are {}", keys.join(", "))
    }

    /// Each kind has exactly one name field and at most one unit field.
    fn check_roles(&self, problems: &mut Vec<String>) {
        for kind in self.all_kinds() {
            for (role, min) in [(Role::Name, 1), (Role::Unit, 0)] {
                let n = self
                    .fields
                    .iter()
                    .filter(|f| f.role == Some(role) && self.field_applies(f, kind))
                    .count();
                if n < min {
                    problems.push(format!(
                        "kind \"{}\" has no [[field]] with role = \"{role}\"",
                        kind.key()
                    ));
                }
                if n > 1 {
                    problems.push(format!(
                        "kind \"{}\" has {n} [[field]]s with role = \"{role}\"; one is allowed",
                        kind.key()
                    ));
                }
            }
        }
    }

    fn check_answers(&self, problems: &mut Vec<String>) {
        let a = &self.answers;
        if a.yes.is_empty() != a.no.is_empty() {
            problems.push("[answers] needs both yes and no words".to_string());
        }
        for y in &a.yes {
            if a.no.iter().any(|n| n.eq_ignore_ascii_case(y)) {
                problems.push(format!("[answers] \"{y}\" is both yes and no"));
            }
        }
    }

    fn check_ticks(&self, problems: &mut Vec<String>) {
        let t = &self.ticks;
        if !t.field.is_empty() && !self.fields.iter().any(|f| f.key == t.field) {
            problems.push(format!("[ticks] field \"{}\" is not a [[field]]", t.field));
        }
        for o in &t.options {
            if o.matches.is_empty() {
                problems.push(format!("[[ticks.options]] \"{}\" has no matches", o.option));
            }
        }
        for code in t.sym_ticked.iter().chain(&t.sym_empty) {
            if u32::from_str_radix(code, 16).is_err() {
                problems.push(format!("[ticks] \"{code}\" is not a hex character code"));
            }
        }
        if t.ticked_marks.chars().any(|c| t.empty_marks.contains(c)) {
            problems.push("[ticks] a mark is both ticked and empty".to_string());
        }
    }

    fn check_sections(&self, problems: &mut Vec<String>) {
        let s = &self.sections;
        if !s.field.is_empty() && !self.fields.iter().any(|f| f.key == s.field) {
            problems.push(format!(
                "[sections] field \"{}\" is not a [[field]]",
                s.field
            ));
        }
        for h in &s.headings {
            if h.words.is_empty() {
                problems.push(format!("[[sections.headings]] \"{}\" has no words", h.key));
            }
        }
    }

    /// The kind spec for a kind, if defined.
    pub fn kind_spec(&self, kind: Kind) -> Option<&KindSpec> {
        self.kinds.iter().find(|k| k.key == kind.key())
    }

    /// Whether field `f` belongs to forms of `kind`.
    pub fn field_applies(&self, f: &FieldSpec, kind: Kind) -> bool {
        f.kinds.is_empty() || f.kinds.iter().any(|k| k == kind.key())
    }

    pub(crate) fn index(&self) -> &LabelIndex {
        self.index.get_or_init(|| self.build_index())
    }

    fn build_index(&self) -> LabelIndex {
        let mut idx = LabelIndex::default();
        for (i, f) in self.fields.iter().enumerate() {
            for l in &f.labels {
                let n = normalize_label(l);
                if n.is_empty() {
                    continue;
                }
                idx.max_len = idx.max_len.max(n.chars().count());
                let v = idx.labels.entry(n).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
        for k in &self.kinds {
            let Some(kind) = self.kind(&k.key) else {
                continue;
            };
            for m in &k.markers {
                let n = normalize_label(m);
                idx.max_len = idx.max_len.max(n.chars().count());
                let v = idx.markers.entry(n).or_default();
                if !v.contains(&kind) {
                    v.push(kind);
                }
            }
        }
        idx
    }
}
