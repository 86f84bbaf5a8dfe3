//! Room on the disk. sled 0.34 stops writing for good (until the store is opened again) after one write
//! meets a full disk, and it writes even to open a store (a snapshot of where its pages are, whenever the
//! last run wrote anything); a snapshot cut short by a full disk is left behind and stops every later open.
//! So:
//!
//! - no write is begun without [`MIN_FREE`] bytes free ([`Space::room`]); past that, a write is refused
//!   with [`StoreError::DiskFull`] before sled meets the full disk, and nothing already stored is touched;
//! - a reserve file ([`RESERVE_FILE`]), made while there is room, is given back when the disk fills, so what
//!   a DSL does on a full disk is still recorded for a while;
//! - a second, small one ([`OPEN_ROOM_FILE`]) is never spent on records: it is given back only for sled to
//!   write its snapshot while opening a store on a full disk, and claimed again once the old snapshot is
//!   gone, so reading works however full the disk is (the queue, `vigil feed status`, `vigil audit verify`);
//! - a snapshot sled left half-written is removed before sled opens.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Result, StoreError};

/// The reserve's name in the data dir.
pub const RESERVE_FILE: &str = "reserve";
/// The room kept for opening the store on a full disk.
pub const OPEN_ROOM_FILE: &str = "reserve.open";
/// The least the room for opening holds: sled's snapshot is a few KiB for the demo and about a MiB for
/// 100,000 cases; it is sized at twice the snapshot when that is larger.
const OPEN_ROOM_MIN: u64 = 2 << 20;
/// What the reserve holds back: room for some thousands of decisions and views.
pub const RESERVE_BYTES: u64 = 16 << 20;
/// Below this much free space no write is begun: sled writes in segments of up to 512 KiB, and one page of
/// alerts can take several.
pub const MIN_FREE: u64 = 4 << 20;

/// The data dir's room, and whether its reserve has been given back.
pub struct Space {
    dir: PathBuf,
    low: AtomicBool,
}

impl Space {
    /// Looks at the disk as a store opens, before sled does: removes a snapshot sled left half-written, gives
    /// back the reserve if the disk is nearly full and the room for opening if the disk has less than that,
    /// or makes the reserve if there is room for it (best effort: a store without one works as before).
    pub fn settle(dir: &Path) -> Space {
        let space = Space { dir: dir.to_path_buf(), low: AtomicBool::new(false) };
        remove_unfinished_snapshots(&dir.join("db"));
        let reserve = space.reserve();
        match free_bytes(dir) {
            Some(free) if free < MIN_FREE => {
                space.give_back();
            }
            Some(free) if !reserve.exists() && free >= RESERVE_BYTES + 2 * MIN_FREE => {
                if let Err(e) = claim(&reserve, RESERVE_BYTES) {
                    tracing::warn!(error = %e, "could not make the disk reserve");
                }
            }
            Some(_) if !reserve.exists() => space.low.store(true, Ordering::Relaxed),
            _ => {}
        }
        if free_bytes(dir).is_some_and(|free| free < space.open_room_size()) {
            let _ = std::fs::remove_file(space.open_room());
        }
        space
    }

    /// Once sled has opened (its new snapshot written, the old one removed): claims the room for opening
    /// again, if it is not there and the disk has it.
    pub fn opened(&self) {
        let room = self.open_room();
        let size = self.open_room_size();
        if !room.exists()
            && free_bytes(&self.dir).is_some_and(|free| free >= size)
            && let Err(e) = claim(&room, size)
        {
            tracing::warn!(error = %e, "could not keep room for opening the store on a full disk");
        }
    }

    /// Ok when a write has room, giving back the reserve first if that makes it; [`StoreError::DiskFull`] when
    /// it has none, before sled meets the full disk.
    pub fn room(&self) -> Result<()> {
        match free_bytes(&self.dir) {
            Some(free) if free < MIN_FREE => {
                if self.give_back() && free_bytes(&self.dir).is_none_or(|f| f >= MIN_FREE) {
                    return Ok(());
                }
                Err(StoreError::DiskFull)
            }
            _ => Ok(()),
        }
    }

    /// Whether the disk is nearly full: the reserve is given back (or could not be made), so little is left.
    pub fn is_low(&self) -> bool {
        self.low.load(Ordering::Relaxed)
    }

    fn reserve(&self) -> PathBuf {
        self.dir.join(RESERVE_FILE)
    }

    fn open_room(&self) -> PathBuf {
        self.dir.join(OPEN_ROOM_FILE)
    }

    /// Twice sled's snapshot, and at least [`OPEN_ROOM_MIN`].
    fn open_room_size(&self) -> u64 {
        let snapshots = std::fs::read_dir(self.dir.join("db"))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("snap."))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0);
        (2 * snapshots).max(OPEN_ROOM_MIN)
    }

    /// Deletes the reserve; true if there was one to give back.
    fn give_back(&self) -> bool {
        self.low.store(true, Ordering::Relaxed);
        let given = std::fs::remove_file(self.reserve()).is_ok();
        if given {
            tracing::warn!(bytes = RESERVE_BYTES, "the disk is nearly full: the store's reserve was given back");
        }
        given
    }
}

/// Free bytes for this user on the disk holding `dir` (none if the system will not say).
fn free_bytes(dir: &Path) -> Option<u64> {
    fs2::available_space(dir).ok()
}

/// Claims `bytes` of real disk blocks at `path` (not a sparse file, which would give nothing back); leaves
/// nothing behind if it cannot.
fn claim(path: &Path, bytes: u64) -> std::io::Result<()> {
    use fs2::FileExt;
    use std::os::unix::fs::OpenOptionsExt;
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|file| file.allocate(bytes).and_then(|()| file.sync_all()));
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

/// Removes the snapshots sled began and never finished (`snap.*.generating`): sled renames a snapshot into
/// place only once it is whole, but at the next open takes the newest file as the snapshot, finished or not,
/// and then refuses the store as corrupt. The finished snapshot before it, and the log, hold everything.
fn remove_unfinished_snapshots(db: &Path) {
    for entry in std::fs::read_dir(db).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::warn!(file = %name, "removed a snapshot sled left unfinished"),
                Err(e) => tracing::warn!(file = %name, error = %e, "could not remove an unfinished snapshot"),
            }
        }
    }
}
