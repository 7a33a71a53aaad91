//! The engine against a deliberately naive model.
//!
//! Random sequences of commits, reads and clock moves run against both the
//! engine and a plain `BTreeMap` that implements Deno KV's semantics the
//! obvious way: a commit runs its checks against live versionstamps, then
//! applies its mutations in order to a copy of the map, and keeps that copy
//! only if nothing failed. The key space is small so that checks, sums and
//! overwrites keep hitting the same keys.
//!
//! A second property pages through list selectors with cursors and compares
//! the concatenated pages with one full read and with the model.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU32;

use chrono::DateTime;
use denokv_proto::{AtomicWrite, Check, KeyPart, KvEntry, KvValue, Mutation, MutationKind, ReadRange};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use v8_valueserializer::{Heap, StringValue, Value, ValueDeserializer, ValueSerializer};
use webkv::core::engine::Engine;
use webkv::core::key;
use webkv::core::record::{Page, PageWriter};
use webkv::core::selector::{point_range, Selector};

type Stamp = [u8; 10];

const START_MS: u64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------
// Values as the model sees them: V8 numbers compare as numbers, so that the
// model does not depend on how the engine chooses to encode a sum's result.

#[derive(Clone, Debug, PartialEq)]
enum Val {
    Num(f64),
    V8Other(Vec<u8>),
    Bytes(Vec<u8>),
    U64(u64),
}

fn v8(value: Value) -> Vec<u8> {
    ValueSerializer::default()
        .finish(&Heap::default(), &value)
        .expect("serializable")
}

fn canon(value: &KvValue) -> Val {
    match value {
        KvValue::U64(n) => Val::U64(*n),
        KvValue::Bytes(bytes) => Val::Bytes(bytes.clone()),
        KvValue::V8(bytes) => match ValueDeserializer::default().read(bytes) {
            Ok((Value::I32(n), _)) => Val::Num(n.into()),
            Ok((Value::U32(n), _)) => Val::Num(n.into()),
            Ok((Value::Double(n), _)) => Val::Num(n),
            _ => Val::V8Other(bytes.clone()),
        },
    }
}

/// A value to `set`; both the engine's `KvValue` and the model's `Val` are
/// derived from it.
#[derive(Clone, Debug)]
enum ValSpec {
    Int(i32),
    Half(i8),
    Str(u8),
    Bytes(Vec<u8>),
    U64(u64),
}

impl ValSpec {
    fn kv(&self) -> KvValue {
        match self {
            Self::Int(n) => KvValue::V8(v8(Value::I32(*n))),
            Self::Half(n) => KvValue::V8(v8(Value::Double(f64::from(*n) + 0.5))),
            Self::Str(n) => KvValue::V8(v8(Value::String(StringValue::new(format!("s{n}"))))),
            Self::Bytes(bytes) => KvValue::Bytes(bytes.clone()),
            Self::U64(n) => KvValue::U64(*n),
        }
    }

    fn model(&self) -> Val {
        match self {
            Self::Int(n) => Val::Num(f64::from(*n)),
            Self::Half(n) => Val::Num(f64::from(*n) + 0.5),
            Self::Str(_) => match self.kv() {
                KvValue::V8(bytes) => Val::V8Other(bytes),
                _ => unreachable!(),
            },
            Self::Bytes(bytes) => Val::Bytes(bytes.clone()),
            Self::U64(n) => Val::U64(*n),
        }
    }
}

// ---------------------------------------------------------------------------
// Operations.

#[derive(Clone, Debug)]
enum StampPick {
    /// The key's current versionstamp, as a client that just read it has it.
    Current,
    /// Any versionstamp seen earlier (usually stale for this key).
    Seen(usize),
    /// "The key must not exist".
    Null,
    /// A versionstamp no commit has produced yet.
    Future,
}

#[derive(Clone, Debug)]
enum MutSpec {
    Set(usize, ValSpec, Option<u64>),
    Delete(usize),
    Sum(usize, u64),
    SumNumber(usize, i8, bool),
    Min(usize, u64),
    Max(usize, u64),
    MinNonU64Operand(usize),
    SuffixSet(usize, ValSpec, Option<u64>),
}

