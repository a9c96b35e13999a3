//! Intake: files one raw message through every stage — store raw → parse → read files →
//! check → file entries, queue the reply, record the result — and returns the result.
//!
//! This is the only place that knows the order of the stages. The message is stored raw
//! (and committed) before anything else; everything after that happens in one
//! transaction, so a crash leaves either nothing filed or everything filed.

mod analyse;
pub mod guard;
pub mod selfcheck;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

pub use crate::outcome::{AttachmentOutcome, EntryOutcome, Outcome, ReplyInfo};
pub use crate::settings::Settings;
pub use analyse::FileAnalysis;

use crate::campaign::Campaign;
use crate::convert::Converter;
use crate::filing::{EntryStatus, FileRole};
use crate::message::{self, Inbound, ParseOptions};
use crate::registry::{
    self, Finished, MessageState, NewEntry, NewFile, QueuedMail, Registry, SourceRef,
};
use crate::reply::{self, Replier};
use crate::rules::{self, CheckedForm, Code, Finding, MessageFacts, MessageVerdict as Verdict};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error("cannot render the reply: {0}")]
    Render(String),
    #[error("the message parser panicked on this message")]
    Unparsable,
}

/// What staff decided about a held message, applied over the rules' verdict when it is
/// filed again (see `src/desk/`). The default decides nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// The province staff assigned: the message is filed for it, and the findings that
    /// said the province was unknown (or the sender not allowed) no longer apply.
    pub province: Option<String>,
    /// Staff checked the sender although the authentication check failed.
    pub release_auth: bool,
}

impl Decision {
    fn apply(&self, v: &mut Verdict) {
        if let Some(p) = &self.province {
            v.province = Some(p.clone());
            v.errors
                .retain(|f| !matches!(f.code, Code::UnknownProvince | Code::SenderNotAllowed));
            v.warnings
                .retain(|f| !matches!(f.code, Code::UnregisteredSender | Code::ProvinceMismatch));
        }
        if self.release_auth {
            v.errors.retain(|f| f.code != Code::AuthenticationFailed);
        }
        if self.province.is_some() || self.release_auth {
            v.hold = v.province.is_none()
                || v.errors
                    .iter()
                    .any(|f| f.code == Code::AuthenticationFailed);
        }
    }
}

/// A parsed message, and its declared size when only its header was read.
struct Parsed {
    inbound: Inbound,
    oversized: Option<u64>,
}

/// What filing the attachments of one message shares.
struct Filing<'a> {
    tx: &'a registry::Tx<'a>,
    message: i64,
    verdict: &'a Verdict,
    arrived_at: Option<String>,
    /// Entries filed earlier in this same message, by SHA-256 (a form attached twice).
    seen: HashMap<String, registry::EntryRow>,
}

/// What [`Intake::admit`] did with a message.
#[derive(Debug)]
pub enum Admitted {
    /// Filed before (the same source message): nothing more to do.
    Done(Filed),
    /// Stored raw, to be filed.
    Stored { id: i64 },
}

/// What [`Intake::prepare`] found.
#[derive(Debug, Default)]
pub struct Preparation {
    pub sender: Option<String>,
    pub conversions: Vec<crate::convert::Conversion>,
}

/// A message after intake.
#[derive(Debug, Clone)]
pub struct Filed {
    pub id: i64,
    /// The JSON result (as printed by `ingest --json`).
    pub json: Value,
    /// False when the same source message had been filed before.
    pub fresh: bool,
}

/// The pipeline with everything it needs.
#[derive(Clone)]
pub struct Intake {
    pub campaign: Campaign,
    pub settings: Settings,
    pub replier: Replier,
    pub converter: Option<Converter>,
    /// Expert review's score sheets: when given, a message carrying one is the expert's
    /// scores, not an application (see [`ReviewIntake`]).
    pub review: Option<ReviewIntake>,
}

/// What recognising and importing a score sheet mailed back needs.
#[derive(Clone)]
pub struct ReviewIntake {
    pub rubric: crate::review::Rubric,
    pub wording: crate::review::wording::Wording,
    /// lndx's address, name and loop header (the receipt's sender).
    pub sender: crate::report::Sender,
}

