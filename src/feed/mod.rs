//! The alert feed: protocol v1 on the wire (`protocol`), the polling client (`client`), and the demo
//! server (`demo`) that speaks the same protocol so the demo exercises the real HTTP path.

pub mod admin;
pub mod client;
pub mod demo;
pub mod protocol;
pub mod screenshots;
pub mod staff;
