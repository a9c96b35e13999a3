//! Times the expert assignment (the exact min-cost flow of `lndx::review::assign`) for 800
//! entries, 60 experts and k = 3, on random provinces, units, kinds, themes and declared
//! conflicts, and prints it with the checks that the answer is complete and conflict-free.
//! Goal: ≤ 1 s on one core in release. Run with `cargo bench --bench review`.

use std::collections::HashSet;
use std::time::Instant;

use lndx::review::assign::{default_cap, EntrySide, ExpertSide, Problem};

/// A deterministic generator (splitmix64), so every run times the same instances.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn instance(seed: u64, entries: usize, experts: usize, k: u32) -> Problem {
    let mut g = Gen(seed);
    let kinds = ["case", "project", "course"];
    let themes = ["出行", "就医", "消费", "文娱", "办事"];
    let entries: Vec<EntrySide> = (0..entries)
        .map(|_| EntrySide {
            province: Some(format!("P{:02}", g.next(31))),
            unit_key: Some(format!("unit{}", g.next(400))),
            kind: kinds[g.next(3) as usize].to_string(),
            themes: vec![themes[g.next(5) as usize].to_string()],
        })
        .collect();
    let experts: Vec<ExpertSide> = (0..experts)
        .map(|_| ExpertSide {
            province: Some(format!("P{:02}", g.next(31))),
            unit_key: Some(format!("unit{}", g.next(400))),
            kinds: vec![kinds[g.next(3) as usize].to_string()],
            themes: vec![
                themes[g.next(5) as usize].to_string(),
                themes[g.next(5) as usize].to_string(),
            ],
        })
        .collect();
    let mut declared = HashSet::new();
    for _ in 0..200 {
        declared.insert((
            g.next(entries.len() as u64) as usize,
            g.next(experts.len() as u64) as usize,
        ));
    }
    let cap = default_cap(entries.len(), experts.len(), k, 2);
    Problem {
        entries,
        experts,
        k,
        cap,
        declared,
    }
}

fn main() {
    let (entries, experts, k) = (800, 60, 3);
    println!("assignment: {entries} entries, {experts} experts, k = {k} (goal ≤ 1 s on one core)");
    let mut times = Vec::new();
    for seed in 1..=5u64 {
        let p = instance(seed, entries, experts, k);
        let t = Instant::now();
        let s = p.solve();
        let took = t.elapsed();
        times.push(took.as_secs_f64());
        let conflicts = s
            .experts
            .iter()
            .enumerate()
            .flat_map(|(e, xs)| xs.iter().map(move |&x| (e, x)))
            .filter(|&(e, x)| p.conflict(e, x).is_some())
            .count();
        let mut load = vec![0u32; experts];
        s.experts.iter().flatten().for_each(|&x| load[x] += 1);
        println!(
            "  seed {seed}: {:>7.1} ms, cost {}, complete {}, conflicts {conflicts}, cap {}, load {}–{}",
            took.as_secs_f64() * 1000.0,
            s.cost,
            s.complete(),
            p.cap,
            load.iter().min().unwrap(),
            load.iter().max().unwrap(),
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  median {:.1} ms, worst {:.1} ms",
        times[times.len() / 2] * 1000.0,
        times[times.len() - 1] * 1000.0
    );
}
