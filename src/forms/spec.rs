//! The form definitions loaded from `rules/forms.toml`: labels and their variants, fields,
//! tick options, section headings. Deserialised by `campaign`, used by the readers.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct FormsSpec {}

impl FormsSpec {
    /// Semantic checks beyond the file's syntax.
    pub fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}