impl Intake {
    /// How this intake parses messages; the platform export re-extracts stored files with it.
    pub fn parse_options(&self) -> ParseOptions {
        let mut own = self.campaign.own_addresses.clone();
        let me = self.settings.own_address.to_lowercase();
        if !own.contains(&me) {
            own.push(me);
        }
        ParseOptions {
            own_addresses: own,
            loop_header: self.settings.loop_header.clone(),
            limits: self.settings.limits,
        }
    }

    /// Files one message. Errors are infrastructure failures (database, disk); whatever
    /// the message holds is answered in the result.
    pub fn file(
        &self,
        reg: &mut Registry,
        raw: &[u8],
        source: SourceRef,
    ) -> Result<Filed, IntakeError> {
        match self.admit(reg, raw, &source)? {
            Admitted::Done(filed) => Ok(filed),
            Admitted::Stored { id } => self.file_stored(reg, id, raw, &source),
        }
    }

    /// The first step of [`Intake::file`]: the message is stored raw (and committed).
    /// `Done` when the same source message had been filed before.
    pub fn admit(
        &self,
        reg: &mut Registry,
        raw: &[u8],
        source: &SourceRef,
    ) -> Result<Admitted, IntakeError> {
        let stored = reg.store_raw(raw, source)?;
        if let Some(state) = &stored.earlier_state {
            if *state != MessageState::Received {
                let json = reg
                    .result_for_source(source.key.as_deref().unwrap_or_default())?
                    .and_then(|(_, r)| r)
                    .and_then(|r| serde_json::from_str(&r).ok())
                    .unwrap_or(Value::Null);
                return Ok(Admitted::Done(Filed {
                    id: stored.id,
                    json,
                    fresh: false,
                }));
            }
        }
        Ok(Admitted::Stored { id: stored.id })
    }

    /// The rest of [`Intake::file`] for a message [`Intake::admit`] stored.
    pub fn file_stored(
        &self,
        reg: &mut Registry,
        id: i64,
        raw: &[u8],
        source: &SourceRef,
    ) -> Result<Filed, IntakeError> {
        self.process_stored_with(
            reg,
            id,
            raw,
            source.arrived_at.as_deref(),
            source.declared_size,
            source.no_reply,
        )
    }

    /// What a stored message needs before it is filed: its sender (lower-case; replies
    /// to one sender follow filing order) and the conversions its files need (empty
    /// without a converter, for mail that is not answered, and over the size limit).
    pub fn prepare(&self, raw: &[u8], source: &SourceRef) -> Preparation {
        let opts = self.parse_options();
        let size = source.declared_size.unwrap_or(0).max(raw.len() as u64);
        if size > opts.limits.message_bytes || find_header_end(raw) > self.settings.header_bytes {
            return Preparation::default();
        }
        let Ok(inbound) = catch_unwind(AssertUnwindSafe(|| message::parse(raw, &opts))) else {
            return Preparation::default();
        };
        let conversions = if self.converter.is_some() && inbound.skip.is_none() {
            analyse::conversions(&inbound, &self.settings.read_limits)
        } else {
            Vec::new()
        };
        Preparation {
            sender: inbound.from.map(|a| a.address.to_lowercase()),
            conversions,
        }
    }

    /// Processes a message already stored raw (a fresh one, or one left unfinished by a
    /// crash, or one reprocessed by staff).
    pub fn process_stored(
        &self,
        reg: &mut Registry,
        id: i64,
        raw: &[u8],
        arrived_at: Option<&str>,
    ) -> Result<Filed, IntakeError> {
        self.process_stored_sized(reg, id, raw, arrived_at, None)
    }

    /// As [`Intake::process_stored`], for a message whose real size the source declares
    /// (only its header was fetched because it is over the limit).
    pub fn process_stored_sized(
        &self,
        reg: &mut Registry,
        id: i64,
        raw: &[u8],
        arrived_at: Option<&str>,
        declared_size: Option<u64>,
    ) -> Result<Filed, IntakeError> {
        self.process_stored_with(reg, id, raw, arrived_at, declared_size, None)
    }

