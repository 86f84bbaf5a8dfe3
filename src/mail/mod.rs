//! The vendors' alert e-mails: the way most colleges really get alerts (no monitoring vendor serves a feed).
//!
//! A message is parsed within hard limits ([`message`]), matched against rules that are data
//! (`assets/mail-rules.toml` and the config's own, [`rules`]) and becomes an [`crate::domain::Alert`] with
//! its raw bytes kept encrypted beside it. A message from a monitoring sender that no rule fully reads is
//! still an alert, marked unparsed, at the configured level: nothing from a vendor is dropped. Mail from
//! anyone else is not an alert. Reading files ([`files`]) or a mailbox over IMAP ([`imap`]) only collects raw
//! bytes: the service parses them, under its own rules, like a feed page. A mailbox on Microsoft 365 or Google
//! is logged in to with an OAuth2 token ([`oauth`]).

pub mod files;
pub mod imap;
pub mod message;
pub mod oauth;
pub mod rules;

pub use message::{Limits, Mail, MailError};
pub use rules::{Extracted, MailRules};
