//! V8 serialization bytes → JS value. Parsing is `v8_valueserializer`'s
//! (formats 13 to 16: what Deno, Node and denokv write); this builds the JS
//! objects, creating each heap object once so shared references and cycles
//! come back as they were stored.

use std::collections::HashMap;

use js_sys::{Array, BigInt, Date, JsString, Map, Object, Reflect, Set, Uint8Array};
use num_bigint::BigInt as RustBigInt;
use v8_valueserializer::{
    ArrayBufferViewKind, ErrorName, Heap, HeapReference, HeapValue, PropertyKey, RegExpFlags,
    StringValue, Value, ValueDeserializer,
};
use wasm_bindgen::JsValue;

use super::js;

pub fn deserialize(bytes: &[u8]) -> Result<JsValue, JsValue> {
    let (value, heap) = ValueDeserializer::default()
        .read(bytes)
        .map_err(|err| js_sys::TypeError::new(&format!("Invalid V8 value in database: {err}")))?;
    let mut reader = FromV8 {
        heap: &heap,
        built: HashMap::new(),
    };
    reader.value(&value)
}

struct FromV8<'a> {
    heap: &'a Heap,
    built: HashMap<HeapReference, JsValue>,
}

pub fn string_to_js(value: &StringValue) -> JsValue {
    match value {
        StringValue::OneByte(s) if s.as_bytes().is_ascii() => {
            // ASCII is valid UTF-8: hand the bytes over as they are.
            JsValue::from_str(std::str::from_utf8(s.as_bytes()).unwrap_or_default())
        }
        StringValue::OneByte(s) => JsValue::from_str(&s.as_str()),
        StringValue::TwoByte(s) => utf16_to_js(s.as_bytes()),
        StringValue::Wtf8(s) => JsValue::from_str(&s.as_str()),
    }
}

fn utf16_to_js(units: &[u16]) -> JsValue {
    // fromCharCode takes its units as arguments: chunk to stay under the
    // engine's argument limit.
    let mut out = JsString::from("");
    for chunk in units.chunks(8192) {
        out = out.concat(&JsString::from_char_code(chunk));
    }
    out.into()
}

pub fn bigint_to_js(value: &RustBigInt) -> JsValue {
    if let Ok(small) = i64::try_from(value) {
        return JsValue::from(small);
    }
    let text = value.to_str_radix(10);
    BigInt::new(&JsValue::from_str(&text)).map_or(JsValue::UNDEFINED, JsValue::from)
}

fn regexp_flags(flags: RegExpFlags) -> String {
    let mut out = String::new();
    for (flag, letter) in [
        (RegExpFlags::HAS_INDICES, 'd'),
        (RegExpFlags::GLOBAL, 'g'),
        (RegExpFlags::IGNORE_CASE, 'i'),
        (RegExpFlags::LINEAR, 'l'),
        (RegExpFlags::MULTILINE, 'm'),
        (RegExpFlags::DOT_ALL, 's'),
        (RegExpFlags::UNICODE, 'u'),
        (RegExpFlags::UNICODE_SETS, 'v'),
        (RegExpFlags::STICKY, 'y'),
    ] {
        if flags.contains(flag) {
            out.push(letter);
        }
    }
    out
}

fn view_kind_index(kind: ArrayBufferViewKind) -> u32 {
    use ArrayBufferViewKind::*;
    match kind {
        Int8Array => 0,
        Uint8Array => 1,
        Uint8ClampedArray => 2,
        Int16Array => 3,
        Uint16Array => 4,
        Int32Array => 5,
        Uint32Array => 6,
        Float32Array => 7,
        Float64Array => 8,
        BigInt64Array => 9,
        BigUint64Array => 10,
        DataView => 11,
    }
}

fn error_name(name: &ErrorName) -> &'static str {
    match name {
        ErrorName::Error => "Error",
        ErrorName::EvalError => "EvalError",
        ErrorName::RangeError => "RangeError",
        ErrorName::ReferenceError => "ReferenceError",
        ErrorName::SyntaxError => "SyntaxError",
        ErrorName::TypeError => "TypeError",
        ErrorName::UriError => "URIError",
    }
}

fn property_key_to_js(key: &PropertyKey) -> JsValue {
    match key {
        PropertyKey::I32(n) => JsValue::from(*n),
        PropertyKey::U32(n) => JsValue::from(*n),
        PropertyKey::Double(n) => JsValue::from(*n),
        PropertyKey::String(s) => string_to_js(s),
    }
}

