//! JS value → V8 serialization bytes (format 15, which every V8 since 2019
//! reads, Deno 2 and Node 20 included). This writes the bytes directly from
//! the JS value: `v8_valueserializer`'s value model cannot be built from
//! outside the crate for array buffers, and skipping it keeps the hot path to
//! one pass. Object ids are assigned in V8's order (a view's buffer before
//! the view), so shared references and cycles become V8 back-references.

use js_sys::{
    Array, ArrayBuffer, BigInt, Date, JsString, Map, Object, Reflect, RegExp, Set, Uint8Array,
};
use wasm_bindgen::{JsCast, JsValue};

use super::js::{self, kind};

const WIRE_FORMAT_VERSION: u8 = 15;
/// `v8_valueserializer` refuses to read values nested deeper than 256
/// levels, so deeper ones are refused here rather than stored unreadable.
const MAX_DEPTH: usize = 256;

mod tag {
    pub const VERSION: u8 = 0xFF;
    pub const PADDING: u8 = 0x00;
    pub const THE_HOLE: u8 = b'-';
    pub const UNDEFINED: u8 = b'_';
    pub const NULL: u8 = b'0';
    pub const TRUE: u8 = b'T';
    pub const FALSE: u8 = b'F';
    pub const INT32: u8 = b'I';
    pub const UINT32: u8 = b'U';
    pub const DOUBLE: u8 = b'N';
    pub const BIGINT: u8 = b'Z';
    pub const ONE_BYTE_STRING: u8 = b'"';
    pub const TWO_BYTE_STRING: u8 = b'c';
    pub const OBJECT_REFERENCE: u8 = b'^';
    pub const BEGIN_OBJECT: u8 = b'o';
    pub const END_OBJECT: u8 = b'{';
    pub const BEGIN_SPARSE_ARRAY: u8 = b'a';
    pub const END_SPARSE_ARRAY: u8 = b'@';
    pub const BEGIN_DENSE_ARRAY: u8 = b'A';
    pub const END_DENSE_ARRAY: u8 = b'$';
    pub const DATE: u8 = b'D';
    pub const TRUE_OBJECT: u8 = b'y';
    pub const FALSE_OBJECT: u8 = b'x';
    pub const NUMBER_OBJECT: u8 = b'n';
    pub const BIGINT_OBJECT: u8 = b'z';
    pub const STRING_OBJECT: u8 = b's';
    pub const REGEXP: u8 = b'R';
    pub const BEGIN_MAP: u8 = b';';
    pub const END_MAP: u8 = b':';
    pub const BEGIN_SET: u8 = b'\'';
    pub const END_SET: u8 = b',';
    pub const ARRAY_BUFFER: u8 = b'B';
    pub const ARRAY_BUFFER_VIEW: u8 = b'V';
    pub const ERROR: u8 = b'r';
}

/// V8's view sub-tags, indexed by helpers.js's VIEW_KINDS order.
const VIEW_TAGS: [u8; 12] = [
    b'b', b'B', b'C', b'w', b'W', b'd', b'D', b'f', b'F', b'q', b'Q', b'?',
];

mod error_tag {
    pub const MESSAGE: u8 = b'm';
    pub const CAUSE: u8 = b'c';
    pub const STACK: u8 = b's';
    pub const END: u8 = b'.';
}

pub fn serialize(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    let mut writer = V8Writer {
        data: Vec::with_capacity(64),
        ids: None,
        next_id: 0,
        depth: 0,
    };
    writer
        .data
        .extend_from_slice(&[tag::VERSION, WIRE_FORMAT_VERSION]);
    writer.value(value)?;
    Ok(writer.data)
}

struct V8Writer {
    data: Vec<u8>,
    /// Object → id, created on the first object so that flat values skip it.
    ids: Option<Map>,
    next_id: u32,
    depth: usize,
}

/// Latin-1 text as one byte per char, the rest as UTF-16 code units, as V8
/// writes strings; lone surrogates survive because they are read as UTF-16.
pub enum JsText {
    Latin1(Vec<u8>),
    Utf16(Vec<u16>),
}

pub fn js_text(value: &JsValue) -> JsText {
    if !js::is_well_formed(value) {
        return JsText::Utf16(value.unchecked_ref::<JsString>().iter().collect());
    }
    let text = value.as_string().unwrap_or_default();
    if text.is_ascii() {
        return JsText::Latin1(text.into_bytes());
    }
    if text.chars().all(|c| (c as u32) < 0x100) {
        return JsText::Latin1(text.chars().map(|c| c as u8).collect());
    }
    JsText::Utf16(text.encode_utf16().collect())
}

