//! The report's HTML in a real browser: Debian's headless Chromium (installed by
//! scripts/install-deps.sh with the Noto CJK fonts) at a desktop and a phone width. One
//! pass measures, in the page, that receipt numbers and kinds render on one line and that
//! nothing runs wider than the window; another keeps a screenshot as a test artefact under
//! target/test-artefacts/. Only file:// pages are opened, with every host name made
//! unresolvable but 127.0.0.1, so nothing is fetched from anywhere.
//!
//! The report is shown in a frame exactly as wide as the width tested. Headless Chromium
//! lays out no window narrower than 500 CSS pixels (`--window-size=390,…` reports
//! `innerWidth` 500 and a screenshot just crops that layout), and a frame is a viewport of
//! its own: its `innerWidth` is the width asked for, and it is how webmail shows a message
//! anyway. The report uses neither media queries nor viewport units, so nothing else
//! differs. The frame's script reports its verdict to the page with `postMessage`, which
//! crosses the file:// origins.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(90);

/// The browser, or a failure saying how to install it (never a skip).
pub fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "chromium not found on PATH: the report's HTML is checked in a real headless browser. \
         Install it with scripts/install-deps.sh (Debian: apt-get install chromium \
         chromium-driver fonts-noto-cjk), or run the tests with scripts/test.sh"
    );
}

/// Where screenshots are kept: target/test-artefacts/ (created).
pub fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs headless Chromium on a local page with a fresh profile; returns its stdout. Its
/// output goes to files, not pipes: a dumped page is larger than a pipe's buffer, and a
/// browser blocked writing to it would never exit.
fn run(page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (profile.path().join("stdout"), profile.path().join("stderr"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium took more than {TIMEOUT:?} on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    assert!(
        status.success(),
        "chromium failed on {}: {}",
        page.display(),
        read(&err_path)
    );
    read(&out_path)
}

/// What the measuring script found.
#[derive(Debug, serde::Deserialize)]
pub struct Verdict {
    /// Text nodes that are exactly a receipt or a kind, and were measured.
    pub receipts: usize,
    pub kinds: usize,
    /// Those that took more than one line box ("text lines").
    pub wrapped: Vec<String>,
    pub scroll_width: f64,
    pub width: f64,
    pub height: f64,
}

/// The script the wrapper page adds: every text node that is exactly a receipt or a kind
/// must render as one line box; the verdict goes to the framing page as JSON.
fn script(receipts: &[String], kinds: &[String]) -> String {
    format!(
        r#"<script>
(function () {{
  var receipts = {r}, kinds = {k};
  function measure() {{
    var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), n;
    var v = {{receipts: 0, kinds: 0, wrapped: []}};
    while ((n = walker.nextNode())) {{
      var t = n.nodeValue.trim(), r = receipts.indexOf(t) >= 0, k = kinds.indexOf(t) >= 0;
      if (!r && !k) continue;
      if (r) v.receipts++; else v.kinds++;
      var range = document.createRange();
      range.selectNodeContents(n);
      var lines = Array.prototype.filter.call(range.getClientRects(), function (x) {{ return x.width > 0; }});
      if (lines.length !== 1) v.wrapped.push(t + ' (' + lines.length + ' lines)');
    }}
    v.scroll_width = document.documentElement.scrollWidth;
    v.width = window.innerWidth;
    v.height = document.documentElement.scrollHeight;
    parent.postMessage(JSON.stringify(v), '*');
  }}
  if (document.readyState === 'complete') measure(); else window.addEventListener('load', measure);
}})();
</script>"#,
        r = serde_json::to_string(receipts).unwrap(),
        k = serde_json::to_string(kinds).unwrap(),
    )
}

/// A page that shows `inner` in a frame `width` × `height` pixels, and writes what the
/// frame posts into a `<pre id="lndx-verdict">`.
fn frame(inner: &str, width: u32, height: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html><body style="margin:0">
<iframe src="{inner}" scrolling="no" style="display:block; border:0; width:{width}px; height:{height}px"></iframe>
<pre id="lndx-verdict"></pre>
<script>window.addEventListener('message', function (e) {{ document.getElementById('lndx-verdict').textContent = e.data; }});</script>
</body></html>"#
    )
}

/// The browser window for a frame `width` wide. Below 500 pixels headless Chromium still
/// lays out 500, but crops its screenshot to the size asked: exactly the frame.
fn window(width: u32, height: u32) -> String {
    format!("--window-size={width},{height}")
}

/// Opens the report with the measuring script in a frame `width` pixels wide.
pub fn measure(
    html: &str,
    dir: &Path,
    width: u32,
    receipts: &[String],
    kinds: &[String],
) -> Verdict {
    let inner = format!("measure-{width}.html");
    let wrapped = html.replacen("</body>", &format!("{}</body>", script(receipts, kinds)), 1);
    assert_ne!(wrapped, html, "the report has no </body>");
    std::fs::write(dir.join(&inner), wrapped).unwrap();
    let page = dir.join(format!("frame-{width}.html"));
    std::fs::write(&page, frame(&inner, width, 1000)).unwrap();
    let dom = run(
        &page,
        &[
            "--dump-dom".into(),
            "--virtual-time-budget=5000".into(),
            window(width, 1000),
        ],
    );
    let open = r#"<pre id="lndx-verdict">"#;
    let json = dom
        .find(open)
        .map(|i| &dom[i + open.len()..])
        .and_then(|rest| rest.find("</pre>").map(|end| &rest[..end]))
        .filter(|j| !j.is_empty())
        .unwrap_or_else(|| panic!("no verdict from the frame at {width} px:\n{dom}"));
    serde_json::from_str(
        &json
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
    .unwrap()
}

/// A screenshot of the whole report (`report`, a file in `dir`) in a frame `width` ×
/// `height`, kept as `name` among the artefacts.
pub fn screenshot(dir: &Path, report: &str, width: u32, height: u32, name: &str) -> PathBuf {
    let page = dir.join(format!("shot-{width}.html"));
    std::fs::write(&page, frame(report, width, height)).unwrap();
    let png = artefacts().join(name);
    let _ = std::fs::remove_file(&png);
    run(
        &page,
        &[
            format!("--screenshot={}", png.display()),
            window(width, height),
        ],
    );
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert_eq!(&bytes[1..4], b"PNG");
    png
}
