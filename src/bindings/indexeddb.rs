//! The durable backend's host in a browser: indexeddb.js's `IdbStore`,
//! seen as the `Store` the protocol needs, and the functions kv.js calls to
//! open and delete such a database (the `Peers` are `idb_peers.rs`). Only
//! in builds with the `indexeddb` feature (the browser build of
//! scripts/build.mjs).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::completions::Completions;
use super::idb_peers::IdbPeers;
use super::{errors, js, now_ms, timer, Database};
use crate::backend::durable::host::{
    Appended, BackendFuture, Checkpoint, MessageKey, PlanCheckpoint, Prepare, Since, Snapshot, Spawn, Store, Stored,
    Taken,
};
use crate::backend::durable::{DurableBackend, DEFAULT_CACHE_BYTES};
use crate::backend::memory::MemoryBackend;
use crate::core::error::{KvError, KvResult};
use crate::core::page_index::PageIndex;
use crate::core::record::{self, Page, MAX_VERSION};

#[wasm_bindgen(module = "/src/bindings/indexeddb.js")]
extern "C" {
    /// indexeddb.js's `IdbStore`: the IndexedDB database.
    pub type StoreHost;

    #[wasm_bindgen(js_name = openIdbHost)]
    fn open_idb_host(name: &str, index_of: &Function) -> Promise;
    #[wasm_bindgen(js_name = hasIndexedDb)]
    fn runtime_has_indexed_db() -> bool;
    #[wasm_bindgen(js_name = deleteIdb)]
    fn delete_idb(name: &str) -> Promise;

    #[wasm_bindgen(method, js_name = readSince)]
    fn read_since(this: &StoreHost, after: f64) -> Promise;
    #[wasm_bindgen(method, js_name = readPages)]
    fn read_pages(this: &StoreHost, ids: &Array) -> Promise;
    #[wasm_bindgen(method)]
    fn write(this: &StoreHost, after: f64, prepare: &Function) -> Promise;
    #[wasm_bindgen(method, js_name = onAppended)]
    fn on_appended(this: &StoreHost, complete: &Function);
    #[wasm_bindgen(method)]
    fn append(this: &StoreHost, enqueues: bool, first: f64, records: &Array, messages: &JsValue, ticket: u32);
    #[wasm_bindgen(method)]
    fn checkpoint(this: &StoreHost, plan: &Function) -> Promise;
    #[wasm_bindgen(method, js_name = takeMessage)]
    fn take_message(this: &StoreHost, now: f64, until: f64) -> Promise;
    #[wasm_bindgen(method, js_name = renewLease)]
    fn renew_lease(this: &StoreHost, key: &Array, until: f64) -> Promise;
    #[wasm_bindgen(method, js_name = discardMessage)]
    fn discard_message(this: &StoreHost, key: &Array, why: &str) -> Promise;
    #[wasm_bindgen(method, js_name = settleMessage)]
    fn settle_message(this: &StoreHost, key: &Array, due: f64, bytes: &JsValue) -> Promise;
    #[wasm_bindgen(method)]
    fn close(this: &StoreHost);
}

/// A database persisted to IndexedDB as `name`, shared with every tab and
/// worker that opens the same name. Its pages are cached in memory up to
/// `cache_bytes` (checked by open.js; the default when absent).
#[wasm_bindgen(js_name = openIndexedDb)]
pub async fn open_indexed_db(name: String, cache_bytes: Option<f64>) -> Result<Database, JsValue> {
    let cache_bytes = cache_bytes
        .filter(|bytes| bytes.is_finite() && *bytes >= 0.0)
        .map_or(DEFAULT_CACHE_BYTES, |bytes| bytes.min(u64::MAX as f64) as u64);
    // Called only while an older layout is upgraded, inside the open.
    // At most one upgrade runs per open. (`once`, with the checkpoint
    // callback's signature: one closure shim for both in the wasm.)
    let index_of = Closure::once(upgraded_index);
    // The peers first: their `hello` goes out before the store is read.
    let peers = Box::new(IdbPeers::new(&name));
    peers.prefetch_lock();
    let opened = JsFuture::from(open_idb_host(&name, index_of.as_ref().unchecked_ref())).await;
    drop(index_of);
    let host = opened?;
    let memory = MemoryBackend::new(Rc::new(now_ms), Rc::new(timer::sleep));
    let store = Box::new(IdbStore::new(field(&host, "store").unchecked_into()));
    let backend = DurableBackend::open(memory, store, peers, spawner(), cache_bytes)
        .await
        .map_err(errors::to_js)?;
    Ok(Database::new(backend))
}

