//! The stable error and warning codes (docs/intake.md#codes) and the finding that carries one.

use serde::{Deserialize, Serialize};

/// A stable code. Spelled in JSON exactly as in docs/intake.md#codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // message level
    UnknownProvince,
    LinkAttachment,
    NoAttachment,
    UnregisteredSender,
    ProvinceMismatch,
    BatchMismatch,
    Late,
    SenderNotAllowed,
    AuthenticationFailed,
    // attachment level
    MissingField,
    TooLong,
    InvalidPhone,
    NotANumber,
    NoChoice,
    MultipleChoices,
    InvalidChoice,
    VideoSourceMissing,
    SummaryMismatch,
    UnsupportedFormat,
    UnreadableAttachment,
    EncryptedDocument,
    MacroDocument,
    TooLarge,
    NotAForm,
    OverTotal,
    OffTheme,
    Duplicate,
}

impl Code {
    /// Every code, for checking that the wording covers them all.
    pub const ALL: [Code; 27] = [
        Code::UnknownProvince,
        Code::LinkAttachment,
        Code::NoAttachment,
        Code::UnregisteredSender,
        Code::ProvinceMismatch,
        Code::BatchMismatch,
        Code::Late,
        Code::SenderNotAllowed,
        Code::AuthenticationFailed,
        Code::MissingField,
        Code::TooLong,
        Code::InvalidPhone,
        Code::NotANumber,
        Code::NoChoice,
        Code::MultipleChoices,
        Code::InvalidChoice,
        Code::VideoSourceMissing,
        Code::SummaryMismatch,
        Code::UnsupportedFormat,
        Code::UnreadableAttachment,
        Code::EncryptedDocument,
        Code::MacroDocument,
        Code::TooLarge,
        Code::NotAForm,
        Code::OverTotal,
        Code::OffTheme,
        Code::Duplicate,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Code::UnknownProvince => "unknown_province",
            Code::LinkAttachment => "link_attachment",
            Code::NoAttachment => "no_attachment",
            Code::UnregisteredSender => "unregistered_sender",
            Code::ProvinceMismatch => "province_mismatch",
            Code::BatchMismatch => "batch_mismatch",
            Code::Late => "late",
            Code::SenderNotAllowed => "sender_not_allowed",
            Code::AuthenticationFailed => "authentication_failed",
            Code::MissingField => "missing_field",
            Code::TooLong => "too_long",
            Code::InvalidPhone => "invalid_phone",
            Code::NotANumber => "not_a_number",
            Code::NoChoice => "no_choice",
            Code::MultipleChoices => "multiple_choices",
            Code::InvalidChoice => "invalid_choice",
            Code::VideoSourceMissing => "video_source_missing",
            Code::SummaryMismatch => "summary_mismatch",
            Code::UnsupportedFormat => "unsupported_format",
            Code::UnreadableAttachment => "unreadable_attachment",
            Code::EncryptedDocument => "encrypted_document",
            Code::MacroDocument => "macro_document",
            Code::TooLarge => "too_large",
            Code::NotAForm => "not_a_form",
            Code::OverTotal => "over_total",
            Code::OffTheme => "off_theme",
            Code::Duplicate => "duplicate",
        }
    }
}

/// One error or warning, with what a person needs to fix it. Stored as JSON with the
/// entry, and read back for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The field's label as printed on the form (or the standard label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<u64>,
    /// An entry's name (summary_mismatch) or a value that was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The earlier receipt (duplicate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Extra detail for people (English, for logs), not part of the stable interface.
    #[serde(skip)]
    pub detail: Option<String>,
}

impl Finding {
    pub fn new(code: Code) -> Finding {
        Finding {
            code,
            field: None,
            label: None,
            limit: None,
            actual: None,
            name: None,
            value: None,
            receipt: None,
            detail: None,
        }
    }

    pub fn field(mut self, field: &str, label: String) -> Finding {
        self.field = Some(field.to_string());
        self.label = Some(label);
        self
    }

    pub fn counts(mut self, limit: u64, actual: u64) -> Finding {
        self.limit = Some(limit);
        self.actual = Some(actual);
        self
    }

    pub fn value(mut self, value: &str) -> Finding {
        let v: String = value.chars().take(60).collect();
        self.value = Some(v);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Finding {
        self.detail = Some(detail.into());
        self
    }
}
