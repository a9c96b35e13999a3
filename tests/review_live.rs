//! 专家评议 end to end on the real mail stack (tests/mailstack: Dovecot and Postfix on
//! loopback) and in a real browser: the sample messages arrive in lndx's mailbox and are
//! filed by `lndx run`; a round over batch 1's cases is published and every expert's
//! mailbox holds exactly one invitation; one expert signs in with the invitation's link
//! and scores every entry on the review page in headless Chromium; another mails the
//! filled score sheet back and gets a receipt; the clock (injected with `review remind
//! --at`) passes the first reminder day several times and only the expert with unfinished
//! reviews is reminded, once; decisions are published and every province's mailbox holds
//! exactly one outcome mail.

mod browser;
mod common;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use browser::{Browser, Driver};
use common::*;
use futures::TryStreamExt;
use serde_json::{json, Value};
use util::mail::{attachments, fill_sheet, header, sheet_reply};

/// Every message in `user`'s INBOX sent by `from`, whole, in arrival order.
fn mails_from(stack: &Stack, user: &str, from: &str) -> Vec<Vec<u8>> {
    rt().block_on(async {
        let mut s = imap_login(stack, user).await;
        let mbox = s.select("INBOX").await.expect("SELECT");
        let mut out = Vec::new();
        if mbox.exists > 0 {
            let mut fetches: Vec<_> = s
                .uid_fetch("1:*", "(UID BODY.PEEK[])")
                .await
                .expect("FETCH")
                .try_collect()
                .await
                .expect("FETCH stream");
            fetches.sort_by_key(|f| f.uid);
            for f in fetches {
                if let Some(body) = f.body() {
                    if header(body, "from") == from {
                        out.push(body.to_vec());
                    }
                }
            }
        }
        let _ = s.logout().await;
        out
    })
}

