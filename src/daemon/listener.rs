//! The service's socket: created safely, in a directory nobody else can write, readable and writable by
//! its group only.
//!
//! As tmux does: the directory is checked before anything is created in it (a directory others can write
//! would let them swap the socket for their own), and the umask is set before `bind` so the socket is never,
//! even for a moment, open to more than its owner and group. A stale socket left by a killed service is
//! removed; a live one means another `vigil serve` is running, and this one stops.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, umask};

/// Why the socket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(
        "the socket directory {dir} can be written by other users (mode {mode:o}): use a directory only vigil's own user can write, such as /run/vigil (systemd's RuntimeDirectory=vigil)"
    )]
    UnsafeDirectory { dir: PathBuf, mode: u32 },
    #[error(
        "the socket directory {dir} belongs to another user (uid {owner}): use one owned by vigil's own user or root"
    )]
    ForeignDirectory { dir: PathBuf, owner: u32 },
    #[error("the socket directory {dir} is a symbolic link: give its real path")]
    LinkedDirectory { dir: PathBuf },
    #[error("cannot use the socket directory {dir} ({source})")]
    Directory { dir: PathBuf, source: std::io::Error },
    #[error("another vigil service is already listening on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket: move it away or choose another [service] socket")]
    NotASocket(PathBuf),
    #[error("the socket path {0} is longer than a Unix socket allows (107 bytes)")]
    TooLong(PathBuf),
    #[error(
        "the group `{0}` does not exist: create it (`groupadd {0}`) and add the DSL and deputy to it, or set [service] group"
    )]
    NoGroup(String),
    #[error(
        "cannot give the socket {path} to the group `{group}` ({source}): run the service as root or as a member of it"
    )]
    Group { path: PathBuf, group: String, source: nix::Error },
    #[error("cannot listen on {path} ({source})")]
    Bind { path: PathBuf, source: std::io::Error },
}

/// Binds the socket at `path`, mode 0660, group `group` (when given; otherwise the process's own).
pub fn bind(path: &Path, group: Option<&str>) -> Result<tokio::net::UnixListener, ListenError> {
    if path.as_os_str().len() > 107 {
        return Err(ListenError::TooLong(path.to_path_buf()));
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    check_directory(dir)?;
    remove_stale(path)?;
    let gid = match group {
        None => None,
        Some(name) => match nix::unistd::Group::from_name(name) {
            Ok(Some(g)) => Some(g.gid),
            Ok(None) | Err(_) => return Err(ListenError::NoGroup(name.to_string())),
        },
    };
    // Owner and group may read and write; nobody else anything, from the moment it exists.
    let previous = umask(Mode::from_bits_truncate(0o117));
    let bound = std::os::unix::net::UnixListener::bind(path);
    umask(previous);
    let listener = bound.map_err(|source| ListenError::Bind { path: path.to_path_buf(), source })?;
    if let Some(gid) = gid {
        nix::unistd::chown(path, None, Some(gid)).map_err(|source| ListenError::Group {
            path: path.to_path_buf(),
            group: group.unwrap_or_default().to_string(),
            source,
        })?;
    }
    listener.set_nonblocking(true).map_err(|source| ListenError::Bind { path: path.to_path_buf(), source })?;
    tokio::net::UnixListener::from_std(listener)
        .map_err(|source| ListenError::Bind { path: path.to_path_buf(), source })
}

/// The directory must exist (it is made when missing, 0750 less the process's umask), be a real directory, and be writable by its
/// owner alone.
fn check_directory(dir: &Path) -> Result<(), ListenError> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)
                .map_err(|source| ListenError::Directory { dir: dir.to_path_buf(), source })?;
            std::fs::symlink_metadata(dir)
                .map_err(|source| ListenError::Directory { dir: dir.to_path_buf(), source })?
        }
        Err(source) => return Err(ListenError::Directory { dir: dir.to_path_buf(), source }),
    };
    if meta.file_type().is_symlink() {
        return Err(ListenError::LinkedDirectory { dir: dir.to_path_buf() });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(ListenError::UnsafeDirectory { dir: dir.to_path_buf(), mode });
    }
    // Whoever owns the directory can swap the socket: it must be this user or root (as tmux checks).
    let owner = meta.uid();
    if owner != 0 && owner != nix::unistd::Uid::effective().as_raw() {
        return Err(ListenError::ForeignDirectory { dir: dir.to_path_buf(), owner });
    }
    Ok(())
}

/// Removes a socket nobody listens on (a killed service's); refuses a live one and anything not a socket.
fn remove_stale(path: &Path) -> Result<(), ListenError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(_) => return Ok(()),
    };
    if !meta.file_type().is_socket() {
        return Err(ListenError::NotASocket(path.to_path_buf()));
    }
    // Only a socket nobody listens on is stale; one that cannot be reached for another reason (permissions)
    // may be a live service's.
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => return Err(ListenError::InUse(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        Err(source) => return Err(ListenError::Bind { path: path.to_path_buf(), source }),
    }
    std::fs::remove_file(path).map_err(|source| ListenError::Bind { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_is_0660_and_a_second_service_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vigil.sock");
        let listener = bind(&path, None).expect("binds");
        let mode = std::fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        assert!(matches!(bind(&path, None), Err(ListenError::InUse(_))));
        drop(listener);
        // A stale socket from a killed service is replaced.
        bind(&path, None).expect("binds over a stale socket");
    }

    #[test]
    fn a_directory_others_can_write_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        let err = check_directory(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("can be written by other users"), "{err}");
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").expect("write");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(matches!(remove_stale(&file), Err(ListenError::NotASocket(_))));
    }

    #[test]
    fn a_missing_group_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = bind(&dir.path().join("s"), Some("no-such-group-vigil")).expect_err("refused");
        assert!(err.to_string().contains("groupadd no-such-group-vigil"), "{err}");
    }
}
