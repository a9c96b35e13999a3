//! The loop guard: recognises mail bouncing back and forth between lndx and another robot,
//! and holds the reply back (outbox state `held`) instead of answering again.
//!
//! Counting mail per recipient does not tell a loop from a busy province: on deadline day a
//! province that sends each of its 50 courses in its own mail must get 50 receipts (the old
//! cap of 40 a day dropped the last ten). What a loop looks like instead:
//!
//! - the mail says it is automatic (`Auto-Submitted`, `X-Autoreply`, `Precedence`, a
//!   bounce) or carries our own loop header: intake already files it without a reply
//!   (`message::Skip`), so no guard is needed for it;
//! - a robot that does not say so answers our mail (In-Reply-To/References names a
//!   Message-ID we sent), and does so again and again: with the same content (its
//!   [`fingerprint`]: the text without quoted lines or the quoted original, plus the files'
//!   hashes), or, when it quotes our receipt so that its text differs each time, without
//!   a file (a [`Evidence::bare_answer`]).
//!
//! When a message answers our mail and the same sender has, within the window, already
//! been answered `repeats` times for the same content, or for bare answers to our mail,
//! the reply is queued `held`: filed, kept, shown in /healthz and to staff, and sent if
//! staff release it. Mail that does not answer ours is never held: a province sending
//! many forms, or the same form again, gets every receipt. A robot that neither says it
//! is automatic nor threads its answers is left to the optional per-recipient ceiling
//! (`limits.per_recipient_per_day`), which holds too.

use chrono::{SecondsFormat, Utc};

use crate::message::Inbound;
use crate::registry::{self, LoopEvidence};
pub use crate::settings::LoopGuard;

/// What the guard records about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub fingerprint: String,
    /// The message answers one of our mails (In-Reply-To/References names one).
    pub answers_us: bool,
    /// It answers one of our mails and carries no file.
    pub bare_answer: bool,
}

/// Lines from which on a reply quotes the original (Outlook, Foxmail, QQ Mail, 163, Gmail,
/// Apple Mail in English and Chinese).
fn starts_quote(line: &str) -> bool {
    let l = line.trim();
    (l.starts_with("-----") && (l.contains("Original") || l.contains("原始邮件")))
        || l.starts_with("------------------ 原始")
        || (l.starts_with("On ") && l.ends_with("wrote:"))
        || (l.starts_with('在') && (l.ends_with("写道：") || l.ends_with("写道:")))
        || l.starts_with("发件人:")
        || l.starts_with("发件人：")
        || l.starts_with("From: ")
}

/// The content's fingerprint: SHA-256 of the text without quoted lines (nor anything after
/// the quoted original starts), whitespace collapsed, and the sorted SHA-256 of every file.
/// The subject is left out: an auto-responder's "Re: <our subject>" changes with ours.
pub fn fingerprint(inbound: &Inbound) -> String {
    let mut text = String::new();
    for line in inbound.body_text.lines() {
        if starts_quote(line) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        for word in line.split_whitespace() {
            text.push_str(word);
            text.push(' ');
        }
    }
    let mut files: Vec<String> = inbound
        .files
        .iter()
        .map(|f| registry::sha256_hex(&f.bytes))
        .collect();
    files.sort();
    text.push('\n');
    text.push_str(&files.join(","));
    registry::sha256_hex(text.as_bytes())
}

/// The guard's decisions (its settings are [`LoopGuard`], `[loop_guard]` in the config).
pub trait Guard {
    fn evidence(
        &self,
        tx: &registry::Tx,
        inbound: &Inbound,
    ) -> Result<Evidence, registry::RegistryError>;
    fn hold_reason(
        &self,
        tx: &registry::Tx,
        id: i64,
        sender: &str,
        ev: &Evidence,
    ) -> Result<Option<String>, registry::RegistryError>;
}

impl Guard for LoopGuard {
    /// The evidence about `inbound` (recorded with the message either way).
    fn evidence(
        &self,
        tx: &registry::Tx,
        inbound: &Inbound,
    ) -> Result<Evidence, registry::RegistryError> {
        let mut ids: Vec<String> = inbound.references.clone();
        ids.extend(inbound.in_reply_to.iter().cloned());
        let answers_us = !ids.is_empty() && tx.answers_ours(&ids)?;
        Ok(Evidence {
            fingerprint: fingerprint(inbound),
            answers_us,
            bare_answer: answers_us && inbound.files.is_empty(),
        })
    }

    /// Why the reply to message `id` from `sender` is held, if it is: a sentence for the
    /// log, the outbox row and staff.
    fn hold_reason(
        &self,
        tx: &registry::Tx,
        id: i64,
        sender: &str,
        ev: &Evidence,
    ) -> Result<Option<String>, registry::RegistryError> {
        // Only mail that answers ours can bounce back and forth: a province sending the
        // same form again (a retry, a resend) is answered every time.
        if self.repeats == 0 || !ev.answers_us {
            return Ok(None);
        }
        let since = (Utc::now() - chrono::Duration::minutes(self.window_minutes as i64))
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        let LoopEvidence {
            same_content,
            bare_answers,
        } = tx.loop_evidence(id, sender, &ev.fingerprint, &since)?;
        let repeats = self.repeats as i64;
        Ok(if same_content >= repeats {
            Some(format!(
                "loop guard: {sender} sent the same content {} times within {} minutes and was answered each time",
                same_content + 1,
                self.window_minutes
            ))
        } else if ev.bare_answer && bare_answers >= repeats {
            Some(format!(
                "loop guard: {sender} answered our mail without a file {} times within {} minutes",
                bare_answers + 1,
                self.window_minutes
            ))
        } else {
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(body: &str, files: &[&[u8]]) -> Inbound {
        Inbound {
            body_text: body.to_string(),
            files: files
                .iter()
                .map(|b| crate::message::File {
                    filename: "a.docx".into(),
                    bytes: b.to_vec(),
                    file_type: crate::message::FileType::Unknown,
                    container: None,
                    path_in_container: None,
                    problem: None,
                })
                .collect(),
            ..Inbound::default()
        }
    }

    #[test]
    fn quoted_text_does_not_change_the_fingerprint_but_files_do() {
        let a = inbound("I am away.\n\n> 回执编号 GD-1-0001\n", &[]);
        let b = inbound(
            "I am away.\n-----Original Message-----\n回执编号 GD-1-0002\n",
            &[],
        );
        let c = inbound("I  am\n away.", &[]);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&c));
        let d = inbound("I am away.", &[b"form 1"]);
        let e = inbound("I am away.", &[b"form 2"]);
        assert_ne!(fingerprint(&a), fingerprint(&d));
        assert_ne!(fingerprint(&d), fingerprint(&e));
        let f = inbound("在 2026年3月1日 写道：\n> x", &[]);
        assert_eq!(fingerprint(&f), fingerprint(&inbound("", &[])));
    }
}
