//! Console speed (run with `cargo bench --bench console`): a registry of 10,000 entries
//! filed by the intake itself (the sample forms, each copy given its own name and sent
//! from a registered province's address), the console served by `lndx::web::serve` on a
//! free loopback port, and each page asked for repeatedly by a signed-in staff account.
//! Prints the median and 95th percentile of the time from request to complete response
//! (loopback HTTP included) and each page's weight; asserts nothing about speed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

use lndx::campaign::Campaign;
use lndx::forms::{self, Document, ReadLimits};
use lndx::health::Health;
use lndx::intake::{Intake, Settings};
use lndx::registry::console::NewUser;
use lndx::registry::{Registry, SourceRef};
use lndx::reply::Replier;
use lndx::report::{Reporter, Sender};
use lndx::shutdown::Shutdown;
use lndx::web::{issue_signin_link, Console};

const ENTRIES: usize = 10_000;
const RUNS: usize = 60;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample .docx forms whose name can be rewritten in document.xml: (bytes, name).
fn templates(campaign: &Campaign) -> Vec<(Vec<u8>, String)> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/forms"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "docx"))
        .collect();
    v.sort();
    v.into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let Ok(Document::Form(f)) =
                forms::read_docx(&bytes, &campaign.forms, &ReadLimits::default())
            else {
                return None;
            };
            let name = f.fields.get("name")?.clone();
            let xml = document_xml(&bytes);
            (name.chars().count() >= 4 && xml.contains(&format!(">{name}<")))
                .then_some((bytes, name))
        })
        .collect()
}

