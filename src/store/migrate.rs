//! What opening does to a store an earlier vigil wrote: values written before encryption are sealed in
//! place; an index in an earlier layout is rebuilt ([`Store::rebuild_index`]).

use super::audit_log::begin_keyed;
use super::codec::{CHECK_PLAIN, META_CHECK};
use super::crypto;
use super::index::{INDEX_COMPLETE, META_INDEX};
use super::keys::{ALERTS, BLOBS, EVENTS, META, QUARANTINE};
use super::{Result, Store};

impl Store {
    /// Brings a store just opened up to this vigil's layout: a new store (or one written before encryption)
    /// is sealed and given its key check and a keyed audit trail; an index that may not be complete in the
    /// current encoding is rebuilt.
    pub(super) fn bring_up_to_date(&self) -> Result<()> {
        if self.meta.get(META_CHECK)?.is_none() {
            // A new store, or one written before encryption: seal what is there, then the key check.
            self.seal_plaintext()?;
            // A new store's trail is keyed from its first record; an earlier vigil's trail with records in it
            // stays as it is until the DSL keys it (`vigil audit upgrade`), which is recorded.
            begin_keyed(&self.audit, &self.audit_key)?;
            self.meta.insert(META_CHECK, self.seal_bytes(META, META_CHECK, CHECK_PLAIN)?)?;
            self.flush()?;
        }
        if self.meta.get(META_INDEX)?.as_deref() != Some(INDEX_COMPLETE) {
            // An index in an earlier vigil's layout or encoding, or one that may have a gap: rebuilt from the
            // alerts and the event log.
            self.rebuild_index()?;
        }
        Ok(())
    }

    /// Seals, in place, the values of a store written before encryption (a new store has none). The index
    /// is dropped and rebuilt from the sealed alerts and events.
    fn seal_plaintext(&self) -> Result<()> {
        for (tree, name) in [(&self.alerts, ALERTS), (&self.events, EVENTS), (&self.quarantine, QUARANTINE)] {
            for kv in tree.iter() {
                let (k, v) = kv?;
                if v.first() != Some(&crypto::SEALED) {
                    tree.insert(&k, self.seal_bytes(name, &k, &v)?)?;
                }
            }
        }
        for kv in self.blobs.iter() {
            let (k, v) = kv?;
            // The cache's bookkeeping (sizes, order, total) is not content; its data and other blobs are.
            if (!k.starts_with(b"cache/") || k.starts_with(b"cache/d/")) && v.first() != Some(&crypto::SEALED) {
                self.blobs.insert(&k, self.seal_bytes(BLOBS, &k, &v)?)?;
            }
        }
        self.meta.remove(META_INDEX)?;
        Ok(())
    }
}
