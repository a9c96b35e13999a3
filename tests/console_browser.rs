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

mod console;
mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use console::{free_port, Console};

/// A program on the PATH, or a failure saying how to install it (never a skip).
fn program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{} not found on PATH: the console is tested in a real headless browser. Install it \
         with scripts/install-deps.sh (Debian: apt-get install chromium chromium-driver \
         fonts-noto-cjk), or run the tests with scripts/test.sh",
        names[0]
    );
}

/// Where screenshots are kept: target/test-artefacts/console/.
fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artefacts/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    fn start(log: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(program(&["chromedriver"]))
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut r) = d.agent.get(format!("{}/status", d.base)).call() {
                let v: Value = r.body_mut().read_json().unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self.agent.post(&url).send_json(b.unwrap_or(json!({}))),
        };
        let v: Value = resp.unwrap().body_mut().read_json().unwrap();
        assert!(
            v["value"].get("error").is_none(),
            "{method} {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser<'d> {
    d: &'d Driver,
    id: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl<'d> Browser<'d> {
    fn open(d: &'d Driver, profile: &Path, downloads: &Path) -> Browser<'d> {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": program(&["chromium", "chromium-browser"]),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,900",
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let v = d.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().unwrap().to_string();
        let b = Browser { d, id };
        // Downloads go to the folder without asking (headless needs it said over CDP too).
        b.cdp(
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": downloads}),
        );
        b
    }

    fn p(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.id)
    }

    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.d.call(
            "POST",
            &self.p("/goog/cdp/execute"),
            Some(json!({"cmd": cmd, "params": params})),
        )
    }

    fn go(&self, url: &str) {
        self.d
            .call("POST", &self.p("/url"), Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.d.call(
            "POST",
            &self.p("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v} at {}", self.url()))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.d
            .call("POST", &self.p(&format!("/element/{e}/click")), None);
    }

    /// Clicks something that loads another page, and waits for it.
    fn follow(&self, css: &str) {
        let before = self.url();
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let ready = self.script("return document.readyState;");
            if self.url() != before && ready == "complete" {
                return;
            }
            assert!(Instant::now() < deadline, "{css} led nowhere from {before}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Submits a form that posts back to the same address, and waits for the answer.
    fn follow_submit(&self, css: &str) {
        self.script("document.body.dataset.before = '1';");
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let fresh = self.script(
                "return document.readyState === 'complete' && !document.body.dataset.before;",
            );
            if fresh == true {
                return;
            }
            assert!(Instant::now() < deadline, "{css}: no answer");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.d
            .call("POST", &self.p(&format!("/element/{e}/clear")), None);
        self.d.call(
            "POST",
            &self.p(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        );
    }

    fn script(&self, js: &str) -> Value {
        self.d.call(
            "POST",
            &self.p("/execute/sync"),
            Some(json!({"script": js, "args": []})),
        )
    }

    fn url(&self) -> String {
        self.d
            .call("GET", &self.p("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Lays the page out `width` CSS pixels wide (device-metrics emulation).
    fn width(&self, width: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}),
        );
    }

    fn screenshot(&self, name: &str) {
        let v = self.d.call("GET", &self.p("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
    }

    /// Screenshots at 1280 and 390 px, and the page does not run wider than a phone.
    fn both_widths(&self, name: &str) {
        self.width(1280);
        self.screenshot(&format!("{name}-1280"));
        self.width(390);
        let fits = self.script("return [document.documentElement.scrollWidth, window.innerWidth];");
        assert_eq!(fits[1], 390, "{name}: the emulated width");
        assert!(
            fits[0].as_u64() <= fits[1].as_u64(),
            "{name} runs wider than a 390-px screen: {fits}"
        );
        self.screenshot(&format!("{name}-390"));
        self.width(1280);
    }

    /// Every form control has a label (a `<label>` around it or an aria-label).
    fn assert_labelled(&self, name: &str) {
        let unlabelled = self.script(
            "return [...document.querySelectorAll('input:not([type=hidden]),select,textarea')]
               .filter(e => !e.closest('label') && !e.getAttribute('aria-label')
                 && !(e.id && document.querySelector('label[for=\"'+e.id+'\"]')))
               .map(e => e.outerHTML);",
        );
        assert_eq!(unlabelled, json!([]), "{name}: controls without a label");
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .d
            .agent
            .delete(format!("{}/session/{}", self.d.base, self.id))
            .call();
    }
}

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
