//! The wasm-bindgen surface: parses JS arguments (through `key` and, for
//! every shape wire.js packs, `wire`), hands the requests to `Kv`, and turns
//! the answers into JS. Answers come back as plain values when the backend
//! answered at once and as Promises otherwise; the JS layer awaits both.

#[cfg(feature = "sqlite")]
mod durable_object;
mod errors;
// Public for tests/wasm_browser.rs, which drives two instances' peers
// directly (it is no wasm export).
#[cfg(feature = "indexeddb")]
pub mod idb_peers;
#[cfg(feature = "indexeddb")]
mod idb_store;
#[cfg(feature = "indexeddb")]
mod indexeddb;
mod js;
mod key;
#[cfg(any(feature = "indexeddb", feature = "sqlite"))]
mod reporter;
#[cfg(feature = "sqlite")]
mod sqlite;
mod timer;
#[cfg(feature = "remote")]
mod transport;
#[cfg(feature = "indexeddb")]
mod warm_up;
pub mod wire;

#[cfg(feature = "sqlite")]
pub use durable_object::open_durable_object;
#[cfg(feature = "indexeddb")]
pub use indexeddb::{delete_indexed_db, has_indexed_db, open_indexed_db};
#[cfg(feature = "sqlite")]
pub use sqlite::open_sqlite;

use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{Consistency, KeyPart, KvEntry, MutationKind};
use js_sys::Array;
use wasm_bindgen::prelude::*;

use self::wire::BatchWriter;
use crate::backend::memory::MemoryBackend;
#[cfg(feature = "remote")]
use crate::backend::remote::RemoteBackend;
use crate::backend::{Backend, BackendFuture};
use crate::core::limits::Limits;
use crate::core::selector::Selector;
use crate::core::versionstamp::Versionstamp;
use crate::kv::request::{ListRequest, MutationRequest, WriteRequest};
use crate::kv::Kv;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

fn consistency(value: &JsValue) -> Result<Consistency, JsValue> {
    match value.as_string().as_deref() {
        Some("strong") => Ok(Consistency::Strong),
        Some("eventual") => Ok(Consistency::Eventual),
        Some(other) => {
            Err(js_sys::TypeError::new(&format!("unknown variant `{other}`, expected `strong` or `eventual`")).into())
        }
        None if value.is_undefined() => Ok(Consistency::Strong),
        None => Err(js::invalid_type("string", value)),
    }
}

fn optional_string(value: &JsValue) -> Result<Option<String>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| js::invalid_type("string", value))
}

fn optional_key_parts(key: &JsValue) -> Result<Option<Vec<KeyPart>>, JsValue> {
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key::parse(key).map(Some)
}

fn optional_key(key: &JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key::encode_js(key).map(Some)
}

/// The answer as a plain value if the future is already done, else a
/// Promise of it.
fn now_or_promise<T: 'static>(
    mut future: BackendFuture<T>,
    to_js: impl FnOnce(T) -> Result<JsValue, JsValue> + 'static,
) -> Result<JsValue, JsValue> {
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result.map_err(errors::to_js).and_then(to_js),
        Poll::Pending => {
            Ok(wasm_bindgen_futures::future_to_promise(
                async move { future.await.map_err(errors::to_js).and_then(to_js) },
            )
            .into())
        }
    }
}

fn committed(stamp: Option<Versionstamp>) -> Result<JsValue, JsValue> {
    Ok(wire::commit_versionstamp(stamp))
}

/// A read batch of one entry or none per key.
fn keyed_batch(ranges: Vec<Vec<KvEntry>>) -> Result<JsValue, JsValue> {
    let mut batch = BatchWriter::with_capacity(ranges.len(), false);
    for mut entries in ranges {
        match entries.pop() {
            Some(entry) => batch.push(entry)?,
            None => batch.push_missing(),
        }
    }
    Ok(batch.finish())
}

#[wasm_bindgen]
pub struct Database {
    kv: Rc<Kv>,
}

impl Database {
    fn new(backend: impl Backend + 'static) -> Self {
        Database {
            kv: Rc::new(Kv::new(Box::new(backend), Limits::default(), Rc::new(now_ms))),
        }
    }
}

