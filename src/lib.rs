//! vigil: triage safeguarding alerts from monitoring software in a terminal.
//!
//! The crate is split so that the rules a Designated Safeguarding Lead relies on can be tested without a
//! terminal, a network or a disk:
//!
//! - [`domain`]: pure types and rules (alerts, levels, the case as a fold of events, checklists, working
//!   hours). No I/O and no clock reads: time is always passed in.
//! - [`feed`]: protocol v1 on the wire, the HTTP client, screenshots' download, and the demo feed server.
//! - [`store`]: the sled store. Nothing is acknowledged to the user before it is flushed.
//! - [`service`]: the one message boundary that combines store, rules and access control: requests (each
//!   with the viewer who asks) in, replies and numbered events out. Every surface speaks only to it, so
//!   who-may-see-what is enforced in one place and nothing else reaches the store.
//! - [`intake`]: what arrives (the feed's pages, screenshots) brought to the service.
//! - [`app`] and [`ui`]: state, actions and one `update` that changes state; renderers that only draw.
//! - [`cli`], [`commands`] and `main.rs`: argument parsing, one file per command family, and dispatch.
#![forbid(unsafe_op_in_unsafe_fn)]
// `println!` panics when standard output is a closed pipe (`vigil list | head`): output goes through
// `write!`, whose error `main` turns into a quiet exit.
#![deny(clippy::print_stdout)]

pub mod app;
/// The audit trail: written by the store with each change, checked and reported here ([`store::audit`]).
pub use store::audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod escalator;
pub mod feed;
pub mod identity;
pub mod intake;
pub mod mail;
pub mod report;
pub mod secret_file;
pub mod service;
pub mod store;
pub mod tls;
pub mod tui;
pub mod ui;