/// The page index of a layout-2 snapshot (its version, and its pages with
/// their keys in the store), for the upgrade to layout 3; a snapshot that
/// is not what layout 2 wrote fails the upgrade with a "corrupt" error.
fn upgraded_index(version: JsValue, ids: JsValue, pages: JsValue) -> Result<JsValue, JsValue> {
    let index = (|| {
        let version =
            version_from_js(&version).ok_or_else(|| record::corrupt("its snapshot version is out of range"))?;
        let ids = ids.dyn_ref::<Array>().map(Array::to_vec).unwrap_or_default();
        let pages = byte_arrays(&pages);
        if ids.len() != pages.len() {
            return Err(record::corrupt("its pages and their keys differ in number"));
        }
        let mut parsed = Vec::with_capacity(pages.len());
        for (id, bytes) in ids.iter().zip(pages) {
            let id = version_from_js(id).ok_or_else(|| record::corrupt("a page key is not a whole number"))?;
            if let Some(page) = Page::parse(bytes).map_err(record::found_in("a snapshot page"))? {
                parsed.push((id, page));
            }
        }
        PageIndex::of_pages(version, &parsed)
    })();
    match index {
        Ok(index) => Ok(Uint8Array::from(index.encode().as_slice()).into()),
        Err(err) => Err(errors::to_js(err)),
    }
}

/// Whether this runtime has IndexedDB (browsers) or not (Deno, Node, workerd).
#[wasm_bindgen(js_name = hasIndexedDb)]
pub fn has_indexed_db() -> bool {
    runtime_has_indexed_db()
}

/// Deletes the IndexedDB database behind `name`; open instances of it close.
#[wasm_bindgen(js_name = deleteIndexedDb)]
pub async fn delete_indexed_db(name: String) -> Result<(), JsValue> {
    JsFuture::from(delete_idb(&name)).await.map(drop)
}

pub fn host_error(error: &JsValue) -> KvError {
    KvError::error(js::error_text(error))
}

/// What the IndexedDB host's Promise resolves to, its rejection as a KvError.
async fn host_answer(promise: Promise) -> KvResult<JsValue> {
    JsFuture::from(promise).await.map_err(|err| host_error(&err))
}

// `Uint8Array::new` would copy each array once more before `to_vec` copies
// it into wasm memory. indexeddb.js hands over only arrays of Uint8Arrays;
// should anything else arrive anyway, it reads as no bytes, which the
// decoders reject as corrupt (never a JS exception thrown through wasm).
fn byte_arrays(value: &JsValue) -> Vec<Vec<u8>> {
    let Some(array) = value.dyn_ref::<Array>() else {
        return Vec::new();
    };
    array.iter().map(|bytes| bytes_of(&bytes)).collect()
}

fn bytes_of(value: &JsValue) -> Vec<u8> {
    value
        .dyn_ref::<Uint8Array>()
        .map(Uint8Array::to_vec)
        .unwrap_or_default()
}

fn field(object: &JsValue, name: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A version as indexeddb.js hands it over (checked there): a whole number
/// a double holds exactly.
fn version_from_js(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n <= MAX_VERSION as f64).then_some(n as u64)
}

fn since_from_js(value: &JsValue) -> KvResult<Since> {
    if value.is_null() || value.is_undefined() {
        return Ok(Since::default());
    }
    let snapshot = field(value, "snapshot");
    let snapshot = if snapshot.is_null() || snapshot.is_undefined() {
        None
    } else {
        let version = version_from_js(&field(&snapshot, "version"))
            .ok_or_else(|| record::corrupt("its snapshot version is out of range"))?;
        Some(Snapshot {
            version,
            index: bytes_of(&field(&snapshot, "index")),
        })
    };
    Ok(Since {
        snapshot,
        log: byte_arrays(&field(value, "log")),
        reset: field(value, "reset").is_truthy(),
    })
}

