//! The protocol against in-memory stand-ins for IndexedDB, Web Locks and a
//! BroadcastChannel, with several instances on one "disk" playing tabs.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::future::{ready, Future};
use std::rc::Rc;

use denokv_proto::{AtomicWrite, Check, Consistency, KvEntry, KvValue, Mutation, MutationKind};
use futures::channel::oneshot;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

use super::host::{
    BackendFuture, MessageKey, PeerEvent, Peers, PlanCheckpoint, Prepare, Since, Snapshot, Spawn, Store, Stored, Taken,
};
use super::DurableBackend;
use crate::backend::memory::MemoryBackend;
use crate::backend::time::Timer;
use crate::backend::Backend;
use crate::core::error::KvError;
use crate::core::page_index::PageIndex;
use crate::core::selector::point_range;
use crate::core::versionstamp::Versionstamp;

/// The stored snapshot: its version, its index, and the pages by id.
struct StoredSnapshot {
    version: u64,
    index: Vec<u8>,
    pages: BTreeMap<u64, Vec<u8>>,
}

impl Default for StoredSnapshot {
    /// What a new (or upgraded) layout-3 database holds.
    fn default() -> Self {
        Self {
            version: 0,
            index: PageIndex::default().encode(),
            pages: BTreeMap::new(),
        }
    }
}

#[derive(Default)]
struct Disk {
    version: u64,
    snapshot: StoredSnapshot,
    log: BTreeMap<u64, Vec<u8>>,
    transactions: usize,
    /// Read-only transactions (`read_since`).
    reads: usize,
    fail_next_write: Option<KvError>,
    /// Aborts the next checkpoint after it planned (a crash, a quota).
    fail_next_checkpoint: bool,
    /// Pages written by checkpoints, over the disk's life.
    pages_written: usize,
    /// Pages read (`read_pages`), over the disk's life.
    pages_read: usize,
    queue: BTreeMap<MessageKey, (Vec<u8>, Option<Lease>)>,
    /// Queue messages set aside, and why.
    discarded: Vec<(MessageKey, String)>,
}

/// Which instance delivers a queue message, and until when.
type Lease = (usize, u64);

impl Disk {
    fn since(&self, after: u64) -> Since {
        // Asked for what came after a version the store never reached: the
        // reader's memory is wrong, and gets the whole database.
        let reset = after > self.version;
        let after = if reset { 0 } else { after };
        let snapshot = (reset || after < self.snapshot.version).then(|| Snapshot {
            version: self.snapshot.version,
            index: self.snapshot.index.clone(),
        });
        let from = after.max(self.snapshot.version);
        Since {
            snapshot,
            log: self.log.range(from + 1..).map(|(_, bytes)| bytes.clone()).collect(),
            reset,
        }
    }
}

struct FakeStore {
    disk: Rc<RefCell<Disk>>,
    id: usize,
}

impl Store for FakeStore {
    fn read_since(&self, after: u64) -> BackendFuture<Since> {
        self.disk.borrow_mut().reads += 1;
        Box::pin(ready(Ok(self.disk.borrow().since(after))))
    }

    fn read_pages(&self, ids: Vec<u64>) -> BackendFuture<Vec<Option<Vec<u8>>>> {
        let mut disk = self.disk.borrow_mut();
        disk.reads += 1;
        disk.pages_read += ids.len();
        let pages = ids.iter().map(|id| disk.snapshot.pages.get(id).cloned()).collect();
        Box::pin(ready(Ok(pages)))
    }

    fn write(&self, after: u64, blind: bool, enqueues: bool, prepare: Prepare) -> BackendFuture<()> {
        let since = if blind {
            Since::default()
        } else {
            self.disk.borrow().since(after)
        };
        let appended = match prepare(since) {
            Ok(appended) => appended,
            Err(err) => return Box::pin(ready(Err(err))),
        };
        let records = appended.records;
        assert!(
            enqueues || appended.messages.is_empty(),
            "messages need the queue in the transaction"
        );
        let mut disk = self.disk.borrow_mut();
        disk.transactions += 1;
        if let Some(err) = disk.fail_next_write.take() {
            return Box::pin(ready(Err(err)));
        }
        if records
            .iter()
            .any(|(version, _)| disk.log.contains_key(version) || *version <= disk.snapshot.version)
        {
            return Box::pin(ready(Err(KvError::error("ConstraintError"))));
        }
        for (version, bytes) in records {
            disk.version = disk.version.max(version);
            disk.log.insert(version, bytes);
        }
        for (key, bytes) in appended.messages {
            disk.queue.insert(key, (bytes, None));
        }
        Box::pin(ready(Ok(())))
    }

    fn take_message(&self, now: u64, lease_until: u64) -> BackendFuture<Taken> {
        let mut disk = self.disk.borrow_mut();
        let mut next_due = None::<u64>;
        for (key, (bytes, lease)) in disk.queue.iter_mut() {
            if key.0 > now {
                next_due = Some(next_due.map_or(key.0, |due| due.min(key.0)));
                break;
            }
            // A newer webkv's message: not ours to deliver or discard.
            if bytes
                .first()
                .is_some_and(|format| *format != crate::core::record::MESSAGE_FORMAT)
            {
                continue;
            }
            match lease {
                Some((_, until)) if *until > now && *until <= lease_until => {
                    next_due = Some(next_due.map_or(*until, |due| due.min(*until)));
                }
                _ => {
                    *lease = Some((self.id, lease_until));
                    return Box::pin(ready(Ok(Taken::Message(*key, bytes.clone()))));
                }
            }
        }
        Box::pin(ready(Ok(Taken::NextDue(next_due))))
    }

    fn discard_message(&self, key: MessageKey, why: &str) -> BackendFuture<()> {
        let mut disk = self.disk.borrow_mut();
        if disk.queue.remove(&key).is_some() {
            disk.discarded.push((key, why.to_string()));
        }
        Box::pin(ready(Ok(())))
    }

    fn renew_lease(&self, key: MessageKey, lease_until: u64) -> BackendFuture<()> {
        if let Some((_, Some((holder, until)))) = self.disk.borrow_mut().queue.get_mut(&key) {
            if *holder == self.id {
                *until = lease_until;
            }
        }
        Box::pin(ready(Ok(())))
    }

