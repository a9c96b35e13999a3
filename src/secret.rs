//! A secret from the config — a password given inline, from an environment variable or
//! from a file — resolved when it is needed and never printed: its `Debug` output is
//! `Secret(<redacted>)`, so a config can be logged whole.
//!
//! A leaf: it imports nothing from the crate (the IMAP source and the SMTP transport use it
//! in their configs).

use std::path::PathBuf;

use serde::Deserialize;

/// A secret: given inline, from an environment variable or from a file. Never printed.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub value: Option<String>,
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn resolve(&self) -> Result<String, String> {
        if let Some(v) = &self.value {
            return Ok(v.clone());
        }
        if let Some(name) = &self.env {
            return std::env::var(name)
                .map_err(|_| format!("environment variable {name} is not set"));
        }
        if let Some(p) = &self.file {
            return std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read secret file {}: {e}", p.display()));
        }
        Err("no password given (set value, env or file)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Account {
            username: String,
            password: Secret,
        }
        let a: Account = toml::from_str(
            r#"
            username = "lndx@ouchn.test"
            password = { value = "hunter2-very-secret" }
            "#,
        )
        .unwrap();
        let shown = format!("{a:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert_eq!(a.password.resolve().unwrap(), "hunter2-very-secret");
    }

    #[test]
    fn secrets_from_environment_and_file() {
        let dir = std::env::temp_dir().join(format!("lndx-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let s = Secret {
            value: None,
            env: None,
            file: Some(f),
        };
        assert_eq!(s.resolve().unwrap(), "from-file");
        let s = Secret {
            value: None,
            env: Some("LNDX_TEST_SURELY_UNSET_VAR".into()),
            file: None,
        };
        assert!(s
            .resolve()
            .unwrap_err()
            .contains("LNDX_TEST_SURELY_UNSET_VAR"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
