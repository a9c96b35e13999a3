//! 我的评审 over HTTP, against a running `lndx run` with a registry made from the real
//! sample messages: a published round whose invitation's sign-in link takes the expert to
//! their list; another expert's assignment is 404, a province account gets 404 and staff
//! 403; a draft then a submission are two versions; a score out of range is refused with
//! the Chinese message beside the field and nothing recorded; a recusal replaces the
//! expert; a POST without the CSRF token is refused; a closed round is read-only.

mod console;
mod util;

use std::collections::BTreeMap;

use console::client::Client;
use console::Console;

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "lndx failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The criteria inputs of a review page: (input name, max points).
fn score_inputs(body: &str) -> Vec<(String, f64)> {
    body.match_indices("<input type=\"number\"")
        .map(|(i, _)| {
            let tag = &body[i..i + body[i..].find('>').unwrap()];
            let attr = |a: &str| {
                let k = format!(" {a}=\"");
                let at = tag.find(&k).unwrap() + k.len();
                tag[at..].split('"').next().unwrap().to_string()
            };
            (attr("name"), attr("max").parse().unwrap())
        })
        .collect()
}

/// The review versions of an expert's review of an entry: (submitted, total).
fn versions(c: &Console, receipt: &str, expert: &str) -> Vec<(bool, f64)> {
    let db = c.db();
    let mut st = db
        .prepare(
            "SELECT v.submitted, v.total FROM review_versions v
             JOIN review_experts x ON x.id = v.expert
             WHERE v.receipt = ?1 AND x.email = ?2 ORDER BY v.id",
        )
        .unwrap();
    st.query_map([receipt, expert], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get(1)?))
    })
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

