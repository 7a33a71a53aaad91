//! A database held in memory and made durable by a transactional store
//! (IndexedDB in a browser), shared with the other instances of the same
//! database (tabs, workers). The protocol, and why it is correct, is in
//! docs/storage.md. In short:
//! - every commit is appended to the store's log, in one transaction per
//!   group of commits, before it is applied in memory and acknowledged;
//! - one instance at a time owns the database (a Web Lock) and only the
//!   owner writes, so the owner's memory is never behind and it answers
//!   strong reads from memory; anyone else reads what it missed from the
//!   store before a strong read;
//! - the log is a version-keyed append: a version written twice fails the
//!   transaction, so even without locks no commit can be lost or doubled;
//! - checkpoints keep the log short by rewriting, in one transaction, only
//!   the snapshot pages that own a key changed since (checkpoint.rs).

mod checkpoint;
pub mod host;
mod ownership;
mod pages;
mod queue;
mod sync;
#[cfg(test)]
mod tests;
mod writer;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};
use futures::channel::oneshot;

use self::host::{MessageKey, PeerEvent, Peers, Spawn, Store};
use self::ownership::Ownership;
pub use self::pages::DEFAULT_CACHE_BYTES;
use self::pages::{Busy, PagedWatch, Watched};
use self::queue::Signal;
use super::memory::MemoryBackend;
use super::{Backend, BackendFuture, WatchStream};
use crate::core::error::{KvError, KvResult};
use crate::core::page_index::PageIndex;
use crate::core::queue::QueuedMessage;
use crate::core::versionstamp::Versionstamp;

/// Snapshot pages of about this size: big enough that a database of
/// 100,000 entries is a few dozen records, small enough to stay inline in
/// Chromium's IndexedDB (larger values become separate blob files).
pub const PAGE_BYTES: usize = 512 * 1024;

pub struct DurableBackend {
    shared: Rc<Shared>,
}

struct Shared {
    memory: MemoryBackend,
    store: Box<dyn Store>,
    peers: Box<dyn Peers>,
    spawn: Spawn,
    /// Whether this host has locks at all (it does not change).
    can_own: bool,
    state: RefCell<State>,
    /// Wakes queue listeners.
    queue_signal: Rc<Signal>,
    /// Fires once, on close.
    queue_closed: Rc<Signal>,
}

type Reply = oneshot::Sender<KvResult<Option<Versionstamp>>>;

#[derive(Default)]
struct State {
    /// Commits waiting for the next write transaction.
    queued: Vec<(AtomicWrite, Reply)>,
    /// A write loop is running (it drains `queued`).
    writing: bool,
    /// Whether this instance owns the database and its memory is fresh,
    /// and whether it is closed (ownership.rs).
    ownership: Ownership,
    /// Bytes of commit records applied since the snapshot was loaded or
    /// checkpointed: what the next checkpoint would take off the log.
    log_bytes: usize,
    /// The newest page index this instance loaded or wrote. (The keys
    /// changed since its version, which a checkpoint rewrites the pages
    /// of, are the engine's `changed_keys`.)
    index: PageIndex,
    /// What the cached pages may cost (pages.rs).
    cache_bytes: u64,
    /// Operations fetching pages: nothing is evicted until none is left.
    busy: usize,
    /// Watched keys, whose pages are not evicted.
    watched: Watched,
    /// A follower's changes past this size send it to the newest index
    /// (`reloading` while it reads it).
    reload_at: u64,
    reloading: bool,
    /// `log_bytes` at which to weigh a checkpoint again (checkpoint.rs).
    weigh_at: usize,
    /// A background catch-up is running; `catch_up_again`: someone asked
    /// for one since it started reading.
    catching_up: bool,
    catch_up_again: bool,
    /// Queue messages this instance is delivering, by local id.
    deliveries: HashMap<u64, (MessageKey, QueuedMessage)>,
    next_delivery: u64,
}

