//! A secret kept in a file (the store key, a passphrase, the mailbox's OAuth2 client secret or service-account
//! key): the one rule for reading one. A file that group or others may read is refused, with the `chmod` that
//! fixes it, before a byte of it is read: a secret others can read is no longer the college's alone.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Why a secret file was not read. `what` names the file for the person fixing it ("store key file").
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("the {what} {path} does not exist")]
    Missing { what: &'static str, path: PathBuf },
    #[error("the {what} {path} can be read by other users (mode {mode:03o}): fix it with `chmod 600 {path}`")]
    Exposed { what: &'static str, path: PathBuf, mode: u32 },
    #[error("cannot read the {what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
}

/// The file's bytes (wiped from memory when dropped), if only its owner may read it.
pub fn read(path: &Path, what: &'static str) -> Result<Zeroizing<Vec<u8>>, SecretFileError> {
    use std::os::unix::fs::MetadataExt;
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => SecretFileError::Missing { what, path: path.to_path_buf() },
        _ => SecretFileError::Io { what, path: path.to_path_buf(), source },
    };
    let mode = std::fs::metadata(path).map_err(io)?.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretFileError::Exposed { what, path: path.to_path_buf(), mode });
    }
    std::fs::read(path).map(Zeroizing::new).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_a_file_its_owner_alone_may_read_is_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").expect("write");
        for mode in [0o640, 0o604, 0o660, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let err = read(&path, "client secret file").expect_err("exposed").to_string();
            assert!(
                err.contains("client secret file") && err.contains(&format!("chmod 600 {}", path.display())),
                "{err}"
            );
            assert!(err.contains(&format!("mode {mode:03o}")), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read(&path, "client secret file").expect("read").as_slice(), b"s3cret\n");
        let missing = read(&dir.path().join("nope"), "key file").expect_err("missing");
        assert!(matches!(missing, SecretFileError::Missing { .. }), "{missing}");
    }
}
