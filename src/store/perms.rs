//! File permissions: the umask, owner-only store dirs (refusing one others can read) and a dir's size.

use std::path::Path;

use super::{Result, StoreError};

/// Creates `dir` readable by its owner only: it holds safeguarding data.
pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Makes every file this process creates from now on its owner's alone. Opening a store does it; so does
/// `vigil` at startup, before it writes anything.
pub fn restrict_umask() {
    use nix::sys::stat::{Mode, umask};
    let old = umask(Mode::from_bits_truncate(0o077));
    umask(old | Mode::from_bits_truncate(0o077));
}

/// Refuses a store dir, or anything in it, that group or others may read, write or enter. An empty dir
/// holds nothing yet: it is made private instead.
pub(super) fn refuse_exposed(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = std::fs::metadata(dir) else { return Ok(()) }; // a new store
    let exposed =
        |path: &Path, mode: u32| StoreError::Exposed { dir: dir.to_path_buf(), path: path.to_path_buf(), mode };
    let empty = meta.is_dir() && std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if empty && meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| StoreError::Open { path: dir.to_path_buf(), source })?;
        return Ok(());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(exposed(dir, meta.mode() & 0o777));
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| StoreError::Open { path: d.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Open { path: d.clone(), source })?;
            let meta = entry.metadata().map_err(|source| StoreError::Open { path: entry.path(), source })?;
            if meta.file_type().is_symlink() {
                continue;
            }
            if meta.mode() & 0o077 != 0 {
                return Err(exposed(&entry.path(), meta.mode() & 0o777));
            }
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}

/// The bytes a directory holds, all the way down: a store's size on disk.
pub fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match entry.metadata() {
            Ok(m) if m.is_dir() => total += dir_bytes(&entry.path()),
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

/// `chmod -R go-rwx DIR`, the fix [`Store::open`] names for a store others can read: for a store dir copied
/// into place with default modes.
pub fn make_owner_only(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    make_private(dir)
}

/// Takes group and other permissions off everything in the store dir (what sled created before the umask
/// was tightened, in a process that did not tighten it first).
pub(super) fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            if meta.file_type().is_symlink() {
                continue;
            }
            if meta.mode() & 0o077 != 0 {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(meta.mode() & 0o700))?;
            }
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(())
}
