//! The wasm-bindgen surface: converts JS values, hands calls to `Kv`, and
//! converts results back. Results come back as plain values when the backend
//! answered at once and as Promises otherwise; the JS wrapper awaits both.

mod errors;
mod js;
mod key;
mod value_from_v8;
mod value_to_v8;

use std::num::NonZeroU32;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{
    AtomicWrite, Check, Consistency, KvEntry, KvValue, Mutation, MutationKind, ReadRange,
};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::backend::memory::MemoryBackend;
use crate::backend::BackendFuture;
use crate::core::error::KvError;
use crate::core::limits::Limits;
use crate::core::selector::Selector;
use crate::core::validate;
use crate::core::versionstamp;
use crate::kv::Kv;

const RAW_V8: u32 = 1;
const RAW_BYTES: u32 = 2;
const RAW_U64: u32 = 3;

fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Hands the JS `KvU64` class to the bindings, which build and recognise it.
#[wasm_bindgen(js_name = registerKvU64)]
pub fn register_kv_u64(class: &JsValue) {
    js::register_kv_u64(class);
}

#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// A value as Deno's JS layer passes it down: `[kind, payload]`, serialized
/// when the mutation is added, so an uncloneable value throws at once.
#[wasm_bindgen(js_name = encodeValue)]
pub fn encode_value(value: &JsValue) -> Result<Array, JsValue> {
    let (kind, payload) = match js_value_to_kv(value)? {
        KvValue::V8(bytes) => (RAW_V8, Uint8Array::from(bytes.as_slice()).into()),
        KvValue::Bytes(bytes) => (RAW_BYTES, Uint8Array::from(bytes.as_slice()).into()),
        KvValue::U64(n) => (RAW_U64, JsValue::from(n)),
    };
    Ok(Array::of2(&JsValue::from(kind), &payload))
}

fn js_value_to_kv(value: &JsValue) -> Result<KvValue, JsValue> {
    if value.is_object() {
        match js::classify(value) {
            js::kind::UINT8ARRAY => {
                return Ok(KvValue::Bytes(value.unchecked_ref::<Uint8Array>().to_vec()))
            }
            js::kind::KVU64 => {
                let inner = js_sys::Reflect::get(value, &JsValue::from_str("value"))?;
                let n = u64::try_from(inner).map_err(|_| {
                    js_sys::RangeError::new("Value must fit in a 64-bit unsigned integer")
                })?;
                return Ok(KvValue::U64(n));
            }
            _ => {}
        }
    }
    value_to_v8::serialize(value).map(KvValue::V8)
}

fn raw_to_kv(raw: &JsValue) -> Result<KvValue, JsValue> {
    let raw: &Array = raw
        .dyn_ref()
        .ok_or_else(|| js_sys::TypeError::new("Invalid value"))?;
    let payload = raw.get(1);
    match raw.get(0).as_f64().map(|k| k as u32) {
        Some(RAW_V8) => Ok(KvValue::V8(payload.unchecked_into::<Uint8Array>().to_vec())),
        Some(RAW_BYTES) => Ok(KvValue::Bytes(
            payload.unchecked_into::<Uint8Array>().to_vec(),
        )),
        Some(RAW_U64) => u64::try_from(payload).map(KvValue::U64).map_err(|_| {
            js_sys::RangeError::new("Value must fit in a 64-bit unsigned integer").into()
        }),
        _ => Err(js_sys::TypeError::new("Invalid value type").into()),
    }
}

fn kv_value_to_js(value: KvValue) -> Result<JsValue, JsValue> {
    match value {
        KvValue::V8(bytes) => value_from_v8::deserialize(&bytes),
        KvValue::Bytes(bytes) => Ok(Uint8Array::from(bytes.as_slice()).into()),
        KvValue::U64(n) => Ok(js::make_kv_u64(&JsValue::from(n))),
    }
}

fn entry_to_js(entry: KvEntry) -> Result<JsValue, JsValue> {
    let key = key::decode_to_js(&entry.key)?;
    let value = kv_value_to_js(entry.value)?;
    let stamp = JsValue::from_str(&versionstamp::to_hex(&entry.versionstamp));
    Ok(js::make_entry(&key, &value, &stamp))
}

fn consistency(value: &JsValue) -> Consistency {
    if value.as_string().as_deref() == Some("eventual") {
        Consistency::Eventual
    } else {
        Consistency::Strong
    }
}

fn optional_key(key: &JsValue) -> Result<Option<Vec<u8>>, JsValue> {
    if key.is_undefined() || key.is_null() {
        return Ok(None);
    }
    key::encode_js(key).map(Some)
}

