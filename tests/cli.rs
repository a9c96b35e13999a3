//! The command line as operators and provincial clerks meet it: `check`'s Chinese account
//! and exit statuses, `doctor` changing nothing and naming what is wrong, `registry list`
//! filters as people type them, the log when stderr is not a terminal, `--help` for every
//! option, errors said once, and `run`'s start-up lines with the README's Maildir steps.

mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use util::{fixture, Scratch};

/// Runs lndx on a scratch folder with the given environment (and LNDX_LOG unset unless
/// given), stderr captured: not a terminal.
fn lndx_env(s: &Scratch, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lndx"));
    cmd.arg("--data-dir")
        .arg(s.data())
        .arg("--rules")
        .arg(s.rules())
        .args(args)
        .env_remove("LNDX_LOG")
        .env_remove("LNDX_LOG_FORMAT")
        .env_remove("LNDX_CONFIG")
        .env_remove("NO_COLOR")
        .current_dir(&s.dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run lndx")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn path(rel: &str) -> String {
    fixture(rel).display().to_string()
}

/// Every file and folder under `dir` (relative), to see that a command created nothing.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().to_path_buf());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// check

#[test]
fn check_says_in_chinese_what_the_reply_would_say_and_exits_0_for_a_valid_form() {
    let s = Scratch::new("cli-check-ok");
    let out = s.lndx(None, &["check", &path("forms/P02-zj-project.docx")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("报送前自查结果"), "{stdout}");
    assert!(
        stdout.contains("识别为：典型教育培训项目申报表（附件3）"),
        "{stdout}"
    );
    // The status wording of templates/findings.toml, as the receipt would show it.
    assert!(
        stdout.contains("结论：可以报送（报送后回执将显示：已受理）"),
        "{stdout}"
    );
    assert!(stdout.contains("共 1 个文件：1 个可以报送。"), "{stdout}");
    assert!(!stdout.trim_start().starts_with('{'), "not JSON: {stdout}");
    assert!(!s.data().exists(), "check opens no database");
}

#[test]
fn check_exits_1_for_a_form_with_an_error_and_words_it_as_the_reply_does() {
    let s = Scratch::new("cli-check-bad");
    let out = s.lndx(None, &["check", &path("forms/P04-sc-case.docx")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    // too_long in the wording of templates/findings.toml, with the label and the numbers.
    assert!(
        stdout.contains("✗ “主要做法”超出字数限制：限 1500 字，实际 1622 字，请删减 122 字以上。"),
        "{stdout}"
    );
    // A warning is marked as one and does not decide the exit status.
    assert!(stdout.contains("! 正文合计"), "{stdout}");
    assert!(
        stdout.contains("报送后回执将显示：已登记，需修改后重新报送"),
        "{stdout}"
    );
    // A warning alone does not make a form one to fix.
    let out = s.lndx(
        None,
        &["check", &path("forms/P05-bj-project-offtheme.docx")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("! 正文未涉及"));
}

#[test]
fn check_exits_1_for_a_file_that_is_not_a_form() {
    let s = Scratch::new("cli-check-notform");
    let out = s.lndx(
        None,
        &[
            "check",
            &path("forms/P02-zj-project.docx"),
            &path("files/P01-gd-scan.pdf"),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2. P01-gd-scan.pdf"), "{stdout}");
    assert!(stdout.contains("✗ 未识别为申报表。"), "{stdout}");
    assert!(
        stdout.contains("共 2 个文件：1 个可以报送，1 个不是申报表。"),
        "{stdout}"
    );
    // An empty file (a wrong pick, an upload cut short) is one to fix, not a supporting file.
    let empty = s.dir.join("空白.docx");
    std::fs::write(&empty, b"").unwrap();
    let out = s.lndx(None, &["check", empty.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ 文件无法打开"), "{stdout}");
    assert!(stdout.contains("1 个需修改"), "{stdout}");
}

#[test]
fn check_json_is_the_result_as_before_with_the_exit_status_of_the_forms() {
    let s = Scratch::new("cli-check-json");
    let out = s.lndx(
        None,
        &[
            "check",
            "--json",
            &path("forms/P04-sc-case.docx"),
            &path("forms/P02-zj-project.docx"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let a = v["attachments"].as_array().unwrap();
    let keys: BTreeSet<&str> = a[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "entry",
            "errors",
            "file_type",
            "filename",
            "kind",
            "role",
            "warnings"
        ])
    );
    assert_eq!(a[0]["errors"][0]["code"], "too_long");
    assert_eq!(a[1]["entry"]["status"], "valid");
    let out = s.lndx(
        None,
        &["check", "--json", &path("forms/P02-zj-project.docx")],
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn check_of_a_missing_file_exits_2_saying_it_once() {
    let s = Scratch::new("cli-check-missing");
    let missing = s.dir.join("no-such-form.docx");
    let out = s.lndx(
        None,
        &[
            "check",
            &path("forms/P02-zj-project.docx"),
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(
        err.contains("no-such-form.docx") && err.contains("文件不存在"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is checked: {}",
        text(&out.stdout)
    );
    // With --json, scripts get the same as a stable code on stdout.
    let out = s.lndx(None, &["check", "--json", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "unreadable_file");
    assert_eq!(v["error"]["reason"], "not_found");
    assert_eq!(v["error"]["path"], missing.to_str().unwrap());
}

#[test]
fn a_missing_config_files_os_error_is_said_once() {
    let s = Scratch::new("cli-config-missing");
    let out = lndx_env(&s, &[], &["--config", "/nonexistent/lndx.toml", "doctor"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot read config /nonexistent/lndx.toml"),
        "{err}"
    );
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

// ---------------------------------------------------------------------------------------
// doctor

#[test]
fn doctor_creates_nothing_and_says_where_the_database_will_be() {
    let s = Scratch::new("cli-doctor-fresh");
    let before = tree(&s.dir);
    let out = s.lndx(None, &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!s.data().exists(), "no data folder: {stdout}");
    assert_eq!(tree(&s.dir), before, "doctor created nothing");
    assert!(
        stdout.contains("ok   database:") && stdout.contains("does not exist yet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   senders: 15 registered senders"),
        "{stdout}"
    );
    // The schedule's next three times, in the campaign's zone.
    let report = stdout
        .lines()
        .find(|l| l.contains("schedule"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(report.contains("Asia/Shanghai"), "{report}");
    assert_eq!(report.matches("09:00 Mon").count(), 3, "{report}");
    assert!(
        stdout.contains("warn report: report.to names no recipient"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   http: off"), "{stdout}");
}

#[test]
fn doctor_opens_an_existing_database_without_leaving_side_files() {
    let s = Scratch::new("cli-doctor-db");
    s.ingest(None, &[fixture("eml/P02-zj-project-and-course.eml")]);
    let before = tree(&s.dir);
    assert!(!before.contains(Path::new("var/lndx.db-wal")), "{before:?}");
    let out = s.lndx(None, &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 messages, 2 entries"), "{stdout}");
    assert_eq!(tree(&s.dir), before, "no -wal or -shm left behind");
}

#[test]
fn doctor_fails_on_a_missing_templates_dir() {
    let s = Scratch::new("cli-doctor-templates");
    let cfg = s.config("templates_dir = \"no-such-templates\"\n");
    let out = s.lndx(Some(&cfg), &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL templates: templates_dir no-such-templates does not exist"),
        "{stdout}"
    );
    assert!(!s.data().exists());
}

#[test]
fn doctor_warns_on_zero_registered_senders_and_fails_when_only_registered_ones_count() {
    let s = Scratch::new("cli-doctor-senders");
    std::fs::write(
        s.rules().join("senders.toml"),
        "self = [\"lndx@ouchn.test\"]\n\n[senders]\n",
    )
    .unwrap();
    let out = s.lndx(None, &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning is not a failure: {stdout}"
    );
    assert!(
        stdout.contains("warn senders: senders.toml registers no sender"),
        "{stdout}"
    );
    let cfg = s.config("[senders]\npolicy = \"registered\"\n");
    let out = s.lndx(Some(&cfg), &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL senders:"), "{stdout}");
}

#[test]
fn doctor_checks_report_addresses_and_the_listen_address_as_run_reads_it() {
    let s = Scratch::new("cli-doctor-report");
    let cfg = s.config(
        "[report]\nto = [\"wang li\"]\ncc = [\"staff@ouchn.test\"]\n\n[http]\nlisten = \"0.0.0.0:9925\"\n",
    );
    let out = s.lndx(Some(&cfg), &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL report: report.to \"wang li\" is not an e-mail address"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL http: http.listen = \"0.0.0.0:9925\" is not a loopback address"),
        "{stdout}"
    );
    // run refuses the same address at start instead of serving nothing.
    let out = s.lndx(Some(&cfg), &["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a loopback address"));
    let cfg =
        s.config("[report]\nto = [\"wangli@moe.test\"]\n\n[http]\nlisten = \"127.0.0.1:9925\"\n");
    let out = s.lndx(Some(&cfg), &["doctor"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("ok   report: to wangli@moe.test"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   http: http://127.0.0.1:9925/healthz"),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------
// registry list and messages

/// A registry with a valid case of GD (batch 1), an invalid case of SC (batch 2), a held
/// course (unknown province), a late course of JL and an auto-reply; and their results.
fn filed() -> (Scratch, Vec<serde_json::Value>) {
    let s = Scratch::new("cli-registry");
    let r = s.ingest(
        None,
        &[
            fixture("eml/P01-gd-valid-case-with-scan.eml"),
            fixture("eml/P04-sc-case-too-long.eml"),
            fixture("eml/P16-unknown-province.eml"),
            fixture("eml/P19-jl-late.eml"),
            fixture("eml/P13-gd-out-of-office.eml"),
        ],
    );
    (s, r)
}

/// `registry list` in text: the receipts listed, and the count line.
fn listed(s: &Scratch, filters: &[&str]) -> (Vec<String>, String) {
    let mut args = vec!["registry", "list"];
    args.extend_from_slice(filters);
    let out = s.lndx(None, &args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{filters:?}: {}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0], "receipt\tprovince\tbatch\tkind\tstatus\tname\tunit",
        "{stdout}"
    );
    let receipts = lines[1..lines.len() - 1]
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    (receipts, lines[lines.len() - 1].to_string())
}

#[test]
fn registry_list_takes_codes_in_any_case_and_chinese_names() {
    let (s, _) = filed();
    let gd = ["ZHZL-2021-B1-GD-C-0001".to_string()];
    for p in ["GD", "gd", "广东", "广东省"] {
        let (r, count) = listed(&s, &["--province", p]);
        assert_eq!(r, gd, "--province {p}");
        assert_eq!(count, "1 entry (current versions, province GD)");
    }
    let (cases, _) = listed(&s, &["--kind", "case"]);
    assert_eq!(cases.len(), 2);
    for k in ["CASE", "案例", "典型工作案例"] {
        assert_eq!(listed(&s, &["--kind", k]).0, cases, "--kind {k}");
    }
    let (invalid, _) = listed(&s, &["--status", "invalid"]);
    assert_eq!(invalid, ["ZHZL-2021-B2-SC-C-0001"]);
    assert_eq!(listed(&s, &["--status", "需修改"]).0, invalid);
    assert_eq!(listed(&s, &["--status", "INVALID"]).0, invalid);
    let (held, _) = listed(&s, &["--status", "暂存"]);
    assert_eq!(held, ["ZHZL-2021-B2-XX-R-0001"]);
    assert_eq!(listed(&s, &["--batch", "第二批"]).0.len(), 2);
    assert_eq!(
        listed(
            &s,
            &["--batch", "2", "--province", "四川", "--kind", "案例"]
        )
        .0,
        invalid
    );
    // Nothing matched is said, not left silent.
    let (none, count) = listed(&s, &["--province", "BJ"]);
    assert!(none.is_empty());
    assert_eq!(count, "0 entries (current versions, province BJ)");
}

#[test]
fn registry_list_selects_late_entries() {
    let (s, _) = filed();
    let late = ["ZHZL-2021-BL-JL-R-0001".to_string()];
    for b in ["L", "l", "late", "逾期", "BL"] {
        let (r, count) = listed(&s, &["--batch", b]);
        assert_eq!(r, late, "--batch {b}");
        assert_eq!(count, "1 entry (current versions, late)");
    }
    let out = s.lndx(None, &["registry", "list", "--batch", "L"]);
    let row = text(&out.stdout).lines().nth(1).unwrap().to_string();
    assert_eq!(row.split('\t').nth(2), Some("L"), "{row}");
    // --json adds nothing but the entries.
    let out = s.lndx(None, &["registry", "list", "--batch", "late", "--json"]);
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("only JSON lines"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["late"], true);
    assert!(lines[0]["batch"].is_null());
}

#[test]
fn registry_list_refuses_unknown_values_listing_the_valid_ones() {
    let s = Scratch::new("cli-registry-refuse");
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--status", "bogus"],
            &[
                "\"bogus\"",
                "valid (已受理)",
                "invalid (需修改)",
                "held (暂存)",
            ],
        ),
        (
            &["--batch", "4"],
            &["\"4\"", "1 (第一批)", "3 (第三批)", "L (late, 逾期)"],
        ),
        (&["--batch", "300"], &["\"300\"", "2 (第二批)"]),
        (
            &["--province", "火星"],
            &["\"火星\"", "GD 广东", "XJBT 兵团"],
        ),
    ];
    for (args, want) in cases {
        let mut a = vec!["registry", "list"];
        a.extend_from_slice(args);
        let out = s.lndx(None, &a);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        for w in want {
            assert!(err.contains(w), "{args:?}: {w} in {err}");
        }
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = s.lndx(None, &["registry", "list", "--status", "bogus", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "unknown_value");
    assert_eq!(v["error"]["option"], "--status");
    assert_eq!(v["error"]["value"], "bogus");
    assert_eq!(
        v["error"]["valid"],
        serde_json::json!(["valid", "invalid", "held"])
    );
    let out = s.lndx(None, &["registry", "list", "--kind", "案"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("case (典型工作案例, 案例)"));
    assert!(!s.data().exists(), "a refused filter opens no database");
}

#[test]
fn registry_messages_shows_local_times_and_the_skip_reason_in_its_own_column() {
    let (s, results) = filed();
    let out = s.lndx(None, &["registry", "messages"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "id\tarrived (Asia/Shanghai, 北京时间)\tstate\tprovince\tskipped\tsender\tsubject"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"5 messages (newest first, at most 50; --limit N for more)"
    );
    let row = |id: &str| -> Vec<&str> {
        lines
            .iter()
            .find(|l| l.split('\t').next() == Some(id))
            .unwrap_or_else(|| panic!("{id} in {stdout}"))
            .split('\t')
            .collect()
    };
    // P13, an out-of-office reply: its reason in the skipped column, not the province's.
    let auto = row("5");
    assert_eq!(auto[4], "auto_reply", "{auto:?}");
    assert_ne!(auto[3], "auto_reply");
    // P01: the arrival stored in UTC, shown in Beijing time.
    let p01 = row("1");
    assert_eq!((p01[3], p01[4]), ("GD", "-"));
    let db = results[0]["arrived_at"].as_str().unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(db)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(p01[1], local, "{db}");
}

// ---------------------------------------------------------------------------------------
// the log

#[test]
fn the_log_off_a_terminal_is_plain_with_one_outcome_line_per_message() {
    let s = Scratch::new("cli-log");
    let files = [
        path("eml/P01-gd-valid-case-with-scan.eml"),
        path("eml/P13-gd-out-of-office.eml"),
        path("eml/P16-unknown-province.eml"),
        path("eml/P19-jl-late.eml"),
    ];
    let mut args = vec!["ingest"];
    args.extend(files.iter().map(String::as_str));
    let out = lndx_env(&s, &[], &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        !err.contains('\x1b'),
        "no ANSI escapes off a terminal: {err:?}"
    );
    assert!(
        !err.contains('\r'),
        "no progress line off a terminal: {err:?}"
    );
    assert!(!err.contains("String(") && !err.contains("=Null"), "{err}");
    let outcome: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("lndx::daemon: filed ") || l.contains("lndx::daemon: skipped"))
        .collect();
    assert_eq!(outcome.len(), files.len(), "one line per message: {err}");
    for (line, file) in outcome.iter().zip(&files) {
        assert!(line.contains(file.as_str()), "{file}: {line}");
    }
    assert!(
        outcome[0].contains(
            "province=GD batch=1 receipts=ZHZL-2021-B1-GD-C-0001 accepted=1 to_fix=0 late=0 held=0"
        ),
        "{}",
        outcome[0]
    );
    assert!(
        outcome[1].contains("skipped")
            && outcome[1].contains("reason=auto_reply")
            && !outcome[1].contains(" filed "),
        "{}",
        outcome[1]
    );
    // Held for an unknown province: no province field at all, not an empty one.
    assert!(!outcome[2].contains("province="), "{}", outcome[2]);
    assert!(
        outcome[2].contains("held=1 problems=unknown_province"),
        "{}",
        outcome[2]
    );
    assert!(outcome[3].contains("late=1"), "{}", outcome[3]);
    assert!(!outcome[3].contains("batch="), "{}", outcome[3]);
}

#[test]
fn the_log_can_be_json_lines() {
    let s = Scratch::new("cli-log-json");
    let out = lndx_env(
        &s,
        &[("LNDX_LOG_FORMAT", "json")],
        &[
            "ingest",
            &path("eml/P01-gd-valid-case-with-scan.eml"),
            &path("eml/P13-gd-out-of-office.eml"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let outcomes: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "lndx::daemon")
        .collect();
    assert_eq!(outcomes.len(), 2, "{events:?}");
    assert_eq!(outcomes[0]["message"], "filed");
    assert_eq!(outcomes[0]["province"], "GD");
    assert_eq!(outcomes[0]["accepted"], 1);
    assert_eq!(outcomes[1]["reason"], "auto_reply");
    // A log setting that cannot be used is said, and the default taken.
    let out = lndx_env(
        &s,
        &[("LNDX_LOG_FORMAT", "xml")],
        &["ingest", &path("eml/P13-gd-out-of-office.eml")],
    );
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("LNDX_LOG_FORMAT=\"xml\" is not a log format; use text or json")
    );
}

// ---------------------------------------------------------------------------------------
// --help

#[test]
fn every_option_in_help_says_what_it_does() {
    let commands: [&[&str]; 24] = [
        &[],
        &["ingest"],
        &["check"],
        &["registry", "list"],
        &["registry", "messages"],
        &["registry", "export"],
        &["run"],
        &["reprocess"],
        &["doctor"],
        &["report", "preview"],
        &["report", "send-now"],
        &["review", "round", "create"],
        &["review", "round", "list"],
        &["review", "expert", "add"],
        &["review", "expert", "import"],
        &["review", "expert", "conflict"],
        &["review", "assign"],
        &["review", "adjust"],
        &["review", "recuse"],
        &["review", "publish"],
        &["review", "score"],
        &["review", "remind"],
        &["review", "ranking"],
        &["review", "decide"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("-h");
        let out = Command::new(env!("CARGO_BIN_EXE_lndx"))
            .args(&args)
            .output()
            .unwrap();
        let help = text(&out.stdout);
        assert!(out.status.success(), "{args:?}");
        let mut options = 0;
        for line in help.lines() {
            let t = line.trim_start();
            if line.starts_with("  ") && (t.starts_with('-') || t.starts_with('<')) {
                options += 1;
                let said = t.split_once("  ").map(|(_, d)| d.trim()).unwrap_or("");
                assert!(!said.is_empty(), "{args:?}: {line:?} says nothing");
            }
        }
        assert!(options >= 2, "{args:?}: {help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lndx"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    assert!(
        help.contains("Exit status: 0") && help.contains("1 a file has an error"),
        "{help}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_lndx"))
        .args(["registry", "list", "-h"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    for v in [
        "valid (已受理)",
        "L, late or 逾期",
        "广东省",
        "case 典型工作案例",
    ] {
        assert!(help.contains(v), "{v}: {help}");
    }
}

// ---------------------------------------------------------------------------------------
// run and the README's Maildir steps

#[test]
fn run_says_what_it_runs_and_a_maildir_message_with_its_own_date_is_not_late() {
    let s = Scratch::new("cli-run");
    let maildir = s.data().join("mail");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = s.config(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let log = s.dir.join("lndx.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lndx"))
        .arg("--data-dir")
        .arg(s.data())
        .arg("--rules")
        .arg(s.rules())
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .current_dir(&s.dir)
        .env_remove("LNDX_LOG")
        .env_remove("LNDX_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !maildir.join("new").is_dir() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // The README's steps: into tmp/, the sample's own time, then into new/.
    let tmp = maildir.join("tmp/p01.eml");
    std::fs::copy(fixture("eml/P01-gd-valid-case-with-scan.eml"), &tmp).unwrap();
    let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(1_634_695_200); // 2021-10-20 02:00 UTC
    std::fs::File::options()
        .write(true)
        .open(&tmp)
        .unwrap()
        .set_modified(sent)
        .unwrap();
    std::fs::rename(&tmp, maildir.join("new/p01.eml")).unwrap();
    while s.outbox_files().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .arg("-15")
        .arg(child.id().to_string())
        .status();
    let end = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(s.outbox_files().len(), 1, "{log}");
    for said in [
        "watching Maildir",
        "replies go to outbox folder",
        "15 registered senders",
        &format!("health at http://127.0.0.1:{port}/healthz"),
    ] {
        assert!(log.contains(said), "{said}: {log}");
    }
    assert!(!log.contains('\x1b'), "{log:?}");
    let filed: Vec<&str> = log.lines().filter(|l| l.contains(": filed ")).collect();
    assert_eq!(filed.len(), 1, "{log}");
    assert!(
        filed[0].contains("batch=1") && filed[0].contains("accepted=1 to_fix=0 late=0"),
        "{}",
        filed[0]
    );
}