#[wasm_bindgen(js_name = openMemory)]
pub fn open_memory() -> Database {
    Database::new(MemoryBackend::new(Rc::new(now_ms), Rc::new(timer::sleep)))
}

/// A database served by a KV Connect server (a `denokv`) at `url`.
#[cfg(feature = "remote")]
#[wasm_bindgen(js_name = openRemote)]
pub fn open_remote(url: String, access_token: String) -> Database {
    Database::new(RemoteBackend::new(
        url,
        access_token,
        Rc::new(transport::JsHttpTransport::default()),
        Rc::new(now_ms),
        Rc::new(timer::sleep),
    ))
}

#[wasm_bindgen]
impl Database {
    /// A list's cursor after `boundary_key`. It needs no database, but every
    /// build has databases, and a page may have loaded only the KV Connect
    /// build (pkg-template/loader.js), so it is asked of the list's own.
    #[wasm_bindgen(js_name = encodeCursor)]
    pub fn encode_cursor(
        &self,
        prefix: &JsValue,
        start: &JsValue,
        end: &JsValue,
        boundary_key: &JsValue,
    ) -> Result<String, JsValue> {
        // Cursors are only asked for keys the iterator has already listed.
        let selector =
            Selector::new(optional_key(prefix)?, optional_key(start)?, optional_key(end)?).map_err(errors::to_js)?;
        let boundary = key::encode_js(boundary_key)?;
        selector.cursor_for(&boundary).map_err(errors::to_js)
    }

