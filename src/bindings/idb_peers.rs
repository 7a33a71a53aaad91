//! The other instances of a durable database in a browser, as the `Peers`
//! the protocol needs: the Web Lock `webkv:<name>` that makes one of them
//! the owner, and the BroadcastChannel `webkv:<name>` they announce their
//! commits on (docs/storage.md, "Many tabs and workers").
//!
//! The channel is web-sys's. The lock is called through `Reflect`: web-sys
//! has `LockManager` only behind `--cfg=web_sys_unstable_apis`, which every
//! build path would have to pass, and `Reflect` and `Function` calls are
//! imports the wasm has already, so the lock adds no glue.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures::future::{select, Either};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, BroadcastChannel, MessageEvent};

use super::reporter::Reporter;
use super::{js, timer};
use crate::backend::durable::host::{BackendFuture, PeerEvent, Peers};
use crate::backend::memory::keep_waker;
use crate::core::error::KvError;

const PREFIX: &str = "webkv:";
/// How long commits wait to be announced together.
const ANNOUNCE_MS: u32 = 8;
/// How often a waiting writer repeats `want`, in case the owner took the
/// lock after the first one.
const WANT_MS: u32 = 50;
/// An announcement larger than this is not copied into wasm: what it
/// announces is read from the store instead.
const MAX_ANNOUNCED_RECORDS: u32 = 100_000;
const MAX_ANNOUNCED_BYTES: f64 = 16.0 * 1024.0 * 1024.0;
/// The messages instances post.
const MESSAGE_TYPES: [&str; 5] = ["hello", "here", "want", "queued", "commit"];

pub struct IdbPeers {
    shared: Rc<Shared>,
    /// The channel's handlers, which must live as long as it may call them.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_message_error: Closure<dyn FnMut()>,
}

struct Shared {
    lock_name: String,
    channel: Option<BroadcastChannel>,
    /// `navigator.locks`, where there are Web Locks.
    locks: Option<JsValue>,
    /// Cancels a pending lock request at close; `None` where the runtime
    /// has no AbortController (then there are no Web Locks either).
    abort: Option<AbortController>,
    /// Reports about what other instances sent.
    reports: Reporter,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    events: VecDeque<Heard>,
    waker: Option<Waker>,
    /// Resolving it releases the lock this instance holds.
    hold: Option<Function>,
    closed: bool,
    /// Records waiting to be announced together (Uint8Arrays, kept out of
    /// wasm memory).
    announcing: Option<Array>,
    /// Whether another instance has been heard from. Until one has, nobody
    /// listens, and announcing (a post and a timer every few ms, which
    /// sequential commits pay for) is skipped.
    others_listen: bool,
    /// A lock request made while the database opens.
    prefetched: Option<BackendFuture<bool>>,
}

/// A checked message, as it waits for `next_event`. A commit's records stay
/// JS values until then, so a flood of them grows the JS heap, which gives
/// memory back, rather than wasm memory.
enum Heard {
    Commit(Array),
    Want,
    Queued,
    Here,
    Missed,
}

impl IdbPeers {
    pub fn new(name: &str) -> Self {
        let lock_name = format!("{PREFIX}{name}");
        let channel = BroadcastChannel::new(&lock_name).ok();
        let shared = Rc::new(Shared {
            locks: web_locks(),
            abort: AbortController::new().ok(),
            reports: Reporter::new(|text| web_sys::console::warn_1(&JsValue::from_str(text))),
            lock_name,
            channel,
            state: RefCell::default(),
        });
        let on_message = {
            let shared = Rc::clone(&shared);
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| shared.heard(&event.data()))
        };
        let on_message_error = {
            let shared = Rc::clone(&shared);
            Closure::<dyn FnMut()>::new(move || shared.ignored("a message that could not be deserialized"))
        };
        if let Some(channel) = &shared.channel {
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            channel.set_onmessageerror(Some(on_message_error.as_ref().unchecked_ref()));
            // Before this instance reads the store: whoever commits
            // unannounced before hearing this, commits before that read
            // (see docs/storage.md).
            shared.post("hello", None);
        }
        Self {
            shared,
            _on_message: on_message,
            _on_message_error: on_message_error,
        }
    }

    /// Asks for the lock (if it is free) while the database opens: the
    /// first read, which must come after the lock, then waits for both at
    /// once.
    pub fn prefetch_lock(&self) {
        if self.can_own() {
            let request = self.shared.request_lock(true);
            self.shared.state.borrow_mut().prefetched = Some(request);
        }
    }
}

