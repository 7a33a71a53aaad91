//! Imports from the JS files the bindings ship: helpers.js and, for KV
//! Connect in Deno, http1.js.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/bindings/helpers.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeClassError)]
    pub fn make_class_error(class_name: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = typeName)]
    pub fn type_name(value: &JsValue) -> String;
    #[wasm_bindgen(js_name = viewBytes)]
    pub fn view_bytes(value: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = httpPost)]
    pub fn http_post(
        url: &str,
        headers: &js_sys::Array,
        body: &[u8],
        client: &JsValue,
        max_bytes: f64,
        timeout_ms: u32,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = createFreshConnectionClient)]
    pub fn create_fresh_connection_client() -> JsValue;
    #[wasm_bindgen(js_name = closeClient)]
    pub fn close_client(client: &JsValue);
    #[wasm_bindgen(js_name = httpPostStream)]
    pub fn http_post_stream(
        url: &str,
        headers: &js_sys::Array,
        body: &[u8],
        max_bytes: f64,
        controller: &JsValue,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = createAbortController)]
    pub fn create_abort_controller() -> JsValue;
    pub fn abort(controller: &JsValue);
    #[wasm_bindgen(js_name = readChunk)]
    pub fn read_chunk(reader: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = cancelReader)]
    pub fn cancel_reader(reader: &JsValue);
    pub fn sleep(ms: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = errorText)]
    pub fn error_text(error: &JsValue) -> String;
}

#[wasm_bindgen(module = "/src/bindings/http1.js")]
extern "C" {
    #[wasm_bindgen(js_name = createConnectionPool)]
    pub fn create_connection_pool() -> JsValue;
    #[wasm_bindgen(js_name = poolPost)]
    pub fn pool_post(
        pool: &JsValue,
        url: &str,
        headers: &js_sys::Array,
        body: &[u8],
        max_bytes: f64,
        timeout_ms: u32,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = closePool)]
    pub fn close_pool(pool: &JsValue);
}

/// serde_v8's argument error, which Deno raises before an op runs.
pub fn invalid_type(expected: &str, value: &JsValue) -> JsValue {
    js_sys::TypeError::new(&format!(
        "serde_v8 error: invalid type; expected: {expected}, got: {}",
        type_name(value)
    ))
    .into()
}
