//! The alert feed: protocol v1 on the wire (`protocol`), the HTTP client (`client`), screenshot downloads
//! (`screenshots`), the staff rules for raw alerts (`staff`), and the demo server (`demo`) that speaks the
//! same protocol so the demo exercises the real HTTP path. Nothing here reaches the service or the store:
//! `crate::intake` brings what the feed sends to the service.

pub mod client;
pub mod demo;
pub mod protocol;
pub mod screenshots;
pub mod staff;