impl FromV8<'_> {
    fn value(&mut self, value: &Value) -> Result<JsValue, JsValue> {
        Ok(match value {
            Value::Undefined => JsValue::UNDEFINED,
            Value::Null => JsValue::NULL,
            Value::Bool(b) => JsValue::from(*b),
            Value::I32(n) => JsValue::from(*n),
            Value::U32(n) => JsValue::from(*n),
            Value::Double(n) => JsValue::from(*n),
            Value::BigInt(n) => bigint_to_js(n),
            Value::String(s) => string_to_js(s),
            Value::HeapReference(reference) => self.heap_object(*reference)?,
        })
    }

    fn set_properties(
        &mut self,
        target: &JsValue,
        properties: &[(PropertyKey, Value)],
    ) -> Result<(), JsValue> {
        for (key, value) in properties {
            let value = self.value(value)?;
            Reflect::set(target, &property_key_to_js(key), &value)?;
        }
        Ok(())
    }

    fn heap_object(&mut self, reference: HeapReference) -> Result<JsValue, JsValue> {
        if let Some(existing) = self.built.get(&reference) {
            return Ok(existing.clone());
        }
        let Some(heap_value) = reference.try_open(self.heap) else {
            return Err(
                js_sys::TypeError::new("Invalid V8 value in database: dangling reference").into(),
            );
        };
        // Containers are registered before their contents are read, so a
        // cycle finds the container instead of recursing forever.
        let object: JsValue = match heap_value {
            HeapValue::Object(object) => {
                let target: JsValue = Object::new().into();
                self.built.insert(reference, target.clone());
                self.set_properties(&target, &object.properties)?;
                target
            }
            HeapValue::DenseArray(array) => {
                let target = Array::new_with_length(array.elements.len() as u32);
                let target_value: JsValue = target.clone().into();
                self.built.insert(reference, target_value.clone());
                for (index, element) in array.elements.iter().enumerate() {
                    if let Some(element) = element {
                        let element = self.value(element)?;
                        target.set(index as u32, element);
                    }
                }
                self.set_properties(&target_value, &array.properties)?;
                target_value
            }
            HeapValue::SparseArray(array) => {
                let target = js::make_sparse_array(array.length);
                self.built.insert(reference, target.clone());
                self.set_properties(&target, &array.properties)?;
                target
            }
            HeapValue::Map(map) => {
                let target = Map::new();
                self.built.insert(reference, target.clone().into());
                for (key, value) in &map.entries {
                    let key = self.value(key)?;
                    let value = self.value(value)?;
                    target.set(&key, &value);
                }
                target.into()
            }
            HeapValue::Set(set) => {
                let target = Set::new(&JsValue::UNDEFINED);
                self.built.insert(reference, target.clone().into());
                for value in &set.values {
                    let value = self.value(value)?;
                    target.add(&value);
                }
                target.into()
            }
            HeapValue::Error(error) => {
                let message = error
                    .message
                    .as_ref()
                    .map_or(JsValue::UNDEFINED, string_to_js);
                let stack = error
                    .stack
                    .as_ref()
                    .map_or(JsValue::UNDEFINED, string_to_js);
                let placeholder = js::make_error(
                    error_name(&error.name),
                    &message,
                    &stack,
                    false,
                    &JsValue::UNDEFINED,
                );
                self.built.insert(reference, placeholder.clone());
                if let Some(cause) = &error.cause {
                    let cause = self.value(cause)?;
                    Object::define_property(
                        placeholder.unchecked_ref_object(),
                        &JsValue::from_str("cause"),
                        &cause_descriptor(&cause),
                    );
                }
                placeholder
            }
            HeapValue::BooleanObject(b) => js::wrap_primitive(&JsValue::from(*b)),
            HeapValue::NumberObject(n) => js::wrap_primitive(&JsValue::from(*n)),
            HeapValue::BigIntObject(n) => js::wrap_primitive(&bigint_to_js(n)),
            HeapValue::StringObject(s) => js::wrap_primitive(&string_to_js(s)),
            HeapValue::RegExp(regexp) => {
                js::make_regexp(&string_to_js(&regexp.pattern), &regexp_flags(regexp.flags))
            }
            HeapValue::Date(date) => {
                let time = date.ms_since_epoch().map_or(f64::NAN, |ms| ms as f64);
                Date::new(&JsValue::from(time)).into()
            }
            HeapValue::ArrayBuffer(buffer) => {
                Uint8Array::from(buffer.as_u8_slice()).buffer().into()
            }
            HeapValue::ArrayBufferView(view) => {
                let buffer = self.heap_object(view.buffer)?;
                js::make_view(
                    view_kind_index(view.kind),
                    &buffer,
                    view.byte_offset,
                    view.length,
                )
            }
        };
        self.built.insert(reference, object.clone());
        Ok(object)
    }
}

fn cause_descriptor(cause: &JsValue) -> Object {
    let descriptor = Object::new();
    let _ = Reflect::set(&descriptor, &JsValue::from_str("value"), cause);
    let _ = Reflect::set(&descriptor, &JsValue::from_str("writable"), &JsValue::TRUE);
    let _ = Reflect::set(
        &descriptor,
        &JsValue::from_str("configurable"),
        &JsValue::TRUE,
    );
    descriptor
}

trait UncheckedObject {
    fn unchecked_ref_object(&self) -> &Object;
}

impl UncheckedObject for JsValue {
    fn unchecked_ref_object(&self) -> &Object {
        wasm_bindgen::JsCast::unchecked_ref(self)
    }
}