    fn settle_message(&self, key: MessageKey, retry: Option<(u64, Vec<u8>)>) -> BackendFuture<()> {
        let mut disk = self.disk.borrow_mut();
        let leased_here = matches!(disk.queue.get(&key), Some((_, Some((holder, _)))) if *holder == self.id);
        if !leased_here {
            return Box::pin(ready(Ok(())));
        }
        disk.queue.remove(&key);
        if let Some((due, bytes)) = retry {
            disk.queue.insert((due, key.1, key.2), (bytes, None));
        }
        Box::pin(ready(Ok(())))
    }

    fn checkpoint(&self, plan: PlanCheckpoint) -> BackendFuture<bool> {
        let stored = {
            let disk = self.disk.borrow();
            Stored {
                version: disk.snapshot.version,
                index: disk.snapshot.index.clone(),
                newest: disk.version,
            }
        };
        let checkpoint = match plan(stored) {
            Ok(Some(checkpoint)) => checkpoint,
            Ok(None) => return Box::pin(ready(Ok(false))),
            Err(err) => return Box::pin(ready(Err(err))),
        };
        let mut disk = self.disk.borrow_mut();
        disk.transactions += 1;
        if std::mem::take(&mut disk.fail_next_checkpoint) {
            return Box::pin(ready(Err(KvError::error("AbortError"))));
        }
        disk.pages_written += checkpoint.put.len();
        for (id, bytes) in checkpoint.put {
            assert!(
                disk.snapshot.pages.insert(id, bytes).is_none(),
                "page ids are never reused"
            );
        }
        for id in checkpoint.delete {
            disk.snapshot.pages.remove(&id);
        }
        disk.snapshot.version = checkpoint.version;
        disk.snapshot.index = checkpoint.index;
        disk.log.retain(|v, _| *v > checkpoint.version);
        Box::pin(ready(Ok(true)))
    }

    fn close(&self) {}
}

/// One lock and one channel shared by every instance.
#[derive(Default)]
struct Hub {
    holder: Option<usize>,
    waiting: VecDeque<(usize, oneshot::Sender<()>)>,
    inboxes: BTreeMap<usize, (VecDeque<PeerEvent>, Option<oneshot::Sender<()>>)>,
    deliver_announcements: bool,
    /// What instances reported as ignored.
    ignored: Vec<String>,
}

impl Hub {
    fn post(&mut self, from: usize, event: impl Fn() -> PeerEvent) {
        for (id, (inbox, wake)) in self.inboxes.iter_mut() {
            if *id != from {
                inbox.push_back(event());
                if let Some(wake) = wake.take() {
                    let _ = wake.send(());
                }
            }
        }
    }

    fn release(&mut self, id: usize) {
        if self.holder != Some(id) {
            return;
        }
        self.holder = None;
        while let Some((next, grant)) = self.waiting.pop_front() {
            if grant.send(()).is_ok() {
                self.holder = Some(next);
                break;
            }
        }
    }
}

struct FakePeers {
    id: usize,
    hub: Rc<RefCell<Hub>>,
    locks: bool,
}

impl Peers for FakePeers {
    fn can_own(&self) -> bool {
        self.locks
    }

    fn try_acquire(&self) -> BackendFuture<bool> {
        let mut hub = self.hub.borrow_mut();
        let free = hub.holder.is_none();
        if free {
            hub.holder = Some(self.id);
        }
        Box::pin(ready(Ok(free)))
    }

    fn acquire(&self) -> BackendFuture<()> {
        let mut hub = self.hub.borrow_mut();
        if hub.holder.is_none() {
            hub.holder = Some(self.id);
            return Box::pin(ready(Ok(())));
        }
        let (grant, granted) = oneshot::channel();
        hub.waiting.push_back((self.id, grant));
        hub.post(self.id, || PeerEvent::WriterWaiting);
        Box::pin(async move { granted.await.map_err(|_| KvError::error("lock request dropped")) })
    }

    fn release(&self) {
        self.hub.borrow_mut().release(self.id);
    }

    fn announce(&self, records: &[Vec<u8>]) {
        let mut hub = self.hub.borrow_mut();
        if hub.deliver_announcements {
            hub.post(self.id, || PeerEvent::Committed(records.to_vec()));
        }
    }

    fn announce_queued(&self) {
        self.hub.borrow_mut().post(self.id, || PeerEvent::Queued);
    }

    fn next_event(&self) -> BackendFuture<PeerEvent> {
        let hub = Rc::clone(&self.hub);
        let id = self.id;
        Box::pin(async move {
            loop {
                let wait = {
                    let mut hub = hub.borrow_mut();
                    let Some((inbox, wake)) = hub.inboxes.get_mut(&id) else {
                        return Ok(PeerEvent::Closed);
                    };
                    if let Some(event) = inbox.pop_front() {
                        return Ok(event);
                    }
                    let (sender, receiver) = oneshot::channel();
                    *wake = Some(sender);
                    receiver
                };
                if wait.await.is_err() {
                    return Ok(PeerEvent::Closed);
                }
            }
        })
    }

    fn ignored(&self, what: &str) {
        self.hub.borrow_mut().ignored.push(what.to_string());
    }

    fn close(&self) {
        let mut hub = self.hub.borrow_mut();
        hub.inboxes.remove(&self.id);
        hub.release(self.id);
    }
}

struct World {
    pool: LocalPool,
    disk: Rc<RefCell<Disk>>,
    hub: Rc<RefCell<Hub>>,
    next_id: usize,
    locks: bool,
    now: Rc<Cell<u64>>,
    sleepers: Rc<RefCell<Vec<std::task::Waker>>>,
    /// The cache budget of the instances it opens.
    cache_bytes: u64,
}

impl World {
    fn new(locks: bool) -> Self {
        let hub = Hub {
            deliver_announcements: true,
            ..Hub::default()
        };
        Self {
            pool: LocalPool::new(),
            disk: Rc::default(),
            hub: Rc::new(RefCell::new(hub)),
            next_id: 0,
            locks,
            now: Rc::new(Cell::new(1_000)),
            sleepers: Rc::default(),
            cache_bytes: super::DEFAULT_CACHE_BYTES,
        }
    }

