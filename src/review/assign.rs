//! Who reviews what: an exact min-cost flow over entries and experts (pure: values in,
//! values out).
//!
//! The network: source → each entry (capacity k, the experts it needs) → each expert it
//! has no conflict with (capacity 1, cost [`MISMATCH_KIND`] when the expert does not
//! declare the entry's kind plus [`MISMATCH_THEME`] when they share no theme) → the expert
//! → sink through `cap` unit edges whose costs rise 1, 2, 3 … (a convex load cost, so the
//! total of an expert's load l is l(l+1)/2 and the flow spreads reviews evenly). A
//! conflict is no edge at all, so it can never be assigned; k and the cap are capacities.
//! The flow is a maximum flow of least cost, so when every entry can get k experts the
//! result is an optimum of the objective `Σ match costs + Σ_experts load(load+1)/2`, and
//! when not, as many reviews as the constraints allow are placed and the entries left
//! short are explained ([`Shortfall`]).
//!
//! Why a solver of our own: `pathfinding` (the maintained graph crate) offers
//! `kuhn_munkres` (a square-ish assignment, O(n³)) and `edmonds_karp` (max flow, no
//! costs), no min-cost flow. Kuhn–Munkres over reviewer slots cannot say "k *different*
//! experts per entry" (two slots of one entry could take two load slots of the same
//! expert), and for 800 entries × 3 against 60 experts × 42 slots it is a 2 400 × 2 520
//! matrix, about 1.5·10¹⁰ steps. The min-cost flow crates (`mcmf`, which wraps a C++
//! library through a build script, and small unmaintained ones) are not better kept than
//! 150 lines here. This is the textbook primal–dual method (successive shortest paths with
//! Johnson potentials; after each Dijkstra every shortest path of the same length is
//! augmented by depth-first search on the zero-reduced-cost edges), tested against brute
//! force on small instances and by properties on large ones (below); `benches/review.rs`
//! prints its time for 800 entries, 60 experts and k = 3.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// Extra cost of an expert who does not declare the entry's kind. Against the load cost
/// (the n-th review of an expert costs n) it means: a matching expert is preferred unless
/// they carry about this many more reviews than a non-matching one.
pub const MISMATCH_KIND: i64 = 6;
/// Extra cost when expert and entry share no theme (either has none, or none in common).
pub const MISMATCH_THEME: i64 = 1;

/// An entry to be reviewed, as the solver sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntrySide {
    pub province: Option<String>,
    /// The unit's normalised name ([`crate::text::name_key`]).
    pub unit_key: Option<String>,
    pub kind: String,
    pub themes: Vec<String>,
}

/// An expert, as the solver sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpertSide {
    pub province: Option<String>,
    pub unit_key: Option<String>,
    pub kinds: Vec<String>,
    pub themes: Vec<String>,
}

/// Why an expert may not review an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// The entry comes from the expert's own province.
    Province,
    /// The entry comes from the expert's own unit.
    Unit,
    /// The expert declared a conflict with the entry.
    Declared,
}

/// An assignment problem.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    pub entries: Vec<EntrySide>,
    pub experts: Vec<ExpertSide>,
    /// Experts per entry.
    pub k: u32,
    /// Most reviews one expert takes.
    pub cap: u32,
    /// Declared conflicts: (entry index, expert index).
    pub declared: HashSet<(usize, usize)>,
}

/// Why an entry could not get its k experts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Shortfall {
    /// Fewer than k experts are free of conflicts with it; how many each conflict excluded
    /// (an expert is counted under the first that applies: province, unit, declared).
    TooFewEligible {
        eligible: usize,
        province: usize,
        unit: usize,
        declared: usize,
    },
    /// Enough experts are eligible, but all of them are at their cap.
    CapsExhausted { eligible: usize, cap: u32 },
}

/// An entry left short.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unservable {
    /// Index into [`Problem::entries`].
    pub entry: usize,
    /// Experts it got.
    pub got: usize,
    pub needed: u32,
    pub why: Shortfall,
}