    /// As [`Intake::process_stored_sized`]; with `no_reply`, the message is filed like
    /// any other but not answered (the reason is recorded as `unanswered`): old mail on a
    /// first run, or mail an earlier lndx marked done.
    pub fn process_stored_with(
        &self,
        reg: &mut Registry,
        id: i64,
        raw: &[u8],
        arrived_at: Option<&str>,
        declared_size: Option<u64>,
        no_reply: Option<&'static str>,
    ) -> Result<Filed, IntakeError> {
        let Some(parsed) = self.parse(raw, declared_size) else {
            reg.quarantine(id, "the message parser panicked")?;
            tracing::error!(id, "message parser panicked; message quarantined");
            return Ok(Filed {
                id,
                json: serde_json::json!({"stored_id": id, "quarantined": true}),
                fresh: true,
            });
        };
        let tx = reg.begin()?;
        let filed =
            self.file_parsed(&tx, id, &parsed, arrived_at, &Decision::default(), no_reply)?;
        tx.commit()?;
        Ok(filed)
    }

    /// Files a stored message again inside the caller's transaction, with what staff
    /// decided (a province, a sender released from the authentication hold): the same
    /// filing as a fresh message — files, entries with receipts, the normal reply queued,
    /// the result recorded — but committed (or not) by the caller together with its own
    /// records. Fails with [`IntakeError::Unparsable`] when the parser panics.
    pub fn refile(
        &self,
        tx: &registry::Tx,
        id: i64,
        raw: &[u8],
        arrived_at: Option<&str>,
        decision: &Decision,
    ) -> Result<Filed, IntakeError> {
        let parsed = self.parse(raw, None).ok_or(IntakeError::Unparsable)?;
        self.file_parsed(tx, id, &parsed, arrived_at, decision, None)
    }

    /// Parses a raw message within the limits (headers only past them); None when the
    /// parser panicked.
    fn parse(&self, raw: &[u8], declared_size: Option<u64>) -> Option<Parsed> {
        let opts = self.parse_options();
        let size = declared_size.unwrap_or(0).max(raw.len() as u64);
        let head_end = find_header_end(raw);
        let header = &raw[..head_end];
        let header_fields = header
            .split(|b| *b == b'\n')
            .filter(|l| l.first().is_some_and(|c| !c.is_ascii_whitespace()))
            .count();
        let absurd_header =
            head_end > self.settings.header_bytes || header_fields > self.settings.header_fields;
        catch_unwind(AssertUnwindSafe(|| {
            if size > opts.limits.message_bytes || absurd_header {
                // Headers only (at most the header limit of them): the body is not looked at.
                let cut = head_end.min(self.settings.header_bytes);
                let mut inbound = message::parse(&raw[..cut], &opts);
                inbound.files.clear();
                (inbound, true)
            } else {
                (message::parse(raw, &opts), false)
            }
        }))
        .ok()
        .map(|(inbound, oversized)| Parsed {
            inbound,
            oversized: oversized.then_some(size),
        })
    }

