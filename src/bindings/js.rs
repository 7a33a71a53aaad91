//! Imports from the JS files the bindings ship, one block per file:
//! errors.js, arguments.js, fetch.js, timers.js and, for KV Connect in Deno,
//! http1.js; and the global `console.warn`, where the SQLite hosts' reports
//! go. (The SQLite hosts import their own connections; the IndexedDB host
//! imports none.)

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/bindings/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeClassError)]
    pub fn make_class_error(class_name: &str, message: &str) -> JsValue;
    #[wasm_bindgen(js_name = errorText)]
    pub fn error_text(error: &JsValue) -> String;
}

#[cfg(feature = "sqlite")]
#[wasm_bindgen]
extern "C" {
    /// Where the SQLite hosts' reports go (`reporter.rs` keeps them few).
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub fn console_warn(text: &str);
}

#[wasm_bindgen(module = "/src/bindings/arguments.js")]
extern "C" {
    #[wasm_bindgen(js_name = typeName)]
    fn type_name(value: &JsValue) -> Option<String>;
    /// A caller's key, copied by JS into a plain array of parts; every read
    /// of a caller's object happens there, where its exceptions are caught.
    #[wasm_bindgen(catch, js_name = readKey)]
    pub fn read_key(key: &JsValue) -> Result<js_sys::Array, JsValue>;
    /// A caller's array of keys, read as `read_key` reads each key; at most
    /// `max + 1` of them.
    #[wasm_bindgen(catch, js_name = readKeys)]
    pub fn read_keys(keys: &JsValue, max: u32) -> Result<js_sys::Array, JsValue>;
    /// A caller's array of integers (serde_v8's `Vec<u32>`), as numbers.
    #[wasm_bindgen(catch, js_name = readIntegers)]
    pub fn read_integers(values: &JsValue) -> Result<js_sys::Array, JsValue>;
}

#[cfg(feature = "remote")]
#[wasm_bindgen(module = "/src/bindings/fetch.js")]
extern "C" {
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
}

#[wasm_bindgen(module = "/src/bindings/timers.js")]
extern "C" {
    #[wasm_bindgen(js_name = startTimer)]
    pub fn start_timer(ms: u32, fire: &js_sys::Function) -> JsValue;
    #[wasm_bindgen(js_name = cancelTimer)]
    pub fn cancel_timer(timer: &JsValue);
}

#[cfg(feature = "remote")]
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

/// serde_v8's argument error, which Deno raises before an op runs; its
/// conversion error when naming the value's type ran caller code that threw.
pub fn invalid_type(expected: &str, value: &JsValue) -> JsValue {
    let message = match type_name(value) {
        Some(got) => format!("serde_v8 error: invalid type; expected: {expected}, got: {got}"),
        None => "serde_v8 error: exception during value conversion".to_string(),
    };
    js_sys::TypeError::new(&message).into()
}