fn selector(prefix: &JsValue, start: &JsValue, end: &JsValue) -> Result<Selector, JsValue> {
    Selector::new(
        optional_key(prefix)?,
        optional_key(start)?,
        optional_key(end)?,
    )
    .map_err(errors::to_js)
}

fn expire_at(
    expire_in: &JsValue,
    now: u64,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, JsValue> {
    if expire_in.is_undefined() || expire_in.is_null() {
        return Ok(None);
    }
    let valid = expire_in
        .as_f64()
        .filter(|ms| ms.fract() == 0.0 && *ms >= 0.0 && *ms <= u64::MAX as f64);
    let Some(ms) = valid else {
        let shown = js_sys::JsString::from(expire_in.clone());
        return Err(js_sys::TypeError::new(&format!(
            "expireIn must be a non-negative integer: received {}",
            String::from(shown)
        ))
        .into());
    };
    let at = i64::try_from(now.saturating_add(ms as u64)).unwrap_or(i64::MAX);
    Ok(chrono::DateTime::from_timestamp_millis(at)
        .or(Some(chrono::DateTime::<chrono::Utc>::MAX_UTC)))
}

/// Returns the result now if the future is already done, else a Promise.
fn settle<T: 'static>(
    mut future: BackendFuture<T>,
    to_js: impl FnOnce(T) -> Result<JsValue, JsValue> + 'static,
) -> Result<JsValue, JsValue> {
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(result) => result.map_err(errors::to_js).and_then(to_js),
        Poll::Pending => Ok(wasm_bindgen_futures::future_to_promise(async move {
            future.await.map_err(errors::to_js).and_then(to_js)
        })
        .into()),
    }
}

