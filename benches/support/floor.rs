//! The floor that ingest throughput is judged against, measured in the same run on the same machine
//! (issue 14): an absolute rate cannot be judged on a shared machine, a ratio to the least the same work
//! costs there can. Shared by `benches/ingest.rs` and `examples/bench_store.rs`.
//!
//! The floor does what storing a feed page must do at the least, plainly, on one thread: parse the page with
//! `serde_json`, seal each alert as the store seals it (its JSON in the store's envelope, under the store's
//! own [`Cipher`], the same XChaCha20-Poly1305 with a fresh nonce, for the same tree and the store's key
//! layout), write the page's sealed values in one plain sled batch and flush once. It leaves out what vigil
//! adds on top: the protocol's validation and grading, the transaction, the dedupe against stored alerts,
//! the first event and the queue index entry, the cursor and the parallel sealing.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use serde::Serialize;
use serde_json::Value;
use vigil::store::crypto::Cipher;

/// The store's value schema and the tree its alerts live in (`SCHEMA` and `ALERTS` in src/store).
const SCHEMA: u32 = 1;
const ALERTS_TREE: &str = "alerts";
/// The store's sled cache (`SLED_CACHE_BYTES` in src/store), so that the floor writes through the same cache.
pub const SLED_CACHE_BYTES: u64 = 16 << 20;

/// The store's envelope around a value (`{"v": schema, "data": ...}`).
#[derive(Serialize)]
struct Envelope<'a> {
    v: u32,
    data: &'a Value,
}

/// The store's key for a case: two length-prefixed strings (private to the store; the same layout as
/// `tests/common`'s copy).
pub fn case_key(source: &str, id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + source.len() + id.len());
    for part in [source, id] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// A cipher with a random key, as a new store has.
pub fn cipher() -> Cipher {
    let mut key = [0u8; vigil::store::crypto::KEY_LEN];
    OsRng.fill_bytes(&mut key);
    Cipher::new(&key)
}

/// Opens (creating) a sled database as the store opens its own.
pub fn open_sled(path: &std::path::Path) -> sled::Db {
    sled::Config::new().path(path).cache_capacity(SLED_CACHE_BYTES).open().expect("sled opens")
}

/// Writes `pages` into `db`'s alerts tree as described above and returns the alerts written and the time
/// taken. Each alert's id gets `id_suffix`, so that the floor can write beside alerts already stored under
/// their own ids (into a copy of a store, after ingest) as new keys, not overwrites.
pub fn write_pages<'a>(
    db: &sled::Db,
    cipher: &Cipher,
    pages: impl IntoIterator<Item = &'a [u8]>,
    id_suffix: &str,
) -> (usize, Duration) {
    let tree = db.open_tree(ALERTS_TREE).expect("alerts tree");
    let mut written = 0;
    let started = Instant::now();
    for body in pages {
        let page: Value = serde_json::from_slice(body).expect("page parses");
        let alerts = page["alerts"].as_array().expect("a page has alerts");
        let mut batch = sled::Batch::default();
        for alert in alerts {
            let source = alert["source"].as_str().expect("source");
            let id = alert["id"].as_str().expect("id");
            let key = case_key(source, &format!("{id}{id_suffix}"));
            let plain = serde_json::to_vec(&Envelope { v: SCHEMA, data: alert }).expect("serialize");
            let sealed = cipher.seal(SCHEMA, ALERTS_TREE, &key, &plain).expect("seal");
            batch.insert(key, sealed);
        }
        tree.apply_batch(batch).expect("batch");
        db.flush().expect("flush");
        written += alerts.len();
    }
    (written, started.elapsed())
}
