//! Spelled values: unit-only enums whose spellings are part of the stable interface (JSON,
//! the registry's columns, the config). [`spelled!`] gives such an enum its spelling
//! (`as_str`, `Display`), parsing (`FromStr` with an error that lists the known values) and
//! its conversion to and from SQLite (`ToSql`/`FromSql`), so that the value is typed
//! everywhere between the edges.
//!
//! A leaf: it imports nothing from the crate.

/// A spelling that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what}; use one of: {known}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub known: String,
}

/// Spelling, parsing and SQL conversion for a unit-only enum with a fixed list of values:
/// `spelled!(Type, "what it is", [Variant => "spelling", …]);`
macro_rules! spelled {
    ($ty:ident, $what:literal, [$($variant:ident => $text:literal),+ $(,)?]) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::spelling::UnknownValue;

            fn from_str(s: &str) -> ::std::result::Result<$ty, $crate::spelling::UnknownValue> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::spelling::UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        known: $ty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }

        impl ::rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> ::rusqlite::Result<::rusqlite::types::ToSqlOutput<'_>> {
                Ok(::rusqlite::types::ToSqlOutput::from(self.as_str()))
            }
        }

        impl ::rusqlite::types::FromSql for $ty {
            fn column_result(
                value: ::rusqlite::types::ValueRef<'_>,
            ) -> ::rusqlite::types::FromSqlResult<$ty> {
                let s = value.as_str()?;
                s.parse()
                    .map_err(|e| ::rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

pub(crate) use spelled;
