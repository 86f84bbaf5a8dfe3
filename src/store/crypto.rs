//! Encryption at rest: every value that holds alert content (alerts, case events, the queue index, which
//! holds names, quarantined raw JSON, screenshots) is sealed with XChaCha20-Poly1305 before it reaches sled.
//!
//! A sealed value is `[0x01][schema: u32 BE][nonce: 24 bytes][ciphertext and tag]`. The nonce is random for
//! every value (192 bits: no counter to keep, no realistic chance of a repeat). The associated data binds
//! the value to the schema version in its header, the name of its tree and its key bytes, so a value moved
//! to another case or another tree, or relabelled with another schema, fails to open instead of being read
//! as something it is not.
//!
//! The key is 32 bytes from a key file kept outside the data dir (created 0600 on first run), or derived
//! from a passphrase with argon2id and a random salt kept in the store's `meta` tree. A small sealed check
//! value in `meta` tells a wrong key from a damaged store, so a wrong key gets a plain message.

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The key's length in bytes.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
/// The first byte of every sealed value (no JSON text starts with it).
pub const SEALED: u8 = 0x01;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Where the store's key comes from.
pub enum StoreKey {
    /// A key file (32 raw bytes, or 64 hex digits). Created, 0600, when a new store is opened without one.
    File(PathBuf),
    /// A passphrase, stretched with argon2id and the salt in the store's `meta` tree.
    Passphrase(Zeroizing<String>),
    /// The key itself (tools and tests).
    Bytes(Zeroizing<[u8; KEY_LEN]>),
}

impl StoreKey {
    pub fn file(path: impl Into<PathBuf>) -> StoreKey {
        StoreKey::File(path.into())
    }

    pub fn passphrase(passphrase: impl Into<String>) -> StoreKey {
        StoreKey::Passphrase(Zeroizing::new(passphrase.into()))
    }

    pub fn bytes(key: [u8; KEY_LEN]) -> StoreKey {
        StoreKey::Bytes(Zeroizing::new(key))
    }

    /// What to check when the key does not fit the store.
    pub fn hint(&self) -> String {
        match self {
            StoreKey::File(p) => format!("[storage] key_file (now {})", p.display()),
            StoreKey::Passphrase(_) => "VIGIL_PASSPHRASE or [storage] passphrase_file".into(),
            StoreKey::Bytes(_) => "the key given to Store::open".into(),
        }
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreKey::File(p) => f.debug_tuple("File").field(p).finish(),
            StoreKey::Passphrase(_) => f.write_str("Passphrase(redacted)"),
            StoreKey::Bytes(_) => f.write_str("Bytes(redacted)"),
        }
    }
}

/// Why the key could not be had, or does not fit. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("this store was encrypted with another key: check {hint}")]
    WrongKey { hint: String },
    #[error(
        "the store key file {path} is missing, and this store was encrypted with it: restore it from your backup, or set [storage] key_file to where it is"
    )]
    Missing { path: PathBuf },
    /// Readable by others, or unreadable: [`crate::secret_file`]'s rule for every secret in a file.
    #[error(transparent)]
    File(crate::secret_file::SecretFileError),
    #[error("the store key file {path} is not a vigil key ({detail}): it must hold 32 bytes, or 64 hex digits")]
    BadFile { path: PathBuf, detail: String },
    #[error("cannot {doing} the store key file {path}: {source}")]
    Io { doing: &'static str, path: PathBuf, source: std::io::Error },
    #[error("this store is encrypted with a passphrase: set VIGIL_PASSPHRASE or [storage] passphrase_file")]
    NeedsPassphrase,
    #[error(
        "this store is encrypted with a key file, not a passphrase: set [storage] key_file, and unset VIGIL_PASSPHRASE and [storage] passphrase_file"
    )]
    NeedsKeyFile,
    #[error("the passphrase could not be turned into a key: {0}")]
    Kdf(String),
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("it is not encrypted (or not in a layout this vigil knows)")]
    NotSealed,
    #[error("written by a newer vigil (schema {0}); upgrade vigil")]
    Newer(u32),
    #[error("it fails its integrity check: altered, moved from elsewhere in the store, or sealed with another key")]
    Integrity,
}

