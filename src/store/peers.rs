//! What a store shared by several services (PostgreSQL) gives each of them, and a store one process owns
//! (sled) gives trivially: word of what the others changed, and which of them polls a feed.
//!
//! A service announces its changes after storing them ([`super::backend::CaseStore::announce`]); the
//! others read every announcement after the last they saw, woken by a [`Listener`] (PostgreSQL's
//! LISTEN/NOTIFY) but never trusting it: they read again on a timer too, so a notification lost while a
//! connection was down costs a few seconds, not a change. A feed is polled by the service that holds its
//! [`FeedLease`]; when that service dies its lease goes with its connection, and another takes it.
//!
//! A write to a case is the one change that must not be missed, so a store that announces (PostgreSQL)
//! records the cases each of its transactions writes in that same transaction ([`CaseWrite`]): the record
//! commits or rolls back with the write. Announced afterwards, a decision stored by a service that died
//! before telling anyone was never heard of by the others' clients.

use std::time::Duration;

use super::Result;
use crate::domain::AlertKey;

/// What the other services announced after a point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// Each announcement's payload, in the order they were made.
    pub payloads: Vec<Vec<u8>>,
    /// What the other services' transactions wrote to cases, in the order they committed. Kept apart from
    /// the payloads, whose order against them is lost: only case writes need theirs (a case purged, then
    /// stored again), and what a payload says of a case (withheld, escalated) is read against the case as
    /// it stands when a subscriber reads it.
    pub wrote: Vec<CaseWrite>,
    /// The number of the last announcement read (the next read starts after it).
    pub last: u64,
    /// Some announcements after the point asked for are no longer kept: the reader must read everything
    /// again rather than miss them.
    pub gap: bool,
}

/// A case one transaction of the store wrote, as the store records it for the other services sharing it
/// (sealed, like an announcement: a case's key names a pupil's alert).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CaseWrite {
    /// Its events or index entry were written; `staff`: it is (now) about a member of staff; `alert`: its
    /// alert was stored or replaced too (a new alert, a revision), which the others count in their trends.
    Written { key: AlertKey, staff: bool, alert: bool },
    /// It was purged whole; `staff`: it was about a member of staff.
    Purged { key: AlertKey, staff: bool },
}

/// Wakes a service when another announces something.
pub trait Listener: Send {
    /// Returns when an announcement may have been made, or after `timeout` at most. An error means the
    /// listener's connection is gone: make another.
    fn wait(&mut self, timeout: Duration) -> Result<()>;
}

/// The right to poll one feed, held while the value lives.
pub trait FeedLease: Send {
    /// Whether it is still held (a connection to the database lost takes the lease with it).
    fn held(&mut self) -> bool;
}

/// The lease of a store one process owns: nobody else can poll its feed.
pub struct SoleOwner;

impl FeedLease for SoleOwner {
    fn held(&mut self) -> bool {
        true
    }
}