/// The assignments in force: (id, receipt, expert e-mail).
fn assignments(c: &Console) -> Vec<(i64, String, String)> {
    let db = c.db();
    let mut st = db
        .prepare(
            "SELECT a.id, a.receipt, x.email FROM review_assignments a
             JOIN review_experts x ON x.id = a.expert
             WHERE a.ended_at IS NULL ORDER BY a.id",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

const EXPERT: &str = Console::EXPERT;

#[test]
fn an_expert_reviews_on_the_console_and_nobody_else_gets_in() {
    let c = Console::start("review-console");
    let cfg = c.scratch.dir.join("lndx.toml");
    let lndx = |args: &[&str]| ok(c.scratch.lndx(Some(&cfg), args));

    // The console's expert account (made with `lndx user add`) is linked when it is
    // added as an expert; three more experts get new accounts.
    let (round, before_publish) = c.published_round();
    let users = lndx(&["user", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_str(&users).unwrap();
    let experts: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "expert")
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        experts,
        [
            EXPERT,
            "x2@experts.test",
            "x3@experts.test",
            "x4@experts.test"
        ]
    );

    let all = assignments(&c);
    let mine: Vec<&(i64, String, String)> = all.iter().filter(|a| a.2 == EXPERT).collect();
    let others: Vec<&(i64, String, String)> = all.iter().filter(|a| a.2 != EXPERT).collect();
    assert!(mine.len() >= 2, "{all:?}");
    let theirs = others
        .iter()
        .find(|a| !mine.iter().any(|m| m.1 == a.1))
        .or(others.first())
        .expect("another expert's assignment");

    // The invitation's link signs the expert in and leads to 我的评审.
    let decoded = c.scratch.outbox_files()[before_publish..]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .find_map(|raw| {
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let to: Vec<String> = m
                .to()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.address())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            (to == [EXPERT]).then(|| m.body_text(0).unwrap_or_default().to_string())
        })
        .expect("the expert's invitation");
    let at = decoded.find(&format!("{}/signin/", c.base())).unwrap();
    let link: String = decoded[at..]
        .chars()
        .take_while(|ch| !ch.is_whitespace())
        .collect();
    let mut x = Client::new(&c);
    let signed = x.sign_in(&link);
    assert_eq!(signed.status, 303);
    assert_eq!(signed.location(), Some("/review"));

    // The list: the expert's own entries, each 未开始; the menu has 我的评审.
    let list = x.get("/review");
    assert_eq!(list.status, 200);
    assert!(list.body.contains("href=\"/review\">我的评审</a>"));
    for (id, receipt, _) in &mine {
        assert!(list.body.contains(&format!("href=\"/review/{id}\"")));
        assert!(list.body.contains(receipt.as_str()));
    }
    assert!(list.body.contains("未开始"));
    assert!(!list
        .body
        .contains(&format!("href=\"/review/{}\"", theirs.0)));
    for other in &others {
        assert!(
            !list.body.contains(&other.2),
            "no other expert is named: {}",
            other.2
        );
    }

    // Another expert's assignment, its file and its POST are 404, like a missing one.
    for path in [
        format!("/review/{}", theirs.0),
        format!("/review/{}/file", theirs.0),
        "/review/999999".to_string(),
    ] {
        assert_eq!(x.get(&path).status, 404, "{path}");
    }
    let csrf = list.csrf();
    let p = x.post(
        &format!("/review/{}", theirs.0),
        &[("csrf", &csrf), ("action", "save")],
    );
    assert_eq!(p.status, 404);

    // A province account gets 404 everywhere here; staff 403 (they use the staff pages).
    let mut gd = Client::new(&c);
    assert_eq!(gd.sign_in(&c.new_link("gd@gd.test")).status, 303);
    let mut staff = Client::new(&c);
    assert_eq!(staff.sign_in(&c.new_link("staff@nou.test")).status, 303);
    for path in ["/review".to_string(), format!("/review/{}", mine[0].0)] {
        assert_eq!(gd.get(&path).status, 404, "{path}");
        assert_eq!(staff.get(&path).status, 403, "{path}");
    }
    assert!(!gd.get("/").body.contains("我的评审"));

    // The review page: the entry, its file, the rubric with min/max, the live total's
    // script, no other expert's scores or names.
    let (id, receipt, _) = mine[0];
    let path = format!("/review/{id}");
    let page = x.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(receipt.as_str()));
    assert!(page
        .body
        .contains("<script src=\"/static/review.js\" defer></script>"));
    let inputs = score_inputs(&page.body);
    assert!(inputs.len() >= 3, "{}", page.body);
    assert!(page.body.contains("min=\"0\""));
    for other in &others {
        assert!(!page.body.contains(&other.2));
    }
    let file = x.get(&format!("/review/{id}/file"));
    assert_eq!(file.status, 200);
    let js = x.get("/static/review.js");
    assert_eq!(js.status, 200);
    assert!(js.body.contains("review-form"));

    // A draft with two scores, then the submission: two versions.
    let csrf = page.csrf();
    let mut form: BTreeMap<String, String> = BTreeMap::new();
    form.insert("csrf".into(), csrf.clone());
    form.insert(inputs[0].0.clone(), "10".into());
    form.insert(inputs[1].0.clone(), "8.5".into());
    form.insert("action".into(), "save".into());
    let pairs = |f: &BTreeMap<String, String>| -> Vec<(String, String)> {
        f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let post = |x: &mut Client, f: &BTreeMap<String, String>| {
        let p = pairs(f);
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        x.post(&path, &refs)
    };
    let saved = post(&mut x, &form);
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(versions(&c, receipt, EXPERT), [(false, 18.5)]);
    assert!(x.get("/review").body.contains("草稿"));

    let mut expected = 0.0;
    for (name, max) in &inputs {
        let v = (max - 1.0).max(0.0);
        expected += v;
        form.insert(name.clone(), v.to_string());
    }
    form.insert("comment".into(), "设计完整，成效可见。".into());
    form.insert("recommendation".into(), "推荐".into());
    form.insert("action".into(), "submit".into());
    let submitted = post(&mut x, &form);
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_eq!(
        versions(&c, receipt, EXPERT),
        [(false, 18.5), (true, expected)]
    );
    let page = x.get(&path);
    assert!(page.body.contains("评分已提交") || page.body.contains("已提交"));
    assert!(page.body.contains("草稿") && page.body.contains("已提交"));
    assert!(x.get("/review").body.contains("已提交"));

    // Out of range: refused beside the field in Chinese, nothing recorded.
    let mut bad = form.clone();
    let (name, max) = &inputs[0];
    bad.insert(name.clone(), (max + 5.0).to_string());
    let refused = post(&mut x, &bad);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("超出范围"), "{}", refused.body);
    assert!(refused
        .body
        .contains(&format!("aria-describedby=\"e_{}\"", &name[2..])));
    assert_eq!(versions(&c, receipt, EXPERT).len(), 2);
    // Submitting without a comment is refused too.
    let mut bare = form.clone();
    bare.insert("comment".into(), " ".into());
    let refused = post(&mut x, &bare);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("评审意见（评语）未填写"));
    assert_eq!(versions(&c, receipt, EXPERT).len(), 2);

    // Without the CSRF token (or with a foreign one) nothing is recorded.
    let mut forged = form.clone();
    forged.insert("csrf".into(), "forged".into());
    assert_eq!(post(&mut x, &forged).status, 403);
    forged.remove("csrf");
    assert_eq!(post(&mut x, &forged).status, 403);
    assert_eq!(versions(&c, receipt, EXPERT).len(), 2);

    // Every save was audited under the expert's name.
    let audited: i64 = c
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE actor = ?1 AND action IN ('review_save', 'review_submit')",
            [EXPERT],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 2);

    // Recusal: a reason is required; then another expert takes the entry.
    let (rid, rreceipt, _) = mine[1];
    let rpath = format!("/review/{rid}/recuse");
    let p = x.post(&rpath, &[("csrf", &csrf), ("reason", " ")]);
    assert_eq!(p.status, 422);
    assert!(p.body.contains("请填写回避理由"));
    let on_before = assignments(&c).iter().filter(|a| &a.1 == rreceipt).count();
    let p = x.post(&rpath, &[("csrf", &csrf), ("reason", "本单位作品")]);
    assert_eq!(p.status, 303, "{}", p.body);
    let now = assignments(&c);
    let on_entry: Vec<&String> = now
        .iter()
        .filter(|a| &a.1 == rreceipt)
        .map(|a| &a.2)
        .collect();
    assert_eq!(on_entry.len(), on_before, "replaced: {now:?}");
    assert!(!on_entry.contains(&&EXPERT.to_string()));
    assert_eq!(x.get(&format!("/review/{rid}")).status, 404);
    let recusals: i64 = c
        .db()
        .query_row(
            "SELECT count(*) FROM audit_log WHERE actor = ?1 AND action = 'review_recuse' AND note = '本单位作品'",
            [EXPERT],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(recusals, 1);
    let list = x.get("/review");
    assert!(list.body.contains("已回避"));

    // Closed: the page is read-only and a save is refused.
    lndx(&["review", "close", &round]);
    let page = x.get(&path);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("本轮评审已结束"));
    assert!(!page.body.contains("保存草稿"));
    assert!(page.body.contains(" disabled"));
    let p = post(&mut x, &form);
    assert_eq!(p.status, 422);
    assert!(p.body.contains("本轮评审已结束"));
    assert_eq!(versions(&c, receipt, EXPERT).len(), 2);
}

