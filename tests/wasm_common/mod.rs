//! Tests shared by the Chromium and Node wasm-bindgen-test suites: the real
//! bindings against a real JS engine. Values arrive already encoded (the JS
//! codec has its own tests in tests/codec/); these cover what the bindings
//! own: keys, encodings, limits, argument errors and the closed state.

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;
use webkv::bindings::{open_memory, Database};

const V8: u32 = 1;
const LE64: u32 = 2;
const BYTES: u32 = 3;

pub fn key(parts: &[JsValue]) -> JsValue {
    parts.iter().collect::<Array>().into()
}

pub fn text_key(name: &str) -> JsValue {
    key(&[JsValue::from_str("test"), JsValue::from_str(name)])
}

fn error_field(error: &JsValue, field: &str) -> String {
    Reflect::get(error, &JsValue::from_str(field))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// A commit's versionstamp as kv.js spells it: local commits hand over
/// their version as a number.
pub fn commit_stamp(answer: &JsValue) -> String {
    match answer.as_f64() {
        Some(version) => format!("{:016x}0000", version as u64),
        None => answer.as_string().unwrap_or_default(),
    }
}

fn set(db: &Database, key: &JsValue, encoding: u32, bytes: &[u8]) -> Result<JsValue, JsValue> {
    db.set(key, encoding, bytes.to_vec(), &JsValue::UNDEFINED)
}

/// `[encoding, versionstamp × 10, value...]`, or null for a missing key.
fn get(db: &Database, key: &JsValue) -> JsValue {
    db.get(key, &JsValue::UNDEFINED).expect("get succeeds")
}

fn point_read(raw: &JsValue) -> (u8, String, Vec<u8>) {
    let bytes = raw.unchecked_ref::<Uint8Array>().to_vec();
    let stamp: String = bytes[1..11].iter().map(|b| format!("{b:02x}")).collect();
    (bytes[0], stamp, bytes[11..].to_vec())
}

#[wasm_bindgen_test]
fn each_encoding_round_trips_with_its_bytes() {
    let db = open_memory();
    for (name, encoding, bytes) in [
        ("v8", V8, vec![0xff, 0x0f, b'T']),
        ("bytes", BYTES, vec![0, 1, 2, 255]),
        ("le64", LE64, u64::MAX.to_le_bytes().to_vec()),
        ("empty bytes", BYTES, vec![]),
    ] {
        let stamp = set(&db, &text_key(name), encoding, &bytes).expect("set");
        let (read_encoding, read_stamp, read_bytes) = point_read(&get(&db, &text_key(name)));
        assert_eq!(u32::from(read_encoding), encoding, "{name}");
        assert_eq!(read_bytes, bytes, "{name}");
        assert_eq!(
            read_stamp,
            commit_stamp(&stamp),
            "{name}: the entry carries the commit's versionstamp"
        );
    }
}

#[wasm_bindgen_test]
fn a_le64_value_must_be_eight_bytes() {
    let db = open_memory();
    assert!(set(&db, &text_key("short"), LE64, &[1, 2, 3]).is_err());
    assert!(get(&db, &text_key("short")).is_null(), "nothing is written");
}

#[wasm_bindgen_test]
fn versionstamps_increase_and_missing_keys_are_null() {
    let db = open_memory();
    let first = commit_stamp(&set(&db, &text_key("a"), BYTES, &[1]).expect("set"));
    let second = commit_stamp(&set(&db, &text_key("b"), BYTES, &[2]).expect("set"));
    assert_eq!(first.len(), 20);
    assert!(first < second, "{first} < {second}");
    assert!(get(&db, &text_key("missing")).is_null());
}

#[wasm_bindgen_test]
fn keys_of_every_type_round_trip_in_deno_order() {
    let db = open_memory();
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
        set(&db, &key(&[JsValue::from_str("k"), part.clone()]), BYTES, &[]).expect("set");
    }
    let prefix = key(&[JsValue::from_str("k")]);
    let batch: Array = db
        .list(
            &prefix,
            &JsValue::NULL,
            &JsValue::NULL,
            &JsValue::UNDEFINED,
            false,
            100.0,
            &JsValue::UNDEFINED,
        )
        .expect("list")
        .unchecked_into();
    // A batch is [keys, encodings, values, valueEnds, versionstamps].
    let listed: Array = batch.get(0).unchecked_into();
    assert_eq!(listed.length() as usize, ordered.len());
    for (index, expected) in ordered.iter().enumerate() {
        let listed_key: Array = listed.get(index as u32).unchecked_into();
        let part = listed_key.get(1);
        let same = match expected.dyn_ref::<Uint8Array>() {
            Some(bytes) => part.dyn_ref::<Uint8Array>().map(|p| p.to_vec()) == Some(bytes.to_vec()),
            None => js_sys::Object::is(&part, expected),
        };
        assert!(same, "key part {index} out of order or changed");
    }
}

#[wasm_bindgen_test]
fn oversized_keys_and_values_fail_with_denos_messages_and_write_nothing() {
    let db = open_memory();
    let long_key = key(&[JsValue::from_str(&"k".repeat(2100))]);
    let err = set(&db, &long_key, BYTES, &[1]).expect_err("too large");
    assert_eq!(error_field(&err, "name"), "TypeError");
    assert_eq!(error_field(&err, "message"), "Key too large for write (max 2048 bytes)");
    let err = db.get(&long_key, &JsValue::UNDEFINED).expect_err("too large");
    assert_eq!(error_field(&err, "message"), "Key too large for read (max 2049 bytes)");
    let err = set(&db, &text_key("big"), BYTES, &vec![0; 65_537]).expect_err("too large");
    assert_eq!(error_field(&err, "message"), "Value too large (max 65536 bytes)");
    assert!(get(&db, &text_key("big")).is_null());
}

#[wasm_bindgen_test]
fn argument_errors_are_serde_v8s() {
    let db = open_memory();
    let err = set(&db, &JsValue::from_str("a"), BYTES, &[]).expect_err("not an array");
    assert_eq!(
        error_field(&err, "message"),
        "serde_v8 error: invalid type; expected: array, got: string"
    );
    let err = set(&db, &key(&[js_sys::Object::new().into()]), BYTES, &[]).expect_err("bad part");
    assert_eq!(
        error_field(&err, "message"),
        "expected string, number, bigint, ArrayBufferView, boolean"
    );
}

#[wasm_bindgen_test]
fn a_closed_database_answers_bad_resource() {
    let db = open_memory();
    set(&db, &text_key("a"), BYTES, &[1]).expect("set");
    db.close().expect("first close");
    let err = db.get(&text_key("a"), &JsValue::UNDEFINED).expect_err("closed");
    assert_eq!(error_field(&err, "name"), "BadResource");
    assert_eq!(error_field(&err, "message"), "Bad resource ID");
    assert!(set(&db, &text_key("a"), BYTES, &[1]).is_err());
    assert!(db.close().is_err(), "closing twice is an error");
    db.dispose();
}