    fn open(&mut self) -> Rc<DurableBackend> {
        let id = self.next_id;
        self.next_id += 1;
        self.hub.borrow_mut().inboxes.insert(id, (VecDeque::new(), None));
        let spawner = self.pool.spawner();
        let spawn: Spawn = Rc::new(move |task| {
            let _ = spawner.spawn_local(task);
        });
        let timer: Timer = {
            let (now, sleepers) = (Rc::clone(&self.now), Rc::clone(&self.sleepers));
            Rc::new(move |ms| {
                let deadline = now.get() + u64::from(ms);
                let (now, sleepers) = (Rc::clone(&now), Rc::clone(&sleepers));
                Box::pin(std::future::poll_fn(move |cx| {
                    if now.get() >= deadline {
                        return std::task::Poll::Ready(());
                    }
                    sleepers.borrow_mut().push(cx.waker().clone());
                    std::task::Poll::Pending
                }))
            })
        };
        let now = Rc::clone(&self.now);
        let memory = MemoryBackend::new(Rc::new(move || now.get()), timer);
        let store = Box::new(FakeStore {
            disk: Rc::clone(&self.disk),
            id,
        });
        let peers = Box::new(FakePeers {
            id,
            hub: Rc::clone(&self.hub),
            locks: self.locks,
        });
        let backend = self
            .run(DurableBackend::open(memory, store, peers, spawn, self.cache_bytes))
            .expect("opens");
        Rc::new(backend)
    }

    /// Moves the clock and wakes the sleeps that are over.
    fn advance(&mut self, ms: u64) {
        self.now.set(self.now.get() + ms);
        for waker in self.sleepers.borrow_mut().drain(..) {
            waker.wake();
        }
        self.pool.run_until_stalled();
    }

    fn run<T: 'static>(&mut self, future: impl Future<Output = T> + 'static) -> T {
        let handle = self.pool.spawner().spawn_local_with_handle(future).expect("spawns");
        self.pool.run_until(handle)
    }
}

fn set(key: &str, value: u64) -> AtomicWrite {
    AtomicWrite {
        checks: vec![],
        mutations: vec![Mutation {
            key: key.as_bytes().to_vec(),
            kind: MutationKind::Set(KvValue::U64(value)),
            expire_at: None,
        }],
        enqueues: vec![],
    }
}

async fn get(backend: &DurableBackend, key: &str) -> Option<(u64, Versionstamp)> {
    let ranges = vec![point_range(key.as_bytes().to_vec())];
    let mut read = backend.snapshot_read(ranges, Consistency::Strong).await.expect("reads");
    read.pop()?.pop().map(|entry| match entry.value {
        KvValue::U64(n) => (n, entry.versionstamp),
        other => panic!("{other:?}"),
    })
}

/// A check-guarded read-modify-write, retried until its check passes.
async fn increment(backend: Rc<DurableBackend>, key: &'static str) -> Versionstamp {
    loop {
        let current = get(&backend, key).await;
        let mut write = set(key, current.map_or(0, |(n, _)| n) + 1);
        write.checks.push(Check {
            key: key.as_bytes().to_vec(),
            versionstamp: current.map(|(_, stamp)| stamp),
        });
        if let Some(stamp) = backend.atomic_write(write).await.expect("commits") {
            return stamp;
        }
    }
}

#[test]
fn commits_are_durable_and_reload_from_snapshot_and_log() {
    let mut world = World::new(true);
    let first = world.open();
    let big = "x".repeat(4_000);
    for i in 0..200u64 {
        let db = Rc::clone(&first);
        let key: &'static str = Box::leak(format!("{big}{i}").into_boxed_str());
        world.run(async move { db.atomic_write(set(key, i)).await.expect("commits") });
    }
    assert!(
        world.disk.borrow().snapshot.version > 0,
        "the log was compacted into a snapshot"
    );
    assert!(
        !world.disk.borrow().log.is_empty(),
        "commits after the snapshot stay in the log"
    );
    first.close();

    let reopened = world.open();
    for i in [0u64, 57, 199] {
        let db = Rc::clone(&reopened);
        let key: &'static str = Box::leak(format!("{big}{i}").into_boxed_str());
        assert_eq!(world.run(async move { get(&db, key).await }).map(|(n, _)| n), Some(i));
    }
}

#[test]
fn concurrent_commits_share_one_transaction_and_keep_their_order() {
    let mut world = World::new(true);
    let db = world.open();
    let before = world.disk.borrow().transactions;
    let pending: Vec<_> = (0..100).map(|i| db.atomic_write(set("k", i))).collect();
    let stamps = world.run(async move {
        let mut stamps = Vec::new();
        for commit in pending {
            stamps.push(commit.await.expect("commits").expect("no checks"));
        }
        stamps
    });
    assert_eq!(world.disk.borrow().transactions - before, 1);
    assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
    let read = Rc::clone(&db);
    assert_eq!(
        world.run(async move { get(&read, "k").await }).map(|(n, _)| n),
        Some(99)
    );
}

#[test]
fn a_failed_transaction_changes_nothing_and_reports_the_error() {
    let mut world = World::new(true);
    let db = world.open();
    let first = Rc::clone(&db);
    world.run(async move { first.atomic_write(set("k", 1)).await.expect("commits") });
    world.disk.borrow_mut().fail_next_write = Some(KvError::error("QuotaExceededError"));
    let failing = Rc::clone(&db);
    let result = world.run(async move { failing.atomic_write(set("k", 2)).await });
    assert_eq!(result.map_err(|err| err.message), Err("QuotaExceededError".to_string()));
    let read = Rc::clone(&db);
    assert_eq!(world.run(async move { get(&read, "k").await }).map(|(n, _)| n), Some(1));
    let again = Rc::clone(&db);
    world.run(async move { again.atomic_write(set("k", 3)).await.expect("commits") });
    assert_eq!(world.run(async move { get(&db, "k").await }).map(|(n, _)| n), Some(3));
}