/// The AEAD with the store's key.
/// Why a value could not be encrypted.
#[derive(Debug, thiserror::Error)]
#[error("it could not be encrypted ({0})")]
pub struct SealError(String);

pub struct Cipher {
    aead: XChaCha20Poly1305,
}

impl Cipher {
    pub fn new(key: &[u8; KEY_LEN]) -> Cipher {
        Cipher { aead: XChaCha20Poly1305::new(key.into()) }
    }

    /// Seals `plain` for `key` in `tree`, under `schema`.
    /// Fails when the system has no randomness for a nonce, or past aead's size limit (2^38 bytes): then
    /// nothing is stored, rather than a value that cannot be read back.
    pub fn seal(&self, schema: u32, tree: &str, key: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = XNonce::default();
        OsRng.try_fill_bytes(&mut nonce).map_err(|e| SealError(format!("no randomness for a nonce: {e}")))?;
        let aad = associated_data(schema, tree, key);
        let sealed =
            self.aead.encrypt(&nonce, Payload { msg: plain, aad: &aad }).map_err(|e| SealError(e.to_string()))?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(SEALED);
        out.extend_from_slice(&schema.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed by [`Cipher::seal`] for the same tree and key, refusing schemas above `max_schema`.
    pub fn open(&self, max_schema: u32, tree: &str, key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER_LEN || sealed[0] != SEALED {
            return Err(OpenError::NotSealed);
        }
        let schema = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        if schema > max_schema {
            return Err(OpenError::Newer(schema));
        }
        let nonce = XNonce::from_slice(&sealed[5..HEADER_LEN]);
        let aad = associated_data(schema, tree, key);
        self.aead.decrypt(nonce, Payload { msg: &sealed[HEADER_LEN..], aad: &aad }).map_err(|_| OpenError::Integrity)
    }
}

fn associated_data(schema: u32, tree: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(24 + tree.len() + key.len());
    aad.extend_from_slice(b"vigil-store\0");
    aad.extend_from_slice(&schema.to_be_bytes());
    aad.extend_from_slice(&(tree.len() as u32).to_be_bytes());
    aad.extend_from_slice(tree.as_bytes());
    aad.extend_from_slice(key);
    aad
}

/// argon2id parameters and salt, kept (in the clear: they are not secret) in the store's `meta` tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub alg: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    pub salt: String,
}

impl KdfParams {
    /// argon2's recommended defaults (19 MiB, 2 passes, 1 lane) with a fresh 16-byte salt.
    pub fn fresh() -> KdfParams {
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        KdfParams {
            alg: "argon2id".into(),
            m_kib: argon2::Params::DEFAULT_M_COST,
            t: argon2::Params::DEFAULT_T_COST,
            p: argon2::Params::DEFAULT_P_COST,
            salt: hex::encode(salt),
        }
    }

    pub fn derive(&self, passphrase: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
        if self.alg != "argon2id" {
            return Err(KeyError::Kdf(format!("unknown algorithm `{}`", self.alg)));
        }
        let salt = hex::decode(&self.salt).map_err(|e| KeyError::Kdf(format!("bad salt: {e}")))?;
        let params =
            argon2::Params::new(self.m_kib, self.t, self.p, Some(KEY_LEN)).map_err(|e| KeyError::Kdf(e.to_string()))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        argon
            .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
            .map_err(|e| KeyError::Kdf(e.to_string()))?;
        Ok(key)
    }
}

/// Reads a key file: 32 raw bytes, or 64 hex digits (`openssl rand -hex 32`). Refuses one others can read.
pub fn read_key_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    use crate::secret_file::{self, SecretFileError};
    let bytes = secret_file::read(path, "store key file").map_err(|e| match e {
        SecretFileError::Missing { path, .. } => KeyError::Missing { path },
        other => KeyError::File(other),
    })?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() == KEY_LEN {
        key.copy_from_slice(&bytes);
        return Ok(key);
    }
    let text = std::str::from_utf8(&bytes).map(str::trim).unwrap_or_default();
    if text.len() == 2 * KEY_LEN && hex::decode_to_slice(text, key.as_mut()).is_ok() {
        return Ok(key);
    }
    Err(KeyError::BadFile { path: path.to_path_buf(), detail: format!("{} bytes", bytes.len()) })
}

