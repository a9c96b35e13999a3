//! The rubric of 专家评议 as data (`rules/review.toml`): per kind the criteria and their
//! maximum points (附件1 of the notice, plus the general criteria every kind shares), the
//! overall recommendations an expert chooses from, the spread that flags an entry for
//! discussion, the default experts per entry and cap, and optional per-batch quotas.
//!
//! Validated at load against the campaign with the file and line of a problem, like the
//! rest of the rules folder: every kind of campaign.toml has criteria, no unknown kind,
//! keys unique within a kind, points above zero. Nothing here names a kind of a campaign.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::campaign::{invalid, invalid_at, parse, Campaign, LoadError};
use crate::kind::Kind;

/// The shipped review rules (智慧助老), used with the built-in campaign.
pub const BUILTIN_REVIEW: &str = include_str!("../../rules/review.toml");

/// The file's name inside a rules folder.
pub const FILE: &str = "review.toml";

/// One thing an expert scores.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Stable key (JSON, the registry's stored scores, the score sheet's hidden row).
    pub key: String,
    /// What experts read (实施背景).
    pub name: String,
    /// The most it can get.
    pub points: u32,
    /// What it means, shown under the name.
    #[serde(default)]
    pub hint: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewFile {
    review: Settings,
    #[serde(default)]
    general: Vec<Criterion>,
    kinds: BTreeMap<String, KindFile>,
    #[serde(default)]
    quotas: BTreeMap<String, BTreeMap<String, u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindFile {
    criteria: Vec<Criterion>,
}

/// `[review]`: the settings every round starts from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The overall recommendations, best first (推荐, 可推荐, 不推荐).
    pub recommendations: Vec<String>,
    /// Totals spreading by more than this (max − min) flag an entry for discussion.
    pub discussion_spread: f64,
    /// Experts per entry unless a round says otherwise.
    pub per_entry: u32,
    /// An expert's cap is an even share of the round's reviews plus this.
    pub cap_extra: u32,
}

/// The loaded rubric.
#[derive(Debug, Clone)]
pub struct Rubric {
    pub settings: Settings,
    /// Per kind: its own criteria, then the general ones.
    criteria: BTreeMap<Kind, Vec<Criterion>>,
    /// Per batch and kind: how many entries it aims to recommend.
    quotas: BTreeMap<u8, BTreeMap<Kind, u32>>,
}

impl Rubric {
    /// Loads `review.toml` from a rules folder.
    pub fn load(dir: &Path, campaign: &Campaign) -> Result<Rubric, LoadError> {
        let (path, text) = crate::campaign::read(dir, FILE)?;
        Rubric::from_text(&path, &text, campaign)
    }

    /// The shipped rubric (for the built-in campaign).
    pub fn builtin(campaign: &Campaign) -> Result<Rubric, LoadError> {
        Rubric::from_text(
            &PathBuf::from("rules/review.toml"),
            BUILTIN_REVIEW,
            campaign,
        )
    }