impl DurableBackend {
    /// Loads the database and starts following the other instances.
    pub async fn open(
        memory: MemoryBackend,
        store: Box<dyn Store>,
        peers: Box<dyn Peers>,
        spawn: Spawn,
        cache_bytes: u64,
    ) -> KvResult<Self> {
        let can_own = peers.can_own();
        let shared = Rc::new(Shared {
            can_own,
            memory,
            store,
            peers,
            spawn,
            state: RefCell::new(State {
                cache_bytes,
                reload_at: pages::reload_threshold(cache_bytes),
                ..State::default()
            }),
            queue_signal: Rc::default(),
            queue_closed: Rc::default(),
        });
        // Take ownership first when it is free, so that the load below sees
        // every commit and strong reads can be answered from memory at once.
        let owns = shared.can_own && shared.peers.try_acquire().await?;
        // An empty snapshot until the store's is read: memory tracks what
        // changes against its pages from the start.
        shared.memory.replace(0, Vec::new());
        let loaded = shared.store.read_since(0).await.and_then(|since| shared.absorb(since));
        if let Err(err) = loaded {
            shared.close();
            return Err(err);
        }
        shared.state.borrow_mut().ownership.opened(owns);
        (shared.spawn)(Box::pin(follow_peers(Rc::clone(&shared))));
        Ok(Self { shared })
    }
}

/// Applies what the other instances announce, and gives up ownership when
/// one of them waits to write.
async fn follow_peers(shared: Rc<Shared>) {
    loop {
        match shared.peers.next_event().await {
            Ok(PeerEvent::Committed(records)) => {
                shared.absorb_announced(&records);
                shared.bound_changes();
            }
            Ok(PeerEvent::WriterWaiting) => shared.writer_waiting(),
            Ok(PeerEvent::Queued) => shared.queue_signal.notify(),
            Ok(PeerEvent::Present | PeerEvent::Missed) => shared.catch_up_in_background(),
            Ok(PeerEvent::Closed) | Err(_) => return,
        }
    }
}

impl Shared {
    fn writer_waiting(&self) {
        let mut state = self.state.borrow_mut();
        let writing = state.writing;
        if state.ownership.other_wants_to_write(writing) {
            self.release(&mut state);
        }
    }

    fn release(&self, state: &mut State) {
        if state.ownership.released() {
            self.peers.release();
        }
    }

    fn close(&self) {
        let queued = {
            let mut state = self.state.borrow_mut();
            state.ownership.closed();
            std::mem::take(&mut state.queued)
        };
        for (_, reply) in queued {
            let _ = reply.send(Err(KvError::closed()));
        }
        self.queue_signal.notify();
        self.queue_closed.notify();
        self.peers.close();
        self.store.close();
        self.memory.close();
    }
}

impl Backend for DurableBackend {
    fn snapshot_read(&self, ranges: Vec<ReadRange>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        let served_from_memory =
            consistency == Consistency::Eventual || self.shared.state.borrow().ownership.is_fresh();
        // The common case, a read of pages already held, answers at once
        // (no pages to fetch means no eviction to run either).
        let held = served_from_memory && {
            let engine = self.shared.memory.engine();
            ranges.iter().all(|range| engine.holds(range))
        };
        if held {
            return self.shared.memory.snapshot_read(ranges, consistency);
        }
        let shared = Rc::clone(&self.shared);
        Box::pin(async move {
            if !served_from_memory {
                shared.catch_up().await?;
            }
            let _busy = Busy::new(&shared);
            shared.memory.engine().collect_expired(shared.memory.now());
            let mut output = Vec::with_capacity(ranges.len());
            for range in &ranges {
                output.push(shared.read_range(range).await?);
            }
            Ok(output)
        })
    }

    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        let (reply, result) = oneshot::channel();
        Shared::queue_write(&self.shared, write, reply);
        Box::pin(async move { result.await.unwrap_or_else(|_| Err(KvError::closed())) })
    }

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream> {
        let inner = self.shared.memory.watch(keys.clone());
        Box::new(PagedWatch::new(Rc::clone(&self.shared), keys, inner))
    }

    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        let shared = Rc::clone(&self.shared);
        Box::pin(async move { shared.next_message().await })
    }

    fn finish_message(&self, id: u64, delivered: bool) {
        self.shared.finish_delivery(id, delivered);
    }

    fn close(&self) {
        self.shared.close();
    }
}
