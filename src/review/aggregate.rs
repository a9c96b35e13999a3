//! Aggregation of a round's submitted reviews (pure): per entry the mean and median of its
//! totals, each expert's totals standardised over that expert's reviews in the round
//! (z-scores, so a lenient and a harsh expert count alike), the entry's mean z, the spread
//! (max − min of totals) and a flag for discussion; the ranking per kind by mean z, ties by
//! raw mean, then receipt.
//!
//! z uses the population standard deviation of the expert's totals; an expert whose totals
//! are all equal (or who has one review) gives z = 0 to each: they tell entries apart not
//! at all, so they move no entry up or down.

use std::collections::BTreeMap;

/// One submitted review, as aggregation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub receipt: String,
    pub expert: String,
    pub total: f64,
    pub recommendation: String,
}

/// An entry of the round (reviewed or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundEntry {
    pub receipt: String,
    /// The kind's key: ranks are per kind.
    pub kind: String,
}

/// An entry's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    pub receipt: String,
    pub kind: String,
    /// Position within its kind (1 = best); entries without reviews come last.
    pub rank: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub mean_z: Option<f64>,
    pub spread: Option<f64>,
    pub flagged: bool,
    /// Why flagged: `spread`, `recommendations` (both may hold).
    pub flags: Vec<&'static str>,
    pub reviews: usize,
}

/// Figures for every entry of the round, ranked per kind (kinds in the order of `entries`'
/// first appearance, entries by rank within a kind).
pub fn rank(entries: &[RoundEntry], reviews: &[Scored], threshold: f64) -> Vec<Ranked> {
    // Per expert: mean and standard deviation of their totals in the round.
    let mut by_expert: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in reviews {
        by_expert.entry(&r.expert).or_default().push(r.total);
    }
    let stats: BTreeMap<&str, (f64, f64)> = by_expert
        .iter()
        .map(|(x, ts)| {
            let n = ts.len() as f64;
            let mean = ts.iter().sum::<f64>() / n;
            let var = ts.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n;
            (*x, (mean, var.sqrt()))
        })
        .collect();
    let z = |r: &Scored| {
        let (mean, sd) = stats[r.expert.as_str()];
        if sd > 1e-9 {
            (r.total - mean) / sd
        } else {
            0.0
        }
    };
    let mut per_entry: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for r in reviews {
        per_entry.entry(&r.receipt).or_default().push(r);
    }
    let mut out: Vec<Ranked> = entries
        .iter()
        .map(|e| {
            let rs = per_entry
                .get(e.receipt.as_str())
                .cloned()
                .unwrap_or_default();
            if rs.is_empty() {
                return Ranked {
                    receipt: e.receipt.clone(),
                    kind: e.kind.clone(),
                    rank: 0,
                    mean: None,
                    median: None,
                    mean_z: None,
                    spread: None,
                    flagged: false,
                    flags: Vec::new(),
                    reviews: 0,
                };
            }
            let mut totals: Vec<f64> = rs.iter().map(|r| r.total).collect();
            totals.sort_by(f64::total_cmp);
            let n = totals.len();
            let mean = totals.iter().sum::<f64>() / n as f64;
            let median = if n % 2 == 1 {
                totals[n / 2]
            } else {
                (totals[n / 2 - 1] + totals[n / 2]) / 2.0
            };
            let mean_z = rs.iter().map(|r| z(r)).sum::<f64>() / n as f64;
            let spread = totals[n - 1] - totals[0];
            let mut flags = Vec::new();
            if spread > threshold {
                flags.push("spread");
            }
            if rs.iter().any(|r| r.recommendation != rs[0].recommendation) {
                flags.push("recommendations");
            }
            Ranked {
                receipt: e.receipt.clone(),
                kind: e.kind.clone(),
                rank: 0,
                mean: Some(mean),
                median: Some(median),
                mean_z: Some(mean_z),
                spread: Some(spread),
                flagged: !flags.is_empty(),
                flags,
                reviews: n,
            }
        })
        .collect();
    let mut kinds: Vec<String> = Vec::new();
    for e in entries {
        if !kinds.contains(&e.kind) {
            kinds.push(e.kind.clone());
        }
    }
    let key = |r: &Ranked| {
        kinds
            .iter()
            .position(|k| *k == r.kind)
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| {
        key(a)
            .cmp(&key(b))
            .then_with(|| b.reviews.min(1).cmp(&a.reviews.min(1)))
            .then_with(|| cmp_desc(a.mean_z, b.mean_z))
            .then_with(|| cmp_desc(a.mean, b.mean))
            .then_with(|| a.receipt.cmp(&b.receipt))
    });
    let mut last_kind = None;
    let mut pos = 0;
    for r in &mut out {
        if last_kind.as_ref() != Some(&r.kind) {
            last_kind = Some(r.kind.clone());
            pos = 0;
        }
        pos += 1;
        r.rank = pos;
    }
    out
}

