//! 评审 and 推介 in the console over HTTP, against a running `lndx run` with a registry made
//! from the real sample messages: staff import experts (a bad row is shown with its row's
//! Chinese error), create a round, compute and publish the assignment (the folder outbox
//! gets one invitation per expert), see an adjustment refused on a conflict of interest,
//! see the ranking once scores are recorded with `lndx review score`, decide and publish
//! (one outcome mail per province); viewers see but cannot POST, province and expert
//! accounts get 404, a POST without the token or from another origin is refused, and every
//! action is in the audit log.

mod console;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use console::client::{xlsx_rows, Client};
use console::Console;

/// The recipients of the outbox files after the first `n`, waiting (the daemon's outbox
/// worker writes them) until `want` have appeared.
fn new_mail(c: &Console, n: usize, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let files = c.scratch.outbox_files();
        if files.len() >= n + want || Instant::now() > deadline {
            return files[n.min(files.len())..]
                .iter()
                .map(|f| {
                    let eml = String::from_utf8_lossy(&std::fs::read(f).unwrap()).to_string();
                    eml.lines()
                        .find(|l| l.starts_with("To:"))
                        .unwrap_or_default()
                        .trim_start_matches("To:")
                        .trim()
                        .to_lowercase()
                })
                .collect();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn audit_actions(c: &Console) -> Vec<(String, String, String)> {
    let db = c.db();
    let mut st = db
        .prepare(
            "SELECT action, object, actor FROM audit_log WHERE action LIKE 'review_%' ORDER BY id",
        )
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn staff_run_a_round_from_experts_to_published_decisions() {
    let c = Console::start("console-review");
    let cfg = c.scratch.dir.join("lndx.toml");
    let mut staff = Client::signed_in(&c, "staff@nou.test");

    // Experts imported from an .xlsx: six good rows, one with an unknown province.
    let page = staff.get("/experts");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let xlsx = util::experts_xlsx(&[
        [
            "张一",
            "广东开放大学",
            "广东省",
            "zhang1@experts.cn",
            "案例",
        ],
        ["李二", "浙江大学", "浙江", "li2@experts.cn", "项目、课程"],
        [
            "王三",
            "北京师范大学",
            "BJ",
            "wang3@experts.cn",
            "案例、项目",
        ],
        ["赵四", "辽宁大学", "辽宁", "zhao4@experts.cn", "课程"],
        ["周七", "某大学", "火星", "zhou7@experts.cn", "案例"],
        ["钱五", "四川大学", "四川", "qian5@experts.cn", "项目"],
        [
            "孙六",
            "湖南开放大学",
            "湖南",
            "sun6@experts.cn",
            "案例、课程",
        ],
    ]);
    let p = staff.upload("/experts/import", &csrf, "专家名单.xlsx", &xlsx);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("新增 6 位"), "{}", p.body);
    assert!(
        p.body.contains("第 7 行"),
        "the bad row's number: {}",
        p.body
    );
    assert!(p.body.contains("火星"), "what was wrong: {}", p.body);
    assert!(p.body.contains("unknown_province"), "{}", p.body);
    assert!(p.body.contains("sun6@experts.cn"), "the list: {}", p.body);
    // One added by hand.
    let p = staff.post(
        "/experts",
        &[
            ("csrf", &csrf),
            ("name", "冯八"),
            ("email", "feng8@experts.cn"),
            ("province", "江苏"),
            ("unit", "江苏开放大学"),
            ("expertise", "案例"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("已添加专家：feng8@experts.cn"),
        "{}",
        p.body
    );
    // A bad address is said in Chinese, nothing added.
    let p = staff.post(
        "/experts",
        &[("csrf", &csrf), ("name", "某"), ("email", "not-an-address")],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("不是有效的电子邮件地址"), "{}", p.body);

    // A declared conflict of interest: recorded with its audit row, and never assigned.
    let declared: String = c
        .db()
        .query_row(
            "SELECT receipt FROM entries WHERE receipt IS NOT NULL AND kind = 'case'
             ORDER BY receipt LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let p = staff.post(
        "/experts/conflict",
        &[
            ("csrf", &csrf),
            ("email", "Feng8@experts.cn"),
            ("receipt", &declared),
            ("note", "本人指导的作品"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("已登记回避：feng8@experts.cn 不再评审 {declared}")),
        "{}",
        p.body
    );
    let p = staff.post(
        "/experts/conflict",
        &[
            ("csrf", &csrf),
            ("email", "feng8@experts.cn"),
            ("receipt", "NO-SUCH-RECEIPT"),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(
        p.body.contains("没有回执号为 NO-SUCH-RECEIPT 的申报"),
        "{}",
        p.body
    );
    assert!(p.body.contains("unknown_receipt"), "{}", p.body);
    assert_eq!(
        c.db()
            .query_row(
                "SELECT count(*) FROM review_conflicts WHERE receipt = ?1",
                [&declared],
                |r| r.get::<_, i64>(0)
            )
            .unwrap(),
        1,
        "one conflict, the refused one not recorded"
    );

    // A round over batch 1.
    let page = staff.get("/rounds");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("新建评审轮次"));
    let p = staff.post(
        "/rounds",
        &[
            ("csrf", &csrf),
            ("batch", "1"),
            ("kind", ""),
            ("k", "3"),
            ("due", "2021-11-20"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let at = p.body.find("已创建第 ").expect("created") + "已创建第 ".len();
    let round: i64 = p.body[at..].split(' ').next().unwrap().parse().unwrap();
    assert!(p.body.contains(&format!("href=\"/rounds/{round}\"")));
    // A round of an unknown batch is refused in Chinese.
    let bad = staff.post("/rounds", &[("csrf", &csrf), ("batch", "9"), ("due", "")]);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("批次 9 不存在"), "{}", bad.body);
    // Several kinds ticked: a round of those kinds only.
    let two = staff.post(
        "/rounds",
        &[
            ("csrf", &csrf),
            ("batch", "1"),
            ("kind", "case"),
            ("kind", "project"),
            ("k", "3"),
            ("due", "2021-11-20"),
        ],
    );
    assert_eq!(two.status, 200, "{}", two.body);
    let kinds: String = c
        .db()
        .query_row(
            "SELECT kinds FROM review_rounds ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kinds, r#"["case","project"]"#);

    // The draft assignment, then publication: one invitation per expert.
    let path = format!("/rounds/{round}");
    let p = staff.post(&format!("{path}/assign"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("已计算分配草案"), "{}", p.body);
    let assignments: Vec<(String, String)> = {
        let db = c.db();
        let mut st = db
            .prepare(
                "SELECT a.receipt, x.email FROM review_assignments a
                 JOIN review_experts x ON x.id = a.expert
                 WHERE a.round = ?1 AND a.ended_at IS NULL ORDER BY a.receipt",
            )
            .unwrap();
        st.query_map([round], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    };
    assert!(!assignments.is_empty());
    for (receipt, _) in &assignments {
        assert!(p.body.contains(receipt.as_str()), "{receipt} on the page");
    }
    assert!(
        !assignments
            .iter()
            .any(|(r, x)| *r == declared && x == "feng8@experts.cn"),
        "the declared conflict is respected: {assignments:?}"
    );
    let experts: BTreeSet<&str> = assignments.iter().map(|(_, x)| x.as_str()).collect();
    let n = c.scratch.outbox_files().len();
    let p = staff.post(&format!("{path}/publish"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("已向 {} 位专家发出评审邀请", experts.len())),
        "{}",
        p.body
    );
    let to = new_mail(&c, n, experts.len());
    let got: BTreeSet<&str> = to.iter().map(String::as_str).collect();
    assert_eq!(to.len(), experts.len(), "one invitation each: {to:?}");
    assert_eq!(got, experts);
    // Published: publishing again is refused in Chinese.
    let again = staff.post(&format!("{path}/publish"), &[("csrf", &csrf)]);
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("不能发布"), "{}", again.body);

    // An adjustment onto an expert of the entry's own province is refused with the reason.
    let gd = assignments
        .iter()
        .map(|(r, _)| r)
        .find(|r| r.contains("-GD-"))
        .expect("a Guangdong entry")
        .clone();
    let someone = assignments
        .iter()
        .find(|(r, _)| *r == gd)
        .map(|(_, x)| x.clone())
        .unwrap();
    let p = staff.post(
        &format!("{path}/adjust"),
        &[
            ("csrf", &csrf),
            ("receipt", &gd),
            ("remove", &someone),
            ("add", "zhang1@experts.cn"),
        ],
    );
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.body.contains("存在回避关系（同省）"), "{}", p.body);
    assert!(p.body.contains("conflict_of_interest"), "{}", p.body);
    // …and nothing changed.
    assert!(c
        .db()
        .query_row(
            "SELECT count(*) FROM review_assignments a JOIN review_experts x ON x.id = a.expert
             WHERE a.round = ?1 AND a.receipt = ?2 AND x.email = ?3 AND a.ended_at IS NULL",
            rusqlite::params![round, gd, someone],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n == 1)
        .unwrap());

    // Reminders now: every expert was mailed today already (the invitation), so none,
    // and no sign-in link is made for a mail that does not go.
    let links = |c: &Console| -> i64 {
        c.db()
            .query_row("SELECT count(*) FROM signin_links", [], |r| r.get(0))
            .unwrap()
    };
    let before = links(&c);
    let p = staff.post(&format!("{path}/remind"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("已向 0 位专家发出催办邮件"), "{}", p.body);
    assert!(p.body.contains("今天已收到评审邮件"), "{}", p.body);
    assert_eq!(links(&c), before, "no link for a reminder left out");

    // Scores recorded from the command line: every assignment, totals differing by entry.
    let kinds: BTreeMap<String, String> = {
        let db = c.db();
        let mut st = db
            .prepare("SELECT receipt, kind FROM entries WHERE receipt IS NOT NULL")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for (i, (receipt, expert)) in assignments.iter().enumerate() {
        let kind = &kinds[receipt];
        let mut args: Vec<String> = [
            "review",
            "score",
            &round.to_string(),
            receipt,
            "--expert",
            expert,
            "--comment",
            "材料扎实",
            "--recommendation",
            "推荐",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for k in c.criterion_keys(kind) {
            args.push("--score".into());
            args.push(format!("{k}={}", 4 + (i % 5)));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = c.scratch.lndx(Some(&cfg), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let page = staff.get(&path);
    assert!(
        page.body.contains(&format!(
            "已提交 {} / 应评 {}",
            assignments.len(),
            assignments.len()
        )),
        "{}",
        page.body
    );

    // 推介: the ranking, every entry with its figures.
    let rec = staff.get(&format!("/recommend?round={round}"));
    assert_eq!(rec.status, 200, "{}", rec.body);
    let receipts: BTreeSet<&str> = assignments.iter().map(|(r, _)| r.as_str()).collect();
    for r in &receipts {
        assert!(rec.body.contains(&format!("id=\"row-{r}\"")), "{r} ranked");
    }
    assert!(rec.body.contains("第 1 名"), "{}", rec.body);
    assert!(rec.body.contains("平均标准分"));
    // Decide: the first entry 推介, the rest 不推介; a change is allowed before publication.
    let mut first = true;
    for r in &receipts {
        let d = if first { "recommend" } else { "decline" };
        first = false;
        let p = staff.post(
            "/recommend/decide",
            &[
                ("csrf", &csrf),
                ("round", &round.to_string()),
                ("receipt", r),
                ("decision", d),
                ("note", "经专家组讨论"),
            ],
        );
        assert_eq!(p.status, 200, "{}", p.body);
    }
    let top = receipts.iter().next().unwrap().to_string();
    let p = staff.post(
        "/recommend/decide",
        &[
            ("csrf", &csrf),
            ("round", &round.to_string()),
            ("receipt", &top),
            ("decision", "推介"),
            ("note", "优秀"),
        ],
    );
    assert!(p.body.contains(&format!("{top}：推介")), "{}", p.body);
    assert!(p.body.contains("已定 "), "{}", p.body);
    let bad = staff.post(
        "/recommend/decide",
        &[
            ("csrf", &csrf),
            ("round", &round.to_string()),
            ("receipt", &top),
            ("decision", "也许"),
        ],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("无法识别"), "{}", bad.body);
    // The export as filtered: only the recommended entry.
    let (status, bytes) =
        staff.download(&format!("/recommend.xlsx?round={round}&decision=recommend"));
    assert_eq!(status, 200);
    let rows = xlsx_rows(bytes);
    assert_eq!(rows.len(), 2, "header and the one recommended: {rows:?}");
    assert_eq!(rows[1][2], top);
    assert_eq!(rows[1][11], "推介");

    // Publication: one mail per province of the round's entries.
    let provinces: BTreeSet<String> = receipts
        .iter()
        .map(|r| r.split('-').nth(3).unwrap().to_string())
        .collect();
    let n = c.scratch.outbox_files().len();
    let p = staff.post(
        "/recommend/publish",
        &[("csrf", &csrf), ("round", &round.to_string())],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains(&format!("已向 {} 个省份发送结果", provinces.len())),
        "{}",
        p.body
    );
    let to = new_mail(&c, n, provinces.len());
    assert_eq!(to.len(), provinces.len(), "{to:?}");
    // Fixed now.
    let late = staff.post(
        "/recommend/decide",
        &[
            ("csrf", &csrf),
            ("round", &round.to_string()),
            ("receipt", &top),
            ("decision", "decline"),
        ],
    );
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body.contains("已发布，不能再修改"), "{}", late.body);

    // Close the round.
    let p = staff.post(&format!("{path}/close"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("本轮评审已结束"));

    // Every action in the audit log, as staff, with before and after.
    let audit = audit_actions(&c);
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    for want in [
        "review_expert_import",
        "review_expert_add",
        "review_round_create",
        "review_assign",
        "review_publish",
        "review_remind",
        "review_decide",
        "review_publish_decisions",
        "review_close",
        "review_conflict",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "review_conflict").count(),
        1,
        "the refused declaration wrote nothing"
    );
    let page = staff.get("/audit?object=expert:feng8@experts.cn");
    assert!(page.body.contains("登记回避关系"), "{}", page.body);
    assert!(audit.iter().all(|(_, _, who)| who == "staff@nou.test"));
    // Refused actions wrote nothing: one publish, no adjust.
    assert_eq!(
        actions.iter().filter(|a| **a == "review_publish").count(),
        1
    );
    assert!(!actions.contains(&"review_adjust"));
    let page = staff.get(&format!("/audit?object=round:{round}"));
    assert!(page.body.contains("发布评审分配"), "{}", page.body);
}

#[test]
fn viewers_see_without_buttons_others_get_404_and_posts_are_checked() {
    let c = Console::start("console-review-roles");
    let cfg = c.scratch.dir.join("lndx.toml");
    // Two experts and a round, from the command line.
    for (email, name, province) in [
        ("a@experts.cn", "甲", "辽宁"),
        ("b@experts.cn", "乙", "四川"),
    ] {
        let out = c.scratch.lndx(
            Some(&cfg),
            &[
                "review",
                "expert",
                "add",
                email,
                "--name",
                name,
                "--province",
                province,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = c.scratch.lndx(
        Some(&cfg),
        &[
            "review",
            "round",
            "create",
            "--batch",
            "1",
            "--per-entry",
            "1",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let round = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let pages = [
        "/rounds".to_string(),
        format!("/rounds/{round}"),
        "/experts".into(),
        format!("/recommend?round={round}"),
        format!("/recommend.xlsx?round={round}"),
    ];

    // The viewer sees every page, with no form that acts; its POSTs are 403.
    let mut viewer = Client::signed_in(&c, "viewer@moe.test");
    for p in &pages {
        let page = viewer.get(p);
        assert_eq!(page.status, 200, "viewer {p}");
        assert!(
            !page.body.contains("<form method=\"post\" action=\"/rounds")
                && !page
                    .body
                    .contains("<form method=\"post\" action=\"/experts")
                && !page.body.contains("action=\"/recommend/"),
            "no action for a viewer on {p}"
        );
    }
    let home = viewer.get("/rounds");
    assert!(home.body.contains("href=\"/rounds\">评审</a>"), "the menu");
    assert!(
        home.body.contains("href=\"/recommend\">推介</a>"),
        "the menu"
    );
    let csrf = home.csrf();
    let posts: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            format!("/rounds/{round}/assign"),
            vec![("csrf", csrf.clone())],
        ),
        (
            "/rounds".into(),
            vec![("csrf", csrf.clone()), ("batch", "1".into())],
        ),
        (
            "/experts".into(),
            vec![
                ("csrf", csrf.clone()),
                ("email", "c@experts.cn".into()),
                ("name", "丙".into()),
            ],
        ),
        (
            "/recommend/publish".into(),
            vec![("csrf", csrf.clone()), ("round", round.clone())],
        ),
    ];
    for (path, form) in &posts {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(viewer.post(path, &form).status, 403, "viewer POST {path}");
    }
    assert_eq!(
        c.db()
            .query_row("SELECT count(*) FROM review_assignments", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0
    );

    // Province and expert accounts: nothing here, as if it did not exist.
    for who in ["gd@gd.test", "expert@nou.test"] {
        let mut other = Client::signed_in(&c, who);
        for p in &pages {
            assert_eq!(other.get(p).status, 404, "{who} {p}");
        }
        let page = other.get("/account");
        let csrf = page.csrf();
        assert!(!page.body.contains("href=\"/rounds\""), "no menu item");
        let p = other.post(&format!("/rounds/{round}/assign"), &[("csrf", &csrf)]);
        assert_eq!(p.status, 404, "{who} POST");
    }

    // Staff: a POST without the token, with a wrong one, or from another origin is refused.
    let mut staff = Client::signed_in(&c, "staff@nou.test");
    let csrf = staff.get("/rounds").csrf();
    let assign = format!("/rounds/{round}/assign");
    assert_eq!(staff.post(&assign, &[]).status, 403);
    assert_eq!(staff.post(&assign, &[("csrf", "wrong")]).status, 403);
    assert_eq!(
        staff
            .post_from(&assign, Some("http://evil.example"), &[("csrf", &csrf)])
            .status,
        403
    );
    assert_eq!(
        c.db()
            .query_row("SELECT count(*) FROM review_assignments", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0
    );
    // With both, it is done. Three experts per entry from two: refused, each entry's
    // shortfall explained.
    let out = c.scratch.lndx(
        Some(&cfg),
        &[
            "review",
            "round",
            "create",
            "--batch",
            "1",
            "--per-entry",
            "3",
        ],
    );
    let three = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let p = staff.post(&format!("/rounds/{three}/assign"), &[("csrf", &csrf)]);
    assert_eq!(p.status, 409, "{}", p.body);
    assert!(p.body.contains("unservable_entries"), "{}", p.body);
    assert!(p.body.contains("id=\"unservable\""), "{}", p.body);
    assert!(
        p.body.contains("位专家与之无回避关系，需要 3 位"),
        "{}",
        p.body
    );
    // With two experts from different provinces and k = 1 every entry is served.
    let p = staff.post(&assign, &[("csrf", &csrf)]);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("已计算分配草案"), "{}", p.body);
    // An unknown round is 404; an unknown action too.
    assert_eq!(staff.get("/rounds/999").status, 404);
    assert_eq!(
        staff
            .post(&format!("/rounds/{round}/explode"), &[("csrf", &csrf)])
            .status,
        404
    );
}
