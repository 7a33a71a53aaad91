//! Read results leave wasm as one batch, whatever the number of entries
//! (its layout is `batch` in mod.rs), with every value's bytes in one
//! buffer. wire.js slices it up. Per entry this costs the
//! key array and nothing else that crosses the boundary; key parts repeated
//! from the previous entry (a listed prefix) are reused rather than decoded
//! again. Point reads skip the keys (`keys` is undefined): the JS layer
//! already holds them.

use denokv_proto::{encode_value_owned, KeyPart, KvEntry};
use js_sys::{Array, Uint32Array, Uint8Array};
use wasm_bindgen::JsValue;

use super::{batch, point, NO_VALUE};
use crate::bindings::{errors, key};

#[derive(Default)]
pub struct BatchWriter {
    with_keys: bool,
    keys: Vec<JsValue>,
    encodings: Vec<u8>,
    values: Vec<u8>,
    value_ends: Vec<u32>,
    versionstamps: Vec<u8>,
    previous_parts: Vec<(KeyPart, JsValue)>,
}

impl BatchWriter {
    pub fn with_capacity(entries: usize, with_keys: bool) -> Self {
        Self {
            with_keys,
            keys: Vec::with_capacity(if with_keys { entries } else { 0 }),
            encodings: Vec::with_capacity(entries),
            value_ends: Vec::with_capacity(entries),
            versionstamps: Vec::with_capacity(entries * 10),
            ..Self::default()
        }
    }

    pub fn push(&mut self, entry: KvEntry) -> Result<(), JsValue> {
        if self.with_keys {
            let key = self.key_to_js(&entry.key)?;
            self.keys.push(key);
        }
        let (bytes, encoding) = encode_value_owned(entry.value);
        self.encodings.push(encoding as u8);
        self.values.extend_from_slice(&bytes);
        self.value_ends.push(self.values.len() as u32);
        self.versionstamps.extend_from_slice(&entry.versionstamp);
        Ok(())
    }

    pub fn push_missing(&mut self) {
        self.encodings.push(NO_VALUE);
        self.value_ends.push(self.values.len() as u32);
        self.versionstamps.extend_from_slice(&[0; 10]);
    }

    pub fn finish(self) -> JsValue {
        let keys: JsValue = if self.with_keys {
            // One crossing for the whole array: collecting into an `Array`
            // pushes each key across the boundary on its own.
            JsValue::from(self.keys)
        } else {
            JsValue::UNDEFINED
        };
        let encodings = Uint8Array::from(self.encodings.as_slice());
        let values = Uint8Array::from(self.values.as_slice());
        let value_ends = Uint32Array::from(self.value_ends.as_slice());
        let versionstamps = Uint8Array::from(self.versionstamps.as_slice());
        let mut fields: [JsValue; batch::FIELDS] = Default::default();
        fields[batch::KEYS] = keys;
        fields[batch::ENCODINGS] = encodings.into();
        fields[batch::VALUES] = values.into();
        fields[batch::VALUE_ENDS] = value_ends.into();
        fields[batch::VERSIONSTAMPS] = versionstamps.into();
        let [a, b, c, d, e] = &fields;
        Array::of5(a, b, c, d, e).into()
    }

    fn key_to_js(&mut self, encoded: &[u8]) -> Result<JsValue, JsValue> {
        let parts = crate::core::key::decode(encoded).map_err(errors::to_js)?;
        let mut js_parts = Vec::with_capacity(parts.len());
        for (index, part) in parts.into_iter().enumerate() {
            // Strings and bigints are immutable, so one JS value may serve
            // several entries; byte parts are fresh Uint8Arrays each time.
            let reusable = matches!(part, KeyPart::String(_) | KeyPart::Int(_));
            match self.previous_parts.get(index) {
                Some((previous, js)) if reusable && *previous == part => js_parts.push(js.clone()),
                _ => {
                    let js = key::part_to_js(&part);
                    js_parts.push(js.clone());
                    if index < self.previous_parts.len() {
                        self.previous_parts[index] = (part, js);
                    } else {
                        self.previous_parts.push((part, js));
                    }
                }
            }
        }
        Ok(match js_parts.as_slice() {
            [a] => Array::of1(a),
            [a, b] => Array::of2(a, b),
            [a, b, c] => Array::of3(a, b, c),
            [a, b, c, d] => Array::of4(a, b, c, d),
            parts => parts.iter().collect(),
        }
        .into())
    }
}

/// A point read's entry (`point` in mod.rs).
pub fn point_read(entry: KvEntry) -> JsValue {
    let (bytes, encoding) = encode_value_owned(entry.value);
    let mut out = vec![0; point::VALUE + bytes.len()];
    out[point::ENCODING] = encoding as u8;
    out[point::VERSIONSTAMP..point::VALUE].copy_from_slice(&entry.versionstamp);
    out[point::VALUE..].copy_from_slice(&bytes);
    Uint8Array::from(out.as_slice()).into()
}
