//! Compaction: the store rewritten into a fresh sled file.
//!
//! sled 0.34 never gives back what old versions of pages take: a store of 100,000 cases with years of
//! decisions behind it holds about 1 GiB of live data in a 2.4 GiB file, and every write into it makes
//! sled relocate the live pages of half-empty segments (new alerts cost it a third more CPU than in a
//! fresh store). Compaction copies every tree, byte for byte (values stay sealed: nothing is decrypted),
//! into a new file beside the old one, then swaps the two. It is crash-safe: a copy counts only once its
//! completion marker is on disk, and [`recover`] finishes or undoes an interrupted swap the next time the
//! store is opened, before sled is.

use std::path::{Path, PathBuf};

use super::{Result, Store, StoreError, StoreKey};

/// The live store, the copy being made, the old store during the swap, and the copy's completion marker.
struct Paths {
    db: PathBuf,
    copy: PathBuf,
    old: PathBuf,
    done: PathBuf,
}

impl Paths {
    fn of(dir: &Path) -> Paths {
        Paths {
            db: dir.join("db"),
            copy: dir.join("db.compact"),
            old: dir.join("db.old"),
            done: dir.join("db.compact.done"),
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub entries: u64,
}

/// Compacts the store in `dir` (opened with `key`, so a wrong key or a store in use is refused first).
pub fn compact(dir: &Path, key: &StoreKey) -> Result<Compacted> {
    let paths = Paths::of(dir);
    let io = |source: std::io::Error| StoreError::Open { path: dir.to_path_buf(), source };
    let store = Store::open(dir, key)?;
    let bytes_before = super::dir_bytes(&paths.db);
    if paths.copy.exists() {
        std::fs::remove_dir_all(&paths.copy).map_err(io)?;
    }
    let mut entries = 0;
    {
        let copy = sled::Config::new().path(&paths.copy).cache_capacity(super::SLED_CACHE_BYTES).open()?;
        for name in store.db.tree_names() {
            let (from, to) = (store.db.open_tree(&name)?, copy.open_tree(&name)?);
            let mut batch = sled::Batch::default();
            let mut in_batch = 0;
            for kv in from.iter() {
                let (k, v) = kv?;
                batch.insert(k, v);
                in_batch += 1;
                entries += 1;
                if in_batch == 10_000 {
                    to.apply_batch(std::mem::take(&mut batch))?;
                    in_batch = 0;
                }
            }
            to.apply_batch(batch)?;
        }
        // sled's id counter starts again at 0 in a new file: ids given from now on must still sort after every
        // one given before (event keys end with one).
        let base = store.id_base.saturating_add(store.db.generate_id()?).saturating_add(1);
        copy.open_tree(super::META)?.insert(super::META_ID_BASE, &base.to_be_bytes())?;
        copy.flush()?;
    }
    super::make_private(&paths.copy).map_err(io)?;
    // The marker makes the copy count: written and synced, with the directory, before the swap starts.
    std::fs::File::create(&paths.done).and_then(|f| f.sync_all()).map_err(io)?;
    sync_dir(dir).map_err(io)?;
    // The store's lock is held until the swap is done; sled's own file handles go first.
    let lock = std::sync::Arc::clone(&store._lock);
    drop(store);
    swap(dir).map_err(io)?;
    drop(lock);
    let store = Store::open(dir, key)?;
    drop(store);
    Ok(Compacted { bytes_before, bytes_after: super::dir_bytes(&paths.db), entries })
}

/// Finishes or undoes a compaction that was interrupted: called by [`Store::open`], under the store's lock,
/// before sled opens the store.
pub(super) fn recover(dir: &Path) -> std::io::Result<()> {
    let paths = Paths::of(dir);
    if paths.done.exists() {
        // The copy was complete: the swap goes on to the end.
        swap(dir)
    } else {
        // No complete copy: the store as it was stands.
        if paths.copy.exists() {
            std::fs::remove_dir_all(&paths.copy)?;
        }
        if paths.old.exists() {
            if paths.db.exists() {
                std::fs::remove_dir_all(&paths.old)?;
            } else {
                std::fs::rename(&paths.old, &paths.db)?;
            }
        }
        sync_dir(dir)
    }
}

/// The swap, each step of which may already have been done: the old store aside, the copy in its place,
/// the marker and the old store gone.
fn swap(dir: &Path) -> std::io::Result<()> {
    let paths = Paths::of(dir);
    if paths.copy.exists() {
        if paths.db.exists() {
            std::fs::rename(&paths.db, &paths.old)?;
            sync_dir(dir)?;
        }
        std::fs::rename(&paths.copy, &paths.db)?;
        sync_dir(dir)?;
    }
    std::fs::remove_file(&paths.done)?;
    sync_dir(dir)?;
    if paths.old.exists() {
        std::fs::remove_dir_all(&paths.old)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