fn document_xml(docx: &[u8]) -> String {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut s = String::new();
    z.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// The form with its name replaced.
fn renamed(docx: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(docx)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == "word/document.xml" {
            bytes = String::from_utf8(bytes)
                .unwrap()
                .replacen(&format!(">{from}<"), &format!(">{to}<"), 1)
                .into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn message(n: usize, domain: &str, date: &str, docx: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body: String = b64
        .encode(docx)
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    format!(
        "From: sender{n}@{domain}\r\nTo: lndx@ouchn.test\r\nSubject: =?UTF-8?B?{}?=\r\n\
         Date: {date}\r\nMessage-ID: <bench-{n}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\r\n\
         Content-Disposition: attachment; filename=\"form{n}.docx\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{body}--b--\r\n",
        b64.encode(format!("申报材料 {n}"))
    )
    .into_bytes()
}

/// Files ENTRIES messages of one form each.
fn fill(dir: &Path, intake: &Intake) {
    let senders: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/senders.json")).unwrap(),
    )
    .unwrap();
    let domains: Vec<String> = senders["domains"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let forms = templates(&intake.campaign);
    assert!(!forms.is_empty(), "no sample form to copy");
    let dates = [
        "Tue, 26 Oct 2021 10:00:00 +0800",
        "Mon, 14 Feb 2022 10:00:00 +0800",
        "Wed, 11 May 2022 10:00:00 +0800",
        "Thu, 08 Sep 2022 10:00:00 +0800",
    ];
    let mut reg = Registry::open(dir).unwrap();
    let started = Instant::now();
    for n in 0..ENTRIES {
        let (docx, name) = &forms[n % forms.len()];
        let docx = renamed(docx, name, &format!("{name}（第{n}号）"));
        let raw = message(
            n,
            &domains[n % domains.len()],
            dates[(n / 7) % dates.len()],
            &docx,
        );
        intake
            .file(
                &mut reg,
                &raw,
                SourceRef {
                    source: "file",
                    key: None,
                    arrived_at: None,
                    declared_size: None,
                    no_reply: None,
                },
            )
            .unwrap();
    }
    let count: usize = reg
        .console_entries(&Default::default())
        .map(|(_, t)| t as usize)
        .unwrap();
    println!(
        "registry: {count} current entries from {ENTRIES} messages ({} sample forms renamed), filed in {:.0} s",
        forms.len(),
        started.elapsed().as_secs_f64()
    );
}

struct Http {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

impl Http {
    fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let mut r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .call()
            .unwrap();
        let status = r.status().as_u16();
        let body = r
            .body_mut()
            .with_config()
            .limit(100 * 1024 * 1024)
            .read_to_vec()
            .unwrap();
        (status, body)
    }
}

fn main() {
    let campaign = Campaign::load(&repo().join("rules")).expect("rules");
    // The samples' senders, registered as in the tests.
    let settings = Settings::default();
    let mut campaign = campaign;
    let senders: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/senders.json")).unwrap(),
    )
    .unwrap();
    for (domain, province) in senders["domains"].as_object().unwrap() {
        campaign
            .senders
            .insert(domain.clone(), province.as_str().unwrap().to_string());
    }
    let intake = || Intake {
        campaign: campaign.clone(),
        settings: settings.clone(),
        replier: Replier::load(Some(&repo().join("templates"))).expect("templates"),
        converter: None,
        review: None,
    };
    let dir = std::env::temp_dir().join(format!("lndx-bench-console-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    fill(&dir, &intake());

    // A staff account and its sign-in.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let link = {
        let reg = Registry::open(&dir).unwrap();
        let id = reg
            .create_user(&NewUser {
                email: "staff@nou.test",
                role: "staff",
                province: None,
                unit: None,
                name: None,
                created_by: "bench",
            })
            .unwrap()
            .unwrap();
        issue_signin_link(&reg, id, 1, &base).unwrap()
    };
    let reporter = || {
        Reporter::from_parts(
            campaign.clone(),
            Some(&repo().join("templates")),
            Sender {
                address: "lndx@ouchn.test".into(),
                name: String::new(),
                loop_header: "X-Lndx-Loop".into(),
                to: Vec::new(),
                cc: Vec::new(),
            },
        )
        .unwrap()
    };
    // 总览's numbers computed afresh (a request never waits for this once the server's own
    // first computation is done: stale numbers are served while new ones are computed).
    {
        let reg = Registry::open(&dir).unwrap();
        let r = reporter();
        let mut times: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(r.data(&reg, chrono::Utc::now()).unwrap());
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "总览's numbers computed (report::data, 20 runs): median {:.1} ms, p95 {:.1} ms",
            times[10].as_secs_f64() * 1000.0,
            times[19].as_secs_f64() * 1000.0
        );
    }
    let console = Console {
        data_dir: dir.clone(),
        intake: intake(),
        public_url: None,
        link_hours: 72,
        session_idle_minutes: 120,
        check_upload_bytes: 20 * 1024 * 1024,
        reporter: reporter(),
        desk: lndx::desk::Desk::new(intake(), Some(&repo().join("templates"))).unwrap(),
        book: lndx::book::Setup::default(),
        review: Some(lndx::review::staff::Setup {
            rubric: lndx::review::Rubric::builtin(&campaign).unwrap(),
            wording: lndx::review::wording::Wording::load(None).unwrap(),
            sender: lndx::report::Sender {
                address: "lndx@example.test".into(),
                name: "lndx".into(),
                loop_header: "X-Lndx-Loop".into(),
                to: Vec::new(),
                cc: Vec::new(),
            },
            sign_in: None,
        }),
    };
    let (trigger, shutdown) = Shutdown::channel();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = std::thread::spawn(move || {
        lndx::web::serve(listen, console, Arc::new(Health::default()), shutdown).unwrap()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(listen).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    // Sign in: the link's page gives the session and the form's token.
    let mut r = agent.get(&link).call().unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = r.body_mut().read_to_string().unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let r = agent
        .post(&link)
        .header("Cookie", &cookie)
        .header("Origin", &base)
        .send_form([("csrf", csrf.as_str())])
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let http = Http {
        agent,
        base,
        cookie,
    };

    let t = Instant::now();
    let (status, _) = http.get("/");
    assert_eq!(status, 200);
    println!(
        "总览, first request (waits only if the server's first computation is not done): {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    println!("console, {RUNS} requests each (loopback HTTP, one client):");
    for (label, path) in [
        (
            "entry list, filtered + sorted, 50 rows",
            "/entries?kind=project&status=valid&sort=name&dir=asc",
        ),
        ("entry list, page 100 of all", "/entries?page=100"),
        (
            "search, 3+ characters (FTS5 trigram)",
            "/entries?q=%E6%99%BA%E8%83%BD%E6%89%8B%E6%9C%BA",
        ),
        (
            "search, 2 characters (LIKE)",
            "/entries?q=%E9%93%B6%E9%BE%84",
        ),
        ("search, a receipt number", "/entries?q=ZHZL-2021-B1-GD"),
        ("总览 (numbers fresh within 15 s)", "/"),
        ("an entry", "/entries/ZHZL-2021-B1-GD-C-0001"),
        ("messages, 50 rows", "/messages"),
    ] {
        let mut times = Vec::with_capacity(RUNS);
        let mut weight = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let (status, body) = http.get(path);
            times.push(t.elapsed());
            assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            weight = body.len();
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {label:<42} median {:>6.1} ms   p95 {:>6.1} ms   page {:>6.1} KB",
            ms(times[RUNS / 2]),
            ms(times[RUNS * 95 / 100]),
            weight as f64 / 1024.0
        );
    }
    // 总览 over 20 s, one request every half second: its numbers go stale after 15 s and
    // are computed again in the background while requests keep being answered.
    let mut times = Vec::with_capacity(40);
    for _ in 0..40 {
        let t = Instant::now();
        let (status, _) = http.get("/");
        times.push(t.elapsed());
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(500));
    }
    times.sort();
    println!(
        "  {:<42} median {:>6.1} ms   p95 {:>6.1} ms   max {:>6.1} ms",
        "总览 over 20 s (one background recomputation)",
        times[20].as_secs_f64() * 1000.0,
        times[38].as_secs_f64() * 1000.0,
        times[39].as_secs_f64() * 1000.0
    );
    trigger.fire();
    let _ = server.join();
    let _ = std::fs::remove_dir_all(&dir);
}
