//! The kind of an entry (智慧助老 has `case`, `project` and `course`; another campaign has
//! its own), as a small value every stage can pass around and use as a map key.
//!
//! A leaf: it imports nothing from the crate. Kinds are defined by the campaign folder
//! (`campaign.toml`, `[[kinds]]`); [`crate::campaign::Campaign::kind`] turns a key into a
//! `Kind`, and everything about a kind other than its key and its place in the campaign's
//! order (its Chinese name, receipt letter, target, form) is looked up in the campaign.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// One kind of entry: its position in the campaign's `[[kinds]]` list (which orders reports
/// and books as the campaign lists them) and its key (used in JSON, the database and the
/// rules files).
///
/// `Copy` on purpose: kinds are compared and used as map keys throughout the pipeline, and
/// a campaign has a handful of them. Keys are interned (see [`intern`]), so the value is two
/// words and needs no lifetime.
#[derive(Clone, Copy)]
pub struct Kind {
    order: u16,
    key: &'static str,
}

impl Kind {
    /// The kind at `order` in its campaign's list, with `key`. Only the campaign loader
    /// (and tests) make kinds; everything else asks the campaign.
    pub fn new(order: u16, key: &str) -> Kind {
        Kind {
            order,
            key: intern(key),
        }
    }

    /// Stable key used in JSON, the database and rules files.
    pub fn key(self) -> &'static str {
        self.key
    }

    /// Position in the campaign's `[[kinds]]` list (0-based).
    pub fn order(self) -> u16 {
        self.order
    }
}

// Keys are interned, so the same key is the same pointer: comparing and hashing the
// address instead of the text keeps kinds as cheap as the enum they replaced (they are
// compared in every label lookup of every form read).
impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.order == other.order && std::ptr::eq(self.key, other.key)
    }
}

impl Eq for Kind {}

impl std::hash::Hash for Kind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.order.hash(state);
        std::ptr::hash(self.key, state);
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Kind) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// By position in the campaign; kinds of one campaign have distinct positions, so the key's
/// text only breaks ties between campaigns.
impl Ord for Kind {
    fn cmp(&self, other: &Kind) -> std::cmp::Ordering {
        self.order
            .cmp(&other.order)
            .then_with(|| self.key.cmp(other.key))
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key)
    }
}

/// Returns a `'static` copy of `key`, allocating it once per distinct key for the life of
/// the process. The set of keys is what rules folders define (a few per campaign), so the
/// memory is bounded by the number of distinct keys ever loaded, not by use.
fn intern(key: &str) -> &'static str {
    static KEYS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut keys = KEYS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(k) = keys.get(key) {
        return k;
    }
    let k: &'static str = Box::leak(key.to_owned().into_boxed_str());
    keys.insert(k);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_order_by_campaign_position_not_by_key() {
        let case = Kind::new(0, "case");
        let project = Kind::new(1, "project");
        let course = Kind::new(2, "course");
        let mut v = vec![course, case, project];
        v.sort();
        assert_eq!(v, vec![case, project, course]);
        assert_eq!(course.key(), "course");
    }

    #[test]
    fn the_same_key_is_interned_once() {
        let a = Kind::new(0, "star");
        let b = Kind::new(0, &String::from("star"));
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.key(), b.key()));
    }
}
