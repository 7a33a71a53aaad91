//! Chrome compiles a wasm function the first time it runs, and optimizes it
//! only once it has run a while. Opening a large IndexedDB database runs a
//! few hot loops (checking and decoding snapshot pages, replaying the log)
//! once each, so a page's first open would pay for compiling them and run
//! them unoptimized. `warmUp` runs them on a small made-up database while the
//! page is idle after the module loads.

use denokv_proto::{AtomicWrite, KeyPart, KvValue, Mutation, MutationKind};
use wasm_bindgen::prelude::*;

use crate::backend::durable::PAGE_BYTES;
use crate::core::engine::Engine;
use crate::core::entry::StoredEntry;
use crate::core::key;
use crate::core::record::{self, Page, PageWriter};
use crate::core::selector::point_range;
use crate::core::versionstamp;

/// Enough entries for the loops to be worth optimizing, few enough to take
/// about a millisecond.
const ENTRIES: i64 = 2000;

#[wasm_bindgen(js_name = warmUp)]
pub fn warm_up() {
    let key_of = |n: i64| key::encode(vec![KeyPart::String("warm".into()), KeyPart::Int(n.into())]).unwrap_or_default();
    let mut writer = PageWriter::new(PAGE_BYTES);
    for n in 0..ENTRIES {
        let entry = StoredEntry {
            value: KvValue::V8(vec![0xff, 0x0f, 0x49, (n % 100) as u8]),
            versionstamp: versionstamp::from_version(1),
            expires_at_ms: None,
        };
        writer.push(&key_of(n), &entry);
    }
    let pages = writer
        .finish()
        .into_iter()
        .filter_map(|bytes| Page::parse(bytes).ok().flatten())
        .collect();
    let mut engine = Engine::new();
    if engine.load(1, pages).is_err() {
        return;
    }
    let mutations = (0..ENTRIES)
        .step_by(2)
        .map(|n| Mutation {
            key: key_of(n),
            kind: MutationKind::Set(KvValue::U64(n as u64)),
            expire_at: None,
        })
        .collect();
    let write = AtomicWrite {
        checks: Vec::new(),
        mutations,
        enqueues: Vec::new(),
    };
    if let Ok(Some(prepared)) = engine.prepare(write, 0) {
        if let Ok(replayed) = record::decode_commit(&record::encode_commit(&prepared)) {
            engine.apply(replayed);
        }
    }
    let _ = engine.read_range(&point_range(key_of(ENTRIES - 1)), 0);
}