fn versionstamp_or_null(stamp: Option<versionstamp::Versionstamp>) -> Result<JsValue, JsValue> {
    Ok(stamp.map_or(JsValue::NULL, |s| {
        JsValue::from_str(&versionstamp::to_hex(&s))
    }))
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
    let backend = MemoryBackend::new(Rc::new(now_ms));
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
        let encoded = key::encode_js(key)?;
        let range = single_key_range(encoded);
        let missing_key = key.clone();
        settle(
            self.kv
                .snapshot_read(vec![range], consistency(consistency_level)),
            move |mut ranges| match ranges.pop().and_then(|mut entries| entries.pop()) {
                Some(entry) => entry_to_js(entry),
                None => Ok(js::make_missing_entry(&missing_key)),
            },
        )
    }

    #[wasm_bindgen(js_name = getMany)]
    pub fn get_many(&self, keys: &Array, consistency_level: &JsValue) -> Result<JsValue, JsValue> {
        let limits = self.kv.limits();
        if keys.length() as usize > limits.max_read_ranges {
            return Err(kv_error(limits.too_many_ranges()));
        }
        let ranges = keys
            .iter()
            .map(|key| key::encode_js(&key).map(single_key_range))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = keys.clone();
        settle(
            self.kv
                .snapshot_read(ranges, consistency(consistency_level)),
            move |ranges| {
                let out = Array::new_with_length(ranges.len() as u32);
                for (index, mut entries) in ranges.into_iter().enumerate() {
                    let index = index as u32;
                    let entry = match entries.pop() {
                        Some(entry) => entry_to_js(entry)?,
                        None => js::make_missing_entry(&keys.get(index)),
                    };
                    out.set(index, entry);
                }
                Ok(out.into())
            },
        )
    }

    /// One batch of a list: entries in `[start, end)` after `cursor`.
    #[allow(clippy::too_many_arguments)]
    pub fn list(
        &self,
        prefix: &JsValue,
        start: &JsValue,
        end: &JsValue,
        cursor: Option<String>,
        reverse: bool,
        batch_size: u32,
        consistency_level: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let selector = selector(prefix, start, end)?;
        let (start, end) = selector
            .bounds(reverse, cursor.as_deref())
            .map_err(kv_error)?;
        let limit = NonZeroU32::new(batch_size)
            .ok_or_else(|| kv_error(KvError::type_error("limit must be greater than 0")))?;
        let range = ReadRange {
            start,
            end,
            limit,
            reverse,
        };
        settle(
            self.kv
                .snapshot_read(vec![range], consistency(consistency_level)),
            |mut ranges| {
                let entries = ranges.pop().unwrap_or_default();
                let out = Array::new_with_length(entries.len() as u32);
                for (index, entry) in entries.into_iter().enumerate() {
                    out.set(index as u32, entry_to_js(entry)?);
                }
                Ok(out.into())
            },
        )
    }

    /// `kv.set`: one crossing, the value serialized straight from JS.
    pub fn set(
        &self,
        key: &JsValue,
        value: &JsValue,
        expire_in: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let value = js_value_to_kv(value)?;
        let mutation = Mutation {
            key: key::encode_js(key)?,
            kind: MutationKind::Set(value),
            expire_at: expire_at(expire_in, now_ms())?,
        };
        self.write(Vec::new(), vec![mutation])
    }

    pub fn delete(&self, key: &JsValue) -> Result<JsValue, JsValue> {
        let mutation = Mutation {
            key: key::encode_js(key)?,
            kind: MutationKind::Delete,
            expire_at: None,
        };
        self.write(Vec::new(), vec![mutation])
    }

    /// An atomic operation: `checks` are `[key, versionstamp | null]`,
    /// `mutations` are `[key, type, rawValue | null, expireIn]`.
    pub fn commit(
        &self,
        checks: &Array,
        mutations: &Array,
        enqueue_count: u32,
    ) -> Result<JsValue, JsValue> {
        validate::check_counts(
            self.kv.limits(),
            checks.length() as usize,
            mutations.length() as usize + enqueue_count as usize,
        )
        .map_err(kv_error)?;
        if enqueue_count > 0 {
            return Err(js_sys::TypeError::new("Queues are not supported yet by webkv").into());
        }
        let checks = checks
            .iter()
            .map(|check| check_from_js(&check))
            .collect::<Result<Vec<_>, _>>()?;
        let now = now_ms();
        let mutations = mutations
            .iter()
            .map(|mutation| mutation_from_js(&mutation, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(checks, mutations)
    }

    pub fn close(&self) {
        self.kv.close();
    }

    #[wasm_bindgen(js_name = isClosed)]
    pub fn is_closed(&self) -> bool {
        self.kv.is_closed()
    }
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

fn single_key_range(key: Vec<u8>) -> ReadRange {
    let Selector::Range { start, end } = Selector::single(key) else {
        unreachable!("Selector::single always builds a range")
    };
    ReadRange {
        start,
        end,
        limit: NonZeroU32::MIN,
        reverse: false,
    }
}

fn check_from_js(check: &JsValue) -> Result<Check, JsValue> {
    let check: &Array = check.unchecked_ref();
    let key = key::encode_js(&check.get(0))?;
    let stamp = check.get(1);
    let versionstamp = if stamp.is_null() || stamp.is_undefined() {
        None
    } else {
        let parsed = stamp
            .as_string()
            .and_then(|text| versionstamp::parse_hex(&text));
        Some(parsed.ok_or_else(|| kv_error(KvError::type_error("invalid versionstamp")))?)
    };
    Ok(Check { key, versionstamp })
}

fn mutation_from_js(mutation: &JsValue, now: u64) -> Result<Mutation, JsValue> {
    let mutation: &Array = mutation.unchecked_ref();
    let key = key::encode_js(&mutation.get(0))?;
    let kind_name = mutation.get(1).as_string().unwrap_or_default();
    let raw = mutation.get(2);
    let value = if raw.is_null() || raw.is_undefined() {
        None
    } else {
        Some(raw_to_kv(&raw)?)
    };
    let kind = match (kind_name.as_str(), value) {
        ("set", Some(value)) => MutationKind::Set(value),
        ("delete", None) => MutationKind::Delete,
        ("sum", Some(value)) => MutationKind::Sum {
            value,
            min_v8: Vec::new(),
            max_v8: Vec::new(),
            clamp: false,
        },
        ("min", Some(value)) => MutationKind::Min(value),
        ("max", Some(value)) => MutationKind::Max(value),
        ("setSuffixVersionstampedKey", Some(value)) => {
            MutationKind::SetSuffixVersionstampedKey(value)
        }
        (name, Some(_)) => {
            return Err(
                js_sys::TypeError::new(&format!("Invalid mutation '{name}' with value")).into(),
            )
        }
        (name, None) => {
            return Err(
                js_sys::TypeError::new(&format!("Invalid mutation '{name}' without value")).into(),
            )
        }
    };
    let expire_at = match kind {
        MutationKind::Set(_) | MutationKind::SetSuffixVersionstampedKey(_) => {
            expire_at(&mutation.get(3), now)?
        }
        _ => None,
    };
    Ok(Mutation {
        key,
        kind,
        expire_at,
    })
}
