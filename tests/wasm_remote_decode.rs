//! The KV Connect client's wire decoders, compiled for wasm32 and run in
//! Node, fed what a hostile server could send:
//!
//!   cargo test --target wasm32-unknown-unknown --test wasm_remote_decode
//!
//! Native tests (tests/decode_fuzz.rs, the unit tests) cannot see this class
//! of bug: there `usize` is 64 bits, so a u32 length from the wire plus a
//! header never wraps, and an allocation sized by it fails differently. Here
//! it is 32 bits, as in the shipped package. A panic in a wasm test aborts
//! it (a trap, as `RuntimeError: unreachable` would kill a user's process),
//! so every call below must return `Ok` or `Err`.
//!
//! This is a debug build: the webkv crate and its dependencies keep their
//! overflow checks, so an overflowing addition panics here even where the
//! release build would wrap silently. The one exception is Cargo.toml's
//! `[profile.dev.package.v8_valueserializer] overflow-checks = false`: that
//! crate adds untrusted lengths to positions and relies on wrapping to
//! return `Err` (what its release build does, and what users run); with
//! checks on, its debug build would trap on inputs the release build
//! rejects. The V8 reader only serves local `sum`/`min`/`max` (KV Connect
//! values reach JS as bytes), and `v8_lengths_near_u32_max_are_errors` below
//! pins its behaviour under wasm32 with that setting.
//!
//! Inputs: valid seeds (snapshot read, atomic write and watch outputs,
//! metadata JSON, framed watch streams), byte mutations of them (flips,
//! inserts, deletes, truncations, duplicated slices), varints and u32
//! prefixes replaced by edge values (0xFFFFFFFF-ish, 10-byte varints), and
//! random bytes. Memory must stay bounded: wasm memory never shrinks, so the
//! growth over the whole run is checked at the end.
//!
//! `WEBKV_FUZZ_CASES=200000 cargo test --target wasm32-unknown-unknown --test wasm_remote_decode`
//! (read at compile time) runs longer.
#![cfg(target_arch = "wasm32")]

use std::num::NonZeroU32;

use denokv_proto::datapath as pb;
use denokv_proto::ReadRange;
use prost::Message;
use wasm_bindgen_test::wasm_bindgen_test;
use webkv::backend::remote::metadata::Metadata;
use webkv::backend::remote::wire::{self, FrameReader, MAX_WATCH_FRAME_BYTES};
use webkv::bindings::wasm_memory_bytes;

fn cases() -> usize {
    option_env!("WEBKV_FUZZ_CASES")
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000)
}

/// xorshift64*: deterministic, so a failure names its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn byte(&mut self) -> u8 {
        const INTERESTING: &[u8] = &[
            0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x0f, 0x10, 0x12, 0x1a, 0x22, 0x40, 0x7f, 0x80, 0xfe, 0xff,
        ];
        if self.next().is_multiple_of(2) {
            INTERESTING[self.below(INTERESTING.len())]
        } else {
            self.next() as u8
        }
    }
}

/// Lengths a hostile server would try: around 2^31 and 2^32 (where a u32
/// plus a small header wraps in a 32-bit usize), around the caps, and past
/// every 64-bit bound.
const EDGE_LENGTHS: &[u64] = &[
    0,
    1,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fff0,
    0xffff_fffb,
    0xffff_fffc,
    0xffff_fffd,
    0xffff_fffe,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0004,
    MAX_WATCH_FRAME_BYTES as u64,
    MAX_WATCH_FRAME_BYTES as u64 + 1,
    u64::MAX,
    u64::MAX - 3,
    i64::MAX as u64,
];

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.byte();
            }
            2 => {
                let b = rng.byte();
                data.insert(rng.below(len + 1), b);
            }
            3 if len > 0 => {
                data.remove(rng.below(len));
            }
            4 => data.truncate(rng.below(len + 1)),
            5 if len > 0 => {
                let from = rng.below(len);
                let chunk = data[from..(from + 1 + rng.below(16)).min(len)].to_vec();
                let to = rng.below(len + 1);
                data.splice(to..to, chunk);
            }
            // An edge length as a varint (protobuf lengths) ...
            6 => {
                let mut edge = Vec::new();
                varint(EDGE_LENGTHS[rng.below(EDGE_LENGTHS.len())], &mut edge);
                let at = rng.below(len + 1);
                let end = (at + rng.below(3)).min(len);
                data.splice(at..end, edge);
            }
            // ... or as a u32 little-endian prefix (watch frames).
            _ => {
                let edge = EDGE_LENGTHS[rng.below(EDGE_LENGTHS.len())] as u32;
                let at = rng.below(len + 1);
                let end = (at + 4).min(len);
                data.splice(at..end, edge.to_le_bytes());
            }
        }
    }
    data
}