/// Larger first; None last.
fn cmp_desc(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(receipt: &str, expert: &str, total: f64, rec: &str) -> Scored {
        Scored {
            receipt: receipt.into(),
            expert: expert.into(),
            total,
            recommendation: rec.into(),
        }
    }

    /// A lenient expert (L, scores 85–95) and a harsh one (H, 40–70) each see a different
    /// half of the entries, and a middle one (M) sees all. By raw mean, entry A (seen by the
    /// lenient expert) comes first; standardised, entry B — the best of the harsh expert's
    /// entries and M's best — does.
    fn fixture() -> (Vec<RoundEntry>, Vec<Scored>) {
        let entries = ["A", "B", "C", "D"]
            .iter()
            .map(|r| RoundEntry {
                receipt: r.to_string(),
                kind: "k".into(),
            })
            .collect();
        let reviews = vec![
            s("A", "L", 90.0, "推荐"),
            s("C", "L", 95.0, "推荐"),
            s("B", "H", 70.0, "推荐"),
            s("D", "H", 40.0, "不推荐"),
            s("A", "M", 60.0, "可推荐"),
            s("B", "M", 80.0, "推荐"),
            s("C", "M", 70.0, "推荐"),
            s("D", "M", 50.0, "不推荐"),
        ];
        (entries, reviews)
    }

    /// The same figures computed independently, the long way: per-expert two-pass mean and
    /// variance, then per entry by hand.
    fn independent(entries: &[RoundEntry], reviews: &[Scored]) -> Vec<(String, f64, f64, f64)> {
        let experts: Vec<&str> = {
            let mut v: Vec<&str> = reviews.iter().map(|r| r.expert.as_str()).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut zs = Vec::new();
        for r in reviews {
            let mine: Vec<f64> = reviews
                .iter()
                .filter(|o| o.expert == r.expert)
                .map(|o| o.total)
                .collect();
            let m = mine.iter().sum::<f64>() / mine.len() as f64;
            let sd =
                (mine.iter().map(|t| (t - m) * (t - m)).sum::<f64>() / mine.len() as f64).sqrt();
            zs.push(if sd == 0.0 { 0.0 } else { (r.total - m) / sd });
        }
        assert_eq!(experts.len(), 3);
        entries
            .iter()
            .map(|e| {
                let idx: Vec<usize> = (0..reviews.len())
                    .filter(|&i| reviews[i].receipt == e.receipt)
                    .collect();
                let totals: Vec<f64> = idx.iter().map(|&i| reviews[i].total).collect();
                let mean = totals.iter().sum::<f64>() / totals.len() as f64;
                let mz = idx.iter().map(|&i| zs[i]).sum::<f64>() / idx.len() as f64;
                let spread = totals.iter().cloned().fold(f64::MIN, f64::max)
                    - totals.iter().cloned().fold(f64::MAX, f64::min);
                (e.receipt.clone(), mean, mz, spread)
            })
            .collect()
    }

    #[test]
    fn figures_match_an_independent_computation_and_normalisation_reorders() {
        let (entries, reviews) = fixture();
        let ranked = rank(&entries, &reviews, 20.0);
        let expect = independent(&entries, &reviews);
        for (receipt, mean, mz, spread) in &expect {
            let r = ranked.iter().find(|r| &r.receipt == receipt).unwrap();
            assert!((r.mean.unwrap() - mean).abs() < 1e-9, "{receipt} mean");
            assert!((r.mean_z.unwrap() - mz).abs() < 1e-9, "{receipt} mean z");
            assert!(
                (r.spread.unwrap() - spread).abs() < 1e-9,
                "{receipt} spread"
            );
            assert_eq!(
                r.flagged,
                r.spread.unwrap() > 20.0 || receipt == "A",
                "{receipt}"
            );
        }
        // By raw mean C (82.5) and A (75) lead; by mean z B does.
        let mut by_mean = expect.clone();
        by_mean.sort_by(|a, b| b.1.total_cmp(&a.1));
        let by_z: Vec<&str> = ranked.iter().map(|r| r.receipt.as_str()).collect();
        assert_eq!(by_mean[0].0, "C");
        assert_eq!(by_z[0], "B");
        assert_ne!(
            by_mean.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            by_z
        );
        assert_eq!(
            ranked.iter().map(|r| r.rank).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        // A: 90 and 60 spread 30 > 20, and 推荐 vs 可推荐.
        let a = ranked.iter().find(|r| r.receipt == "A").unwrap();
        assert_eq!(a.flags, ["spread", "recommendations"]);
        assert_eq!(a.median, Some(75.0));
    }

    #[test]
    fn unreviewed_entries_rank_last_and_ties_fall_to_raw_mean_then_receipt() {
        let entries: Vec<RoundEntry> = ["X2", "X1", "X3", "Y"]
            .iter()
            .map(|r| RoundEntry {
                receipt: r.to_string(),
                kind: "k".into(),
            })
            .collect();
        // One expert with equal totals: z = 0 for all, raw means equal → receipt order.
        let reviews = vec![s("X2", "E", 50.0, "推荐"), s("X1", "E", 50.0, "推荐")];
        let ranked = rank(&entries, &reviews, 20.0);
        let order: Vec<&str> = ranked.iter().map(|r| r.receipt.as_str()).collect();
        assert_eq!(order, ["X1", "X2", "X3", "Y"]);
        assert_eq!(ranked[2].reviews, 0);
        assert_eq!(ranked[2].mean, None);
    }
}
