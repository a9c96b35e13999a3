//! The console's authorization over HTTP, against a running `lndx run` with a registry made
//! from the real sample messages: every role on every route (a province account asking for
//! another province's entry, message, file or mail gets 404, exactly like something that
//! does not exist), CSRF and Origin checks on POST, single-use and expiring sign-in links,
//! the session id replaced at sign-in, slowed password guessing, security headers, and
//! names, subjects and file names carrying markup shown as text; and the 申报登记 filters
//! against independent SQL.

mod console;
mod util;

use console::client::{multipart, xlsx_rows, Client};
use console::{Console, HOSTILE_FILE, HOSTILE_SUBJECT, HOSTILE_UNIT};

/// The numbers after `prefix` in a page's links (e.g. "/files/").
fn ids_after(body: &str, prefix: &str) -> Vec<i64> {
    body.match_indices(prefix)
        .filter_map(|(i, _)| {
            let rest = &body[i + prefix.len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn every_role_sees_what_it_may_and_nothing_else() {
    let c = Console::start("console-roles");
    let gd_receipt = c.receipts_of("GD")[0].clone();
    let zj_receipt = c.receipts_of("ZJ")[0].clone();
    let gd_message = c.messages_of("GD")[0];
    let zj_message = c.messages_of("ZJ")[0];

    // The objects' addresses, found by an admin on the pages themselves.
    let mut admin = Client::signed_in(&c, "admin@nou.test");
    let gd_file = ids_after(
        &admin.get(&format!("/entries/{gd_receipt}")).body,
        "/files/",
    )[0];
    let zj_file = ids_after(
        &admin.get(&format!("/entries/{zj_receipt}")).body,
        "/files/",
    )[0];
    let gd_mail = ids_after(
        &admin.get(&format!("/messages/{gd_message}")).body,
        "/outbox/",
    )[0];
    let zj_mail = ids_after(
        &admin.get(&format!("/messages/{zj_message}")).body,
        "/outbox/",
    )[0];

    let lists = [
        "/entries",
        "/entries.xlsx",
        "/messages",
        "/messages.xlsx",
        "/outbox",
        "/outbox.xlsx",
    ];
    let gd_objects = [
        format!("/entries/{gd_receipt}"),
        format!("/files/{gd_file}"),
        format!("/messages/{gd_message}"),
        format!("/messages/{gd_message}/raw"),
        format!("/outbox/{gd_mail}"),
        format!("/outbox/{gd_mail}/eml"),
    ];
    let zj_objects = [
        format!("/entries/{zj_receipt}"),
        format!("/files/{zj_file}"),
        format!("/messages/{zj_message}"),
        format!("/messages/{zj_message}/raw"),
        format!("/outbox/{zj_mail}"),
        format!("/outbox/{zj_mail}/eml"),
    ];
    let admin_only = ["/users", "/users.xlsx"];
    // The weekly report covers every province: not for province or expert accounts.
    let all_seeing = [
        "/reports",
        "/reports/preview",
        "/reports/preview.xlsx",
        "/book",
    ];

    // Who gets what: (lists, GD objects, ZJ objects, admin pages, reports).
    let expect = [
        ("admin@nou.test", 200, 200, 200, 200, 200),
        ("staff@nou.test", 200, 200, 200, 403, 200),
        ("viewer@moe.test", 200, 200, 200, 403, 200),
        ("gd@gd.test", 200, 200, 404, 403, 403),
        ("expert@nou.test", 403, 404, 404, 403, 403),
    ];
    for (email, lists_s, gd_s, zj_s, admin_s, reports_s) in expect {
        let mut client = Client::signed_in(&c, email);
        assert_eq!(client.get("/").status, 200, "{email} /");
        for (paths, want) in [
            (
                lists.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                lists_s,
            ),
            (gd_objects.to_vec(), gd_s),
            (zj_objects.to_vec(), zj_s),
            (admin_only.iter().map(|s| s.to_string()).collect(), admin_s),
            (
                all_seeing.iter().map(|s| s.to_string()).collect(),
                reports_s,
            ),
        ] {
            for p in &paths {
                let page = client.get(p);
                assert_eq!(page.status, want, "{email} GET {p}: {}", page.body);
                if want == 404 {
                    // Not a word of what is there.
                    assert!(!page.body.contains(&zj_receipt), "{email} {p}");
                }
            }
        }
    }

    // A province's overview holds its own numbers, not the campaign's matrix.
    let mut gd = Client::signed_in(&c, "gd@gd.test");
    let overview = gd.get("/").body;
    assert!(overview.contains("广东省") && !overview.contains("id=\"matrix\""));
    let mut staff = Client::signed_in(&c, "staff@nou.test");
    assert!(staff.get("/").body.contains("id=\"matrix\""));

    // A province account's lists hold its own province only.
    let mut gd = Client::signed_in(&c, "gd@gd.test");
    let list = gd.get("/entries").body;
    // (The hostile message filed a new version of Guangdong's case: the current one.)
    let gd_current = c.receipts_of("GD").last().unwrap().clone();
    assert!(list.contains(&gd_current), "{list}");
    assert!(!list.contains(&zj_receipt), "{list}");
    let list = gd.get(&format!("/entries?province=ZJ&q={zj_receipt}")).body;
    assert!(
        !list.contains(&format!("/entries/{zj_receipt}\"")),
        "a filter does not widen the scope"
    );
    let messages = gd.get("/messages").body;
    assert!(messages.contains(&format!("/messages/{gd_message}\"")));
    assert!(!messages.contains(&format!("/messages/{zj_message}\"")));

    // Nobody signed in is sent to the sign-in page, for lists and objects alike.
    let mut anon = Client::new(&c);
    for p in lists
        .iter()
        .map(|s| s.to_string())
        .chain(gd_objects.iter().cloned())
    {
        let page = anon.get(&p);
        assert_eq!(page.status, 303, "anonymous GET {p}");
        assert_eq!(page.header("location"), Some("/login"));
    }

    // Downloads are attachments; the original file is the form's own bytes.
    let file = admin.get(&format!("/files/{gd_file}"));
    assert!(file
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment")));
    let raw = admin.get(&format!("/messages/{gd_message}/raw"));
    assert!(raw.body.contains("Subject:") || raw.body.contains("subject:"));
    assert!(raw
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment")));
}

#[test]
fn posts_need_the_role_the_token_and_our_origin() {
    let c = Console::start("console-posts");
    let mut admin = Client::signed_in(&c, "admin@nou.test");
    let page = admin.get("/users");
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let new_user = |email: &'static str| {
        vec![
            ("email", email),
            ("role", "viewer"),
            ("province", ""),
            ("unit", ""),
            ("name", ""),
        ]
    };
    let count = |c: &Console, email: &str| -> i64 {
        c.db()
            .query_row(
                "SELECT count(*) FROM users WHERE email = ?1",
                [email],
                |r| r.get(0),
            )
            .unwrap()
    };

    // A wrong token, no token, a foreign Origin, no Origin at all: refused, nothing made.
    let mut form = new_user("a@x.test");
    form.push(("csrf", "not-the-token"));
    assert_eq!(admin.post("/users", &form).status, 403);
    assert_eq!(admin.post("/users", &new_user("a@x.test")).status, 403);
    let mut form = new_user("a@x.test");
    form.push(("csrf", &csrf));
    let p = admin.post_from("/users", Some("http://evil.example"), &form);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("csrf_failed"));
    assert_eq!(admin.post_from("/users", None, &form).status, 403);
    assert_eq!(count(&c, "a@x.test"), 0);
    // Another session's token is no good either.
    let mut staff = Client::signed_in(&c, "staff@nou.test");
    let staff_csrf = staff.get("/account").csrf();
    let mut form = new_user("a@x.test");
    form.push(("csrf", &staff_csrf));
    assert_eq!(admin.post("/users", &form).status, 403);
    assert_eq!(count(&c, "a@x.test"), 0);
    // The right token from our own origin works.
    let mut form = new_user("a@x.test");
    form.push(("csrf", &csrf));
    let p = admin.post("/users", &form);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("signin"), "{}", p.body);
    assert_eq!(count(&c, "a@x.test"), 1);

    // A viewer (and staff, and a province) cannot make accounts, with a valid token.
    for email in ["viewer@moe.test", "staff@nou.test", "gd@gd.test"] {
        let mut client = Client::signed_in(&c, email);
        let csrf = client.get("/account").csrf();
        let mut form = new_user("b@x.test");
        form.push(("csrf", &csrf));
        assert_eq!(client.post("/users", &form).status, 403, "{email}");
        let p = client.post("/users/1/disable", &[("csrf", &csrf)]);
        assert_eq!(p.status, 403, "{email}");
    }
    assert_eq!(count(&c, "b@x.test"), 0);

    // Staff actions: a viewer, a province and an expert are refused with a valid token;
    // staff without the token or from another origin too; nothing reaches the audit log.
    let audit = |c: &Console| -> i64 {
        c.db()
            .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
            .unwrap()
    };
    let gd_message = c.messages_of("GD")[0].to_string();
    let before = audit(&c);
    for email in ["viewer@moe.test", "gd@gd.test", "expert@nou.test"] {
        let mut client = Client::signed_in(&c, email);
        let csrf = client.get("/account").csrf();
        let p = client.post(
            "/actions/note",
            &[("csrf", &csrf), ("message", &gd_message), ("note", "x")],
        );
        assert_eq!(p.status, 403, "{email}: {}", p.body);
    }
    let p = staff.post(
        "/actions/note",
        &[("csrf", "no"), ("message", &gd_message), ("note", "x")],
    );
    assert_eq!(p.status, 403);
    let p = staff.post_from(
        "/actions/note",
        Some("http://evil.example"),
        &[
            ("csrf", &staff_csrf),
            ("message", &gd_message),
            ("note", "x"),
        ],
    );
    assert_eq!(p.status, 403);
    assert_eq!(audit(&c), before, "a refused action leaves no trace");
    // Staff with the token: done, audited with who did it.
    let p = staff.post(
        "/actions/note",
        &[
            ("csrf", &staff_csrf),
            ("message", &gd_message),
            ("note", "<b>打过电话</b>"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(audit(&c), before + 1);
    let actor: String = c
        .db()
        .query_row(
            "SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "staff@nou.test");
    // The note is shown as text on the message's page.
    let page = staff.get(&format!("/messages/{gd_message}")).body;
    assert!(page.contains("&lt;b&gt;打过电话") && !page.contains("<b>打过电话"));
    // A province sees no audit log; staff do.
    let mut gd = Client::signed_in(&c, "gd@gd.test");
    assert_eq!(gd.get("/audit").status, 403);
    assert_eq!(staff.get("/audit").status, 200);
    // Nor the notes and staff names on its own message's page.
    let own = gd.get(&format!("/messages/{gd_message}"));
    assert_eq!(own.status, 200);
    assert!(
        !own.body.contains("打过电话") && !own.body.contains("staff@nou.test"),
        "{}",
        own.body
    );
    let disabled: i64 = c
        .db()
        .query_row("SELECT disabled FROM users WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(disabled, 0);
}

#[test]
fn sign_in_links_are_single_use_expire_and_replace_the_session() {
    let c = Console::start("console-signin");
    let link = c.link("staff@nou.test");
    let mut client = Client::new(&c);
    let page = client.get(&link);
    assert_eq!(page.status, 200);
    // The visitor's session (it holds the form's token) …
    let before = client.cookie.clone().expect("a session cookie");
    let set = page.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    // … is replaced by a new one at sign-in.
    let p = client.post(&link, &[("csrf", &page.csrf())]);
    assert_eq!(p.status, 303, "{}", p.body);
    let after = client.cookie.clone().unwrap();
    assert_ne!(before, after, "the session id changes at sign-in");
    assert_eq!(client.get("/entries").status, 200);
    // The old id signs nobody in.
    let mut old = Client::new(&c);
    old.cookie = Some(before);
    assert_eq!(old.get("/entries").status, 303);

    // Used once: a second use fails, in another browser too.
    let mut other = Client::new(&c);
    let page = other.get(&link);
    let p = other.post(&link, &[("csrf", &page.csrf())]);
    assert_eq!(p.status, 403);
    assert!(p.body.contains("invalid_signin_link"));
    assert_eq!(other.get("/entries").status, 303);

    // An expired link does not work.
    let link = c.new_link("viewer@moe.test");
    c.db()
        .execute(
            "UPDATE signin_links SET expires_at = '2000-01-01T00:00:00.000Z' WHERE used_at IS NULL",
            [],
        )
        .unwrap();
    let mut late = Client::new(&c);
    let page = late.get(&link);
    assert_eq!(late.post(&link, &[("csrf", &page.csrf())]).status, 403);
    assert_eq!(late.get("/entries").status, 303);

    // A made-up token does not work, and a disabled account's link neither.
    let mut guess = Client::new(&c);
    let fake = format!(
        "{}/signin/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        c.base()
    );
    let page = guess.get(&fake);
    assert_eq!(guess.post(&fake, &[("csrf", &page.csrf())]).status, 403);
    let link = c.new_link("zj@zj.test");
    let cfg = c.scratch.dir.join("lndx.toml");
    assert!(c
        .scratch
        .lndx(Some(&cfg), &["user", "disable", "zj@zj.test"])
        .status
        .success());
    let mut z = Client::new(&c);
    let page = z.get(&link);
    assert_eq!(z.post(&link, &[("csrf", &page.csrf())]).status, 403);
}

#[test]
fn repeated_failed_sign_ins_are_slowed_then_refused() {
    let c = Console::start("console-throttle");
    let mut client = Client::signed_in(&c, "viewer@moe.test");
    let csrf = client.get("/account").csrf();
    let p = client.post(
        "/account",
        &[
            ("csrf", &csrf),
            ("password", "correct horse 42"),
            ("again", "correct horse 42"),
        ],
    );
    assert_eq!(p.status, 200, "{}", p.body);
    let hash: String = c
        .db()
        .query_row(
            "SELECT password_hash FROM users WHERE email = 'viewer@moe.test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let login = |client: &mut Client, password: &str| {
        let csrf = client.get("/login").csrf();
        client.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("email", "viewer@moe.test"),
                ("password", password),
            ],
        )
    };
    let mut other = Client::new(&c);
    assert_eq!(login(&mut other, "correct horse 42").status, 303);
    let mut guesser = Client::new(&c);
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert_eq!(login(&mut guesser, "wrong password").status, 401);
    }
    // Each failure made the next attempt wait longer.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(200 * (1 + 2 + 3 + 4)),
        "{:?}",
        started.elapsed()
    );
    // Now even the right password is refused for a while.
    let p = login(&mut guesser, "correct horse 42");
    assert_eq!(p.status, 429, "{}", p.body);
    assert!(p.body.contains("too_many_attempts"));
    assert_eq!(guesser.get("/entries").status, 303);
}

#[test]
fn markup_from_messages_is_shown_as_text_and_headers_are_set() {
    let c = Console::start("console-escape");
    let mut admin = Client::signed_in(&c, "admin@nou.test");
    let hostile = c
        .results
        .iter()
        .find(|r| {
            r["message_id"]
                .as_str()
                .is_some_and(|m| m.contains("hostile-1"))
        })
        .expect("the hostile message was filed");
    let id = hostile["stored_id"].as_i64().unwrap();
    let receipt = hostile["attachments"][0]["entry"]["receipt"]
        .as_str()
        .expect("its form was filed")
        .to_string();
    let pages = [
        format!("/messages/{id}"),
        "/messages".to_string(),
        format!("/entries/{receipt}"),
        "/entries".to_string(),
    ];
    for p in &pages {
        let page = admin.get(p);
        assert_eq!(page.status, 200, "{p}");
        for raw in ["<script>alert", "<img src=x", "<b>黑客</b>"] {
            assert!(!page.body.contains(raw), "{p} shows {raw:?} as markup");
        }
    }
    let message = admin.get(&format!("/messages/{id}")).body;
    assert!(
        message.contains("&lt;script&gt;alert("),
        "the subject is shown as text"
    );
    assert!(
        message.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the file name too"
    );
    let entry = admin.get(&format!("/entries/{receipt}")).body;
    assert!(entry.contains("&lt;script&gt;alert(3)"), "the unit too");
    let _ = (HOSTILE_SUBJECT, HOSTILE_FILE, HOSTILE_UNIT);

    // Every response says: no inline script, no framing, no sniffing.
    for p in ["/", "/entries", "/login", "/check", "/nothing-here"] {
        let page = admin.get(p);
        let csp = page.header("content-security-policy").unwrap_or("");
        assert!(csp.contains("frame-ancestors 'none'"), "{p}: {csp}");
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{p}"
        );
    }
    // /healthz and /metrics are served beside the console, unchanged.
    let mut anon = Client::new(&c);
    let h = anon.get("/healthz");
    assert_eq!(h.status, 200);
    let v: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(v["status"], "ok");
    assert!(anon
        .get("/metrics")
        .body
        .contains("lndx_messages_filed_total"));
}

#[test]
fn the_public_self_check_needs_no_account_stores_nothing_and_is_limited() {
    let c = Console::start("console-check");
    let count = |table: &str| -> i64 {
        c.db()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    let (messages, entries, mail) = (count("messages"), count("entries"), count("outbox"));
    let mut anon = Client::new(&c);
    let page = anon.get("/check");
    assert_eq!(page.status, 200);
    let csrf = page.csrf();
    let form = std::fs::read(util::fixture("forms/P05-bj-project-invalid.docx")).unwrap();
    let post = |client: &mut Client, csrf: &str, origin: &str, bytes: &[u8]| {
        let (ctype, body) = multipart(csrf, "表.docx", bytes);
        let mut req = client
            .agent
            .post(format!("{}/check", client.base))
            .header("Content-Type", &ctype)
            .header("Origin", origin);
        if let Some(ck) = &client.cookie {
            req = req.header("Cookie", ck);
        }
        let r = req.send(&body[..]);
        client.take(r)
    };
    let base = c.base();
    let p = post(&mut anon, &csrf, &base, &form);
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("报送前自查结果"), "{}", p.body);
    assert!(p.body.contains("✗"), "the reply's errors: {}", p.body);
    // Checked, not filed, not answered.
    assert_eq!(
        (count("messages"), count("entries"), count("outbox")),
        (messages, entries, mail)
    );
    // The token and the Origin are checked here too.
    assert_eq!(post(&mut anon, "wrong", &base, &form).status, 403);
    assert_eq!(
        post(&mut anon, &csrf, "http://evil.example", &form).status,
        403
    );
    // Larger than the limit (20 MB by default): refused with 413, or the connection is
    // closed before the server has read it all (the client then sees no response).
    let big = vec![b'x'; 21 * 1024 * 1024];
    let (ctype, body) = multipart(&csrf, "big.docx", &big);
    let r = anon
        .agent
        .post(format!("{}/check", anon.base))
        .header("Content-Type", &ctype)
        .header("Origin", &base)
        .header("Cookie", anon.cookie.clone().unwrap())
        .send(&body[..]);
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    // Many checks from one address in an hour: refused.
    let mut last = 0;
    for _ in 0..40 {
        last = post(&mut anon, &csrf, &base, &form).status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429);
}

/// 汇编: staff and the ministry's viewers download the book and the platform package of a
/// batch, built on request; without published review decisions the recommended selection
/// is refused with its code; province and expert accounts get nothing.
#[test]
fn the_book_is_a_download_for_staff_and_viewers_only() {
    let c = Console::start("console-book");
    let receipt = c.receipts_of("GD")[0].clone();
    // ZHZL-2021-B1-GD-C-0001: the batch is the number after "-B".
    let batch: String = receipt
        .split('-')
        .find_map(|p| p.strip_prefix('B').filter(|n| n.parse::<u8>().is_ok()))
        .expect("a batch in the receipt")
        .to_string();
    let all = |format: &str| format!("/book/download?batch={batch}&selection=all&format={format}");

    let mut viewer = Client::signed_in(&c, "viewer@moe.test");
    let page = viewer.get("/book");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("生成并下载"), "{}", page.body);
    let pdf = viewer.get(&all("pdf"));
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert!(pdf.body.starts_with("%PDF"), "not a PDF");
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{:?}",
        pdf.headers
    );
    let docx = viewer.get(&all("docx"));
    assert_eq!(docx.status, 200);
    assert!(docx.body.starts_with("PK"), "not a .docx");
    let zip = viewer.get(&all("zip"));
    assert_eq!(zip.status, 200);
    assert!(zip.body.starts_with("PK"), "not a zip");

    let refused = viewer.get(&format!(
        "/book/download?batch={batch}&selection=recommended&format=pdf"
    ));
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("no_published_decisions"),
        "{}",
        refused.body
    );

    for email in ["gd@gd.test", "expert@nou.test"] {
        let mut client = Client::signed_in(&c, email);
        assert_eq!(client.get("/book").status, 403, "{email}");
        assert_eq!(client.get(&all("pdf")).status, 403, "{email}");
    }
}