fn race_increments(locks: bool, announcements: bool) {
    let mut world = World::new(locks);
    world.hub.borrow_mut().deliver_announcements = announcements;
    let tabs = [world.open(), world.open(), world.open()];
    let spawner = world.pool.spawner();
    let mut handles = Vec::new();
    for tab in &tabs {
        for _ in 0..3 {
            let tab = Rc::clone(tab);
            let handle = spawner.spawn_local_with_handle(async move {
                let mut stamps = Vec::new();
                for _ in 0..40 {
                    stamps.push(increment(Rc::clone(&tab), "counter").await);
                }
                stamps
            });
            handles.push(handle.expect("spawns"));
        }
    }
    for handle in handles {
        let stamps = world.pool.run_until(handle);
        assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
    }
    for tab in &tabs {
        let tab = Rc::clone(tab);
        assert_eq!(
            world.run(async move { get(&tab, "counter").await }).map(|(n, _)| n),
            Some(360)
        );
    }
}

#[test]
fn guarded_increments_from_three_instances_never_lose_an_update() {
    race_increments(true, true);
}

#[test]
fn strong_reads_see_other_instances_commits_without_announcements() {
    race_increments(true, false);
}

#[test]
fn without_locks_writes_are_optimistic_and_still_exact() {
    race_increments(false, true);
    race_increments(false, false);
}

fn enqueue(payload: u8, keys_if_undelivered: Vec<Vec<u8>>, backoff: Vec<u32>) -> AtomicWrite {
    AtomicWrite {
        checks: vec![],
        mutations: vec![],
        enqueues: vec![denokv_proto::Enqueue {
            payload: vec![payload],
            deadline: chrono::DateTime::from_timestamp_millis(1_000).expect("a time"),
            keys_if_undelivered,
            backoff_schedule: Some(backoff),
        }],
    }
}

#[test]
fn a_queued_message_survives_its_page_and_goes_to_one_instance_at_a_time() {
    let mut world = World::new(true);
    let writer = world.open();
    let enqueuing = Rc::clone(&writer);
    world.run(async move {
        enqueuing
            .atomic_write(enqueue(7, vec![b"dead".to_vec()], vec![10]))
            .await
            .expect("commits")
    });
    writer.close();

    // Reopened (a reload): the message is still there; one instance takes it.
    let first = world.open();
    let second = world.open();
    let taker = Rc::clone(&first);
    let (id, payload) = world
        .run(async move { taker.dequeue().await })
        .expect("dequeues")
        .expect("a message");
    assert_eq!(payload, vec![7]);
    let waiting = Rc::clone(&second);
    let other = world
        .pool
        .spawner()
        .spawn_local_with_handle(async move { waiting.dequeue().await });
    let other = other.expect("spawns");
    world.advance(super::queue::LEASE_MS / 2);
    let renewed = world.disk.borrow().queue.values().next().and_then(|(_, lease)| *lease);
    assert!(
        matches!(renewed, Some((holder, until)) if holder == 1 && until > 1_000 + super::queue::LEASE_MS),
        "the first instance holds the lease and renews it while delivering: {renewed:?}"
    );

    // The first instance dies mid-delivery; once its lease runs out the
    // message goes to the other one.
    first.close();
    let _ = id;
    world.advance(super::queue::LEASE_MS + 1);
    let (second_id, payload) = world.pool.run_until(other).expect("dequeues").expect("redelivered");
    assert_eq!(payload, vec![7]);

    // It fails once (retried after 10 ms), then again: the schedule is spent
    // and the payload lands in keysIfUndelivered.
    second.finish_message(second_id, false);
    world.pool.run_until_stalled();
    world.advance(10);
    let retry = Rc::clone(&second);
    let (retry_id, _) = world
        .run(async move { retry.dequeue().await })
        .expect("dequeues")
        .expect("retried");
    second.finish_message(retry_id, false);
    world.pool.run_until_stalled();
    let read = Rc::clone(&second);
    let dead = world.run(async move {
        let ranges = vec![point_range(b"dead".to_vec())];
        read.snapshot_read(ranges, Consistency::Strong).await.expect("reads")
    });
    assert!(matches!(&dead[0][..], [entry] if matches!(&entry.value, KvValue::V8(bytes) if bytes == &vec![7])));
    assert!(world.disk.borrow().queue.is_empty(), "settled messages leave the store");
}

/// A commit record as another instance would announce it: `version` sets
/// `key` to `value`.
fn record(version: u64, key: &str, value: u64) -> Vec<u8> {
    let mut changes = BTreeMap::new();
    changes.insert(
        key.as_bytes().to_vec(),
        Some(crate::core::entry::StoredEntry {
            value: KvValue::U64(value),
            versionstamp: crate::core::versionstamp::from_version(version),
            expires_at_ms: None,
        }),
    );
    crate::core::record::encode_commit(&crate::core::entry::PreparedCommit {
        version,
        changes,
        enqueues: Vec::new(),
    })
}

fn eventual(world: &mut World, db: &Rc<DurableBackend>, key: &'static str) -> Option<u64> {
    let db = Rc::clone(db);
    world.run(async move {
        let ranges = vec![point_range(key.as_bytes().to_vec())];
        let mut read = db.snapshot_read(ranges, Consistency::Eventual).await.expect("reads");
        read.pop()?.pop().map(|entry| match entry.value {
            KvValue::U64(n) => n,
            other => panic!("{other:?}"),
        })
    })
}

fn post(world: &World, to: usize, event: PeerEvent) {
    let mut hub = world.hub.borrow_mut();
    let (inbox, wake) = hub.inboxes.get_mut(&to).expect("open");
    inbox.push_back(event);
    if let Some(wake) = wake.take() {
        let _ = wake.send(());
    }
}