/// `navigator.locks`, if it has `request`.
fn web_locks() -> Option<JsValue> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    if !navigator.is_object() {
        return None;
    }
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    let request = Reflect::get(&locks, &"request".into()).ok()?;
    request.is_function().then_some(locks)
}

impl Shared {
    fn heard(self: &Rc<Self>, message: &JsValue) {
        if let Some(problem) = message_problem(message) {
            self.ignored(&format!("a message no webkv of this version sends ({problem})"));
            return;
        }
        let kind = field(message, "type").as_string().unwrap_or_default();
        if kind == "hello" {
            // A newcomer, who must learn that others listen.
            self.state.borrow_mut().others_listen = true;
            self.post("here", None);
            return;
        }
        self.meet_peers();
        let heard = match kind.as_str() {
            "want" => Heard::Want,
            "queued" => Heard::Queued,
            "here" => Heard::Here,
            _ => {
                let records: Array = field(message, "records").unchecked_into();
                if too_much_to_copy(&records) {
                    Heard::Missed
                } else {
                    Heard::Commit(records)
                }
            }
        };
        self.push(heard);
    }

    fn ignored(&self, what: &str) {
        self.reports
            .report(&format!("ignored {what} on BroadcastChannel \"{}\"", self.lock_name));
    }

    /// The first sign of another instance: from now on commits are
    /// announced, and "here" tells the others to read what this one may have
    /// committed unannounced before (they hear it after those commits are
    /// durable).
    fn meet_peers(&self) {
        let met = std::mem::replace(&mut self.state.borrow_mut().others_listen, true);
        if !met {
            self.post("here", None);
        }
    }

    /// After close there is nobody to tell.
    fn post(&self, kind: &str, records: Option<&Array>) {
        let Some(channel) = &self.channel else { return };
        if self.state.borrow().closed {
            return;
        }
        let message = Object::new();
        let _ = Reflect::set(&message, &"type".into(), &kind.into());
        if let Some(records) = records {
            let _ = Reflect::set(&message, &"records".into(), records);
        }
        // It fails only on a closed channel, which has nobody to tell.
        let _ = channel.post_message(&message);
    }

