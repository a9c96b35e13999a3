//! The console in a real browser: Debian's headless Chromium driven through chromedriver
//! (both installed by scripts/install-deps.sh; the W3C WebDriver protocol spoken as plain
//! HTTP JSON), against a running `lndx run` with a registry made from the real sample
//! messages. A person signs in with a link, searches for a Chinese substring, filters,
//! opens an entry and downloads its original file; every page is also laid out at a
//! phone's 390 CSS pixels without running wider than the screen. Screenshots at 1280 and
//! 390 px are kept under target/test-artefacts/console/.
//!
//! The 390-px layout is set with Chromium's device-metrics emulation (through
//! chromedriver's CDP endpoint): headless Chromium lays out no window narrower than 500
//! px, so resizing the window alone would not test a phone's width.

mod browser;
mod console;
mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use browser::{Browser, Driver};
use console::Console;

/// Waits for a file to appear complete in `dir`.
fn downloaded(dir: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| !p.to_string_lossy().ends_with(".crdownload"))
            .collect();
        if let Some(p) = done.into_iter().next() {
            return p;
        }
        assert!(Instant::now() < deadline, "nothing was downloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_person_signs_in_searches_filters_opens_an_entry_and_downloads_its_original() {
    let c = Console::start("console-browser");
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(&work.path().join("chromedriver.log"));
    let b = Browser::open(&driver, &work.path().join("profile"), &downloads);

    // Sign in with the link `lndx user add` printed.
    b.go(&c.link("staff@nou.test"));
    b.both_widths("signin");
    b.follow("#signin");
    assert!(b.url().contains("/account"), "{}", b.url());
    assert!(b.text().contains("登录成功"), "{}", b.text());

    // The entry list, then a search for a Chinese substring from the middle of a name.
    b.go(&format!("{}/entries", c.base()));
    let all_rows = b.script("return document.querySelectorAll('#entries tbody tr').length;");
    assert!(all_rows.as_u64().unwrap() > 5, "{all_rows}");
    b.assert_labelled("entries");
    b.both_widths("entries");
    b.type_into("input[name=q]", "黔老乐");
    b.follow("form.filters button[type=submit]");
    let found = b.script(
        "return [...document.querySelectorAll('#entries tbody tr td:first-child a')].map(a => a.textContent);",
    );
    let gz = c.receipts_of("GZ");
    assert_eq!(found, json!(gz), "searching 黔老乐");
    // Two characters (below the trigram index) are found too.
    b.type_into("input[name=q]", "银龄");
    b.follow("form.filters button[type=submit]");
    let text = b.text();
    assert!(text.contains("银龄"), "{text}");
    let two =
        b.script("return document.querySelectorAll('#entries tbody tr td:first-child a').length;");
    assert!(
        two.as_u64().unwrap() >= 1 && two.as_u64() < all_rows.as_u64(),
        "{two}"
    );

    // A filter by province: every row is Zhejiang's.
    b.type_into("input[name=q]", "");
    b.click("select[name=province] option[value=ZJ]");
    b.follow("form.filters button[type=submit]");
    let provinces = b.script(
        "return [...document.querySelectorAll('#entries tbody tr td:nth-child(4)')].map(t => t.textContent);",
    );
    let provinces = provinces.as_array().unwrap().clone();
    assert!(!provinces.is_empty());
    assert!(provinces.iter().all(|p| p == "浙江省"), "{provinces:?}");
    assert!(b.url().contains("province=ZJ"));

    // Open an entry; download its original file.
    let receipt = c.receipts_of("GZ")[0].clone();
    b.go(&format!("{}/entries?q={receipt}", c.base()));
    b.follow(&format!("a[href='/entries/{receipt}']"));
    assert!(b.url().ends_with(&format!("/entries/{receipt}")));
    let text = b.text();
    assert!(text.contains("表单内容") && text.contains("字）"), "{text}");
    b.assert_labelled("entry");
    b.both_widths("entry");
    b.click("#original");
    let file = downloaded(&downloads);
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"PK"), "a .docx: {}", file.display());
    let want: String = c
        .db()
        .query_row(
            "SELECT f.sha256 FROM entries e JOIN files f ON f.id = e.file WHERE e.receipt = ?1",
            [&receipt],
            |r| r.get(0),
        )
        .unwrap();
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), want);

    // 报送前自查: a form uploaded, the reply's wording shown, nothing filed.
    let entries_before: i64 = c
        .db()
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    b.go(&format!("{}/check", c.base()));
    let form = util::fixture("forms/P05-bj-project-invalid.docx");
    let input = b.find("input[type=file]");
    b.d.call(
        "POST",
        &b.p(&format!("/element/{input}/value")),
        Some(json!({ "text": form.display().to_string() })),
    );
    b.follow_submit("form.stack button[type=submit]");
    let result = b.text();
    assert!(result.contains("报送前自查结果"), "{result}");
    assert!(result.contains("P05-bj-project-invalid.docx"), "{result}");
    assert!(
        result.contains("✗"),
        "the form's errors are shown: {result}"
    );
    b.both_widths("check-result");
    let entries_after: i64 = c
        .db()
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(entries_before, entries_after, "a self-check files nothing");

    // The overview draws the weekly chart and the province matrix.
    b.go(&format!("{}/", c.base()));
    let bars = b.script("return document.querySelectorAll('svg.chart rect').length;");
    assert!(bars.as_u64().unwrap() > 10, "{bars}");
    let gd = b.script(
        "return document.querySelector('#matrix a[href=\"/entries?province=GD\"]') !== null;",
    );
    assert_eq!(gd, true);

    // 待人工处理: give a held message its province; its reply appears in the outbox folder.
    let replies_before = c.scratch.outbox_files();
    let ln_entries = |c: &Console| -> i64 {
        c.db()
            .query_row(
                "SELECT count(*) FROM entries WHERE province = 'LN'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let ln_before = ln_entries(&c);
    b.go(&format!("{}/attention", c.base()));
    b.assert_labelled("attention");
    b.both_widths("attention");
    let held = "form[action='/actions/assign_province']";
    b.click(&format!("{held} select[name=province] option[value=LN]"));
    b.follow(&format!("{held} button[type=submit]"));
    let done = b.text();
    assert!(done.contains("已办理"), "{done}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.scratch.outbox_files().len() <= replies_before.len() {
        assert!(
            Instant::now() < deadline,
            "no reply written after assigning a province"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let new: Vec<PathBuf> = c
        .scratch
        .outbox_files()
        .into_iter()
        .filter(|p| !replies_before.contains(p))
        .collect();
    let reply = std::fs::read_to_string(&new[0]).unwrap();
    assert!(reply.contains("X-Lndx-Envelope-To:"), "{reply}");
    assert!(
        ln_entries(&c) > ln_before,
        "the held entries were filed for 辽宁"
    );

    // Accept the late entry into a batch staff choose.
    let late = c.receipts_of("JL")[0].clone();
    b.go(&format!("{}/entries/{late}", c.base()));
    b.click("form[action='/actions/accept_late'] select[name=batch] option[value='3']");
    b.follow("form[action='/actions/accept_late'] button[type=submit]");
    assert!(b.text().contains("已办理"), "{}", b.text());
    b.go(&format!("{}/entries/{late}", c.base()));
    assert!(
        b.text().contains("接受逾期报送"),
        "the entry's history: {}",
        b.text()
    );
    b.both_widths("entry-after-action");

    // Resend a reply from its page.
    let replies_before = c.scratch.outbox_files().len();
    let gd = c.messages_of("GD")[0];
    b.go(&format!("{}/messages/{gd}", c.base()));
    b.follow("table.list a[href^='/outbox/']");
    b.follow("form[action='/actions/resend'] button[type=submit]");
    assert!(b.text().contains("已办理"), "{}", b.text());
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.scratch.outbox_files().len() <= replies_before {
        assert!(
            Instant::now() < deadline,
            "the resent reply was not written"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Every action is in the audit log.
    b.go(&format!("{}/audit", c.base()));
    let audit = b.text();
    for said in [
        "指定省份并登记",
        "接受逾期报送",
        "重新发送",
        "staff@nou.test",
    ] {
        assert!(audit.contains(said), "{said}: {audit}");
    }
    b.both_widths("audit");

    // The other pages, at both widths.
    for (name, path) in [
        ("overview", "/"),
        ("messages", "/messages"),
        ("outbox", "/outbox"),
        ("reports", "/reports"),
        ("account", "/account"),
    ] {
        b.go(&format!("{}{path}", c.base()));
        b.assert_labelled(name);
        b.both_widths(name);
    }
}

/// `lndx …` against the running console's data, which must succeed; its stdout.
fn cli(c: &Console, args: &[&str]) -> String {
    let cfg = c.scratch.dir.join("lndx.toml");
    let out = c.scratch.lndx(Some(&cfg), args);
    assert!(
        out.status.success(),
        "lndx {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// 评审 and 推介 in the browser: a published round with every review in (set up from the
/// command line), its page and the ranking at 1280 and 390 px, a decision made with the
/// ranking's form.
#[test]
fn review_rounds_and_the_ranking_in_a_browser() {
    let c = Console::start("console-browser-review");
    for (email, name, province, unit) in [
        ("liu@experts.cn", "刘一", "辽宁", "辽宁大学"),
        ("chen@experts.cn", "陈二", "四川", "四川大学"),
        ("yang@experts.cn", "杨三", "湖南", "湖南开放大学"),
        ("huang@experts.cn", "黄四", "江苏", "江苏开放大学"),
    ] {
        cli(
            &c,
            &[
                "review",
                "expert",
                "add",
                email,
                "--name",
                name,
                "--province",
                province,
                "--unit",
                unit,
                "--expertise",
                "案例",
            ],
        );
    }
    let out = cli(
        &c,
        &[
            "review",
            "round",
            "create",
            "--batch",
            "1",
            "--due",
            "2021-11-20",
        ],
    );
    let round = out.lines().last().unwrap().trim().to_string();
    let out = cli(&c, &["review", "assign", &round, "--json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    cli(&c, &["review", "publish", &round]);
    // Every assignment scored: the criteria from the rules, totals differing by entry.
    for (i, a) in doc["assignments"].as_array().unwrap().iter().enumerate() {
        let receipt = a["receipt"].as_str().unwrap();
        let kind: String = c
            .db()
            .query_row(
                "SELECT kind FROM entries WHERE receipt = ?1",
                [receipt],
                |r| r.get(0),
            )
            .unwrap();
        let mut args: Vec<String> = [
            "review",
            "score",
            &round,
            receipt,
            "--expert",
            a["expert"].as_str().unwrap(),
            "--comment",
            "材料扎实",
            "--recommendation",
            if i % 4 == 0 { "不推荐" } else { "推荐" },
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for k in c.criterion_keys(&kind) {
            args.push("--score".into());
            args.push(format!("{k}={}", 3 + (i * 7) % 6));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&c, &args);
    }

    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(&work.path().join("chromedriver.log"));
    let b = Browser::open(&driver, &work.path().join("profile"), &downloads);
    b.go(&c.link("staff@nou.test"));
    b.follow("#signin");

    b.go(&format!("{}/rounds", c.base()));
    assert!(b.text().contains(&format!("第 {round} 轮")), "{}", b.text());
    b.assert_labelled("rounds");
    b.both_widths("review-rounds");

    b.follow(&format!("a[href='/rounds/{round}']"));
    let text = b.text();
    assert!(text.contains("专家进度") && text.contains("刘一"), "{text}");
    let rows = b.script("return document.querySelectorAll('#assignment tbody tr').length;");
    assert!(rows.as_u64().unwrap() >= 5, "{rows}");
    b.assert_labelled("round");
    b.both_widths("review-round");

    b.go(&format!("{}/experts", c.base()));
    b.assert_labelled("experts");
    b.both_widths("review-experts");

    b.go(&format!("{}/recommend?round={round}", c.base()));
    let ranked = b.script("return document.querySelectorAll('#ranking tbody tr').length;");
    assert_eq!(ranked, rows, "every entry of the round is ranked");
    b.assert_labelled("recommend");
    b.both_widths("recommend");
    // A decision with the first row's form.
    let first = "#ranking tbody tr:first-child form.decide";
    b.click(&format!(
        "{first} select[name=decision] option[value=recommend]"
    ));
    b.type_into(&format!("{first} input[name=note]"), "特色鲜明");
    b.follow_submit(&format!("{first} button[type=submit]"));
    let text = b.text();
    assert!(text.contains("：推介"), "{text}");
    assert!(text.contains("已定 1 / "), "{text}");
    b.both_widths("recommend-decided");
    // The ranking's rows and the round's assignment, further down, on a phone.
    b.width(390);
    b.script("document.getElementById('ranking').scrollIntoView();");
    b.screenshot("recommend-ranking-390");
    b.go(&format!("{}/rounds/{round}", c.base()));
    b.script("document.getElementById('assignment').scrollIntoView();");
    b.screenshot("review-round-assignment-390");
    b.width(1280);
    b.script("document.getElementById('assignment').scrollIntoView();");
    b.screenshot("review-round-assignment-1280");
}

/// 我的评审 in the browser: an expert signs in with a link, opens an assignment, types
/// scores and sees the live total follow (a score out of range marked and left out of it),
/// submits, and the server records the same total. Screenshots at 1280 and 390 px.
#[test]
fn an_expert_types_scores_sees_the_live_total_and_submits() {
    let c = Console::start("review-browser");
    c.published_round();
    let work = tempfile::tempdir().unwrap();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(&work.path().join("chromedriver.log"));
    let b = Browser::open(&driver, &work.path().join("profile"), &downloads);

    let link = c.new_link(Console::EXPERT);
    b.go(&link);
    b.go(&link);
    b.follow("#signin");
    assert!(b.url().ends_with("/review"), "{}", b.url());
    assert!(b.text().contains("我的评审"));
    b.both_widths("review-mine");
    b.follow("table a[href^='/review/']");
    b.assert_labelled("review-form");

    let total = || b.script("return document.getElementById('total').textContent;");
    let bad = || b.script("return document.getElementById('total').className;");
    assert_eq!(total(), "0");
    let inputs = b.script(
        "return [...document.querySelectorAll('input.score')].map(e => [e.id, Number(e.max)]);",
    );
    let inputs: Vec<(String, f64)> = inputs
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_str().unwrap().to_string(), v[1].as_f64().unwrap()))
        .collect();
    assert!(inputs.len() >= 3, "{inputs:?}");
    b.type_into(&format!("#{}", inputs[0].0), "12");
    assert_eq!(total(), "12");
    b.type_into(&format!("#{}", inputs[1].0), "7.5");
    assert_eq!(total(), "19.5");
    // Out of range: marked, not counted.
    let over = format!("{}", inputs[2].1 + 3.0);
    b.type_into(&format!("#{}", inputs[2].0), &over);
    assert_eq!(total(), "19.5");
    assert_eq!(bad(), "bad");

    let mut expected = 0.0;
    for (id, max) in &inputs {
        let v = max - 2.0;
        expected += v;
        b.type_into(&format!("#{id}"), &v.to_string());
    }
    assert_eq!(total(), json!(expected.to_string()));
    assert_eq!(bad(), "");
    b.type_into("#comment", "设计完整，实施扎实，可推广。");
    b.click("input[name=recommendation][value='推荐']");
    b.both_widths("review-form");
    // On a phone the rubric comes after the entry: its part of the page, scrolled to.
    b.width(390);
    b.script("document.getElementById('score-h').scrollIntoView();");
    b.screenshot("review-score-390");
    b.width(1280);

    b.follow("button[name=action][value=submit]");
    assert!(b.url().contains("saved=submitted"), "{}", b.url());
    let text = b.text();
    assert!(text.contains("评分已提交"), "{text}");
    let (submitted, recorded): (i64, f64) = c
        .db()
        .query_row(
            "SELECT submitted, total FROM review_versions ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((submitted, recorded), (1, expected));
    b.both_widths("review-submitted");
}
