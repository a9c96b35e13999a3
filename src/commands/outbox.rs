//! `lndx outbox list`: the mail an operator must decide about — replies whose delivery is
//! unknown (a send cut off by a crash), failed for good, or held by the loop guard — and,
//! for each, whether a copy with its Message-ID is in the mailbox's Sent folder (an IMAP
//! `SEARCH HEADER Message-ID`): a copy there means the server took the mail. Read-only;
//! resending, closing and releasing are staff actions (the desk), each logged.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::app::App;
use crate::queued::OutboxState;

/// The states listed when `--state` is not given: what needs a decision.
const UNSETTLED: &[OutboxState] = &[OutboxState::Unknown, OutboxState::Failed, OutboxState::Held];

/// `lndx outbox list [--state S] [--json]`.
pub fn list(app: &App, state: Option<&str>, json: bool) -> Result<ExitCode> {
    let states: Vec<OutboxState> = match state {
        None => UNSETTLED.to_vec(),
        Some(s) => match s.trim().to_ascii_lowercase().parse::<OutboxState>() {
            Ok(st) => vec![st],
            Err(e) => bail!("--state {s:?}: {e}"),
        },
    };
    let reg = app.registry()?;
    let rows = reg.outbox_list(&states)?;
    let ids: Vec<String> = rows.iter().map(|r| r.message_id.clone()).collect();
    // Only the mailbox speaks IMAP; None when it keeps no Sent folder.
    let (in_sent, sent_note): (Vec<Option<bool>>, Option<String>) = if ids.is_empty() {
        (Vec::new(), None)
    } else {
        match app.config.mailbox.in_sent(&ids) {
            Some(Ok(found)) => (found.into_iter().map(Some).collect(), None),
            Some(Err(e)) => (
                vec![None; ids.len()],
                Some(format!("未能查看“已发送”文件夹：{e}")),
            ),
            None => (
                vec![None; ids.len()],
                Some(
                    "未查看“已发送”文件夹：邮箱未配置（请在 [mailbox] 中设置 sent_folder）".into(),
                ),
            ),
        }
    };
    let mut out = std::io::stdout().lock();
    if json {
        for (row, sent) in rows.iter().zip(&in_sent) {
            let mut v = serde_json::to_value(row)?;
            v["in_sent_folder"] = serde_json::json!(sent);
            writeln!(out, "{v}")?;
        }
    } else {
        writeln!(
            out,
            "编号\t状态\t类型\t收件人\t已发送文件夹中\t尝试次数\t生成时间\t所回复的邮件\t最近错误"
        )?;
        for (row, sent) in rows.iter().zip(&in_sent) {
            let answering = match (&row.answered_from, &row.answered_subject) {
                (Some(f), Some(s)) => format!("{f}: {}", one_line(s)),
                (Some(f), None) => f.clone(),
                _ => "-".into(),
            };
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                row.id,
                row.state.label(),
                row.purpose.label(),
                row.recipients.first().map(String::as_str).unwrap_or("-"),
                match sent {
                    Some(true) => "有",
                    Some(false) => "无",
                    None => "未查",
                },
                row.attempts,
                row.created_at,
                answering,
                row.last_error.as_deref().map(one_line).unwrap_or_default(),
            )?;
        }
        writeln!(out, "共 {} 封", rows.len())?;
    }
    if let Some(note) = sent_note {
        eprintln!("lndx: {note}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Text from a message (a subject) on one line, control characters replaced: it is
/// printed to a terminal.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
