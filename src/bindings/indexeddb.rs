//! The durable backend's host in a browser: indexeddb.js, seen as the
//! `Store` and `Peers` the protocol needs. Only conversions live here.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::backend::durable::host::{HostFuture, PeerEvent, Peers, Prepare, Since, Spawn, Store};
use crate::core::error::{KvError, KvResult};

#[wasm_bindgen(module = "/src/bindings/indexeddb.js")]
extern "C" {
    pub type IdbHost;

    #[wasm_bindgen(js_name = openIdbHost)]
    pub fn open_idb_host(name: &str) -> Promise;
    #[wasm_bindgen(js_name = hasIndexedDb)]
    pub fn has_indexed_db() -> bool;
    #[wasm_bindgen(js_name = deleteIdb)]
    pub fn delete_idb(name: &str) -> Promise;

    #[wasm_bindgen(method, js_name = readSince)]
    fn read_since(this: &IdbHost, after: f64) -> Promise;
    #[wasm_bindgen(method)]
    fn write(this: &IdbHost, after: f64, blind: bool, prepare: &Function) -> Promise;
    #[wasm_bindgen(method)]
    fn compact(this: &IdbHost, version: f64, pages: &Array) -> Promise;
    #[wasm_bindgen(method, js_name = canOwn)]
    fn can_own(this: &IdbHost) -> bool;
    #[wasm_bindgen(method, js_name = tryAcquire)]
    fn try_acquire(this: &IdbHost) -> Promise;
    #[wasm_bindgen(method)]
    fn acquire(this: &IdbHost) -> Promise;
    #[wasm_bindgen(method)]
    fn release(this: &IdbHost);
    #[wasm_bindgen(method)]
    fn announce(this: &IdbHost, records: &Array);
    #[wasm_bindgen(method, js_name = nextEvent)]
    fn next_event(this: &IdbHost) -> Promise;
    #[wasm_bindgen(method)]
    fn close(this: &IdbHost);
}

pub fn host_error(error: &JsValue) -> KvError {
    KvError::error(js::error_text(error))
}

async fn settle(promise: Promise) -> KvResult<JsValue> {
    JsFuture::from(promise).await.map_err(|err| host_error(&err))
}

fn byte_arrays(value: &JsValue) -> Vec<Vec<u8>> {
    Array::from(value)
        .iter()
        .map(|bytes| Uint8Array::new(&bytes).to_vec())
        .collect()
}

fn to_byte_arrays(records: &[Vec<u8>]) -> Array {
    records.iter().map(|bytes| Uint8Array::from(bytes.as_slice())).collect()
}

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn since_from_js(value: &JsValue) -> Since {
    let pages = field(value, "pages");
    let snapshot = (!pages.is_null() && !pages.is_undefined()).then(|| {
        let version = field(value, "snapshotVersion").as_f64().unwrap_or(0.0) as u64;
        (version, byte_arrays(&pages))
    });
    Since {
        snapshot,
        log: byte_arrays(&field(value, "log")),
    }
}

/// One shared handle: the same JS object is both the store and the peers.
pub struct IdbStore(pub Rc<IdbHost>);
pub struct IdbPeers(pub Rc<IdbHost>);

impl Store for IdbStore {
    fn read_since(&self, after: u64) -> HostFuture<Since> {
        let promise = self.0.read_since(after as f64);
        Box::pin(async move { Ok(since_from_js(&settle(promise).await?)) })
    }

    fn write(&self, after: u64, blind: bool, prepare: Prepare) -> HostFuture<()> {
        // A failure inside `prepare` keeps its own class and message.
        let prepare_error: Rc<RefCell<Option<KvError>>> = Rc::default();
        let closure = {
            let prepare_error = Rc::clone(&prepare_error);
            Closure::once(move |since: JsValue| -> Result<Array, JsValue> {
                match prepare(since_from_js(&since)) {
                    Ok(records) => Ok(records
                        .into_iter()
                        .map(|(version, bytes)| {
                            Array::of2(&JsValue::from_f64(version as f64), &Uint8Array::from(bytes.as_slice()))
                        })
                        .collect()),
                    Err(err) => {
                        let thrown = JsValue::from_str(&err.message);
                        *prepare_error.borrow_mut() = Some(err);
                        Err(thrown)
                    }
                }
            })
        };
        let promise = self.0.write(after as f64, blind, closure.as_ref().unchecked_ref());
        Box::pin(async move {
            let result = JsFuture::from(promise).await;
            drop(closure);
            match result {
                Ok(_) => Ok(()),
                Err(err) => Err(prepare_error.borrow_mut().take().unwrap_or_else(|| host_error(&err))),
            }
        })
    }

    fn compact(&self, version: u64, pages: Vec<Vec<u8>>) -> HostFuture<bool> {
        let promise = self.0.compact(version as f64, &to_byte_arrays(&pages));
        Box::pin(async move { Ok(settle(promise).await?.as_bool().unwrap_or(false)) })
    }

    fn close(&self) {
        self.0.close();
    }
}

impl Peers for IdbPeers {
    fn can_own(&self) -> bool {
        self.0.can_own()
    }

    fn try_acquire(&self) -> HostFuture<bool> {
        let promise = self.0.try_acquire();
        Box::pin(async move { Ok(settle(promise).await?.as_bool().unwrap_or(false)) })
    }

    fn acquire(&self) -> HostFuture<()> {
        let promise = self.0.acquire();
        Box::pin(async move { settle(promise).await.map(drop) })
    }

    fn release(&self) {
        self.0.release();
    }

    fn announce(&self, records: &[Vec<u8>]) {
        self.0.announce(&to_byte_arrays(records));
    }

    fn next_event(&self) -> HostFuture<PeerEvent> {
        let host = Rc::clone(&self.0);
        Box::pin(async move {
            loop {
                let event = settle(host.next_event()).await?;
                match field(&event, "type").as_string().as_deref() {
                    Some("commit") => return Ok(PeerEvent::Committed(byte_arrays(&field(&event, "records")))),
                    Some("want") => return Ok(PeerEvent::WriterWaiting),
                    Some("closed") => return Ok(PeerEvent::Closed),
                    // From a newer webkv on the same channel: not for us.
                    _ => continue,
                }
            }
        })
    }

    fn close(&self) {
        // The store's close closes the shared handle.
    }
}

pub fn spawner() -> Spawn {
    Rc::new(wasm_bindgen_futures::spawn_local)
}
