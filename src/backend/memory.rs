use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use super::time::{long_sleep, Clock, Sleep, Timer, WakeUp};
use super::{Backend, BackendFuture, WatchStream};
use crate::core::engine::Engine;
use crate::core::entry::PreparedCommit;
use crate::core::page_index::PageInfo;
use crate::core::queue::AfterFailure;
use crate::core::selector::point_range;
use crate::core::versionstamp::Versionstamp;

pub struct MemoryBackend {
    engine: Rc<RefCell<Engine>>,
    clock: Clock,
    timer: Timer,
    waiters: Rc<RefCell<Waiters>>,
}

/// Who waits for a change: watches (by the keys they watch) and queue
/// listeners (for a message to fall due).
#[derive(Default)]
struct Waiters {
    next_id: u64,
    slots: HashMap<u64, WatchSlot>,
    closed: bool,
    /// Queue listeners waiting for a message to fall due, by listener: one
    /// waker each however often it is polled.
    listeners: HashMap<u64, Waker>,
    next_listener: u64,
}

struct WatchSlot {
    keys: Vec<Vec<u8>>,
    dirty: bool,
    waker: Option<Waker>,
}

impl Waiters {
    fn notify(&mut self, changed: &[Vec<u8>]) {
        self.notify_where(|keys| keys.iter().any(|key| changed.contains(key)));
    }

    fn notify_where(&mut self, affected: impl Fn(&[Vec<u8>]) -> bool) {
        for slot in self.slots.values_mut() {
            if affected(&slot.keys) {
                slot.dirty = true;
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            }
        }
    }

    fn close(&mut self) {
        self.closed = true;
        for slot in self.slots.values_mut() {
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        }
        self.wake_listeners();
    }

    fn wake_listeners(&mut self) {
        for (_, waker) in self.listeners.drain() {
            waker.wake();
        }
    }
}

/// Keeps `waker` in `slot`, cloning it only if it is another task's.
pub fn keep_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(kept) if kept.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl MemoryBackend {
    pub fn new(clock: Clock, timer: Timer) -> Self {
        Self {
            engine: Rc::new(RefCell::new(Engine::new())),
            clock,
            timer,
            waiters: Rc::new(RefCell::new(Waiters::default())),
        }
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    pub fn sleep(&self, ms: u64) -> Sleep {
        long_sleep(&self.timer, ms)
    }

    pub fn version(&self) -> u64 {
        self.engine.borrow().version()
    }

    /// Reads take it mutably too: they decode the snapshot pages they touch.
    pub fn engine(&self) -> std::cell::RefMut<'_, Engine> {
        self.engine.borrow_mut()
    }

    /// Applies commits that are already durable elsewhere, and wakes the
    /// watchers of the keys they changed.
    pub fn apply(&self, commits: Vec<PreparedCommit>) {
        let mut changed = Vec::new();
        let mut enqueued = false;
        {
            let mut engine = self.engine.borrow_mut();
            for commit in commits {
                changed.extend(commit.changes.keys().cloned());
                enqueued |= !commit.enqueues.is_empty();
                engine.apply(commit);
            }
        }
        let mut waiters = self.waiters.borrow_mut();
        waiters.notify(&changed);
        if enqueued {
            waiters.wake_listeners();
        }
    }

    /// Records how a delivery went; returns the payload and its
    /// `keysIfUndelivered` when the message has run out of retries.
    fn record_delivery(&self, id: u64, delivered: bool) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
        let now = (self.clock)();
        let mut engine = self.engine.borrow_mut();
        if delivered {
            engine.queue().delivered(id);
            return None;
        }
        match engine.queue().failed(id, now)? {
            AfterFailure::Retried => {
                self.waiters.borrow_mut().wake_listeners();
                None
            }
            AfterFailure::Undelivered { payload, keys } => Some((payload, keys)),
        }
    }

    /// Replaces the whole state with a loaded snapshot; any watched key may
    /// have changed.
    pub fn replace(&self, version: u64, pages: Vec<PageInfo>) {
        self.engine.borrow_mut().load_index(version, pages);
        self.waiters.borrow_mut().notify_where(|_| true);
    }
}

