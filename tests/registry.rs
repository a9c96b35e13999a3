//! The registry's promises: raw first, receipts stable and never reused, versions kept,
//! duplicates, reprocessing, private files, the loop guard (held, not dropped), and `lndx run` on the
//! default Maildir.

mod util;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::{fixture, Scratch};

fn list(s: &Scratch, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["registry", "list", "--json"];
    args.extend_from_slice(extra);
    let out = s.lndx(None, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn data_is_private_and_raw_messages_are_kept() {
    let s = Scratch::new("private");
    let r = s.ingest(None, &[fixture("eml/P01-gd-valid-case-with-scan.eml")]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.data()), 0o700);
    assert_eq!(mode(&s.data().join("lndx.db")), 0o600);
    // The raw bytes are stored, content-addressed, byte for byte.
    let raw = std::fs::read(fixture("eml/P01-gd-valid-case-with-scan.eml")).unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&raw))
    };
    let stored = std::fs::read(s.data().join(format!("raw/{}/{}.eml", &sha[..2], sha))).unwrap();
    assert_eq!(stored, raw);
    assert!(r[0]["stored_id"].as_i64().is_some());
}

#[test]
fn versions_supersede_and_receipts_are_never_reused() {
    let s = Scratch::new("versions");
    let r = s.ingest(
        None,
        &[
            fixture("eml/P09a-xj-project-invalid.eml"),
            fixture("eml/P09b-xj-project-corrected.eml"),
            fixture("eml/P08a-cq-course.eml"),
            fixture("eml/P08b-cq-course-resent.eml"),
        ],
    );
    let first = r[0]["attachments"][0]["entry"]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    let second = r[1]["attachments"][0]["entry"]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    // Current versions only: the superseded one is not listed, but kept.
    let current = list(&s, &["--province", "XJ"]);
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["receipt"], second.as_str());
    assert_eq!(current[0]["supersedes"], first.as_str());
    let all = list(&s, &["--province", "XJ", "--all-versions"]);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["superseded_by"], second.as_str());
    // The duplicate created no entry.
    assert_eq!(list(&s, &["--province", "CQ"]).len(), 1);

    // Reprocessing the corrected message files a new version with a new receipt.
    let id = r[1]["stored_id"].as_i64().unwrap().to_string();
    let out = s.lndx(None, &["reprocess", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let third = again["attachments"][0]["entry"]["receipt"]
        .as_str()
        .unwrap();
    assert_ne!(third, second);
    assert_ne!(third, first);
    assert_eq!(
        again["attachments"][0]["entry"]["supersedes"],
        second.as_str()
    );
    let all = list(&s, &["--all-versions"]);
    let mut receipts: Vec<&str> = all.iter().map(|e| e["receipt"].as_str().unwrap()).collect();
    let n = receipts.len();
    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), n, "receipts are unique");
}

