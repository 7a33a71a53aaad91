//! The two halves of the boundary against each other: pkg-template/wire.js
//! packs and this module parses, and the other way round, for every kind,
//! encoding and shape. A number or a position that drifts on either side
//! (Rust changed and wire.js not rebuilt, or a packing that ignores a
//! position) fails here, not only through some end-to-end behaviour.

use denokv_proto::{KeyPart, KvEntry, KvValue, MutationKind};
use js_sys::{Array, Function, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

use super::*;
use crate::core::key as key_codec;

#[wasm_bindgen(module = "/pkg-template/wire.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = checkWireShapes)]
    fn check_wire_shapes(shapes: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(js_name = pushMutationRow)]
    fn push_mutation_row(rows: &Array, kind: f64, encoding: f64, value_end: f64, expire_in: &JsValue);
    #[wasm_bindgen(js_name = mutationRowsToCommit)]
    fn mutation_rows_to_commit(rows: &Array, keys: &Array, has_suffix_marker: &Function) -> js_sys::Float64Array;

    #[wasm_bindgen(js_name = checkTuple)]
    fn check_tuple(key: &JsValue, versionstamp: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = enqueueTuple)]
    fn enqueue_tuple(payload: &Uint8Array, delay: f64, keys_if_undelivered: &JsValue, schedule: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = messageId)]
    fn message_id(message: &JsValue) -> f64;
    #[wasm_bindgen(js_name = messagePayload)]
    fn message_payload(message: &JsValue) -> Uint8Array;
    #[wasm_bindgen(js_name = committedVersionstamp)]
    fn committed_versionstamp(answer: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = pointEntry)]
    fn point_entry(requested_key: &JsValue, bytes: &JsValue, decode_value: &Function) -> JsValue;
    #[wasm_bindgen(js_name = batchEntries)]
    fn batch_entries(batch: &JsValue, requested_keys: &JsValue, decode_value: &Function) -> Array;
}

#[wasm_bindgen_test]
fn wire_js_has_the_numbers_of_this_wasm() {
    if let Err(err) = check_wire_shapes(&wire_shapes()) {
        panic!(
            "pkg-template/wire.js is stale (node scripts/build.mjs rewrites it): {}",
            js_sys::Error::from(err).message()
        );
    }
}

fn encoding_number(name: &str) -> f64 {
    ENCODINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, number)| *number as f64)
        .unwrap()
}

fn kind_number(kind: Kind) -> f64 {
    KINDS.iter().position(|(k, _)| *k == kind).unwrap() as f64
}

fn js_key(parts: &[&str]) -> JsValue {
    parts
        .iter()
        .map(|part| JsValue::from_str(part))
        .collect::<Array>()
        .into()
}

fn get(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap()
}

/// The values each encoding carries in these tests, as Rust sees them.
fn sample_value(encoding: &str) -> Option<(Vec<u8>, KvValue)> {
    match encoding {
        "none" => None,
        "v8" => Some((vec![0xff, 0x0f, 0x49, 0x02], KvValue::V8(vec![0xff, 0x0f, 0x49, 0x02]))),
        "le64" => Some((42u64.to_le_bytes().to_vec(), KvValue::U64(42))),
        "bytes" => Some((vec![7, 8, 9], KvValue::Bytes(vec![7, 8, 9]))),
        other => panic!("no sample for {other}"),
    }
}

/// What Deno's mutation of `kind` with `value` is, or None where the
/// combination is not a mutation.
fn expected_kind(kind: Kind, value: Option<KvValue>) -> Option<MutationKind> {
    Some(match (kind, value) {
        (Kind::Set, Some(v)) => MutationKind::Set(v),
        (Kind::Delete, None) => MutationKind::Delete,
        (Kind::Sum, Some(v)) => MutationKind::Sum {
            value: v,
            min_v8: Vec::new(),
            max_v8: Vec::new(),
            clamp: false,
        },
        (Kind::Min, Some(v)) => MutationKind::Min(v),
        (Kind::Max, Some(v)) => MutationKind::Max(v),
        (Kind::SetSuffixVersionstampedKey, Some(v)) => MutationKind::SetSuffixVersionstampedKey(v),
        _ => return None,
    })
}

fn no_marker() -> Function {
    Function::new_with_args("key", "return false")
}