#[test]
fn announcements_that_skip_ahead_or_do_not_decode_cost_one_store_read_and_are_not_applied() {
    let mut world = World::new(true);
    let a = world.open();
    let b = world.open();
    let first = Rc::clone(&a);
    world.run(async move { first.atomic_write(set("k", 1)).await.expect("commits") });
    world.pool.run_until_stalled();
    assert_eq!(eventual(&mut world, &b, "k"), Some(1));
    let reads = world.disk.borrow().reads;
    // A flood: commits far ahead (a gap: read what was missed), bytes that
    // are no record at all, and versions long past.
    for i in 0..1_000 {
        let records = match i % 3 {
            0 => vec![record(1_000_000 + i, "forged", i)],
            1 => vec![vec![], vec![1, 0xff], vec![0xff; 12]],
            _ => vec![record(1, "k", 99)],
        };
        post(&world, 1, PeerEvent::Committed(records));
    }
    world.pool.run_until_stalled();
    let flood_reads = world.disk.borrow().reads - reads;
    assert!(flood_reads <= 2, "{flood_reads} store reads for one flood");
    assert_eq!(eventual(&mut world, &b, "forged"), None);
    assert_eq!(eventual(&mut world, &b, "k"), Some(1));
    assert!(
        !world.hub.borrow().ignored.is_empty(),
        "what does not decode is reported"
    );
    // Following goes on: the next real commit arrives by announcement.
    let second = Rc::clone(&a);
    world.run(async move { second.atomic_write(set("k", 2)).await.expect("commits") });
    world.pool.run_until_stalled();
    assert_eq!(eventual(&mut world, &b, "k"), Some(2));
}

#[test]
fn a_well_formed_announcement_of_a_commit_nobody_made_never_breaks_the_stored_history() {
    let mut world = World::new(true);
    let owner = world.open();
    let other = world.open();
    let first = Rc::clone(&owner);
    world.run(async move { first.atomic_write(set("k", 1)).await.expect("commits") });
    world.pool.run_until_stalled();
    // The owner has everything: nobody else can have committed version 2.
    post(&world, 0, PeerEvent::Committed(vec![record(2, "forged", 1)]));
    world.pool.run_until_stalled();
    assert_eq!(eventual(&mut world, &owner, "forged"), None);
    let second = Rc::clone(&owner);
    world.run(async move { second.atomic_write(set("k", 2)).await.expect("commits") });

    // Another instance believes it (it cannot tell); once it writes, its
    // write reads the store, sees memory is ahead of it, and reloads.
    post(&world, 1, PeerEvent::Committed(vec![record(3, "forged", 1)]));
    world.pool.run_until_stalled();
    let third = Rc::clone(&other);
    world.run(async move { third.atomic_write(set("k", 3)).await.expect("commits") });
    assert_eq!(eventual(&mut world, &other, "forged"), None);
    owner.close();
    other.close();

    let reopened = world.open();
    assert_eq!(eventual(&mut world, &reopened, "k"), Some(3));
    assert_eq!(eventual(&mut world, &reopened, "forged"), None);
}

#[test]
fn a_corrupt_queue_message_is_set_aside_and_the_rest_delivered() {
    let mut world = World::new(true);
    let db = world.open();
    {
        let mut disk = world.disk.borrow_mut();
        // Due first: a truncated message, bytes that end early, nothing.
        disk.queue.insert((0, 500, 0), (vec![1, 0xff], None));
        disk.queue.insert((0, 500, 1), (vec![1, 3, 1], None));
        disk.queue.insert((0, 500, 2), (vec![], None));
    }
    let enqueuing = Rc::clone(&db);
    world.run(async move {
        enqueuing
            .atomic_write(enqueue(7, vec![], vec![]))
            .await
            .expect("commits")
    });
    let taker = Rc::clone(&db);
    let (id, payload) = world
        .run(async move { taker.dequeue().await })
        .expect("dequeues")
        .expect("the good message");
    assert_eq!(payload, vec![7]);
    db.finish_message(id, true);
    world.pool.run_until_stalled();
    assert!(world.disk.borrow().queue.is_empty(), "{:?}", world.disk.borrow().queue);
    let discarded: Vec<_> = world.disk.borrow().discarded.iter().map(|(key, _)| *key).collect();
    assert_eq!(discarded, [(0, 500, 0), (0, 500, 1), (0, 500, 2)]);
}

#[test]
fn waiting_and_delivering_keep_one_waker_each() {
    let mut world = World::new(true);
    let db = world.open();
    let enqueuing = Rc::clone(&db);
    world.run(async move {
        enqueuing
            .atomic_write(enqueue(7, vec![], vec![]))
            .await
            .expect("commits")
    });
    let taker = Rc::clone(&db);
    // Taken and never finished: its lease is renewed every LEASE_MS / 3.
    let _ = world.run(async move { taker.dequeue().await });
    // Another listener waits for the next message, looking again every 5 s.
    let waiting = Rc::clone(&db);
    let _listener = world
        .pool
        .spawner()
        .spawn_local_with_handle(async move { waiting.dequeue().await })
        .expect("spawns");
    for _ in 0..300 {
        world.advance(super::queue::LEASE_MS / 3);
    }
    let shared = &db.shared;
    assert!(shared.queue_closed.waiting() <= 1, "{}", shared.queue_closed.waiting());
    assert!(shared.queue_signal.waiting() <= 1, "{}", shared.queue_signal.waiting());
}

fn put(key: &str, value: Vec<u8>) -> AtomicWrite {
    AtomicWrite {
        checks: vec![],
        mutations: vec![Mutation {
            key: key.as_bytes().to_vec(),
            kind: MutationKind::Set(KvValue::Bytes(value)),
            expire_at: None,
        }],
        enqueues: vec![],
    }
}

/// Commits `keys`, each a 1000-byte value of `fill`, 100 to a commit.
fn fill(world: &mut World, db: &Rc<DurableBackend>, keys: &[String], fill: u8, model: &mut BTreeMap<String, u8>) {
    for chunk in keys.chunks(100) {
        let mut write = put("", vec![]);
        write.mutations = chunk
            .iter()
            .map(|key| Mutation {
                key: key.as_bytes().to_vec(),
                kind: MutationKind::Set(KvValue::Bytes(vec![fill; 1000])),
                expire_at: None,
            })
            .collect();
        let db = Rc::clone(db);
        world.run(async move { db.atomic_write(write).await.expect("commits") });
        for key in chunk {
            model.insert(key.clone(), fill);
        }
    }
}