/// The solver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// Per entry, the indices of its experts (ascending).
    pub experts: Vec<Vec<usize>>,
    /// The objective's value (see the module comment).
    pub cost: i64,
    /// Entries that got fewer than k experts (empty when the assignment is complete).
    pub short: Vec<Unservable>,
}

impl Solution {
    pub fn complete(&self) -> bool {
        self.short.is_empty()
    }
}

/// The default cap: an even share of the reviews plus `extra`.
pub fn default_cap(entries: usize, experts: usize, k: u32, extra: u32) -> u32 {
    if experts == 0 {
        return 0;
    }
    let reviews = entries as u64 * k as u64;
    (reviews.div_ceil(experts as u64) as u32).saturating_add(extra)
}

impl Problem {
    /// The first conflict between an entry and an expert, if any.
    pub fn conflict(&self, entry: usize, expert: usize) -> Option<Conflict> {
        conflict(
            &self.entries[entry],
            &self.experts[expert],
            self.declared.contains(&(entry, expert)),
        )
    }

    /// What one review of `entry` by `expert` costs besides the load.
    pub fn match_cost(&self, entry: usize, expert: usize) -> i64 {
        match_cost(&self.entries[entry], &self.experts[expert])
    }

    /// The objective of an assignment (per entry its experts): match costs plus the
    /// convex load cost.
    pub fn objective(&self, experts: &[Vec<usize>]) -> i64 {
        let mut load = vec![0i64; self.experts.len()];
        let mut cost = 0;
        for (e, xs) in experts.iter().enumerate() {
            for &x in xs {
                cost += self.match_cost(e, x);
                load[x] += 1;
            }
        }
        cost + load.iter().map(|l| l * (l + 1) / 2).sum::<i64>()
    }

    /// Solves the problem exactly (see the module comment).
    pub fn solve(&self) -> Solution {
        let n = self.entries.len();
        let m = self.experts.len();
        let source = 0;
        let sink = n + m + 1;
        let mut g = Graph::new(n + m + 2);
        for e in 0..n {
            g.add(source, 1 + e, self.k as i64, 0);
        }
        let mut pair_edges = Vec::new();
        for e in 0..n {
            for x in 0..m {
                if self.conflict(e, x).is_none() {
                    let id = g.add(1 + e, 1 + n + x, 1, self.match_cost(e, x));
                    pair_edges.push((e, x, id));
                }
            }
        }
        for x in 0..m {
            for l in 1..=self.cap as i64 {
                g.add(1 + n + x, sink, 1, l);
            }
        }
        let cost = g.min_cost_max_flow(source, sink);
        let mut experts = vec![Vec::new(); n];
        for (e, x, id) in pair_edges {
            if g.edges[id].cap == 0 {
                experts[e].push(x);
            }
        }
        let short = self.explain(&experts);
        Solution {
            experts,
            cost,
            short,
        }
    }

    /// The entries of `experts` with fewer than k, and why.
    pub fn explain(&self, experts: &[Vec<usize>]) -> Vec<Unservable> {
        let mut out = Vec::new();
        for (e, xs) in experts.iter().enumerate() {
            if xs.len() >= self.k as usize {
                continue;
            }
            let (mut eligible, mut province, mut unit, mut declared) = (0, 0, 0, 0);
            for x in 0..self.experts.len() {
                match self.conflict(e, x) {
                    None => eligible += 1,
                    Some(Conflict::Province) => province += 1,
                    Some(Conflict::Unit) => unit += 1,
                    Some(Conflict::Declared) => declared += 1,
                }
            }
            let why = if eligible < self.k as usize {
                Shortfall::TooFewEligible {
                    eligible,
                    province,
                    unit,
                    declared,
                }
            } else {
                Shortfall::CapsExhausted {
                    eligible,
                    cap: self.cap,
                }
            };
            out.push(Unservable {
                entry: e,
                got: xs.len(),
                needed: self.k,
                why,
            });
        }
        out
    }