#[wasm_bindgen_test]
fn every_kind_and_encoding_packed_by_wire_js_parses_as_that_mutation() {
    for (kind, name) in KINDS {
        for (encoding, _) in ENCODINGS {
            let (keys, rows) = (Array::of1(&js_key(&[name, encoding])), Array::new());
            let sample = sample_value(encoding);
            let bytes = sample.as_ref().map(|(bytes, _)| bytes.clone()).unwrap_or_default();
            let expire_in = if kind == Kind::Set {
                JsValue::from(5)
            } else {
                JsValue::UNDEFINED
            };
            push_mutation_row(
                &rows,
                kind_number(kind),
                encoding_number(encoding),
                bytes.len() as f64,
                &expire_in,
            );
            let rows = mutation_rows_to_commit(&rows, &keys, &no_marker()).to_vec();
            let parsed = parse_mutations(&keys, &rows, &bytes);
            let expected = expected_kind(kind, sample.map(|(_, value)| value));
            match (parsed, expected) {
                (Ok(mut parsed), Some(expected)) => {
                    let mutation = parsed.pop().unwrap();
                    assert_eq!(
                        format!("{:?}", mutation.kind),
                        format!("{expected:?}"),
                        "{name} {encoding}"
                    );
                    assert_eq!(
                        mutation.key,
                        vec![KeyPart::String(name.into()), KeyPart::String(encoding.into())]
                    );
                    let expected_expiry = (kind == Kind::Set).then_some(5.0);
                    assert_eq!(mutation.expire_in_ms, expected_expiry, "{name} {encoding}");
                }
                (Err(_), None) => {}
                (parsed, expected) => panic!(
                    "{name} with {encoding}: parsed {:?}, expected {expected:?}",
                    parsed.map(|p| p.into_iter().map(|m| format!("{:?}", m.kind)).collect::<Vec<_>>())
                ),
            }
        }
    }
}

#[wasm_bindgen_test]
fn a_set_whose_key_ends_with_the_marker_goes_as_a_versionstamped_key() {
    let keys = Array::of2(&js_key(&["a", "marker"]), &js_key(&["b", "marker"]));
    let rows = Array::new();
    push_mutation_row(
        &rows,
        kind_number(Kind::Set),
        encoding_number("bytes"),
        3.0,
        &JsValue::UNDEFINED,
    );
    push_mutation_row(
        &rows,
        kind_number(Kind::Sum),
        encoding_number("le64"),
        11.0,
        &JsValue::UNDEFINED,
    );
    let marker = Function::new_with_args("key", "return key[key.length - 1] === 'marker'");
    let rows = mutation_rows_to_commit(&rows, &keys, &marker).to_vec();
    let mut values = vec![7, 8, 9];
    values.extend_from_slice(&5u64.to_le_bytes());
    let parsed = parse_mutations(&keys, &rows, &values).unwrap();
    assert_eq!(parsed[0].key, vec![KeyPart::String("a".into())]);
    assert!(
        matches!(parsed[0].kind, MutationKind::SetSuffixVersionstampedKey(KvValue::Bytes(ref b)) if b == &[7, 8, 9])
    );
    assert_eq!(parsed[1].key.len(), 2, "only a set takes the marker as Deno's");
    assert!(matches!(
        parsed[1].kind,
        MutationKind::Sum {
            value: KvValue::U64(5),
            ..
        }
    ));
}

#[wasm_bindgen_test]
fn checks_and_enqueues_packed_by_wire_js_parse_field_by_field() {
    let stamp = "0000000000000007000a";
    let check = parse_check(&check_tuple(&js_key(&["c"]), &JsValue::from_str(stamp))).unwrap();
    assert_eq!(check.key, vec![KeyPart::String("c".into())]);
    assert_eq!(check.versionstamp.as_deref(), Some(stamp));
    let check = parse_check(&check_tuple(&js_key(&["d"]), &JsValue::NULL)).unwrap();
    assert_eq!(check.versionstamp, None);

    let keys: Array = [js_key(&["k1"]), js_key(&["k2"])].iter().collect();
    let schedule: Array = [JsValue::from(10), JsValue::from(20)].iter().collect();
    let enqueue = parse_enqueue(&enqueue_tuple(
        &Uint8Array::from(&[1u8, 2, 3][..]),
        250.0,
        &keys,
        &schedule,
    ))
    .unwrap();
    assert_eq!(enqueue.payload, vec![1, 2, 3]);
    assert_eq!(enqueue.delay_ms, 250.0);
    assert_eq!(
        enqueue.keys_if_undelivered,
        vec![vec![KeyPart::String("k1".into())], vec![KeyPart::String("k2".into())]]
    );
    assert_eq!(enqueue.backoff_schedule, Some(vec![10, 20]));
    let enqueue = parse_enqueue(&enqueue_tuple(
        &Uint8Array::new_with_length(0),
        0.0,
        &Array::new(),
        &JsValue::NULL,
    ))
    .unwrap();
    assert_eq!(enqueue.backoff_schedule, None);
}