    /// The entry as a point read (`wire`), or null.
    pub fn get(&self, key: &JsValue, consistency_level: &JsValue) -> Result<JsValue, JsValue> {
        let parts = key::parse(key)?;
        let consistency = consistency(consistency_level)?;
        now_or_promise(self.kv.read_key(parts, consistency), |mut ranges| {
            Ok(match ranges.pop().and_then(|mut entries| entries.pop()) {
                Some(entry) => wire::point_read(entry),
                None => JsValue::NULL,
            })
        })
    }

    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, keys: &JsValue, consistency_level: &JsValue) -> Result<JsValue, JsValue> {
        let keys = key::parse_many(keys, self.kv.limits().max_read_ranges)?;
        let consistency = consistency(consistency_level)?;
        now_or_promise(self.kv.read_keys(keys, consistency), keyed_batch)
    }

    /// One batch of a list: entries in `[start, end)` after `cursor`.
    #[allow(clippy::too_many_arguments)]
    pub fn list(
        &self,
        prefix: &JsValue,
        start: &JsValue,
        end: &JsValue,
        cursor: &JsValue,
        reverse: bool,
        batch_size: f64,
        consistency_level: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let request = ListRequest {
            prefix: optional_key_parts(prefix)?,
            start: optional_key_parts(start)?,
            end: optional_key_parts(end)?,
            cursor: optional_string(cursor)?,
            reverse,
            batch_size,
        };
        let consistency = consistency(consistency_level)?;
        now_or_promise(self.kv.list(request, consistency), |mut ranges| {
            let entries = ranges.pop().unwrap_or_default();
            let mut batch = BatchWriter::with_capacity(entries.len(), true);
            for entry in entries {
                batch.push(entry)?;
            }
            Ok(batch.finish())
        })
    }

    /// `kv.set`: one crossing, with the value already encoded by wire.js.
    pub fn set(&self, key: &JsValue, encoding: u32, bytes: Vec<u8>, expire_in: &JsValue) -> Result<JsValue, JsValue> {
        let value = wire::value(f64::from(encoding), bytes)?;
        let mutation = MutationRequest {
            key: key::parse(key)?,
            kind: MutationKind::Set(value),
            expire_in_ms: expire_in.as_f64(),
        };
        now_or_promise(self.kv.write_one(mutation), committed)
    }

    pub fn delete(&self, key: &JsValue) -> Result<JsValue, JsValue> {
        let mutation = MutationRequest {
            key: key::parse(key)?,
            kind: MutationKind::Delete,
            expire_in_ms: None,
        };
        now_or_promise(self.kv.write_one(mutation), committed)
    }

    /// An atomic operation, in `wire`'s shapes: `checks` and `enqueues` as
    /// arrays of tuples, the mutations as their keys, rows and values.
    pub fn commit(
        &self,
        checks: &Array,
        keys: &Array,
        rows: &[f64],
        values: &[u8],
        enqueues: &Array,
    ) -> Result<JsValue, JsValue> {
        let request = WriteRequest {
            checks: checks
                .iter()
                .map(|check| wire::parse_check(&check))
                .collect::<Result<_, _>>()?,
            mutations: wire::parse_mutations(keys, rows, values)?,
            enqueues: enqueues
                .iter()
                .map(|enqueue| wire::parse_enqueue(&enqueue))
                .collect::<Result<_, _>>()?,
        };
        now_or_promise(self.kv.write(request), committed)
    }

    /// A watch on `keys` (an array of keys); its `next()` gives the entries.
    pub fn watch(&self, keys: &JsValue) -> Result<WatchHandle, JsValue> {
        let keys = key::parse_many(keys, self.kv.limits().max_watched_keys)?;
        let stream = self.kv.watch(keys).map_err(errors::to_js)?;
        Ok(WatchHandle {
            stream: std::cell::RefCell::new(Some(stream)),
        })
    }

    /// The next due queue message (`wire`), or null once the database is
    /// closed.
    pub fn dequeue(&self) -> Result<JsValue, JsValue> {
        now_or_promise(self.kv.dequeue(), |message| {
            Ok(match message {
                Some((id, payload)) => wire::queue_message(id, &payload),
                None => JsValue::NULL,
            })
        })
    }

    #[wasm_bindgen(js_name = finishMessage)]
    pub fn finish_message(&self, id: f64, delivered: bool) {
        self.kv.finish_message(id as u64, delivered);
    }

    /// Resolves once the queue messages due now have been delivered or
    /// rescheduled (a Durable Object's alarm handler waits for it).
    #[wasm_bindgen(js_name = deliverDueMessages)]
    pub fn deliver_due_messages(&self) -> Result<JsValue, JsValue> {
        now_or_promise(self.kv.deliver_due_messages(), |()| Ok(JsValue::UNDEFINED))
    }

    /// Reaches the database before it is handed out (the metadata exchange
    /// for KV Connect), so that a wrong URL or token fails `openKv`.
    pub fn connect(&self) -> Result<JsValue, JsValue> {
        now_or_promise(self.kv.connect(), |()| Ok(JsValue::UNDEFINED))
    }

    /// Fails with BadResource if already closed, as `Deno.Kv.close` does.
    pub fn close(&self) -> Result<(), JsValue> {
        self.kv.close().map_err(errors::to_js)
    }

    /// `[Symbol.dispose]`: closes if still open, never throws.
    pub fn dispose(&self) {
        let _ = self.kv.close();
    }

    #[wasm_bindgen(js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.kv.is_closed()
    }
}

#[wasm_bindgen]
pub struct WatchHandle {
    stream: std::cell::RefCell<Option<Box<dyn crate::backend::WatchStream>>>,
}

#[wasm_bindgen]
impl WatchHandle {
    /// The watched entries as a read batch without keys, or null once the
    /// watch has ended.
    pub fn next(&self) -> Result<JsValue, JsValue> {
        let future = match self.stream.borrow_mut().as_mut() {
            Some(stream) => stream.next(),
            None => return Ok(JsValue::NULL),
        };
        now_or_promise(future, |entries| {
            let Some(entries) = entries else {
                return Ok(JsValue::NULL);
            };
            let mut batch = BatchWriter::with_capacity(entries.len(), false);
            for entry in entries {
                match entry {
                    Some(entry) => batch.push(entry)?,
                    None => batch.push_missing(),
                }
            }
            Ok(batch.finish())
        })
    }

    /// Stops watching and frees the watch.
    pub fn cancel(&self) {
        self.stream.borrow_mut().take();
    }
}