/// What a checkpoint writes, as indexeddb.js takes it: `[version, index,
/// ids, pages, deleted]`.
fn checkpoint_to_js(checkpoint: Checkpoint) -> Array {
    let ids = Array::new();
    let pages = Array::new();
    for (id, bytes) in &checkpoint.put {
        ids.push(&JsValue::from_f64(*id as f64));
        pages.push(&Uint8Array::from(bytes.as_slice()));
    }
    let deleted: Array = checkpoint
        .delete
        .iter()
        .map(|id| JsValue::from_f64(*id as f64))
        .collect();
    let out = Array::new();
    out.push(&JsValue::from_f64(checkpoint.version as f64));
    out.push(&Uint8Array::from(checkpoint.index.as_slice()));
    out.push(&ids);
    out.push(&pages);
    out.push(&deleted);
    out
}

/// What a write appends, as indexeddb.js takes it: the first record's
/// version (the others follow on), the records' bytes, and the queue
/// messages as `[key, bytes]` pairs, or null for none (the usual case).
/// Built with `push`, which costs less than `Array.of` from wasm.
struct AppendedJs {
    first: f64,
    records: Array,
    messages: JsValue,
}

impl AppendedJs {
    fn new(appended: Appended) -> Self {
        let first = appended.records.first().map_or(0.0, |(version, _)| *version as f64);
        let records = Array::new();
        for (_, bytes) in &appended.records {
            records.push(&Uint8Array::from(bytes.as_slice()));
        }
        let messages = if appended.messages.is_empty() {
            JsValue::NULL
        } else {
            let messages = Array::new();
            for (key, bytes) in appended.messages {
                messages.push(&Array::of2(&key_to_js(key), &Uint8Array::from(bytes.as_slice())));
            }
            messages.into()
        };
        Self {
            first,
            records,
            messages,
        }
    }

    /// `[first, records, messages]`, for a catching-up write's callback.
    fn into_array(self) -> Array {
        Array::of3(&JsValue::from_f64(self.first), &self.records, &self.messages)
    }
}

fn key_to_js((due, version, index): MessageKey) -> Array {
    Array::of3(
        &JsValue::from_f64(due as f64),
        &JsValue::from_f64(version as f64),
        &JsValue::from_f64(f64::from(index)),
    )
}

/// A queue key, `[due, version, index]`, as indexeddb.js checked it.
fn key_from_js(value: &JsValue) -> Option<MessageKey> {
    let key = value.dyn_ref::<Array>().filter(|key| key.length() == 3)?;
    let due = version_from_js(&key.get(0))?;
    let version = version_from_js(&key.get(1))?;
    let index = u32::try_from(version_from_js(&key.get(2))?).ok()?;
    Some((due, version, index))
}

pub struct IdbStore {
    host: StoreHost,
    /// Blind writes, the sequential commit's path, report back through this
    /// rather than a promise each.
    appends: Completions,
}

impl IdbStore {
    pub fn new(host: StoreHost) -> Self {
        let appends = Completions::new();
        host.on_appended(appends.callback());
        Self { host, appends }
    }
}

impl Store for IdbStore {
    fn read_since(&self, after: u64) -> BackendFuture<Since> {
        let promise = self.host.read_since(after as f64);
        Box::pin(async move { since_from_js(&host_answer(promise).await?) })
    }

