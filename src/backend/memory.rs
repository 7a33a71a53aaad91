use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use super::{Backend, BackendFuture, WatchStream};
use crate::core::engine::Engine;
use crate::core::entry::PreparedCommit;
use crate::core::error::KvResult;
use crate::core::queue::AfterFailure;
use crate::core::record::Page;
use crate::core::selector::point_range;
use crate::core::versionstamp::Versionstamp;

/// Milliseconds since the Unix epoch; injected so that the core never reads
/// a clock itself and tests can control time.
pub type Clock = Rc<dyn Fn() -> u64>;

/// A pending sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()>>>;

/// Starts a sleep of the given milliseconds: how watchers see entries expire
/// and queue listeners see delayed messages fall due.
pub type Timer = Rc<dyn Fn(u32) -> Sleep>;

pub struct MemoryBackend {
    engine: Rc<RefCell<Engine>>,
    clock: Clock,
    timer: Timer,
    watchers: Rc<RefCell<Watchers>>,
}

#[derive(Default)]
struct Watchers {
    next_id: u64,
    slots: HashMap<u64, WatchSlot>,
    closed: bool,
    /// Queue listeners waiting for a message to fall due.
    listeners: Vec<Waker>,
}

struct WatchSlot {
    keys: Vec<Vec<u8>>,
    dirty: bool,
    waker: Option<Waker>,
}

impl Watchers {
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
        for waker in self.listeners.drain(..) {
            waker.wake();
        }
    }
}

impl MemoryBackend {
    pub fn new(clock: Clock, timer: Timer) -> Self {
        Self {
            engine: Rc::new(RefCell::new(Engine::new())),
            clock,
            timer,
            watchers: Rc::new(RefCell::new(Watchers::default())),
        }
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    pub fn sleep(&self, ms: u64) -> Sleep {
        (self.timer)(u32::try_from(ms).unwrap_or(u32::MAX))
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
        let mut watchers = self.watchers.borrow_mut();
        watchers.notify(&changed);
        if enqueued {
            watchers.wake_listeners();
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
                self.watchers.borrow_mut().wake_listeners();
                None
            }
            AfterFailure::Undelivered { payload, keys } => Some((payload, keys)),
        }
    }

    /// Replaces the whole state with a loaded snapshot; any watched key may
    /// have changed.
    pub fn replace(&self, version: u64, pages: Vec<Page>) -> KvResult<()> {
        self.engine.borrow_mut().load(version, pages)?;
        self.watchers.borrow_mut().notify_where(|_| true);
        Ok(())
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
                let mut watchers = self.watchers.borrow_mut();
                watchers.notify(&committed.changed_keys);
                if enqueues {
                    watchers.wake_listeners();
                }
                committed.versionstamp
            })
        });
        Box::pin(ready(result))
    }

    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        Box::pin(NextMessage {
            engine: Rc::clone(&self.engine),
            watchers: Rc::clone(&self.watchers),
            clock: Rc::clone(&self.clock),
            timer_factory: Rc::clone(&self.timer),
            timer: None,
        })
    }

    fn finish_message(&self, id: u64, delivered: bool) {
        if let Some((payload, keys)) = self.record_delivery(id, delivered) {
            let now = (self.clock)();
            let committed = self.engine.borrow_mut().write_undelivered(payload, keys, now);
            if let Ok(Some(committed)) = committed {
                self.watchers.borrow_mut().notify(&committed.changed_keys);
            }
        }
    }

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream> {
        let mut watchers = self.watchers.borrow_mut();
        let id = watchers.next_id;
        watchers.next_id += 1;
        watchers.slots.insert(
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
            watchers: Rc::clone(&self.watchers),
            clock: Rc::clone(&self.clock),
            timer: Rc::clone(&self.timer),
        })
    }

    fn close(&self) {
        *self.engine.borrow_mut() = Engine::new();
        self.watchers.borrow_mut().close();
    }
}

struct MemoryWatch {
    id: u64,
    keys: Vec<Vec<u8>>,
    started: bool,
    engine: Rc<RefCell<Engine>>,
    watchers: Rc<RefCell<Watchers>>,
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
        if self.keys.is_empty() || self.watchers.borrow().closed {
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
        let expiry = next_expiry.map(|at| (self.timer)(u32::try_from(at.saturating_sub(now) + 1).unwrap_or(u32::MAX)));
        let wait = WaitForChange {
            id: self.id,
            watchers: Rc::clone(&self.watchers),
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
    fn drop(&mut self) {
        self.watchers.borrow_mut().slots.remove(&self.id);
    }
}

/// Resolves with the next due queue message, or None on close.
struct NextMessage {
    engine: Rc<RefCell<Engine>>,
    watchers: Rc<RefCell<Watchers>>,
    clock: Clock,
    timer_factory: Timer,
    /// A sleep until `.0`, when the earliest waiting message falls due.
    timer: Option<(u64, Sleep)>,
}

impl Future for NextMessage {
    type Output = crate::core::error::KvResult<Option<(u64, Vec<u8>)>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            if self.watchers.borrow().closed {
                return Poll::Ready(Ok(None));
            }
            let now = (self.clock)();
            if let Some(message) = self.engine.borrow_mut().queue().take_due(now) {
                return Poll::Ready(Ok(Some(message)));
            }
            self.watchers.borrow_mut().listeners.push(cx.waker().clone());
            // An earlier message may have arrived since the timer was armed.
            let next_due = self.engine.borrow().queue_next_due_ms();
            let armed_for = self.timer.as_ref().map(|(at, _)| *at);
            if let Some(due) = next_due.filter(|due| armed_for.is_none_or(|armed| *due < armed)) {
                let sleep = (self.timer_factory)(u32::try_from(due.saturating_sub(now)).unwrap_or(u32::MAX));
                self.timer = Some((due, sleep));
            }
            let fired = match self.timer.as_mut() {
                Some((_, sleep)) => sleep.as_mut().poll(cx).is_ready(),
                None => false,
            };
            if !fired {
                return Poll::Pending;
            }
            self.timer = None;
        }
    }
}

/// Resolves true when a watched key changed or expired, false on close.
struct WaitForChange {
    id: u64,
    watchers: Rc<RefCell<Watchers>>,
    expiry: Option<Sleep>,
}

impl Future for WaitForChange {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        {
            let mut watchers = self.watchers.borrow_mut();
            if watchers.closed {
                return Poll::Ready(false);
            }
            let Some(slot) = watchers.slots.get_mut(&self.id) else {
                return Poll::Ready(false);
            };
            if slot.dirty {
                slot.dirty = false;
                return Poll::Ready(true);
            }
            slot.waker = Some(cx.waker().clone());
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

    #[test]
    fn an_empty_watch_ends_at_once() {
        let backend = backend(Rc::new(Cell::new(None)));
        assert!(matches!(poll(&mut backend.watch(vec![]).next()), Poll::Ready(Ok(None))));
    }
}