/// A campaign without `review.toml` has no expert review: `lndx run` still serves the
/// console, and 我的评审 is not found (with review it asks to sign in).
#[test]
fn without_review_rules_the_console_runs_and_my_reviews_is_not_found() {
    for (with_review, expected) in [(false, 404), (true, 303)] {
        let s = util::Scratch::new("review-optional");
        if !with_review {
            std::fs::remove_file(s.rules().join("review.toml")).unwrap();
        }
        let port = console::free_port();
        let cfg = s.config(&format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"));
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_lndx"))
            .arg("--data-dir")
            .arg(s.data())
            .arg("--rules")
            .arg(s.rules())
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .current_dir(&s.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut child = Stopped(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = child.0.try_wait().unwrap();
            assert!(exited.is_none(), "lndx run exited: {exited:?}");
            assert!(std::time::Instant::now() < deadline, "the console came up");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let status = agent
            .get(format!("http://127.0.0.1:{port}/review"))
            .call()
            .unwrap()
            .status()
            .as_u16();
        drop(child);
        assert_eq!(status, expected, "with review.toml: {with_review}");
    }
}

/// A started `lndx run`, stopped (SIGTERM, then waited for) when dropped.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-15")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

/// A round created with `--show-others`: an expert sees nothing of the other expert's
/// review of an entry until their own is submitted, then its scores and comment, never
/// the other expert's name or address. Without the option nothing is shown (the first
/// test's pages never carry the section).
#[test]
fn after_submitting_an_expert_sees_the_others_scores_without_names() {
    let c = Console::start("review-others");
    let cfg = c.scratch.dir.join("lndx.toml");
    let lndx = |args: &[&str]| ok(c.scratch.lndx(Some(&cfg), args));
    let (round, _) = c.published_round_with(&["--show-others"]);
    let all = assignments(&c);
    let (id, receipt, other) = all
        .iter()
        .filter(|(_, _, x)| x == EXPERT)
        .find_map(|(id, r, _)| {
            all.iter()
                .find(|(_, r2, x2)| r2 == r && x2 != EXPERT)
                .map(|(_, _, x2)| (*id, r.clone(), x2.clone()))
        })
        .expect("an entry the expert shares with another");
    let mut x = Client::signed_in(&c, EXPERT);
    let path = format!("/review/{id}");
    let page = x.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    let inputs = score_inputs(&page.body);

    // The other expert submits on the command line.
    let mut args: Vec<String> = [
        "review",
        "score",
        &round,
        &receipt,
        "--expert",
        &other,
        "--comment",
        "另一位专家：推广价值高",
        "--recommendation",
        "可推荐",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (name, max) in &inputs {
        args.push("--score".into());
        args.push(format!("{}={}", name.trim_start_matches("s_"), max - 2.0));
    }
    lndx(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let other_total: f64 = inputs.iter().map(|(_, m)| m - 2.0).sum();

    let before = x.get(&path).body;
    assert!(!before.contains("其他专家的评分"), "{before}");
    assert!(!before.contains("推广价值高"));

    // A draft is not a submission: still nothing.
    let csrf = x.get(&path).csrf();
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
    for (name, max) in &inputs {
        form.push((name.clone(), (max - 1.0).to_string()));
    }
    form.push(("comment".into(), "扎实".into()));
    form.push(("recommendation".into(), "推荐".into()));
    let post = |x: &mut Client, form: &[(String, String)], action: &str| {
        let mut f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        f.push(("action", action));
        x.post(&path, &f)
    };
    assert_eq!(post(&mut x, &form, "save").status, 303);
    assert!(!x.get(&path).body.contains("其他专家的评分"));

    assert_eq!(post(&mut x, &form, "submit").status, 303);
    let after = x.get(&path).body;
    assert!(after.contains("其他专家的评分"), "{after}");
    assert!(after.contains("推广价值高"), "{after}");
    assert!(
        after.contains(&format!("总分 {}", other_total)),
        "the other's total {other_total}: {after}"
    );
    let name: String = c
        .db()
        .query_row(
            "SELECT name FROM review_experts WHERE email = ?1",
            [&other],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!after.contains(&other) && !after.contains(&name), "{after}");
}