#[derive(Clone, Debug)]
enum Op {
    Commit {
        checks: Vec<(usize, StampPick)>,
        mutations: Vec<MutSpec>,
        /// `commit` (collects expired entries first) or `prepare` + `apply`.
        via_prepare: bool,
    },
    Get(usize),
    /// A `get` of any key the model holds, including versionstamped ones.
    GetExisting(usize),
    Range {
        start: usize,
        end: usize,
        limit: u32,
        reverse: bool,
    },
    Advance(u64),
    Collect,
    /// Compacts into snapshot pages of about this many bytes and reloads
    /// from them, as a durable database does at open: the pages are decoded
    /// only as later operations touch them.
    Reload(usize),
    /// Reads the whole database (which decodes every page).
    Scan,
}

fn key_space() -> Vec<Vec<u8>> {
    let s = |x: &str| KeyPart::String(x.into());
    let i = |n: i64| KeyPart::Int(n.into());
    [
        vec![s("a")],
        vec![s("a"), i(0)],
        vec![s("a"), i(1)],
        vec![s("a"), i(1), s("x")],
        vec![s("a"), i(2)],
        vec![s("a"), KeyPart::True],
        vec![s("b")],
        vec![s("b"), i(0)],
        vec![s("b"), KeyPart::Bytes(vec![0])],
        vec![KeyPart::Float(1.5)],
        vec![i(-3)],
        vec![KeyPart::Bytes(vec![])],
    ]
    .into_iter()
    .map(|parts| key::encode(parts).expect("encodable"))
    .collect()
}

/// Range boundaries: every key, just after it, after all its extensions,
/// and the two ends of the key space.
fn boundaries(keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = vec![vec![], vec![0xff]];
    for k in keys {
        out.push(k.clone());
        out.push(key::successor(k));
        let mut end = k.clone();
        end.push(0xff);
        out.push(end);
    }
    out
}

const KEYS: usize = 12;
const BOUNDARIES: usize = 2 + 3 * KEYS;

fn u64_operand() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..10, (u64::MAX - 10)..=u64::MAX, Just(1u64 << 63), any::<u64>(),]
}

fn val_spec() -> impl Strategy<Value = ValSpec> {
    prop_oneof![
        (-5i32..5).prop_map(ValSpec::Int),
        (-5i8..5).prop_map(ValSpec::Half),
        (0u8..3).prop_map(ValSpec::Str),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(ValSpec::Bytes),
        u64_operand().prop_map(ValSpec::U64),
    ]
}

fn expire_in() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        2 => (1u64..20).prop_map(Some),
        1 => (50u64..300).prop_map(Some),
    ]
}

fn key_index() -> impl Strategy<Value = usize> {
    0..KEYS
}

fn mut_spec() -> impl Strategy<Value = MutSpec> {
    prop_oneof![
        4 => (key_index(), val_spec(), expire_in()).prop_map(|(k, v, e)| MutSpec::Set(k, v, e)),
        2 => key_index().prop_map(MutSpec::Delete),
        3 => (key_index(), u64_operand()).prop_map(|(k, n)| MutSpec::Sum(k, n)),
        1 => (key_index(), -4i8..4, any::<bool>()).prop_map(|(k, n, h)| MutSpec::SumNumber(k, n, h)),
        2 => (key_index(), u64_operand()).prop_map(|(k, n)| MutSpec::Min(k, n)),
        2 => (key_index(), u64_operand()).prop_map(|(k, n)| MutSpec::Max(k, n)),
        1 => key_index().prop_map(MutSpec::MinNonU64Operand),
        1 => (key_index(), val_spec(), expire_in()).prop_map(|(k, v, e)| MutSpec::SuffixSet(k, v, e)),
    ]
}