/// Held replies as the outbox records them: (id, last_error).
fn held_rows(s: &Scratch) -> Vec<(i64, String)> {
    let db = rusqlite::Connection::open(s.data().join("lndx.db")).unwrap();
    let mut st = db
        .prepare("SELECT id, coalesce(last_error, '') FROM outbox WHERE state = 'held' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A robot that answers each receipt with the same text (threaded to our reply, no
/// Auto-Submitted) is a loop: after two answered repeats the reply is held (kept, not
/// sent), and a release sends it, once. The same form sent again without answering us is
/// answered every time.
#[test]
fn the_loop_guard_holds_a_robot_answering_our_replies_and_a_release_sends_it() {
    let s = Scratch::new("guard");
    let cfg = s.config("[loop_guard]\nrepeats = 2\n");
    // The same mail five times, not answering us: five replies.
    let again: Vec<_> = (0..5)
        .map(|_| fixture("eml/P12-tj-no-attachment.eml"))
        .collect();
    let r = s.ingest(Some(&cfg), &again);
    assert!(r.iter().all(|m| m["reply"]["held"].is_null()));
    assert_eq!(s.outbox_files().len(), 5);
    // A robot answers our last reply, then each of ours in turn.
    let mut last = r[4]["reply"]["message_id"].as_str().unwrap().to_string();
    let mut held = Vec::new();
    for i in 0..5 {
        let raw = format!(
            "From: <robot@tj.test>\r\nTo: <lndx@ouchn.test>\r\nSubject: Re: receipt\r\n\
             Message-ID: <robot-{i}@tj.test>\r\nIn-Reply-To: {last}\r\nReferences: {last}\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nI am away.\r\n> 回执 {i}\r\n"
        );
        let p = s.dir.join(format!("robot{i}.eml"));
        std::fs::write(&p, raw).unwrap();
        let m = s.ingest(Some(&cfg), &[p]).remove(0);
        held.push(m["reply"]["held"].is_string());
        last = m["reply"]["message_id"].as_str().unwrap().to_string();
    }
    assert_eq!(held, [false, false, true, true, true]);
    assert_eq!(s.outbox_files().len(), 7, "two answers to the robot leave");
    let rows = held_rows(&s);
    assert_eq!(rows.len(), 3);
    assert!(rows[0].1.contains("robot@tj.test"), "{rows:?}");

    let reg = lndx::registry::Registry::open(&s.data()).unwrap();
    assert!(reg.release_held_mail(rows[0].0).unwrap());
    assert!(!reg.release_held_mail(rows[0].0).unwrap(), "released once");
    drop(reg);
    // Any later command that sends flushes the released reply.
    s.ingest(
        Some(&cfg),
        &[fixture("eml/P01-gd-valid-case-with-scan.eml")],
    );
    assert_eq!(
        s.outbox_files().len(),
        9,
        "the released reply and the new one"
    );
    assert_eq!(held_rows(&s).len(), 2);
}

/// A province that sends each course in its own mail gets every receipt: 50 different
/// mails from one sender on one day are all answered (the old daily cap of 40 dropped ten).
#[test]
fn fifty_different_mails_from_one_sender_are_all_answered() {
    let s = Scratch::new("fifty");
    let raw = std::fs::read(fixture("eml/P12-tj-no-attachment.eml")).unwrap();
    let files: Vec<_> = (0..50)
        .map(|i| {
            let text = String::from_utf8_lossy(&raw).replace(
                "Message-ID: <4f0d2c1e",
                &format!("Message-ID: <n{i}-4f0d2c1e"),
            );
            let p = s.dir.join(format!("m{i}.eml"));
            std::fs::write(&p, format!("{text}\ncourse {i}\n")).unwrap();
            p
        })
        .collect();
    let r = s.ingest(None, &files);
    assert_eq!(r.len(), 50);
    assert!(r.iter().all(|m| m["reply"]["held"].is_null()));
    assert_eq!(s.outbox_files().len(), 50);
    assert!(held_rows(&s).is_empty());
}

#[test]
fn registered_only_policy_refuses_unregistered_senders() {
    let s = Scratch::new("policy");
    let cfg = s.config("[senders]\npolicy = \"registered\"\n");
    let r = s.ingest(Some(&cfg), &[fixture("eml/P15-yn-unregistered-sender.eml")]);
    let codes: Vec<&str> = r[0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["sender_not_allowed"]);
    assert!(r[0]["province"].is_null());
    assert_eq!(r[0]["attachments"][0]["entry"]["status"], "held");
}

#[test]
fn run_files_a_maildir_message_and_writes_its_reply() {
    let s = Scratch::new("run");
    let maildir = s.data().join("mail");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = s.config(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lndx"))
        .arg("--data-dir")
        .arg(s.data())
        .arg("--rules")
        .arg(s.rules())
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .current_dir(&s.dir)
        .env("LNDX_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !maildir.join("new").is_dir() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Deliver as an MTA does: write to tmp/, rename into new/.
    let raw = std::fs::read(fixture("eml/P02-zj-project-and-course.eml")).unwrap();
    std::fs::write(maildir.join("tmp/1700000000.M1P1.test"), &raw).unwrap();
    std::fs::rename(
        maildir.join("tmp/1700000000.M1P1.test"),
        maildir.join("new/1700000000.M1P1.test"),
    )
    .unwrap();
    while s.outbox_files().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(s.outbox_files().len(), 1, "the reply is in the outbox");
    let reply = std::fs::read_to_string(&s.outbox_files()[0]).unwrap();
    assert!(reply.contains("Auto-Submitted: auto-replied"));
    // The message moved to cur/, never deleted.
    while std::fs::read_dir(maildir.join("cur")).unwrap().count() == 0 && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_dir(maildir.join("new")).unwrap().count(), 0);
    // Health and metrics on the loopback address.
    let health: serde_json::Value = serde_json::from_str(&http_get(port, "/healthz")).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["filed"], 1);
    assert_eq!(health["quarantined"], 0);
    let metrics = http_get(port, "/metrics");
    assert!(metrics.contains("lndx_messages_filed_total 1"), "{metrics}");
    assert!(metrics.contains("# TYPE lndx_outbox_depth gauge"));
    // SIGTERM stops it cleanly.
    kill(child.id(), 15);
    let status = wait_timeout(&mut child, Duration::from_secs(10)).expect("stopped after SIGTERM");
    assert!(status.success());
    assert_eq!(list(&s, &["--province", "ZJ"]).len(), 2);
}

fn kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn wait_timeout(child: &mut std::process::Child, d: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(c, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"),
        "{out}"
    );
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}
