//! Message-level judgement: province (registered sender, else inferred), batch by arrival,
//! and the message-level codes (unknown_province, unregistered_sender, province_mismatch,
//! batch_mismatch, late, no_attachment, link_attachment).

use chrono::{DateTime, Utc};

use super::{Code, Finding};
use crate::campaign::{Arrival, Campaign};

/// What the message stage and the form reading found, as the rules need it.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts<'a> {
    pub sender: Option<&'a str>,
    pub subject: &'a str,
    pub arrival: Option<DateTime<Utc>>,
    /// 申报单位 of every form read.
    pub units: Vec<&'a str>,
    /// Files that count as a submission (forms, summaries, supporting files, unreadable
    /// documents…): zero means the message brought nothing usable.
    pub usable_files: usize,
    pub big_attachment_link: bool,
    /// Only registered senders may file (config).
    pub registered_only: bool,
    /// The top-most Authentication-Results header (added by our own receiving server).
    pub authentication_results: Option<&'a str>,
    /// Hold a message whose sender failed authentication (config).
    pub hold_on_auth_failure: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageVerdict {
    pub province: Option<String>,
    /// None for a late message.
    pub batch: Option<u8>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// Entries are held for staff (unknown province, failed authentication).
    pub hold: bool,
}

/// True when the receiving server says the sender is forged: DMARC failed, or SPF failed
/// and no DKIM signature passed.
pub fn authentication_failed(header: &str) -> bool {
    let results: Vec<(String, String)> = header
        .split(';')
        .skip(1) // the authserv-id
        .filter_map(|part| {
            let part = part.trim();
            let (method, rest) = part.split_once('=')?;
            let result = rest
                .split_whitespace()
                .next()?
                .trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            Some((
                method.trim().to_ascii_lowercase(),
                result.to_ascii_lowercase(),
            ))
        })
        .collect();
    let has = |m: &str, r: &[&str]| {
        results
            .iter()
            .any(|(mm, rr)| mm == m && r.contains(&rr.as_str()))
    };
    has("dmarc", &["fail"]) || (has("spf", &["fail"]) && !has("dkim", &["pass"]))
}

pub fn judge_message(facts: &MessageFacts, campaign: &Campaign) -> MessageVerdict {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let registered = facts.sender.and_then(|s| campaign.registered_province(s));
    let from_units = facts
        .units
        .iter()
        .find_map(|u| campaign.province_in_text(u));
    let province = match registered {
        Some(code) => {
            if let Some(named) = from_units {
                if named != code {
                    let mut f = Finding::new(Code::ProvinceMismatch);
                    f.value = Some(named.to_string());
                    warnings.push(f);
                }
            }
            Some(code.to_string())
        }
        None if facts.registered_only => {
            errors.push(Finding::new(Code::SenderNotAllowed));
            None
        }
        None => {
            let inferred = from_units.or_else(|| campaign.province_in_text(facts.subject));
            match inferred {
                Some(code) => {
                    warnings.push(Finding::new(Code::UnregisteredSender));
                    Some(code.to_string())
                }
                None => {
                    errors.push(Finding::new(Code::UnknownProvince));
                    None
                }
            }
        }
    };

    let arrival = facts.arrival.unwrap_or_else(Utc::now);
    let batch = match campaign.arrival(arrival) {
        Arrival::Batch(n) => Some(n),
        Arrival::Late => {
            warnings.push(Finding::new(Code::Late));
            None
        }
    };
    if let (Some(b), Some(named)) = (batch, campaign.batch_in_subject(facts.subject)) {
        if b != named {
            let mut f = Finding::new(Code::BatchMismatch);
            f.limit = Some(b as u64);
            f.actual = Some(named as u64);
            warnings.push(f);
        }
    }

    if facts.usable_files == 0 {
        errors.push(Finding::new(if facts.big_attachment_link {
            Code::LinkAttachment
        } else {
            Code::NoAttachment
        }));
    }

    let auth_failed = facts.hold_on_auth_failure
        && facts
            .authentication_results
            .is_some_and(authentication_failed);
    if auth_failed {
        errors.push(Finding::new(Code::AuthenticationFailed));
    }
    MessageVerdict {
        hold: province.is_none() || auth_failed,
        province,
        batch,
        errors,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::authentication_failed;

    #[test]
    fn reads_authentication_results() {
        assert!(authentication_failed(
            "mx.ouchn.edu.cn; spf=fail smtp.mailfrom=a@gd.test; dkim=none"
        ));
        assert!(authentication_failed(
            "mx; dmarc=fail (p=reject) header.from=gd.test"
        ));
        assert!(!authentication_failed(
            "mx; spf=fail smtp.mailfrom=a@gd.test; dkim=pass header.d=gd.test"
        ));
        assert!(!authentication_failed(
            "mx; spf=pass; dkim=pass; dmarc=pass"
        ));
        assert!(!authentication_failed("mx; none"));
    }
}