    /// Files a parsed message in the caller's transaction (not committed here).
    fn file_parsed(
        &self,
        tx: &registry::Tx,
        id: i64,
        parsed: &Parsed,
        arrived_at: Option<&str>,
        decision: &Decision,
        no_reply: Option<&'static str>,
    ) -> Result<Filed, IntakeError> {
        let inbound = &parsed.inbound;
        let arrival = arrived_at
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
            .or_else(|| inbound.received.map(|d| d.with_timezone(&Utc)))
            .or_else(|| inbound.date.map(|d| d.with_timezone(&Utc)))
            // No date anywhere: it arrives now.
            .or_else(|| Some(Utc::now()));

        let mut outcome = Outcome {
            message_id: inbound.message_id.clone(),
            province: None,
            batch: None,
            reply: None,
            skipped: inbound.skip.map(|s| s.key()),
            unanswered: None,
            errors: Vec::new(),
            warnings: Vec::new(),
            attachments: Vec::new(),
            arrived_at: arrival.map(|a| a.to_rfc3339_opts(SecondsFormat::Millis, true)),
            from: inbound.from.as_ref().map(|a| a.address.clone()),
            subject: inbound.subject.clone(),
            stored_id: id,
            review: None,
        };

        let mut evidence = None;
        let sheet = if inbound.skip.is_none() {
            self.score_sheet(inbound)
        } else {
            None
        };
        if let Some((seq, filled)) = sheet {
            self.file_score_sheet(tx, id, inbound, seq, &filled, &mut outcome)?;
        } else if inbound.skip.is_none() {
            self.judge_and_file(tx, id, parsed, arrival, decision, &mut outcome)?;
            let ev = guard::Guard::evidence(&self.settings.loop_guard, tx, inbound)?;
            outcome.unanswered = no_reply;
            let reply = match no_reply {
                Some(_) => None,
                None => self.reply_for(tx, inbound, &outcome, id)?,
            };
            if let Some((mut mail, subject)) = reply {
                let sender = outcome.from.clone().unwrap_or_default();
                mail.held =
                    guard::Guard::hold_reason(&self.settings.loop_guard, tx, id, &sender, &ev)?;
                if let Some(reason) = &mail.held {
                    tracing::warn!(
                        id,
                        recipient = %mail.recipients.first().map(String::as_str).unwrap_or("-"),
                        %reason,
                        "reply held by the loop guard; staff can release it"
                    );
                }
                outcome.reply = Some(ReplyInfo {
                    to: mail.recipients.iter().take(1).cloned().collect(),
                    subject,
                    sent: false,
                    message_id: mail.message_id.clone(),
                    held: mail.held.clone(),
                });
                tx.enqueue(&mail)?;
            }
            evidence = Some(ev);
        }
        let json = serde_json::to_value(&outcome).expect("outcome serialises");
        tx.finish_message(
            id,
            &Finished {
                message_id: outcome.message_id.clone(),
                sender: outcome.from.clone(),
                subject: Some(outcome.subject.clone()),
                province: outcome.province.clone(),
                batch: outcome.batch,
                skipped: outcome.skipped.map(str::to_string),
                result: json.to_string(),
                arrived_at: outcome.arrived_at.clone(),
                fingerprint: evidence.as_ref().map(|e| e.fingerprint.clone()),
                bare_answer: evidence.as_ref().is_some_and(|e| e.bare_answer),
            },
        )?;
        Ok(Filed {
            id,
            json,
            fresh: true,
        })
    }

    /// The first attachment that is one of our score sheets (a hidden marker sheet: see
    /// `review::sheet`), when review is set up; any other workbook goes the forms' way.
    fn score_sheet(&self, inbound: &Inbound) -> Option<(usize, crate::review::sheet::Filled)> {
        self.review.as_ref()?;
        inbound.files.iter().enumerate().find_map(|(i, f)| {
            if !f.bytes.starts_with(b"PK") {
                return None;
            }
            catch_unwind(AssertUnwindSafe(|| {
                crate::review::mail::recognise(&f.bytes)
            }))
            .ok()
            .flatten()
            .map(|x| (i, x))
        })
    }

    /// Files a message that carries a score sheet: its files are kept (no entries), the
    /// sheet's rows are recorded as review versions or said to be wrong, and the receipt is
    /// the reply — all in the filing transaction.
    fn file_score_sheet(
        &self,
        tx: &registry::Tx,
        id: i64,
        inbound: &Inbound,
        seq: usize,
        filled: &crate::review::sheet::Filled,
        outcome: &mut Outcome,
    ) -> Result<(), IntakeError> {
        let review = self.review.as_ref().expect("score_sheet checked it");
        for (i, file) in inbound.files.iter().enumerate() {
            let sha = registry::sha256_hex(&file.bytes);
            tx.add_file(&NewFile {
                message: id,
                seq: i,
                filename: &file.filename,
                container: file.container.as_deref(),
                path_in_container: file.path_in_container.as_deref(),
                sha256: &sha,
                size: file.bytes.len(),
                file_type: file.file_type.key(),
                role: FileRole::Supporting,
                kind: None,
                errors: "[]".into(),
                warnings: "[]".into(),
            })?;
        }
        let mailer = crate::review::mail::Mailer {
            campaign: &self.campaign,
            rubric: &review.rubric,
            wording: &review.wording,
            sender: &review.sender,
            // The receipt of a score sheet carries no sign-in link.
            sign_in: None,
        };
        let sender = inbound
            .from
            .as_ref()
            .map(|a| a.address.clone())
            .unwrap_or_default();
        let done = mailer
            .import_sheet(
                tx,
                &sender,
                filled,
                &inbound.files[seq].filename,
                id,
                inbound.message_id.clone(),
            )
            .map_err(|e| match e {
                crate::review::ReviewError::Registry(r) => IntakeError::Registry(r),
                other => IntakeError::Render(other.to_string()),
            })?;
        outcome.review = Some(serde_json::json!({
            "round": done.round,
            "recorded": done.recorded.iter().map(|(r, t, rec)| serde_json::json!({"receipt": r, "total": t, "recommendation": rec})).collect::<Vec<_>>(),
            "problems": done.problems.iter().map(|(c, m)| serde_json::json!({"code": c, "message": m})).collect::<Vec<_>>(),
        }));
        outcome.reply = Some(ReplyInfo {
            to: vec![sender],
            subject: done.subject,
            sent: false,
            message_id: done.message_id,
            held: None,
        });
        Ok(())
    }