    fn read_pages(&self, ids: Vec<u64>) -> BackendFuture<Vec<Option<Vec<u8>>>> {
        let asked = ids.len();
        let ids: Array = ids.iter().map(|id| JsValue::from_f64(*id as f64)).collect();
        let promise = self.host.read_pages(&ids);
        Box::pin(async move {
            // indexeddb.js answers with bytes or null for each id, in order.
            let answer = host_answer(promise).await?;
            let pages = answer
                .dyn_ref::<Array>()
                .ok_or_else(|| record::corrupt("the pages read are not a list"))?;
            if pages.length() as usize != asked {
                return Err(record::corrupt("the pages read are not the ones asked for"));
            }
            Ok(pages
                .iter()
                .map(|page| page.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec))
                .collect())
        })
    }

    fn write(&self, after: u64, blind: bool, enqueues: bool, prepare: Prepare) -> BackendFuture<()> {
        // A blind write needs nothing from the store, so it is prepared
        // before its transaction starts: no callback to make and call back
        // into for every commit. A failure inside `prepare` keeps its own
        // class and message.
        if blind {
            let appended = match prepare(Since::default()) {
                Ok(appended) => appended,
                Err(err) => return Box::pin(std::future::ready(Err(err))),
            };
            let (ticket, completion) = self.appends.issue();
            let appended = AppendedJs::new(appended);
            self.host
                .append(enqueues, appended.first, &appended.records, &appended.messages, ticket);
            return Box::pin(async move { completion.await.map_err(|err| host_error(&err)) });
        }
        let prepare_error: Rc<RefCell<Option<KvError>>> = Rc::default();
        let closure = {
            let prepare_error = Rc::clone(&prepare_error);
            Closure::once(move |since: JsValue| -> Result<JsValue, JsValue> {
                match since_from_js(&since).and_then(prepare) {
                    Ok(appended) => Ok(AppendedJs::new(appended).into_array().into()),
                    Err(err) => {
                        let thrown = JsValue::from_str(&err.message);
                        *prepare_error.borrow_mut() = Some(err);
                        Err(thrown)
                    }
                }
            })
        };
        let promise = self.host.write(after as f64, closure.as_ref().unchecked_ref());
        Box::pin(async move {
            let result = JsFuture::from(promise).await;
            drop(closure);
            match result {
                Ok(_) => Ok(()),
                Err(err) => Err(prepare_error.borrow_mut().take().unwrap_or_else(|| host_error(&err))),
            }
        })
    }

    fn checkpoint(&self, plan: PlanCheckpoint) -> BackendFuture<bool> {
        let plan_error: Rc<RefCell<Option<KvError>>> = Rc::default();
        let closure = {
            let plan_error = Rc::clone(&plan_error);
            Closure::once(
                move |version: JsValue, index: JsValue, newest: JsValue| -> Result<JsValue, JsValue> {
                    let stored = match (version_from_js(&version), version_from_js(&newest)) {
                        (Some(version), Some(newest)) => Ok(Stored {
                            version,
                            index: bytes_of(&index),
                            newest,
                        }),
                        _ => Err(record::corrupt("a version is out of range")),
                    };
                    match stored.and_then(plan) {
                        Ok(Some(checkpoint)) => Ok(checkpoint_to_js(checkpoint).into()),
                        Ok(None) => Ok(JsValue::NULL),
                        Err(err) => {
                            let thrown = JsValue::from_str(&err.message);
                            *plan_error.borrow_mut() = Some(err);
                            Err(thrown)
                        }
                    }
                },
            )
        };
        let promise = self.host.checkpoint(closure.as_ref().unchecked_ref());
        Box::pin(async move {
            let result = JsFuture::from(promise).await;
            drop(closure);
            match result {
                Ok(written) => Ok(written.as_bool().unwrap_or(false)),
                Err(err) => Err(plan_error.borrow_mut().take().unwrap_or_else(|| host_error(&err))),
            }
        })
    }

    fn take_message(&self, now: u64, lease_until: u64) -> BackendFuture<Taken> {
        let promise = self.host.take_message(now as f64, lease_until as f64);
        Box::pin(async move {
            let taken = host_answer(promise).await?;
            let key = field(&taken, "key");
            if key.is_undefined() {
                // A due past what a u64 holds saturates: "not for a while".
                let next_due = field(&taken, "nextDue").as_f64().map(|due| due as u64);
                return Ok(Taken::NextDue(next_due));
            }
            let key = key_from_js(&key).ok_or_else(|| record::corrupt("a queue key is not [due, version, index]"))?;
            Ok(Taken::Message(key, bytes_of(&field(&taken, "bytes"))))
        })
    }

    fn discard_message(&self, key: MessageKey, why: &str) -> BackendFuture<()> {
        let promise = self.host.discard_message(&key_to_js(key), why);
        Box::pin(async move { host_answer(promise).await.map(drop) })
    }

    fn renew_lease(&self, key: MessageKey, lease_until: u64) -> BackendFuture<()> {
        let promise = self.host.renew_lease(&key_to_js(key), lease_until as f64);
        Box::pin(async move { host_answer(promise).await.map(drop) })
    }

    fn settle_message(&self, key: MessageKey, retry: Option<(u64, Vec<u8>)>) -> BackendFuture<()> {
        let promise = match retry {
            Some((due, bytes)) => {
                self.host
                    .settle_message(&key_to_js(key), due as f64, &Uint8Array::from(bytes.as_slice()))
            }
            None => self.host.settle_message(&key_to_js(key), 0.0, &JsValue::UNDEFINED),
        };
        Box::pin(async move { host_answer(promise).await.map(drop) })
    }

    fn close(&self) {
        self.host.close();
    }
}

pub fn spawner() -> Spawn {
    Rc::new(wasm_bindgen_futures::spawn_local)
}
