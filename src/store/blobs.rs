//! Blobs (sealed byte strings by name) and the size-capped screenshot cache kept beside them.

use sled::transaction::ConflictableTransactionError;

use super::keys::{BLOBS, CACHE_TOTAL, be_u64, cache_key};
use super::{Result, Store, StoreError, tx_error};

impl Store {
    pub fn blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match self.blobs.get(name)? {
            Some(v) => Ok(Some(self.unseal_bytes("blob", BLOBS, name.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Stores a blob, sealed. Names must not start with `cache/` (the screenshot cache's own keys).
    pub fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.space.room()?;
        self.blobs.insert(name, self.seal_bytes(BLOBS, name.as_bytes(), bytes)?)?;
        Ok(())
    }

    pub fn remove_blob(&self, name: &str) -> Result<()> {
        self.blobs.remove(name)?;
        Ok(())
    }

    /// Whether the size-capped cache holds `name`, without reading (or decrypting) it.
    pub fn has_cached_blob(&self, name: &str) -> Result<bool> {
        Ok(self.blobs.contains_key(cache_key(b"d/", name.as_bytes()))?)
    }

    /// A blob from the size-capped cache (screenshots), if it is there.
    pub fn cached_blob(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let k = cache_key(b"d/", name.as_bytes());
        match self.blobs.get(&k)? {
            Some(v) => Ok(Some(self.unseal_bytes("cached blob", BLOBS, &k, &v)?)),
            None => Ok(None),
        }
    }

    /// The bytes the size-capped cache holds now.
    pub fn cached_blob_bytes(&self) -> Result<u64> {
        Ok(self.blobs.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v)))
    }

    /// Caches `bytes` under `name`, then evicts the oldest entries until the cache holds at most `cap` bytes.
    /// A blob larger than `cap` is not cached. A cache, not a record: it is not flushed here.
    pub fn cache_blob(&self, name: &str, bytes: &[u8], cap: u64) -> Result<()> {
        if bytes.len() as u64 > cap || self.space.room().is_err() {
            return Ok(()); // a cache: on a full disk the picture is shown, not kept
        }
        let seq = self.next_id()?;
        let (data_k, meta_k) = (cache_key(b"d/", name.as_bytes()), cache_key(b"m/", name.as_bytes()));
        let order_k = cache_key(b"o/", &seq.to_be_bytes());
        let sealed = self.seal_bytes(BLOBS, &data_k, bytes)?;
        self.blobs
            .transaction(|t| {
                let mut total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                if let Some(meta) = t.get(&meta_k)? {
                    t.remove(cache_key(b"o/", &meta[..8.min(meta.len())]))?;
                    total = total.saturating_sub(be_u64(meta.get(8..).unwrap_or_default()));
                }
                let mut meta = seq.to_be_bytes().to_vec();
                meta.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
                t.insert(data_k.as_slice(), sealed.as_slice())?;
                t.insert(meta_k.as_slice(), meta)?;
                t.insert(order_k.as_slice(), name.as_bytes())?;
                t.insert(CACHE_TOTAL, &(total + bytes.len() as u64).to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        while self.cached_blob_bytes()? > cap {
            let Some(oldest) = self.blobs.scan_prefix(cache_key(b"o/", b"")).next() else { break };
            let (order_k, name) = oldest?;
            let (data_k, meta_k) = (cache_key(b"d/", &name), cache_key(b"m/", &name));
            self.blobs
                .transaction(|t| {
                    if t.remove(&*order_k)?.is_none() {
                        return Ok(()); // another task evicted it first
                    }
                    let size = t.remove(meta_k.as_slice())?.map_or(0, |m| be_u64(m.get(8..).unwrap_or_default()));
                    t.remove(data_k.as_slice())?;
                    let total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                    t.insert(CACHE_TOTAL, &total.saturating_sub(size).to_be_bytes())?;
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                })
                .map_err(tx_error)?;
        }
        Ok(())
    }

    /// The names in the screenshot cache.
    pub fn cached_blob_names(&self) -> Result<Vec<String>> {
        let prefix = cache_key(b"m/", b"");
        self.blobs
            .scan_prefix(&prefix)
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?[prefix.len()..]).into_owned()))
            .collect()
    }

    /// Drops `name` from the screenshot cache, if it is there.
    pub fn uncache_blob(&self, name: &str) -> Result<()> {
        let (data_k, meta_k) = (cache_key(b"d/", name.as_bytes()), cache_key(b"m/", name.as_bytes()));
        self.blobs
            .transaction(|t| {
                let Some(meta) = t.remove(meta_k.as_slice())? else { return Ok(()) };
                t.remove(cache_key(b"o/", &meta[..8.min(meta.len())]))?;
                t.remove(data_k.as_slice())?;
                let total = t.get(CACHE_TOTAL)?.map_or(0, |v| be_u64(&v));
                let size = be_u64(meta.get(8..).unwrap_or_default());
                t.insert(CACHE_TOTAL, &total.saturating_sub(size).to_be_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            })
            .map_err(tx_error)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::backend::testing::{Backend, on_both_backends};

    on_both_backends!(the_blob_cache_evicts_the_oldest_beyond_its_cap, a_blob_is_kept_until_removed);

    fn the_blob_cache_evicts_the_oldest_beyond_its_cap(backend: Backend) {
        let store = backend.open().store;
        store.cache_blob("a", &[1; 40], 100).expect("a");
        store.cache_blob("b", &[2; 40], 100).expect("b");
        store.cache_blob("a", &[3; 40], 100).expect("a again: replaces, still 80 bytes");
        assert_eq!(store.cached_blob_bytes().expect("total"), 80);
        store.cache_blob("c", &[4; 40], 100).expect("c evicts b, the oldest");
        assert_eq!(store.cached_blob("b").expect("get"), None);
        assert_eq!(store.cached_blob("a").expect("get"), Some(vec![3; 40]));
        assert_eq!(store.cached_blob("c").expect("get"), Some(vec![4; 40]));
        assert_eq!(store.cached_blob_bytes().expect("total"), 80);
        store.cache_blob("huge", &[5; 101], 100).expect("too big to cache");
        assert_eq!(store.cached_blob("huge").expect("get"), None);
    }

    fn a_blob_is_kept_until_removed(backend: Backend) {
        let opened = backend.open();
        let store = opened.store;
        assert_eq!(store.blob("shot-1").expect("get"), None);
        store.put_blob("shot-1", b"png bytes").expect("put");
        assert_eq!(store.blob("shot-1").expect("get").as_deref(), Some(&b"png bytes"[..]));
        store.cache_blob("c", &[1; 10], 100).expect("cache");
        assert!(store.has_cached_blob("c").expect("has"));
        assert_eq!(store.cached_blob_names().expect("names"), vec!["c".to_string()]);
        store.uncache_blob("c").expect("uncache");
        assert!(!store.has_cached_blob("c").expect("has"));
        assert_eq!(store.cached_blob_bytes().expect("total"), 0);
        store.remove_blob("shot-1").expect("remove");
        assert_eq!(store.blob("shot-1").expect("get"), None);
    }
}
