//! The client against a scripted transport with a virtual clock: what it
//! does with redirects, unreachable servers, broken watch streams and
//! answers over their caps, request by request and millisecond by
//! millisecond (a `sleep` advances the clock and returns at once).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::datapath as pb;
use denokv_proto::Consistency;
use futures::executor::block_on;
use prost::Message;

use super::transport::{
    ByteStream, HttpRequest, HttpResponse, StreamResponse, Transport, TransportError, TransportFuture,
};
use super::RemoteBackend;
use crate::backend::{Backend, WatchStream};
use crate::core::error::ErrorClass;
use crate::core::selector::point_range;

const METADATA: &str = r#"{"version":3,"databaseId":"00000000-0000-0000-0000-000000000000",
    "endpoints":[{"url":"/v2","consistency":"strong"}],"token":"data-token","expiresAt":"2999-01-01T00:00:00Z"}"#;

/// What the scripted server does with one request.
enum Reply {
    Status(u16, Vec<u8>),
    Redirect(u16, &'static str),
    Network(&'static str),
    TooLarge,
    /// A 200 watch stream: these chunks, then its end.
    Stream(Vec<Vec<u8>>),
    /// The same, held open this many milliseconds before it ends.
    HeldStream(Vec<Vec<u8>>, u64),
}

fn ok(body: &[u8]) -> Reply {
    Reply::Status(200, body.to_vec())
}

struct Sent {
    at_ms: u64,
    url: String,
    authorization: Option<String>,
}

/// The scripted server: a path in, a reply out.
type Handler = Box<dyn FnMut(&str) -> Reply>;

#[derive(Default)]
struct Script {
    handler: RefCell<Option<Handler>>,
    sent: RefCell<Vec<Sent>>,
    now: Cell<u64>,
    closed: Cell<bool>,
}

impl Script {
    fn new(handler: impl FnMut(&str) -> Reply + 'static) -> Rc<Self> {
        let script = Rc::new(Self::default());
        *script.handler.borrow_mut() = Some(Box::new(handler));
        script
    }

    fn reply(&self, request: &HttpRequest) -> Reply {
        let authorization = request
            .headers
            .iter()
            .find(|(name, _)| *name == "authorization")
            .map(|(_, value)| value.clone());
        self.sent.borrow_mut().push(Sent {
            at_ms: self.now.get(),
            url: request.url.clone(),
            authorization,
        });
        let path = request.url.split_once("://").map_or("", |(_, rest)| rest);
        let path = path.find('/').map_or("/", |i| &path[i..]);
        (self.handler.borrow_mut().as_mut().expect("a handler"))(path)
    }

    fn urls(&self) -> Vec<String> {
        self.sent.borrow().iter().map(|s| s.url.clone()).collect()
    }

    /// When each request to `path` was sent (ms on the script's clock).
    fn times_of(&self, path: &str) -> Vec<u64> {
        self.sent
            .borrow()
            .iter()
            .filter(|s| s.url.ends_with(path))
            .map(|s| s.at_ms)
            .collect()
    }

    fn count(&self, path: &str) -> usize {
        self.sent.borrow().iter().filter(|s| s.url.ends_with(path)).count()
    }
}

struct ScriptTransport(Rc<Script>);

/// A stream's chunks; once they are read, its end moves the script's clock
/// on by `held_ms`, as if the server had held the stream open that long.
struct Chunks {
    chunks: VecDeque<Vec<u8>>,
    held_ms: u64,
    script: Rc<Script>,
}

impl ByteStream for Chunks {
    fn next_chunk(&mut self) -> TransportFuture<Result<Option<Vec<u8>>, String>> {
        let chunk = self.chunks.pop_front();
        if chunk.is_none() {
            self.script
                .now
                .set(self.script.now.get() + std::mem::take(&mut self.held_ms));
        }
        Box::pin(std::future::ready(Ok(chunk)))
    }
}

fn response(status: u16, body: Vec<u8>, location: Option<&str>) -> HttpResponse {
    HttpResponse {
        status,
        body,
        location: location.map(str::to_string),
    }
}

impl Transport for ScriptTransport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, TransportError>> {
        let result = match self.0.reply(&request) {
            Reply::Status(status, body) => Ok(response(status, body, None)),
            Reply::Redirect(status, location) => Ok(response(status, vec![], Some(location))),
            Reply::Network(why) => Err(TransportError::Network(why.to_string())),
            Reply::TooLarge => Err(TransportError::TooLarge),
            Reply::Stream(_) | Reply::HeldStream(..) => panic!("a stream for a plain POST"),
        };
        Box::pin(std::future::ready(result))
    }

    fn post_stream(&self, request: HttpRequest) -> TransportFuture<Result<StreamResponse, TransportError>> {
        let stream = |chunks: Vec<Vec<u8>>, held_ms| {
            let script = Rc::clone(&self.0);
            let chunks = chunks.into();
            Ok(StreamResponse::Streaming(Box::new(Chunks {
                chunks,
                held_ms,
                script,
            })))
        };
        let result = match self.0.reply(&request) {
            Reply::Stream(chunks) => stream(chunks, 0),
            Reply::HeldStream(chunks, held_ms) => stream(chunks, held_ms),
            Reply::Status(status, body) => Ok(StreamResponse::Failed(response(status, body, None))),
            Reply::Redirect(status, location) => Ok(StreamResponse::Failed(response(status, vec![], Some(location)))),
            Reply::Network(why) => Err(TransportError::Network(why.to_string())),
            Reply::TooLarge => Err(TransportError::TooLarge),
        };
        Box::pin(std::future::ready(result))
    }

    fn random(&self) -> f64 {
        0.5
    }

    fn close(&self) {
        self.0.closed.set(true);
    }
}

/// A backend whose clock is the script's, and whose sleeps end at once,
/// moving that clock on by their length.
fn backend(url: &str, script: &Rc<Script>) -> RemoteBackend {
    let (clock_script, timer_script) = (Rc::clone(script), Rc::clone(script));
    RemoteBackend::new(
        url.to_string(),
        "access-token".to_string(),
        Rc::new(ScriptTransport(Rc::clone(script))),
        Rc::new(move || clock_script.now.get()),
        Rc::new(move |ms| {
            timer_script.now.set(timer_script.now.get() + u64::from(ms));
            Box::pin(std::future::ready(()))
        }),
    )
}

/// Polls once: the output if the future is done without waiting.
fn poll_once<F: Future + ?Sized>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = u32::try_from(body.len()).expect("small").to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

fn watch_update(key: &[u8]) -> Vec<u8> {
    frame(&pb::WatchOutput {
        status: pb::SnapshotReadStatus::SrSuccess as i32,
        keys: vec![pb::WatchKeyOutput {
            changed: true,
            entry_if_changed: Some(pb::KvEntry {
                key: key.to_vec(),
                value: vec![7],
                encoding: pb::ValueEncoding::VeBytes as i32,
                versionstamp: vec![0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
            }),
        }],
    })
}

fn metadata_or(path: &str, data: impl FnOnce() -> Reply) -> Reply {
    if path == "/" {
        ok(METADATA.as_bytes())
    } else {
        data()
    }
}

// ---------------------------------------------------------------- opening

#[test]
fn an_unreachable_server_fails_open_at_once_with_denos_type_error() {
    let script = Script::new(|_| Reply::Network("connect ECONNREFUSED 127.0.0.1:1"));
    let err = block_on(backend("http://127.0.0.1:1", &script).connect()).expect_err("refused");
    assert_eq!(err.class, ErrorClass::TypeError);
    assert_eq!(
        err.message,
        "Could not open Deno KV database: failed to connect to 'http://127.0.0.1:1/': connect ECONNREFUSED 127.0.0.1:1"
    );
    assert_eq!(script.sent.borrow().len(), 1, "not retried");
    assert_eq!(script.now.get(), 0, "no waiting");
}

#[test]
fn a_5xx_at_open_is_retried_briefly_then_fails_with_denos_message() {
    let script = Script::new(|_| Reply::Status(503, b"Service Unavailable (test)".to_vec()));
    let err = block_on(backend("http://h:1/db", &script).connect()).expect_err("503");
    assert_eq!(err.class, ErrorClass::TypeError);
    assert_eq!(
        err.message,
        "Could not open Deno KV database: the metadata endpoint at 'http://h:1/db' responded with status 503 Service Unavailable: Service Unavailable (test)"
    );
    assert_eq!(script.sent.borrow().len(), 4);
    assert!(script.now.get() < 2_000, "waited {} ms", script.now.get());
}

#[test]
fn an_oversized_or_odd_metadata_answer_fails_open_without_retrying() {
    for (reply, why) in [
        ((|| Reply::TooLarge) as fn() -> Reply, "larger than 262144 bytes"),
        (|| Reply::Status(204, vec![]), "unexpected status 204"),
        (|| Reply::Status(304, vec![]), "unexpected status 304"),
        (|| Reply::Status(101, vec![]), "unexpected status 101"),
        (|| ok(b"\xff\xfe not json"), "Invalid KV Connect metadata"),
    ] {
        let script = Script::new(move |_| reply());
        let err = block_on(backend("http://h/", &script).connect()).expect_err(why);
        assert!(err.message.contains(why), "{why}: {}", err.message);
        assert_eq!(err.class, ErrorClass::TypeError, "{why}");
        assert_eq!(script.sent.borrow().len(), 1, "{why}: not retried");
    }
}

// ---------------------------------------------------------------- redirects

#[test]
fn a_same_origin_redirect_is_followed_and_endpoints_resolve_against_where_it_led() {
    let script = Script::new(|path| match path {
        "/" => Reply::Redirect(307, "/kv/"),
        "/kv/" => Reply::Redirect(308, "http://H:80/kv/connect"),
        "/kv/connect" => ok(METADATA.replace(r#""/v2""#, r#""v2""#).as_bytes()),
        "/kv/v2/snapshot_read" => Reply::Redirect(307, "/kv/v2/snapshot_read2"),
        "/kv/v2/snapshot_read2" => ok(&pb::SnapshotReadOutput {
            ranges: vec![pb::ReadRangeOutput { values: vec![] }],
            read_disabled: false,
            read_is_strongly_consistent: true,
            status: pb::SnapshotReadStatus::SrSuccess as i32,
        }
        .encode_to_vec()),
        other => panic!("unexpected {other}"),
    });
    let db = backend("http://h", &script);
    block_on(db.connect()).expect("opens");
    let read = block_on(db.snapshot_read(vec![point_range(vec![2, 0])], Consistency::Strong)).expect("reads");
    assert_eq!(read.len(), 1);
    assert!(read[0].is_empty());
    assert_eq!(
        script.urls(),
        [
            "http://h/",
            "http://h/kv/",
            "http://H:80/kv/connect",
            "http://H:80/kv/v2/snapshot_read",
            "http://H:80/kv/v2/snapshot_read2"
        ]
    );
    let tokens: Vec<_> = script.sent.borrow().iter().map(|s| s.authorization.clone()).collect();
    let access = Some("Bearer access-token".to_string());
    assert!(
        tokens[..3].iter().all(|t| *t == access),
        "a redirected exchange keeps its token"
    );
}

#[test]
fn a_cross_origin_redirect_is_refused_and_nothing_is_sent_there() {
    for (status, target) in [
        (307, "http://evil.example/"),
        (308, "https://h/"),
        (302, "http://h:8080/"),
        (301, "//evil.example/x"),
    ] {
        let script = Script::new(move |path| match path {
            "/" => Reply::Redirect(status, target),
            _ => ok(METADATA.as_bytes()),
        });
        let err = block_on(backend("http://h/", &script).connect()).expect_err(target);
        assert_eq!(err.class, ErrorClass::TypeError);
        assert!(err.message.contains("another origin"), "{}", err.message);
        assert_eq!(script.urls(), ["http://h/"], "{target}: never contacted");
    }
    // On the data path too (there, the token is the metadata's).
    let script = Script::new(|path| metadata_or(path, || Reply::Redirect(307, "http://evil.example/v2/atomic_write")));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let err = block_on(db.snapshot_read(vec![point_range(vec![2, 0])], Consistency::Strong)).expect_err("refused");
    assert!(err.message.contains("another origin"), "{}", err.message);
    assert!(script.urls().iter().all(|url| !url.contains("evil")));
}

#[test]
fn redirect_loops_invalid_locations_and_hidden_redirects_fail() {
    for (reply, why) in [
        (
            (|_: &str| Reply::Redirect(307, "/")) as fn(&str) -> Reply,
            "more than 10 times",
        ),
        (|_| Reply::Redirect(307, "javascript:alert(1)"), "invalid URL"),
        (|_| Reply::Status(307, vec![]), "without a Location"),
        (|_| Reply::Status(0, vec![]), "does not \ntell where"),
    ] {
        let script = Script::new(reply);
        let err = block_on(backend("http://h/", &script).connect()).expect_err(why);
        let why = why.replace('\n', "");
        assert!(err.message.replace('\n', "").contains(&why), "{why}: {}", err.message);
        assert!(script.sent.borrow().len() <= 11);
    }
}

// ---------------------------------------------------------------- data path

#[test]
fn answers_over_their_cap_or_with_odd_statuses_fail_without_retrying() {
    for (reply, why) in [
        ((|| Reply::TooLarge) as fn() -> Reply, "larger than"),
        (|| Reply::Status(204, vec![]), "unexpected status 204"),
        (|| Reply::Status(302, vec![]), "without a Location"),
        (
            || ok(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            "Invalid KV Connect response",
        ),
    ] {
        let script = Script::new(move |path| metadata_or(path, reply));
        let db = backend("http://h/", &script);
        block_on(db.connect()).expect("opens");
        let err = block_on(db.snapshot_read(vec![point_range(vec![2, 0])], Consistency::Strong)).expect_err(why);
        assert!(err.message.contains(why), "{why}: {}", err.message);
        assert_eq!(script.count("/snapshot_read"), 1, "{why}: not retried");
    }
}

#[test]
fn disabled_reads_are_retried_after_a_wait_then_fail() {
    let disabled = pb::SnapshotReadOutput {
        ranges: vec![],
        read_disabled: true,
        read_is_strongly_consistent: false,
        status: pb::SnapshotReadStatus::SrReadDisabled as i32,
    }
    .encode_to_vec();
    let script = Script::new(move |path| metadata_or(path, || ok(&disabled)));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let err = block_on(db.snapshot_read(vec![point_range(vec![2, 0])], Consistency::Strong)).expect_err("disabled");
    assert!(err.message.contains("reads stayed disabled"), "{}", err.message);
    assert_eq!(script.count("/snapshot_read"), 8);
    assert!(script.now.get() >= 12_000, "waited {} ms", script.now.get());
}

// ---------------------------------------------------------------- watch

fn watch(db: &RemoteBackend, key: &[u8]) -> Box<dyn WatchStream> {
    db.watch(vec![key.to_vec()])
}

#[test]
fn a_watch_stream_that_ends_at_once_is_reopened_with_growing_waits_then_fails() {
    let script = Script::new(|path| metadata_or(path, || Reply::Stream(vec![])));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let err = block_on(watch(&db, &[2, 0]).next()).expect_err("gives up");
    assert!(err.message.contains("after 8 attempts"), "{}", err.message);
    let opens = script.times_of("/watch");
    // random() is 0.5: each wait is 3/4 of min(100 * 2^n, 5000) ms.
    assert_eq!(opens, [0, 150, 450, 1050, 2250, 4650, 8400, 12150]);
}

#[test]
fn a_watch_stream_that_delivers_then_ends_is_reopened_after_the_base_wait() {
    let script = Script::new(|path| metadata_or(path, || Reply::Stream(vec![watch_update(&[2, 0])])));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let mut stream = watch(&db, &[2, 0]);
    for _ in 0..20 {
        let entries = block_on(stream.next()).expect("an update").expect("not ended");
        assert_eq!(entries[0].as_ref().map(|e| e.key.clone()), Some(vec![2, 0]));
    }
    let opens = script.times_of("/watch");
    assert_eq!(opens.len(), 20);
    assert!(opens.windows(2).all(|w| w[1] - w[0] == 75), "{opens:?}");
}

#[test]
fn pings_or_disabled_reads_do_not_reset_the_backoff() {
    let ping = vec![0, 0, 0, 0];
    let disabled = frame(&pb::WatchOutput {
        status: pb::SnapshotReadStatus::SrReadDisabled as i32,
        keys: vec![],
    });
    for chunk in [ping, disabled] {
        let script = Script::new(move |path| metadata_or(path, || Reply::Stream(vec![chunk.clone()])));
        let db = backend("http://h/", &script);
        block_on(db.connect()).expect("opens");
        assert!(block_on(watch(&db, &[2, 0]).next()).is_err());
        assert_eq!(script.count("/watch"), 8);
        assert!(script.now.get() >= 12_000, "{} ms", script.now.get());
    }
}

#[test]
fn a_quiet_watch_whose_streams_are_cut_after_a_long_life_never_fails() {
    // A proxy that ends every request after 30 s, over keys that do not
    // change: the server only pings. 20 such cuts in a row, then an update.
    let opens = Rc::new(Cell::new(0));
    let counted = Rc::clone(&opens);
    let script = Script::new(move |path| {
        metadata_or(path, || {
            counted.set(counted.get() + 1);
            if counted.get() > 20 {
                Reply::Stream(vec![watch_update(&[2, 0])])
            } else {
                Reply::HeldStream(vec![vec![0, 0, 0, 0]], 30_000)
            }
        })
    });
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let entries = block_on(watch(&db, &[2, 0]).next())
        .expect("no failure")
        .expect("not ended");
    assert_eq!(entries[0].as_ref().map(|e| e.key.clone()), Some(vec![2, 0]));
    let opens = script.times_of("/watch");
    assert_eq!(opens.len(), 21);
    // Each reopen waits the base 75 ms after its stream's 30 s.
    assert!(opens.windows(2).all(|w| w[1] - w[0] == 30_075), "{opens:?}");
}

#[test]
fn streams_that_end_early_fail_the_watch_however_many_pings_they_carry() {
    let pings = vec![0u8; 4 * 100];
    let script = Script::new(move |path| metadata_or(path, || Reply::HeldStream(vec![pings.clone()], 9_000)));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let err = block_on(watch(&db, &[2, 0]).next()).expect_err("gives up");
    assert!(err.message.contains("after 8 attempts"), "{}", err.message);
    assert_eq!(script.count("/watch"), 8);
}

#[test]
fn watch_updates_leave_no_close_waker_behind() {
    let script = Script::new(|path| metadata_or(path, || Reply::Stream(vec![watch_update(&[2, 0])])));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let mut stream = watch(&db, &[2, 0]);
    for _ in 0..100 {
        let mut next = stream.next();
        // As the bindings do: a first poll with a no-op waker, then the task's.
        if poll_once(next.as_mut()).is_pending() {
            block_on(next).expect("an update");
        }
    }
    assert_eq!(db.client.close_wakers.borrow().len(), 0);
    let mut pending = db.dequeue();
    assert!(poll_once(pending.as_mut()).is_pending());
    assert!(poll_once(pending.as_mut()).is_pending());
    assert_eq!(
        db.client.close_wakers.borrow().len(),
        1,
        "one waker, replaced when polled again"
    );
    drop(pending);
    assert_eq!(db.client.close_wakers.borrow().len(), 0);
}

#[test]
fn a_frame_over_the_cap_fails_the_watch() {
    let script = Script::new(|path| metadata_or(path, || Reply::Stream(vec![vec![0xfc, 0xff, 0xff, 0xff, 1, 2]])));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let err = block_on(watch(&db, &[2, 0]).next()).expect_err("too large");
    assert!(
        err.message.contains("watch frame of 4294967292 bytes"),
        "{}",
        err.message
    );
    assert_eq!(script.count("/watch"), 1, "not reopened");
}

#[test]
fn a_watch_of_no_keys_asks_nothing_and_ends_when_the_database_closes() {
    let script = Script::new(|path| metadata_or(path, || panic!("no watch request")));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let mut stream = db.watch(vec![]);
    let mut next = stream.next();
    assert!(poll_once(next.as_mut()).is_pending());
    db.close();
    assert!(matches!(poll_once(next.as_mut()), Poll::Ready(Ok(None))));
    assert_eq!(script.count("/watch"), 0);
}

#[test]
fn close_ends_a_watch_waiting_to_reopen() {
    let script = Script::new(|path| metadata_or(path, || Reply::Network("reset")));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    // A transport whose sleep never ends: the watch waits to reopen.
    struct Stalled(Rc<Script>);
    impl Transport for Stalled {
        fn post(&self, r: HttpRequest) -> TransportFuture<Result<HttpResponse, TransportError>> {
            ScriptTransport(Rc::clone(&self.0)).post(r)
        }
        fn post_stream(&self, r: HttpRequest) -> TransportFuture<Result<StreamResponse, TransportError>> {
            ScriptTransport(Rc::clone(&self.0)).post_stream(r)
        }
        fn random(&self) -> f64 {
            0.5
        }
        fn close(&self) {}
    }
    let db = RemoteBackend::new(
        "http://h/".into(),
        "t".into(),
        Rc::new(Stalled(Rc::clone(&script))),
        Rc::new(|| 0),
        Rc::new(|_| Box::pin(std::future::pending())),
    );
    block_on(db.connect()).expect("opens");
    let mut stream = db.watch(vec![vec![2, 0]]);
    let mut next = stream.next();
    assert!(poll_once(next.as_mut()).is_pending());
    db.close();
    assert!(matches!(poll_once(next.as_mut()), Poll::Ready(Ok(None))));
}

#[test]
fn dequeue_delivers_nothing_and_ends_when_the_database_closes() {
    let script = Script::new(|_| ok(METADATA.as_bytes()));
    let db = backend("http://h/", &script);
    block_on(db.connect()).expect("opens");
    let mut next = db.dequeue();
    assert!(poll_once(next.as_mut()).is_pending());
    db.close();
    assert!(matches!(poll_once(next.as_mut()), Poll::Ready(Ok(None))));
}
