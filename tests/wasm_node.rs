//! The bindings in Node, plus byte compatibility with Node's own V8
//! serializer: Node 20 reads what webkv writes, and webkv reads what Node
//! writes.
#![cfg(target_arch = "wasm32")]

mod wasm_common;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;
use wasm_common::{db, deep_equal, error_message, samples, text_key, value_of};
use webkv::bindings::encode_value;

// Node's `v8.serialize` writes typed arrays as Node-only host objects; its
// base `Serializer` writes V8's own encoding, as Deno and browsers do.
#[wasm_bindgen(module = "node:v8")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn deserialize(bytes: &Uint8Array) -> Result<JsValue, JsValue>;
    type Serializer;
    #[wasm_bindgen(constructor)]
    fn new() -> Serializer;
    #[wasm_bindgen(method, js_name = writeHeader)]
    fn write_header(this: &Serializer);
    #[wasm_bindgen(method, catch, js_name = writeValue)]
    fn write_value(this: &Serializer, value: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, js_name = releaseBuffer)]
    fn release_buffer(this: &Serializer) -> Uint8Array;
}

fn serialize(value: &JsValue) -> Uint8Array {
    let serializer = Serializer::new();
    serializer.write_header();
    if let Err(err) = serializer.write_value(value) {
        panic!("Node cannot serialize it: {}", error_message(&err));
    }
    serializer.release_buffer()
}

#[wasm_bindgen_test]
fn node_reads_what_webkv_writes() {
    let _db = db();
    for sample in samples().iter() {
        let sample: Array = sample.unchecked_into();
        let name = sample.get(0).as_string().unwrap_or_default();
        let raw = encode_value(&sample.get(1)).expect("encodes");
        assert_eq!(raw.get(0).as_f64(), Some(1.0), "{name} is a V8 value");
        let bytes: Uint8Array = raw.get(1).unchecked_into();
        assert_eq!(
            bytes.get_index(1),
            15,
            "{name}: webkv writes format version 15"
        );
        let read = deserialize(&bytes)
            .unwrap_or_else(|err| panic!("{name}: Node cannot read it: {}", error_message(&err)));
        assert!(
            deep_equal(&sample.get(1), &read),
            "{name}: Node read a different value"
        );
    }
}

#[wasm_bindgen_test]
fn webkv_reads_what_node_writes() {
    let db = db();
    for sample in samples().iter() {
        let sample: Array = sample.unchecked_into();
        let name = sample.get(0).as_string().unwrap_or_default();
        let bytes = serialize(&sample.get(1));
        let raw = Array::of2(&JsValue::from(1u32), &bytes);
        let mutation = Array::of4(
            &text_key(&name),
            &JsValue::from_str("set"),
            &raw,
            &JsValue::UNDEFINED,
        );
        db.commit(&Array::new(), &Array::of1(&mutation), 0)
            .unwrap_or_else(|err| panic!("{name}: commit failed: {}", error_message(&err)));
        let read = value_of(&db.get(&text_key(&name), &JsValue::UNDEFINED).expect("get"));
        assert!(
            deep_equal(&sample.get(1), &read),
            "{name}: webkv read Node's bytes differently"
        );
    }
}
