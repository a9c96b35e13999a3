//! Rules: checks a read form, a summary sheet and a message against the campaign and
//! returns findings (errors and warnings with stable codes). Never fails: a rejected form
//! is a normal outcome.
//!
//! Owns: the codes of docs/intake.md#codes and when each applies. The limits and word lists come
//! from the campaign (rules/*.toml); the wording shown to people lives in templates/.

mod codes;
mod form;
mod message;
mod summary;

pub use codes::{Code, Finding};
pub use form::{check_form, CheckedForm, FormContext};
pub use message::{judge_message, MessageFacts, MessageVerdict};
pub use summary::check_summary;
