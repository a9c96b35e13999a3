//! Retry delays: exponential growth up to a cap, and random jitter so that retries of
//! many mails, or of many restarted daemons, do not fall in step. A leaf module used by the
//! outbox (the delay after `n` attempts, `n` read back from SQLite) and by the IMAP
//! reconnect loop (a count of failures since the last healthy session).
//!
//! Why not the `backoff` or `backon` crate: both drive the retried operation themselves
//! (a closure or a future they call again), which fits neither caller. The outbox retries
//! across restarts from an attempt count stored in the database and only needs "the delay
//! after n attempts"; the IMAP loop resets the count after a long healthy session, raises
//! the floor for failures that retrying soon does not help, and waits in a `select!` with
//! shutdown. What both need is two pure functions; `backoff` has also had no release since
//! 0.4.0 (2021).

use std::time::Duration;

/// Delays that double after every failure: `first`, 2·`first`, 4·`first` … at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exponential {
    pub first: Duration,
    pub max: Duration,
}

impl Exponential {
    /// The delay after `n` earlier failures: `first · 2ⁿ`, at most `max` (no overflow for
    /// any `n`).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n).unwrap_or(u32::MAX);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// `d` scaled by a random factor in `[1 − spread, 1 + spread]` (`spread` in 0..1).
pub fn jitter(d: Duration, spread: f64) -> Duration {
    let factor = 1.0 + spread * (rand::random::<f64>() * 2.0 - 1.0);
    d.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let e = Exponential {
            first: Duration::from_secs(5),
            max: Duration::from_secs(1800),
        };
        let secs: Vec<u64> = (0..10).map(|n| e.delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 1800]);
        assert_eq!(e.delay(31), e.max);
        assert_eq!(e.delay(u32::MAX), e.max);
    }

    #[test]
    fn jitter_stays_within_its_spread() {
        let d = Duration::from_secs(100);
        for _ in 0..1000 {
            let j = jitter(d, 0.2);
            assert!(
                j >= Duration::from_secs(80) && j <= Duration::from_secs(120),
                "{j:?}"
            );
        }
        assert_eq!(jitter(d, 0.0), d);
    }
}