    /// Reads every file, judges the message (province, batch, message-level findings) and
    /// files each attachment, in the caller's transaction.
    fn judge_and_file(
        &self,
        tx: &registry::Tx,
        id: i64,
        parsed: &Parsed,
        arrival: Option<DateTime<Utc>>,
        decision: &Decision,
        outcome: &mut Outcome,
    ) -> Result<(), IntakeError> {
        let (inbound, oversized) = (&parsed.inbound, parsed.oversized);
        let readers = analyse::Readers {
            campaign: &self.campaign,
            limits: self.settings.read_limits,
            converter: self.converter.as_ref(),
        };
        let analyses = analyse::analyse(inbound, &readers);
        let verdict = self.judge(inbound, &analyses, arrival, oversized, decision, outcome);
        let mut filing = Filing {
            tx,
            message: id,
            verdict: &verdict,
            arrived_at: outcome.arrived_at.clone(),
            seen: HashMap::new(),
        };
        for (seq, (file, analysis)) in inbound.files.iter().zip(analyses).enumerate() {
            let att = self.file_attachment(&mut filing, seq, file, &analysis)?;
            outcome.attachments.push(att);
        }
        Ok(())
    }

    /// The message-level verdict, written into the outcome.
    fn judge(
        &self,
        inbound: &Inbound,
        analyses: &[FileAnalysis],
        arrival: Option<DateTime<Utc>>,
        oversized: Option<u64>,
        decision: &Decision,
        outcome: &mut Outcome,
    ) -> Verdict {
        let units: Vec<&str> = analyses.iter().filter_map(|a| a.unit.as_deref()).collect();
        let facts = MessageFacts {
            sender: inbound.from.as_ref().map(|a| a.address.as_str()),
            subject: &inbound.subject,
            arrival,
            units,
            usable_files: if oversized.is_some() {
                1
            } else {
                analyses.iter().filter(|a| is_usable(a)).count()
            },
            big_attachment_link: inbound.big_attachment_link,
            registered_only: self.settings.registered_only,
            authentication_results: inbound.authentication_results.as_deref(),
            hold_on_auth_failure: self.settings.hold_on_auth_failure,
        };
        let mut verdict = rules::judge_message(&facts, &self.campaign);
        decision.apply(&mut verdict);
        outcome.province = verdict.province.clone();
        outcome.batch = verdict.batch;
        outcome.errors = verdict.errors.clone();
        outcome.warnings = verdict.warnings.clone();
        if let Some(size) = oversized {
            let mut f = Finding::new(Code::TooLarge);
            f.limit = Some(self.settings.limits.message_bytes);
            f.actual = Some(size);
            outcome.errors.push(f);
        }
        verdict
    }

