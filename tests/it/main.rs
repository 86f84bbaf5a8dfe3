//! The integration tests: one crate, linked once, instead of one binary per file.
//!
//! Each module tests one capability through the public API, the real binary or a real terminal; the support
//! modules (`common`, `access_support`, `feed_support`, `report_fixture`) are shared by them.

mod access_support;
mod backend_support;
mod common;
mod feed_support;
mod imap_support;
mod report_fixture;
mod service_support;

mod access_roles;
mod at_rest_encryption;
mod at_rest_logs;
mod at_rest_retention;
mod audit_trail;
mod bytes_budget;
mod cli_sync;
mod closed_pipe;
mod decide_race;
mod demo_morning;
mod e2e_tmux;
mod event_order;
mod feed_cli;
mod feed_faults;
mod feed_integrity;
mod feed_screenshots;
mod feed_wedges;
mod headless_commands;
mod hostile_text;
mod intake_manual;
mod keymap_fixtures;
mod mail_imap;
mod mail_import;
mod mail_oauth;
mod packaging;
mod privacy_fixes;
mod procedure_rules;
mod queue_loading;
mod records_cli;
mod report_cli;
mod report_golden;
mod report_roles;
mod service_events;
mod service_peers;
mod service_socket;
mod service_users;
mod store_compact;
mod store_copy;
mod store_postgres;
mod store_trouble;
mod team_escalation;
mod team_handover;
mod team_history;
mod team_work;
mod trust;
mod ui_screenshots;
mod ui_snapshots;
mod ui_visible;