fn stamp_pick() -> impl Strategy<Value = StampPick> {
    prop_oneof![
        4 => Just(StampPick::Current),
        2 => any::<usize>().prop_map(StampPick::Seen),
        2 => Just(StampPick::Null),
        1 => Just(StampPick::Future),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            proptest::collection::vec((key_index(), stamp_pick()), 0..3),
            proptest::collection::vec(mut_spec(), 0..6),
            any::<bool>(),
        )
            .prop_map(|(checks, mutations, via_prepare)| Op::Commit {
                checks,
                mutations,
                via_prepare,
            }),
        2 => key_index().prop_map(Op::Get),
        1 => any::<usize>().prop_map(Op::GetExisting),
        2 => (
            0..BOUNDARIES,
            0..BOUNDARIES,
            prop_oneof![1u32..6, Just(1000)],
            any::<bool>(),
        )
            .prop_map(|(start, end, limit, reverse)| Op::Range {
                start,
                end,
                limit,
                reverse,
            }),
        2 => prop_oneof![0u64..3, 5u64..30, 50u64..400].prop_map(Op::Advance),
        1 => Just(Op::Collect),
        1 => (10usize..120).prop_map(Op::Reload),
        2 => Just(Op::Scan),
    ]
}

// ---------------------------------------------------------------------------
// The model.

#[derive(Clone, Debug)]
struct MEntry {
    val: Val,
    stamp: Stamp,
    expires_at: Option<u64>,
}

fn is_live(entry: &MEntry, now: u64) -> bool {
    match entry.expires_at {
        None => true,
        Some(at) => now < at,
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Committed,
    CheckFailed,
    Error(String),
}

#[derive(Default)]
struct Model {
    /// Live entries and expired ones the engine may not have collected yet.
    map: BTreeMap<Vec<u8>, MEntry>,
}

fn non_u64_in_db(op: &str) -> String {
    format!("Failed to perform '{op}' mutation on a non-U64 value in the database")
}

/// `key` with a versionstamp string part appended, as denokv builds it.
fn suffixed(prefix: &[u8], stamp: &Stamp) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.push(0x02);
    for byte in stamp {
        out.extend_from_slice(format!("{byte:02x}").as_bytes());
    }
    out.push(0x00);
    out
}

impl Model {
    fn live_stamp(&self, key: &[u8], now: u64) -> Option<Stamp> {
        self.map.get(key).filter(|e| is_live(e, now)).map(|e| e.stamp)
    }

    fn collect(&mut self, now: u64) {
        self.map.retain(|_, e| is_live(e, now));
    }

    fn live_count(&self, now: u64) -> usize {
        self.map.values().filter(|e| is_live(e, now)).count()
    }