fn random_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let n = rng.below(max);
    (0..n).map(|_| rng.byte()).collect()
}

fn entry(key: &[u8], value: &[u8], encoding: pb::ValueEncoding) -> pb::KvEntry {
    pb::KvEntry {
        key: key.to_vec(),
        value: value.to_vec(),
        encoding: encoding as i32,
        versionstamp: vec![0, 0, 0, 0, 0, 0, 0, 7, 0, 0],
    }
}

fn range(start: &[u8], end: &[u8], limit: u32, reverse: bool) -> ReadRange {
    ReadRange {
        start: start.to_vec(),
        end: end.to_vec(),
        limit: NonZeroU32::new(limit).expect("positive"),
        reverse,
    }
}

fn read_seeds() -> Vec<Vec<u8>> {
    let output = |ranges: Vec<Vec<pb::KvEntry>>, status| {
        pb::SnapshotReadOutput {
            ranges: ranges
                .into_iter()
                .map(|values| pb::ReadRangeOutput { values })
                .collect(),
            read_disabled: false,
            read_is_strongly_consistent: true,
            status: status as i32,
        }
        .encode_to_vec()
    };
    vec![
        output(
            vec![vec![
                entry(&[2, b'a', 0], &[0xff, 0x0f, b'T'], pb::ValueEncoding::VeV8),
                entry(&[2, b'b', 0], &7u64.to_le_bytes(), pb::ValueEncoding::VeLe64),
                entry(&[2, b'c', 0], &[1, 2, 3], pb::ValueEncoding::VeBytes),
            ]],
            pb::SnapshotReadStatus::SrSuccess,
        ),
        output(
            vec![vec![], vec![entry(&[2, b'b', 0], &[], pb::ValueEncoding::VeBytes)]],
            pb::SnapshotReadStatus::SrUnspecified,
        ),
        output(vec![], pb::SnapshotReadStatus::SrReadDisabled),
    ]
}

fn asked_ranges() -> Vec<Vec<ReadRange>> {
    vec![
        vec![range(&[2], &[3], 1000, false)],
        vec![range(&[2], &[3], 3, true)],
        vec![
            range(&[2, b'a', 0], &[2, b'a', 0, 0], 1, false),
            range(&[2, b'b', 0], &[2, b'b', 0, 0], 1, false),
        ],
    ]
}

fn watch_seeds() -> Vec<Vec<u8>> {
    let frame = |keys: Vec<pb::WatchKeyOutput>| {
        pb::WatchOutput {
            status: pb::SnapshotReadStatus::SrSuccess as i32,
            keys,
        }
        .encode_to_vec()
    };
    vec![
        frame(vec![
            pb::WatchKeyOutput {
                changed: true,
                entry_if_changed: Some(entry(&[2, b'a', 0], &[0xff, 0x0f, b'0'], pb::ValueEncoding::VeV8)),
            },
            pb::WatchKeyOutput {
                changed: false,
                entry_if_changed: None,
            },
        ]),
        frame(vec![
            pb::WatchKeyOutput {
                changed: true,
                entry_if_changed: None,
            },
            pb::WatchKeyOutput {
                changed: true,
                entry_if_changed: Some(entry(&[2, b'b', 0], &[9; 8], pb::ValueEncoding::VeLe64)),
            },
        ]),
    ]
}

const WATCHED: &[&[u8]] = &[&[2, b'a', 0], &[2, b'b', 0]];

fn write_seeds() -> Vec<Vec<u8>> {
    vec![
        pb::AtomicWriteOutput {
            status: pb::AtomicWriteStatus::AwSuccess as i32,
            versionstamp: vec![0, 0, 0, 0, 0, 0, 0, 9, 0, 0],
            failed_checks: vec![],
        }
        .encode_to_vec(),
        pb::AtomicWriteOutput {
            status: pb::AtomicWriteStatus::AwCheckFailure as i32,
            versionstamp: vec![],
            failed_checks: vec![0, 3, 99],
        }
        .encode_to_vec(),
    ]
}