/// Creates a key file with 32 random bytes, readable by its owner only (its directory 0700 if new). Never
/// overwrites an existing file.
pub fn create_key_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let io = |doing| move |source| KeyError::Io { doing, path: path.to_path_buf(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(parent).map_err(io("create"))?;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(key.as_mut());
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io("create"))?;
    file.write_all(key.as_ref()).map_err(io("write"))?;
    file.sync_all().map_err(io("write"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_where_it_was_sealed() {
        let c = Cipher::new(&[7; KEY_LEN]);
        let sealed = c.seal(1, "alerts", b"k1", b"secret text").expect("seal");
        assert_eq!(c.open(1, "alerts", b"k1", &sealed).as_deref(), Ok(&b"secret text"[..]));
        assert!(!sealed.windows(6).any(|w| w == b"secret"), "ciphertext, not the text");
        assert_eq!(c.open(1, "alerts", b"k2", &sealed), Err(OpenError::Integrity), "another key in the tree");
        assert_eq!(c.open(1, "events", b"k1", &sealed), Err(OpenError::Integrity), "another tree");
        let mut relabelled = sealed.clone();
        relabelled[4] = 0; // schema 1 -> 0
        assert_eq!(c.open(1, "alerts", b"k1", &relabelled), Err(OpenError::Integrity), "another schema");
        assert_eq!(Cipher::new(&[8; KEY_LEN]).open(1, "alerts", b"k1", &sealed), Err(OpenError::Integrity));
        assert_eq!(c.open(0, "alerts", b"k1", &sealed), Err(OpenError::Newer(1)));
        assert_eq!(c.open(1, "alerts", b"k1", b"{\"v\":1}"), Err(OpenError::NotSealed));
        assert_ne!(
            c.seal(1, "alerts", b"k1", b"x").expect("seal"),
            c.seal(1, "alerts", b"k1", b"x").expect("seal"),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn key_files_are_created_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("conf/vigil/store.key");
        let key = create_key_file(&path).expect("create");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().expect("parent")).expect("m").permissions().mode() & 0o777, 0o700);
        assert_eq!(*read_key_file(&path).expect("read"), *key);
        assert!(create_key_file(&path).is_err(), "never overwritten");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_key_file(&path).expect_err("exposed").to_string();
        assert!(err.contains("chmod 600"), "{err}");
        let hex_path = dir.path().join("hex.key");
        std::fs::write(&hex_path, format!("{}\n", "ab".repeat(32))).expect("write");
        std::fs::set_permissions(&hex_path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(*read_key_file(&hex_path).expect("hex"), [0xab; KEY_LEN]);
    }

    #[test]
    fn a_passphrase_derives_the_same_key_with_the_same_salt_only() {
        let p = KdfParams { m_kib: 64, t: 1, ..KdfParams::fresh() };
        let a = p.derive("correct horse").expect("derive");
        assert_eq!(*a, *p.derive("correct horse").expect("again"));
        assert_ne!(*a, *p.derive("correct horsf").expect("other"));
        let q = KdfParams { salt: KdfParams::fresh().salt, ..p.clone() };
        assert_ne!(*a, *q.derive("correct horse").expect("other salt"));
    }
}