    fn read(&self, start: &[u8], end: &[u8], limit: usize, reverse: bool, now: u64) -> Vec<Row> {
        if start >= end {
            return vec![];
        }
        let live = self
            .map
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Excluded(end)))
            .filter(|(_, e)| is_live(e, now))
            .map(|(k, e)| (k.clone(), e.val.clone(), e.stamp));
        if reverse {
            live.rev().take(limit).collect()
        } else {
            live.take(limit).collect()
        }
    }

    fn commit(
        &mut self,
        checks: &[(Vec<u8>, Option<Stamp>)],
        mutations: &[MutSpec],
        keys: &[Vec<u8>],
        now: u64,
        stamp: Stamp,
    ) -> Outcome {
        for (key, expected) in checks {
            if self.live_stamp(key, now) != *expected {
                return Outcome::CheckFailed;
            }
        }
        let mut working = self.map.clone();
        let mut written: HashSet<Vec<u8>> = HashSet::new();
        for m in mutations {
            let key = match m {
                MutSpec::SuffixSet(k, ..) => suffixed(&keys[*k], &stamp),
                MutSpec::Set(k, ..)
                | MutSpec::Delete(k)
                | MutSpec::Sum(k, _)
                | MutSpec::SumNumber(k, ..)
                | MutSpec::Min(k, _)
                | MutSpec::Max(k, _)
                | MutSpec::MinNonU64Operand(k) => keys[*k].clone(),
            };
            // What this commit wrote is visible to its later mutations; what
            // was there before is visible only while it is live.
            let current = working
                .get(&key)
                .filter(|e| written.contains(&key) || is_live(e, now))
                .map(|e| e.val.clone());
            let new: Option<(Val, Option<u64>)> = match m {
                MutSpec::Set(_, v, exp) | MutSpec::SuffixSet(_, v, exp) => Some((v.model(), exp.map(|ms| now + ms))),
                MutSpec::Delete(_) => None,
                MutSpec::Sum(_, n) => match current {
                    None => Some((Val::U64(*n), None)),
                    Some(Val::U64(c)) => Some((Val::U64(c.wrapping_add(*n)), None)),
                    Some(_) => return Outcome::Error(non_u64_in_db("sum")),
                },
                MutSpec::SumNumber(_, n, half) => {
                    let x = f64::from(*n) + if *half { 0.5 } else { 0.0 };
                    match current {
                        None => Some((Val::Num(x), None)),
                        Some(Val::Num(c)) => Some((Val::Num(c + x), None)),
                        Some(Val::U64(_)) => return Outcome::Error("Cannot sum KvU64 with Number".into()),
                        Some(Val::Bytes(_) | Val::V8Other(_)) => {
                            return Outcome::Error("unsupported value type".into())
                        }
                    }
                }
                MutSpec::Min(_, n) | MutSpec::Max(_, n) => {
                    let is_min = matches!(m, MutSpec::Min(..));
                    match current {
                        None => Some((Val::U64(*n), None)),
                        Some(Val::U64(c)) => {
                            let r = if is_min { c.min(*n) } else { c.max(*n) };
                            Some((Val::U64(r), None))
                        }
                        Some(_) => return Outcome::Error(non_u64_in_db(if is_min { "min" } else { "max" })),
                    }
                }
                MutSpec::MinNonU64Operand(_) => {
                    return Outcome::Error("Failed to perform 'min' mutation on a non-U64 operand".into())
                }
            };
            match new {
                Some((val, expires_at)) => {
                    working.insert(key.clone(), MEntry { val, stamp, expires_at });
                }
                None => {
                    working.remove(&key);
                }
            }
            written.insert(key);
        }
        self.map = working;
        Outcome::Committed
    }
}

// ---------------------------------------------------------------------------
// Driving the engine.

type Row = (Vec<u8>, Val, Stamp);

fn rows(entries: Vec<KvEntry>) -> Vec<Row> {
    entries
        .into_iter()
        .map(|e| (e.key, canon(&e.value), e.versionstamp))
        .collect()
}

fn engine_mutation(m: &MutSpec, keys: &[Vec<u8>], now: u64) -> Mutation {
    let expire = |exp: &Option<u64>| {
        exp.map(|ms| DateTime::from_timestamp_millis((now + ms) as i64).expect("representable time"))
    };
    let (key, kind, expire_at) = match m {
        MutSpec::Set(k, v, exp) => (k, MutationKind::Set(v.kv()), expire(exp)),
        MutSpec::SuffixSet(k, v, exp) => (k, MutationKind::SetSuffixVersionstampedKey(v.kv()), expire(exp)),
        MutSpec::Delete(k) => (k, MutationKind::Delete, None),
        MutSpec::Sum(k, n) => (
            k,
            MutationKind::Sum {
                value: KvValue::U64(*n),
                min_v8: vec![],
                max_v8: vec![],
                clamp: false,
            },
            None,
        ),
        MutSpec::SumNumber(k, n, half) => {
            let operand = if *half {
                Value::Double(f64::from(*n) + 0.5)
            } else {
                Value::I32((*n).into())
            };
            (
                k,
                MutationKind::Sum {
                    value: KvValue::V8(v8(operand)),
                    min_v8: vec![],
                    max_v8: vec![],
                    clamp: false,
                },
                None,
            )
        }
        MutSpec::Min(k, n) => (k, MutationKind::Min(KvValue::U64(*n)), None),
        MutSpec::Max(k, n) => (k, MutationKind::Max(KvValue::U64(*n)), None),
        MutSpec::MinNonU64Operand(k) => (k, MutationKind::Min(KvValue::V8(v8(Value::I32(1)))), None),
    };
    Mutation {
        key: keys[*key].clone(),
        kind,
        expire_at,
    }
}

