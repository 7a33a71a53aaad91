use wasm_bindgen::JsValue;

use super::js;
use crate::core::error::{ErrorClass, KvError};

pub fn to_js(err: KvError) -> JsValue {
    let class = match err.class {
        ErrorClass::TypeError => "TypeError",
        ErrorClass::RangeError => "RangeError",
        ErrorClass::Error => "Error",
        ErrorClass::BadResource => "BadResource",
    };
    js::make_class_error(class, &err.message)
}
