//! Values in and out: versioned JSON envelopes, sealed (encrypted with their tree and key as associated
//! data) on the way in and opened on the way out, and the key check that unlocks a store.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::audit_log::AuditKey;
use super::crypto::{self, Cipher};
use super::keys::META;
use super::{KeyError, Result, Store, StoreError, StoreKey};

pub(super) const SCHEMA: u32 = 1;

pub(super) const META_CHECK: &[u8] = b"check";
pub(super) const META_KDF: &[u8] = b"kdf";

pub(super) const CHECK_PLAIN: &[u8] = b"vigil store key check";

#[derive(Serialize, Deserialize)]
pub(super) struct Envelope<T> {
    v: u32,
    data: T,
}

pub(super) fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&Envelope { v: SCHEMA, data: value }).map_err(|e| encode_error(what, e))
}

/// A value that could not be encoded or sealed ([`StoreError::Encode`]).
pub(super) fn encode_error(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Encode { what: what.to_string(), detail: e.to_string() }
}

pub(super) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    let env: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })?;
    if env.v > SCHEMA {
        return Err(StoreError::Corrupt {
            what: what.to_string(),
            detail: format!("written by a newer vigil (schema {}); upgrade vigil", env.v),
        });
    }
    Ok(env.data)
}

/// Where a store keeps its key check and key derivation parameters: sled's `meta` tree, or a school's rows
/// of the PostgreSQL store's `meta` table. [`unlock`] reads and writes them through this, so both backends
/// check a key by the same rule.
pub(super) trait KeyMeta {
    fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>>;
    fn insert(&self, name: &[u8], value: Vec<u8>) -> Result<()>;
}

impl KeyMeta for sled::Tree {
    fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(sled::Tree::get(self, name)?.map(|v| v.to_vec()))
    }
    fn insert(&self, name: &[u8], value: Vec<u8>) -> Result<()> {
        sled::Tree::insert(self, name, value)?;
        Ok(())
    }
}

/// The cipher for `key`, checked against the store's sealed check value when there is one. Creates the
/// key file (or the passphrase's salt) for a store that has no check yet, that is a new one.
pub(super) fn unlock(meta: &dyn KeyMeta, key: &StoreKey) -> Result<(Cipher, AuditKey)> {
    let has_check = meta.get(META_CHECK)?.is_some();
    let kdf: Option<crypto::KdfParams> = match meta.get(META_KDF)? {
        Some(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt { what: "key derivation parameters".into(), detail: e.to_string() })?,
        ),
        None => None,
    };
    let bytes = match key {
        StoreKey::Bytes(b) => b.clone(),
        StoreKey::File(path) => {
            if kdf.is_some() {
                return Err(KeyError::NeedsPassphrase.into());
            }
            match crypto::read_key_file(path) {
                Ok(k) => k,
                Err(KeyError::Missing { .. }) if !has_check => crypto::create_key_file(path)?,
                Err(e) => return Err(e.into()),
            }
        }
        StoreKey::Passphrase(p) => {
            let params = match kdf {
                Some(k) => k,
                None if has_check => return Err(KeyError::NeedsKeyFile.into()),
                None => {
                    let k = crypto::KdfParams::fresh();
                    meta.insert(META_KDF, encode_plain("key derivation parameters", &k)?)?;
                    k
                }
            };
            params.derive(p)?
        }
    };
    let cipher = Cipher::new(&bytes);
    if let Some(check) = meta.get(META_CHECK)?
        && cipher.open(SCHEMA, META, META_CHECK, &check).ok().as_deref() != Some(CHECK_PLAIN)
    {
        return Err(KeyError::WrongKey { hint: key.hint() }.into());
    }
    Ok((cipher, AuditKey::derive(&bytes)))
}

pub(super) fn encode_plain<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| encode_error(what, e))
}

/// Serializes `value` into its envelope and seals it with `cipher` for `key` in `tree`: the one sealing
/// both backends use, so a value means the same (and opens only where it was sealed) in either.
pub(super) fn seal_value<T: Serialize>(cipher: &Cipher, tree: &str, key: &[u8], value: &T) -> Result<Vec<u8>> {
    seal_plain(cipher, tree, key, &encode(tree, value)?)
}

/// Seals `plain` for `key` in `tree` as it is.
pub(super) fn seal_plain(cipher: &Cipher, tree: &str, key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    cipher.seal(SCHEMA, tree, key, plain).map_err(|e| encode_error(tree, e))
}

/// Opens a value sealed by [`seal_value`] and reads its envelope.
pub(super) fn open_value<T: DeserializeOwned>(
    cipher: &Cipher,
    what: &str,
    tree: &str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T> {
    decode(what, &open_plain(cipher, what, tree, key, bytes)?)
}

/// Opens bytes sealed by [`seal_plain`].
pub(super) fn open_plain(cipher: &Cipher, what: &str, tree: &str, key: &[u8], bytes: &[u8]) -> Result<Vec<u8>> {
    cipher
        .open(SCHEMA, tree, key, bytes)
        .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
}

/// Sealing: everything that turns values into ciphertext and back.
impl Store {
    /// Serializes `value` into its envelope and seals it for `key` in `tree`.
    pub(super) fn seal<T: Serialize>(&self, tree: &str, key: &[u8], value: &T) -> Result<Vec<u8>> {
        seal_value(&self.cipher, tree, key, value)
    }

    /// Seals `plain` for `key` in `tree` as it is.
    pub(super) fn seal_bytes(&self, tree: &str, key: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        seal_plain(&self.cipher, tree, key, plain)
    }

    /// Opens a value sealed by [`Store::seal`] and reads its envelope.
    pub(super) fn unseal<T: DeserializeOwned>(&self, what: &str, tree: &str, key: &[u8], bytes: &[u8]) -> Result<T> {
        open_value(&self.cipher, what, tree, key, bytes)
    }

    pub(super) fn unseal_bytes(&self, what: &str, tree: &str, key: &[u8], bytes: &[u8]) -> Result<Vec<u8>> {
        open_plain(&self.cipher, what, tree, key, bytes)
    }
}