fn read(engine: &mut Engine, start: &[u8], end: &[u8], limit: u32, reverse: bool, now: u64) -> Vec<Row> {
    let range = ReadRange {
        start: start.to_vec(),
        end: end.to_vec(),
        limit: NonZeroU32::new(limit).expect("non-zero limit"),
        reverse,
    };
    rows(engine.read_range(&range, now))
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let keys = key_space();
    let bounds = boundaries(&keys);
    let mut engine = Engine::new();
    let mut model = Model::default();
    let mut now = START_MS;
    let mut seen: Vec<Stamp> = Vec::new();
    let mut last_stamp: Option<Stamp> = None;

    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Commit {
                checks,
                mutations,
                via_prepare,
            } => {
                let resolved: Vec<(Vec<u8>, Option<Stamp>)> = checks
                    .iter()
                    .map(|(k, pick)| {
                        let key = keys[*k].clone();
                        let stamp = match pick {
                            StampPick::Current => model.live_stamp(&key, now),
                            StampPick::Seen(i) => seen.get(i % seen.len().max(1)).copied(),
                            StampPick::Null => None,
                            StampPick::Future => Some([0xfe; 10]),
                        };
                        (key, stamp)
                    })
                    .collect();
                let write = AtomicWrite {
                    checks: resolved
                        .iter()
                        .map(|(key, versionstamp)| Check {
                            key: key.clone(),
                            versionstamp: *versionstamp,
                        })
                        .collect(),
                    mutations: mutations.iter().map(|m| engine_mutation(m, &keys, now)).collect(),
                    enqueues: vec![],
                };
                let result = if via_prepare {
                    engine.prepare(write, now).map(|prepared| {
                        prepared.map(|p| {
                            let stamp = p.versionstamp();
                            engine.apply(p);
                            stamp
                        })
                    })
                } else {
                    model.collect(now);
                    engine.commit(write, now)
                };
                // The stamp only matters to the model if the commit happens;
                // otherwise any placeholder gives the same outcome.
                let stamp = match &result {
                    Ok(Some(stamp)) => *stamp,
                    _ => [0xff; 10],
                };
                let expected = model.commit(&resolved, &mutations, &keys, now, stamp);
                let actual = match result {
                    Ok(Some(_)) => Outcome::Committed,
                    Ok(None) => Outcome::CheckFailed,
                    Err(err) => Outcome::Error(err.message),
                };
                prop_assert_eq!(&actual, &expected, "step {}: commit outcome", step);
                if actual == Outcome::Committed {
                    prop_assert!(
                        last_stamp.is_none_or(|last| last < stamp),
                        "step {step}: versionstamp {stamp:?} does not follow {last_stamp:?}"
                    );
                    last_stamp = Some(stamp);
                    seen.push(stamp);
                }
            }
            Op::Get(k) => {
                let range = point_range(keys[k].clone());
                let (start, end) = (range.start, range.end);
                let got = read(&mut engine, &start, &end, 1, false, now);
                let want = model.read(&start, &end, 1, false, now);
                prop_assert_eq!(&got, &want, "step {}: get", step);
                seen.extend(got.iter().map(|row| row.2));
            }
            Op::GetExisting(i) => {
                let Some(key) = model.map.keys().nth(i % model.map.len().max(1)).cloned() else {
                    continue;
                };
                let range = point_range(key);
                let (start, end) = (range.start, range.end);
                let got = read(&mut engine, &start, &end, 1, false, now);
                let want = model.read(&start, &end, 1, false, now);
                prop_assert_eq!(&got, &want, "step {}: get of an existing key", step);
            }
            Op::Range {
                start,
                end,
                limit,
                reverse,
            } => {
                let (start, end) = (&bounds[start], &bounds[end]);
                let got = read(&mut engine, start, end, limit, reverse, now);
                let want = model.read(start, end, limit as usize, reverse, now);
                prop_assert_eq!(&got, &want, "step {}: range read", step);
                seen.extend(got.iter().map(|row| row.2));
            }
            Op::Advance(ms) => now += ms,
            Op::Collect => {
                engine.collect_expired(now);
                model.collect(now);
                prop_assert_eq!(
                    engine.len(),
                    model.live_count(now),
                    "step {}: entries left after collecting",
                    step
                );
            }
            Op::Reload(page_bytes) => {
                let mut writer = PageWriter::new(page_bytes);
                for (key, entry) in engine.entries() {
                    if entry.expires_at_ms.is_none_or(|at| at > now) {
                        writer.push(key, entry);
                    }
                }
                let pages = writer
                    .finish()
                    .into_iter()
                    .map(|bytes| Page::parse(bytes).expect("a written page parses").expect("not empty"))
                    .collect();
                let version = engine.version();
                engine.load(version, pages).expect("pages in key order");
            }
            Op::Scan => {
                let everything = read(&mut engine, &[], &[0xff], u32::MAX, false, now);
                let want = model.read(&[], &[0xff], usize::MAX, false, now);
                prop_assert_eq!(&everything, &want, "step {}: full scan", step);
            }
        }

        // After every step: the engine holds no more entries than the
        // model's live plus not-yet-collected ones.
        prop_assert!(
            engine.len() <= model.map.len(),
            "step {step}: engine holds {} entries, model at most {}",
            engine.len(),
            model.map.len()
        );
    }

    let everything = read(&mut engine, &[], &[0xff], u32::MAX, false, now);
    let want = model.read(&[], &[0xff], usize::MAX, false, now);
    prop_assert_eq!(&everything, &want, "final full scan");
    engine.collect_expired(now);
    prop_assert_eq!(engine.len(), model.live_count(now), "final collection");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        max_shrink_iters: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

