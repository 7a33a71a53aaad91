//! The durable backend's host in a browser: the functions kv.js calls to
//! open and delete a database persisted to IndexedDB. The store is
//! `idb_store.rs` and the peers `idb_peers.rs`. Only in builds with the
//! `indexeddb` feature (the browser build of scripts/build.mjs).

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use super::idb_peers::IdbPeers;
use super::{errors, idb_store, now_ms, timer, Database};
use crate::backend::durable::host::Spawn;
use crate::backend::durable::{DurableBackend, DEFAULT_CACHE_BYTES};
use crate::backend::memory::MemoryBackend;

/// A database persisted to IndexedDB as `name`, shared with every tab and
/// worker that opens the same name. Its pages are cached in memory up to
/// `cache_bytes` (checked by open.js; the default when absent).
#[wasm_bindgen(js_name = openIndexedDb)]
pub async fn open_indexed_db(name: String, cache_bytes: Option<f64>) -> Result<Database, JsValue> {
    let cache_bytes = cache_bytes
        .filter(|bytes| bytes.is_finite() && *bytes >= 0.0)
        .map_or(DEFAULT_CACHE_BYTES, |bytes| bytes.min(u64::MAX as f64) as u64);
    // The peers first: their `hello` goes out before the store is read.
    let peers = Box::new(IdbPeers::new(&name));
    peers.prefetch_lock();
    let store = Box::new(idb_store::open(&name).await.map_err(errors::to_js)?);
    let memory = MemoryBackend::new(Rc::new(now_ms), Rc::new(timer::sleep));
    let backend = DurableBackend::open(memory, store, peers, spawner(), cache_bytes)
        .await
        .map_err(errors::to_js)?;
    Ok(Database::new(backend))
}

/// Whether this runtime has IndexedDB (browsers) or not (Deno, Node, workerd).
#[wasm_bindgen(js_name = hasIndexedDb)]
pub fn has_indexed_db() -> bool {
    idb_store::runtime_has_indexed_db()
}

/// Deletes the IndexedDB database behind `name`; open instances of it close.
#[wasm_bindgen(js_name = deleteIndexedDb)]
pub async fn delete_indexed_db(name: String) -> Result<(), JsValue> {
    idb_store::delete_database(&name).await.map_err(errors::to_js)
}

pub fn spawner() -> Spawn {
    Rc::new(wasm_bindgen_futures::spawn_local)
}