impl Backend for MemoryBackend {
    fn snapshot_read(&self, ranges: Vec<ReadRange>, _consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        let now = (self.clock)();
        let mut engine = self.engine.borrow_mut();
        engine.collect_expired(now);
        let output = ranges.iter().map(|range| engine.read_range(range, now)).collect();
        Box::pin(ready(Ok(output)))
    }

    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        let now = (self.clock)();
        let enqueues = !write.enqueues.is_empty();
        let result = self.engine.borrow_mut().commit_changes(write, now);
        let result = result.map(|committed| {
            committed.map(|committed| {
                let mut waiters = self.waiters.borrow_mut();
                waiters.notify(&committed.changed_keys);
                if enqueues {
                    waiters.wake_listeners();
                }
                committed.versionstamp
            })
        });
        Box::pin(ready(result))
    }

    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        let id = {
            let mut waiters = self.waiters.borrow_mut();
            waiters.next_listener += 1;
            waiters.next_listener
        };
        Box::pin(NextMessage {
            id,
            engine: Rc::clone(&self.engine),
            waiters: Rc::clone(&self.waiters),
            clock: Rc::clone(&self.clock),
            timer_factory: Rc::clone(&self.timer),
            wake_up: WakeUp::default(),
        })
    }

    fn finish_message(&self, id: u64, delivered: bool) {
        if let Some((payload, keys)) = self.record_delivery(id, delivered) {
            let now = (self.clock)();
            let committed = self.engine.borrow_mut().write_undelivered(payload, keys, now);
            if let Ok(Some(committed)) = committed {
                self.waiters.borrow_mut().notify(&committed.changed_keys);
            }
        }
    }

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream> {
        let mut waiters = self.waiters.borrow_mut();
        let id = waiters.next_id;
        waiters.next_id += 1;
        waiters.slots.insert(
            id,
            WatchSlot {
                keys: keys.clone(),
                dirty: false,
                waker: None,
            },
        );
        Box::new(MemoryWatch {
            id,
            keys,
            started: false,
            engine: Rc::clone(&self.engine),
            waiters: Rc::clone(&self.waiters),
            clock: Rc::clone(&self.clock),
            timer: Rc::clone(&self.timer),
        })
    }

    fn close(&self) {
        *self.engine.borrow_mut() = Engine::new();
        self.waiters.borrow_mut().close();
    }
}

struct MemoryWatch {
    id: u64,
    keys: Vec<Vec<u8>>,
    started: bool,
    engine: Rc<RefCell<Engine>>,
    waiters: Rc<RefCell<Waiters>>,
    clock: Clock,
    timer: Timer,
}

fn read_keys(engine: &RefCell<Engine>, keys: &[Vec<u8>], now: u64) -> Vec<Option<KvEntry>> {
    let mut engine = engine.borrow_mut();
    engine.collect_expired(now);
    keys.iter()
        .map(|key| engine.read_range(&point_range(key.clone()), now).pop())
        .collect()
}

impl WatchStream for MemoryWatch {
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>> {
        if self.keys.is_empty() || self.waiters.borrow().closed {
            return Box::pin(ready(Ok(None)));
        }
        let now = (self.clock)();
        if !self.started {
            self.started = true;
            return Box::pin(ready(Ok(Some(read_keys(&self.engine, &self.keys, now)))));
        }
        // An expiry is a change too: wake when the first watched entry expires.
        let next_expiry = {
            let mut engine = self.engine.borrow_mut();
            self.keys.iter().filter_map(|key| engine.expires_at(key, now)).min()
        };
        let expiry = next_expiry.map(|at| long_sleep(&self.timer, at.saturating_sub(now).saturating_add(1)));
        let wait = WaitForChange {
            id: self.id,
            waiters: Rc::clone(&self.waiters),
            expiry,
        };
        let (engine, keys, clock) = (Rc::clone(&self.engine), self.keys.clone(), Rc::clone(&self.clock));
        Box::pin(async move {
            if !wait.await {
                return Ok(None);
            }
            Ok(Some(read_keys(&engine, &keys, clock())))
        })
    }
}

impl Drop for MemoryWatch {
    /// A cancelled watch: a read still waiting ends now (with its timer),
    /// rather than when the timer fires.
    fn drop(&mut self) {
        let slot = self.waiters.borrow_mut().slots.remove(&self.id);
        if let Some(waker) = slot.and_then(|slot| slot.waker) {
            waker.wake();
        }
    }
}

/// Resolves with the next due queue message, or None on close.
struct NextMessage {
    /// Its place among `Waiters::listeners`.
    id: u64,
    engine: Rc<RefCell<Engine>>,
    waiters: Rc<RefCell<Waiters>>,
    clock: Clock,
    timer_factory: Timer,
    /// When the earliest waiting message falls due.
    wake_up: WakeUp,
}

