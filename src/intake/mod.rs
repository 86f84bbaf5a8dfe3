//! What arrives, brought to the service: the vendor's feed polled and synced page by page, and the
//! screenshots the service names fetched for its cache.
//!
//! Intake speaks to the service only through a [`crate::service::Session`], like every surface, and to the
//! feed through [`crate::feed`]'s HTTP client: the service never opens a connection, and the feed's code
//! never touches the store. The vendors' mailbox is read here too ([`mail`]), through [`crate::mail::imap`].

pub mod mail;
pub mod poller;
pub mod screenshots;
pub mod sync;

pub use poller::{FeedHealth, Poller, PollerEvent};
pub use sync::{Finished, SyncError, record_attempt, sync_into, sync_once, sync_once_finished};
