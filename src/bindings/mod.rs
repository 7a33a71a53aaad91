//! The wasm-bindgen surface: converts JS values, hands calls to `Kv`, and
//! converts results back. Results come back as plain values when the backend
//! answered at once and as Promises otherwise; the JS wrapper awaits both.

mod batch;
#[cfg(feature = "indexeddb")]
mod completions;
#[cfg(feature = "sqlite")]
mod durable_object;
mod errors;
#[cfg(feature = "indexeddb")]
mod indexeddb;
mod js;
mod key;
#[cfg(feature = "sqlite")]
mod sqlite;
mod timer;
mod transport;
#[cfg(feature = "indexeddb")]
mod warm_up;

#[cfg(feature = "sqlite")]
pub use durable_object::open_durable_object;
#[cfg(feature = "indexeddb")]
pub use indexeddb::{delete_indexed_db, has_indexed_db, open_indexed_db};
#[cfg(feature = "sqlite")]
pub use sqlite::open_sqlite;

use std::num::NonZeroU32;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{
    AtomicWrite, Check, Consistency, Enqueue, KeyPart, KvValue, Mutation, MutationKind, ReadRange,
    VALUE_ENCODING_BYTES, VALUE_ENCODING_LE64, VALUE_ENCODING_V8,
};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

use self::batch::BatchWriter;
use crate::backend::memory::MemoryBackend;
use crate::backend::remote::RemoteBackend;
use crate::backend::BackendFuture;
use crate::core::error::KvError;
use crate::core::limits::Limits;
use crate::core::selector::{point_range, Selector};
use crate::core::validate;
use crate::core::versionstamp;
use crate::kv::Kv;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