impl Future for NextMessage {
    type Output = crate::core::error::KvResult<Option<(u64, Vec<u8>)>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            if self.waiters.borrow().closed {
                return Poll::Ready(Ok(None));
            }
            let now = (self.clock)();
            if let Some(message) = self.engine.borrow_mut().queue().take_due(now) {
                return Poll::Ready(Ok(Some(message)));
            }
            {
                let mut waiters = self.waiters.borrow_mut();
                let kept = waiters.listeners.get(&self.id);
                if !kept.is_some_and(|kept| kept.will_wake(cx.waker())) {
                    waiters.listeners.insert(self.id, cx.waker().clone());
                }
            }
            // An earlier message may have arrived since the timer was armed.
            let next_due = self.engine.borrow().queue_next_due_ms();
            if let Some(due) = next_due {
                let timer = Rc::clone(&self.timer_factory);
                self.wake_up
                    .arm_for(due, || long_sleep(&timer, due.saturating_sub(now)));
            }
            if !self.wake_up.fired(cx) {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for NextMessage {
    fn drop(&mut self) {
        self.waiters.borrow_mut().listeners.remove(&self.id);
    }
}

/// Resolves true when a watched key changed or expired, false on close.
struct WaitForChange {
    id: u64,
    waiters: Rc<RefCell<Waiters>>,
    expiry: Option<Sleep>,
}

impl Future for WaitForChange {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        {
            let mut waiters = self.waiters.borrow_mut();
            if waiters.closed {
                return Poll::Ready(false);
            }
            let Some(slot) = waiters.slots.get_mut(&self.id) else {
                return Poll::Ready(false);
            };
            if slot.dirty {
                slot.dirty = false;
                return Poll::Ready(true);
            }
            keep_waker(&mut slot.waker, cx.waker());
        }
        if let Some(expiry) = self.expiry.as_mut() {
            if expiry.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use denokv_proto::{AtomicWrite, KvValue, Mutation, MutationKind};

    use super::*;
    use crate::backend::time::MAX_TIMER_MS;

    fn poll<T>(future: &mut BackendFuture<T>) -> Poll<crate::core::error::KvResult<T>> {
        future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    }

    fn set(key: &[u8], expire_at_ms: Option<i64>) -> AtomicWrite {
        AtomicWrite {
            checks: vec![],
            mutations: vec![Mutation {
                key: key.to_vec(),
                kind: MutationKind::Set(KvValue::Bytes(vec![1])),
                expire_at: expire_at_ms.and_then(chrono::DateTime::from_timestamp_millis),
            }],
            enqueues: vec![],
        }
    }

    fn backend(requested_sleeps: Rc<Cell<Option<u32>>>) -> MemoryBackend {
        let timer: Timer = Rc::new(move |ms| {
            requested_sleeps.set(Some(ms));
            Box::pin(std::future::pending())
        });
        MemoryBackend::new(Rc::new(|| 1_000), timer)
    }

    #[test]
    fn commits_to_watched_keys_wake_the_watch_and_close_ends_it() {
        let backend = backend(Rc::new(Cell::new(None)));
        let mut watch = backend.watch(vec![b"a".to_vec()]);
        assert!(matches!(poll(&mut watch.next()), Poll::Ready(Ok(Some(entries))) if entries[0].is_none()));

        let mut waiting = watch.next();
        assert!(poll(&mut waiting).is_pending());
        let _ = poll(&mut backend.atomic_write(set(b"b", None)));
        assert!(poll(&mut waiting).is_pending(), "an unwatched key does not wake it");
        let _ = poll(&mut backend.atomic_write(set(b"a", None)));
        assert!(matches!(poll(&mut waiting), Poll::Ready(Ok(Some(entries))) if entries[0].is_some()));

        let mut waiting = watch.next();
        assert!(poll(&mut waiting).is_pending());
        backend.close();
        assert!(matches!(poll(&mut waiting), Poll::Ready(Ok(None))));
    }

    #[test]
    fn a_watched_entry_with_an_expiry_arms_a_timer_for_it() {
        let requested = Rc::new(Cell::new(None));
        let backend = backend(Rc::clone(&requested));
        let _ = poll(&mut backend.atomic_write(set(b"a", Some(1_250))));
        let mut watch = backend.watch(vec![b"a".to_vec()]);
        let _ = poll(&mut watch.next());
        assert!(poll(&mut watch.next()).is_pending());
        assert_eq!(
            requested.get(),
            Some(251),
            "wakes just after the entry expires at 1250 ms (now 1000)"
        );
    }

    fn enqueue(deliver_at_ms: i64) -> AtomicWrite {
        AtomicWrite {
            checks: vec![],
            mutations: vec![],
            enqueues: vec![denokv_proto::Enqueue {
                payload: vec![1],
                deadline: chrono::DateTime::from_timestamp_millis(deliver_at_ms).expect("a time"),
                keys_if_undelivered: vec![],
                backoff_schedule: None,
            }],
        }
    }

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

    /// A backend whose clock is `now` and whose sleeps end once `now` has
    /// passed their end; every sleep asked for is recorded.
    fn clocked(now: Rc<Cell<u64>>, asked: Rc<RefCell<Vec<u32>>>) -> MemoryBackend {
        let clock = Rc::clone(&now);
        let timer: Timer = Rc::new(move |ms| {
            asked.borrow_mut().push(ms);
            let (now, end) = (Rc::clone(&now), now.get() + u64::from(ms));
            Box::pin(std::future::poll_fn(move |_| {
                if now.get() >= end {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }))
        });
        MemoryBackend::new(Rc::new(move || clock.get()), timer)
    }

    #[test]
    fn waits_longer_than_a_js_timer_allows_are_made_of_steps_it_allows() {
        // JS timers fire at once when asked for more than 2^31 - 1 ms; a
        // watch on an entry expiring in 26 days and a message delayed 26
        // days must never ask for more.
        let now = Rc::new(Cell::new(1_000));
        let asked = Rc::new(RefCell::new(Vec::new()));
        let backend = clocked(Rc::clone(&now), Rc::clone(&asked));
        let _ = poll(&mut backend.atomic_write(set(b"a", Some(1_000 + 26 * DAY_MS))));
        let mut watch = backend.watch(vec![b"a".to_vec()]);
        let _ = poll(&mut watch.next());
        let mut watching = watch.next();
        assert!(poll(&mut watching).is_pending());
        let _ = poll(&mut backend.atomic_write(enqueue(1_000 + 26 * DAY_MS)));
        let mut dequeue = backend.dequeue();
        assert!(poll(&mut dequeue).is_pending());
        assert!(!asked.borrow().is_empty());
        assert!(
            asked.borrow().iter().all(|ms| *ms <= MAX_TIMER_MS),
            "asked for {:?}",
            asked.borrow()
        );

        // When the first step ends, the wait goes on with the rest of it.
        now.set(1_000 + u64::from(MAX_TIMER_MS) + 1);
        assert!(poll(&mut watching).is_pending(), "the entry has not expired yet");
        assert!(poll(&mut dequeue).is_pending(), "the message is not due yet");
        // (Each step starts when the one before was seen to end.)
        now.set(1_000 + 26 * DAY_MS as u64 + 10);
        assert!(matches!(poll(&mut watching), Poll::Ready(Ok(Some(entries))) if entries[0].is_none()));
        assert!(matches!(poll(&mut dequeue), Poll::Ready(Ok(Some((_, payload)))) if payload == vec![1]));
        assert!(asked.borrow().iter().all(|ms| *ms <= MAX_TIMER_MS));
    }

    #[test]
    fn polling_a_waiting_listener_again_keeps_one_waker() {
        let backend = backend(Rc::new(Cell::new(None)));
        let _ = poll(&mut backend.atomic_write(enqueue(1_000 + 26 * DAY_MS)));
        let mut dequeue = backend.dequeue();
        for _ in 0..100 {
            assert!(poll(&mut dequeue).is_pending());
        }
        assert_eq!(backend.waiters.borrow().listeners.len(), 1);
        drop(dequeue);
        assert_eq!(
            backend.waiters.borrow().listeners.len(),
            0,
            "a dropped listener leaves nothing"
        );
    }

    #[test]
    fn a_watch_dropped_while_waiting_ends_the_wait_and_its_timer() {
        // Sleeps that count how many are alive (a live one is a JS timer).
        let alive = Rc::new(Cell::new(0));
        struct Counted(Rc<Cell<i32>>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        let timer: Timer = {
            let alive = Rc::clone(&alive);
            Rc::new(move |_| {
                alive.set(alive.get() + 1);
                let counted = Counted(Rc::clone(&alive));
                Box::pin(std::future::poll_fn(move |_| {
                    let _ = &counted;
                    Poll::Pending
                }))
            })
        };
        let backend = MemoryBackend::new(Rc::new(|| 1_000), timer);
        let _ = poll(&mut backend.atomic_write(set(b"a", Some(61_000))));
        let mut watch = backend.watch(vec![b"a".to_vec()]);
        let _ = poll(&mut watch.next());
        let mut waiting = watch.next();
        struct Flag(std::sync::atomic::AtomicBool);
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let woken = std::sync::Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
        let waker = Waker::from(std::sync::Arc::clone(&woken));
        assert!(waiting.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        assert_eq!(alive.get(), 1, "a timer for the expiry");
        drop(watch); // cancelled
        assert!(
            woken.0.load(std::sync::atomic::Ordering::SeqCst),
            "the wait is woken, or nothing polls it until the timer fires"
        );
        assert!(matches!(poll(&mut waiting), Poll::Ready(Ok(None))));
        drop(waiting);
        assert_eq!(alive.get(), 0, "no timer left");
    }

    #[test]
    fn an_empty_watch_ends_at_once() {
        let backend = backend(Rc::new(Cell::new(None)));
        assert!(matches!(poll(&mut backend.watch(vec![]).next()), Poll::Ready(Ok(None))));
    }
}
