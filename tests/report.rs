//! The weekly report: its numbers against independent SQL over a registry filled from the
//! public samples, its workbook read back, snapshots of the rendering, the scheduler with
//! an injected clock, the preview/send-now commands and the registry export.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mail_parser::MimeHeaders;
use rusqlite::{params, Connection};

#[path = "report/browser.rs"]
mod browser;
mod util;

use lndx::app::App;
use lndx::registry::Registry;
use lndx::report::data::{stamp, ReportData};
use lndx::report::schedule::Tick;
use lndx::report::{Reporter, Scheduler};

fn repo() -> PathBuf {
    util::repo()
}

/// TMP/rules: the shipped rules plus the senders the samples assume.
fn rules_in(tmp: &Path) -> PathBuf {
    util::sample_rules_in(tmp)
}

fn sample_files() -> Vec<PathBuf> {
    util::sample_messages()
}

/// `lndx --data-dir TMP/data --rules TMP/rules ARGS`, which must succeed.
fn lndx(tmp: &Path, args: &[&str]) -> std::process::Output {
    let out = util::lndx_in(tmp, &tmp.join("data"), &tmp.join("rules"), None, args);
    assert!(
        out.status.success(),
        "lndx {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ingest(tmp: &Path, files: &[PathBuf]) -> Vec<serde_json::Value> {
    let mut args = vec!["ingest".to_string(), "--json".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let out = lndx(tmp, &refs);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn app(tmp: &Path, config: Option<&Path>) -> App {
    App::new(config, Some(tmp.join("data")), Some(tmp.join("rules"))).unwrap()
}

/// Waits until the wall clock has moved past `t` by a few milliseconds, so that rows filed
/// next have a later `created_at`.
fn after_now() -> DateTime<Utc> {
    std::thread::sleep(std::time::Duration::from_millis(20));
    let t = Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    t
}

// ---------------------------------------------------------------------------------------
// Independent counts: "current as of T" = the highest version of an entry key among the
// versions filed at or before T.

const CUR: &str = "WITH cur AS (
    SELECT e.* FROM entries e
    WHERE coalesce(e.arrived_at, e.created_at) <= ?1
      AND NOT EXISTS (SELECT 1 FROM entries n
                      WHERE n.entry_key = e.entry_key AND n.version > e.version
                        AND coalesce(n.arrived_at, n.created_at) <= ?1))";

fn count(conn: &Connection, t: &str, filter: &str, extra: &[&dyn rusqlite::ToSql]) -> usize {
    let sql = format!("{CUR} SELECT count(*) FROM cur WHERE {filter}");
    let mut p: Vec<&dyn rusqlite::ToSql> = vec![&t];
    p.extend_from_slice(extra);
    conn.query_row(&sql, p.as_slice(), |r| r.get::<_, i64>(0))
        .unwrap() as usize
}

fn strings(conn: &Connection, t: &str, sql_tail: &str) -> Vec<String> {
    let sql = format!("{CUR} {sql_tail}");
    let mut st = conn.prepare(&sql).unwrap();
    st.query_map([t], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
}

/// Checks every number of the report against SQL written here.
fn check_numbers(conn: &Connection, d: &ReportData, as_of: DateTime<Utc>, since: DateTime<Utc>) {
    let t = stamp(as_of);
    let t = t.as_str();
    let kinds = ["case", "project", "course"];
    let targets = [100u32, 200, 500];
    assert_eq!(d.kinds.len(), 3);
    for (i, k) in kinds.iter().enumerate() {
        let row = &d.kinds[i];
        assert_eq!(row.key, *k);
        assert_eq!(row.target, targets[i]);
        let v = count(conn, t, "status = 'valid' AND kind = ?2", &[k]);
        assert_eq!(row.valid, v, "valid {k}");
        assert_eq!(
            row.invalid,
            count(conn, t, "status = 'invalid' AND kind = ?2", &[k]),
            "invalid {k}"
        );
        assert_eq!(
            row.pct_text,
            format!("{:.1}%", v as f64 * 100.0 / targets[i] as f64)
        );
    }
    let valid = count(conn, t, "status = 'valid'", &[]);
    assert_eq!(d.totals.valid, valid);
    assert_eq!(d.totals.target, 800);
    assert_eq!(d.totals.invalid, count(conn, t, "status = 'invalid'", &[]));
    assert_eq!(d.totals.held, count(conn, t, "status = 'held'", &[]));
    assert_eq!(
        d.totals.late_valid,
        count(
            conn,
            t,
            "status = 'valid' AND (late = 1 OR batch IS NULL)",
            &[]
        )
    );

    // Province × kind, all 33 units.
    assert_eq!(d.provinces.len(), 33);
    for p in &d.provinces {
        for (i, k) in kinds.iter().enumerate() {
            let n = count(
                conn,
                t,
                "status = 'valid' AND province = ?2 AND kind = ?3",
                &[&p.code, k],
            );
            assert_eq!(p.cells[i].valid, n, "{} {k}", p.code);
            assert_eq!(p.cells[i].zero, n == 0);
        }
        assert_eq!(
            p.valid,
            count(conn, t, "status = 'valid' AND province = ?2", &[&p.code])
        );
        assert_eq!(
            p.invalid,
            count(conn, t, "status = 'invalid' AND province = ?2", &[&p.code])
        );
        // Heard from: an entry of the province, or a filed message attributed to it.
        let any = count(conn, t, "province = ?2", &[&p.code]);
        let wrote: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE province = ?2 AND skipped IS NULL
                   AND coalesce(arrived_at, created_at) <= ?1",
                params![t, p.code],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(p.nothing, any == 0 && wrote == 0, "{}", p.code);
        assert_eq!(p.heard, !p.nothing);
        let expected_situation = if p.nothing {
            "尚未来信"
        } else if p.valid == 0 {
            "有来信但无有效申报"
        } else {
            ""
        };
        assert_eq!(p.situation, expected_situation, "{}", p.code);
        // The change over the window: valid now less valid at its start.
        let before = count(
            conn,
            &stamp(since),
            "status = 'valid' AND province = ?2",
            &[&p.code],
        );
        assert_eq!(p.change, p.valid as i64 - before as i64, "{}", p.code);
        // Province × batch, then late arrivals.
        for b in 1..=3i64 {
            assert_eq!(
                p.by_batch[(b - 1) as usize].valid,
                count(
                    conn,
                    t,
                    "status = 'valid' AND province = ?2 AND batch = ?3",
                    &[&p.code, &b]
                ),
                "{} batch {b}",
                p.code
            );
        }
        assert_eq!(
            p.by_batch[3].valid,
            count(
                conn,
                t,
                "status = 'valid' AND province = ?2 AND batch IS NULL",
                &[&p.code]
            )
        );
    }
    for (i, k) in kinds.iter().enumerate() {
        assert_eq!(
            d.province_totals[i].valid,
            count(
                conn,
                t,
                "status = 'valid' AND province IS NOT NULL AND kind = ?2",
                &[k]
            )
        );
    }
    let nothing: Vec<String> = {
        let mut st = conn
            .prepare(&format!(
                "{CUR} SELECT (SELECT count(*) FROM cur WHERE province = ?2)
                    + (SELECT count(*) FROM messages WHERE province = ?2 AND skipped IS NULL
                         AND coalesce(arrived_at, created_at) <= ?1)"
            ))
            .unwrap();
        d.provinces
            .iter()
            .filter(|p| {
                st.query_row(params![t, p.code], |r| r.get::<_, i64>(0))
                    .unwrap()
                    == 0
            })
            .map(|p| p.name.clone())
            .collect()
    };
    assert_eq!(d.nothing_yet, nothing);
    let wrote_none_valid: Vec<String> = d
        .provinces
        .iter()
        .filter(|p| !nothing.contains(&p.name) && p.valid == 0)
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(d.no_valid_yet, wrote_none_valid);

    // By batch, then late arrivals.
    assert_eq!(d.batches.len(), 4);
    for b in 1..=3i64 {
        let row = &d.batches[(b - 1) as usize];
        for (i, k) in kinds.iter().enumerate() {
            assert_eq!(
                row.cells[i].valid,
                count(
                    conn,
                    t,
                    "status = 'valid' AND batch = ?2 AND kind = ?3",
                    &[&b, k]
                ),
                "batch {b} {k}"
            );
        }
        assert_eq!(
            row.valid,
            count(conn, t, "status = 'valid' AND batch = ?2", &[&b])
        );
        assert_eq!(
            row.invalid,
            count(conn, t, "status = 'invalid' AND batch = ?2", &[&b])
        );
    }
    assert_eq!(
        d.batches[3].valid,
        count(conn, t, "status = 'valid' AND batch IS NULL", &[])
    );

    // New since the previous report (or 7 days).
    let s = stamp(since);
    assert_eq!(
        d.new_since.count,
        count(conn, t, "coalesce(arrived_at, created_at) > ?2", &[&s])
    );
    assert_eq!(
        d.new_since.valid,
        count(
            conn,
            t,
            "coalesce(arrived_at, created_at) > ?2 AND status = 'valid'",
            &[&s]
        )
    );
    assert_eq!(
        d.new_since.invalid,
        count(
            conn,
            t,
            "coalesce(arrived_at, created_at) > ?2 AND status = 'invalid'",
            &[&s]
        )
    );
    assert_eq!(
        d.new_since.held,
        count(
            conn,
            t,
            "coalesce(arrived_at, created_at) > ?2 AND status = 'held'",
            &[&s]
        )
    );
    assert_eq!(
        d.new_since.replacements,
        count(
            conn,
            t,
            "coalesce(arrived_at, created_at) > ?2 AND supersedes IS NOT NULL",
            &[&s]
        )
    );

    // Invalid entries with their codes, held entries.
    let invalid = strings(
        conn,
        t,
        "SELECT receipt || ' ' || (SELECT group_concat(json_extract(value, '$.code'), ', ')
                                    FROM json_each(cur.errors))
         FROM cur WHERE status = 'invalid' ORDER BY receipt",
    );
    let shown: Vec<String> = d
        .invalid
        .rows
        .iter()
        .map(|e| format!("{} {}", e.receipt, e.codes))
        .collect();
    assert_eq!(shown, invalid);
    assert_eq!(d.invalid.count, invalid.len());
    for e in &d.invalid.rows {
        assert!(!e.problems.is_empty());
        assert!(e.problems.iter().all(|p| !p.is_ascii()), "{:?}", e.problems);
    }
    let held = strings(
        conn,
        t,
        "SELECT receipt FROM cur WHERE status = 'held' ORDER BY receipt",
    );
    let shown: Vec<String> = d.held.rows.iter().map(|e| e.receipt.clone()).collect();
    assert_eq!(shown, held);

    // Themes among valid entries.
    for th in &d.themes {
        assert_eq!(
            th.valid,
            count(
                conn,
                t,
                "status = 'valid' AND EXISTS (SELECT 1 FROM json_each(cur.themes) WHERE value = ?2)",
                &[&th.name]
            ),
            "theme {}",
            th.name
        );
    }
    assert_eq!(
        d.off_theme,
        count(
            conn,
            t,
            "status = 'valid' AND json_array_length(themes) = 0",
            &[]
        )
    );

    // Every current entry in the detail.
    assert_eq!(d.entries.len(), count(conn, t, "1", &[]));

    check_pending(conn, d, t);
    check_schedule(conn, d, as_of);
    check_corrections(conn, d, t);
}

/// What needs a person, per kind, against SQL written here: messages and files answered
/// with a code that leaves the forms unread (until the same sender later files an entry),
/// quarantined messages, held and late entries, bounces, failed or unknown deliveries.
fn check_pending(conn: &Connection, d: &ReportData, t: &str) {
    let scalar = |sql: &str, code: &str| -> usize {
        conn.query_row(sql, params![t, code], |r| r.get::<_, i64>(0))
            .unwrap() as usize
    };
    // A sender "did what the reply asked" when a later message of theirs filed an entry.
    let unresolved = "NOT EXISTS (SELECT 1 FROM messages n
            WHERE lower(n.sender) = lower(m.sender)
              AND coalesce(n.arrived_at, n.created_at) > coalesce(m.arrived_at, m.created_at)
              AND coalesce(n.arrived_at, n.created_at) <= ?1
              AND n.id IN (SELECT message FROM entries))";
    let message_level = format!(
        "SELECT count(*) FROM messages m
         WHERE m.skipped IS NULL AND coalesce(m.arrived_at, m.created_at) <= ?1
           AND EXISTS (SELECT 1 FROM json_each(m.result, '$.errors') c
                       WHERE json_extract(c.value, '$.code') = ?2)
           AND {unresolved}"
    );
    // One item per finding: a message answers each code once.
    let file_level = format!(
        "SELECT count(*) FROM files f JOIN messages m ON m.id = f.message, json_each(f.errors) c
         WHERE json_extract(c.value, '$.code') = ?2
           AND m.skipped IS NULL AND coalesce(m.arrived_at, m.created_at) <= ?1
           AND {unresolved}"
    );
    let mut want: Vec<(&str, usize)> = Vec::new();
    for code in ["link_attachment", "no_attachment"] {
        want.push((code, scalar(&message_level, code)));
    }
    for code in [
        "unreadable_attachment",
        "encrypted_document",
        "macro_document",
        "unsupported_format",
    ] {
        want.push((code, scalar(&file_level, code)));
    }
    want.push((
        "too_large",
        scalar(&message_level, "too_large") + scalar(&file_level, "too_large"),
    ));
    want.push((
        "quarantined",
        scalar(
            "SELECT count(*) FROM messages WHERE state = 'quarantined'
               AND coalesce(arrived_at, created_at) <= ?1 AND ?2 = ?2",
            "",
        ),
    ));
    want.push(("held", count(conn, t, "status = 'held'", &[])));
    want.push((
        "late",
        count(
            conn,
            t,
            "status != 'held' AND (late = 1 OR batch IS NULL)",
            &[],
        ),
    ));
    want.push((
        "bounce",
        scalar(
            "SELECT count(*) FROM messages WHERE skipped = 'bounce'
               AND coalesce(arrived_at, created_at) <= ?1 AND ?2 = ?2",
            "",
        ),
    ));
    want.push((
        "undelivered",
        scalar(
            "SELECT count(*) FROM outbox WHERE state IN ('failed', 'unknown')
               AND created_at <= ?1 AND ?2 = ?2",
            "",
        ),
    ));
    let got: Vec<(&str, usize)> = d.pending.groups.iter().map(|g| (g.key, g.count)).collect();
    let nonzero: Vec<(&str, usize)> = want.iter().copied().filter(|(_, n)| *n > 0).collect();
    assert_eq!(got, nonzero, "待人工处理 by kind, in order");
    assert_eq!(d.pending.count, want.iter().map(|(_, n)| n).sum::<usize>());
    assert_eq!(d.pending.all.len(), d.pending.count);
    // Late entries are named with their receipts; held ones too.
    for (key, filter) in [
        ("late", "status != 'held' AND (late = 1 OR batch IS NULL)"),
        ("held", "status = 'held'"),
    ] {
        let mut receipts = strings(conn, t, &format!("SELECT receipt FROM cur WHERE {filter}"));
        receipts.sort();
        let mut shown: Vec<String> = d
            .pending
            .all
            .iter()
            .filter(|i| i.key == key)
            .map(|i| {
                assert!(!i.name.is_empty(), "{key} item without a name");
                i.receipt.clone()
            })
            .collect();
        shown.sort();
        assert_eq!(shown, receipts, "{key}");
    }
    // Ages are whole days up to the report's moment.
    let as_of = DateTime::parse_from_rfc3339(t).unwrap();
    for i in &d.pending.all {
        assert!(i.age_days >= 0, "{i:?}");
        if let Some(since) = i.since_local {
            let since = chrono_tz::Asia::Shanghai
                .from_local_datetime(&since)
                .unwrap();
            assert_eq!(
                i.age_days,
                (as_of - since.fixed_offset()).num_days(),
                "{i:?}"
            );
        }
    }
}

/// Time passed, the pace still needed, and the weekly series, from the notice's dates.
fn check_schedule(conn: &Connection, d: &ReportData, as_of: DateTime<Utc>) {
    let tz = chrono_tz::Asia::Shanghai;
    let opens = NaiveDate::from_ymd_opt(2021, 10, 1).unwrap();
    let closes = NaiveDate::from_ymd_opt(2022, 12, 31).unwrap();
    let today = as_of.with_timezone(&tz).date_naive();
    let total = (closes - opens).num_days() + 1;
    let passed = (today - opens).num_days().clamp(0, total);
    assert_eq!(d.calendar.days_total, total);
    assert_eq!(d.calendar.days_passed, passed);
    assert_eq!(
        d.calendar.pct_text,
        format!("{:.1}%", passed as f64 * 100.0 / total as f64)
    );
    let weeks_left = (total - passed + 6) / 7;
    for k in &d.kinds {
        let remaining = (k.target as i64 - k.valid as i64).max(0);
        let pace = (weeks_left > 0).then(|| ((remaining + weeks_left - 1) / weeks_left) as u32);
        assert_eq!(k.pace, pace, "{}", k.key);
        let expected = (k.target as f64 * passed as f64 / total as f64).round() as u32;
        assert_eq!(k.expected, expected, "{}", k.key);
    }
    // Valid entries per week by the day they came in (Beijing time), the first week taking
    // earlier days and the last later ones.
    let w = &d.weeks.weeks;
    assert_eq!(w.len() as i64, (total + 6) / 7);
    let t = stamp(as_of);
    for (i, week) in w.iter().enumerate() {
        let from = if i == 0 {
            "0000-01-01".to_string()
        } else {
            week.start.to_string()
        };
        let to = if i + 1 == w.len() {
            "9999-12-31".to_string()
        } else {
            (week.start + Duration::days(6)).to_string()
        };
        let n = count(
            conn,
            &t,
            "status = 'valid'
             AND date(coalesce(arrived_at, created_at), '+8 hours') BETWEEN ?2 AND ?3",
            &[&from, &to],
        );
        assert_eq!(week.new_valid, n, "week of {}", week.start);
    }
    if today >= opens && today <= closes {
        let current: Vec<&lndx::report::progress::Week> = w.iter().filter(|x| x.current).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].cumulative, Some(d.totals.valid));
        assert!(w
            .iter()
            .filter(|x| x.future)
            .all(|x| x.cumulative.is_none()));
    }
    // Each batch whose deadline has passed is said to be closed.
    let deadlines = [(2021, 10, 31), (2022, 5, 31), (2022, 9, 15)];
    for (head, (y, m, dd)) in d.batch_heads.iter().zip(deadlines) {
        let closed = NaiveDate::from_ymd_opt(y, m, dd).unwrap() < today;
        assert_eq!(head.closed, closed, "{}", head.label);
        assert_eq!(head.note.contains("已截止"), closed, "{}", head.note);
    }
}

