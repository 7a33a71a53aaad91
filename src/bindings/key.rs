//! JS key arrays ↔ denokv key parts. Reading a key has two stages, as in
//! Deno: the argument is parsed into parts (serde_v8's errors) before the op
//! runs, and the parts are encoded (the codec's errors) inside it.

use denokv_proto::KeyPart;
use js_sys::{Array, Uint8Array};
use num_bigint::BigInt;
use wasm_bindgen::{JsCast, JsValue};

use super::js;
use crate::core::error::KvError;
use crate::core::key;

const INVALID_PART: &str = "expected string, number, bigint, ArrayBufferView, boolean";

/// One part of a key that `js::read_key` has read: a primitive or a fresh
/// Uint8Array.
fn part_from_js(part: &JsValue) -> Result<KeyPart, JsValue> {
    if let Some(text) = part.as_string() {
        return Ok(KeyPart::String(text));
    }
    if let Some(n) = part.as_f64() {
        return Ok(KeyPart::Float(n));
    }
    if let Some(b) = part.as_bool() {
        return Ok(if b { KeyPart::True } else { KeyPart::False });
    }
    if part.is_bigint() {
        return bigint_from_js(part).map(KeyPart::Int);
    }
    if let Some(bytes) = part.dyn_ref::<Uint8Array>() {
        return Ok(KeyPart::Bytes(bytes.to_vec()));
    }
    Err(js_sys::TypeError::new(INVALID_PART).into())
}

/// Parses a key argument; errors are serde_v8's.
pub fn parse(key: &JsValue) -> Result<Vec<KeyPart>, JsValue> {
    parts_from_js(&js::read_key(key)?)
}

/// Parses an argument that is an array of keys, reading at most `max + 1`
/// of them (the caller then rejects the count, as Deno does after reading
/// them all).
pub fn parse_many(keys: &JsValue, max: usize) -> Result<Vec<Vec<KeyPart>>, JsValue> {
    let max = u32::try_from(max).unwrap_or(u32::MAX - 1);
    js::read_keys(keys, max)?
        .iter()
        .map(|parts| parts_from_js(parts.unchecked_ref()))
        .collect()
}

fn parts_from_js(parts: &Array) -> Result<Vec<KeyPart>, JsValue> {
    parts.iter().map(|part| part_from_js(&part)).collect()
}

pub fn encode(parts: Vec<KeyPart>) -> Result<Vec<u8>, KvError> {
    key::encode(parts)
}

/// Parses and encodes a key that is used for reading.
pub fn encode_js(key: &JsValue) -> Result<Vec<u8>, JsValue> {
    encode(parse(key)?).map_err(super::errors::to_js)
}

pub fn part_to_js(part: &KeyPart) -> JsValue {
    match part {
        KeyPart::String(text) => JsValue::from_str(text),
        KeyPart::Float(n) => JsValue::from(*n),
        KeyPart::Int(n) => bigint_to_js(n),
        KeyPart::Bytes(bytes) => Uint8Array::from(bytes.as_slice()).into(),
        KeyPart::False => JsValue::FALSE,
        KeyPart::True => JsValue::TRUE,
    }
}

fn bigint_from_js(value: &JsValue) -> Result<BigInt, JsValue> {
    if let Ok(small) = i64::try_from(value.clone()) {
        return Ok(BigInt::from(small));
    }
    let text = value
        .unchecked_ref::<js_sys::BigInt>()
        .to_string(16)
        .map_err(JsValue::from)?;
    let text = String::from(text);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.as_str()),
    };
    let magnitude = BigInt::parse_bytes(digits.as_bytes(), 16)
        .ok_or_else(|| JsValue::from(js_sys::TypeError::new("invalid bigint")))?;
    Ok(if negative { -magnitude } else { magnitude })
}

fn bigint_to_js(value: &BigInt) -> JsValue {
    if let Ok(small) = i64::try_from(value) {
        return JsValue::from(small);
    }
    js_sys::BigInt::new(&JsValue::from_str(&value.to_str_radix(10))).map_or(JsValue::UNDEFINED, JsValue::from)
}