/// A bigint's sign and little-endian magnitude bytes.
pub fn bigint_le_bytes(value: &JsValue) -> Result<(bool, Vec<u8>), JsValue> {
    if let Ok(small) = i64::try_from(value.clone()) {
        let magnitude = small.unsigned_abs().to_le_bytes();
        let used = 8 - magnitude.iter().rev().take_while(|b| **b == 0).count();
        return Ok((small < 0, magnitude[..used].to_vec()));
    }
    let big: &BigInt = value.unchecked_ref();
    let text = String::from(big.to_string(16).map_err(JsValue::from)?);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.as_str()),
    };
    let mut bytes = Vec::with_capacity(digits.len() / 2 + 1);
    let digits = digits.as_bytes();
    let mut end = digits.len();
    while end > 0 {
        let start = end.saturating_sub(2);
        let pair = std::str::from_utf8(&digits[start..end]).unwrap_or("0");
        bytes.push(
            u8::from_str_radix(pair, 16).map_err(|_| js_sys::TypeError::new("invalid bigint"))?,
        );
        end = start;
    }
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    Ok((negative, bytes))
}

impl V8Writer {
    fn varint(&mut self, mut value: u32) {
        while value >= 0x80 {
            self.data.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.data.push(value as u8);
    }

    fn double(&mut self, value: f64) {
        self.data.extend_from_slice(&value.to_le_bytes());
    }

    fn number(&mut self, n: f64) {
        let is_small_int = n.fract() == 0.0 && n >= i32::MIN as f64 && n <= i32::MAX as f64;
        if is_small_int && !(n == 0.0 && n.is_sign_negative()) {
            let n = n as i32;
            self.data.push(tag::INT32);
            self.varint(((n << 1) ^ (n >> 31)) as u32);
        } else {
            self.data.push(tag::DOUBLE);
            self.double(n);
        }
    }

    fn bigint_contents(&mut self, value: &JsValue) -> Result<(), JsValue> {
        let (negative, bytes) = bigint_le_bytes(value)?;
        // V8 stores bigint digits in whole 64-bit words.
        let padded_len = bytes.len().div_ceil(8) * 8;
        let bitfield = ((padded_len as u32) << 1) | u32::from(negative);
        self.varint(bitfield);
        self.data.extend_from_slice(&bytes);
        self.data
            .resize(self.data.len() + padded_len - bytes.len(), 0);
        Ok(())
    }

    fn string(&mut self, value: &JsValue) {
        match js_text(value) {
            JsText::Latin1(bytes) => {
                self.data.push(tag::ONE_BYTE_STRING);
                self.varint(bytes.len() as u32);
                self.data.extend_from_slice(&bytes);
            }
            JsText::Utf16(units) => {
                let byte_len = (units.len() * 2) as u32;
                // V8 aligns two-byte string contents to an even offset.
                if (self.data.len() + 1 + varint_len(byte_len)) % 2 == 1 {
                    self.data.push(tag::PADDING);
                }
                self.data.push(tag::TWO_BYTE_STRING);
                self.varint(byte_len);
                for unit in units {
                    self.data.extend_from_slice(&unit.to_le_bytes());
                }
            }
        }
    }

    fn value(&mut self, value: &JsValue) -> Result<(), JsValue> {
        if value.is_undefined() {
            self.data.push(tag::UNDEFINED);
        } else if value.is_null() {
            self.data.push(tag::NULL);
        } else if let Some(b) = value.as_bool() {
            self.data.push(if b { tag::TRUE } else { tag::FALSE });
        } else if let Some(n) = value.as_f64() {
            self.number(n);
        } else if value.is_string() {
            self.string(value);
        } else if value.is_bigint() {
            self.data.push(tag::BIGINT);
            self.bigint_contents(value)?;
        } else if value.is_object() {
            self.object(value)?;
        } else {
            return Err(js::make_data_clone_error(value));
        }
        Ok(())
    }

    /// Writes a back-reference and returns false if `object` was written before.
    fn claim_id(&mut self, object: &JsValue) -> bool {
        let ids = self.ids.get_or_insert_with(Map::new);
        if let Some(id) = ids.get(object).as_f64() {
            self.data.push(tag::OBJECT_REFERENCE);
            let id = id as u32;
            self.varint(id);
            return false;
        }
        ids.set(object, &JsValue::from(self.next_id));
        self.next_id += 1;
        true
    }

    fn already_written(&self, object: &JsValue) -> bool {
        self.ids.as_ref().is_some_and(|ids| ids.has(object))
    }

    fn object(&mut self, value: &JsValue) -> Result<(), JsValue> {
        if self.depth >= MAX_DEPTH {
            return Err(js_sys::RangeError::new(&format!(
                "Value is nested too deeply to store (max {MAX_DEPTH} levels)"
            ))
            .into());
        }
        let object_kind = js::classify(value);
        if object_kind == kind::UNCLONEABLE {
            return Err(js::make_data_clone_error(value));
        }
        let view_parts = if (object_kind == kind::VIEW || object_kind == kind::UINT8ARRAY)
            && !self.already_written(value)
        {
            let parts = js::describe_view(value);
            let buffer = parts.get(1);
            if !buffer.is_instance_of::<ArrayBuffer>() {
                return Err(js::make_data_clone_error(&buffer));
            }
            self.depth += 1;
            let written = self.object(&buffer);
            self.depth -= 1;
            written?;
            Some(parts)
        } else {
            None
        };
        if !self.claim_id(value) {
            return Ok(());
        }
        self.depth += 1;
        let written = self.fresh_object(value, object_kind, view_parts);
        self.depth -= 1;
        written
    }

    fn fresh_object(
        &mut self,
        value: &JsValue,
        object_kind: u32,
        view_parts: Option<Array>,
    ) -> Result<(), JsValue> {
        match object_kind {
            kind::ARRAY => self.array(value.unchecked_ref())?,
            kind::DATE => {
                self.data.push(tag::DATE);
                self.double(value.unchecked_ref::<Date>().get_time());
            }
            kind::REGEXP => {
                let regexp: &RegExp = value.unchecked_ref();
                self.data.push(tag::REGEXP);
                self.string(&JsValue::from(regexp.source()));
                self.varint(regexp_flag_bits(&String::from(regexp.flags())));
            }
            kind::MAP => {
                self.data.push(tag::BEGIN_MAP);
                let mut count = 0u32;
                for pair in value.unchecked_ref::<Map>().entries() {
                    let pair: Array = pair?.unchecked_into();
                    self.value(&pair.get(0))?;
                    self.value(&pair.get(1))?;
                    count += 2;
                }
                self.data.push(tag::END_MAP);
                self.varint(count);
            }
            kind::SET => {
                self.data.push(tag::BEGIN_SET);
                let mut count = 0u32;
                for item in value.unchecked_ref::<Set>().values() {
                    self.value(&item?)?;
                    count += 1;
                }
                self.data.push(tag::END_SET);
                self.varint(count);
            }
            kind::ARRAY_BUFFER => {
                let bytes = Uint8Array::new(value);
                self.data.push(tag::ARRAY_BUFFER);
                self.varint(bytes.length());
                let start = self.data.len();
                self.data.resize(start + bytes.length() as usize, 0);
                bytes.copy_to(&mut self.data[start..]);
            }
            kind::VIEW | kind::UINT8ARRAY => {
                let parts = view_parts.ok_or_else(|| js::make_data_clone_error(value))?;
                let kind_index = parts.get(0).as_f64().unwrap_or(-1.0);
                let view_tag = VIEW_TAGS
                    .get(kind_index as usize)
                    .copied()
                    .ok_or_else(|| js::make_data_clone_error(value))?;
                let byte_offset = parts.get(2).as_f64().unwrap_or(0.0) as u32;
                let byte_length = parts.get(3).as_f64().unwrap_or(0.0) as u32;
                self.data.push(tag::ARRAY_BUFFER_VIEW);
                self.data.push(view_tag);
                self.varint(byte_offset);
                self.varint(byte_length);
                self.varint(0);
            }
            kind::ERROR => self.error(value)?,
            kind::BOOLEAN => {
                let inner = value.unchecked_ref::<Object>().value_of();
                self.data.push(if inner.is_truthy() {
                    tag::TRUE_OBJECT
                } else {
                    tag::FALSE_OBJECT
                });
            }
            kind::NUMBER => {
                self.data.push(tag::NUMBER_OBJECT);
                let inner = value.unchecked_ref::<Object>().value_of();
                self.double(inner.as_f64().unwrap_or(f64::NAN));
            }
            kind::STRING => {
                self.data.push(tag::STRING_OBJECT);
                self.string(&value.unchecked_ref::<Object>().value_of());
            }
            kind::BIGINT => {
                self.data.push(tag::BIGINT_OBJECT);
                self.bigint_contents(&value.unchecked_ref::<Object>().value_of())?;
            }
            _ => {
                self.data.push(tag::BEGIN_OBJECT);
                let count = self.properties(value, false)?;
                self.data.push(tag::END_OBJECT);
                self.varint(count);
            }
        }
        Ok(())
    }

    /// Writes own enumerable string-keyed properties; returns how many.
    fn properties(&mut self, object: &JsValue, skip_indices: bool) -> Result<u32, JsValue> {
        let keys = Object::keys(object.unchecked_ref::<Object>());
        let mut count = 0;
        for key in keys.iter() {
            let index = array_index(&key);
            if skip_indices && index.is_some() {
                continue;
            }
            match index {
                Some(index) => {
                    self.data.push(tag::UINT32);
                    self.varint(index);
                }
                None => self.string(&key),
            }
            let item = Reflect::get(object, &key)?;
            self.value(&item)?;
            count += 1;
        }
        Ok(count)
    }

    fn array(&mut self, array: &Array) -> Result<(), JsValue> {
        let length = array.length();
        let index_count = Object::keys(array)
            .iter()
            .filter(|k| array_index(k).is_some())
            .count();
        // Mostly-empty arrays go sparse, so `[]; a[1e9] = 1` stays small.
        if (index_count as u64) * 2 < length as u64 {
            self.data.push(tag::BEGIN_SPARSE_ARRAY);
            self.varint(length);
            let count = self.properties(array, false)?;
            self.data.push(tag::END_SPARSE_ARRAY);
            self.varint(count);
            self.varint(length);
            return Ok(());
        }
        self.data.push(tag::BEGIN_DENSE_ARRAY);
        self.varint(length);
        let has_holes = (index_count as u32) < length;
        for index in 0..length {
            if has_holes && !Reflect::has(array, &JsValue::from(index))? {
                self.data.push(tag::THE_HOLE);
                continue;
            }
            self.value(&array.get(index))?;
        }
        let count = self.properties(array, true)?;
        self.data.push(tag::END_DENSE_ARRAY);
        self.varint(count);
        self.varint(length);
        Ok(())
    }

    fn error(&mut self, value: &JsValue) -> Result<(), JsValue> {
        let parts = js::describe_error(value);
        self.data.push(tag::ERROR);
        let name_tag = match parts.get(0).as_string().as_deref() {
            Some("EvalError") => Some(b'E'),
            Some("RangeError") => Some(b'R'),
            Some("ReferenceError") => Some(b'F'),
            Some("SyntaxError") => Some(b'S'),
            Some("TypeError") => Some(b'T'),
            Some("URIError") => Some(b'U'),
            _ => None,
        };
        if let Some(name_tag) = name_tag {
            self.data.push(name_tag);
        }
        let message = parts.get(1);
        if !message.is_undefined() {
            self.data.push(error_tag::MESSAGE);
            self.string(&message);
        }
        let stack = parts.get(2);
        if !stack.is_undefined() {
            self.data.push(error_tag::STACK);
            self.string(&stack);
        }
        if parts.get(3).is_truthy() {
            self.data.push(error_tag::CAUSE);
            self.value(&parts.get(4))?;
        }
        self.data.push(error_tag::END);
        Ok(())
    }
}

fn varint_len(mut value: u32) -> usize {
    let mut len = 1;
    while value >= 0x80 {
        value >>= 7;
        len += 1;
    }
    len
}

/// The array index a property key names, if any (`"0"`, `"17"`, not `"01"`).
fn array_index(key: &JsValue) -> Option<u32> {
    let text = key.as_string()?;
    let index: u32 = text.parse().ok()?;
    (index != u32::MAX && (text == "0" || !text.starts_with('0'))).then_some(index)
}

fn regexp_flag_bits(flags: &str) -> u32 {
    flags
        .chars()
        .map(|flag| match flag {
            'g' => 1,
            'i' => 1 << 1,
            'm' => 1 << 2,
            'y' => 1 << 3,
            'u' => 1 << 4,
            's' => 1 << 5,
            'l' => 1 << 6,
            'd' => 1 << 7,
            'v' => 1 << 8,
            _ => 0,
        })
        .fold(0, |bits, flag| bits | flag)
}