/// Entries awaiting correction, grouped by province, with their sender and reply.
fn check_corrections(conn: &Connection, d: &ReportData, t: &str) {
    let shown: usize = d.corrections.iter().map(|g| g.rows.len()).sum();
    assert_eq!(shown + d.corrections_more, d.invalid.count);
    for g in &d.corrections {
        assert_eq!(g.count, g.rows.len());
        for e in &g.rows {
            assert_eq!(e.province_name, g.province_name);
            let (sender, replied): (String, Option<String>) = conn
                .query_row(
                    "SELECT m.sender, (SELECT min(coalesce(o.sent_at, o.created_at)) FROM outbox o
                                       WHERE o.message = m.id AND o.purpose = 'reply')
                     FROM entries e JOIN messages m ON m.id = e.message WHERE e.receipt = ?1",
                    [&e.receipt],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(e.sender, sender);
            let replied = replied.filter(|r| r.as_str() <= t);
            assert_eq!(e.reply_days.is_some(), replied.is_some(), "{}", e.receipt);
        }
    }
}

/// Days to the next deadline, computed here from the notice's dates.
fn expected_days(as_of: DateTime<Utc>) -> Option<i64> {
    let today = as_of.with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
    [(2021, 10, 31), (2022, 5, 31), (2022, 9, 15)]
        .iter()
        .map(|(y, m, d)| NaiveDate::from_ymd_opt(*y, *m, *d).unwrap())
        .find(|d| *d >= today)
        .map(|d| (d - today).num_days())
}