// ---------------------------------------------------------------------------
// Cursors: paging through a selector yields exactly one full read.

fn part() -> impl Strategy<Value = KeyPart> {
    prop_oneof![
        Just(KeyPart::String("a".into())),
        Just(KeyPart::String("b".into())),
        Just(KeyPart::String(String::new())),
        (0i64..3).prop_map(|n| KeyPart::Int(n.into())),
        Just(KeyPart::Bytes(vec![0])),
        Just(KeyPart::Bytes(vec![])),
        Just(KeyPart::True),
    ]
}

fn parts(min: usize, max: usize) -> impl Strategy<Value = Vec<KeyPart>> {
    proptest::collection::vec(part(), min..=max)
}

fn enc(parts: &[KeyPart]) -> Vec<u8> {
    key::encode(parts.to_vec()).expect("encodable")
}

#[derive(Clone, Debug)]
enum SelectorSpec {
    Prefix(Vec<KeyPart>),
    PrefixStart(Vec<KeyPart>, Vec<KeyPart>),
    PrefixEnd(Vec<KeyPart>, Vec<KeyPart>),
    Range(Vec<KeyPart>, Vec<KeyPart>),
    StartOnly(Vec<KeyPart>),
}

fn selector_spec() -> impl Strategy<Value = SelectorSpec> {
    prop_oneof![
        parts(0, 2).prop_map(SelectorSpec::Prefix),
        (parts(0, 1), parts(1, 2)).prop_map(|(p, s)| SelectorSpec::PrefixStart(p, s)),
        (parts(0, 1), parts(1, 2)).prop_map(|(p, e)| SelectorSpec::PrefixEnd(p, e)),
        (parts(1, 3), parts(1, 3)).prop_map(|(a, b)| SelectorSpec::Range(a, b)),
        parts(1, 3).prop_map(SelectorSpec::StartOnly),
    ]
}

/// Whether `key` is in the tuple key space under `prefix`: its parts start
/// with the prefix's parts and it has more of them. (A byte-wise prefix is not
/// enough: `[Uint8Array([0])]` starts with the bytes of `[Uint8Array([])]`.)
fn under(prefix: &[KeyPart], key: &[u8]) -> bool {
    let parts = key::decode(key).expect("valid key");
    parts.len() > prefix.len() && parts[..prefix.len()] == *prefix
}

type Membership = Box<dyn Fn(&[u8]) -> bool>;