    fn push(&self, heard: Heard) {
        let waker = {
            let mut state = self.state.borrow_mut();
            state.events.push_back(heard);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn flush_announcements(&self) {
        let records = self.state.borrow_mut().announcing.take();
        if let Some(records) = records {
            self.post("commit", Some(&records));
        }
    }

    /// Requests the lock: if it is free (`if_available`; `false` if it is
    /// not) or once it is (`true`). Once granted, it is held until
    /// `release` or close.
    fn request_lock(self: &Rc<Self>, if_available: bool) -> BackendFuture<bool> {
        let Some(locks) = &self.locks else {
            return Box::pin(std::future::ready(Ok(false)));
        };
        let options = Object::new();
        let _ = if if_available {
            Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE)
        } else {
            match &self.abort {
                Some(abort) => Reflect::set(&options, &"signal".into(), &abort.signal()),
                None => Ok(true),
            }
        };
        // Weak: a request aborted at close never calls back, and its
        // callback, never freed, must not keep this instance alive.
        let mut shared = Some(Rc::downgrade(self));
        let answer = Promise::new(&mut |resolve, reject| {
            let shared = shared.take();
            let granted = Closure::once_into_js(move |lock: JsValue| -> JsValue {
                let granted = !lock.is_null();
                let _ = resolve.call1(&JsValue::UNDEFINED, &granted.into());
                match shared.and_then(|shared| shared.upgrade()) {
                    Some(shared) if granted => shared.hold_lock().into(),
                    // Nobody to hold it for: released at once.
                    _ => JsValue::UNDEFINED,
                }
            });
            // The request's promise rejects if the request fails or is
            // aborted while it waits; after a grant that changes nothing.
            let requested = method(locks, "request")
                .and_then(|request| request.call3(locks, &self.lock_name.as_str().into(), &options, &granted))
                .and_then(|requested| method(&requested, "catch")?.call1(&requested, &reject));
            if let Err(error) = requested {
                let _ = reject.call1(&JsValue::UNDEFINED, &error);
            }
        });
        let shared = Rc::clone(self);
        Box::pin(async move {
            match JsFuture::from(answer).await {
                Ok(granted) => Ok(granted.is_truthy()),
                Err(error) => Err(shared.lock_error(&error)),
            }
        })
    }

    fn lock_error(&self, error: &JsValue) -> KvError {
        if self.state.borrow().closed {
            KvError::error("The database was closed")
        } else {
            KvError::error(format!("IndexedDB failed: {}", js::error_text(error)))
        }
    }

    /// What a granted lock's callback returns: the lock is held until it
    /// resolves.
    fn hold_lock(&self) -> Promise {
        let held = Promise::new(&mut |resolve, _reject| self.state.borrow_mut().hold = Some(resolve));
        if self.state.borrow().closed {
            self.release();
        }
        held
    }

    fn release(&self) {
        let hold = self.state.borrow_mut().hold.take();
        if let Some(release) = hold {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Whether a commit announcement is too large to copy into wasm.
fn too_much_to_copy(records: &Array) -> bool {
    if records.length() > MAX_ANNOUNCED_RECORDS {
        return true;
    }
    let bytes: f64 = records
        .iter()
        .map(|record| record.unchecked_into::<Uint8Array>().byte_length() as f64)
        .sum();
    bytes > MAX_ANNOUNCED_BYTES
}

impl Peers for IdbPeers {
    fn can_own(&self) -> bool {
        self.shared.locks.is_some()
    }

    fn try_acquire(&self) -> BackendFuture<bool> {
        let prefetched = self.shared.state.borrow_mut().prefetched.take();
        prefetched.unwrap_or_else(|| self.shared.request_lock(true))
    }

    fn acquire(&self) -> BackendFuture<()> {
        // Someone else holds the lock, or did.
        self.shared.meet_peers();
        // The owner gives the lock up when it hears `want`.
        self.shared.post("want", None);
        let mut granted = self.shared.request_lock(false);
        let shared = Rc::clone(&self.shared);
        Box::pin(async move {
            loop {
                match select(granted, timer::sleep(WANT_MS)).await {
                    Either::Left((result, _)) => return result.map(drop),
                    Either::Right((_, still_waiting)) => {
                        granted = still_waiting;
                        shared.post("want", None);
                    }
                }
            }
        })
    }

    fn release(&self) {
        self.shared.release();
    }

    // Posting costs the page ~0.1 ms, as much as a tenth of a commit: the
    // commits of a few milliseconds go out together, after they answered.
    // Watchers in other tabs still hear within ANNOUNCE_MS plus delivery.
    fn announce(&self, records: &[Vec<u8>]) {
        let mut state = self.shared.state.borrow_mut();
        // A lone instance skips copying the records out of wasm memory.
        if !state.others_listen || state.closed {
            return;
        }
        let announcing = state.announcing.get_or_insert_with(|| {
            let shared = Rc::clone(&self.shared);
            wasm_bindgen_futures::spawn_local(async move {
                timer::sleep(ANNOUNCE_MS).await;
                shared.flush_announcements();
            });
            Array::new()
        });
        for bytes in records {
            announcing.push(&Uint8Array::from(bytes.as_slice()));
        }
    }

    fn announce_queued(&self) {
        if self.shared.state.borrow().others_listen {
            self.shared.post("queued", None);
        }
    }

    fn next_event(&self) -> BackendFuture<PeerEvent> {
        let shared = Rc::clone(&self.shared);
        Box::pin(poll_fn(move |cx| {
            let mut state = shared.state.borrow_mut();
            let Some(heard) = state.events.pop_front() else {
                if state.closed {
                    return Poll::Ready(Ok(PeerEvent::Closed));
                }
                keep_waker(&mut state.waker, cx.waker());
                return Poll::Pending;
            };
            Poll::Ready(Ok(match heard {
                Heard::Commit(records) => PeerEvent::Committed(
                    records
                        .iter()
                        .map(|record| record.unchecked_into::<Uint8Array>().to_vec())
                        .collect(),
                ),
                Heard::Want => PeerEvent::WriterWaiting,
                Heard::Queued => PeerEvent::Queued,
                Heard::Here => PeerEvent::Present,
                Heard::Missed => PeerEvent::Missed,
            }))
        }))
    }

    fn ignored(&self, what: &str) {
        self.shared.ignored(what);
    }

    fn close(&self) {
        let shared = &self.shared;
        if shared.state.borrow().closed {
            return;
        }
        // Commits that answered before close are still news to the others.
        shared.flush_announcements();
        let waker = {
            let mut state = shared.state.borrow_mut();
            state.closed = true;
            state.waker.take()
        };
        if let Some(abort) = &shared.abort {
            abort.abort_with_reason(&js_sys::Error::new("the database is closed"));
        }
        shared.release();
        if let Some(channel) = &shared.channel {
            channel.close();
        }
        shared.reports.close();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Drop for IdbPeers {
    fn drop(&mut self) {
        // The handlers die with this value: the channel must not call them.
        self.close();
        if let Some(channel) = &self.shared.channel {
            channel.set_onmessage(None);
            channel.set_onmessageerror(None);
        }
    }
}

/// `object[name]`, a function.
fn method(object: &JsValue, name: &str) -> Result<Function, JsValue> {
    Reflect::get(object, &JsValue::from_str(name))?.dyn_into()
}

fn field(object: &JsValue, name: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Why a BroadcastChannel message is none that webkv posts, or `None`.
/// Anything of the origin can post there, and so can an older or newer
/// webkv: every message is checked before it is used (docs/storage.md).
fn message_problem(message: &JsValue) -> Option<String> {
    if !message.is_object() || Array::is_array(message) || js_sys::ArrayBuffer::is_view(message) {
        return Some(format!("the message is {}", describe(message)));
    }
    let kind = field(message, "type");
    let Some(kind) = kind.as_string() else {
        return Some(format!("its type is {}", describe(&kind)));
    };
    if !MESSAGE_TYPES.contains(&kind.as_str()) {
        let shown: String = kind.chars().take(40).collect();
        return Some(format!("its type \"{shown}\" is unknown (a newer webkv's?)"));
    }
    if kind != "commit" {
        return None;
    }
    let records = field(message, "records");
    let Some(records) = records.dyn_ref::<Array>() else {
        return Some(format!("its records are {}", describe(&records)));
    };
    if records.length() == 0 {
        return Some("it announces no records".into());
    }
    // Past this many, the records are not looked at (nor used).
    if records.length() > MAX_ANNOUNCED_RECORDS {
        return None;
    }
    for record in records.iter() {
        let Some(bytes) = record.dyn_ref::<Uint8Array>() else {
            return Some(format!("a record is {}", describe(&record)));
        };
        if bytes.byte_length() == 0 {
            return Some("a record is empty".into());
        }
    }
    None
}

/// A short description of a value for a report (never the value itself,
/// which may be huge).
pub(super) fn describe(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    if let Some(array) = value.dyn_ref::<Array>() {
        return format!("an array of {}", array.length());
    }
    let class = || field(&field(value, "constructor"), "name").as_string();
    if js_sys::ArrayBuffer::is_view(value) {
        let bytes = field(value, "byteLength").as_f64().unwrap_or(0.0);
        return format!("a {} of {bytes} bytes", class().unwrap_or_else(|| "view".into()));
    }
    if let Some(text) = value.dyn_ref::<js_sys::JsString>() {
        return format!("a string of {}", text.length());
    }
    if value.is_object() {
        return format!("an object ({})", class().unwrap_or_else(|| "Object".into()));
    }
    // What else a message can hold: a number, a boolean or a bigint.
    let kind = value.js_typeof().as_string().unwrap_or_default();
    match (value.as_f64(), value.as_bool()) {
        (Some(n), _) => format!("{kind} {n}"),
        (_, Some(b)) => format!("{kind} {b}"),
        _ => kind,
    }
}
