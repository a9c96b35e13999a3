//! How lndx files and answers, from the config: who it is (its address, name and loop
//! header), who gets copies, the limits on messages and documents, the sender policy.
//!
//! A plain value shared by `intake` (which files) and `reply` (which answers), so that
//! neither has to import the other.

use crate::forms::ReadLimits;
use crate::message::Limits;

/// Who we are and how we file (from the config).
#[derive(Debug, Clone)]
pub struct Settings {
    pub own_address: String,
    pub own_name: String,
    /// Addresses that receive a copy of every reply.
    pub staff_copies: Vec<String>,
    pub loop_header: String,
    pub limits: Limits,
    pub read_limits: ReadLimits,
    pub registered_only: bool,
    /// The most header bytes and header fields a message may have; past them it is answered
    /// `too_large` from its first header bytes.
    pub header_bytes: usize,
    pub header_fields: usize,
    /// Hold entries of a message whose sender failed SPF/DKIM/DMARC (top-most
    /// Authentication-Results) for staff.
    pub hold_on_auth_failure: bool,
    /// The loop guard (`intake::guard`).
    pub loop_guard: LoopGuard,
}

/// The loop guard's settings (`[loop_guard]` in the config; see `intake::guard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopGuard {
    /// Answered repeats from one sender within the window after which the next reply is
    /// held (0: the guard is off).
    pub repeats: u32,
    /// The window, in minutes.
    pub window_minutes: u32,
}

impl Default for LoopGuard {
    fn default() -> Self {
        LoopGuard {
            repeats: 2,
            window_minutes: 60,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            own_address: "lndx@ouchn.edu.cn".into(),
            // The campaign's `sender_name` unless the config's identity.name says otherwise.
            own_name: String::new(),
            staff_copies: Vec::new(),
            loop_header: "X-Lndx-Loop".into(),
            limits: Limits::default(),
            read_limits: ReadLimits::default(),
            registered_only: false,
            header_bytes: 1024 * 1024,
            header_fields: 5000,
            hold_on_auth_failure: true,
            loop_guard: LoopGuard::default(),
        }
    }
}
