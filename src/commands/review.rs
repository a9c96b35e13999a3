//! `lndx review …`: 专家评议 from the command line — rounds, experts, the assignment and its
//! changes, scores, ranking, decisions. A mistake a person can make (an unknown round,
//! kind or expert, a conflict of interest, entries that cannot get k experts) is said in
//! Chinese on stderr with exit status 2, and with `--json` also as one JSON object
//! `{"error": {"code", "message", …}}` on stdout; the codes are `ReviewError::code`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::App;
use crate::review::experts::ExpertInput;
use crate::review::mail::Mailer;
use crate::review::staff::{Setup, Staff};
use crate::review::{self, Decision, ReviewError, RoundRequest, Rubric, ScoreInput};

/// Says a review error (and with `json`, prints it as a JSON object); exit status 2.
fn refuse(e: &ReviewError, json: bool, extra: serde_json::Value) -> Result<ExitCode> {
    if let ReviewError::Registry(_) = e {
        return Err(anyhow::anyhow!("{e}"));
    }
    eprintln!("lndx: {e}（{}）", e.code());
    if json {
        let mut err = serde_json::json!({"code": e.code(), "message": e.to_string()});
        if let (Some(o), serde_json::Value::Object(x)) = (err.as_object_mut(), extra) {
            o.extend(x);
        }
        println!("{}", serde_json::json!({ "error": err }));
    }
    Ok(ExitCode::from(2))
}

/// Runs a step; a review error is refused (exit 2), anything else propagates.
fn run<T>(
    json: bool,
    step: impl FnOnce() -> review::Result<T>,
    done: impl FnOnce(T) -> Result<ExitCode>,
) -> Result<ExitCode> {
    match step() {
        Ok(v) => done(v),
        Err(e) => {
            let extra = match &e {
                ReviewError::Unservable { entries, .. } => {
                    serde_json::json!({ "unservable": entries })
                }
                _ => serde_json::json!({}),
            };
            refuse(&e, json, extra)
        }
    }
}

/// The rubric of the app's rules folder (or the built-in one).
pub fn rubric(app: &App, campaign: &crate::campaign::Campaign) -> Result<Rubric> {
    app.rubric(campaign)
}

