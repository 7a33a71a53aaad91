//! Deno's order of the op-side checks, which `Kv` alone now applies: closed
//! first, then the counts, then the conversions (keys, versionstamps,
//! expiry), then the limits.

use std::rc::Rc;

use denokv_proto::{Consistency, KeyPart, KvValue, MutationKind};
use futures::executor::block_on;

use super::request::{CheckRequest, EnqueueRequest, ListRequest, MutationRequest, WriteRequest};
use super::Kv;
use crate::backend::memory::MemoryBackend;
use crate::core::error::{ErrorClass, KvError};
use crate::core::limits::Limits;

fn kv() -> Kv {
    let backend = MemoryBackend::new(Rc::new(|| 1_000), Rc::new(|_| Box::pin(std::future::pending())));
    Kv::new(Box::new(backend), Limits::default(), Rc::new(|| 1_000))
}

fn key(name: &str) -> Vec<KeyPart> {
    vec![KeyPart::String(name.into())]
}

fn set(name: &str, expire_in_ms: Option<f64>) -> MutationRequest {
    MutationRequest {
        key: key(name),
        kind: MutationKind::Set(KvValue::Bytes(vec![1])),
        expire_in_ms,
    }
}

fn bad_checks(count: usize) -> Vec<CheckRequest> {
    (0..count)
        .map(|i| CheckRequest {
            key: key(&format!("c{i}")),
            versionstamp: Some("not a versionstamp".into()),
        })
        .collect()
}

fn write_error(kv: &Kv, request: WriteRequest) -> KvError {
    block_on(kv.write(request)).expect_err("the write must fail")
}

#[test]
fn a_closed_database_fails_before_any_count_or_conversion() {
    let kv = kv();
    kv.close().unwrap();
    let err = write_error(
        &kv,
        WriteRequest {
            checks: bad_checks(101),
            ..WriteRequest::default()
        },
    );
    assert_eq!(err.class, ErrorClass::BadResource);
    let err = block_on(kv.read_keys(vec![key("a"); 11], Consistency::Strong)).unwrap_err();
    assert_eq!(err.class, ErrorClass::BadResource);
    assert_eq!(
        block_on(kv.write_one(set("a", Some(f64::MAX)))).unwrap_err().class,
        ErrorClass::BadResource
    );
    assert_eq!(
        kv.watch(vec![key("a"); 11]).err().unwrap().class,
        ErrorClass::BadResource
    );
}

#[test]
fn counts_are_checked_before_checks_are_converted() {
    let kv = kv();
    let err = write_error(
        &kv,
        WriteRequest {
            checks: bad_checks(101),
            ..WriteRequest::default()
        },
    );
    assert_eq!(err.message, "Too many checks (max 100)");
    let err = write_error(
        &kv,
        WriteRequest {
            checks: bad_checks(1),
            ..WriteRequest::default()
        },
    );
    assert_eq!(err.message, "Invalid check");
}

#[test]
fn mutations_and_enqueues_count_together() {
    let kv = kv();
    let enqueue = || EnqueueRequest {
        payload: vec![],
        delay_ms: 0.0,
        keys_if_undelivered: vec![],
        backoff_schedule: None,
    };
    let err = write_error(
        &kv,
        WriteRequest {
            mutations: (0..600).map(|i| set(&format!("m{i}"), None)).collect(),
            enqueues: (0..401).map(|_| enqueue()).collect(),
            ..WriteRequest::default()
        },
    );
    assert_eq!(err.message, "Too many mutations (max 1000)");
}

#[test]
fn an_expiry_that_is_no_time_fails_as_deno_words_it_and_writes_nothing() {
    let kv = kv();
    let err = block_on(kv.write_one(set("a", Some(f64::MAX)))).unwrap_err();
    assert_eq!(err.class, ErrorClass::TypeError);
    assert!(
        err.message.starts_with("Invalid mutation: expireIn is too large: "),
        "{}",
        err.message
    );
    let err = write_error(
        &kv,
        WriteRequest {
            mutations: vec![set("b", None), set("c", Some(f64::MAX))],
            ..WriteRequest::default()
        },
    );
    assert!(err.message.starts_with("Invalid mutation: expireIn is too large: "));
    let entries = block_on(kv.read_keys(vec![key("a"), key("b"), key("c")], Consistency::Strong)).unwrap();
    assert!(entries.iter().all(Vec::is_empty), "nothing was written");
}

#[test]
fn read_counts_and_selectors_are_checked_by_kv() {
    let kv = kv();
    let err = block_on(kv.read_keys(vec![key("a"); 11], Consistency::Strong)).unwrap_err();
    assert_eq!(err.message, "Too many ranges (max 10)");
    let list = |prefix, start, end| ListRequest {
        prefix,
        start,
        end,
        cursor: None,
        reverse: false,
        batch_size: 10.0,
    };
    assert!(block_on(kv.list(list(Some(key("p")), None, None), Consistency::Strong)).is_ok());
    let err = block_on(kv.list(list(None, Some(key("b")), Some(key("a"))), Consistency::Strong)).unwrap_err();
    assert_eq!(err.class, ErrorClass::TypeError);
    let err = kv.watch(vec![key("a"); 11]).err().unwrap();
    assert_eq!(err.message, "Too many keys (max 10)");
}

#[test]
fn a_one_key_write_and_read_round_trip() {
    let kv = kv();
    let stamp = block_on(kv.write_one(set("a", Some(5.0)))).unwrap();
    assert!(stamp.is_some());
    let mut ranges = block_on(kv.read_key(key("a"), Consistency::Strong)).unwrap();
    let entry = ranges.pop().and_then(|mut entries| entries.pop()).expect("the entry");
    assert_eq!(entry.versionstamp, stamp.unwrap());
}