/// Waits until `user` holds `n` mails from `from`, then a few seconds more to see that no
/// further one arrives; returns them.
fn exactly(stack: &Stack, user: &str, from: &str, n: usize, what: &str) -> Vec<Vec<u8>> {
    wait_for(Duration::from_secs(60), what, || {
        (mails_from(stack, user, from).len() >= n).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    let got = mails_from(stack, user, from);
    assert_eq!(got.len(), n, "{what}: {user} holds {} mails", got.len());
    got
}

fn ok(l: &Lndx, args: &[&str]) -> String {
    let (ok, out, err) = l.cmd(args);
    assert!(ok, "lndx {args:?} failed:\n{out}{err}");
    out
}

#[test]
fn live_review_round_from_invitations_to_outcomes() {
    let stack = Stack::shared();
    let staff = format!("staff-{}@ouchn.test", token());
    let mut l = Lndx::new(
        stack,
        Opts {
            // A report slot far away: the round's completion mail goes to the report's staff.
            report: Some(("0 0 9 1 1 *".into(), staff.clone())),
            ..Opts::default()
        },
    );
    let port = free_port();
    l.replace_section("web",
        &format!("enabled = true\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\""),
    );

    // The sample messages arrive; lndx files and answers them.
    let raws: Vec<Vec<u8>> = sample_names().iter().map(|n| sample(n)).collect();
    rt().block_on(append_all(stack, &l.robot, &raws));
    l.start();
    l.wait_filed(raws.len() as i64, Duration::from_secs(180));

    // Three experts from three provinces; a round over batch 1's cases, two per entry.
    let tag = token();
    let experts: Vec<String> = (1..=3)
        .map(|i| format!("e{i}-{tag}@example.test"))
        .collect();
    for (email, province) in experts.iter().zip(["四川", "湖南", "湖北"]) {
        ok(
            &l,
            &[
                "review",
                "expert",
                "add",
                email,
                "--name",
                "评审专家",
                "--province",
                province,
                "--expertise",
                "案例",
            ],
        );
    }
    let created = ok(
        &l,
        &[
            "review",
            "round",
            "create",
            "--batch",
            "1",
            "--kind",
            "case",
            "--per-entry",
            "2",
            "--due",
            "2031-01-20",
        ],
    );
    let round = created.lines().last().unwrap().trim().to_string();
    let doc: Value =
        serde_json::from_str(&ok(&l, &["review", "assign", &round, "--json"])).unwrap();
    let mut mine: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in doc["assignments"].as_array().unwrap() {
        mine.entry(a["expert"].as_str().unwrap().to_string())
            .or_default()
            .push(a["receipt"].as_str().unwrap().to_string());
    }
    assert_eq!(
        mine.keys().cloned().collect::<BTreeSet<_>>(),
        experts.iter().cloned().collect(),
        "every expert has work: {doc}"
    );
    let receipts: BTreeSet<String> = mine.values().flatten().cloned().collect();

    // Publication: each expert's mailbox holds exactly one invitation, with the score sheet
    // and a sign-in link, listing all their entries.
    ok(&l, &["review", "publish", &round]);
    let mut invitations: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for e in &experts {
        let got = exactly(stack, e, &l.robot, 1, "one invitation");
        let raw = got.into_iter().next().unwrap();
        assert_eq!(header(&raw, "Auto-Submitted"), "auto-generated");
        let text = header(&raw, "text");
        for r in &mine[e] {
            assert!(
                text.contains(r.as_str()),
                "{e}'s invitation lists {r}:\n{text}"
            );
        }
        assert!(
            text.contains(&format!("http://127.0.0.1:{port}/signin/")),
            "a sign-in link:\n{text}"
        );
        invitations.insert(e.clone(), raw);
    }

    // The first expert scores every entry on the review page, in the browser.
    let web_expert = &experts[0];
    score_on_the_web(&l, port, &invitations[web_expert], &mine[web_expert]);
    let submitted: i64 = l
        .db()
        .query_row(
            "SELECT count(DISTINCT v.receipt) FROM review_versions v
             JOIN review_experts x ON x.id = v.expert
             WHERE v.round = ?1 AND x.email = ?2 AND v.submitted = 1 AND v.via = 'web'",
            rusqlite::params![round.parse::<i64>().unwrap(), web_expert],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(submitted as usize, mine[web_expert].len());

    // The second mails the filled sheet back and gets a receipt listing what was recorded.
    let sheet_expert = &experts[1];
    let sheet = attachments(&invitations[sheet_expert])
        .into_iter()
        .find(|(n, _)| n.ends_with(".xlsx"))
        .expect("the invitation carries the score sheet")
        .1;
    let filled = fill_sheet(
        &sheet,
        &|_, _| {
            Some((
                vec![14.0, 13.0, 12.0, 15.0, 11.0, 9.0, 8.0],
                "材料扎实，可推广".into(),
                "推荐".into(),
            ))
        },
        &[],
    );
    rt().block_on(smtp_send(
        stack,
        sheet_expert,
        &l.robot,
        &sheet_reply(
            sheet_expert,
            &l.robot,
            "回复：评审邀请",
            "评分表-已填.xlsx",
            &filled,
        ),
    ));
    let got = exactly(stack, sheet_expert, &l.robot, 2, "the sheet's receipt");
    let text = header(&got[1], "text");
    assert!(
        text.contains("已记录") && text.contains("总分 82"),
        "{text}"
    );
    for r in &mine[sheet_expert] {
        assert!(text.contains(r.as_str()), "the receipt names {r}:\n{text}");
    }

    // The clock passes the first reminder day (3 days before the due date) several times:
    // only the third expert has unfinished reviews and is reminded, once.
    for at in [
        "2031-01-17 08:30",
        "2031-01-17 09:30",
        "2031-01-17 09:31",
        "2031-01-17 18:00",
        "2031-01-18 10:00",
    ] {
        ok(&l, &["review", "remind", "--at", at]);
    }
    l.stop();
    l.start();
    ok(&l, &["review", "remind", "--at", "2031-01-17 20:00"]);
    let reminded = exactly(stack, &experts[2], &l.robot, 2, "one reminder");
    assert!(
        header(&reminded[1], "subject").contains("提醒"),
        "{}",
        header(&reminded[1], "subject")
    );
    exactly(
        stack,
        &experts[0],
        &l.robot,
        1,
        "no reminder to the web expert",
    );
    exactly(
        stack,
        &experts[1],
        &l.robot,
        2,
        "no reminder to the sheet expert",
    );

    // The third scores on the command line; the staff get one completion mail.
    for r in &mine[&experts[2]] {
        let mut args = vec![
            "review",
            "score",
            &round,
            r,
            "--expert",
            &experts[2],
            "--comment",
            "可以",
            "--recommendation",
            "可推荐",
        ];
        for sc in [
            "background=10",
            "practice=10",
            "results=10",
            "lessons=10",
            "spread=10",
            "theme_fit=6",
            "leading=6",
        ] {
            args.push("--score");
            args.push(sc);
        }
        ok(&l, &args);
    }
    ok(&l, &["review", "remind", "--at", "2031-01-20 09:30"]);
    exactly(stack, &staff, &l.robot, 1, "the round's completion mail");

    // Decisions: the top entry recommended, the rest not; published twice, sent once.
    let ranking: Value =
        serde_json::from_str(&ok(&l, &["review", "ranking", &round, "--json"])).unwrap();
    let top = ranking["entries"][0]["receipt"]
        .as_str()
        .unwrap()
        .to_string();
    for r in &receipts {
        let d = if *r == top { "推介" } else { "不推介" };
        ok(&l, &["review", "decide", &round, r, d]);
    }
    ok(&l, &["review", "publish-decisions", &round]);
    ok(&l, &["review", "publish-decisions", &round]);

    // Each province that sent an entry of the round: every address it sent from holds
    // exactly one outcome mail, with its entries and no scores or experts.
    let db = l.db();
    let mut by_province: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for r in &receipts {
        let (province, sender): (String, String) = db
            .query_row(
                "SELECT e.province, lower(m.sender) FROM entries e JOIN messages m ON m.id = e.message
                 WHERE e.receipt = ?1",
                [r],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let p = by_province.entry(province).or_default();
        p.0.insert(sender);
        p.1.insert(r.clone());
    }
    assert!(by_province.len() >= 2, "{by_province:?}");
    for (province, (senders, theirs)) in &by_province {
        for sender in senders {
            let outcomes: Vec<Vec<u8>> = exactly_matching(stack, sender, &l.robot, "专家评议结果");
            assert_eq!(outcomes.len(), 1, "{province} ({sender}): one outcome mail");
            let text = header(&outcomes[0], "text");
            for r in theirs {
                assert!(
                    text.contains(r.as_str()),
                    "{province}'s outcome lists {r}:\n{text}"
                );
            }
            for r in receipts.difference(theirs) {
                assert!(
                    !text.contains(r.as_str()),
                    "{province}'s outcome lists {r}:\n{text}"
                );
            }
            assert!(
                !text.contains("82") && !text.contains("example.test"),
                "{text}"
            );
        }
    }
    l.stop();
}

/// The expert signs in with the link of their invitation in headless Chromium, opens each
/// of their entries from 我的评审, types every score (the live total follows), a comment
/// and a recommendation, and submits.
fn score_on_the_web(l: &Lndx, port: u16, invitation: &[u8], receipts: &[String]) {
    let text = header(invitation, "text");
    let prefix = format!("http://127.0.0.1:{port}/signin/");
    let at = text
        .find(&prefix)
        .expect("a sign-in link in the invitation");
    let link: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !"（）()<>".contains(*c))
        .collect();
    let work = l.dir.path().join("browser");
    let downloads = work.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let driver = Driver::start(&work.join("chromedriver.log"));
    let b = Browser::open(&driver, &work.join("profile"), &downloads);
    b.go(&link);
    b.follow("#signin");
    assert!(b.url().ends_with("/review"), "{}", b.url());
    let rows = b.script(
        "return [...document.querySelectorAll(\"a[href^='/review/']\")]
           .map(a => [a.getAttribute('href'), a.closest('tr') ? a.closest('tr').innerText : a.innerText]);",
    );
    let rows: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (i, receipt) in receipts.iter().enumerate() {
        let href = &rows
            .iter()
            .find(|(_, row)| row.contains(receipt.as_str()))
            .unwrap_or_else(|| panic!("{receipt} is not in 我的评审: {rows:?}"))
            .0;
        b.go(&format!("http://127.0.0.1:{port}{href}"));
        assert!(b.text().contains(receipt.as_str()));
        let inputs = b.script(
            "return [...document.querySelectorAll('input.score')].map(e => [e.id, Number(e.max)]);",
        );
        let mut expected = 0.0;
        for v in inputs.as_array().unwrap() {
            let score = v[1].as_f64().unwrap() - 3.0;
            expected += score;
            b.type_into(&format!("#{}", v[0].as_str().unwrap()), &score.to_string());
        }
        assert_eq!(
            b.script("return document.getElementById('total').textContent;"),
            json!(expected.to_string()),
            "the live total"
        );
        b.type_into("#comment", "设计完整，实施扎实，可推广。");
        b.click("input[name=recommendation][value='推荐']");
        if i == 0 {
            b.both_widths("review-live-form");
        }
        b.follow("button[name=action][value=submit]");
        assert!(b.url().contains("saved=submitted"), "{}", b.url());
    }
    b.go(&format!("http://127.0.0.1:{port}/review"));
    b.both_widths("review-live-mine");
}

/// The mails from `from` in `user`'s INBOX whose subject contains `word`, once they have
/// arrived and a few seconds have passed.
fn exactly_matching(stack: &Stack, user: &str, from: &str, word: &str) -> Vec<Vec<u8>> {
    let matching = || -> Vec<Vec<u8>> {
        mails_from(stack, user, from)
            .into_iter()
            .filter(|m| header(m, "subject").contains(word))
            .collect()
    };
    wait_for(Duration::from_secs(60), word, || {
        (!matching().is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    matching()
}