/// `lndx review round create`: the new round's id is the last line.
pub fn round_create(app: &App, req: &RoundRequest) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    let created = parts.staff().create_round(&mut reg, req);
    run(
        false,
        || created,
        |id| {
            let r = reg.round(id)?.context("the new round")?;
            let n = reg.round_entries(id)?.len();
            println!(
                "评审轮次已创建：第 {} 批，类型 {}，{} 件作品，每件 {} 位专家，截止 {}",
                r.batch,
                r.kinds.join("、"),
                n,
                r.per_entry,
                r.due
            );
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review round list`.
pub fn round_list(app: &App) -> Result<ExitCode> {
    let reg = app.registry()?;
    println!("round\tbatch\tkinds\tper_entry\tdue\tstate\tentries");
    for r in reg.rounds()? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.batch,
            r.kinds.join(","),
            r.per_entry,
            r.due,
            r.state,
            reg.round_entries(r.id)?.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx review expert add`.
pub fn expert_add(app: &App, x: &ExpertInput) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        false,
        || parts.staff().add_expert(&mut reg, x),
        |(added, account)| {
            let email = x.email.trim().to_lowercase();
            println!(
                "{}：{}",
                if added {
                    "已添加专家"
                } else {
                    "已更新专家"
                },
                email
            );
            println!("{}（{}）", account.text(&email), account.code());
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review expert import FILE.xlsx`: every bad row reported; exit 1 when some row
/// was not imported.
pub fn expert_import(app: &App, file: &Path, json: bool) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    run(
        json,
        || parts.staff().import_experts(&mut reg, &bytes),
        |report| {
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                for p in report.problems.iter().chain(&report.account_notes) {
                    println!("{}（{}）", p.message, p.code);
                }
                println!(
                    "导入完成：新增 {} 位，更新 {} 位，未导入 {} 行；开通评审账号 {} 个，沿用 {} 个",
                    report.added,
                    report.updated,
                    report.problems.len(),
                    report.accounts_created,
                    report.accounts_linked
                );
            }
            Ok(if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        },
    )
}

/// `lndx review expert conflict EMAIL RECEIPT`: a declared conflict.
pub fn expert_conflict(app: &App, email: &str, receipt: &str, note: &str) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        false,
        || {
            parts
                .staff()
                .declare_conflict(&mut reg, email, receipt, note)
        },
        |()| {
            println!("已登记回避：{email} — {receipt}");
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review expert list`.
pub fn expert_list(app: &App) -> Result<ExitCode> {
    let reg = app.registry()?;
    println!("email\tname\tprovince\tunit\tkinds\tthemes");
    for x in reg.experts()? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            x.email,
            x.name,
            x.province.unwrap_or_default(),
            x.unit.unwrap_or_default(),
            x.kinds.join(","),
            x.themes.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `lndx review assign ROUND [--json]`: computes and stores the draft.
pub fn assign(app: &App, round: i64, json: bool) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        json,
        || parts.staff().draft(&mut reg, round),
        |list| {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"round": round, "assignments": list})
                );
            } else {
                for a in &list {
                    println!("{}\t{}", a.receipt, a.expert);
                }
                println!("第 {round} 轮分配草案：{} 条", list.len());
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review assignments ROUND [--json]`: the assignments in force.
pub fn assignments(app: &App, round: i64, json: bool) -> Result<ExitCode> {
    let reg = app.registry()?;
    run(
        json,
        || review::assignments(&reg, round),
        |list| {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"round": round, "assignments": list})
                );
            } else {
                for a in &list {
                    println!("{}\t{}", a.receipt, a.expert);
                }
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review adjust ROUND RECEIPT [--remove EMAIL] [--add EMAIL]`.
pub fn adjust(
    app: &App,
    round: i64,
    receipt: &str,
    remove: Option<&str>,
    add: Option<&str>,
) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        false,
        || parts.staff().adjust(&mut reg, round, receipt, remove, add),
        |()| {
            println!("已调整：{receipt}");
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review recuse ROUND RECEIPT EMAIL`: the replacement is the last line.
pub fn recuse(app: &App, round: i64, receipt: &str, email: &str, note: &str) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let rubric = rubric(app, &campaign)?;
    let mut reg = app.registry()?;
    let actor = super::desk::actor(None);
    run(
        false,
        || review::recuse(&mut reg, &rubric, round, receipt, email, note, &actor),
        |next| match next {
            Some(next) => {
                println!("{email} 回避 {receipt}，由以下专家替换：");
                println!("{next}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                println!(
                    "{email} 回避 {receipt}；没有可替换的专家（其余专家均存在回避关系或已达评审上限），请用 lndx review adjust 指定（no_replacement）"
                );
                Ok(ExitCode::from(1))
            }
        },
    )
}

/// The parts review needs, built from the app: the campaign and the [`Setup`] (rubric,
/// wording, sender) the console is given too.
pub struct Parts {
    pub campaign: crate::campaign::Campaign,
    pub setup: Setup,
    /// Who acts, in the audit log: `cli:<login name>`.
    pub actor: String,
}

impl Parts {
    pub fn load(app: &App) -> Result<Parts> {
        let campaign = app.campaign()?;
        Ok(Parts {
            setup: setup(app, &campaign)?,
            campaign,
            actor: super::desk::actor(None),
        })
    }

    pub fn mailer(&self) -> Mailer<'_> {
        self.setup.mailer(&self.campaign)
    }

    /// The audited staff actions, shared with the console.
    pub fn staff(&self) -> Staff<'_> {
        Staff {
            campaign: &self.campaign,
            setup: &self.setup,
            actor: &self.actor,
        }
    }
}

/// Review's setup from the app (also what the console gets).
pub fn setup(app: &App, campaign: &crate::campaign::Campaign) -> Result<Setup> {
    app.review_setup(campaign)
}

/// `lndx review publish ROUND`: publishes the draft and queues one invitation per expert
/// (with the score sheet), then delivers what is due.
pub fn publish(app: &App, round: i64) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    let done = parts.staff().publish(&mut reg, round, chrono::Utc::now());
    run(
        false,
        || done,
        |queued| {
            println!(
                "第 {round} 轮已发布，已向 {} 位专家发出评审邀请",
                queued.len()
            );
            super::flush_outbox(app, &reg)?;
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review remind [--at TIME]`: one look at the reminder schedule as of now (or the
/// given time): reminders due today to experts with unfinished reviews, each reminder day
/// once; the staff's mail for a completed round. With `--round N`: that round's experts
/// with unfinished reviews are reminded now (each at most one review mail a day); those
/// already mailed today are named.
pub fn remind(app: &App, at: Option<&str>, round: Option<i64>) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let now = match at {
        Some(s) => super::report::parse_at(s, parts.campaign.tz)?,
        None => chrono::Utc::now(),
    };
    let mut reg = app.registry()?;
    if let Some(round) = round {
        let done = parts.staff().remind_now(&mut reg, round, now);
        return run(
            false,
            || done,
            |(queued, left_out)| {
                for q in &queued {
                    println!("{}", q.to.join(", "));
                }
                if !left_out.is_empty() {
                    println!("今天已收到评审邮件，未再发送：{}", left_out.join("、"));
                }
                println!("已排队 {} 封催办邮件", queued.len());
                super::flush_outbox(app, &reg)?;
                Ok(ExitCode::SUCCESS)
            },
        );
    }
    let done = parts.mailer().tick(&mut reg, now);
    run(
        false,
        || done,
        |queued| {
            for q in &queued {
                println!("{}", q.to.join(", "));
            }
            println!("已排队 {} 封评审邮件", queued.len());
            super::flush_outbox(app, &reg)?;
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review close ROUND`.
pub fn close(app: &App, round: i64) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        false,
        || parts.staff().close(&mut reg, round),
        |()| {
            println!("第 {round} 轮已结束");
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review score ROUND RECEIPT --expert EMAIL --score KEY=POINTS …`: records a
/// review version (as staff entering a paper review; `--draft` saves without submitting).
pub fn score(
    app: &App,
    round: i64,
    receipt: &str,
    email: &str,
    scores: &[String],
    input: ScoreInput,
) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let rubric = rubric(app, &campaign)?;
    let reg = app.registry()?;
    let mut parsed = BTreeMap::new();
    for s in scores {
        let Some((k, v)) = s.split_once('=') else {
            return refuse(
                &ReviewError::BadScores(format!("“{s}”应写成 评分项=分数")),
                false,
                serde_json::json!({}),
            );
        };
        let Ok(points) = v.trim().parse::<f64>() else {
            return refuse(
                &ReviewError::BadScores(format!("“{v}”不是数字")),
                false,
                serde_json::json!({}),
            );
        };
        parsed.insert(k.trim().to_string(), points);
    }
    let input = ScoreInput {
        scores: parsed,
        ..input
    };
    run(
        false,
        || {
            review::record_review(
                &reg, &campaign, &rubric, round, email, receipt, &input, "cli", None,
            )
        },
        |id| {
            println!("已记录评分（版本 {id}）：{receipt} — {email}");
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review ranking ROUND [--json]`.
pub fn ranking(app: &App, round: i64, json: bool) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let rubric = rubric(app, &campaign)?;
    let reg = app.registry()?;
    run(
        json,
        || review::ranking(&reg, &rubric, round),
        |list| {
            if json {
                let entries: Vec<serde_json::Value> = list
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "receipt": r.receipt,
                            "kind": r.kind,
                            "rank": r.rank,
                            "mean": r.mean,
                            "median": r.median,
                            "mean_z": r.mean_z,
                            "spread": r.spread,
                            "flagged": r.flagged,
                            "flags": r.flags,
                            "reviews": r.reviews,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"round": round, "entries": entries})
                );
            } else {
                println!("kind\trank\treceipt\tmean\tmedian\tmean_z\tspread\treviews\tflagged");
                let f = |v: Option<f64>| v.map(|x| format!("{x:.2}")).unwrap_or("-".into());
                for r in &list {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        r.kind,
                        r.rank,
                        r.receipt,
                        f(r.mean),
                        f(r.median),
                        f(r.mean_z),
                        f(r.spread),
                        r.reviews,
                        if r.flagged {
                            r.flags.join(",")
                        } else {
                            String::new()
                        }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review decide ROUND RECEIPT 推介|不推介 [--note TEXT]`.
pub fn decide(
    app: &App,
    round: i64,
    receipt: &str,
    decision: &str,
    note: &str,
) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    run(
        false,
        || {
            let d = Decision::parse(decision)?;
            parts.staff().decide(&mut reg, round, receipt, d, note)?;
            Ok(d)
        },
        |d| {
            println!("{receipt}：{}", d.text());
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review publish-decisions ROUND`: fixes the decisions and queues one outcome mail
/// per province.
pub fn publish_decisions(app: &App, round: i64) -> Result<ExitCode> {
    let parts = Parts::load(app)?;
    let mut reg = app.registry()?;
    let done = parts.staff().publish_decisions(&mut reg, round);
    run(
        false,
        || done,
        |queued| {
            println!(
                "第 {round} 轮推介结果已发布，已向 {} 个省份发送结果",
                queued.len()
            );
            super::flush_outbox(app, &reg)?;
            Ok(ExitCode::SUCCESS)
        },
    )
}

/// `lndx review decisions ROUND [--json]`: what staff decide with — each entry's rank,
/// figures, flags, province and current decision; per kind the recommended count against
/// the batch's quota (review.toml) and the campaign's target; recommended per province.
pub fn decisions(app: &App, round: i64, json: bool) -> Result<ExitCode> {
    let campaign = app.campaign()?;
    let rubric = rubric(app, &campaign)?;
    let reg = app.registry()?;
    let board = match review::staff::board(&reg, &campaign, &rubric, round) {
        Ok(b) => b,
        Err(e) => return refuse(&e, json, serde_json::json!({})),
    };
    let r = reg.round(round)?.context("the round")?;
    let per_province = &board.provinces;
    let rows: Vec<serde_json::Value> = board
        .rows
        .iter()
        .map(|row| {
            let e = &row.ranked;
            serde_json::json!({
                "receipt": e.receipt, "kind": e.kind, "province": row.province, "rank": e.rank,
                "mean": e.mean, "mean_z": e.mean_z, "spread": e.spread, "flagged": e.flagged,
                "decision": row.decision, "note": row.note,
            })
        })
        .collect();
    let kinds: Vec<serde_json::Value> = board
        .kinds
        .iter()
        .map(|k| {
            serde_json::json!({
                "kind": k.kind, "recommended": k.recommended, "quota": k.quota,
                "target": k.target, "recommended_all": k.recommended_all,
            })
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::json!({"round": round, "published": r.decisions_published_at.is_some(),
                "entries": rows, "kinds": kinds, "provinces": per_province})
        );
    } else {
        println!("kind\trank\treceipt\tprovince\tmean_z\tflagged\tdecision\tnote");
        for row in &rows {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                row["kind"].as_str().unwrap_or_default(),
                row["rank"],
                row["receipt"].as_str().unwrap_or_default(),
                row["province"].as_str().unwrap_or_default(),
                row["mean_z"]
                    .as_f64()
                    .map(|z| format!("{z:.2}"))
                    .unwrap_or("-".into()),
                if row["flagged"] == true { "是" } else { "" },
                match row["decision"].as_str() {
                    Some("recommend") => "推介",
                    Some(_) => "不推介",
                    None => "未定",
                },
                row["note"].as_str().unwrap_or_default()
            );
        }
        for k in &kinds {
            println!(
                "{}：已推介 {}{}（全程目标 {}）",
                k["kind"].as_str().unwrap_or_default(),
                k["recommended"],
                k["quota"]
                    .as_u64()
                    .map(|q| format!(" / 本批计划 {q}"))
                    .unwrap_or_default(),
                k["target"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
