//! Every shape that crosses between the JS layer and the bindings, defined
//! once: how mutation kinds and value encodings are numbered, the mutation
//! row, the check, enqueue and queue-message tuples, the read batch, the
//! point read, and a commit's versionstamp. `wireShapes()` hands these
//! numbers to pkg-template/wire.js, the only JS that packs or unpacks the
//! shapes, so the two sides cannot disagree on a number or a position. A new
//! mutation option is a kind or a column here and its packing in wire.js.

mod read_batch;
#[cfg(test)]
mod tests;

use denokv_proto::{KvValue, MutationKind, VALUE_ENCODING_BYTES, VALUE_ENCODING_LE64, VALUE_ENCODING_V8};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

pub use self::read_batch::{point_read, BatchWriter};
use super::{js, key};
use crate::core::versionstamp::{self, Versionstamp};
use crate::kv::request::{CheckRequest, EnqueueRequest, MutationRequest};

/// Mutation kinds: each one's number is its place here; the names are
/// Deno's `mutate()` types, which kv.js looks kinds up by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Set,
    Delete,
    Sum,
    Min,
    Max,
    SetSuffixVersionstampedKey,
}

const KINDS: [(Kind, &str); 6] = [
    (Kind::Set, "set"),
    (Kind::Delete, "delete"),
    (Kind::Sum, "sum"),
    (Kind::Min, "min"),
    (Kind::Max, "max"),
    (Kind::SetSuffixVersionstampedKey, "setSuffixVersionstampedKey"),
];

/// Value encodings: KV Connect's numbers, and 0 for no value (a delete's,
/// a key not found).
const NO_VALUE: u8 = 0;
const ENCODINGS: [(&str, i64); 4] = [
    ("none", NO_VALUE as i64),
    ("v8", VALUE_ENCODING_V8),
    ("le64", VALUE_ENCODING_LE64),
    ("bytes", VALUE_ENCODING_BYTES),
];

/// An atomic operation's mutations: their keys in one array, and per
/// mutation a row of numbers in one Float64Array, the values' bytes in one
/// buffer (a value ends where the next begins), `NaN` for no expiry.
mod row {
    pub const KIND: usize = 0;
    pub const ENCODING: usize = 1;
    pub const VALUE_END: usize = 2;
    pub const EXPIRE_IN: usize = 3;
    pub const WIDTH: usize = 4;
}

/// A check: `[key, versionstamp | null]`.
mod check {
    pub const KEY: u32 = 0;
    pub const VERSIONSTAMP: u32 = 1;
}

/// An enqueue: `[payload, delay, keysIfUndelivered, backoffSchedule | null]`.
mod enqueue {
    pub const PAYLOAD: u32 = 0;
    pub const DELAY: u32 = 1;
    pub const KEYS_IF_UNDELIVERED: u32 = 2;
    pub const BACKOFF_SCHEDULE: u32 = 3;
}

/// A dequeued message: `[id, payload]`.
mod message {
    pub const ID: u32 = 0;
    pub const PAYLOAD: u32 = 1;
}

/// Read results, whatever their number: `[keys, encodings, values,
/// valueEnds, versionstamps]` (read_batch.rs).
mod batch {
    pub const KEYS: usize = 0;
    pub const ENCODINGS: usize = 1;
    pub const VALUES: usize = 2;
    pub const VALUE_ENDS: usize = 3;
    pub const VERSIONSTAMPS: usize = 4;
    pub const FIELDS: usize = 5;
}

/// One entry read by key, as one byte array: the encoding, the 10-byte
/// versionstamp, then the value.
mod point {
    pub const ENCODING: usize = 0;
    pub const VERSIONSTAMP: usize = 1;
    pub const VALUE: usize = VERSIONSTAMP + 10;
}