    /// Parses and validates a review.toml's text; `path` names it in errors.
    pub fn from_text(path: &Path, text: &str, campaign: &Campaign) -> Result<Rubric, LoadError> {
        let file: ReviewFile = parse(path, text)?;
        let s = &file.review;
        if s.recommendations.is_empty() {
            return Err(invalid(
                path,
                "[review] recommendations: at least one is needed",
            ));
        }
        for (i, r) in s.recommendations.iter().enumerate() {
            if r.trim().is_empty() || s.recommendations[..i].contains(r) {
                return Err(invalid_at(
                    path,
                    text,
                    r,
                    format!("[review] recommendations: {r:?} is empty or given twice"),
                ));
            }
        }
        if !(s.discussion_spread.is_finite() && s.discussion_spread >= 0.0) {
            return Err(invalid(
                path,
                "[review] discussion_spread must be a number of points ≥ 0",
            ));
        }
        if s.per_entry == 0 {
            return Err(invalid(path, "[review] per_entry must be at least 1"));
        }
        let mut criteria = BTreeMap::new();
        for (key, kf) in &file.kinds {
            let Some(kind) = campaign.kind(key) else {
                return Err(invalid_at(
                    path,
                    text,
                    &format!("kinds.{key}"),
                    format!("[kinds.{key}]: campaign.toml has no kind {key:?}"),
                ));
            };
            if kf.criteria.is_empty() {
                return Err(invalid(path, format!("[kinds.{key}] has no criteria")));
            }
            let all: Vec<Criterion> = kf.criteria.iter().chain(&file.general).cloned().collect();
            for (i, c) in all.iter().enumerate() {
                if c.key.is_empty()
                    || !c
                        .key
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
                {
                    return Err(invalid_at(
                        path,
                        text,
                        &c.key,
                        format!(
                            "criterion key {:?}: use lower-case letters, digits and _",
                            c.key
                        ),
                    ));
                }
                if all[..i].iter().any(|o| o.key == c.key) {
                    return Err(invalid_at(
                        path,
                        text,
                        &c.key,
                        format!("kind {key}: criterion key {:?} is given twice", c.key),
                    ));
                }
                if c.points == 0 || c.name.trim().is_empty() {
                    return Err(invalid_at(
                        path,
                        text,
                        &c.key,
                        format!("criterion {:?} needs a name and points above zero", c.key),
                    ));
                }
            }
            criteria.insert(kind, all);
        }
        for kind in campaign.kinds() {
            if !criteria.contains_key(&kind) {
                return Err(invalid(
                    path,
                    format!(
                        "[kinds.{0}] is missing: every kind of campaign.toml needs criteria ([[kinds.{0}.criteria]])",
                        kind.key()
                    ),
                ));
            }
        }
        let mut quotas = BTreeMap::new();
        for (batch, per_kind) in &file.quotas {
            let number = batch
                .parse::<u8>()
                .ok()
                .filter(|n| campaign.batch(*n).is_some())
                .ok_or_else(|| {
                    invalid_at(
                        path,
                        text,
                        &format!("quotas.{batch}"),
                        format!("[quotas.{batch}]: campaign.toml has no batch {batch}"),
                    )
                })?;
            let mut m = BTreeMap::new();
            for (k, n) in per_kind {
                let kind = campaign.kind(k).ok_or_else(|| {
                    invalid_at(
                        path,
                        text,
                        k,
                        format!("[quotas.{batch}] {k}: campaign.toml has no kind {k:?}"),
                    )
                })?;
                m.insert(kind, *n);
            }
            quotas.insert(number, m);
        }
        Ok(Rubric {
            settings: file.review,
            criteria,
            quotas,
        })
    }

    /// The criteria a kind is scored on, its own first.
    pub fn criteria(&self, kind: Kind) -> &[Criterion] {
        self.criteria.get(&kind).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The most a review of this kind can total.
    pub fn max_total(&self, kind: Kind) -> u32 {
        self.criteria(kind).iter().map(|c| c.points).sum()
    }

    /// The quota of a kind in a batch, when review.toml sets one.
    pub fn quota(&self, batch: u8, kind: Kind) -> Option<u32> {
        self.quotas.get(&batch).and_then(|m| m.get(&kind)).copied()
    }

    /// True when `r` is one of the recommendations.
    pub fn is_recommendation(&self, r: &str) -> bool {
        self.settings.recommendations.iter().any(|x| x == r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        Campaign::from_texts(crate::campaign::BUILTIN_RULES).unwrap()
    }

    #[test]
    fn shipped_rubric_totals_one_hundred_per_kind() {
        let c = campaign();
        let r = Rubric::builtin(&c).unwrap();
        for kind in c.kinds() {
            assert_eq!(r.max_total(kind), 100, "{kind}");
            assert_eq!(r.criteria(kind).len(), 7, "{kind}");
            let names: Vec<&str> = r.criteria(kind).iter().map(|c| c.name.as_str()).collect();
            assert!(names.contains(&"主题契合") && names.contains(&"引领示范"));
        }
        assert_eq!(r.settings.recommendations.len(), 3);
        assert_eq!(r.settings.discussion_spread, 20.0);
    }

    #[test]
    fn an_unknown_kind_is_named_with_its_line() {
        let c = campaign();
        let text = BUILTIN_REVIEW.replace("kinds.course.criteria", "kinds.lecture.criteria");
        let e = Rubric::from_text(Path::new("rules/review.toml"), &text, &c).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("line ") && s.contains("lecture"), "{s}");
    }

    #[test]
    fn a_missing_kind_is_refused() {
        let c = campaign();
        let text: String = BUILTIN_REVIEW
            .split("[[kinds.course.criteria]]")
            .next()
            .unwrap()
            .to_string();
        let e = Rubric::from_text(Path::new("rules/review.toml"), &text, &c).unwrap_err();
        assert!(e.to_string().contains("[kinds.course] is missing"), "{e}");
    }

    #[test]
    fn the_second_campaign_has_its_own_rubric() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/campaign-xxz/rules");
        let c = Campaign::load(&dir).unwrap();
        let r = Rubric::load(&dir, &c).unwrap();
        let star = c.kind("star").unwrap();
        assert_eq!(r.max_total(star), 100);
        assert_eq!(r.quota(1, star), Some(10));
        // The shipped rubric does not fit it.
        assert!(Rubric::builtin(&c).is_err());
    }
}
