//! What each subcommand does, one file per family. `main.rs` only parses and dispatches here.
//!
//! Every command speaks to the case service through a [`crate::service::Session`] (opened in
//! [`context`]); none reaches the store.

mod alert;
mod audit;
mod case;
mod config;
pub mod context;
mod feed;
mod handover;
pub mod line;
mod mail;
pub mod output;
mod queue;
mod report;
mod serve;
mod store;
mod tui;

use anyhow::{Result, bail};

use crate::cli::{Commands, ConfigAction, MailAction, ServiceAction, StoreAction};
use crate::identity::Role;
use crate::service::ServiceError;

pub use config::config_check;
pub use context::{Context_, Settings, init_logging, resolve, settings, store_key};
pub use feed::run_demo_feed;
pub use mail::{mail_test, mail_token_check};
pub use output::{detail_json, write_json};
pub use serve::serve;

/// Exit codes a script can rely on.
pub mod exit {
    pub const FAILURE: i32 = 1;
    pub use crate::service::wire::code::{NO_ROLE, USAGE};
    pub const STORE_IN_USE: i32 = 4;
}

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

fn exit_err(code: i32, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Exit { code, message: message.into() })
}

pub async fn run(ctx: Context_, command: Option<Commands>) -> Result<()> {
    match command {
        None => tui::tui(ctx).await,
        Some(Commands::Sync { once }) => feed::sync(ctx, once).await,
        Some(Commands::List { json, mut filter }) => {
            if let [words] = filter.text.as_mut_slice() {
                dash_from_stdin(vec![words])?;
            }
            queue::list(ctx, json, &filter.to_filter())
        }
        Some(Commands::Show { id, raw: true, .. }) => mail::show_raw(ctx, &id),
        Some(Commands::Show { id, json, cpoms, raw: false }) => queue::show(ctx, &id, json, cpoms),
        Some(Commands::Subject { id, source, json }) => queue::subject(ctx, id, source, json),
        Some(Commands::Case { id, action }) => case::case(ctx, &id, action),
        Some(Commands::Handover(args)) => handover::handover(ctx, args),
        Some(Commands::Alert { action: crate::cli::AlertAction::Add(args) }) => alert::add(ctx, args),
        Some(Commands::DemoFeed { listen, drip }) => feed::demo_feed(listen, drip).await,
        Some(Commands::Config { action: ConfigAction::Check }) => {
            let Context_ { global, config, config_path, data_dir, viewer, .. } = ctx;
            config_check(Settings { global, config, config_path, data_dir, user: viewer.user })
        }
        Some(Commands::Feed { action }) => feed::feed(ctx, action),
        Some(Commands::Report(args)) => report::report(ctx, args),
        Some(Commands::Audit { action }) => audit::audit(ctx, action),
        Some(Commands::Store { action: StoreAction::Compact }) => store::compact_store(&ctx),
        Some(Commands::Store { action: StoreAction::Migrate }) => store::migrate_store(&ctx),
        Some(Commands::Store { action: StoreAction::Copy { to, into } }) => store::copy_store(&ctx, to, into),
        Some(Commands::Serve) => bail!(exit_err(exit::USAGE, "`vigil serve` runs on its own")),
        Some(Commands::Service { action: ServiceAction::Status { json } }) => serve::status(&ctx, json),
        Some(Commands::Mail { action: MailAction::Import { paths } }) => mail::import(ctx, &paths),
        Some(Commands::Mail { action: MailAction::Poll { once } }) => mail::poll(ctx, once).await,
        Some(Commands::Mail { action: MailAction::Test { .. } }) => {
            bail!(exit_err(exit::USAGE, "`vigil mail test` runs on its own"))
        }
        Some(Commands::Mail { action: MailAction::TokenCheck }) => {
            bail!(exit_err(exit::USAGE, "`vigil mail token-check` runs on its own"))
        }
    }
}

/// A refusal by the service as the plain message and exit code a script can rely on.
fn service_err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Forbidden(role) if role == Role::Reporter.as_str() => {
            exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only")
        }
        e @ ServiceError::Forbidden(_) => exit_err(exit::NO_ROLE, e.to_string()),
        ServiceError::Form(message) => exit_err(exit::USAGE, message),
        other => exit_err(exit::FAILURE, other.to_string()),
    }
}

/// Replaces the one argument given as `-` among `args` (case text: a note, a reason, a value; `list`'s
/// words) with standard input, read to its end less its trailing newlines, so that the text need not be a
/// process argument (`/proc/PID/cmdline`, shell history). Input is read once, so two `-` are refused.
/// Headless commands only: on the TUI's `:` line, which shares the grammar, `-` is just a dash.
fn dash_from_stdin(args: Vec<&mut String>) -> Result<()> {
    let mut dashes = args.into_iter().filter(|a| a.as_str() == "-");
    let Some(arg) = dashes.next() else { return Ok(()) };
    if dashes.next().is_some() {
        bail!(exit_err(exit::USAGE, "only one argument may be `-`: standard input is read once"));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
        .map_err(|e| exit_err(exit::FAILURE, format!("cannot read standard input: {e}")))?;
    text.truncate(text.trim_end_matches(['\n', '\r']).len());
    *arg = text;
    Ok(())
}