fn table(entries: impl IntoIterator<Item = (&'static str, f64)>) -> Object {
    let table = Object::new();
    for (name, number) in entries {
        let _ = Reflect::set(&table, &JsValue::from_str(name), &JsValue::from_f64(number));
    }
    Object::freeze(&table)
}

/// Every number above, for wire.js, which takes them once the wasm loads.
#[wasm_bindgen(js_name = wireShapes)]
pub fn wire_shapes() -> JsValue {
    let shapes = Object::new();
    let tables = [
        (
            "mutationKind",
            table(
                KINDS
                    .iter()
                    .enumerate()
                    .map(|(number, (_, name))| (*name, number as f64)),
            ),
        ),
        (
            "valueEncoding",
            table(ENCODINGS.iter().map(|(name, number)| (*name, *number as f64))),
        ),
        (
            "mutationRow",
            table([
                ("kind", row::KIND as f64),
                ("encoding", row::ENCODING as f64),
                ("valueEnd", row::VALUE_END as f64),
                ("expireIn", row::EXPIRE_IN as f64),
                ("width", row::WIDTH as f64),
            ]),
        ),
        (
            "check",
            table([("key", check::KEY.into()), ("versionstamp", check::VERSIONSTAMP.into())]),
        ),
        (
            "enqueue",
            table([
                ("payload", enqueue::PAYLOAD.into()),
                ("delay", enqueue::DELAY.into()),
                ("keysIfUndelivered", enqueue::KEYS_IF_UNDELIVERED.into()),
                ("backoffSchedule", enqueue::BACKOFF_SCHEDULE.into()),
            ]),
        ),
        (
            "message",
            table([("id", message::ID.into()), ("payload", message::PAYLOAD.into())]),
        ),
        (
            "readBatch",
            table([
                ("keys", batch::KEYS as f64),
                ("encodings", batch::ENCODINGS as f64),
                ("values", batch::VALUES as f64),
                ("valueEnds", batch::VALUE_ENDS as f64),
                ("versionstamps", batch::VERSIONSTAMPS as f64),
            ]),
        ),
        (
            "pointRead",
            table([
                ("encoding", point::ENCODING as f64),
                ("versionstamp", point::VERSIONSTAMP as f64),
                ("value", point::VALUE as f64),
            ]),
        ),
    ];
    for (name, table) in tables {
        let _ = Reflect::set(&shapes, &JsValue::from_str(name), &table);
    }
    Object::freeze(&shapes).into()
}

/// A value as the JS layer encoded it.
pub fn value(encoding: f64, bytes: Vec<u8>) -> Result<KvValue, JsValue> {
    match encoding as i64 {
        VALUE_ENCODING_V8 => Ok(KvValue::V8(bytes)),
        VALUE_ENCODING_BYTES => Ok(KvValue::Bytes(bytes)),
        VALUE_ENCODING_LE64 => <[u8; 8]>::try_from(bytes.as_slice())
            .map(|le| KvValue::U64(u64::from_le_bytes(le)))
            .map_err(|_| js_sys::TypeError::new("Invalid value").into()),
        _ => Err(js_sys::TypeError::new("Invalid value type").into()),
    }
}

pub fn parse_check(check: &JsValue) -> Result<CheckRequest, JsValue> {
    let check: &Array = check.unchecked_ref();
    Ok(CheckRequest {
        key: key::parse(&check.get(check::KEY))?,
        versionstamp: super::optional_string(&check.get(check::VERSIONSTAMP))?,
    })
}

pub fn parse_mutations(keys: &Array, rows: &[f64], values: &[u8]) -> Result<Vec<MutationRequest>, JsValue> {
    let invalid = || JsValue::from(js_sys::TypeError::new("Invalid mutations"));
    if rows.len() != keys.length() as usize * row::WIDTH {
        return Err(invalid());
    }
    let mut start = 0usize;
    let mut parsed = Vec::with_capacity(keys.length() as usize);
    for (key, row) in keys.iter().zip(rows.chunks_exact(row::WIDTH)) {
        let end = row[row::VALUE_END] as usize;
        let bytes = values.get(start..end).ok_or_else(invalid)?;
        start = end;
        let value = match row[row::ENCODING] {
            encoding if encoding == f64::from(NO_VALUE) => None,
            encoding => Some(value(encoding, bytes.to_vec())?),
        };
        let key = key::parse(&key)?;
        let kind = mutation_kind(row[row::KIND], value)
            .ok_or_else(|| JsValue::from(js_sys::TypeError::new("Invalid mutation type")))?;
        let expire_in = row[row::EXPIRE_IN];
        parsed.push(MutationRequest {
            key,
            kind,
            expire_in_ms: (!expire_in.is_nan()).then_some(expire_in),
        });
    }
    Ok(parsed)
}

fn mutation_kind(number: f64, value: Option<KvValue>) -> Option<MutationKind> {
    let (kind, _) = KINDS.get(number as usize).filter(|_| number.fract() == 0.0)?;
    Some(match (kind, value) {
        (Kind::Set, Some(value)) => MutationKind::Set(value),
        (Kind::Delete, None) => MutationKind::Delete,
        (Kind::Sum, Some(value)) => MutationKind::Sum {
            value,
            min_v8: Vec::new(),
            max_v8: Vec::new(),
            clamp: false,
        },
        (Kind::Min, Some(value)) => MutationKind::Min(value),
        (Kind::Max, Some(value)) => MutationKind::Max(value),
        (Kind::SetSuffixVersionstampedKey, Some(value)) => MutationKind::SetSuffixVersionstampedKey(value),
        _ => return None,
    })
}

/// Deno has no limit of its own here (denokv has 10); this one only bounds
/// what a Proxy claiming billions of keys can make webkv read.
const MAX_KEYS_IF_UNDELIVERED: usize = 1 << 20;

/// The payload is V8 bytes already; the rest was validated by the JS layer
/// as Deno validates it.
pub fn parse_enqueue(enqueue: &JsValue) -> Result<EnqueueRequest, JsValue> {
    let enqueue: &Array = enqueue.unchecked_ref();
    let payload = enqueue
        .get(enqueue::PAYLOAD)
        .dyn_into::<Uint8Array>()
        .map_err(|_| js_sys::TypeError::new("Invalid enqueue"))?
        .to_vec();
    let delay_ms = integer(&enqueue.get(enqueue::DELAY))?;
    let keys_if_undelivered = key::parse_many(&enqueue.get(enqueue::KEYS_IF_UNDELIVERED), MAX_KEYS_IF_UNDELIVERED)?;
    if keys_if_undelivered.len() > MAX_KEYS_IF_UNDELIVERED {
        return Err(
            js_sys::TypeError::new(&format!("Too many keysIfUndelivered (max {MAX_KEYS_IF_UNDELIVERED})")).into(),
        );
    }
    let schedule = enqueue.get(enqueue::BACKOFF_SCHEDULE);
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
    Ok(EnqueueRequest {
        payload,
        delay_ms,
        keys_if_undelivered,
        backoff_schedule,
    })
}

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

pub fn queue_message(id: u64, payload: &[u8]) -> JsValue {
    let message = Array::new_with_length(2);
    message.set(message::ID, JsValue::from(id as f64));
    message.set(message::PAYLOAD, Uint8Array::from(payload).into());
    message.into()
}

/// A commit's versionstamp: a number when it is a version with a zero batch
/// index that a double holds exactly (every local commit's), which wire.js
/// spells out; the hex text otherwise. Handing wasm strings to JS goes
/// through TextDecoder, which costs a sequential set more than formatting
/// the number does.
pub fn commit_versionstamp(stamp: Option<Versionstamp>) -> JsValue {
    let Some(stamp) = stamp else {
        return JsValue::NULL;
    };
    match versionstamp::exact_version(&stamp) {
        Some(version) => JsValue::from_f64(version as f64),
        None => JsValue::from_str(&versionstamp::to_hex(&stamp)),
    }
}
