//! Tests shared by the Chromium and Node wasm-bindgen-test suites: the real
//! bindings against a real V8.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;
use webkv::bindings::{encode_value, open_memory, register_kv_u64, Database};

#[wasm_bindgen(module = "/tests/wasm_common/samples.js")]
extern "C" {
    pub fn samples() -> Array;
    fn unclonables() -> Array;
    fn nested(depth: u32) -> JsValue;
    #[wasm_bindgen(js_name = deepEqual)]
    pub fn deep_equal(a: &JsValue, b: &JsValue) -> bool;
    #[wasm_bindgen(js_name = sharesBuffer)]
    fn shares_buffer(value: &JsValue) -> bool;
    #[wasm_bindgen(js_name = errorName)]
    pub fn error_name(error: &JsValue) -> String;
    #[wasm_bindgen(js_name = errorMessage)]
    pub fn error_message(error: &JsValue) -> String;
}

#[wasm_bindgen(inline_js = "
  class KvU64 { constructor(value) { this.value = value; Object.freeze(this); } }
  export function kvU64Class() { return KvU64; }
  export function newKvU64(value) { return new KvU64(value); }
")]
extern "C" {
    #[wasm_bindgen(js_name = kvU64Class)]
    fn kv_u64_class() -> JsValue;
    #[wasm_bindgen(js_name = newKvU64)]
    fn new_kv_u64(value: &JsValue) -> JsValue;
}

pub fn key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

pub fn text_key(name: &str) -> JsValue {
    key(&[JsValue::from_str("test"), JsValue::from_str(name)])
}

pub fn db() -> Database {
    register_kv_u64(&kv_u64_class());
    open_memory()
}