const METADATA: &str = r#"{"version":3,"databaseId":"00000000-0000-0000-0000-000000000000","endpoints":[{"url":"/v2","consistency":"strong"},{"url":"https://r.example/v2","consistency":"eventual"}],"token":"abc","expiresAt":"2030-01-02T03:04:05.678Z"}"#;

/// Every decoder, on one input. Returns how many accepted it.
fn decode_all(data: &[u8]) -> usize {
    let mut accepted = 0;
    let watched: Vec<Vec<u8>> = WATCHED.iter().map(|k| k.to_vec()).collect();
    for ranges in asked_ranges() {
        accepted += usize::from(wire::snapshot_read_output(data, &ranges).is_ok());
    }
    accepted += usize::from(wire::watch_output(data, &watched).is_ok());
    accepted += usize::from(wire::watch_output(data, &[]).is_ok());
    accepted += usize::from(wire::atomic_write_output(data).is_ok());
    accepted += usize::from(Metadata::parse(data, "http://127.0.0.1:4512/").is_ok());
    accepted += usize::from(Metadata::parse(data, "https://h/").is_ok());
    if let Ok(text) = std::str::from_utf8(data) {
        accepted += usize::from(webkv::core::versionstamp::parse_hex(text).is_some());
    }
    // Keys read from the server are decoded for JS.
    accepted += usize::from(webkv::core::key::decode(data).is_ok());
    accepted
}

/// Feeds `stream` to a frame reader in random chunks, decoding each frame as
/// the watch does; the buffer never holds more than one frame plus a chunk.
fn read_frames(rng: &mut Rng, stream: &[u8]) {
    let watched: Vec<Vec<u8>> = WATCHED.iter().map(|k| k.to_vec()).collect();
    let mut reader = FrameReader::default();
    let mut at = 0;
    while at < stream.len() {
        let chunk = 1 + rng.below(64);
        let end = (at + chunk).min(stream.len());
        reader.push(&stream[at..end]);
        at = end;
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    let _ = wire::watch_output(&frame, &watched);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        assert!(
            reader.buffered() <= 4 + MAX_WATCH_FRAME_BYTES + chunk,
            "{} bytes buffered",
            reader.buffered()
        );
    }
}

fn framed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for frame in frames {
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    out
}

#[wasm_bindgen_test]
fn usize_is_32_bits_here() {
    assert_eq!(usize::BITS, 32, "these tests are only worth it on wasm32");
}

#[wasm_bindgen_test]
fn valid_seeds_decode() {
    let asked = asked_ranges();
    assert!(wire::snapshot_read_output(&read_seeds()[0], &asked[0]).is_ok());
    assert!(wire::snapshot_read_output(&read_seeds()[1], &asked[2]).is_ok());
    let watched: Vec<Vec<u8>> = WATCHED.iter().map(|k| k.to_vec()).collect();
    for seed in watch_seeds() {
        assert!(wire::watch_output(&seed, &watched).is_ok());
    }
    for seed in write_seeds() {
        assert!(wire::atomic_write_output(&seed).is_ok());
    }
    assert!(Metadata::parse(METADATA.as_bytes(), "http://127.0.0.1:4512/").is_ok());
}

#[wasm_bindgen_test]
fn watch_frame_prefixes_at_the_u32_edges_are_errors_not_traps() {
    for declared in [
        0xffff_ffffu32,
        0xffff_fffe,
        0xffff_fffd,
        0xffff_fffc,
        0xffff_fffb,
        0x8000_0000,
        0x7fff_ffff,
    ] {
        for body in [&[][..], &[0; 3][..], &[0; 64][..]] {
            let mut reader = FrameReader::default();
            reader.push(&declared.to_le_bytes());
            reader.push(body);
            let err = reader.next_frame().expect_err("over the cap");
            assert!(err.message.contains("watch frame of"), "{}", err.message);
        }
    }
}

