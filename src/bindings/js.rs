//! Imports from helpers.js, the one JS file the bindings ship.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/bindings/helpers.js")]
extern "C" {
    #[wasm_bindgen(js_name = registerKvU64)]
    pub fn register_kv_u64(class: &JsValue);
    #[wasm_bindgen(js_name = makeKvU64)]
    pub fn make_kv_u64(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeEntry)]
    pub fn make_entry(key: &JsValue, value: &JsValue, versionstamp: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeMissingEntry)]
    pub fn make_missing_entry(key: &JsValue) -> JsValue;
    pub fn classify(value: &JsValue) -> u32;
    #[wasm_bindgen(js_name = describeView)]
    pub fn describe_view(view: &JsValue) -> js_sys::Array;
    #[wasm_bindgen(js_name = makeView)]
    pub fn make_view(kind: u32, buffer: &JsValue, byte_offset: u32, length: u32) -> JsValue;
    #[wasm_bindgen(js_name = describeError)]
    pub fn describe_error(error: &JsValue) -> js_sys::Array;
    #[wasm_bindgen(js_name = makeError)]
    pub fn make_error(
        name: &str,
        message: &JsValue,
        stack: &JsValue,
        has_cause: bool,
        cause: &JsValue,
    ) -> JsValue;
    #[wasm_bindgen(js_name = makeRegExp)]
    pub fn make_regexp(source: &JsValue, flags: &str) -> JsValue;
    #[wasm_bindgen(js_name = wrapPrimitive)]
    pub fn wrap_primitive(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = makeSparseArray)]
    pub fn make_sparse_array(length: u32) -> JsValue;
    #[wasm_bindgen(js_name = makeClassError)]
    pub fn make_class_error(class_name: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = makeDataCloneError)]
    pub fn make_data_clone_error(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = typeName)]
    pub fn type_name(value: &JsValue) -> String;
    #[wasm_bindgen(js_name = viewBytes)]
    pub fn view_bytes(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = isWellFormed)]
    pub fn is_well_formed(string: &JsValue) -> bool;
}

/// Object kinds as `classify` reports them; 0 is a plain object.
pub mod kind {
    pub const ARRAY: u32 = 1;
    pub const DATE: u32 = 2;
    pub const REGEXP: u32 = 3;
    pub const MAP: u32 = 4;
    pub const SET: u32 = 5;
    pub const ARRAY_BUFFER: u32 = 6;
    pub const VIEW: u32 = 7;
    pub const ERROR: u32 = 8;
    pub const BOOLEAN: u32 = 9;
    pub const NUMBER: u32 = 10;
    pub const STRING: u32 = 11;
    pub const BIGINT: u32 = 12;
    pub const KVU64: u32 = 13;
    pub const UNCLONEABLE: u32 = 14;
    pub const UINT8ARRAY: u32 = 15;
}

/// serde_v8's argument error, which Deno raises before an op runs.
pub fn invalid_type(expected: &str, value: &JsValue) -> JsValue {
    js_sys::TypeError::new(&format!(
        "serde_v8 error: invalid type; expected: {expected}, got: {}",
        type_name(value)
    ))
    .into()
}
