//! What a store shared by several services (PostgreSQL) gives each of them, and a store one process owns
//! (sled) gives trivially: word of what the others changed, and which of them polls a feed.
//!
//! A service announces its changes after storing them ([`super::backend::CaseStore::announce`]); the
//! others read every announcement after the last they saw, woken by a [`Listener`] (PostgreSQL's
//! LISTEN/NOTIFY) but never trusting it: they read again on a timer too, so a notification lost while a
//! connection was down costs a few seconds, not a change. A feed is polled by the service that holds its
//! [`FeedLease`]; when that service dies its lease goes with its connection, and another takes it.

use std::time::Duration;

use super::Result;

/// What the other services announced after a point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    /// Each announcement's payload, in the order they were made.
    pub payloads: Vec<Vec<u8>>,
    /// The number of the last announcement read (the next read starts after it).
    pub last: u64,
    /// Some announcements after the point asked for are no longer kept: the reader must read everything
    /// again rather than miss them.
    pub gap: bool,
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
