//! Blobs (a screenshot kept with its case) and the screenshot cache (evicted oldest first beyond a cap),
//! sealed like every other value.

use super::PgStore;
use crate::store::Result;
use crate::store::keys::{BLOBS, cache_key};

impl PgStore {
    pub(super) fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = self.with(|c| {
            Ok(c.query_opt("SELECT sealed FROM blobs WHERE school = $1 AND name = $2", &[&self.school(), &name])?)
        })?;
        row.map(|r| self.unseal_bytes("blob", BLOBS, name.as_bytes(), r.get(0))).transpose()
    }

    pub(super) fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let sealed = self.seal_bytes(BLOBS, name.as_bytes(), bytes)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO blobs (school, name, sealed) VALUES ($1, $2, $3) \
                 ON CONFLICT (school, name) DO UPDATE SET sealed = excluded.sealed",
                &[&self.school(), &name, &sealed],
            )?;
            Ok(())
        })
    }

    pub(super) fn remove_blob(&self, name: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM blobs WHERE school = $1 AND name = $2", &[&self.school(), &name])?;
            Ok(())
        })
    }

    pub(super) fn has_cached_blob(&self, name: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.query_opt("SELECT 1 FROM blob_cache WHERE school = $1 AND name = $2", &[&self.school(), &name])?
                .is_some())
        })
    }

    pub(super) fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row = self.with(|c| {
            Ok(c.query_opt("SELECT sealed FROM blob_cache WHERE school = $1 AND name = $2", &[&self.school(), &name])?)
        })?;
        let k = cache_key(b"d/", name.as_bytes());
        row.map(|r| self.unseal_bytes("cached blob", BLOBS, &k, r.get(0))).transpose()
    }

    pub(super) fn cached_blob_bytes(&self) -> Result<u64> {
        let n: i64 = self.with(|c| {
            Ok(c.query_one(
                "SELECT COALESCE(sum(size), 0)::bigint FROM blob_cache WHERE school = $1",
                &[&self.school()],
            )?
            .get(0))
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Caches a screenshot as the newest, then evicts the oldest while the cache is over `cap` bytes.
    pub(super) fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        if bytes.len() as u64 > cap {
            return Ok(());
        }
        let sealed = self.seal_bytes(BLOBS, &cache_key(b"d/", name.as_bytes()), bytes)?;
        let (size, cap) = (bytes.len() as i64, i64::try_from(cap).unwrap_or(i64::MAX));
        self.transact(true, |tx| {
            tx.execute(
                "INSERT INTO blob_cache (school, name, ord, size, sealed) VALUES ($1, $2, nextval('blob_cache_order'), $3, $4) \
                 ON CONFLICT (school, name) DO UPDATE SET ord = excluded.ord, size = excluded.size, sealed = excluded.sealed",
                &[&self.school(), &name, &size, &sealed],
            )?;
            // The oldest go first, until what is left fits.
            tx.execute(
                "DELETE FROM blob_cache WHERE school = $1 AND name IN ( \
                   SELECT name FROM ( \
                     SELECT name, (sum(size) OVER (ORDER BY ord DESC))::bigint AS kept FROM blob_cache WHERE school = $1 \
                   ) newest_first WHERE kept > $2)",
                &[&self.school(), &cap],
            )?;
            Ok(())
        })
    }

    pub(super) fn cached_blob_names(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let rows = c.query("SELECT name FROM blob_cache WHERE school = $1 ORDER BY name", &[&self.school()])?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    pub(super) fn uncache_blob(&self, name: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM blob_cache WHERE school = $1 AND name = $2", &[&self.school(), &name])?;
            Ok(())
        })
    }
}