#[wasm_bindgen_test]
fn protobuf_lengths_at_the_edges_are_errors_not_traps() {
    let watched: Vec<Vec<u8>> = WATCHED.iter().map(|k| k.to_vec()).collect();
    for &length in EDGE_LENGTHS.iter().filter(|&&n| n > 64) {
        // A length-delimited field 1 (ranges / status) and 2 (keys /
        // versionstamp) declaring `length`, followed by a few bytes.
        for tag in [0x0a, 0x12, 0x22] {
            let mut data = vec![tag];
            varint(length, &mut data);
            data.extend_from_slice(&[0; 8]);
            for ranges in asked_ranges() {
                assert!(wire::snapshot_read_output(&data, &ranges).is_err(), "{length:#x}");
            }
            assert!(wire::watch_output(&data, &watched).is_err(), "{length:#x}");
            assert!(wire::atomic_write_output(&data).is_err(), "{length:#x}");
        }
    }
    // 11-byte varints and a varint that never ends.
    assert!(
        wire::atomic_write_output(&[0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).is_err()
    );
    assert!(wire::watch_output(&[0x12; 300], &watched).is_err());
    assert!(wire::watch_output(&[0x80; 300], &watched).is_err());
}

#[wasm_bindgen_test]
fn metadata_numbers_and_nesting_at_the_edges_are_errors_not_traps() {
    for replacement in [
        r#""version":4294967296"#,
        r#""version":18446744073709551615"#,
        r#""version":18446744073709551616"#,
        r#""version":1e308"#,
        r#""version":-0"#,
        r#""version":3.0000000000000000001"#,
    ] {
        let json = METADATA.replace(r#""version":3"#, replacement);
        assert!(Metadata::parse(json.as_bytes(), "http://h/").is_err(), "{replacement}");
    }
    for expires in [
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "2030-01-01T00:00:00.99999999999999999999Z",
        "2030-01-01T00:00:00+99:99",
        "2030-01-01T00:00:00é",
    ] {
        let json = METADATA.replace("2030-01-02T03:04:05.678Z", expires);
        let _ = Metadata::parse(json.as_bytes(), "http://h/");
    }
    // Nesting as deep as the 256 KiB metadata cap allows, in a skipped field
    // and in a typed one: wasm's stack is smaller than a native thread's.
    for field in ["extra", "endpoints", "token"] {
        let deep = format!(r#"{{"{field}":{}{}}}"#, "[".repeat(120_000), "]".repeat(120_000));
        assert!(Metadata::parse(deep.as_bytes(), "http://h/").is_err());
    }
}

#[wasm_bindgen_test]
fn v8_lengths_near_u32_max_are_errors() {
    // The inputs tests/decode_fuzz.rs records: lengths that overflow
    // `position + len` in v8_valueserializer's reader. Built with
    // overflow-checks = false for that crate (Cargo.toml), they are `Err`.
    for data in [
        &[0xff, 0x0f, b'"', 0xff, 0xff, 0xff, 0xff, 0x0f][..],
        &[0xff, 0x0f, b'S', 0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0xff, 0x0f, b'B', 0xfe, 0xff, 0xff, 0xff, 0x0f],
        &[0xff, 0x0f, b'c', 0xfe, 0xff, 0xff, 0xff, 0x0f],
    ] {
        assert!(
            v8_valueserializer::ValueDeserializer::default().read(data).is_err(),
            "{data:?}"
        );
    }
}

#[wasm_bindgen_test]
fn mutated_and_random_answers_are_errors_not_traps_with_bounded_memory() {
    let before = wasm_memory_bytes();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut seeds = read_seeds();
    seeds.extend(watch_seeds());
    seeds.extend(write_seeds());
    seeds.push(METADATA.as_bytes().to_vec());
    seeds.push(b"0102030405060708090a".to_vec());
    let mut accepted = 0;
    for case in 0..cases() {
        let data = if case.is_multiple_of(8) {
            random_bytes(&mut rng, 96)
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        accepted += decode_all(&data);
    }
    let grown = wasm_memory_bytes() - before;
    // Inputs are under 1 KB: a decoder that allocates by a declared length
    // rather than the bytes present would show here.
    assert!(grown < 16.0 * 1024.0 * 1024.0, "wasm memory grew by {grown} bytes");
    assert!(accepted > 0, "some mutations stay valid");
}

#[wasm_bindgen_test]
fn mutated_watch_streams_are_errors_not_traps() {
    let before = wasm_memory_bytes();
    let mut rng = Rng(0xfeed_0000_0bad_cafe);
    let frames: Vec<Vec<u8>> = watch_seeds().into_iter().chain([vec![]]).collect();
    for _ in 0..cases() / 4 {
        let mut picked = Vec::new();
        for _ in 0..1 + rng.below(5) {
            picked.push(frames[rng.below(frames.len())].clone());
        }
        let stream = mutate(&mut rng, &framed(&picked));
        read_frames(&mut rng, &stream);
    }
    let grown = wasm_memory_bytes() - before;
    assert!(grown < 16.0 * 1024.0 * 1024.0, "wasm memory grew by {grown} bytes");
}
