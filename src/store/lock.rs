//! One vigil per store. sled would refuse a second opener with an I/O error; this lock says who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::StoreError;

/// Held for as long as the store is open; the OS releases it if the process dies.
pub struct StoreLock {
    _file: File,
}

impl StoreLock {
    pub fn acquire(dir: &Path) -> Result<StoreLock, StoreError> {
        let path = dir.join("vigil.lock");
        let open_err = |source| StoreError::Open { path: path.clone(), source };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(open_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
                return Err(StoreError::InUse { path: dir.to_path_buf(), pid });
            }
            Err(TryLockError::Error(e)) => return Err(open_err(e)),
        }
        // The pid only names the holder for the message above; on a full disk it cannot be written, and the
        // lock holds without it.
        let named = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        match named {
            Err(e) if !super::is_disk_full(&e) => Err(open_err(e)),
            _ => Ok(StoreLock { _file: file }),
        }
    }
}
