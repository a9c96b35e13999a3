//! A real browser for the tests that need one: Debian's headless Chromium driven through
//! chromedriver (both installed by scripts/install-deps.sh), speaking the W3C WebDriver
//! protocol as plain HTTP JSON. Screenshots go to target/test-artefacts/console/.
//!
//! A phone's 390 CSS pixels are set with Chromium's device-metrics emulation (through
//! chromedriver's CDP endpoint): headless Chromium lays out no window narrower than 500
//! px, so resizing the window alone would not test a phone's width.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// A program on the PATH, or a failure saying how to install it (never a skip).
pub fn program(names: &[&str]) -> PathBuf {
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
pub fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artefacts/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    pub fn start(log: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
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
pub struct Browser<'d> {
    pub d: &'d Driver,
    id: String,
}

pub const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl<'d> Browser<'d> {
    pub fn open(d: &'d Driver, profile: &Path, downloads: &Path) -> Browser<'d> {
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

    pub fn p(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.id)
    }

    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.d.call(
            "POST",
            &self.p("/goog/cdp/execute"),
            Some(json!({"cmd": cmd, "params": params})),
        )
    }

    pub fn go(&self, url: &str) {
        self.d
            .call("POST", &self.p("/url"), Some(json!({ "url": url })));
    }

    pub fn find(&self, css: &str) -> String {
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

    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.d
            .call("POST", &self.p(&format!("/element/{e}/click")), None);
    }

    /// Clicks something that loads another page, and waits for it.
    pub fn follow(&self, css: &str) {
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
    pub fn follow_submit(&self, css: &str) {
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

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.d
            .call("POST", &self.p(&format!("/element/{e}/clear")), None);
        self.d.call(
            "POST",
            &self.p(&format!("/element/{e}/value")),
            Some(json!({ "text": text })),
        );
    }

    pub fn script(&self, js: &str) -> Value {
        self.d.call(
            "POST",
            &self.p("/execute/sync"),
            Some(json!({"script": js, "args": []})),
        )
    }

    pub fn url(&self) -> String {
        self.d
            .call("GET", &self.p("/url"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn text(&self) -> String {
        self.script("return document.body.innerText;")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Lays the page out `width` CSS pixels wide (device-metrics emulation).
    pub fn width(&self, width: u32) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}),
        );
    }

    pub fn screenshot(&self, name: &str) {
        let v = self.d.call("GET", &self.p("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(artefacts().join(format!("{name}.png")), png).unwrap();
    }

    /// Screenshots at 1280 and 390 px, and the page does not run wider than a phone.
    pub fn both_widths(&self, name: &str) {
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
    pub fn assert_labelled(&self, name: &str) {
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