fn sheet(wb: &mut Xlsx<Cursor<Vec<u8>>>, name: &str) -> Vec<Vec<Data>> {
    let range = wb.worksheet_range(name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn num(c: &Data) -> usize {
    match c {
        Data::Float(f) => *f as usize,
        Data::Int(i) => *i as usize,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(c: &Data) -> String {
    match c {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// The workbook agrees with the data (which agrees with SQL), prints, and has its chart.
fn check_workbook(bytes: Vec<u8>, d: &ReportData) {
    check_print_setup(&bytes);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        vec!["总览", "进度", "按省份", "按批次", "明细", "待处理来信"]
    );

    let overview = sheet(&mut wb, "总览");
    assert!(
        matches!(overview[1][1], Data::DateTime(_)),
        "the moment is a date: {:?}",
        overview[1]
    );
    for k in &d.kinds {
        let row = overview
            .iter()
            .find(|r| text(&r[0]) == k.name)
            .expect("kind row");
        assert_eq!(num(&row[1]), k.target as usize);
        assert_eq!(num(&row[2]), k.valid);
        assert_eq!(num(&row[4]), k.expected as usize);
        assert_eq!(row[5] == Data::Empty, k.pace.is_none());
        assert_eq!(num(&row[6]), k.invalid);
    }
    let total = overview.iter().find(|r| text(&r[0]) == "合计").unwrap();
    assert_eq!(num(&total[2]), d.totals.valid);
    let pending = overview
        .iter()
        .find(|r| text(&r[0]) == "待人工处理")
        .unwrap();
    assert_eq!(num(&pending[1]), d.pending.count);

    let weeks = sheet(&mut wb, "进度");
    assert_eq!(weeks.len(), 1 + d.weeks.weeks.len());
    for (row, w) in weeks[1..].iter().zip(&d.weeks.weeks) {
        assert!(matches!(row[0], Data::DateTime(_)), "{:?}", row[0]);
        assert_eq!(num(&row[1]), w.new_valid);
        match w.cumulative {
            Some(n) => assert_eq!(num(&row[2]), n),
            None => assert_eq!(row[2], Data::Empty),
        }
    }
    let new: usize = weeks[1..].iter().map(|r| num(&r[1])).sum();
    assert_eq!(new, d.totals.valid);

    let by_prov = sheet(&mut wb, "按省份");
    assert_eq!(by_prov.len(), 1 + 33);
    assert!(text(&by_prov[0][8]).starts_with("第一批"));
    for (row, p) in by_prov[1..].iter().zip(&d.provinces) {
        assert_eq!(text(&row[0]), p.code);
        for i in 0..3 {
            assert_eq!(num(&row[2 + i]), p.cells[i].valid, "{}", p.code);
        }
        assert_eq!(num(&row[5]), p.valid);
        assert_eq!(num(&row[6]), p.invalid);
        assert_eq!(row[7], Data::Float(p.change as f64));
        for (i, c) in p.by_batch.iter().enumerate() {
            assert_eq!(num(&row[8 + i]), c.valid, "{}", p.code);
        }
        assert_eq!(text(&row[12]), p.situation);
    }

    let by_batch = sheet(&mut wb, "按批次");
    assert_eq!(by_batch.len(), 1 + d.batches.len());
    for (row, b) in by_batch[1..].iter().zip(&d.batches) {
        assert_eq!(text(&row[0]), b.label);
        assert_eq!(num(&row[4]), b.valid);
        assert_eq!(num(&row[5]), b.invalid);
        assert_eq!(text(&row[6]), b.note);
    }

    let detail = sheet(&mut wb, "明细");
    assert_eq!(
        detail[0][..8].iter().map(text).collect::<Vec<_>>(),
        [
            "回执号",
            "省份",
            "批次",
            "类型",
            "名称",
            "申报单位",
            "状态",
            "问题代码"
        ]
    );
    assert_eq!(
        detail[0][8..].iter().map(text).collect::<Vec<_>>(),
        [
            "问题说明",
            "提示",
            "负责人及联系人",
            "发件人",
            "文件",
            "涉及场景",
            "到达时间",
            "回复时间",
            "版本"
        ]
    );
    assert_eq!(detail.len(), 1 + d.entries.len());
    for (row, e) in detail[1..].iter().zip(&d.entries) {
        assert_eq!(text(&row[0]), e.receipt);
        assert_eq!(text(&row[1]), e.province_name);
        assert_eq!(text(&row[3]), e.kind_name);
        assert_eq!(text(&row[4]), e.name);
        assert_eq!(text(&row[6]), e.status_name);
        assert_eq!(text(&row[7]), e.codes);
        assert_eq!(text(&row[9]), e.warnings.join("\n"));
        assert_eq!(text(&row[10]), e.people.join("\n"));
        assert_eq!(text(&row[11]), e.sender);
        assert_eq!(text(&row[12]), e.filename);
        assert_eq!(
            matches!(row[14], Data::DateTime(_)),
            e.arrived_local.is_some(),
            "{}: {:?}",
            e.receipt,
            row[14]
        );
    }
    let valid_rows = detail[1..].iter().filter(|r| text(&r[6]) == "有效").count();
    assert_eq!(valid_rows, d.totals.valid);

    let pending = sheet(&mut wb, "待处理来信");
    assert_eq!(pending.len(), 1 + d.pending.count);
    for (row, i) in pending[1..].iter().zip(&d.pending.all) {
        assert_eq!(num(&row[9]), i.age_days as usize);
        assert_eq!(text(&row[5]), i.receipt);
        assert!(!text(&row[0]).is_empty() && !text(&row[10]).is_empty());
    }
}

/// Every sheet prints A4 landscape, one page wide, its header rows repeated; the progress
/// sheet carries a native chart (columns and a line).
fn check_print_setup(bytes: &[u8]) {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut part = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut s).unwrap();
        s
    };
    for n in 1..=6 {
        let ws = part(&format!("xl/worksheets/sheet{n}.xml"));
        assert!(ws.contains(r#"<pageSetUpPr fitToPage="1"/>"#), "sheet {n}");
        assert!(ws.contains(r#"paperSize="9""#), "sheet {n}");
        assert!(ws.contains(r#"orientation="landscape""#), "sheet {n}");
        assert!(
            !ws.contains(r#"fitToWidth="0""#),
            "sheet {n}: one page wide"
        );
    }
    let book = part("xl/workbook.xml");
    assert_eq!(book.matches("_xlnm.Print_Titles").count(), 6, "{book}");
    let chart = part("xl/charts/chart1.xml");
    assert!(chart.contains("<c:barChart>") && chart.contains("<c:lineChart>"));
    assert!(chart.contains("<c:dateAx>"));
}

#[test]
fn report_numbers_agree_with_sql_over_the_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    rules_in(tmp);
    let files = sample_files();
    assert!(files.len() >= 20);
    // "As of" counts by arrival time (the time that decides the batch). The invalid Xinjiang
    // project (P09a) arrived on 2021-10-22 and its correction (P09b) on 2021-10-27: a report
    // as of the moment in between must not see what arrived later, and must count P09a as
    // current although P09b replaces it afterwards.
    let results = ingest(tmp, &files);
    let middle = Utc.with_ymd_and_hms(2021, 10, 25, 0, 0, 0).unwrap();
    let end = after_now();

    let app = app(tmp, None);
    let reporter = app.reporter().unwrap();
    let reg = app.registry().unwrap();
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();

    // A duplicate creates no entry: P08b repeats P08a's bytes.
    let dup = results
        .iter()
        .find(|r| {
            r["attachments"].as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["warnings"]
                        .as_array()
                        .is_some_and(|w| w.iter().any(|w| w["code"] == "duplicate"))
                })
            })
        })
        .expect("a duplicate among the samples");
    let dup_entries: i64 = conn
        .query_row(
            "SELECT count(*) FROM entries e JOIN messages m ON m.id = e.message
             WHERE m.message_id = ?1",
            [dup["message_id"].as_str().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dup_entries, 0, "a duplicate must not create an entry");

    for (as_of, label) in [(middle, "middle"), (end, "end")] {
        let d = reporter.data(&reg, as_of).unwrap();
        check_numbers(&conn, &d, as_of, as_of - Duration::days(7));
        assert_eq!(d.deadline.days, expected_days(as_of), "{label}");
        let r = reporter.render(d, None).unwrap();
        assert!(r.text.contains("北京时间"));
        assert!(r.html.contains("数据截至"));
        check_workbook(r.xlsx.clone(), &r.data);
    }

    // The moment in between: the corrected Xinjiang project is not there yet.
    let mid = reporter.data(&reg, middle).unwrap();
    let xj = mid.provinces.iter().find(|p| p.code == "XJ").unwrap();
    assert_eq!((xj.valid, xj.invalid), (0, 1));
    let fin = reporter.data(&reg, end).unwrap();
    let xj = fin.provinces.iter().find(|p| p.code == "XJ").unwrap();
    assert_eq!((xj.valid, xj.invalid), (1, 0));
    assert!(fin.totals.valid > mid.totals.valid);
    // Held entries count nowhere.
    assert_eq!(fin.totals.held, 1);
    let in_provinces: usize = fin.provinces.iter().map(|p| p.valid + p.invalid).sum();
    assert_eq!(in_provinces, fin.totals.valid + fin.totals.invalid);
    // Before anything arrived the report is empty.
    let before = reporter
        .data(&reg, Utc.with_ymd_and_hms(2021, 10, 1, 0, 0, 0).unwrap())
        .unwrap();
    assert_eq!(before.entries.len(), 0);
    assert_eq!(before.nothing_yet.len(), 33);
}

// ---------------------------------------------------------------------------------------
// A fixed registry for the snapshots, written with SQL.

struct Fixed {
    conn: Connection,
    next: i64,
}

impl Fixed {
    fn new(dir: &Path) -> Fixed {
        drop(Registry::open(dir).unwrap());
        Fixed {
            conn: Connection::open(dir.join("lndx.db")).unwrap(),
            next: 1,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn entry(
        &mut self,
        receipt: &str,
        province: Option<&str>,
        batch: Option<u8>,
        kind: &str,
        name: &str,
        status: &str,
        errors: &str,
        themes: &str,
        created: &str,
        supersedes: Option<i64>,
    ) -> i64 {
        let id = self.next;
        self.next += 1;
        let c = &self.conn;
        c.execute(
            "INSERT INTO messages (id, sha256, raw_path, size, source, arrived_at, sender, subject,
                province, batch, state, created_at)
             VALUES (?1, ?2, 'raw/x', 1, 'file', ?3, ?4, ?5, ?6, ?7, 'filed', ?3)",
            params![
                id,
                format!("m{id}"),
                created,
                format!("sender{id}@example.test"),
                format!("申报 {name}"),
                province,
                batch
            ],
        )
        .unwrap();
        c.execute(
            "INSERT INTO files (id, message, seq, filename, sha256, size, file_type, role, kind)
             VALUES (?1, ?1, 0, ?2, ?3, 1, 'docx', 'form', ?4)",
            params![id, format!("{name}.docx"), format!("f{id}"), kind],
        )
        .unwrap();
        let version = match supersedes {
            Some(old) => c
                .query_row(
                    "SELECT version + 1 FROM entries WHERE id = ?1",
                    [old],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap(),
            None => 1,
        };
        let key = match supersedes {
            Some(old) => c
                .query_row("SELECT entry_key FROM entries WHERE id = ?1", [old], |r| {
                    r.get::<_, String>(0)
                })
                .unwrap(),
            None => format!("{}|{kind}|{name}", province.unwrap_or("XX")),
        };
        c.execute(
            "INSERT INTO entries (id, receipt, entry_key, version, supersedes, message, file,
                file_sha256, province, batch, late, kind, name, unit, status, fields, errors,
                warnings, themes, arrived_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?1, ?1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '{}', ?14,
                '[]', ?15, ?16, ?16)",
            params![
                id,
                receipt,
                key,
                version,
                supersedes,
                format!("f{id}"),
                province,
                batch,
                batch.is_none() as i64,
                kind,
                name,
                format!("{}开放大学", province.unwrap_or("某")),
                status,
                errors,
                themes,
                created
            ],
        )
        .unwrap();
        if let Some(old) = supersedes {
            c.execute(
                "UPDATE entries SET superseded_by = ?1 WHERE id = ?2",
                params![id, old],
            )
            .unwrap();
        }
        self.reply(id, created);
        id
    }

    /// The reply to a message, sent two seconds after it arrived, under the Message-ID
    /// `<lndx.reply.ID@ouchn.test>`.
    fn reply(&self, message: i64, arrived: &str) {
        let at =
            stamp(DateTime::parse_from_rfc3339(arrived).unwrap().to_utc() + Duration::seconds(2));
        self.conn
            .execute(
                "INSERT INTO outbox (message, purpose, message_id, envelope_from, recipients, body,
                    state, next_attempt_at, created_at, sent_at)
                 VALUES (?1, 'reply', ?2, 'lndx@ouchn.test',
                    (SELECT json_array(sender) FROM messages WHERE id = ?1), x'00', 'sent', ?3, ?3, ?3)",
                params![message, format!("<lndx.reply.{message}@ouchn.test>"), at],
            )
            .unwrap();
    }

    /// A message that filed no entry: `errors` are its result's message-level findings.
    #[allow(clippy::too_many_arguments)]
    fn message(
        &mut self,
        arrived: &str,
        sender: &str,
        subject: &str,
        province: Option<&str>,
        skipped: Option<&str>,
        state: &str,
        errors: &str,
    ) -> i64 {
        let id = self.next;
        self.next += 1;
        let result = (state == "filed").then(|| format!(r#"{{"errors":{errors},"warnings":[]}}"#));
        self.conn
            .execute(
                "INSERT INTO messages (id, sha256, raw_path, size, source, arrived_at, sender,
                    subject, province, skipped, state, result, created_at)
                 VALUES (?1, 'm' || ?1, 'raw/m' || ?1 || '.eml', 1, 'file', ?2, ?3, ?4, ?5, ?6,
                    ?7, ?8, ?2)",
                params![id, arrived, sender, subject, province, skipped, state, result],
            )
            .unwrap();
        if state == "filed" && skipped.is_none() {
            self.reply(id, arrived);
        }
        id
    }

    /// A file of a message that filed nothing from it, with its findings.
    fn file(&mut self, message: i64, filename: &str, errors: &str) {
        let id = self.next;
        self.next += 1;
        self.conn
            .execute(
                "INSERT INTO files (id, message, seq, filename, sha256, size, file_type, role, errors)
                 VALUES (?1, ?2, 1, ?3, 'f' || ?1, 1, 'unknown', 'unknown', ?4)",
                params![id, message, filename, errors],
            )
            .unwrap();
    }

    fn set_sender(&self, message: i64, sender: &str) {
        self.conn
            .execute(
                "UPDATE messages SET sender = ?2 WHERE id = ?1",
                params![message, sender],
            )
            .unwrap();
    }

    /// The reply to a message did not go out: `failed`, or `unknown` (lost after the data).
    fn undelivered(&self, message: i64, state: &str, error: &str) {
        self.conn
            .execute(
                "UPDATE outbox SET state = ?2, last_error = ?3, sent_at = NULL WHERE message = ?1",
                params![message, state, error],
            )
            .unwrap();
    }
}

const TOO_LONG: &str =
    r#"[{"code":"too_long","field":"practice","label":"主要做法","limit":1500,"actual":1622}]"#;
const PHONE: &str = r#"[{"code":"missing_field","field":"teacher","label":"授课人"},{"code":"invalid_phone","field":"contact_phone","label":"联系电话","value":"66171235"}]"#;

fn fixed_registry(dir: &Path) {
    let mut f = Fixed::new(dir);
    let all = r#"["出行","就医","消费","文娱","办事"]"#;
    f.entry(
        "ZHZL-2021-B1-GD-C-0001",
        Some("GD"),
        Some(1),
        "case",
        "银龄e路通",
        "valid",
        "[]",
        all,
        "2021-10-26T02:12:37.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B1-ZJ-P-0001",
        Some("ZJ"),
        Some(1),
        "project",
        "银龄跨越数字鸿沟",
        "valid",
        "[]",
        r#"["出行","就医"]"#,
        "2021-10-29T08:40:05.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B1-ZJ-R-0001",
        Some("ZJ"),
        Some(1),
        "course",
        "跟我学用智能手机",
        "valid",
        "[]",
        all,
        "2021-10-29T08:40:05.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B1-BJ-P-0001",
        Some("BJ"),
        Some(1),
        "project",
        "京老e学",
        "invalid",
        PHONE,
        r#"["办事"]"#,
        "2021-10-20T03:03:52.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B1-BJ-P-0002",
        Some("BJ"),
        Some(1),
        "project",
        "夕阳红广场舞",
        "valid",
        "[]",
        "[]",
        "2021-10-20T03:03:52.000Z",
        None,
    );
    let old = f.entry("ZHZL-2021-B1-XJ-P-0001", Some("XJ"), Some(1), "project", "天山银龄", "invalid", r#"[{"code":"invalid_phone","field":"leader_phone","label":"联系电话","value":"0991-52345"}]"#, r#"["出行"]"#, "2021-10-22T04:40:18.000Z", None);
    f.entry(
        "ZHZL-2021-B1-XJ-P-0002",
        Some("XJ"),
        Some(1),
        "project",
        "天山银龄",
        "valid",
        "[]",
        r#"["出行"]"#,
        "2022-05-25T04:40:18.000Z",
        Some(old),
    );
    f.entry(
        "ZHZL-2021-B2-SC-C-0001",
        Some("SC"),
        Some(2),
        "case",
        "川流不息",
        "invalid",
        TOO_LONG,
        all,
        "2022-05-20T07:22:10.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B2-SD-R-0001",
        Some("SD"),
        Some(2),
        "course",
        "齐鲁银龄课堂",
        "valid",
        "[]",
        r#"["就医","消费"]"#,
        "2022-05-27T01:05:44.000Z",
        None,
    );
    f.entry(
        "ZHZL-2021-B2-XX-R-0001",
        None,
        Some(2),
        "course",
        "无名课程",
        "held",
        "[]",
        r#"["出行"]"#,
        "2022-05-28T07:08:47.000Z",
        None,
    );
    // After the report's time: not counted.
    f.entry(
        "ZHZL-2021-B2-CQ-R-0001",
        Some("CQ"),
        Some(2),
        "course",
        "山城慢课",
        "valid",
        "[]",
        r#"["出行"]"#,
        "2022-05-30T02:00:00.000Z",
        None,
    );
    needs_a_person(&mut f, dir);
}

/// What needs a person in the fixed registry: a link instead of a form, a message without
/// one (and another whose sender later filed an entry: done), an encrypted file, a message
/// too large, one that crashed, a bounce of one of our replies, two replies not delivered.
fn needs_a_person(f: &mut Fixed, dir: &Path) {
    let link = r#"[{"code":"link_attachment"}]"#;
    let nothing = r#"[{"code":"no_attachment"}]"#;
    f.message(
        "2022-05-10T02:00:00.000Z",
        "xujing@ah.test",
        "安徽省推荐材料（超大附件）",
        Some("AH"),
        None,
        "filed",
        link,
    );
    f.message(
        "2022-05-26T00:56:30.000Z",
        "liqiang@tj.test",
        "天津市第二批推荐材料",
        Some("TJ"),
        None,
        "filed",
        nothing,
    );
    // Shandong wrote without a form, then sent its course (entry 9): nothing left to do.
    f.set_sender(9, "yuyang@sd.test");
    f.message(
        "2022-05-21T01:00:00.000Z",
        "yuyang@sd.test",
        "山东省推荐材料",
        Some("SD"),
        None,
        "filed",
        nothing,
    );
    // A file of Sichuan's message (entry 8) had a password.
    f.file(
        8,
        "四川-课程资源.docx",
        r#"[{"code":"encrypted_document"}]"#,
    );
    let big = r#"[{"code":"too_large","limit":52428800,"actual":61234567}]"#;
    f.message(
        "2022-05-29T00:00:00.000Z",
        "longxy@gz.test",
        "贵州省推荐材料（视频）",
        Some("GZ"),
        None,
        "filed",
        big,
    );
    f.message(
        "2022-05-29T03:00:00.000Z",
        "someone@example.test",
        "报送材料",
        None,
        None,
        "quarantined",
        "[]",
    );
    // A bounce that carries the headers of our reply to Beijing's message (entry 4).
    let bounce = f.message(
        "2022-05-21T04:00:00.000Z",
        "MAILER-DAEMON@mail.bj.test",
        "Undelivered Mail Returned to Sender",
        None,
        Some("bounce"),
        "filed",
        "[]",
    );
    let raw = format!("raw/m{bounce}.eml");
    std::fs::create_dir_all(dir.join("raw")).unwrap();
    std::fs::write(
        dir.join(raw),
        "From: MAILER-DAEMON@mail.bj.test\r\nSubject: Undelivered Mail Returned to Sender\r\n\r\n\
         <liuxy@bj.test>: User unknown\r\n\r\nMessage-ID: <lndx.reply.4@ouchn.test>\r\n",
    )
    .unwrap();
    f.undelivered(
        2,
        "failed",
        "550 5.1.1 <shenjiayi@zj.test>: Recipient address rejected",
    );
    f.undelivered(7, "unknown", "connection lost after DATA");
}

fn fixed_reporter(tmp: &Path) -> (Reporter, Registry) {
    let rules = rules_in(tmp);
    let data = tmp.join("data");
    fixed_registry(&data);
    let campaign = lndx::campaign::Campaign::load(&rules).unwrap();
    let sender = lndx::report::Sender {
        address: "lndx@ouchn.test".into(),
        name: "智慧助老申报收件".into(),
        loop_header: "X-Lndx-Loop".into(),
        to: vec!["wangli@moe.test".into()],
        cc: vec!["xie@ouchn.test".into()],
    };
    let reporter =
        Reporter::from_parts(campaign, Some(repo().join("templates").as_path()), sender).unwrap();
    (reporter, Registry::open(&data).unwrap())
}

fn fixed_time() -> DateTime<Utc> {
    // Monday 2022-05-30 09:00 Beijing time.
    Utc.with_ymd_and_hms(2022, 5, 30, 1, 0, 0).unwrap()
}

#[test]
fn fixed_registry_numbers_and_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    let (reporter, reg) = fixed_reporter(tmp.path());
    let d = reporter.data(&reg, fixed_time()).unwrap();
    let conn = Connection::open(tmp.path().join("data/lndx.db")).unwrap();
    check_numbers(&conn, &d, fixed_time(), fixed_time() - Duration::days(7));
    assert_eq!(d.as_of, "2022年05月30日 09:00 北京时间");
    assert_eq!(d.totals.valid, 6);
    assert_eq!(d.totals.invalid, 2);
    assert_eq!(d.totals.held, 1);
    assert_eq!(d.new_since.count, 3);
    assert_eq!(d.new_since.replacements, 1);
    assert_eq!(d.deadline.days, Some(1));
    // Six provinces filed entries; Anhui, Tianjin and Guizhou wrote without one.
    assert_eq!(d.nothing_yet.len(), 33 - 9);
    assert_eq!(d.no_valid_yet, ["天津市", "安徽省", "四川省", "贵州省"]);
    let kinds: Vec<(&str, usize)> = d.pending.groups.iter().map(|g| (g.key, g.count)).collect();
    assert_eq!(
        kinds,
        [
            ("link_attachment", 1),
            ("no_attachment", 1),
            ("encrypted_document", 1),
            ("too_large", 1),
            ("quarantined", 1),
            ("held", 1),
            ("bounce", 1),
            ("undelivered", 2)
        ]
    );
    let bounce = &d.pending.groups[6].rows[0];
    assert_eq!(bounce.receipt, "ZHZL-2021-B1-BJ-P-0001");
    assert!(
        bounce.detail.contains("sender4@example.test"),
        "{}",
        bounce.detail
    );
    assert!(d.nothing_yet.contains(&"重庆市".to_string()));
    let r = reporter.render(d, None).unwrap();
    assert_eq!(r.filename, "智慧助老推介工作进度周报_2022-05-30.xlsx");
    assert!(!r.html.contains("<script"));
    assert!(!r.html.contains("src=\"http"));
    check_workbook(r.xlsx.clone(), &r.data);
    insta::assert_snapshot!("report_text", r.text);
    insta::assert_snapshot!("report_html", r.html);

    // Rendering is deterministic.
    let again = reporter
        .render(reporter.data(&reg, fixed_time()).unwrap(), None)
        .unwrap();
    assert_eq!(again.text, r.text);
    assert_eq!(again.html, r.html);
}

#[test]
fn report_mail_is_auto_generated_with_a_chinese_attachment_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (reporter, reg) = fixed_reporter(tmp.path());
    let r = reporter.build(&reg, fixed_time(), None).unwrap();
    let (id, bytes) = reporter
        .compose(&r, &reporter.sender.to, &reporter.sender.cc)
        .unwrap();
    let s = String::from_utf8_lossy(&bytes);
    assert!(s.contains("Auto-Submitted: auto-generated"));
    assert!(!s.contains("auto-replied"));
    assert!(s.contains("From: "));
    assert!(s.contains("lndx@ouchn.test"));
    assert!(s.contains("To: wangli@moe.test"));
    assert!(s.contains("Cc: xie@ouchn.test"));
    assert!(s.contains(&format!("Message-ID: {id}")));
    assert!(s.contains("X-Lndx-Loop: lndx@ouchn.test"));
    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let names: Vec<String> = parsed
        .attachments()
        .filter_map(|a| a.attachment_name().map(|n| n.to_string()))
        .collect();
    assert_eq!(names, vec!["智慧助老推介工作进度周报_2022-05-30.xlsx"]);
    assert!(s.contains("name=\"=?UTF-8?B?"));
    assert!(s.contains("filename*"));
}

// ---------------------------------------------------------------------------------------
// The scheduler, with an injected clock.

fn scheduler_setup(tmp: &Path) -> (PathBuf, Arc<AtomicI64>) {
    rules_in(tmp);
    let cfg = tmp.join("lndx.toml");
    std::fs::write(
        &cfg,
        r#"
[identity]
address = "lndx@ouchn.test"

[report]
schedule = "0 0 9 * * Mon"
timezone = "Asia/Shanghai"
to = ["wangli@moe.test"]
cc = ["xie@ouchn.test", "wen@ouchn.test"]
"#,
    )
    .unwrap();
    (cfg, Arc::new(AtomicI64::new(0)))
}

fn scheduler(tmp: &Path, cfg: &Path, clock: &Arc<AtomicI64>) -> Scheduler {
    let c = clock.clone();
    app(tmp, Some(cfg))
        .scheduler(Box::new(move || {
            Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap()
        }))
        .unwrap()
}

fn beijing(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, m, d, h, mi, s)
        .unwrap()
        .timestamp()
}

fn report_rows(tmp: &Path) -> Vec<(i64, String, String)> {
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    let mut st = conn
        .prepare("SELECT id, recipients, state FROM outbox WHERE purpose = 'report' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
}

#[test]
fn a_slot_passing_queues_exactly_one_report() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let (cfg, clock) = scheduler_setup(tmp);
    let mut s = scheduler(tmp, &cfg, &clock);
    // 2022-05-30 is a Monday; the slot is 09:00 Beijing time = 01:00 UTC.
    clock.store(beijing(2022, 5, 30, 8, 59, 58), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    clock.store(beijing(2022, 5, 30, 8, 59, 59), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    assert!(report_rows(tmp).is_empty());
    clock.store(beijing(2022, 5, 30, 9, 0, 0), Ordering::SeqCst);
    let t = s.tick().unwrap();
    let Tick::Queued { slot, outbox } = t else {
        panic!("expected a report, got {t:?}")
    };
    assert_eq!(slot, "2022-05-30T01:00:00Z");
    // Called again, in the same second and later: nothing more.
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    clock.store(beijing(2022, 5, 30, 9, 0, 1), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    clock.store(beijing(2022, 6, 1, 12, 0, 0), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    let rows = report_rows(tmp);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, outbox);
    let rcpts: Vec<String> = serde_json::from_str(&rows[0].1).unwrap();
    assert_eq!(
        rcpts,
        ["wangli@moe.test", "xie@ouchn.test", "wen@ouchn.test"]
    );
    // The slot row points at the queued mail, and the mail is as of the slot.
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    let (ob, body): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT s.outbox, o.body FROM report_slots s JOIN outbox o ON o.id = s.outbox
             WHERE s.slot = '2022-05-30T01:00:00Z'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(ob, outbox);
    let parsed = mail_parser::MessageParser::default().parse(&body).unwrap();
    assert!(parsed
        .body_text(0)
        .unwrap()
        .contains("数据截至 2022年05月30日 09:00 北京时间"));
    assert!(!parsed.body_text(0).unwrap().contains("补发"));

    // A second scheduler on the same registry (another process) sends nothing either.
    let mut other = scheduler(tmp, &cfg, &clock);
    clock.store(beijing(2022, 5, 30, 9, 0, 0), Ordering::SeqCst);
    assert_eq!(other.tick().unwrap(), Tick::Idle);
    assert_eq!(report_rows(tmp).len(), 1);

    // The queued report goes out through the outbox, logged per recipient.
    let reg = Registry::open(&tmp.join("data")).unwrap();
    let transport = lndx::outbox::Transport::Folder(tmp.join("sent"));
    let pass = lndx::app::block_on(lndx::outbox::deliver_due(&reg, &transport, 100)).unwrap();
    assert_eq!(pass.sent, 1);
    let logged: i64 = conn
        .query_row(
            "SELECT count(*) FROM deliveries WHERE outbox = ?1 AND outcome = 'sent'",
            [outbox],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(logged, 3);
}

#[test]
fn down_across_a_slot_sends_one_late_report() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let (cfg, clock) = scheduler_setup(tmp);
    {
        // Running on Sunday; the slot before the first run is not sent.
        let mut s = scheduler(tmp, &cfg, &clock);
        clock.store(beijing(2022, 5, 29, 20, 0, 0), Ordering::SeqCst);
        assert_eq!(s.tick().unwrap(), Tick::Idle);
        assert!(report_rows(tmp).is_empty());
    }
    // Down over Monday 09:00; back on Tuesday.
    let mut s = scheduler(tmp, &cfg, &clock);
    clock.store(beijing(2022, 5, 31, 10, 30, 0), Ordering::SeqCst);
    let t = s.tick().unwrap();
    let Tick::Queued { slot, .. } = t else {
        panic!("expected a late report, got {t:?}")
    };
    assert_eq!(slot, "2022-05-30T01:00:00Z");
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    clock.store(beijing(2022, 5, 31, 10, 30, 5), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    assert_eq!(report_rows(tmp).len(), 1);
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    let body: Vec<u8> = conn
        .query_row(
            "SELECT body FROM outbox WHERE purpose = 'report'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&body).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("补发"), "{text}");
    assert!(text.contains("数据截至 2022年05月30日 09:00 北京时间"));
}

#[test]
fn two_missed_slots_send_one_report() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let (cfg, clock) = scheduler_setup(tmp);
    let mut s = scheduler(tmp, &cfg, &clock);
    clock.store(beijing(2022, 5, 27, 12, 0, 0), Ordering::SeqCst);
    assert_eq!(s.tick().unwrap(), Tick::Idle);
    drop(s);
    // Down from Friday 27 May to Tuesday 7 June: the slots of 30 May and 6 June passed.
    let mut s = scheduler(tmp, &cfg, &clock);
    clock.store(beijing(2022, 6, 7, 8, 0, 0), Ordering::SeqCst);
    let t = s.tick().unwrap();
    assert_eq!(
        t,
        Tick::Queued {
            slot: "2022-06-06T01:00:00Z".into(),
            outbox: report_rows(tmp)[0].0
        }
    );
    for secs in [0, 1, 3600] {
        clock.store(beijing(2022, 6, 7, 8, 0, 0) + secs, Ordering::SeqCst);
        assert_eq!(s.tick().unwrap(), Tick::Idle);
    }
    assert_eq!(report_rows(tmp).len(), 1);
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    let missed: i64 = conn
        .query_row(
            "SELECT count(*) FROM report_slots WHERE slot = '2022-05-30T01:00:00Z'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(missed, 0, "only the latest missed slot is handled");
    // The next on-time slot works as usual, and "new since" starts at the last report.
    clock.store(beijing(2022, 6, 13, 9, 0, 0), Ordering::SeqCst);
    assert!(matches!(s.tick().unwrap(), Tick::Queued { .. }));
    assert_eq!(report_rows(tmp).len(), 2);
    let reg = Registry::open(&tmp.join("data")).unwrap();
    let prev = lndx::report::data::previous_report(
        &reg,
        Utc.timestamp_opt(beijing(2022, 6, 13, 9, 0, 0), 0).unwrap(),
    )
    .unwrap();
    assert_eq!(
        prev,
        Some(Utc.timestamp_opt(beijing(2022, 6, 6, 9, 0, 0), 0).unwrap())
    );
}

// ---------------------------------------------------------------------------------------
// Commands: preview, send-now, export.

// The commands are these functions (src/commands/report.rs); they are called here directly
// so the test does not depend on which build last wrote the shared binary.
#[test]
fn preview_send_now_and_export_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    rules_in(tmp);
    let files = sample_files();
    ingest(tmp, &files);
    let out = tmp.join("preview");
    let plain = app(tmp, None);
    lndx::commands::report::preview(&plain, Some("2099-01-04 09:00"), &out).unwrap();
    let name = "智慧助老推介工作进度周报_2099-01-04.xlsx";
    for f in ["report.html", "report.txt", name, "report.eml"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let txt = std::fs::read_to_string(out.join("report.txt")).unwrap();
    assert!(txt.contains("数据截至 2099年01月04日 09:00 北京时间"));
    assert!(txt.contains("征集活动已于2022年12月31日结束"));
    let eml = std::fs::read(out.join("report.eml")).unwrap();
    assert!(String::from_utf8_lossy(&eml).contains("Auto-Submitted: auto-generated"));
    // A preview queues nothing.
    assert!(report_rows(tmp).is_empty());

    // send-now without recipients is refused; with them it queues, and the flush that the
    // command runs next delivers it, logged per recipient.
    assert!(lndx::commands::report::queue_now(&plain).is_err());
    let cfg = tmp.join("lndx.toml");
    std::fs::write(
        &cfg,
        "[identity]\naddress = \"lndx@ouchn.test\"\n[report]\nto = [\"wangli@moe.test\"]\ncc = [\"xie@ouchn.test\"]\n",
    )
    .unwrap();
    let configured = app(tmp, Some(&cfg));
    lndx::commands::report::queue_now(&configured).unwrap();
    let rows = report_rows(tmp);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].2, "pending");
    let reg = configured.registry().unwrap();
    let transport = configured.transport().unwrap();
    lndx::app::block_on(lndx::outbox::deliver_due(&reg, &transport, 100)).unwrap();
    let rows = report_rows(tmp);
    assert_eq!(rows[0].2, "sent");
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    let logged: Vec<String> = conn
        .prepare("SELECT recipient || ' ' || outcome FROM deliveries WHERE outbox = ?1 ORDER BY recipient")
        .unwrap()
        .query_map([rows[0].0], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap();
    assert_eq!(logged, ["wangli@moe.test sent", "xie@ouchn.test sent"]);
    // send-now claims no schedule slot.
    let slots: i64 = conn
        .query_row("SELECT count(*) FROM report_slots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(slots, 0);

    // registry export: CSV with a BOM, and .xlsx; current versions unless all versions.
    let current: usize = conn
        .query_row(
            "SELECT count(*) FROM entries WHERE superseded_by IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize;
    let all: usize = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    assert!(all > current);
    let campaign = plain.campaign().unwrap();
    let src = lndx::report::export::Source {
        reg: &reg,
        campaign: &campaign,
        templates: None,
    };
    let csv = tmp.join("e.csv");
    assert_eq!(
        lndx::report::export::csv(&src, &csv, false).unwrap(),
        current
    );
    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("回执号,"));
    // Rows start with a receipt (a quoted field may hold line breaks).
    let rows = text
        .split("\r\n")
        .filter(|l| l.starts_with("ZHZL-"))
        .count();
    assert_eq!(rows, current);
    let csv_all = tmp.join("all.csv");
    assert_eq!(
        lndx::report::export::csv(&src, &csv_all, true).unwrap(),
        all
    );
    let text = std::fs::read_to_string(&csv_all).unwrap();
    assert_eq!(
        text.split("\r\n")
            .filter(|l| l.starts_with("ZHZL-"))
            .count(),
        all
    );
    let xlsx = tmp.join("e.xlsx");
    assert_eq!(
        lndx::report::export::xlsx(&src, &xlsx, false).unwrap(),
        current
    );
    let mut wb: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let range = wb.worksheet_range("登记表").unwrap();
    assert_eq!(range.rows().count(), 1 + current);
}

// ---------------------------------------------------------------------------------------
// The sample report in a real browser, the workbook printed, the wording checked.

/// The samples filed, and their report as of Monday 2022-10-10 09:00 Beijing time (after
/// every sample arrived, the late Jilin course included).
fn sample_report(tmp: &Path) -> lndx::report::Report {
    rules_in(tmp);
    ingest(tmp, &sample_files());
    let app = app(tmp, None);
    let reporter = app.reporter().unwrap();
    let reg = app.registry().unwrap();
    let as_of = Utc
        .timestamp_opt(beijing(2022, 10, 10, 9, 0, 0), 0)
        .unwrap();
    let r = reporter.build(&reg, as_of, None).unwrap();
    let conn = Connection::open(tmp.join("data/lndx.db")).unwrap();
    check_numbers(&conn, &r.data, as_of, as_of - Duration::days(7));
    r
}

/// At 1280 and at 390 pixels no receipt number and no kind wraps, and nothing is wider
/// than the window; the screenshots are kept in target/test-artefacts/.
#[test]
fn report_html_in_a_real_browser_at_desktop_and_phone_widths() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let r = sample_report(tmp);
    let page = tmp.join("report.html");
    std::fs::write(&page, &r.html).unwrap();
    let receipts: Vec<String> = r.data.entries.iter().map(|e| e.receipt.clone()).collect();
    let kinds: Vec<String> = r
        .data
        .kinds
        .iter()
        .flat_map(|k| [k.short.clone(), k.name.clone()])
        .collect();
    // Receipts the mail body shows as such: new, awaiting correction, held, late, off theme.
    let listed = r.data.new_since.list.rows.len()
        + r.data.invalid.rows.len()
        + r.data.held.rows.len()
        + r.data.off_theme_entries.len();
    for width in [1280u32, 390] {
        let v = browser::measure(&r.html, tmp, width, &receipts, &kinds);
        assert_eq!(v.width, width as f64, "the window is {width} px wide");
        assert!(
            v.wrapped.is_empty(),
            "at {width} px these wrap: {:?}",
            v.wrapped
        );
        assert!(
            v.receipts >= listed,
            "at {width} px only {} receipts measured",
            v.receipts
        );
        assert!(
            v.kinds >= 2 * kinds.len(),
            "at {width} px only {} kinds measured",
            v.kinds
        );
        assert!(
            v.scroll_width <= v.width,
            "at {width} px the report is {} px wide",
            v.scroll_width
        );
        let png = browser::screenshot(
            tmp,
            "report.html",
            width,
            v.height.ceil() as u32,
            &format!("report-{width}.png"),
        );
        eprintln!("screenshot: {}", png.display());
    }
}

fn soffice() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("soffice"))
        .find(|p| p.is_file())
        .expect("soffice not found: install LibreOffice with scripts/install-deps.sh")
}

/// The workbook of the samples (25 entries) prints on few pages: one per small sheet, two
/// for the 66 weeks of the progress table beside its chart, the detail on one or two.
/// Before its page setup it printed on 12 (columns alone on pages).
#[test]
fn the_sample_workbook_prints_on_a_few_landscape_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let r = sample_report(tmp);
    let xlsx = tmp.join("report.xlsx");
    std::fs::write(&xlsx, &r.xlsx).unwrap();
    let profile = tmp.join("lo-profile");
    let out = Command::new(soffice())
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(tmp)
        .arg(&xlsx)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = std::fs::read(tmp.join("report.pdf")).unwrap();
    std::fs::write(browser::artefacts().join("report-print.pdf"), &pdf).unwrap();
    // Page objects: "/Type /Page" not followed by "s" (that is the page tree).
    let pages = pdf
        .windows(11)
        .enumerate()
        .filter(|(i, w)| {
            let w = String::from_utf8_lossy(w).replace(' ', "");
            w.starts_with("/Type/Page")
                && pdf.get(i + 11).is_some_and(|b| *b != b's')
                && !w.starts_with("/Type/Pages")
        })
        .count();
    assert_eq!(r.data.entries.len(), 25);
    assert!((6..=8).contains(&pages), "{pages} pages");
}

/// templates/report.toml is checked complete when loaded: a missing or unknown key, a bad
/// date format or phrase stops loading, naming the file and the line.
#[test]
fn report_wording_is_checked_naming_file_and_line() {
    use lndx::report::labels::Labels;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let src = std::fs::read_to_string(repo().join("templates/report.toml")).unwrap();
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(needle))
            .unwrap()
            + 1
    };
    let fails = |text: &str| -> String {
        std::fs::write(dir.join("report.toml"), text).unwrap();
        let e = Labels::load(Some(dir))
            .err()
            .expect("loading must fail")
            .to_string();
        assert!(
            e.contains(&dir.join("report.toml").display().to_string()),
            "{e}"
        );
        e
    };
    assert!(
        Labels::load(Some(dir)).is_ok(),
        "the built-in copy when the folder has none"
    );

    let missing = src.replace("late_batch = ", "# late_batch = ");
    let e = fails(&missing);
    assert!(
        e.contains("late_batch") && e.contains(&format!("line {}", line_of(&missing, "[labels]"))),
        "{e}"
    );

    let unknown = src.replace("[sheets]\n", "[sheets]\nsummary = \"汇总\"\n");
    let e = fails(&unknown);
    assert!(
        e.contains("summary: unknown")
            && e.contains(&format!("line {}", line_of(&unknown, "summary ="))),
        "{e}"
    );

    let format = src.replace("week = \"%m-%d\"", "week = \"%m-%Q\"");
    let e = fails(&format);
    assert!(
        e.contains("[formats] week") && e.contains(&format!("line {}", line_of(&format, "week ="))),
        "{e}"
    );

    let phrase = src.replace("campaign_over = \"", "campaign_over = \"{{#if closes}}");
    let e = fails(&phrase);
    assert!(
        e.contains("[phrases] campaign_over")
            && e.contains(&format!("line {}", line_of(&phrase, "campaign_over ="))),
        "{e}"
    );

    // The reporter `lndx run` builds at start refuses the same file.
    let campaign = lndx::campaign::Campaign::load(&repo().join("rules")).unwrap();
    let sender = lndx::report::Sender {
        address: "lndx@ouchn.test".into(),
        name: String::new(),
        loop_header: "X-Lndx-Loop".into(),
        to: vec![],
        cc: vec![],
    };
    std::fs::copy(
        repo().join("templates/findings.toml"),
        dir.join("findings.toml"),
    )
    .unwrap();
    let e = Reporter::from_parts(campaign, Some(dir), sender)
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        e.contains("report.toml") && e.contains("campaign_over"),
        "{e}"
    );
}
