//! The PostgreSQL schema: versioned SQL files (`migrations/postgres/`, embedded in the binary) that
//! `vigil store migrate` applies with refinery, and the check every open makes: a database migrated by a newer
//! vigil is refused (this one would not know its rules), and one not yet migrated says how to migrate it.

use crate::store::{Result, StoreError};

use super::database_error;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The newest schema version this vigil knows.
pub fn known_version() -> i64 {
    embedded::migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max().unwrap_or(0)
}

/// The database's schema version (0: never migrated).
pub fn version(client: &mut postgres::Client) -> Result<i64> {
    let has_history: bool = client
        .query_one("SELECT to_regclass('refinery_schema_history') IS NOT NULL", &[])
        .map_err(|e| database_error(&e))?
        .get(0);
    if !has_history {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT COALESCE(max(version), 0)::bigint FROM refinery_schema_history", &[])
        .map_err(|e| database_error(&e))?;
    Ok(row.get(0))
}

/// Refuses a schema this vigil cannot use, saying why and what to do.
pub fn check(client: &mut postgres::Client) -> Result<()> {
    let (found, known) = (version(client)?, known_version());
    if found > known {
        return Err(newer(found, known));
    }
    if found < known {
        return Err(StoreError::Schema(format!(
            "the database's vigil schema is at version {found}, and this vigil needs {known}: run `vigil store migrate` (as the database role that owns vigil's tables), then start vigil again"
        )));
    }
    Ok(())
}

fn newer(found: i64, known: i64) -> StoreError {
    StoreError::Schema(format!(
        "the database was migrated by a newer vigil (schema version {found}; this vigil knows up to {known}): this vigil would not know its rules, so it changed nothing. Upgrade vigil on this machine to the version the other services run"
    ))
}

/// What `vigil store migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
}

/// Applies the migrations the database lacks, each in its own transaction; refuses a newer schema without
/// touching it.
pub fn migrate(client: &mut postgres::Client) -> Result<Migrated> {
    let (from, known) = (version(client)?, known_version());
    if from > known {
        return Err(newer(from, known));
    }
    embedded::migrations::runner()
        .run(client)
        .map_err(|e| StoreError::Database(format!("the migration failed, and what it began was rolled back: {e}")))?;
    Ok(Migrated { from, to: version(client)? })
}