    /// Files one attachment: its file row, and the entry its form makes (or the earlier
    /// entry of the very same bytes).
    fn file_attachment(
        &self,
        filing: &mut Filing,
        seq: usize,
        file: &message::File,
        analysis: &FileAnalysis,
    ) -> Result<AttachmentOutcome, IntakeError> {
        let sha = registry::sha256_hex(&file.bytes);
        let kind = analysis.kind();
        let file_id = filing.tx.add_file(&NewFile {
            message: filing.message,
            seq,
            filename: &file.filename,
            container: file.container.as_deref(),
            path_in_container: file.path_in_container.as_deref(),
            sha256: &sha,
            size: file.bytes.len(),
            file_type: file.file_type.key(),
            role: analysis.role,
            kind: kind.map(|k| k.key()),
            errors: to_json(&analysis.errors),
            warnings: to_json(&analysis.warnings),
        })?;
        let mut att = AttachmentOutcome {
            filename: file.filename.clone(),
            role: analysis.role,
            kind: kind.map(|k| k.key()),
            container: file.container.clone(),
            path_in_container: file.path_in_container.clone(),
            file_type: file.file_type.key(),
            size: file.bytes.len(),
            sha256: sha.clone(),
            entry: None,
            errors: analysis.errors.clone(),
            warnings: analysis.warnings.clone(),
        };
        let Some(form) = &analysis.form else {
            return Ok(att);
        };
        att.errors.extend(form.errors.iter().cloned());
        att.warnings.extend(form.warnings.iter().cloned());
        // The same bytes filed before, in this message or an earlier one.
        let earlier = match filing.seen.get(&sha) {
            Some(row) => Some(row.clone()),
            None => filing.tx.entry_by_file_sha(&sha, filing.message)?,
        };
        if let Some(earlier) = earlier {
            let mut dup = Finding::new(Code::Duplicate);
            dup.receipt = Some(earlier.receipt.clone());
            att.warnings.push(dup);
            att.entry = Some(entry_outcome(&earlier));
            return Ok(att);
        }
        let row = self.file_entry(filing, file_id, &sha, form, analysis, &att)?;
        att.entry = Some(entry_outcome(&row));
        filing.seen.insert(sha, row);
        Ok(att)
    }

    /// Files a new entry (or a new version of one) for a checked form.
    fn file_entry(
        &self,
        filing: &Filing,
        file_id: i64,
        sha: &str,
        form: &CheckedForm,
        analysis: &FileAnalysis,
        att: &AttachmentOutcome,
    ) -> Result<registry::EntryRow, IntakeError> {
        let verdict = filing.verdict;
        let info = &self.campaign.info;
        let status = if verdict.hold {
            EntryStatus::Held
        } else if form.is_valid() {
            EntryStatus::Valid
        } else {
            EntryStatus::Invalid
        };
        let province = verdict.province.as_deref();
        let batch_tag = match verdict.batch {
            Some(b) => format!("B{b}"),
            None => info.late_batch_tag.clone(),
        };
        let name_key = crate::text::name_key(&form.name);
        let entry_key = format!(
            "{}|{}|{}",
            province.unwrap_or("-"),
            form.kind.key(),
            if name_key.is_empty() {
                format!("#{sha}")
            } else {
                name_key
            }
        );
        let row = filing.tx.file_entry(&NewEntry {
            message: filing.message,
            file: file_id,
            file_sha256: sha,
            entry_key,
            receipt_prefix: format!(
                "{}-{}-{}-{}",
                info.code,
                batch_tag,
                province.unwrap_or(&info.held_province),
                self.campaign.kind_info(form.kind).letter
            ),
            province,
            batch: verdict.batch,
            late: verdict.batch.is_none(),
            kind: form.kind.key(),
            name: &form.name,
            unit: analysis.unit.as_deref(),
            status,
            fields: serde_json::to_string(&form.fields).expect("fields serialise"),
            errors: to_json(&att.errors),
            warnings: to_json(&att.warnings),
            themes: serde_json::to_string(&form.themes).expect("themes serialise"),
            arrived_at: filing.arrived_at.clone(),
        })?;
        Ok(row)
    }

