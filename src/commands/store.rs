//! `vigil store compact`: the store rewritten small, by the service's rules (who may, and how).

use std::io::Write;

use anyhow::Result;

use super::context::{Context_, store_key};
use super::{exit, exit_err};
use crate::service::{CaseService, CompactError, StoreError};

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