    /// The best expert to add to `entry` given the current assignment (a recusal or a
    /// removal left it short): free of conflicts, not already on it, not in `excluded`,
    /// under the cap; least match cost plus next load cost, ties to the lower index.
    pub fn replacement(
        &self,
        entry: usize,
        current: &[Vec<usize>],
        excluded: &[usize],
    ) -> Option<usize> {
        let mut load = vec![0u32; self.experts.len()];
        for xs in current {
            for &x in xs {
                load[x] += 1;
            }
        }
        (0..self.experts.len())
            .filter(|&x| {
                self.conflict(entry, x).is_none()
                    && !current[entry].contains(&x)
                    && !excluded.contains(&x)
                    && load[x] < self.cap
            })
            .min_by_key(|&x| (self.match_cost(entry, x) + load[x] as i64 + 1, x))
    }
}

/// The first conflict between an entry and an expert (`declared`: whether the expert
/// declared one with this entry).
pub fn conflict(entry: &EntrySide, expert: &ExpertSide, declared: bool) -> Option<Conflict> {
    let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if !a.is_empty() && a == b);
    if same(&entry.province, &expert.province) {
        Some(Conflict::Province)
    } else if same(&entry.unit_key, &expert.unit_key) {
        Some(Conflict::Unit)
    } else if declared {
        Some(Conflict::Declared)
    } else {
        None
    }
}

/// What one review costs besides the load (see [`MISMATCH_KIND`], [`MISMATCH_THEME`]).
pub fn match_cost(entry: &EntrySide, expert: &ExpertSide) -> i64 {
    let kind = if expert.kinds.contains(&entry.kind) {
        0
    } else {
        MISMATCH_KIND
    };
    let theme = if entry.themes.iter().any(|t| expert.themes.contains(t)) {
        0
    } else {
        MISMATCH_THEME
    };
    kind + theme
}

/// A residual network.
struct Graph {
    adj: Vec<Vec<usize>>,
    edges: Vec<Edge>,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    to: usize,
    cap: i64,
    cost: i64,
}

impl Graph {
    fn new(nodes: usize) -> Graph {
        Graph {
            adj: vec![Vec::new(); nodes],
            edges: Vec::new(),
        }
    }