    fn reply_for(
        &self,
        tx: &registry::Tx,
        inbound: &Inbound,
        outcome: &Outcome,
        id: i64,
    ) -> Result<Option<(QueuedMail, String)>, IntakeError> {
        let Some(from) = &inbound.from else {
            return Ok(None);
        };
        if !from.address.contains('@') {
            return Ok(None);
        }
        let to = reply_address(inbound, &self.campaign).unwrap_or_else(|| from.address.clone());
        let totals = match (&outcome.province, outcome.batch) {
            (Some(p), Some(b)) => tx.valid_counts(p, b)?,
            _ => Vec::new(),
        };
        let message = reply::Message {
            inbound,
            outcome,
            campaign: &self.campaign,
            settings: &self.settings,
            totals: &totals,
        };
        let rendered = self
            .replier
            .render(&to, &message)
            .map_err(|e| IntakeError::Render(e.to_string()))?;
        let mut recipients = vec![to];
        recipients.extend(self.settings.staff_copies.iter().cloned());
        let mail = QueuedMail {
            message: Some(id),
            purpose: crate::queued::Purpose::Reply,
            message_id: rendered.message_id,
            envelope_from: self.settings.own_address.clone(),
            recipients,
            body: rendered.bytes,
            held: None,
        };
        Ok(Some((mail, rendered.subject)))
    }
}

/// Replies go to the sender. A Reply-To is honoured only inside the sender's own domain,
/// or at an address registered for the same province: never to a stranger.
fn reply_address(inbound: &Inbound, campaign: &Campaign) -> Option<String> {
    let from = &inbound.from.as_ref()?.address;
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    let from_province = campaign.registered_province(from);
    inbound
        .reply_to
        .iter()
        .map(|r| r.address.clone())
        .find(|r| {
            r.contains('@')
                && (domain(r) == domain(from)
                    || (from_province.is_some()
                        && campaign.registered_province(r) == from_province))
        })
}

/// Whether a file answers the call for forms: a form or summary sheet, or a file that could
/// not be read (it is answered by its own code). Scans, photos, PDFs and videos alone are
/// supporting files (`no_attachment`); a zip counts by its members, or by its own error.
fn is_usable(a: &FileAnalysis) -> bool {
    match a.role {
        FileRole::Supporting => false,
        FileRole::Archive => !a.errors.is_empty(),
        FileRole::Form | FileRole::Summary | FileRole::Unknown => true,
    }
}

fn entry_outcome(row: &registry::EntryRow) -> EntryOutcome {
    EntryOutcome {
        receipt: row.receipt.clone(),
        name: row.name.clone(),
        status: row.status,
        late: row.late,
        fields: serde_json::from_str(&row.fields).unwrap_or_default(),
        themes: serde_json::from_str(&row.themes).unwrap_or_default(),
        supersedes: row.supersedes.clone(),
        version: row.version,
    }
}

fn to_json(findings: &[Finding]) -> String {
    serde_json::to_string(findings).expect("findings serialise")
}

/// The end of the header block (the blank line), or the whole input.
fn find_header_end(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len())
}

impl Intake {
    /// Reads and checks form files without filing anything (`lndx check`). The result has
    /// the shape of a message result's `attachments`, without receipts.
    pub fn check_files(&self, files: Vec<(String, Vec<u8>)>) -> Value {
        let inbound = Inbound {
            files: files
                .into_iter()
                .map(|(filename, bytes)| message::File {
                    file_type: message::sniff(&bytes, &filename),
                    filename,
                    bytes,
                    container: None,
                    path_in_container: None,
                    problem: None,
                })
                .collect(),
            ..Inbound::default()
        };
        let readers = analyse::Readers {
            campaign: &self.campaign,
            limits: self.settings.read_limits,
            converter: self.converter.as_ref(),
        };
        let analyses = analyse::analyse(&inbound, &readers);
        let attachments: Vec<Value> = inbound
            .files
            .iter()
            .zip(analyses)
            .map(|(f, a)| {
                let mut errors = a.errors.clone();
                let mut warnings = a.warnings.clone();
                let entry = a.form.as_ref().map(|form| {
                    errors.extend(form.errors.iter().cloned());
                    warnings.extend(form.warnings.iter().cloned());
                    serde_json::json!({
                        "receipt": null,
                        "name": form.name,
                        "status": if form.is_valid() { EntryStatus::Valid } else { EntryStatus::Invalid },
                        "fields": form.fields,
                        "themes": form.themes,
                    })
                });
                serde_json::json!({
                    "filename": f.filename,
                    "role": a.role,
                    "kind": a.kind().map(|k| k.key()),
                    "file_type": f.file_type.key(),
                    "entry": entry,
                    "errors": errors,
                    "warnings": warnings,
                })
            })
            .collect();
        serde_json::json!({ "attachments": attachments })
    }
}