impl SelectorSpec {
    /// The selector, and the model's membership test for it.
    fn build(&self) -> (Selector, Membership) {
        match self {
            Self::Prefix(parts) => {
                let (parts, p) = (parts.clone(), enc(parts));
                let sel = Selector::new(Some(p), None, None).expect("valid");
                (sel, Box::new(move |k| under(&parts, k)))
            }
            Self::PrefixStart(parts, s) => {
                let (parts, p) = (parts.clone(), enc(parts));
                let s = [p.clone(), enc(s)].concat();
                let sel = Selector::new(Some(p), Some(s.clone()), None).expect("valid");
                (sel, Box::new(move |k| under(&parts, k) && k >= &s[..]))
            }
            Self::PrefixEnd(parts, e) => {
                let (parts, p) = (parts.clone(), enc(parts));
                let e = [p.clone(), enc(e)].concat();
                let sel = Selector::new(Some(p), None, Some(e.clone())).expect("valid");
                (sel, Box::new(move |k| under(&parts, k) && k < &e[..]))
            }
            Self::Range(a, b) => {
                let (mut a, mut b) = (enc(a), enc(b));
                if a > b {
                    assert!(Selector::new(None, Some(a.clone()), Some(b.clone())).is_err());
                    std::mem::swap(&mut a, &mut b);
                }
                let sel = Selector::new(None, Some(a.clone()), Some(b.clone())).expect("valid");
                (sel, Box::new(move |k| &a[..] <= k && k < &b[..]))
            }
            Self::StartOnly(a) => {
                let a = enc(a);
                let sel = Selector::new(None, Some(a.clone()), None).expect("valid");
                (sel, Box::new(move |k| k == a))
            }
        }
    }
}

fn page_through(
    engine: &mut Engine,
    selector: &Selector,
    reverse: bool,
    page_sizes: &[u32],
    now: u64,
) -> Result<Vec<Row>, TestCaseError> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        prop_assert!(page < 1000, "paging does not terminate");
        let size = page_sizes[page % page_sizes.len()];
        let (start, end) = selector
            .bounds(reverse, cursor.as_deref())
            .map_err(|e| TestCaseError::fail(format!("bounds with cursor {cursor:?}: {e}")))?;
        let rows = read(engine, &start, &end, size, reverse, now);
        let Some(last) = rows.last() else { break };
        cursor = Some(
            selector
                .cursor_for(&last.0)
                .map_err(|e| TestCaseError::fail(format!("cursor_for: {e}")))?,
        );
        let full_page = rows.len() == size as usize;
        out.extend(rows);
        if !full_page {
            break;
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn cursor_pages_concatenate_to_the_full_read(
        writes in proptest::collection::vec((parts(1, 3), expire_in()), 0..30),
        advance in 0u64..40,
        spec in selector_spec(),
        reverse in any::<bool>(),
        page_sizes in proptest::collection::vec(1u32..5, 1..6),
    ) {
        let mut engine = Engine::new();
        let mut model = Model::default();
        let mut now = START_MS;
        for (i, (parts, exp)) in writes.iter().enumerate() {
            let key = enc(parts);
            let write = AtomicWrite {
                checks: vec![],
                mutations: vec![Mutation {
                    key: key.clone(),
                    kind: MutationKind::Set(KvValue::U64(i as u64)),
                    expire_at: exp.map(|ms| {
                        DateTime::from_timestamp_millis((now + ms) as i64).expect("time")
                    }),
                }],
                enqueues: vec![],
            };
            let stamp = engine.commit(write, now).expect("commits").expect("no checks");
            model.map.insert(key, MEntry {
                val: Val::U64(i as u64),
                stamp,
                expires_at: exp.map(|ms| now + ms),
            });
            now += 1;
        }
        now += advance;

        let (selector, member) = spec.build();
        let mut want: Vec<Row> = model
            .read(&[], &[0xff], usize::MAX, false, now)
            .into_iter()
            .filter(|row| member(&row.0))
            .collect();
        if reverse {
            want.reverse();
        }

        let (start, end) = selector.bounds(reverse, None).expect("bounds");
        let full = read(&mut engine, &start, &end, u32::MAX, reverse, now);
        prop_assert_eq!(&full, &want, "full read of {:?}", selector);

        let paged = page_through(&mut engine, &selector, reverse, &page_sizes, now)?;
        prop_assert_eq!(&paged, &full, "pages of {:?}", page_sizes);
    }
}
