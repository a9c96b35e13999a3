//! The staff desk through the real binary on real sample messages: the 待人工处理 queue
//! (`lndx attention`), every action (`lndx message|entry|outbox|note …`, `reprocess`), the
//! audit log (`lndx audit`) and its append-only triggers, the mail actions send (read
//! back from the outbox folder), withdrawn entries counting nowhere, and a SIGKILL inside
//! an action's transaction leaving the old state whole.

mod util;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use util::{fixture, Scratch};

const ACTOR: &str = "tester";

fn eml(name: &str) -> PathBuf {
    fixture(&format!("eml/{name}"))
}

/// Runs lndx as the test's actor; (exit code, stdout, stderr).
fn run(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    run_with(s, None, args)
}

fn run_with(s: &Scratch, config: Option<&std::path::Path>, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--as", ACTOR];
    all.extend_from_slice(args);
    let out = s.lndx(config, &all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs an action with --json and returns its document; panics unless it succeeded.
fn act(s: &Scratch, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = run(s, &all);
    assert_eq!(code, 0, "{args:?} failed: {out} {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Runs an action that must be refused; returns (exit code, error code, message).
fn refused(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = run(s, &all);
    assert_ne!(code, 0, "{args:?} should be refused: {out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let message = v["error"]["message"].as_str().unwrap().to_string();
    assert!(err.contains(&message), "stderr says it too: {err}");
    (
        code,
        v["error"]["code"].as_str().unwrap().to_string(),
        message,
    )
}

fn attention(s: &Scratch, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["attention", "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(s, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Vec<Value>>(out.trim()).unwrap()
}

fn audit(s: &Scratch, object: Option<&str>) -> Vec<Value> {
    let mut args = vec!["audit", "--json"];
    if let Some(o) = object {
        args.extend(["--object", o]);
    }
    let (code, out, err) = run(s, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<Vec<Value>>(out.trim()).unwrap()
}

fn list(s: &Scratch, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["registry", "list", "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = run(s, &args);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A mail in the outbox folder: (To, Subject, Message-ID, plain text).
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    text: String,
}

fn mails(s: &Scratch) -> Vec<Mail> {
    s.outbox_files()
        .iter()
        .map(|p| {
            let raw = std::fs::read(p).unwrap();
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to = m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            Mail {
                to,
                subject: m.subject().unwrap_or_default().to_string(),
                message_id: m.message_id().unwrap_or_default().to_string(),
                text: m.body_text(0).unwrap_or_default().to_string(),
            }
        })
        .collect()
}

fn item<'a>(items: &'a [Value], key: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["key"] == key)
}

fn db(s: &Scratch) -> rusqlite::Connection {
    rusqlite::Connection::open(s.data().join("lndx.db")).unwrap()
}

fn count(s: &Scratch, table: &str) -> i64 {
    db(s)
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_held_message_given_a_province_is_filed_with_receipts_and_answered() {
    let s = Scratch::new("desk-held");
    let r = s.ingest(None, &[eml("P16-unknown-province.eml")]);
    let id = r[0]["stored_id"].as_i64().unwrap();
    assert!(r[0]["province"].is_null());
    let held = r[0]["attachments"][0]["entry"]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(list(&s, &["--status", "held"]).len(), 1);
    let replies_before = mails(&s).len();

    let key = format!("message:{id}:unknown_province");
    let open = attention(&s, &[]);
    let it = item(&open, &key).expect("held message in the queue");
    assert_eq!(it["kind"], "held_province");
    assert!(it["actions"]
        .as_array()
        .unwrap()
        .contains(&Value::from("assign_province")));
    assert!(it["detail"].as_str().unwrap().contains(&held));

    // Refusals first: a province that does not exist, a message that is not held.
    let (code, err, message) = refused(&s, &["message", "assign-province", &id.to_string(), "ZZ"]);
    assert_eq!((code, err.as_str()), (1, "unknown_province"));
    assert!(message.contains("ZZ"), "{message}");
    let (_, err, _) = refused(&s, &["message", "assign-province", "999", "GD"]);
    assert_eq!(err, "not_found");
    assert!(audit(&s, None).is_empty(), "refusals are not audited");

    let done = act(&s, &["message", "assign-province", &id.to_string(), "广东"]);
    assert!(
        done["summary"].as_str().unwrap().contains("广东省"),
        "{done}"
    );
    assert_eq!(done["queued"].as_array().unwrap().len(), 1);

    // Its entry is filed for GD with a receipt of its own; the held version is superseded.
    let gd = list(&s, &["--province", "GD"]);
    assert_eq!(gd.len(), 1, "{gd:?}");
    let receipt = gd[0]["receipt"].as_str().unwrap();
    assert!(receipt.contains("-GD-"), "{receipt}");
    assert_eq!(gd[0]["status"], "valid");
    assert!(list(&s, &["--status", "held"]).is_empty());
    let all = list(&s, &["--all-versions"]);
    let old = all.iter().find(|e| e["receipt"] == held.as_str()).unwrap();
    assert_eq!(old["superseded_by"], receipt);

    // The sender got the normal reply, naming the new receipt and the province.
    let after = mails(&s);
    assert_eq!(after.len(), replies_before + 1);
    let reply = after
        .iter()
        .find(|m| m.text.contains(receipt))
        .expect("a reply naming the new receipt");
    assert_eq!(reply.to, "yinling_sz@126.test");
    assert!(reply.text.contains("广东省"), "{}", reply.text);

    // The item left the open queue and keeps who resolved it.
    assert!(item(&attention(&s, &[]), &key).is_none());
    let resolved = attention(&s, &["--all"]);
    let it = item(&resolved, &key).expect("resolved item stays queryable");
    assert_eq!(it["resolved"]["by"], "cli:tester");
    assert_eq!(it["resolved"]["how"], "assign_province");

    // The audit row has the message before and after.
    let rows = audit(&s, Some(&format!("message:{id}")));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor"], "cli:tester");
    assert_eq!(rows[0]["action"], "assign_province");
    assert_eq!(rows[0]["id"], done["audit"]);
    assert!(rows[0]["before"]["province"].is_null());
    assert_eq!(rows[0]["before"]["entries"][0]["status"], "held");
    assert_eq!(rows[0]["after"]["province"], "GD");
    assert_eq!(rows[0]["after"]["entries"][0]["receipt"], receipt);

    // Once filed, it is no longer held: a second assignment is refused.
    let (_, err, _) = refused(&s, &["message", "assign-province", &id.to_string(), "GD"]);
    assert_eq!(err, "not_held");

    // Reprocessing keeps staff's decision (the province) and is audited too.
    let (code, out, err) = run(&s, &["reprocess", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    let again: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(again["province"], "GD");
    assert_eq!(audit(&s, Some(&format!("message:{id}"))).len(), 2);
}

/// The weekly report's text as of now.
fn report(s: &Scratch) -> String {
    let dir = s.dir.join(format!("report-{}", util::rand_u64()));
    let (code, _, err) = run(s, &["report", "preview", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::fs::read_to_string(dir.join("report.txt")).unwrap()
}

#[test]
fn late_entries_are_accepted_into_a_batch_or_rejected_and_the_sender_is_told() {
    for accept in [true, false] {
        let s = Scratch::new("desk-late");
        s.ingest(None, &[eml("P19-jl-late.eml")]);
        let late = list(&s, &[]);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0]["late"], true);
        let receipt = late[0]["receipt"].as_str().unwrap().to_string();
        let key = format!("entry:{receipt}:late");
        assert!(item(&attention(&s, &[]), &key).is_some());

        // The weekly report lists it under 待人工处理 until staff decide.
        assert!(report(&s).contains(&receipt));

        let (_, err, _) = refused(&s, &["entry", "accept-late", &receipt, "--batch", "9"]);
        assert_eq!(err, "bad_batch");
        let (_, err, _) = refused(&s, &["entry", "reject-late", "ZHZL-0000"]);
        assert_eq!(err, "not_found");

        let done = if accept {
            act(&s, &["entry", "accept-late", &receipt, "--batch", "3"])
        } else {
            act(&s, &["entry", "reject-late", &receipt])
        };
        assert_eq!(done["queued"].as_array().unwrap().len(), 1);
        assert!(item(&attention(&s, &[]), &key).is_none());
        assert!(!report(&s).contains(&receipt), "decided: no longer waiting");

        let notice = mails(&s)
            .into_iter()
            .find(|m| m.subject.contains(&receipt))
            .expect("the sender is told");
        assert_eq!(notice.to, "jiangtao@jl.test");
        let rows = audit(&s, Some(&format!("entry:{receipt}")));
        assert_eq!(rows.len(), 1);
        assert!(rows[0]["before"]["late_decision"].is_null());
        if accept {
            assert!(notice.text.contains("第三批"), "{}", notice.text);
            let b3 = list(&s, &["--batch", "3"]);
            assert_eq!(b3.len(), 1, "it counts in batch 3 now");
            assert_eq!(b3[0]["late"], false);
            assert_eq!(rows[0]["action"], "accept_late");
            assert_eq!(rows[0]["after"]["batch"], 3);
            assert_eq!(rows[0]["after"]["late_decision"]["decision"], "accepted");
        } else {
            assert!(notice.text.contains("不予受理"), "{}", notice.text);
            assert!(list(&s, &["--batch", "3"]).is_empty());
            assert_eq!(rows[0]["after"]["late_decision"]["decision"], "rejected");
        }
        // A decision is made once.
        let (_, err, message) = refused(&s, &["entry", "reject-late", &receipt]);
        assert_eq!(err, "already_resolved");
        assert!(message.contains("cli:tester"), "{message}");
    }
}

#[test]
fn a_withdrawn_entry_counts_nowhere_but_is_kept() {
    let s = Scratch::new("desk-withdraw");
    s.ingest(None, &[eml("P01-gd-valid-case-with-scan.eml")]);
    let gd = list(&s, &["--province", "GD"]);
    assert_eq!(gd.len(), 1);
    let receipt = gd[0]["receipt"].as_str().unwrap().to_string();

    let (_, err, _) = refused(&s, &["entry", "withdraw", &receipt, "--note", "  "]);
    assert_eq!(err, "empty_note");
    act(
        &s,
        &[
            "entry",
            "withdraw",
            &receipt,
            "--note",
            "广东省来电要求撤回",
        ],
    );

    assert!(list(&s, &["--province", "GD"]).is_empty(), "not listed");
    let csv = s.dir.join("export.csv");
    let (code, _, err) = run(&s, &["registry", "export", "--out", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(&csv).unwrap().contains(&receipt));
    // Kept in the database, with when it was withdrawn.
    let withdrawn: Option<String> = db(&s)
        .query_row(
            "SELECT withdrawn_at FROM entries WHERE receipt = ?1",
            [&receipt],
            |r| r.get(0),
        )
        .unwrap();
    assert!(withdrawn.is_some());
    let rows = audit(&s, Some(&format!("entry:{receipt}")));
    assert_eq!(rows[0]["action"], "withdraw");
    assert_eq!(rows[0]["note"], "广东省来电要求撤回");
    assert!(rows[0]["before"]["withdrawn_at"].is_null());
    assert!(rows[0]["after"]["withdrawn_at"].is_string());
    let (_, err, _) = refused(&s, &["entry", "withdraw", &receipt, "--note", "again"]);
    assert_eq!(err, "already_withdrawn");

    // The same form sent again (a new message, the same file): the reply's running total
    // no longer counts the withdrawn entry (the first reply did count it).
    assert!(mails(&s)[0]
        .text
        .contains("贵省本批次目前已受理：案例 1 个"));
    let mut again = b"X-Test-Copy: again\r\n".to_vec();
    again.extend(std::fs::read(eml("P01-gd-valid-case-with-scan.eml")).unwrap());
    let path = s.dir.join("again.eml");
    std::fs::write(&path, again).unwrap();
    s.ingest(None, &[path]);
    let replies = mails(&s);
    assert_eq!(replies.len(), 2);
    let second = replies
        .iter()
        .find(|m| !m.text.contains("案例 1 个"))
        .expect("a reply without the withdrawn entry in its total");
    assert!(
        second.text.contains(&receipt),
        "it names the earlier receipt"
    );

    // Notes on the entry and on its message are audited too.
    act(&s, &["note", "entry", &receipt, "已存档"]);
    act(&s, &["note", "message", "1", "来电记录"]);
    assert_eq!(audit(&s, Some(&format!("entry:{receipt}"))).len(), 2);
    assert_eq!(audit(&s, Some("message:1"))[0]["action"], "note");
}

#[test]
fn a_reply_is_resent_under_a_new_message_id_to_another_address() {
    let s = Scratch::new("desk-resend");
    s.ingest(None, &[eml("P04-sc-case-too-long.eml")]);
    let first = mails(&s);
    assert_eq!(first.len(), 1);

    let (_, err, _) = refused(&s, &["outbox", "resend", "1", "--to", "not an address"]);
    assert_eq!(err, "bad_address");
    let (_, err, _) = refused(&s, &["outbox", "resend", "42"]);
    assert_eq!(err, "not_found");

    let done = act(&s, &["outbox", "resend", "1", "--to", "office@sc.test"]);
    let new = done["queued"][0].as_i64().unwrap();
    assert_ne!(new, 1);
    let after = mails(&s);
    assert_eq!(after.len(), 2);
    let resent = after.iter().find(|m| m.to == "office@sc.test").unwrap();
    assert_eq!(resent.subject, first[0].subject);
    assert_ne!(resent.message_id, first[0].message_id);
    assert_eq!(resent.text, first[0].text);

    let rows = audit(&s, Some("outbox:1"));
    assert_eq!(rows[0]["action"], "resend");
    assert_eq!(rows[0]["before"]["state"], "sent");
    assert_eq!(rows[0]["after"]["resent_as"], new);
    let resends: Option<i64> = db(&s)
        .query_row("SELECT resends FROM outbox WHERE id = ?1", [new], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(resends, Some(1));

    // A bounce that quotes our reply offers to resend it; resending settles the bounce.
    let bounce = std::fs::read_to_string(eml("P14-sc-bounce.eml"))
        .unwrap()
        .replace(
            "<lndx-receipt-20211102-0031@ouchn.test>",
            &format!("<{}>", first[0].message_id),
        );
    let path = s.dir.join("bounce.eml");
    std::fs::write(&path, bounce).unwrap();
    let b = s.ingest(None, &[path]);
    let key = format!("message:{}:bounce", b[0]["stored_id"]);
    let open = attention(&s, &["--kind", "bounce"]);
    let it = item(&open, &key).expect("the bounce waits");
    assert_eq!(it["outbox"], 1, "{it}");
    assert_eq!(it["actions"][0], "resend");
    assert!(
        it["detail"].as_str().unwrap().contains("yangxm@sc.test"),
        "{it}"
    );
    act(&s, &["outbox", "resend", "1", "--to", "wangfang@sc.test"]);
    assert!(item(&attention(&s, &[]), &key).is_none());
    assert_eq!(
        item(&attention(&s, &["--all"]), &key).unwrap()["resolved"]["how"],
        "resend"
    );

    // A mail that was sent cannot be closed or released.
    let (_, err, _) = refused(&s, &["outbox", "close", "1", "--note", "x"]);
    assert_eq!(err, "bad_state");
    let (_, err, _) = refused(&s, &["outbox", "release", "1"]);
    assert_eq!(err, "bad_state");
}

#[test]
fn link_only_and_empty_mails_are_marked_handled_with_an_optional_reply() {
    let s = Scratch::new("desk-handled");
    let r = s.ingest(
        None,
        &[
            eml("P11-ah-large-attachment-link.eml"),
            eml("P12-tj-no-attachment.eml"),
        ],
    );
    let (link, empty) = (
        r[0]["stored_id"].as_i64().unwrap(),
        r[1]["stored_id"].as_i64().unwrap(),
    );
    let open = attention(&s, &[]);
    assert_eq!(
        item(&open, &format!("message:{link}:link_attachment")).unwrap()["kind"],
        "link_only"
    );
    assert_eq!(
        item(&open, &format!("message:{empty}:no_attachment")).unwrap()["kind"],
        "no_attachment"
    );
    let kinds = attention(&s, &["--kind", "link_only"]);
    assert_eq!(kinds.len(), 1);
    // Filing it again changes nothing (still only a link): the item stays open, and the
    // reprocess resolved nothing.
    let (code, _, err) = run(&s, &["reprocess", &link.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        item(
            &attention(&s, &[]),
            &format!("message:{link}:link_attachment")
        )
        .is_some(),
        "a reprocess that fixed nothing hid the item"
    );
    let (code, out, _) = run(&s, &["attention", "--kind", "nonsense", "--json"]);
    assert_eq!(code, 1);
    assert!(out.contains("unknown_kind"), "{out}");

    assert!(report(&s).contains("xujing@ah.test"));
    let before = mails(&s).len();
    let done = act(
        &s,
        &[
            "message",
            "handled",
            &link.to_string(),
            "--note",
            "已电话联系，改为附件重发",
            "--reply",
        ],
    );
    assert_eq!(done["queued"].as_array().unwrap().len(), 1);
    act(
        &s,
        &[
            "message",
            "handled",
            &empty.to_string(),
            "--note",
            "已电话联系",
        ],
    );
    let after = mails(&s);
    assert_eq!(after.len(), before + 1, "only the first asked for a reply");
    let reply = after
        .iter()
        .find(|m| m.text.contains("已电话联系，改为附件重发"))
        .unwrap();
    assert_eq!(reply.to, "xujing@ah.test");

    assert!(attention(&s, &[])
        .iter()
        .all(|i| i["message"] != link && i["message"] != empty));
    let (_, err, _) = refused(
        &s,
        &["message", "handled", &link.to_string(), "--note", "x"],
    );
    assert_eq!(err, "nothing_to_handle");
    assert_eq!(
        audit(&s, None).len(),
        3,
        "the reprocess and the two handled"
    );
    let text = report(&s);
    assert!(
        !text.contains("xujing@ah.test"),
        "handled: gone from the report"
    );
    assert!(
        !text.contains("liqiang@tj.test"),
        "handled: gone from the report"
    );
}

/// A sample message with a failing Authentication-Results header on top (as our
/// receiving server would add it), and a tag that makes its bytes its own.
fn forged(s: &Scratch, sample: &str, tag: &str) -> PathBuf {
    let raw = std::fs::read(eml(sample)).unwrap();
    let mut out = format!(
        "Authentication-Results: mx.ouchn.test; spf=fail smtp.mailfrom=gd.test; dkim=none; dmarc=fail header.from=gd.test\r\nX-Test-Copy: {tag}\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&raw);
    let p = s.dir.join(format!("{tag}.eml"));
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn a_message_held_by_the_authentication_check_is_released_or_rejected() {
    let s = Scratch::new("desk-auth");
    let r = s.ingest(
        None,
        &[
            forged(&s, "P01-gd-valid-case-with-scan.eml", "one"),
            forged(&s, "P02-zj-project-and-course.eml", "two"),
        ],
    );
    let (one, two) = (
        r[0]["stored_id"].as_i64().unwrap(),
        r[1]["stored_id"].as_i64().unwrap(),
    );
    assert_eq!(r[0]["attachments"][0]["entry"]["status"], "held");
    let open = attention(&s, &["--kind", "held_auth"]);
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().all(|i| i["actions"]
        .as_array()
        .unwrap()
        .contains(&Value::from("release_held"))));

    // Released: filed normally, a valid entry that counts for GD.
    let (_, err, _) = refused(&s, &["message", "assign-province", &one.to_string(), "GD"]);
    assert_eq!(err, "not_held", "its province is known");
    let done = act(&s, &["message", "release", &one.to_string()]);
    assert_eq!(done["queued"].as_array().unwrap().len(), 1);
    let gd = list(&s, &["--province", "GD"]);
    assert_eq!(gd.len(), 1);
    assert_eq!(gd[0]["status"], "valid");
    assert_eq!(gd[0]["version"], 2, "the held version is superseded");

    // Rejected with a notice: its entries stay held, counted nowhere.
    assert!(
        report(&s).contains("shenjiayi@zj.test"),
        "held: waits in the report"
    );
    let before = mails(&s).len();
    act(&s, &["message", "reject", &two.to_string(), "--notify"]);
    let after = mails(&s);
    assert_eq!(after.len(), before + 1);
    assert!(after.iter().any(|m| m.text.contains("不予受理")));
    assert!(list(&s, &["--province", "ZJ", "--status", "valid"]).is_empty());
    assert!(attention(&s, &[]).is_empty());
    let (_, err, _) = refused(&s, &["message", "reject", &two.to_string()]);
    assert_eq!(err, "already_resolved");
    let rows = audit(&s, None);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["action"], "reject_held");
    assert_eq!(rows[0]["after"]["decision"], "rejected");
    assert_eq!(rows[1]["action"], "release_held");
    assert!(
        !report(&s).contains("zj.test"),
        "the rejected message waits for nobody"
    );
}

#[test]
fn mail_held_by_the_loop_guard_is_released_or_closed() {
    let s = Scratch::new("desk-cap");
    let cfg = s.config("[limits]\nper_recipient_per_day = 1\n");
    let out = s.lndx(
        Some(&cfg),
        &[
            "ingest",
            "--json",
            eml("P09a-xj-project-invalid.eml").to_str().unwrap(),
            eml("P09b-xj-project-corrected.eml").to_str().unwrap(),
            eml("P08a-cq-course.eml").to_str().unwrap(),
            eml("P08b-cq-course-resent.eml").to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let held = attention(&s, &["--kind", "mail_held"]);
    assert_eq!(held.len(), 2, "{held:?}");
    let (first, second) = (
        held[0]["outbox"].as_i64().unwrap(),
        held[1]["outbox"].as_i64().unwrap(),
    );
    let files = s.outbox_files().len();

    let (code, out, _) = run_with(
        &s,
        Some(&cfg),
        &["outbox", "release", &first.to_string(), "--json"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        s.outbox_files().len(),
        files + 1,
        "released mail is delivered despite the cap"
    );
    let (code, out, _) = run_with(
        &s,
        Some(&cfg),
        &[
            "outbox",
            "close",
            &second.to_string(),
            "--note",
            "重复来信，无需再复",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(s.outbox_files().len(), files + 1, "closed mail is not sent");
    assert!(attention(&s, &[]).iter().all(|i| i["kind"] != "mail_held"));
    let rows = audit(&s, Some(&format!("outbox:{first}")));
    assert_eq!(rows[0]["before"]["state"], "held");
    assert_eq!(rows[0]["after"]["state"], "pending");
    assert_eq!(
        audit(&s, Some(&format!("outbox:{second}")))[0]["note"],
        "重复来信，无需再复"
    );
}

#[test]
fn the_audit_log_cannot_be_changed_or_emptied() {
    let s = Scratch::new("desk-audit");
    s.ingest(None, &[eml("P01-gd-valid-case-with-scan.eml")]);
    act(&s, &["note", "message", "1", "第一条"]);
    let c = db(&s);
    let e = c
        .execute("UPDATE audit_log SET actor = 'someone else'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c.execute("DELETE FROM audit_log", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let rows = audit(&s, None);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor"], "cli:tester");
}

/// Starts an action that pauses inside its transaction, kills it with SIGKILL there, and
/// returns once it is dead.
fn kill_inside(s: &Scratch, args: &[&str]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lndx"));
    cmd.arg("--data-dir")
        .arg(s.data())
        .arg("--rules")
        .arg(s.rules())
        .args(["--as", ACTOR])
        .args(args)
        .env("LNDX_LOG", "error")
        .env("LNDX_DESK_PAUSE_BEFORE_COMMIT_MS", "60000")
        .current_dir(&s.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "the action ended before its commit");
        if line.contains("lndx-desk: pausing before commit") {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
}

#[test]
fn a_kill_inside_an_action_leaves_the_old_state_whole() {
    let s = Scratch::new("desk-crash");
    let r = s.ingest(
        None,
        &[eml("P16-unknown-province.eml"), eml("P19-jl-late.eml")],
    );
    let held = r[0]["stored_id"].as_i64().unwrap().to_string();
    let late = r[1]["attachments"][0]["entry"]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    let snapshot = |s: &Scratch| {
        let c = db(s);
        let q = |sql: &str| -> String { c.query_row(sql, [], |r| r.get(0)).unwrap() };
        (
            q("SELECT json_group_array(json_array(receipt, status, province, batch, late, superseded_by, withdrawn_at)) FROM entries"),
            q("SELECT json_group_array(json_array(id, state, message_id)) FROM outbox"),
            q("SELECT json_group_array(json_array(id, province, result)) FROM messages"),
            count(s, "audit_log"),
            count(s, "resolutions") + count(s, "late_decisions") + count(s, "message_decisions"),
        )
    };
    let before = snapshot(&s);
    let files = s.outbox_files().len();

    kill_inside(&s, &["message", "assign-province", &held, "GD"]);
    kill_inside(&s, &["entry", "accept-late", &late, "--batch", "3"]);
    kill_inside(&s, &["outbox", "resend", "1", "--to", "office@gd.test"]);
    assert_eq!(
        snapshot(&s),
        before,
        "nothing of the killed actions remains"
    );
    assert_eq!(s.outbox_files().len(), files);
    assert!(audit(&s, None).is_empty());
    assert_eq!(attention(&s, &[]).len(), 2, "both items still open");

    // Run to completion, the same actions land whole.
    act(&s, &["message", "assign-province", &held, "GD"]);
    act(&s, &["entry", "accept-late", &late, "--batch", "3"]);
    assert_eq!(audit(&s, None).len(), 2);
    assert!(attention(&s, &[]).is_empty());
    assert_eq!(list(&s, &["--province", "GD"]).len(), 1);
    assert_eq!(list(&s, &["--batch", "3"]).len(), 1);
    assert_eq!(s.outbox_files().len(), files + 2);
}

#[test]
fn every_desk_command_explains_its_options() {
    let commands: [&[&str]; 14] = [
        &["attention"],
        &["audit"],
        &["message", "assign-province"],
        &["message", "release"],
        &["message", "reject"],
        &["message", "handled"],
        &["entry", "accept-late"],
        &["entry", "reject-late"],
        &["entry", "withdraw"],
        &["outbox", "resend"],
        &["outbox", "close"],
        &["outbox", "release"],
        &["note", "entry"],
        &["note", "message"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("-h");
        let out = Command::new(env!("CARGO_BIN_EXE_lndx"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--as <NAME>"), "{args:?}: {help}");
        for line in help.lines() {
            let t = line.trim_start();
            if line.starts_with("  ") && (t.starts_with('-') || t.starts_with('<')) {
                let said = t.split_once("  ").map(|(_, d)| d.trim()).unwrap_or("");
                assert!(!said.is_empty(), "{args:?}: {line:?} says nothing");
            }
        }
    }
}

#[test]
fn unreadable_files_are_listed_once_per_filing_and_handled_together() {
    let s = Scratch::new("desk-unreadable");
    let r = s.ingest(None, &[eml("P10-sh-mixed-formats.eml")]);
    let id = r[0]["stored_id"].as_i64().unwrap();
    let expected: Vec<String> = r[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["errors"].as_array().unwrap().clone())
        .filter_map(|e| e["code"].as_str().map(str::to_string))
        .filter(|c| {
            [
                "unsupported_format",
                "unreadable_attachment",
                "encrypted_document",
                "macro_document",
                "too_large",
            ]
            .contains(&c.as_str())
        })
        .collect();
    assert!(expected.len() >= 3, "{expected:?}");
    let items = attention(&s, &["--kind", "unreadable_file"]);
    let mut codes: Vec<String> = items
        .iter()
        .map(|i| {
            i["key"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut want = expected.clone();
    codes.sort();
    want.sort();
    assert_eq!(codes, want);
    assert!(items.iter().all(|i| i["message"] == id));

    // Filed again, the message's files are listed once (its latest filing), not twice.
    let (code, _, err) = run(&s, &["reprocess", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        attention(&s, &["--kind", "unreadable_file"]).len(),
        want.len()
    );

    let done = act(
        &s,
        &[
            "message",
            "handled",
            &id.to_string(),
            "--note",
            "已请上海市改为 .docx 重发",
        ],
    );
    assert!(done["summary"]
        .as_str()
        .unwrap()
        .contains(&want.len().to_string()));
    assert!(attention(&s, &["--kind", "unreadable_file"]).is_empty());
    let rows = audit(&s, Some(&format!("message:{id}")));
    assert_eq!(rows[0]["action"], "mark_handled");
    // Filed once more (say after a rules fix): what was handled stays handled.
    let (code, _, err) = run(&s, &["reprocess", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        attention(&s, &["--kind", "unreadable_file"]).is_empty(),
        "handled files came back after a reprocess"
    );
    assert_eq!(
        rows[0]["after"]["handled"].as_array().unwrap().len(),
        want.len()
    );
    assert_eq!(rows[1]["action"], "reprocess");
}