fn field(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

pub fn value_of(entry: &JsValue) -> JsValue {
    field(entry, "value")
}

pub fn versionstamp_of(entry: &JsValue) -> JsValue {
    field(entry, "versionstamp")
}

#[wasm_bindgen_test]
fn every_structured_clone_sample_round_trips() {
    let db = db();
    for sample in samples().iter() {
        let sample: Array = sample.unchecked_into();
        let name = sample.get(0).as_string().unwrap_or_default();
        let value = sample.get(1);
        db.set(&text_key(&name), &value, &JsValue::UNDEFINED)
            .unwrap_or_else(|err| panic!("{name}: set failed: {}", error_message(&err)));
        let entry = db
            .get(&text_key(&name), &JsValue::UNDEFINED)
            .unwrap_or_else(|err| panic!("{name}: get failed: {}", error_message(&err)));
        let read = value_of(&entry);
        assert!(deep_equal(&value, &read), "{name} did not round-trip");
        let again = value_of(
            &db.get(&text_key(&name), &JsValue::UNDEFINED)
                .unwrap_or(JsValue::NULL),
        );
        if value.is_object() {
            assert!(
                !Object::is(&read, &again),
                "{name}: get must return a fresh copy"
            );
        }
    }
}

#[wasm_bindgen_test]
fn views_sharing_a_buffer_still_share_it() {
    let db = db();
    let sample = samples()
        .iter()
        .map(|s| s.unchecked_into::<Array>())
        .find(|s| s.get(0).as_string().as_deref() == Some("view sharing a buffer"))
        .expect("sample exists");
    db.set(&text_key("views"), &sample.get(1), &JsValue::UNDEFINED)
        .expect("set");
    let read = value_of(
        &db.get(&text_key("views"), &JsValue::UNDEFINED)
            .expect("get"),
    );
    assert!(shares_buffer(&read));
}

#[wasm_bindgen_test]
fn top_level_bytes_and_u64_use_their_own_encodings() {
    let _db = db();
    let bytes: JsValue = Uint8Array::from(&[1u8, 2, 3][..]).into();
    let raw = encode_value(&bytes).expect("encodes");
    assert_eq!(
        raw.get(0).as_f64(),
        Some(2.0),
        "Uint8Array is stored as raw bytes"
    );
    let counter = new_kv_u64(&JsValue::from(u64::MAX));
    let raw = encode_value(&counter).expect("encodes");
    assert_eq!(raw.get(0).as_f64(), Some(3.0), "KvU64 is stored as LE64");
    let nested = Object::new();
    js_sys::Reflect::set(&nested, &JsValue::from_str("n"), &counter).expect("set");
    let raw = encode_value(&nested).expect("encodes");
    assert_eq!(raw.get(0).as_f64(), Some(1.0), "a nested KvU64 is plain V8");
}

#[wasm_bindgen_test]
fn unclonable_values_are_rejected_and_nothing_is_written() {
    let db = db();
    for sample in unclonables().iter() {
        let sample: Array = sample.unchecked_into();
        let name = sample.get(0).as_string().unwrap_or_default();
        let err = db
            .set(&text_key(&name), &sample.get(1), &JsValue::UNDEFINED)
            .expect_err("unclonable values must be rejected");
        assert_eq!(
            error_name(&err),
            "TypeError",
            "{name}: Deno reports unclonable values as TypeError"
        );
        assert!(
            error_message(&err).ends_with(" could not be cloned."),
            "{name}: V8's message"
        );
        let entry = db.get(&text_key(&name), &JsValue::UNDEFINED).expect("get");
        assert!(
            versionstamp_of(&entry).is_null(),
            "{name}: nothing may be written"
        );
    }
}

#[wasm_bindgen_test]
fn keys_of_every_type_round_trip_in_deno_order() {
    let db = db();
    let bytes: JsValue = Uint8Array::from(&[0u8, 1][..]).into();
    let ordered = [
        bytes,
        JsValue::from_str(""),
        JsValue::from_str("a"),
        JsValue::from(-1i64),
        JsValue::from(1i64),
        JsValue::from(f64::NEG_INFINITY),
        JsValue::from(-0.0),
        JsValue::from(0.0),
        JsValue::from(f64::NAN),
        JsValue::FALSE,
        JsValue::TRUE,
    ];
    for part in ordered.iter().rev() {
        db.set(
            &key(&[JsValue::from_str("k"), part.clone()]),
            &JsValue::TRUE,
            &JsValue::UNDEFINED,
        )
        .expect("set");
    }
    let prefix = key(&[JsValue::from_str("k")]);
    let listed: Array = db
        .list(
            &prefix,
            &JsValue::NULL,
            &JsValue::NULL,
            &JsValue::UNDEFINED,
            false,
            100,
            &JsValue::UNDEFINED,
        )
        .expect("list")
        .unchecked_into();
    assert_eq!(listed.length() as usize, ordered.len());
    for (index, expected) in ordered.iter().enumerate() {
        let listed_key: Array =
            js_sys::Reflect::get(&listed.get(index as u32), &JsValue::from_str("key"))
                .expect("key")
                .unchecked_into();
        assert!(
            deep_equal(&listed_key.get(1), expected),
            "key part {index} out of order or changed"
        );
    }
}

#[wasm_bindgen_test]
fn oversized_keys_and_values_fail_with_denos_messages() {
    let db = db();
    let long_key = key(&[JsValue::from_str(&"k".repeat(2100))]);
    let err = db
        .set(&long_key, &JsValue::TRUE, &JsValue::UNDEFINED)
        .expect_err("too large");
    assert_eq!(error_name(&err), "TypeError");
    assert_eq!(
        error_message(&err),
        "Key too large for write (max 2048 bytes)"
    );
    let err = db
        .get(&long_key, &JsValue::UNDEFINED)
        .expect_err("too large");
    assert_eq!(
        error_message(&err),
        "Key too large for read (max 2049 bytes)"
    );
    let big = JsValue::from_str(&"v".repeat(70_000));
    let err = db
        .set(&text_key("big"), &big, &JsValue::UNDEFINED)
        .expect_err("too large");
    assert_eq!(error_message(&err), "Value too large (max 65536 bytes)");
    let entry = db.get(&text_key("big"), &JsValue::UNDEFINED).expect("get");
    assert!(versionstamp_of(&entry).is_null());
}

#[wasm_bindgen_test]
fn closed_database_rejects_everything() {
    let db = db();
    db.set(&text_key("a"), &JsValue::TRUE, &JsValue::UNDEFINED)
        .expect("set");
    db.close();
    assert!(db.get(&text_key("a"), &JsValue::UNDEFINED).is_err());
    assert!(db
        .set(&text_key("a"), &JsValue::TRUE, &JsValue::UNDEFINED)
        .is_err());
}

#[wasm_bindgen_test]
fn nesting_is_limited_to_what_can_be_read_back() {
    let db = db();
    db.set(&text_key("256"), &nested(256), &JsValue::UNDEFINED)
        .expect("256 levels are stored");
    let read = value_of(
        &db.get(&text_key("256"), &JsValue::UNDEFINED)
            .expect("and read back"),
    );
    assert!(deep_equal(&nested(256), &read));
    let err = db
        .set(&text_key("257"), &nested(257), &JsValue::UNDEFINED)
        .expect_err("deeper values are refused");
    assert_eq!(error_name(&err), "RangeError");
    assert_eq!(
        error_message(&err),
        "Value is nested too deeply to store (max 256 levels)"
    );
}