/// A value as the JS layer hands it over: an encoding (KV Connect's: V8
/// bytes, LE64, raw bytes) and its bytes.
fn kv_value(encoding: i64, bytes: Vec<u8>) -> Result<KvValue, JsValue> {
    match encoding {
        VALUE_ENCODING_V8 => Ok(KvValue::V8(bytes)),
        VALUE_ENCODING_BYTES => Ok(KvValue::Bytes(bytes)),
        VALUE_ENCODING_LE64 => <[u8; 8]>::try_from(bytes.as_slice())
            .map(|le| KvValue::U64(u64::from_le_bytes(le)))
            .map_err(|_| js_sys::TypeError::new("Invalid value").into()),
        _ => Err(js_sys::TypeError::new("Invalid value type").into()),
    }
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

fn optional_key(key: &JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key::encode_js(key).map(Some)
}

fn selector(prefix: &JsValue, start: &JsValue, end: &JsValue) -> Result<Selector, JsValue> {
    // Cursors are only asked for keys the iterator has already listed.
    Selector::new(optional_key(prefix)?, optional_key(start)?, optional_key(end)?).map_err(errors::to_js)
}

/// `expireIn` has been validated by the JS layer, as Deno validates it;
/// what is left is Deno's check that the expiry time is representable.
fn expire_at(expire_in: Option<f64>, now: u64) -> Result<Option<chrono::DateTime<chrono::Utc>>, JsValue> {
    let Some(ms) = expire_in else {
        return Ok(None);
    };
    let too_large = || {
        JsValue::from(js_sys::TypeError::new(&format!(
            "Invalid mutation: expireIn is too large: {}",
            ms as u64
        )))
    };
    if !(ms >= 0.0 && ms.fract() == 0.0 && ms <= i64::MAX as f64) {
        return Err(too_large());
    }
    let at = i64::try_from(now).ok().and_then(|now| now.checked_add(ms as i64));
    at.and_then(chrono::DateTime::from_timestamp_millis)
        .map(Some)
        .ok_or_else(too_large)
}

/// Returns the result now if the future is already done, else a Promise.
fn settle<T: 'static>(
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

/// A commit's versionstamp for kv.js: a number when it is a version with a
/// zero batch index that a double holds exactly (every local commit's),
/// which kv.js spells out; the hex text otherwise. Handing wasm strings to
/// JS goes through TextDecoder, which costs a sequential set more than
/// formatting the number does.
fn versionstamp_or_null(stamp: Option<versionstamp::Versionstamp>) -> Result<JsValue, JsValue> {
    let Some(stamp) = stamp else {
        return Ok(JsValue::NULL);
    };
    Ok(match versionstamp::exact_version(&stamp) {
        Some(version) => JsValue::from_f64(version as f64),
        None => JsValue::from_str(&versionstamp::to_hex(&stamp)),
    })
}

fn kv_error(err: KvError) -> JsValue {
    errors::to_js(err)
}

#[wasm_bindgen]
pub struct Database {
    kv: Rc<Kv>,
}

#[wasm_bindgen(js_name = openMemory)]
pub fn open_memory() -> Database {
    let backend = MemoryBackend::new(Rc::new(now_ms), Rc::new(timer::sleep));
    Database {
        kv: Rc::new(Kv::new(Box::new(backend), Limits::default())),
    }
}

/// A database served by a KV Connect server (a `denokv`) at `url`.
#[wasm_bindgen(js_name = openRemote)]
pub fn open_remote(url: String, access_token: String) -> Database {
    let backend = RemoteBackend::new(url, access_token, Rc::new(transport::FetchTransport::default()));
    Database {
        kv: Rc::new(Kv::new(Box::new(backend), Limits::default())),
    }
}

#[wasm_bindgen(js_name = encodeCursor)]
pub fn encode_cursor(
    prefix: &JsValue,
    start: &JsValue,
    end: &JsValue,
    boundary_key: &JsValue,
) -> Result<String, JsValue> {
    let selector = selector(prefix, start, end)?;
    let boundary = key::encode_js(boundary_key)?;
    selector.cursor_for(&boundary).map_err(kv_error)
}

#[wasm_bindgen]
impl Database {
    pub fn get(&self, key: &JsValue, consistency_level: &JsValue) -> Result<JsValue, JsValue> {
        let parts = key::parse(key)?;
        let consistency = consistency(consistency_level)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let range = point_range(key::encode(parts).map_err(kv_error)?);
        settle(
            self.kv.snapshot_read(vec![range], consistency),
            move |mut ranges| match ranges.pop().and_then(|mut entries| entries.pop()) {
                Some(entry) => Ok(batch::single_entry(entry)),
                None => Ok(JsValue::NULL),
            },
        )
    }

    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, keys: &JsValue, consistency_level: &JsValue) -> Result<JsValue, JsValue> {
        let parsed = key::parse_many(keys, self.kv.limits().max_read_ranges)?;
        let consistency = consistency(consistency_level)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let limits = self.kv.limits();
        if parsed.len() > limits.max_read_ranges {
            return Err(kv_error(limits.too_many_ranges()));
        }
        let ranges = parsed
            .into_iter()
            .map(|parts| key::encode(parts).map(point_range))
            .collect::<Result<Vec<_>, _>>()
            .map_err(kv_error)?;
        settle(self.kv.snapshot_read(ranges, consistency), move |ranges| {
            let mut batch = BatchWriter::with_capacity(ranges.len(), false);
            for mut entries in ranges {
                match entries.pop() {
                    Some(entry) => batch.push(entry)?,
                    None => batch.push_missing(),
                }
            }
            Ok(batch.finish())
        })
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
        let [prefix, start, end] = [prefix, start, end].map(optional_key_parts);
        let (prefix, start, end) = (prefix?, start?, end?);
        let cursor = optional_string(cursor)?;
        let consistency = consistency(consistency_level)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let encode = |parts: Option<Vec<KeyPart>>| parts.map(key::encode).transpose().map_err(kv_error);
        let selector = Selector::new(encode(prefix)?, encode(start)?, encode(end)?).map_err(kv_error)?;
        let (start, end) = selector.bounds(reverse, cursor.as_deref()).map_err(kv_error)?;
        // kv.js has checked that it is a positive integer; one past u32
        // saturates, and the read limit then rejects it as Deno does.
        let limit = NonZeroU32::new(batch_size as u32)
            .ok_or_else(|| kv_error(KvError::type_error("limit must be greater than 0")))?;
        let range = ReadRange {
            start,
            end,
            limit,
            reverse,
        };
        settle(self.kv.snapshot_read(vec![range], consistency), |mut ranges| {
            let entries = ranges.pop().unwrap_or_default();
            let mut batch = BatchWriter::with_capacity(entries.len(), true);
            for entry in entries {
                batch.push(entry)?;
            }
            Ok(batch.finish())
        })
    }

    /// `kv.set`: one crossing, with the value already encoded by the JS layer.
    pub fn set(&self, key: &JsValue, encoding: u32, bytes: Vec<u8>, expire_in: &JsValue) -> Result<JsValue, JsValue> {
        let value = kv_value(i64::from(encoding), bytes)?;
        let parts = key::parse(key)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let mutation = Mutation {
            key: encode_mutation_key(parts)?,
            kind: MutationKind::Set(value),
            expire_at: expire_at(expire_in.as_f64(), now_ms())?,
        };
        self.write(Vec::new(), vec![mutation])
    }

    pub fn delete(&self, key: &JsValue) -> Result<JsValue, JsValue> {
        let parts = key::parse(key)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let mutation = Mutation {
            key: encode_mutation_key(parts)?,
            kind: MutationKind::Delete,
            expire_at: None,
        };
        self.write(Vec::new(), vec![mutation])
    }

    /// An atomic operation. `checks` are `[key, versionstamp | null]`; each
    /// mutation is its key plus four numbers in `columns` (kind, encoding,
    /// end of its value in `values`, expireIn or NaN).
    pub fn commit(
        &self,
        checks: &Array,
        keys: &Array,
        columns: &[f64],
        values: &[u8],
        enqueues: &Array,
    ) -> Result<JsValue, JsValue> {
        // Deno's order: parse every argument, then count, then convert.
        let checks = checks
            .iter()
            .map(|check| parse_check(&check))
            .collect::<Result<Vec<_>, _>>()?;
        let mutations = parse_mutations(keys, columns, values)?;
        let enqueues = enqueues
            .iter()
            .map(|e| parse_enqueue(&e))
            .collect::<Result<Vec<_>, _>>()?;
        self.kv.ensure_open().map_err(kv_error)?;
        validate::check_counts(self.kv.limits(), checks.len(), mutations.len() + enqueues.len()).map_err(kv_error)?;
        let checks = checks.into_iter().map(convert_check).collect::<Result<Vec<_>, _>>()?;
        let now = now_ms();
        let mutations = mutations
            .into_iter()
            .map(|mutation| convert_mutation(mutation, now))
            .collect::<Result<Vec<_>, _>>()?;
        let enqueues = enqueues
            .into_iter()
            .map(|enqueue| convert_enqueue(enqueue, now))
            .collect::<Result<Vec<_>, _>>()?;
        settle(
            self.kv.atomic_write(AtomicWrite {
                checks,
                mutations,
                enqueues,
            }),
            versionstamp_or_null,
        )
    }

    /// A watch on `keys` (an array of keys); its `next()` gives the entries.
    pub fn watch(&self, keys: &JsValue) -> Result<WatchHandle, JsValue> {
        let parsed = key::parse_many(keys, self.kv.limits().max_watched_keys)?;
        self.kv.ensure_open().map_err(kv_error)?;
        let encoded = parsed
            .into_iter()
            .map(key::encode)
            .collect::<Result<Vec<_>, _>>()
            .map_err(kv_error)?;
        let stream = self.kv.watch(encoded).map_err(kv_error)?;
        Ok(WatchHandle {
            stream: std::cell::RefCell::new(Some(stream)),
        })
    }

    /// The next due queue message as `[id, payload]`, or null once the
    /// database is closed.
    pub fn dequeue(&self) -> Result<JsValue, JsValue> {
        settle(self.kv.dequeue(), |message| {
            Ok(match message {
                Some((id, payload)) => {
                    Array::of2(&JsValue::from(id as f64), &Uint8Array::from(payload.as_slice())).into()
                }
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
        settle(self.kv.deliver_due_messages(), |()| Ok(JsValue::UNDEFINED))
    }

    /// Reaches the database before it is handed out (the metadata exchange
    /// for KV Connect), so that a wrong URL or token fails `openKv`.
    pub fn connect(&self) -> Result<JsValue, JsValue> {
        settle(self.kv.connect(), |()| Ok(JsValue::UNDEFINED))
    }

    /// Fails with BadResource if already closed, as `Deno.Kv.close` does.
    pub fn close(&self) -> Result<(), JsValue> {
        self.kv.close().map_err(kv_error)
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
        settle(future, |entries| {
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

fn optional_key_parts(key: &JsValue) -> Result<Option<Vec<KeyPart>>, JsValue> {
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key::parse(key).map(Some)
}

impl Database {
    fn write(&self, checks: Vec<Check>, mutations: Vec<Mutation>) -> Result<JsValue, JsValue> {
        let write = AtomicWrite {
            checks,
            mutations,
            enqueues: Vec::new(),
        };
        settle(self.kv.atomic_write(write), versionstamp_or_null)
    }
}

fn encode_mutation_key(parts: Vec<KeyPart>) -> Result<Vec<u8>, JsValue> {
    key::encode(parts).map_err(|err| kv_error(KvError::type_error(format!("Invalid mutation: {}", err.message))))
}

struct ParsedCheck {
    parts: Vec<KeyPart>,
    versionstamp: Option<String>,
}

fn parse_check(check: &JsValue) -> Result<ParsedCheck, JsValue> {
    let check: &Array = check.unchecked_ref();
    let parts = key::parse(&check.get(0))?;
    let versionstamp = optional_string(&check.get(1))?;
    Ok(ParsedCheck { parts, versionstamp })
}

fn convert_check(check: ParsedCheck) -> Result<Check, JsValue> {
    let invalid = || kv_error(KvError::type_error("Invalid check"));
    let key = key::encode(check.parts).map_err(|_| invalid())?;
    let versionstamp = match check.versionstamp {
        None => None,
        Some(text) => Some(versionstamp::parse_hex(&text).ok_or_else(invalid)?),
    };
    Ok(Check { key, versionstamp })
}

struct ParsedMutation {
    parts: Vec<KeyPart>,
    kind: u8,
    value: Option<KvValue>,
    expire_in: f64,
}

/// Mutation kinds as the JS layer numbers them.
mod kind {
    pub const SET: u8 = 0;
    pub const DELETE: u8 = 1;
    pub const SUM: u8 = 2;
    pub const MIN: u8 = 3;
    pub const MAX: u8 = 4;
    pub const SET_SUFFIX_VERSIONSTAMPED_KEY: u8 = 5;
}

fn parse_mutations(keys: &Array, columns: &[f64], values: &[u8]) -> Result<Vec<ParsedMutation>, JsValue> {
    let invalid = || JsValue::from(js_sys::TypeError::new("Invalid mutations"));
    if columns.len() != keys.length() as usize * 4 {
        return Err(invalid());
    }
    let mut start = 0usize;
    let mut parsed = Vec::with_capacity(keys.length() as usize);
    for (key, row) in keys.iter().zip(columns.chunks_exact(4)) {
        let [kind, encoding, end, expire_in] = [row[0], row[1], row[2], row[3]];
        let end = end as usize;
        let bytes = values.get(start..end).ok_or_else(invalid)?;
        start = end;
        let value = match encoding as i64 {
            0 => None,
            encoding => Some(kv_value(encoding, bytes.to_vec())?),
        };
        parsed.push(ParsedMutation {
            parts: key::parse(&key)?,
            kind: kind as u8,
            value,
            expire_in,
        });
    }
    Ok(parsed)
}

struct ParsedEnqueue {
    payload: Vec<u8>,
    delay_ms: f64,
    keys_if_undelivered: Vec<Vec<KeyPart>>,
    backoff_schedule: Option<Vec<u32>>,
}

/// `[payload, delay, keysIfUndelivered, backoffSchedule | null]`, validated
/// by the JS layer as Deno validates them.
fn parse_enqueue(enqueue: &JsValue) -> Result<ParsedEnqueue, JsValue> {
    let enqueue: &Array = enqueue.unchecked_ref();
    let payload = enqueue
        .get(0)
        .dyn_into::<Uint8Array>()
        .map_err(|_| js_sys::TypeError::new("Invalid enqueue"))?
        .to_vec();
    let delay_ms = integer(&enqueue.get(1))?;
    let keys_if_undelivered = key::parse_many(&enqueue.get(2), MAX_KEYS_IF_UNDELIVERED)?;
    if keys_if_undelivered.len() > MAX_KEYS_IF_UNDELIVERED {
        return Err(kv_error(KvError::type_error(format!(
            "Too many keysIfUndelivered (max {MAX_KEYS_IF_UNDELIVERED})"
        ))));
    }
    let schedule = enqueue.get(3);
    let backoff_schedule = if schedule.is_null() {
        None
    } else {
        // Saturating: an interval was validated when it was added, and the
        // caller may have changed the array since, as with Deno.
        Some(
            js::read_integers(&schedule)?
                .iter()
                .map(|ms| ms.as_f64().unwrap_or(0.0) as u32)
                .collect(),
        )
    };
    Ok(ParsedEnqueue {
        payload,
        delay_ms,
        keys_if_undelivered,
        backoff_schedule,
    })
}

/// Deno has no limit of its own here (denokv has 10); this one only bounds
/// what a Proxy claiming billions of keys can make webkv read.
const MAX_KEYS_IF_UNDELIVERED: usize = 1 << 20;

/// An integer argument as serde_v8 reads one: a number (its fraction
/// dropped on conversion) or a bigint.
fn integer(value: &JsValue) -> Result<f64, JsValue> {
    if let Some(number) = value.as_f64() {
        return Ok(number);
    }
    if value.is_bigint() {
        return Ok(i64::try_from(value.clone()).map_or(f64::INFINITY, |n| n as f64));
    }
    Err(js::invalid_type("integer", value))
}

fn convert_enqueue(enqueue: ParsedEnqueue, now: u64) -> Result<Enqueue, JsValue> {
    let invalid = |message: String| kv_error(KvError::type_error(format!("Invalid enqueue: {message}")));
    let keys_if_undelivered = enqueue
        .keys_if_undelivered
        .into_iter()
        .map(|parts| key::encode(parts).map_err(|err| invalid(err.message)))
        .collect::<Result<Vec<_>, _>>()?;
    let deadline_ms = i64::try_from(now)
        .unwrap_or(i64::MAX)
        .saturating_add(enqueue.delay_ms as i64);
    let deadline = chrono::DateTime::from_timestamp_millis(deadline_ms).ok_or_else(|| invalid("delay".to_string()))?;
    Ok(Enqueue {
        payload: enqueue.payload,
        deadline,
        keys_if_undelivered,
        backoff_schedule: enqueue.backoff_schedule,
    })
}

fn convert_mutation(mutation: ParsedMutation, now: u64) -> Result<Mutation, JsValue> {
    let key = encode_mutation_key(mutation.parts)?;
    let invalid = || JsValue::from(js_sys::TypeError::new("Invalid mutation type"));
    let kind = match (mutation.kind, mutation.value) {
        (kind::SET, Some(value)) => MutationKind::Set(value),
        (kind::DELETE, None) => MutationKind::Delete,
        (kind::SUM, Some(value)) => MutationKind::Sum {
            value,
            min_v8: Vec::new(),
            max_v8: Vec::new(),
            clamp: false,
        },
        (kind::MIN, Some(value)) => MutationKind::Min(value),
        (kind::MAX, Some(value)) => MutationKind::Max(value),
        (kind::SET_SUFFIX_VERSIONSTAMPED_KEY, Some(value)) => MutationKind::SetSuffixVersionstampedKey(value),
        _ => return Err(invalid()),
    };
    let expire_at = match kind {
        MutationKind::Set(_) | MutationKind::SetSuffixVersionstampedKey(_) => {
            expire_at(Some(mutation.expire_in).filter(|ms| !ms.is_nan()), now)?
        }
        _ => None,
    };
    Ok(Mutation { key, kind, expire_at })
}
