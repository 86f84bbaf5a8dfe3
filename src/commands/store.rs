//! `vigil store compact`, `migrate` and `copy`: the store itself, by the service's rules (who may, and how).

use std::io::Write;

use anyhow::Result;

use super::context::{Context_, store_key};
use super::{exit, exit_err};
use crate::cli::CopyTo;
use crate::service::{CaseService, CompactError, StoreCopyError, StoreError};
use crate::store::copy::{CopyError, Place};

pub(super) fn compact_store(ctx: &Context_) -> Result<()> {
    if ctx.remote.is_some() {
        anyhow::bail!(exit_err(
            exit::USAGE,
            "the store belongs to the vigil service: compact it where it lives, with the service stopped (`systemctl stop vigil; runuser -u vigil -- vigil store compact; systemctl start vigil`)"
        ));
    }
    if ctx.config.storage.postgres().is_some() {
        anyhow::bail!(exit_err(
            exit::USAGE,
            "`vigil store compact` rewrites the embedded (sled) store; this config keeps the store in PostgreSQL, whose own VACUUM (autovacuum, on by default) keeps its tables small: nothing was changed"
        ));
    }
    let key = store_key(ctx)?;
    let started = std::time::Instant::now();
    let done = CaseService::compact(&ctx.viewer, &ctx.data_dir, &key).map_err(|e| match e {
        CompactError::Forbidden(_) => exit_err(exit::NO_ROLE, "your role (reporter) may run `vigil report` only"),
        CompactError::Store(e @ StoreError::InUse { .. }) => exit_err(exit::STORE_IN_USE, e.to_string()),
        CompactError::Store(e @ StoreError::Key(_)) => exit_err(exit::USAGE, e.to_string()),
        CompactError::Store(other) => exit_err(
            exit::FAILURE,
            format!("compaction failed ({other}); nothing is lost: the next start finishes or undoes it"),
        ),
    })?;
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    writeln!(
        std::io::stdout(),
        "compacted: {:.1} MiB -> {:.1} MiB ({} entries) in {:.1} s",
        mib(done.bytes_before),
        mib(done.bytes_after),
        done.entries,
        started.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// `vigil store migrate`: the PostgreSQL store's schema brought up to this vigil's.
pub(super) fn migrate_store(ctx: &Context_) -> Result<()> {
    let Some(settings) = ctx.config.storage.postgres() else {
        anyhow::bail!(exit_err(
            exit::USAGE,
            "`vigil store migrate` is for a PostgreSQL store ([storage] backend = \"postgres\"); the sled store in the data dir brings itself up to date when it opens"
        ));
    };
    // The connection is made, used and dropped where blocking is allowed.
    let done = crate::store::postgres::blocking(|| crate::store::postgres::schema::migrate(&mut settings.connect()?))
        .map_err(|e| exit_err(exit::FAILURE, e.to_string()))?;
    if done.from == done.to {
        writeln!(std::io::stdout(), "the schema is at version {}, this vigil's: nothing to do", done.to)?;
    } else {
        writeln!(std::io::stdout(), "migrated {}: schema version {} -> {}", settings.describe(), done.from, done.to)?;
    }
    Ok(())
}

/// `vigil store copy`: the sled store in the data dir into the school `[storage]` names, or that school
/// into a new sled data dir; verified, and what was verified printed.
pub(super) fn copy_store(ctx: &Context_, to: CopyTo, into: Option<std::path::PathBuf>) -> Result<()> {
    if ctx.remote.is_some() {
        anyhow::bail!(exit_err(
            exit::USAGE,
            "the store belongs to the vigil service: copy it where it lives, with the service stopped (`systemctl stop vigil; runuser -u vigil -- vigil store copy ...`)"
        ));
    }
    let Some(settings) = ctx.config.storage.postgres() else {
        anyhow::bail!(exit_err(
            exit::USAGE,
            "`vigil store copy` copies between the sled store and a PostgreSQL school: set [storage] backend = \"postgres\", url and school in the config (README, \"Moving a college's store\")"
        ));
    };
    let sled = |dir: std::path::PathBuf| Place::Sled(dir);
    let (from, target) = match (to, into) {
        (CopyTo::Postgres, None) => (sled(ctx.data_dir.clone()), Place::Postgres(settings)),
        (CopyTo::Postgres, Some(_)) => {
            anyhow::bail!(exit_err(
                exit::USAGE,
                "--into is for `--to sled`: `--to postgres` copies into the school [storage] names"
            ))
        }
        (CopyTo::Sled, Some(dir)) => (Place::Postgres(settings), sled(dir)),
        (CopyTo::Sled, None) => {
            anyhow::bail!(exit_err(exit::USAGE, "`--to sled` needs --into DIR: a new directory for the sled store"))
        }
    };
    let key = store_key(ctx)?;
    // The marks of the mailbox the config names come across by name (a database keeps names hashed).
    let mailboxes: Vec<String> = crate::mail::imap::Mailbox::id_from_config(&ctx.config.mail)
        .map_err(|e| exit_err(exit::USAGE, e))?
        .into_iter()
        .collect();
    let started = std::time::Instant::now();
    let done = CaseService::copy_store(&ctx.viewer, &from, &target, &key, &mailboxes).map_err(|e| match e {
        StoreCopyError::Forbidden(role) => {
            exit_err(exit::NO_ROLE, format!("your role ({role}) may not copy the store: the DSL copies it"))
        }
        StoreCopyError::Source(e @ StoreError::InUse { .. }) => exit_err(exit::STORE_IN_USE, e.to_string()),
        StoreCopyError::Source(e @ StoreError::Key(_)) => exit_err(exit::USAGE, e.to_string()),
        StoreCopyError::Source(e) => {
            exit_err(exit::FAILURE, format!("cannot open {} to copy it ({e}); nothing was written", from.describe()))
        }
        StoreCopyError::Copy(e @ CopyError::NotEmpty { .. }) => exit_err(exit::USAGE, e.to_string()),
        StoreCopyError::Copy(e) => exit_err(exit::FAILURE, e.to_string()),
    })?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "copied {} into {} in {:.1} s, and verified:",
        from.describe(),
        target.describe(),
        started.elapsed().as_secs_f64()
    )?;
    writeln!(
        out,
        "  {} alerts, {} events and {} audit records, as many as the source",
        done.alerts, done.events, done.records
    )?;
    writeln!(out, "  every case's fold ({} cases) the same as the source's", done.cases_folded)?;
    writeln!(out, "  the audit trail verifies, and its head is the source's: {}", done.head)?;
    writeln!(
        out,
        "  {} handover notes, {} blobs, {} cached screenshots, {} quarantined alerts, the feed state and marks the same",
        done.notes, done.blobs, done.cached_blobs, done.quarantined
    )?;
    Ok(())
}