/// A report sent by hand from the console is queued once, by a role that acts, with its
/// audit row; the outbox list's .xlsx names purposes and states in Chinese and shows
/// local times.
#[test]
fn a_report_sent_from_the_console_is_audited_and_the_outbox_exports_in_chinese() {
    let c = Console::start("console-report-send");
    let reports = |c: &Console| -> i64 {
        c.db()
            .query_row(
                "SELECT count(*) FROM outbox WHERE purpose = 'report'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let mut viewer = Client::signed_in(&c, "viewer@moe.test");
    let csrf = viewer.get("/reports").csrf();
    assert_eq!(viewer.post("/reports/send", &[("csrf", &csrf)]).status, 403);
    assert_eq!(reports(&c), 0);

    let mut staff = Client::signed_in(&c, "staff@nou.test");
    let page = staff.get("/reports");
    assert!(
        page.body.contains("action=\"/reports/send\""),
        "{}",
        page.body
    );
    let csrf = page.csrf();
    assert_eq!(
        staff.post("/reports/send", &[("csrf", "wrong")]).status,
        403
    );
    let sent = staff.post("/reports/send", &[("csrf", &csrf)]);
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(reports(&c), 1);
    let (actor, object, after): (String, String, String) = c
        .db()
        .query_row(
            "SELECT actor, object, after FROM audit_log WHERE action = 'report_send'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(actor, "staff@nou.test");
    let id: i64 = c
        .db()
        .query_row("SELECT id FROM outbox WHERE purpose = 'report'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(object, format!("outbox:{id}"));
    assert!(after.contains(console::REPORT_TO), "{after}");
    let audit = staff.get("/audit");
    assert!(audit.body.contains("手动发送周报"), "{}", audit.body);

    let (status, bytes) = staff.download("/outbox.xlsx?purpose=report");
    assert_eq!(status, 200);
    let rows = xlsx_rows(bytes);
    assert_eq!(rows.len(), 2, "the header and the one report: {rows:?}");
    let col = |name: &str| rows[0].iter().position(|h| h == name).expect(name);
    let row = &rows[1];
    assert_eq!(row[col("编号")], id.to_string());
    assert_eq!(row[col("类型")], "周报");
    assert!(row[col("收件人")].contains(console::REPORT_TO), "{row:?}");
    // The subject of the message a mail answers; a report answers none.
    assert_eq!(row[col("来信主题")], "", "{row:?}");
    assert!(
        ["待发送", "发送中", "已发送"].contains(&row[col("状态")].as_str()),
        "{row:?}"
    );
    // Local "YYYY-MM-DD HH:MM", not the registry's RFC 3339.
    let created = &row[col("创建时间")];
    assert_eq!(created.len(), 16, "{created}");
    assert!(
        !created.contains('T') && !created.contains('+'),
        "{created}"
    );
}

/// The 申报登记 filters, one at a time and combined, give exactly the current entries an
/// independent SQL query over the registry gives: province, kind, status, lateness, a
/// theme, and text search with three or more characters (the trigram index) and with two
/// (LIKE over receipt, name and unit).
#[test]
fn the_entry_filters_list_what_the_registry_holds() {
    let c = Console::start("console-filters");
    let mut staff = Client::signed_in(&c, "staff@nou.test");
    let db = c.db();
    let listed = |client: &mut Client, query: &str| -> std::collections::BTreeSet<String> {
        let body = client.get(&format!("/entries?{query}")).body;
        body.match_indices("href=\"/entries/")
            .map(|(i, _)| {
                body[i + "href=\"/entries/".len()..]
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let expected = |condition: &str, arg: &str| -> std::collections::BTreeSet<String> {
        let mut st = db
            .prepare(&format!(
                "SELECT receipt FROM entries WHERE superseded_by IS NULL AND ({condition})"
            ))
            .unwrap();
        let rows = if condition.contains("?1") {
            st.query_map([arg], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        } else {
            st.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        rows
    };
    let all = expected("1", "");
    assert!(all.len() >= 10, "{all:?}");
    assert_eq!(listed(&mut staff, ""), all);
    assert_eq!(
        listed(&mut staff, "province=ZJ"),
        expected("province = ?1", "ZJ")
    );
    assert_eq!(
        listed(&mut staff, "kind=course"),
        expected("kind = ?1", "course")
    );
    assert_eq!(
        listed(&mut staff, "status=valid"),
        expected("status = ?1", "valid")
    );
    assert_eq!(listed(&mut staff, "late=yes"), expected("late = 1", ""));
    assert_eq!(listed(&mut staff, "late=no"), expected("late = 0", ""));
    let theme: String = db
        .query_row(
            "SELECT value FROM entries, json_each(entries.themes) WHERE superseded_by IS NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let with_theme = expected("instr(themes, ?1) > 0", &format!("\"{theme}\""));
    assert!(!with_theme.is_empty());
    assert_eq!(listed(&mut staff, &format!("theme={theme}")), with_theme);
    // Text: three characters of a name (the trigram index: any field's text), and two.
    let name: String = db
        .query_row(
            "SELECT name FROM entries WHERE superseded_by IS NULL AND length(name) >= 6 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let three: String = name.chars().skip(2).take(3).collect();
    let by_three = listed(&mut staff, &format!("q={three}"));
    assert!(!by_three.is_empty());
    assert!(by_three.is_superset(&expected("instr(name, ?1) > 0", &three)));
    let two: String = name.chars().skip(2).take(2).collect();
    assert_eq!(
        listed(&mut staff, &format!("q={two}")),
        expected(
            "instr(receipt, ?1) > 0 OR instr(name, ?1) > 0 OR instr(coalesce(unit, ''), ?1) > 0",
            &two
        )
    );
    // Combined: every filter narrows.
    assert_eq!(
        listed(&mut staff, "province=ZJ&kind=course"),
        expected("province = 'ZJ' AND kind = ?1", "course")
    );
}