    /// Adds an edge and its reverse (at index id ^ 1); returns the edge's index.
    fn add(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> usize {
        let id = self.edges.len();
        self.edges.push(Edge { to, cap, cost });
        self.edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
        });
        self.adj[from].push(id);
        self.adj[to].push(id + 1);
        id
    }

    /// Primal–dual: Dijkstra on reduced costs (all costs start ≥ 0, so zero potentials are
    /// valid), potentials raised by the distances, then blocking augmentation on the
    /// zero-reduced-cost edges; repeated until the sink is unreachable. Returns the cost.
    fn min_cost_max_flow(&mut self, s: usize, t: usize) -> i64 {
        let n = self.adj.len();
        let mut h = vec![0i64; n];
        let mut dist = vec![i64::MAX; n];
        let mut total = 0i64;
        let mut visited = vec![false; n];
        let mut iter = vec![0usize; n];
        loop {
            // Dijkstra with reduced costs, stopping once the sink is settled: nodes not
            // settled by then get the sink's distance, which keeps every reduced cost ≥ 0.
            dist.iter_mut().for_each(|d| *d = i64::MAX);
            let mut done = vec![false; n];
            dist[s] = 0;
            let mut heap = BinaryHeap::new();
            heap.push(Reverse((0i64, s)));
            while let Some(Reverse((d, u))) = heap.pop() {
                if done[u] || d > dist[u] {
                    continue;
                }
                done[u] = true;
                if u == t {
                    break;
                }
                for &id in &self.adj[u] {
                    let e = self.edges[id];
                    if e.cap > 0 {
                        let nd = d + e.cost + h[u] - h[e.to];
                        if nd < dist[e.to] {
                            dist[e.to] = nd;
                            heap.push(Reverse((nd, e.to)));
                        }
                    }
                }
            }
            if !done[t] {
                return total;
            }
            let dt = dist[t];
            for v in 0..n {
                h[v] += if done[v] { dist[v] } else { dt };
            }
            // Every s–t path of zero reduced cost is a shortest path: push along them.
            iter.iter_mut().for_each(|i| *i = 0);
            loop {
                visited.iter_mut().for_each(|v| *v = false);
                let pushed = self.dfs(s, t, i64::MAX, &h, &mut visited, &mut iter);
                if pushed == 0 {
                    break;
                }
                total += pushed * (h[t] - h[s]);
            }
        }
    }

    /// One augmenting path on zero-reduced-cost edges (each node visited once per search;
    /// `iter` skips edges already found useless in this phase).
    fn dfs(
        &mut self,
        u: usize,
        t: usize,
        limit: i64,
        h: &[i64],
        visited: &mut [bool],
        iter: &mut [usize],
    ) -> i64 {
        if u == t {
            return limit;
        }
        visited[u] = true;
        while iter[u] < self.adj[u].len() {
            let id = self.adj[u][iter[u]];
            let e = self.edges[id];
            if e.cap > 0 && !visited[e.to] && e.cost + h[u] - h[e.to] == 0 {
                let f = self.dfs(e.to, t, limit.min(e.cap), h, visited, iter);
                if f > 0 {
                    self.edges[id].cap -= f;
                    self.edges[id ^ 1].cap += f;
                    return f;
                }
            }
            // Tried (or not usable) in this phase: skipped by the later searches of the
            // phase. A later search may so miss a path through a node that was only busy
            // on an earlier search's stack; that ends the phase early, never wrongly: the
            // first search of a phase starts with nothing skipped, so it is complete, and
            // the next Dijkstra finds what was missed.
            iter[u] += 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Checks the hard constraints of a solution.
    fn check(p: &Problem, s: &Solution) -> Result<(), TestCaseError> {
        let mut load = vec![0u32; p.experts.len()];
        for (e, xs) in s.experts.iter().enumerate() {
            prop_assert!(xs.len() <= p.k as usize, "entry {e} has {} > k", xs.len());
            let mut uniq = xs.clone();
            uniq.dedup();
            prop_assert_eq!(uniq.len(), xs.len());
            for &x in xs {
                prop_assert!(p.conflict(e, x).is_none(), "conflict {e} – {x}");
                load[x] += 1;
            }
        }
        for (x, l) in load.iter().enumerate() {
            prop_assert!(*l <= p.cap, "expert {x} has {l} > cap {}", p.cap);
        }
        prop_assert_eq!(p.objective(&s.experts), s.cost);
        let short: Vec<usize> = s.short.iter().map(|u| u.entry).collect();
        let expect: Vec<usize> = (0..p.entries.len())
            .filter(|&e| s.experts[e].len() < p.k as usize)
            .collect();
        prop_assert_eq!(short, expect);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn instance(
        entries: usize,
        experts: usize,
        provinces: u8,
        units: u8,
        declared: usize,
        k: u32,
        extra: u32,
        seed: u64,
    ) -> Problem {
        // A small deterministic generator (splitmix64): the instance follows from proptest's
        // drawn numbers, so a failure shrinks and replays.
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n.max(1)
        };
        let kinds = ["a", "b", "c"];
        let themes = ["t1", "t2", "t3", "t4"];
        let entries: Vec<EntrySide> = (0..entries)
            .map(|_| EntrySide {
                province: Some(format!("P{}", next(provinces as u64))),
                unit_key: Some(format!("u{}", next(units as u64))),
                kind: kinds[next(3) as usize].into(),
                themes: vec![themes[next(4) as usize].into()],
            })
            .collect();
        let experts: Vec<ExpertSide> = (0..experts)
            .map(|_| ExpertSide {
                province: Some(format!("P{}", next(provinces as u64))),
                unit_key: Some(format!("u{}", next(units as u64))),
                kinds: kinds
                    .iter()
                    .filter(|_| next(2) == 0)
                    .map(|s| s.to_string())
                    .collect(),
                themes: themes
                    .iter()
                    .filter(|_| next(3) == 0)
                    .map(|s| s.to_string())
                    .collect(),
            })
            .collect();
        let mut decl = HashSet::new();
        for _ in 0..declared {
            decl.insert((
                next(entries.len() as u64) as usize,
                next(experts.len() as u64) as usize,
            ));
        }
        let cap = default_cap(entries.len(), experts.len(), k, extra);
        Problem {
            entries,
            experts,
            k,
            cap,
            declared: decl,
        }
    }

    /// The least objective over every assignment that places as many reviews as possible
    /// (brute force: every subset of ≤ k eligible experts per entry).
    fn brute_force(p: &Problem) -> (usize, i64) {
        let options: Vec<Vec<Vec<usize>>> = (0..p.entries.len())
            .map(|e| {
                let eligible: Vec<usize> = (0..p.experts.len())
                    .filter(|&x| p.conflict(e, x).is_none())
                    .collect();
                let mut subsets = Vec::new();
                for mask in 0u32..(1 << eligible.len()) {
                    if mask.count_ones() <= p.k {
                        subsets.push(
                            (0..eligible.len())
                                .filter(|i| mask & (1 << i) != 0)
                                .map(|i| eligible[i])
                                .collect(),
                        );
                    }
                }
                subsets
            })
            .collect();
        let mut best = (0usize, i64::MAX);
        let mut pick = vec![Vec::new(); p.entries.len()];
        fn go(
            p: &Problem,
            options: &[Vec<Vec<usize>>],
            i: usize,
            pick: &mut Vec<Vec<usize>>,
            load: &mut Vec<u32>,
            best: &mut (usize, i64),
        ) {
            if i == options.len() {
                let placed: usize = pick.iter().map(Vec::len).sum();
                let cost = p.objective(pick);
                if placed > best.0 || (placed == best.0 && cost < best.1) {
                    *best = (placed, cost);
                }
                return;
            }
            for s in &options[i] {
                if s.iter().any(|&x| load[x] >= p.cap) {
                    continue;
                }
                s.iter().for_each(|&x| load[x] += 1);
                pick[i] = s.clone();
                go(p, options, i + 1, pick, load, best);
                s.iter().for_each(|&x| load[x] -= 1);
            }
            pick[i].clear();
        }
        let mut load = vec![0; p.experts.len()];
        go(p, &options, 0, &mut pick, &mut load, &mut best);
        best
    }

    /// The same objective by the plainest method: successive shortest paths found with
    /// Bellman–Ford on the residual network, one unit at a time (no potentials, no
    /// blocking flow); (reviews placed, cost).
    fn plain_ssp(p: &Problem) -> (i64, i64) {
        let (n, m) = (p.entries.len(), p.experts.len());
        let (s, t) = (0, n + m + 1);
        // (to, cap, cost) with the reverse edge at index ^ 1.
        let mut edges: Vec<(usize, i64, i64)> = Vec::new();
        let mut from: Vec<usize> = Vec::new();
        let mut add = |a: usize, b: usize, cap: i64, cost: i64| {
            edges.push((b, cap, cost));
            from.push(a);
            edges.push((a, 0, -cost));
            from.push(b);
        };
        for e in 0..n {
            add(s, 1 + e, p.k as i64, 0);
            for x in 0..m {
                if p.conflict(e, x).is_none() {
                    add(1 + e, 1 + n + x, 1, p.match_cost(e, x));
                }
            }
        }
        for x in 0..m {
            for l in 1..=p.cap as i64 {
                add(1 + n + x, t, 1, l);
            }
        }
        let (mut flow, mut cost) = (0, 0);
        loop {
            let mut dist = vec![i64::MAX; t + 1];
            let mut via = vec![usize::MAX; t + 1];
            dist[s] = 0;
            for _ in 0..=t {
                let mut changed = false;
                for (i, &(to, cap, c)) in edges.iter().enumerate() {
                    let u = from[i];
                    if cap > 0 && dist[u] != i64::MAX && dist[u] + c < dist[to] {
                        dist[to] = dist[u] + c;
                        via[to] = i;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            if dist[t] == i64::MAX {
                return (flow, cost);
            }
            let mut v = t;
            while v != s {
                let i = via[v];
                edges[i].1 -= 1;
                edges[i ^ 1].1 += 1;
                v = from[i];
            }
            flow += 1;
            cost += dist[t];
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Hundreds of entries, dozens of experts, random provinces, units and declared
        /// conflicts: never a conflict, k and the cap respected, the cost is the
        /// objective, and every entry left short is named.
        #[test]
        fn large_instances_respect_every_constraint(
            entries in 100usize..400,
            experts in 12usize..50,
            provinces in 2u8..12,
            units in 3u8..40,
            declared in 0usize..300,
            k in 1u32..4,
            extra in 0u32..3,
            seed in any::<u64>(),
        ) {
            let p = instance(entries, experts, provinces, units, declared, k, extra, seed);
            let s = p.solve();
            check(&p, &s)?;
            // A shortfall is real: the reason it gives holds.
            for u in &s.short {
                match u.why {
                    Shortfall::TooFewEligible { eligible, .. } => prop_assert!(eligible < k as usize),
                    Shortfall::CapsExhausted { .. } => {}
                }
            }
        }

        /// On medium instances the primal–dual solver agrees with plain successive
        /// shortest paths (Bellman–Ford, one unit at a time).
        #[test]
        fn medium_instances_match_plain_successive_shortest_paths(
            entries in 10usize..60,
            experts in 4usize..15,
            provinces in 2u8..8,
            units in 3u8..20,
            declared in 0usize..40,
            k in 1u32..4,
            extra in 0u32..3,
            seed in any::<u64>(),
        ) {
            let p = instance(entries, experts, provinces, units, declared, k, extra, seed);
            let s = p.solve();
            let placed: i64 = s.experts.iter().map(|x| x.len() as i64).sum();
            prop_assert_eq!((placed, s.cost), plain_ssp(&p));
        }

        /// On small instances the objective equals the brute-force optimum (and as many
        /// reviews are placed).
        #[test]
        fn small_instances_are_optimal(
            entries in 1usize..5,
            experts in 2usize..6,
            provinces in 1u8..4,
            units in 2u8..6,
            declared in 0usize..4,
            k in 1u32..3,
            extra in 0u32..2,
            seed in any::<u64>(),
        ) {
            let p = instance(entries, experts, provinces, units, declared, k, extra, seed);
            let s = p.solve();
            check(&p, &s)?;
            let placed: usize = s.experts.iter().map(Vec::len).sum();
            let (best_placed, best_cost) = brute_force(&p);
            prop_assert_eq!(placed, best_placed);
            prop_assert_eq!(s.cost, best_cost);
        }
    }

    #[test]
    fn a_province_without_enough_outside_experts_is_explained() {
        let e = |p: &str| EntrySide {
            province: Some(p.into()),
            kind: "a".into(),
            ..Default::default()
        };
        let x = |p: &str| ExpertSide {
            province: Some(p.into()),
            ..Default::default()
        };
        let p = Problem {
            entries: vec![e("GD"), e("ZJ")],
            experts: vec![x("GD"), x("GD"), x("ZJ")],
            k: 2,
            cap: 5,
            declared: HashSet::new(),
        };
        let s = p.solve();
        assert_eq!(s.experts[0], vec![2]);
        assert_eq!(s.experts[1], vec![0, 1]);
        assert_eq!(
            s.short,
            vec![Unservable {
                entry: 0,
                got: 1,
                needed: 2,
                why: Shortfall::TooFewEligible {
                    eligible: 1,
                    province: 2,
                    unit: 0,
                    declared: 0
                }
            }]
        );
    }

    #[test]
    fn caps_exhausted_is_told_apart() {
        let p = Problem {
            entries: vec![EntrySide::default(); 3],
            experts: vec![ExpertSide::default(); 2],
            k: 2,
            cap: 2,
            declared: HashSet::new(),
        };
        let s = p.solve();
        assert_eq!(s.short.len(), 1);
        assert!(matches!(
            s.short[0].why,
            Shortfall::CapsExhausted { eligible: 2, .. }
        ));
    }

    #[test]
    fn expertise_is_preferred_when_loads_allow() {
        let p = Problem {
            entries: vec![EntrySide {
                kind: "a".into(),
                ..Default::default()
            }],
            experts: vec![
                ExpertSide::default(),
                ExpertSide {
                    kinds: vec!["a".into()],
                    ..Default::default()
                },
            ],
            k: 1,
            cap: 1,
            declared: HashSet::new(),
        };
        assert_eq!(p.solve().experts, vec![vec![1]]);
    }
}
