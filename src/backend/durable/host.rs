//! What a durable database needs from its host: a transactional store (the
//! browser's IndexedDB) and a way to coordinate with the other instances of
//! the same database (other tabs and workers: Web Locks and a
//! BroadcastChannel). Both are traits so that the protocol above them is
//! plain Rust, tested natively with in-memory stand-ins.

use std::future::Future;
use std::pin::Pin;

pub use crate::backend::BackendFuture;
use crate::core::error::KvResult;

/// Runs a task in the background, on the same thread.
pub type Spawn = std::rc::Rc<dyn Fn(Pin<Box<dyn Future<Output = ()>>>)>;

/// The stored snapshot (layout 3, docs/storage.md): its version and its
/// page index. The pages are read when touched (`Store::read_pages`).
#[derive(Debug, Default)]
pub struct Snapshot {
    pub version: u64,
    pub index: Vec<u8>,
}

/// What was committed after a version the reader already has.
#[derive(Debug, Default)]
pub struct Since {
    /// Set when the log no longer reaches back to that version: the
    /// snapshot, to load instead of what the reader holds. The log then
    /// continues from the snapshot.
    pub snapshot: Option<Snapshot>,
    /// Commit records, oldest first.
    pub log: Vec<Vec<u8>>,
    /// The store holds less than the reader said it has (`after` is past
    /// its newest commit): the reader's memory holds commits that were never
    /// durable (a forged or mistaken announcement). `snapshot` and `log` are
    /// then the whole database, to load instead of what the reader holds.
    pub reset: bool,
}

/// What a checkpoint's transaction finds in the store before it writes.
#[derive(Debug)]
pub struct Stored {
    /// The snapshot's version, and its index as stored.
    pub version: u64,
    pub index: Vec<u8>,
    /// The newest committed version.
    pub newest: u64,
}

/// What a checkpoint writes, all in one transaction: new pages under new
/// ids, the index that lists them (`version` is its version), and the
/// pages it no longer lists removed. The log up to `version` goes too.
#[derive(Debug, Default)]
pub struct Checkpoint {
    pub version: u64,
    pub index: Vec<u8>,
    pub put: Vec<(u64, Vec<u8>)>,
    pub delete: Vec<u64>,
}

/// Runs inside a checkpoint's transaction with what the store holds, and
/// returns what to write, or `None` to write nothing. An error aborts it.
pub type PlanCheckpoint = Box<dyn FnOnce(Stored) -> KvResult<Option<Checkpoint>>>;

/// A queue message's place in the store: when it is due, then the version
/// and position of the commit that enqueued it (which makes it unique).
pub type MessageKey = (u64, u64, u32);

/// What one write transaction appends.
#[derive(Debug, Default)]
pub struct Appended {
    /// Commit records as `(version, bytes)`; the versions continue the
    /// stored ones.
    pub records: Vec<(u64, Vec<u8>)>,
    /// Queue messages the commits enqueued.
    pub messages: Vec<(MessageKey, Vec<u8>)>,
}

/// Runs inside a write transaction with what was committed since the
/// writer's version, and returns what to append. An error aborts the
/// transaction.
pub type Prepare = Box<dyn FnOnce(Since) -> KvResult<Appended>>;

/// The answer to "give me a due message".
#[derive(Debug)]
pub enum Taken {
    /// Leased to this instance until the lease it asked for.
    Message(MessageKey, Vec<u8>),
    /// None is due and free: when the next one is (a delivery time or a
    /// lease running out), if any.
    NextDue(Option<u64>),
}

pub trait Store {
    /// One read-only transaction: what was committed after `after`.
    /// Stored records that are not what the store's layout says (types,
    /// shapes, versions) fail it with a "corrupt" error.
    fn read_since(&self, after: u64) -> BackendFuture<Since>;

    /// One read-only transaction: the pages stored under `ids`, in order,
    /// `None` for an id the store does not hold (a checkpoint replaced it).
    /// A value that is not bytes fails it with a "corrupt" error.
    fn read_pages(&self, ids: Vec<u64>) -> BackendFuture<Vec<Option<Vec<u8>>>>;

    /// One read-write transaction that appends what `prepare` returns and
    /// resolves once it is durable. Unless `blind`, the transaction first
    /// reads what was committed after `after` and hands it to `prepare`;
    /// with `blind` (the caller knows nobody else wrote) `prepare` gets
    /// nothing. Either way, appending a version that already exists fails
    /// the whole transaction. `enqueues`: whether it may add queue messages.
    fn write(&self, after: u64, blind: bool, enqueues: bool, prepare: Prepare) -> BackendFuture<()>;

    /// One read-write transaction that reads what the store holds, hands it
    /// to `plan`, and writes what that returns; `Ok(true)` if it wrote.
    fn checkpoint(&self, plan: PlanCheckpoint) -> BackendFuture<bool>;

    /// One read-write transaction: the first message due at `now` that no
    /// other instance holds a live lease on, leased to this instance until
    /// `lease_until`. A lease ending after `lease_until` is no lease (a clock
    /// that went back, or a corrupt row). Rows that are no message (wrong
    /// types or shapes, impossible keys) are set aside, never returned, and
    /// so are messages of an unknown format (left for a newer webkv).
    fn take_message(&self, now: u64, lease_until: u64) -> BackendFuture<Taken>;

    /// Sets a message that does not decode aside (out of the queue, kept
    /// for inspection), reporting why.
    fn discard_message(&self, key: MessageKey, why: &str) -> BackendFuture<()>;

    /// Extends this instance's lease on a message it is delivering.
    fn renew_lease(&self, key: MessageKey, lease_until: u64) -> BackendFuture<()>;

    /// Removes a message (`None`), or moves it to a new delivery time with
    /// new bytes and no lease; nothing if this instance no longer holds its
    /// lease (it lapsed and another instance took the message).
    fn settle_message(&self, key: MessageKey, retry: Option<(u64, Vec<u8>)>) -> BackendFuture<()>;

    fn close(&self);
}

#[derive(Debug)]
pub enum PeerEvent {
    /// Another instance committed these records.
    Committed(Vec<Vec<u8>>),
    /// Another instance waits to write.
    WriterWaiting,
    /// Another instance enqueued or rescheduled queue messages.
    Queued,
    /// Another instance answered this one's arrival. Until then it may have
    /// committed without announcing (nobody was listening), so whatever it
    /// committed before answering is read from the store.
    Present,
    /// Another instance committed, but its announcement was too large to
    /// take from the message: read what was missed from the store.
    Missed,
    Closed,
}

/// The other instances of the same database. One instance at a time may own
/// the database (a Web Lock): only the owner writes, so the owner alone can
/// answer strong reads from memory.
pub trait Peers {
    /// False where there are no Web Locks: then nobody owns, every write
    /// reads what it missed inside its transaction, and every strong read
    /// asks the store first.
    fn can_own(&self) -> bool;

    /// Takes ownership if nobody has it; `Ok(false)` otherwise.
    fn try_acquire(&self) -> BackendFuture<bool>;

    /// Waits for ownership, telling the owner that someone is waiting.
    fn acquire(&self) -> BackendFuture<()>;

    fn release(&self);

    /// Tells the others about records just made durable.
    fn announce(&self, records: &[Vec<u8>]);

    /// Tells the others' queue listeners to look for messages.
    fn announce_queued(&self);

    fn next_event(&self) -> BackendFuture<PeerEvent>;

    /// Another instance sent something this one cannot use (an announced
    /// record that does not decode): report it (rate-limited by the host).
    fn ignored(&self, what: &str);

    fn close(&self);
}