#[wasm_bindgen_test]
fn a_queue_message_unpacks_in_wire_js() {
    let message = queue_message(3, &[4, 5]);
    assert_eq!(message_id(&message), 3.0);
    assert_eq!(message_payload(&message).to_vec(), vec![4, 5]);
}

/// Stands in for values.js's decoder: hands back the encoding and the value's
/// bytes, `bytes[start, end)` (wire.js passes the batch's whole buffer).
fn recording_decoder() -> Function {
    Function::new_with_args(
        "encoding, bytes, start, end",
        "return [encoding, Array.from(bytes.subarray(start, end))]",
    )
}

fn decoded(value: &JsValue) -> (f64, Vec<u8>) {
    let pair: &Array = value.unchecked_ref();
    let bytes = Array::from(&pair.get(1))
        .iter()
        .map(|b| b.as_f64().unwrap() as u8)
        .collect();
    (pair.get(0).as_f64().unwrap(), bytes)
}

fn stamp(n: u8) -> [u8; 10] {
    [0, 0, 0, 0, 0, 0, 1, n, 0, n]
}

fn samples() -> Vec<(&'static str, KvEntry)> {
    ["v8", "le64", "bytes"]
        .into_iter()
        .enumerate()
        .map(|(i, encoding)| {
            let key = key_codec::encode(vec![KeyPart::String(encoding.into())]).unwrap();
            let (_, value) = sample_value(encoding).unwrap();
            (
                encoding,
                KvEntry {
                    key,
                    value,
                    versionstamp: stamp(i as u8 + 1),
                },
            )
        })
        .collect()
}

#[wasm_bindgen_test]
fn a_read_batch_unpacks_in_wire_js_entry_by_entry() {
    for with_keys in [false, true] {
        let mut batch = BatchWriter::with_capacity(4, with_keys);
        let mut expected = Vec::new();
        for (encoding, entry) in samples() {
            expected.push(Some((encoding, entry.versionstamp)));
            batch.push(entry).unwrap();
            if !with_keys {
                expected.push(None);
                batch.push_missing();
            }
        }
        let requested: Array = expected
            .iter()
            .map(|e| js_key(&[e.map_or("missing", |(encoding, _)| encoding)]))
            .collect();
        let entries = batch_entries(&batch.finish(), &requested, &recording_decoder());
        assert_eq!(entries.length() as usize, expected.len());
        for (i, expected) in expected.into_iter().enumerate() {
            let entry = entries.get(i as u32);
            let Some((encoding, stamp)) = expected else {
                assert!(entry.is_null(), "a missing key is null");
                continue;
            };
            let (number, bytes) = decoded(&get(&entry, "value"));
            assert_eq!(number, encoding_number(encoding));
            assert_eq!(bytes, sample_value(encoding).unwrap().0);
            assert_eq!(
                get(&entry, "versionstamp").as_string().unwrap(),
                versionstamp::to_hex(&stamp)
            );
            let key = Array::from(&get(&entry, "key"));
            assert_eq!(
                key.get(0).as_string().as_deref(),
                Some(encoding),
                "with_keys = {with_keys}"
            );
        }
    }
}

#[wasm_bindgen_test]
fn a_point_read_unpacks_in_wire_js() {
    for (encoding, entry) in samples() {
        let stamp = entry.versionstamp;
        let entry = point_entry(&js_key(&["p"]), &point_read(entry), &recording_decoder());
        let (number, bytes) = decoded(&get(&entry, "value"));
        assert_eq!(number, encoding_number(encoding));
        assert_eq!(bytes, sample_value(encoding).unwrap().0);
        assert_eq!(
            get(&entry, "versionstamp").as_string().unwrap(),
            versionstamp::to_hex(&stamp)
        );
    }
}

#[wasm_bindgen_test]
fn a_commit_versionstamp_reads_the_same_as_a_number_or_as_text() {
    let as_number = [0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0];
    let with_index = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1];
    let beyond_doubles = [0, 0x20, 0, 0, 0, 0, 0, 1, 0, 0];
    for stamp in [as_number, with_index, beyond_doubles] {
        let answer = commit_versionstamp(Some(stamp));
        assert_eq!(
            committed_versionstamp(&answer).as_string().unwrap(),
            versionstamp::to_hex(&stamp)
        );
    }
    assert!(
        commit_versionstamp(Some(as_number)).as_f64().is_some(),
        "the cheap form is used"
    );
    assert!(committed_versionstamp(&commit_versionstamp(None)).is_null());
}