/// Every entry, by a strong read, as `key -> the byte its value repeats`.
fn everything(world: &mut World, db: &Rc<DurableBackend>) -> BTreeMap<String, u8> {
    let db = Rc::clone(db);
    let range = denokv_proto::ReadRange {
        start: vec![],
        end: vec![0xff],
        limit: std::num::NonZeroU32::MAX,
        reverse: false,
    };
    let mut read = world.run(async move { db.snapshot_read(vec![range], Consistency::Strong).await.expect("reads") });
    read.pop()
        .expect("one range")
        .into_iter()
        .map(|entry| match entry.value {
            KvValue::Bytes(bytes) => (String::from_utf8(entry.key).expect("utf-8"), bytes[0]),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn stored_index(world: &World) -> PageIndex {
    let disk = world.disk.borrow();
    let index = PageIndex::decode(&disk.snapshot.index).expect("the stored index decodes");
    let listed: Vec<u64> = index
        .pages
        .iter()
        .map(|page| page.id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let stored: Vec<u64> = disk.snapshot.pages.keys().copied().collect();
    assert_eq!(listed, stored, "the store holds exactly the pages its index lists");
    assert_eq!(index.version, disk.snapshot.version);
    index
}

fn keys(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("k{i:05}")).collect()
}

#[test]
fn a_checkpoint_rewrites_only_the_pages_that_commits_touched() {
    let mut world = World::new(true);
    let db = world.open();
    let mut model = BTreeMap::new();
    fill(&mut world, &db, &keys(0..3000), 1, &mut model);
    let before = stored_index(&world);
    assert!(before.pages.len() >= 4, "{} pages", before.pages.len());

    // One key, rewritten until the log is worth a checkpoint.
    let written_before = world.disk.borrow().pages_written;
    let checkpointed_at = world.disk.borrow().snapshot.version;
    let mut n = 0u8;
    while world.disk.borrow().snapshot.version == checkpointed_at {
        n = n.wrapping_add(1).max(2);
        fill(&mut world, &db, &keys(1500..1501), n, &mut model);
    }
    let after = stored_index(&world);
    let rewritten = world.disk.borrow().pages_written - written_before;
    assert!(rewritten <= 2, "{rewritten} pages written for one dirty page");
    let kept = before.pages.iter().filter(|page| after.pages.contains(page)).count();
    assert!(
        kept + 1 >= before.pages.len(),
        "{kept} of {} pages kept",
        before.pages.len()
    );
    assert!(world.disk.borrow().log.is_empty() || after.version > checkpointed_at);
    db.close();

    let reopened = world.open();
    assert_eq!(everything(&mut world, &reopened), model);
}

#[test]
fn a_failed_checkpoint_leaves_the_store_as_it_was_and_its_keys_are_rewritten_later() {
    let mut world = World::new(true);
    let db = world.open();
    let mut model = BTreeMap::new();
    fill(&mut world, &db, &keys(0..2000), 1, &mut model);
    let (version, index, pages, log) = {
        let disk = world.disk.borrow();
        (
            disk.snapshot.version,
            disk.snapshot.index.clone(),
            disk.snapshot.pages.clone(),
            disk.log.len(),
        )
    };
    world.disk.borrow_mut().fail_next_checkpoint = true;
    // A crash or abort at any point of the checkpoint's one transaction.
    let mut round = 0;
    while world.disk.borrow().fail_next_checkpoint {
        round += 1;
        fill(&mut world, &db, &keys(round * 10..round * 10 + 10), 2, &mut model);
    }
    {
        let disk = world.disk.borrow();
        assert_eq!(
            (disk.snapshot.version, &disk.snapshot.index, &disk.snapshot.pages),
            (version, &index, &pages)
        );
        assert_eq!(disk.log.len(), log + round as usize, "the log keeps every commit");
    }
    let reader = world.open();
    assert_eq!(everything(&mut world, &reader), model);
    reader.close();

    // The next checkpoint covers the keys the failed one had taken.
    while world.disk.borrow().snapshot.version == version {
        round += 1;
        fill(&mut world, &db, &keys(round * 10..round * 10 + 10), 3, &mut model);
    }
    stored_index(&world);
    world.disk.borrow_mut().log.clear();
    let db = Rc::clone(&db);
    db.close();
    let reopened = world.open();
    let stored = everything(&mut world, &reopened);
    assert_eq!(stored, model, "the pages alone hold every checkpointed commit");
}

/// Drops the log (as if every commit in it were checkpointed at `version`)
/// and reopens: what the pages hold must be the whole database.
fn assert_pages_alone_hold(world: &mut World, version: u64, model: &BTreeMap<String, u8>) {
    world.disk.borrow_mut().log.clear();
    world.disk.borrow_mut().version = version;
    let reopened = world.open();
    assert_eq!(&everything(world, &reopened), model, "the pages alone are the database");
}

#[test]
fn instances_whose_index_is_older_than_the_stores_read_and_checkpoint_consistently() {
    let mut world = World::new(true);
    let writer = world.open();
    let follower = world.open();
    // Hears nothing: catches up from the store at each strong read.
    world.hub.borrow_mut().deliver_announcements = false;
    let silent = world.open();
    world.hub.borrow_mut().deliver_announcements = true;
    let mut model = BTreeMap::new();
    for round in 0..4u8 {
        fill(&mut world, &writer, &keys(0..1500), round + 1, &mut model);
        assert_eq!(everything(&mut world, &silent), model, "round {round}");
    }
    // Commits after the last checkpoint, which the follower only heard of.
    fill(&mut world, &writer, &keys(100..110), 9, &mut model);
    let checkpointed = stored_index(&world);
    assert!(checkpointed.version > 0 && checkpointed.pages.len() > 1);
    assert!(!world.disk.borrow().log.is_empty());

    // The follower loaded an empty index and applied every commit since:
    // it takes over and checkpoints against the store's newer index.
    let written = world.disk.borrow().pages_written;
    let mut round = 10;
    while world.disk.borrow().pages_written == written {
        round += 1;
        fill(&mut world, &follower, &keys(2000..2100), round, &mut model);
    }
    let after = stored_index(&world);
    assert!(after.version > checkpointed.version);
    assert_eq!(everything(&mut world, &silent), model);
    assert_eq!(everything(&mut world, &writer), model);
    for db in [writer, follower, silent] {
        db.close();
    }
    assert_pages_alone_hold(&mut world, after.version, &model);
}

#[test]
fn a_follower_that_takes_over_moves_to_the_newer_index_and_rewrites_only_what_changed_since() {
    let mut world = World::new(true);
    let writer = world.open();
    let follower = world.open();
    let mut model = BTreeMap::new();
    // Many commits heard by the follower, checkpointed by the writer: the
    // follower's own index is the empty one it opened with.
    let long_keys: Vec<String> = (0..5000).map(|i| format!("{}{i:05}", "p".repeat(1000))).collect();
    fill(&mut world, &writer, &long_keys, 1, &mut model);
    let tail: Vec<String> = (0..10).map(|i| format!("z{i}")).collect();
    fill(&mut world, &writer, &tail, 2, &mut model);
    let before = stored_index(&world);
    assert!(before.pages.len() > 5, "{} pages", before.pages.len());

    let written = world.disk.borrow().pages_written;
    let mut round = 10;
    while world.disk.borrow().pages_written == written {
        round += 1;
        fill(&mut world, &follower, &keys(20..30), round, &mut model);
        assert!(round < 250, "the follower never checkpoints");
    }
    let rewritten = world.disk.borrow().pages_written - written;
    assert!(rewritten <= 3, "{rewritten} pages written of {}", before.pages.len());
    let after = stored_index(&world);
    let kept = before.pages.iter().filter(|page| after.pages.contains(page)).count();
    assert!(
        kept + 2 >= before.pages.len(),
        "{kept} of {} pages kept",
        before.pages.len()
    );
    for db in [writer, follower] {
        db.close();
    }
    assert_pages_alone_hold(&mut world, after.version, &model);
}

#[test]
fn a_checkpoint_also_rewrites_pages_holding_expired_entries_so_they_leave_the_disk() {
    let mut world = World::new(true);
    let db = world.open();
    let mut model = BTreeMap::new();
    fill(&mut world, &db, &keys(0..1000), 1, &mut model);
    // 600 entries expiring in 10 s, in pages of their own.
    let expire_at = chrono::DateTime::from_timestamp_millis((world.now.get() + 10_000) as i64);
    for chunk in (0..600u32).collect::<Vec<_>>().chunks(100) {
        let mut write = put("", vec![]);
        write.mutations = chunk
            .iter()
            .map(|i| Mutation {
                key: format!("e{i:05}").into_bytes(),
                kind: MutationKind::Set(KvValue::Bytes(vec![9; 1000])),
                expire_at,
            })
            .collect();
        let db = Rc::clone(&db);
        world.run(async move { db.atomic_write(write).await.expect("commits") });
    }
    // Later keys, so that the expiring ones are in pages nobody writes.
    fill(&mut world, &db, &keys(1000..2500), 1, &mut model);
    let before = stored_index(&world);
    let holding = |index: &PageIndex| index.pages.iter().filter(|page| page.earliest_expiry.is_some()).count();
    assert!(holding(&before) > 0, "pages hold the expiring entries");

    world.advance(10_000);
    let version = world.disk.borrow().snapshot.version;
    let mut round = 1;
    while world.disk.borrow().snapshot.version == version {
        round += 1;
        fill(&mut world, &db, &keys(0..10), round, &mut model);
    }
    let after = stored_index(&world);
    assert_eq!(holding(&after), 0, "no page holds an expired entry");
    let stored: u64 = after.pages.iter().map(|page| page.entries).sum();
    assert_eq!(stored, model.len() as u64);
    db.close();
    let reopened = world.open();
    assert_eq!(everything(&mut world, &reopened), model);
}

#[test]
fn a_page_that_shrank_is_merged_with_the_next_one_when_both_fit_in_one() {
    let mut world = World::new(true);
    let db = world.open();
    let mut model = BTreeMap::new();
    fill(&mut world, &db, &keys(0..3000), 1, &mut model);
    let first = stored_index(&world);
    assert!(first.pages.len() >= 4, "{} pages", first.pages.len());
    let in_page = |model: &BTreeMap<String, u8>, page: &crate::core::page_index::PageInfo| -> Vec<String> {
        model
            .keys()
            .filter(|key| (page.first_key.as_slice()..=page.last_key.as_slice()).contains(&key.as_bytes()))
            .cloned()
            .collect()
    };
    let (doomed, shrunk) = (in_page(&model, &first.pages[1]), in_page(&model, &first.pages[2]));
    let commit = |world: &mut World, mutations: Vec<Mutation>| {
        let mut write = put("", vec![]);
        write.mutations = mutations;
        let db = Rc::clone(&db);
        world.run(async move { db.atomic_write(write).await.expect("commits") });
    };
    let checkpoint_by_rewriting = |world: &mut World, key: &String, model: &mut BTreeMap<String, u8>| {
        let version = world.disk.borrow().snapshot.version;
        let mut n = 1u8;
        while world.disk.borrow().snapshot.version == version {
            n = n.wrapping_add(1).max(2);
            fill(world, &db, std::slice::from_ref(key), n, model);
        }
    };

    // The third page shrinks to small values (a checkpoint of it alone).
    for chunk in shrunk.chunks(100) {
        let set = |key: &String| Mutation {
            key: key.as_bytes().to_vec(),
            kind: MutationKind::Set(KvValue::Bytes(vec![7; 10])),
            expire_at: None,
        };
        commit(&mut world, chunk.iter().map(set).collect());
        for key in chunk {
            model.insert(key.clone(), 7);
        }
    }
    checkpoint_by_rewriting(&mut world, &shrunk[0], &mut model);
    let before = stored_index(&world);
    assert_eq!(before.pages.len(), first.pages.len());
    assert!(before.pages[2].bytes < 64 * 1024, "{} bytes", before.pages[2].bytes);

    // Most of the second page goes: it is merged with the (small) third.
    for chunk in doomed[20..].chunks(100) {
        let delete = |key: &String| Mutation {
            key: key.as_bytes().to_vec(),
            kind: MutationKind::Delete,
            expire_at: None,
        };
        commit(&mut world, chunk.iter().map(delete).collect());
        for key in chunk {
            model.remove(key);
        }
    }
    checkpoint_by_rewriting(&mut world, &doomed[0], &mut model);
    let after = stored_index(&world);
    assert_eq!(after.pages.len(), before.pages.len() - 1, "two pages became one");
    assert_eq!(after.pages[0], before.pages[0], "the pages before are kept");
    assert_eq!(after.pages[2..], before.pages[3..], "and so are the pages after");
    assert_eq!(after.pages[1].entries, 20 + shrunk.len() as u64);
    db.close();
    let reopened = world.open();
    assert_eq!(everything(&mut world, &reopened), model);
}

/// A database of 3000 entries of 1000 bytes over several pages, all
/// checkpointed, and the model of what it holds.
fn paged_database(world: &mut World) -> BTreeMap<String, u8> {
    let db = world.open();
    let mut model = BTreeMap::new();
    fill(world, &db, &keys(0..3000), 1, &mut model);
    // A checkpoint, then a few commits in the log after it.
    while world.disk.borrow().log.len() > 1 || world.disk.borrow().snapshot.version == 0 {
        fill(world, &db, &keys(0..100), 2, &mut model);
    }
    db.close();
    assert!(stored_index(world).pages.len() >= 4);
    model
}

fn cached(db: &DurableBackend) -> u64 {
    db.shared.memory.engine().cached_bytes()
}

#[test]
fn opening_reads_the_index_alone_and_a_get_fetches_the_one_page_it_needs() {
    let mut world = World::new(true);
    let model = paged_database(&mut world);
    let read_before = world.disk.borrow().pages_read;
    let db = world.open();
    assert_eq!(world.disk.borrow().pages_read, read_before, "no page read at open");
    assert_eq!(cached(&db), 0);
    let reader = Rc::clone(&db);
    let value = world.run(async move {
        let range = point_range(b"k02500".to_vec());
        reader
            .snapshot_read(vec![range], Consistency::Strong)
            .await
            .expect("reads")
    });
    let entry = value[0].first().expect("found");
    assert!(matches!(&entry.value, KvValue::Bytes(bytes) if *bytes == vec![model["k02500"]; 1000]));
    assert_eq!(world.disk.borrow().pages_read - read_before, 1);
    assert!(cached(&db) > 0);
}

#[test]
fn reading_everything_key_by_key_and_in_one_list_stays_within_the_cache_budget() {
    let mut world = World::new(true);
    let model = paged_database(&mut world);
    let page_bytes = super::PAGE_BYTES as u64;
    // Room for about two decoded pages.
    world.cache_bytes = 3 * page_bytes;
    let db = world.open();
    let mut peak = 0;
    for key in model.keys() {
        let reader = Rc::clone(&db);
        let key = key.clone();
        let found = world.run(async move {
            let range = point_range(key.into_bytes());
            reader
                .snapshot_read(vec![range], Consistency::Eventual)
                .await
                .expect("reads")
        });
        assert_eq!(found[0].len(), 1);
        peak = peak.max(cached(&db));
    }
    assert!(peak <= 3 * page_bytes, "peak {peak}");
    assert_eq!(everything(&mut world, &db), model);
    assert!(cached(&db) <= 3 * page_bytes, "after the list: {}", cached(&db));
    // Backwards, in small batches, as a list iterator reads.
    let reader = Rc::clone(&db);
    let backwards = world.run(async move {
        let mut found = Vec::new();
        let mut end = vec![0xff];
        loop {
            let range = denokv_proto::ReadRange {
                start: vec![],
                end: end.clone(),
                limit: std::num::NonZeroU32::new(500).expect("non-zero"),
                reverse: true,
            };
            let batch = reader
                .snapshot_read(vec![range], Consistency::Strong)
                .await
                .expect("reads");
            let Some(last) = batch[0].last() else {
                return found;
            };
            end = last.key.clone();
            found.extend(
                batch[0]
                    .iter()
                    .map(|entry| String::from_utf8(entry.key.clone()).expect("utf-8")),
            );
        }
    });
    assert_eq!(backwards, model.keys().rev().cloned().collect::<Vec<_>>());
}

#[test]
fn writes_and_watches_fetch_the_pages_they_read_and_evicted_changes_survive() {
    let mut world = World::new(true);
    let mut model = paged_database(&mut world);
    world.cache_bytes = 0;
    let db = world.open();
    // A guarded change to a key whose page is absent: its check reads the
    // stored versionstamp.
    let reader = Rc::clone(&db);
    let current = world.run(async move {
        let range = point_range(b"k01234".to_vec());
        reader
            .snapshot_read(vec![range], Consistency::Strong)
            .await
            .expect("reads")
    });
    assert_eq!(cached(&db), 0, "a budget of nothing keeps nothing");
    let mut write = put("k01234", vec![9; 10]);
    write.checks.push(Check {
        key: b"k01234".to_vec(),
        versionstamp: Some(current[0][0].versionstamp),
    });
    let writer = Rc::clone(&db);
    assert!(world
        .run(async move { writer.atomic_write(write).await.expect("commits") })
        .is_some());
    model.insert("k01234".into(), 9);
    // The change stays in memory although its page was let go.
    assert_eq!(cached(&db), 0);
    let mut watch = db.watch(vec![b"k01234".to_vec(), b"k00007".to_vec()]);
    let first = world
        .run(async move { watch.next().await.expect("watches") })
        .expect("a value");
    let bytes_of = |entry: &Option<KvEntry>| match entry.as_ref().map(|e| &e.value) {
        Some(KvValue::Bytes(bytes)) => bytes.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(bytes_of(&first[0]), vec![9; 10]);
    assert_eq!(bytes_of(&first[1]), vec![1; 1000]);
    let mut all = everything(&mut world, &db);
    assert_eq!(all.remove("k01234"), Some(9));
    model.remove("k01234");
    assert_eq!(all, model);
}

#[test]
fn a_follower_moves_to_the_newest_index_before_others_changes_outgrow_its_memory() {
    let mut world = World::new(true);
    let writer = world.open();
    let follower = world.open();
    let mut model = BTreeMap::new();
    let changed = |db: &DurableBackend| db.shared.memory.engine().changed_bytes();
    let mut peak = 0;
    for round in 0..40u32 {
        fill(
            &mut world,
            &writer,
            &keys(round * 1000..(round + 1) * 1000),
            1,
            &mut model,
        );
        peak = peak.max(changed(&follower));
    }
    let bound = super::pages::reload_threshold(world.cache_bytes) + 2 * 1024 * 1024;
    assert!(
        peak <= bound,
        "the follower held {peak} bytes of changes (bound {bound})"
    );
    assert!(world.disk.borrow().snapshot.version > 0);
    assert_eq!(everything(&mut world, &follower), model);
}
