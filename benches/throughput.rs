//! Throughput figures (run with `cargo bench --bench throughput`): docx and xlsx forms
//! parsed per second on one core, and messages filed per second by the intake (MIME,
//! forms, rules, SQLite, reply rendering and queueing) over the samples' mix.
//! Prints figures; asserts nothing about speed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lndx::campaign::Campaign;
use lndx::forms::{self, ReadLimits};
use lndx::intake::{Intake, Settings};
use lndx::registry::{Registry, SourceRef};
use lndx::reply::Replier;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs `f` over the inputs repeatedly for about `budget`; returns items per second.
fn rate(inputs: &[Vec<u8>], budget: Duration, mut f: impl FnMut(&[u8])) -> (f64, usize) {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget {
        for i in inputs {
            f(i);
            n += 1;
        }
    }
    (n as f64 / start.elapsed().as_secs_f64(), n)
}

fn main() {
    let campaign = Campaign::load(&repo().join("rules")).expect("rules");
    let spec = &campaign.forms;
    let limits = ReadLimits::default();
    let forms_dir = repo().join("tests/fixtures/forms");

    let docx: Vec<Vec<u8>> = files(&forms_dir, "docx")
        .into_iter()
        .filter(|b| forms::read_docx(b, spec, &limits).is_ok())
        .collect();
    let (r, n) = rate(&docx, Duration::from_secs(3), |b| {
        std::hint::black_box(forms::read_docx(b, spec, &limits).ok());
    });
    println!(
        "docx forms parsed:   {r:>8.0} forms/s  (one core, {n} reads of {} sample forms)",
        docx.len()
    );

    let xlsx = files(&forms_dir, "xlsx");
    let (r, n) = rate(&xlsx, Duration::from_secs(2), |b| {
        std::hint::black_box(forms::read_xlsx(b, spec, &limits).ok());
    });
    println!(
        "xlsx forms parsed:   {r:>8.0} forms/s  (one core, {n} reads of {} sample sheets)",
        xlsx.len()
    );

    // End to end: the 21 samples, filed again and again into one registry.
    let tmp = std::env::temp_dir().join(format!("lndx-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut reg = Registry::open(&tmp).expect("registry");
    let intake = Intake {
        campaign: campaign.clone(),
        settings: Settings::default(),
        replier: Replier::load(Some(&repo().join("templates"))).expect("templates"),
        converter: None,
        review: None,
    };
    let messages = files(&repo().join("tests/fixtures/eml"), "eml");
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(5) {
        for raw in &messages {
            intake
                .file(
                    &mut reg,
                    raw,
                    SourceRef {
                        source: "file",
                        key: None,
                        arrived_at: None,
                        declared_size: None,
                        no_reply: None,
                    },
                )
                .expect("filed");
            n += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "messages filed:      {:>8.0} messages/s  ({n} messages of the samples' mix, SQLite on disk, no legacy converter)",
        n as f64 / secs
    );
    drop(reg);
    let _ = std::fs::remove_dir_all(&tmp);
}
