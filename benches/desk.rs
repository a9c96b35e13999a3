//! The desk on a registry of 10,000 synthetic filed messages and entries (written with SQL
//! on a connection of the benchmark's own): how long the 待人工处理 queue takes to compute,
//! and how long actions take (a note, a late entry accepted — each one transaction with its
//! audit row and, for the late entry, a queued notice). Prints p50/p95; asserts nothing
//! about speed. Run with `cargo bench --bench desk`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use rusqlite::params;

use lndx::campaign::Campaign;
use lndx::desk::{Action, AttentionQuery, Desk, NoteTarget};
use lndx::intake::{Intake, Settings};
use lndx::registry::Registry;
use lndx::reply::Replier;

const MESSAGES: usize = 10_000;

/// Writes the synthetic rows: one message, file and entry each; every 97th held for its
/// province, every 50th late, every 89th a link-only mail, every 101st a file that could
/// not be read, every 113th reply failed. Returns the late entries' receipts.
fn fill(dir: &Path, provinces: &[String]) -> Vec<String> {
    let c = rusqlite::Connection::open(dir.join("lndx.db")).unwrap();
    c.execute_batch("BEGIN").unwrap();
    let mut msg = c
        .prepare(
            "INSERT INTO messages (id, sha256, raw_path, size, source, arrived_at, sender, subject,
                province, batch, state, result, created_at)
             VALUES (?1, ?2, 'raw/x', 1, 'file', ?3, ?4, '报送材料', ?5, ?6, 'filed', ?7, ?3)",
        )
        .unwrap();
    let mut file = c
        .prepare(
            "INSERT INTO files (id, message, seq, filename, sha256, size, file_type, role, kind, errors)
             VALUES (?1, ?1, 0, 'form.docx', ?2, 1, 'docx', 'form', 'case', ?3)",
        )
        .unwrap();
    let mut entry = c
        .prepare(
            "INSERT INTO entries (id, receipt, entry_key, version, message, file, file_sha256,
                province, batch, late, kind, name, unit, status, fields, errors, warnings,
                themes, arrived_at, created_at)
             VALUES (?1, ?2, ?3, 1, ?1, ?1, ?4, ?5, ?6, ?7, 'case', ?8, '某省开放大学', ?9, '{}',
                '[]', '[]', '[]', ?10, ?10)",
        )
        .unwrap();
    let mut outbox = c
        .prepare(
            "INSERT INTO outbox (message, purpose, message_id, envelope_from, recipients, body,
                state, next_attempt_at, last_error, created_at)
             VALUES (?1, 'reply', ?2, 'lndx@ouchn.edu.cn', ?3, X'00', ?4, ?5, ?6, ?5)",
        )
        .unwrap();
    let start = Utc.with_ymd_and_hms(2021, 10, 1, 0, 0, 0).unwrap();
    let mut late = Vec::new();
    for i in 0..MESSAGES {
        let id = i as i64 + 1;
        let at = (start + chrono::Duration::minutes(i as i64 * 50))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let held = i % 97 == 0;
        let is_late = i % 50 == 1;
        let province = (!held).then(|| provinces[i % (provinces.len() - 3)].clone());
        let batch: Option<i64> = (!is_late).then_some(1 + (i * 3 / MESSAGES) as i64);
        let code = if held {
            Some("unknown_province")
        } else if i % 89 == 0 {
            Some("link_attachment")
        } else {
            None
        };
        let result = match code {
            Some(c) => format!(r#"{{"errors":[{{"code":"{c}"}}]}}"#),
            None => r#"{"errors":[]}"#.to_string(),
        };
        let file_errors = if i % 101 == 0 {
            r#"[{"code":"encrypted_document"}]"#
        } else {
            "[]"
        };
        let sha = format!("{id:064x}");
        let sender = format!("s{id}@example.test");
        msg.execute(params![id, sha, at, sender, province, batch, result])
            .unwrap();
        file.execute(params![id, sha, file_errors]).unwrap();
        let receipt = format!(
            "ZHZL-2021-B{}-{}-C-{id:05}",
            batch.map(|b| b.to_string()).unwrap_or("L".into()),
            province.as_deref().unwrap_or("XX")
        );
        entry
            .execute(params![
                id,
                receipt,
                format!("key{id}"),
                sha,
                province,
                batch,
                is_late as i64,
                format!("“智慧助老”示范项目第{id}号"),
                if held { "held" } else { "valid" },
                at
            ])
            .unwrap();
        if is_late {
            late.push(receipt);
        }
        let (state, error) = if i % 113 == 0 {
            ("failed", Some("550 5.1.1 user unknown"))
        } else {
            ("sent", None)
        };
        outbox
            .execute(params![
                id,
                format!("<r{id}@ouchn.edu.cn>"),
                format!(r#"["{sender}"]"#),
                state,
                at,
                error
            ])
            .unwrap();
    }
    drop((msg, file, entry, outbox));
    c.execute_batch("COMMIT").unwrap();
    late
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut times: Vec<f64>) {
    let n = times.len();
    let p50 = percentile(&mut times, 0.5);
    let p95 = percentile(&mut times, 0.95);
    println!("{name}: p50 {p50:.1} ms, p95 {p95:.1} ms ({n} runs)");
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let campaign = Campaign::load(&root.join("rules")).expect("rules");
    let provinces: Vec<String> = campaign.provinces.iter().map(|p| p.code.clone()).collect();
    let tmp = tempfile::tempdir().unwrap();
    drop(Registry::open(tmp.path()).unwrap());
    let t = Instant::now();
    let late = fill(tmp.path(), &provinces);
    println!(
        "fill: {MESSAGES} messages and entries in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let templates = root.join("templates");
    let intake = Intake {
        campaign,
        settings: Settings::default(),
        replier: Replier::load(Some(&templates)).unwrap(),
        converter: None,
        review: None,
    };
    let desk = Desk::new(intake, Some(&templates)).unwrap();
    let mut db = Registry::open(tmp.path()).unwrap();

    let mut times = Vec::new();
    let mut open = 0;
    for _ in 0..20 {
        let t = Instant::now();
        open = desk
            .attention(&db, &AttentionQuery::default())
            .unwrap()
            .len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report(&format!("attention ({open} open items)"), times);

    let mut times = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        desk.perform(
            &mut db,
            "bench@ouchn.edu.cn",
            Action::Note {
                target: NoteTarget::Message(i + 1),
                text: "已电话联系".into(),
            },
        )
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("perform note", times);

    let mut times = Vec::new();
    for receipt in late.iter().take(20) {
        let t = Instant::now();
        desk.perform(
            &mut db,
            "bench@ouchn.edu.cn",
            Action::AcceptLate {
                receipt: receipt.clone(),
                batch: 3,
            },
        )
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("perform accept_late (with its notice queued)", times);
}
