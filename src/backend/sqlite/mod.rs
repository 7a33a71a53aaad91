//! A database in a SQLite file, in Deno's own format (denokv's `sqlite`
//! crate): the file is the truth, read and written statement by statement
//! through a synchronous host connection (`host::SqliteHost`), so several
//! processes (webkv or Deno) share one serializable history through SQLite's
//! locks. Within one process every `openKv` of the same canonical path shares
//! one connection (`open_shared`), as Deno's handles share one notifier.

#[cfg(all(test, not(target_arch = "wasm32")))]
mod file_tests;
mod group;
pub mod host;
mod message;
mod queue;
mod schema;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{ready, Future};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use denokv_proto::{AtomicWrite, Consistency, KvEntry, KvValue, MutationKind, ReadRange};

use self::host::{SqlValue, SqliteHost, StatementId, TxKind};
use super::time::{Clock, Sleep, Timer};
use super::{Backend, BackendFuture, WatchStream};
use crate::core::error::{KvError, KvResult};
use crate::core::numeric::{self, SumParams, U64Op};
use crate::core::queue::DEFAULT_BACKOFF_SCHEDULE;
use crate::core::versionstamp::{self, Versionstamp};

/// How often a watch looks for commits of other processes.
const WATCH_POLL_MS: u64 = 1_000;
/// Expired rows are deleted at least this often while commits happen.
const EXPIRY_SWEEP_INTERVAL_MS: u64 = 60_000;
thread_local! {
    /// Open databases by canonical path.
    static OPEN: RefCell<HashMap<String, Weak<SqliteDb>>> = RefCell::new(HashMap::new());
}

/// Opens `path` (already canonical), or joins the database this process
/// already has open there; `connect` makes the connection when there is none.
pub fn open_shared(
    path: &str,
    connect: impl FnOnce() -> KvResult<Box<dyn SqliteHost>>,
    clock: Clock,
    timer: Timer,
) -> KvResult<SqliteBackend> {
    let existing = OPEN.with(|open| open.borrow().get(path).and_then(Weak::upgrade));
    let db = match existing.filter(|db| !db.state.borrow().closed) {
        Some(db) => db,
        None => {
            let host = connect()?;
            let db = match SqliteDb::open(host, path.to_string(), clock, timer) {
                Ok(db) => Rc::new(db),
                Err(err) => return Err(err),
            };
            OPEN.with(|open| open.borrow_mut().insert(path.to_string(), Rc::downgrade(&db)));
            db
        }
    };
    Ok(SqliteBackend::join(db))
}

pub struct SqliteDb {
    host: Box<dyn SqliteHost>,
    path: String,
    clock: Clock,
    timer: Timer,
    statements: RefCell<HashMap<&'static str, StatementId>>,
    /// `schema::set_rows(n)` by its number of rows.
    set_statements: RefCell<HashMap<usize, StatementId>>,
    state: RefCell<Shared>,
    /// Commits issued and not yet written (group commit).
    queued: RefCell<Vec<group::Queued>>,
    /// The state of the generator of version increments, seeded by the
    /// host's randomness at open: asking the host for a byte on every
    /// commit cost a sequential commit more than SQLite's own statements.
    increments: Cell<u64>,
}

#[derive(Default)]
struct Shared {
    next_handle: u64,
    handles: Vec<(u64, Rc<Handle>)>,
    /// Messages being delivered: webkv's id → (the row's id, the handle).
    in_flight: HashMap<u64, (String, u64)>,
    next_message: u64,
    next_sweep_ms: u64,
    next_cleanup_ms: u64,
    next_keepalive_ms: u64,
    /// `dequeue` futures waiting: whether anyone listens to the queue.
    listening: usize,
    closed: bool,
}

/// One `openKv` handle's watches and queue listeners.
#[derive(Default)]
struct Handle {
    closed: Cell<bool>,
    waiters: RefCell<Waiters>,
}

/// Who in this process waits for a change: watches (by the keys they
/// watch) and queue listeners.
#[derive(Default)]
struct Waiters {
    next_id: u64,
    slots: HashMap<u64, WatchSlot>,
    listeners: Vec<Waker>,
}

struct WatchSlot {
    keys: Vec<Vec<u8>>,
    dirty: bool,
    waker: Option<Waker>,
}

/// What a commit did, for the watchers and listeners of this process.
struct Committed {
    versionstamp: Versionstamp,
    changed: Vec<Vec<u8>>,
    enqueued: bool,
}

fn blob(bytes: &[u8]) -> SqlValue {
    SqlValue::Blob(bytes.to_vec())
}

/// The parameters of `schema::POINT_SET` for one row.
fn push_set_row(params: &mut Vec<SqlValue>, key: &[u8], value: &KvValue, version: i64, expiration_ms: i64) {
    let (bytes, encoding) = denokv_proto::encode_value(value);
    params.extend([
        blob(key),
        SqlValue::Blob(bytes.into_owned()),
        SqlValue::Integer(encoding),
        SqlValue::Integer(version),
        SqlValue::Integer(expiration_ms),
    ]);
}

fn int(n: u64) -> SqlValue {
    SqlValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Deno's error for a write to a file opened read-only.
fn read_only_error() -> KvError {
    KvError::type_error("Can not write to a read-only database.")
}

fn corrupt(what: &str) -> KvError {
    KvError::type_error(format!("The database file holds an invalid {what}"))
}

fn column_i64(row: &[SqlValue], i: usize, what: &str) -> KvResult<i64> {
    row.get(i).and_then(SqlValue::as_i64).ok_or_else(|| corrupt(what))
}

fn column_bytes(row: &mut [SqlValue], i: usize, what: &str) -> KvResult<Vec<u8>> {
    row.get_mut(i)
        .map(|cell| std::mem::replace(cell, SqlValue::Null))
        .and_then(SqlValue::into_bytes)
        .ok_or_else(|| corrupt(what))
}

/// Whether `range` holds at most the key `start`: `[k, k 0x00)`, as a `get`
/// asks. Every other key that starts with `k` is longer, so at least
/// `k 0x00`.
fn is_one_key(range: &ReadRange) -> bool {
    range.end.len() == range.start.len() + 1 && range.end.starts_with(&range.start) && range.end.last() == Some(&0)
}

/// Deno reads a version as SQLite's i64 and takes its bits: a negative one
/// (only another program writes it) keeps a stamp of its own, as there.
fn stamp_of(version: i64) -> Versionstamp {
    versionstamp::from_version(version as u64)
}

fn decode_value(bytes: Vec<u8>, encoding: i64) -> KvResult<KvValue> {
    denokv_proto::decode_value(bytes, encoding)
        .ok_or_else(|| KvError::type_error(format!("The value encoding {encoding} is unknown.")))
}

/// A UUID v4 (as Deno's queue ids are) from 16 random bytes.
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

impl SqliteDb {
    fn open(host: Box<dyn SqliteHost>, path: String, clock: Clock, timer: Timer) -> KvResult<Self> {
        let db = Self {
            host,
            path,
            clock,
            timer,
            statements: RefCell::new(HashMap::new()),
            set_statements: RefCell::new(HashMap::new()),
            state: RefCell::new(Shared::default()),
            queued: RefCell::new(Vec::new()),
            increments: Cell::new(0),
        };
        let mut seed = [0u8; 8];
        db.host.random_bytes(&mut seed);
        db.increments.set(u64::from_le_bytes(seed));
        if let Err(err) = db.set_up() {
            db.host.close();
            return Err(err);
        }
        Ok(db)
    }

    /// Deno's setup: WAL, then the migrations in one transaction; then the
    /// expired rows go, as when Deno opens a file.
    fn set_up(&self) -> KvResult<()> {
        // Checks that this is a database before anything is written.
        self.host.exec("select count(*) from sqlite_master")?;
        if self.host.read_only() {
            // As Deno: no journal mode, migrations or sweep; writes fail.
            return Ok(());
        }
        if self.host.sets_durability() {
            self.host.exec("pragma journal_mode = wal")?;
            self.host.exec("pragma synchronous = full")?;
        }
        self.write_tx(|db| {
            db.host.exec(schema::CREATE_MIGRATION_TABLE)?;
            let current = db
                .query(schema::GET_MIGRATION_VERSION, &[])?
                .first()
                .map(|row| column_i64(row, 0, "migration version"))
                .transpose()?
                .unwrap_or(0);
            for (i, migration) in schema::MIGRATIONS.iter().enumerate() {
                let version = i as i64 + 1;
                if version > current {
                    db.host.exec(migration)?;
                    db.run(schema::SET_MIGRATION_VERSION, &[SqlValue::Integer(version)])?;
                }
            }
            Ok(Some(()))
        })?;
        let now = (self.clock)();
        self.sweep_expired(now)?;
        Ok(())
    }

    fn statement(&self, sql: &'static str) -> KvResult<StatementId> {
        if let Some(id) = self.statements.borrow().get(sql) {
            return Ok(*id);
        }
        let id = self.host.prepare(sql)?;
        self.statements.borrow_mut().insert(sql, id);
        Ok(id)
    }

    fn query(&self, sql: &'static str, params: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>> {
        self.host.query(self.statement(sql)?, params)
    }

    fn run(&self, sql: &'static str, params: &[SqlValue]) -> KvResult<u64> {
        self.host.run(self.statement(sql)?, params)
    }

    /// Runs `body` in a transaction that takes the write lock at once
    /// (waiting for it up to the busy timeout); `Ok(None)` rolls back.
    fn write_tx<R>(&self, body: impl FnOnce(&Self) -> KvResult<Option<R>>) -> KvResult<Option<R>> {
        self.tx(TxKind::Write, body)
    }

    /// Runs `body` in one transaction of the host's: `Ok(None)` or an error
    /// rolls back everything it wrote.
    fn tx<R>(&self, kind: TxKind, body: impl FnOnce(&Self) -> KvResult<Option<R>>) -> KvResult<Option<R>> {
        let mut body = Some(body);
        let mut result = None;
        let committed = self.host.transaction(kind, &mut || {
            // The host runs the body once; a second run would be its bug.
            let body = body
                .take()
                .ok_or_else(|| KvError::type_error("A transaction ran twice"))?;
            result = body(self)?;
            Ok(result.is_some())
        })?;
        Ok(if committed { result } else { None })
    }

    /// 1 to 9, as Deno advances its version. SplitMix64: a few
    /// instructions, and unpredictable enough for a step nobody relies on.
    fn random_increment(&self) -> i64 {
        let state = self.increments.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.increments.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z % 9) as i64 + 1
    }

    fn uuid_v4(&self) -> String {
        let mut bytes = [0u8; 16];
        self.host.random_bytes(&mut bytes);
        uuid_v4(bytes)
    }

    fn inc_version(&self, by: i64) -> KvResult<i64> {
        let rows = self.query(schema::INC_AND_GET_DATA_VERSION, &[SqlValue::Integer(by)])?;
        rows.first()
            .map(|row| column_i64(row, 0, "data version"))
            .ok_or_else(|| corrupt("data version"))?
    }

    fn read_range(&self, range: &ReadRange, now: u64) -> KvResult<Vec<KvEntry>> {
        if range.start >= range.end {
            return Ok(Vec::new());
        }
        if is_one_key(range) {
            // A `get`: SQLite runs the point lookup several times faster
            // than the same row as a range with `order by … limit`.
            let entry = self.point_get(&range.start, now)?;
            return Ok(entry
                .map(|(value, version, _)| KvEntry {
                    key: range.start.clone(),
                    value,
                    versionstamp: stamp_of(version),
                })
                .into_iter()
                .collect());
        }
        let sql = if range.reverse {
            schema::RANGE_SCAN_REVERSE
        } else {
            schema::RANGE_SCAN
        };
        let params = [
            blob(&range.start),
            blob(&range.end),
            int(now),
            SqlValue::Integer(i64::from(range.limit.get())),
        ];
        let rows = self.query(sql, &params)?;
        rows.into_iter()
            .map(|mut row| {
                let key = column_bytes(&mut row, 0, "key")?;
                let value = column_bytes(&mut row, 1, "value")?;
                let encoding = column_i64(&row, 2, "value encoding")?;
                let version = column_i64(&row, 3, "version")?;
                Ok(KvEntry {
                    key,
                    value: decode_value(value, encoding)?,
                    versionstamp: stamp_of(version),
                })
            })
            .collect()
    }

    fn snapshot_read(&self, ranges: &[ReadRange]) -> KvResult<Vec<Vec<KvEntry>>> {
        self.write_queued();
        let now = (self.clock)();
        if ranges.len() == 1 {
            // One statement is a snapshot of its own.
            return Ok(vec![self.read_range(&ranges[0], now)?]);
        }
        let read = self.tx(TxKind::Read, |db| {
            ranges
                .iter()
                .map(|range| db.read_range(range, now))
                .collect::<KvResult<Vec<_>>>()
                .map(Some)
        })?;
        Ok(read.unwrap_or_default())
    }

    /// The live entry at `key`: value, version, expiry.
    fn point_get(&self, key: &[u8], now: u64) -> KvResult<Option<(KvValue, i64, i64)>> {
        let mut rows = self.query(schema::POINT_GET, &[blob(key), int(now)])?;
        let Some(mut row) = rows.pop() else {
            return Ok(None);
        };
        let value = column_bytes(&mut row, 0, "value")?;
        let encoding = column_i64(&row, 1, "value encoding")?;
        let version = column_i64(&row, 2, "version")?;
        let expires = column_i64(&row, 3, "expiration")?;
        Ok(Some((decode_value(value, encoding)?, version, expires)))
    }

    fn set_row(&self, key: &[u8], value: &KvValue, version: i64, expiration_ms: i64) -> KvResult<()> {
        let mut row = Vec::with_capacity(schema::SET_ROW_PARAMS);
        push_set_row(&mut row, key, value, version, expiration_ms);
        self.run(schema::POINT_SET, &row)?;
        Ok(())
    }

    /// Writes rows of `push_set_row` in their order, many per statement:
    /// each statement costs a call into the host, which costs a bulk
    /// commit more than SQLite's own work on the row.
    fn set_rows(&self, rows: &mut Vec<SqlValue>) -> KvResult<()> {
        let mut rest = rows.as_slice();
        while !rest.is_empty() {
            let count = rest.len() / schema::SET_ROW_PARAMS;
            // A power of two: a few statements to prepare, whatever the sizes.
            let chunk = 1usize << count.min(schema::MAX_SET_ROWS).ilog2();
            let (now, later) = rest.split_at(chunk * schema::SET_ROW_PARAMS);
            self.host.run(self.set_statement(chunk)?, now)?;
            rest = later;
        }
        rows.clear();
        Ok(())
    }

    fn set_statement(&self, rows: usize) -> KvResult<StatementId> {
        if rows == 1 {
            return self.statement(schema::POINT_SET);
        }
        if let Some(id) = self.set_statements.borrow().get(&rows) {
            return Ok(*id);
        }
        let id = self.host.prepare(&schema::set_rows(rows))?;
        self.set_statements.borrow_mut().insert(rows, id);
        Ok(id)
    }

    fn commit_in_tx(&self, write: AtomicWrite, now: u64) -> KvResult<Option<Committed>> {
        for check in &write.checks {
            let current = self
                .point_get(&check.key, now)?
                .map(|(_, version, _)| stamp_of(version));
            if current != check.versionstamp {
                return Ok(None);
            }
        }
        let version = self.inc_version(self.random_increment())?;
        let stamp = stamp_of(version);
        let mut changed = Vec::with_capacity(write.mutations.len());
        let mut earliest_expiry = None::<u64>;
        // Sets are written together, before any mutation that reads or
        // deletes a row and at the end.
        let mut sets = Vec::new();
        for mutation in write.mutations {
            let expiration_ms = mutation.expire_at.map_or(-1, |at| at.timestamp_millis());
            if !matches!(
                mutation.kind,
                MutationKind::Set(_) | MutationKind::SetSuffixVersionstampedKey(_)
            ) {
                self.set_rows(&mut sets)?;
            }
            let current =
                || -> KvResult<Option<KvValue>> { Ok(self.point_get(&mutation.key, now)?.map(|(value, _, _)| value)) };
            let key = match mutation.kind {
                MutationKind::Set(value) => {
                    push_set_row(&mut sets, &mutation.key, &value, version, expiration_ms);
                    if expiration_ms >= 0 {
                        let at = expiration_ms as u64;
                        earliest_expiry = Some(earliest_expiry.map_or(at, |e| e.min(at)));
                    }
                    mutation.key
                }
                MutationKind::Delete => {
                    self.run(schema::POINT_DELETE, &[blob(&mutation.key)])?;
                    mutation.key
                }
                MutationKind::Sum {
                    ref value,
                    ref min_v8,
                    ref max_v8,
                    clamp,
                } => {
                    let params = SumParams {
                        operand: value,
                        min_v8,
                        max_v8,
                        clamp,
                    };
                    let result = numeric::sum(current()?.as_ref(), params)?;
                    self.set_row(&mutation.key, &result, version, -1)?;
                    mutation.key
                }
                MutationKind::Min(ref value) | MutationKind::Max(ref value) => {
                    let op = if matches!(mutation.kind, MutationKind::Min(_)) {
                        U64Op::Min
                    } else {
                        U64Op::Max
                    };
                    let result = numeric::min_max(op, current()?.as_ref(), value)?;
                    self.set_row(&mutation.key, &result, version, -1)?;
                    mutation.key
                }
                MutationKind::SetSuffixVersionstampedKey(value) => {
                    let mut key = mutation.key;
                    key.push(0x02);
                    key.extend_from_slice(versionstamp::to_hex(&stamp).as_bytes());
                    key.push(0x00);
                    push_set_row(&mut sets, &key, &value, version, expiration_ms);
                    key
                }
            };
            changed.push(key);
        }
        self.set_rows(&mut sets)?;
        let enqueued = !write.enqueues.is_empty();
        for enqueue in write.enqueues {
            let schedule = enqueue
                .backoff_schedule
                .unwrap_or_else(|| DEFAULT_BACKOFF_SCHEDULE.to_vec());
            self.run(
                schema::QUEUE_ADD_READY,
                &[
                    SqlValue::Integer(enqueue.deadline.timestamp_millis()),
                    SqlValue::Text(self.uuid_v4()),
                    SqlValue::Blob(enqueue.payload),
                    SqlValue::Text(queue::backoff_json(&schedule)),
                    SqlValue::Text(queue::keys_json(&enqueue.keys_if_undelivered)),
                ],
            )?;
        }
        if let Some(at) = earliest_expiry {
            let mut state = self.state.borrow_mut();
            state.next_sweep_ms = state.next_sweep_ms.min(at);
        }
        Ok(Some(Committed {
            versionstamp: stamp,
            changed,
            enqueued,
        }))
    }

    /// Deletes the rows whose time has come, as Deno does (advancing the
    /// version by 1 when it deletes any), and notes when to look again.
    fn sweep_expired(&self, now: u64) -> KvResult<()> {
        let swept = self.write_tx(|db| {
            let deleted = db.query(schema::DELETE_ALL_EXPIRED, &[int(now)])?;
            if !deleted.is_empty() {
                db.inc_version(1)?;
            }
            let earliest = db
                .query(schema::EARLIEST_EXPIRATION, &[])?
                .first()
                .map(|row| column_i64(row, 0, "expiration"))
                .transpose()?;
            let keys = deleted
                .into_iter()
                .map(|mut row| column_bytes(&mut row, 0, "key"))
                .collect::<KvResult<Vec<_>>>()?;
            Ok(Some((keys, earliest)))
        })?;
        let Some((keys, earliest)) = swept else {
            return Ok(());
        };
        let fallback = now + EXPIRY_SWEEP_INTERVAL_MS;
        self.state.borrow_mut().next_sweep_ms = earliest.map_or(fallback, |at| (at.max(0) as u64).min(fallback));
        self.notify(&keys);
        Ok(())
    }

    /// SQLite's count of commits by other connections to the file: this
    /// process's own commits do not move it (they notify watchers as they
    /// happen), so a watch that sees it move knows another process wrote.
    fn foreign_commits(&self) -> KvResult<i64> {
        if !self.host.has_other_writers() {
            return Ok(0);
        }
        self.query(schema::GET_FOREIGN_COMMITS, &[])?
            .first()
            .map(|row| column_i64(row, 0, "data_version pragma"))
            .ok_or_else(|| corrupt("data_version pragma"))?
    }

    /// The entries of `keys`, and `foreign_commits` as of the same snapshot.
    fn read_keys(&self, keys: &[Vec<u8>]) -> KvResult<(Vec<Option<KvEntry>>, i64)> {
        self.write_queued();
        let now = (self.clock)();
        let read = self.tx(TxKind::Read, |db| {
            let mut entries = Vec::with_capacity(keys.len());
            for key in keys {
                entries.push(db.point_get(key, now)?.map(|(value, version, _)| KvEntry {
                    key: key.clone(),
                    value,
                    versionstamp: stamp_of(version),
                }));
            }
            Ok(Some((entries, db.foreign_commits()?)))
        })?;
        read.ok_or_else(|| corrupt("snapshot"))
    }

    /// When the first of `keys` that is live expires, if any does.
    fn next_expiry(&self, keys: &[Vec<u8>]) -> KvResult<Option<u64>> {
        self.write_queued();
        let now = (self.clock)();
        let mut next = None::<u64>;
        for key in keys {
            if let Some((_, _, at)) = self.point_get(key, now)? {
                if at >= 0 {
                    next = Some(next.map_or(at as u64, |n| n.min(at as u64)));
                }
            }
        }
        Ok(next)
    }

    fn handles(&self) -> Vec<Rc<Handle>> {
        self.state.borrow().handles.iter().map(|(_, h)| Rc::clone(h)).collect()
    }

    fn notify(&self, changed: &[Vec<u8>]) {
        if changed.is_empty() {
            return;
        }
        for handle in self.handles() {
            let mut waiters = handle.waiters.borrow_mut();
            for slot in waiters.slots.values_mut() {
                if slot.keys.iter().any(|key| changed.contains(key)) {
                    slot.dirty = true;
                    if let Some(waker) = slot.waker.take() {
                        waker.wake();
                    }
                }
            }
        }
    }

    fn wake_listeners(&self) {
        for handle in self.handles() {
            let listeners = std::mem::take(&mut handle.waiters.borrow_mut().listeners);
            for waker in listeners {
                waker.wake();
            }
        }
    }

    fn close_handle(&self, id: u64) {
        // Commits issued before the close are written, as they would have
        // been had each been written at once.
        self.write_queued();
        let (handle, last) = {
            let mut state = self.state.borrow_mut();
            let position = state.handles.iter().position(|(h, _)| *h == id);
            let handle = position.map(|i| state.handles.remove(i).1);
            // Its messages are no longer renewed: the cleanup of whichever
            // process listens next requeues them.
            state.in_flight.retain(|_, (_, owner)| *owner != id);
            let last = state.handles.is_empty() && !state.closed;
            if last {
                state.closed = true;
            }
            (handle, last)
        };
        if let Some(handle) = handle {
            handle.closed.set(true);
            let mut waiters = handle.waiters.borrow_mut();
            for slot in waiters.slots.values_mut() {
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            }
            for waker in waiters.listeners.drain(..) {
                waker.wake();
            }
        }
        if last {
            self.host.close();
            OPEN.with(|open| {
                let mut open = open.borrow_mut();
                if open.get(&self.path).is_some_and(|db| std::ptr::eq(db.as_ptr(), self)) {
                    open.remove(&self.path);
                }
            });
        }
    }
}

/// One `openKv` handle on a shared database.
pub struct SqliteBackend {
    db: Rc<SqliteDb>,
    id: u64,
    handle: Rc<Handle>,
}

impl SqliteBackend {
    fn join(db: Rc<SqliteDb>) -> Self {
        let handle = Rc::new(Handle::default());
        let id = {
            let mut state = db.state.borrow_mut();
            let id = state.next_handle;
            state.next_handle += 1;
            state.handles.push((id, Rc::clone(&handle)));
            id
        };
        Self { db, id, handle }
    }
}

impl Drop for SqliteBackend {
    fn drop(&mut self) {
        if !self.handle.closed.get() {
            self.db.close_handle(self.id);
        }
    }
}

impl Backend for SqliteBackend {
    fn snapshot_read(&self, ranges: Vec<ReadRange>, _consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        Box::pin(ready(self.db.snapshot_read(&ranges)))
    }

    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        Box::pin(group::GroupCommit::new(Rc::clone(&self.db), write))
    }

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream> {
        let id = {
            let mut waiters = self.handle.waiters.borrow_mut();
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
            id
        };
        Box::new(SqliteWatch {
            id,
            keys,
            started: false,
            seen_foreign_commits: Rc::new(Cell::new(0)),
            db: Rc::clone(&self.db),
            handle: Rc::clone(&self.handle),
        })
    }

    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        Box::pin(queue::NextMessage::new(
            Rc::clone(&self.db),
            self.id,
            Rc::clone(&self.handle),
        ))
    }

    fn finish_message(&self, id: u64, delivered: bool) {
        self.db.finish_message(id, delivered);
    }

    fn deliver_due_messages(&self) -> BackendFuture<()> {
        queue::deliver_due_messages(Rc::clone(&self.db), Rc::clone(&self.handle))
    }

    fn close(&self) {
        if !self.handle.closed.get() {
            self.db.close_handle(self.id);
        }
    }
}

fn sleep_until(db: &SqliteDb, at: u64, now: u64) -> Sleep {
    (db.timer)(u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX))
}

struct SqliteWatch {
    id: u64,
    keys: Vec<Vec<u8>>,
    started: bool,
    /// The database version of the last read.
    seen_foreign_commits: Rc<Cell<i64>>,
    db: Rc<SqliteDb>,
    handle: Rc<Handle>,
}

impl WatchStream for SqliteWatch {
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>> {
        if self.keys.is_empty() || self.handle.closed.get() {
            return Box::pin(ready(Ok(None)));
        }
        if !self.started {
            self.started = true;
            let read = self.db.read_keys(&self.keys).map(|(entries, foreign_commits)| {
                self.seen_foreign_commits.set(foreign_commits);
                Some(entries)
            });
            return Box::pin(ready(read));
        }
        let expiry = match self.db.next_expiry(&self.keys) {
            Ok(expiry) => expiry,
            Err(err) => return Box::pin(ready(Err(err))),
        };
        let wait = WaitForChange {
            id: self.id,
            db: Rc::clone(&self.db),
            handle: Rc::clone(&self.handle),
            expiry,
            seen_foreign_commits: self.seen_foreign_commits.get(),
            timer: None,
        };
        let (db, keys, seen_foreign_commits) = (
            Rc::clone(&self.db),
            self.keys.clone(),
            Rc::clone(&self.seen_foreign_commits),
        );
        Box::pin(async move {
            if !wait.await {
                return Ok(None);
            }
            let (entries, foreign_commits) = db.read_keys(&keys)?;
            seen_foreign_commits.set(foreign_commits);
            Ok(Some(entries))
        })
    }
}

impl Drop for SqliteWatch {
    fn drop(&mut self) {
        self.handle.waiters.borrow_mut().slots.remove(&self.id);
    }
}

/// Resolves true when a watched key may have changed (a commit of this
/// process, one of them expiring, or the file's version moving: another
/// process committed), false when the handle closes.
struct WaitForChange {
    id: u64,
    db: Rc<SqliteDb>,
    handle: Rc<Handle>,
    expiry: Option<u64>,
    seen_foreign_commits: i64,
    timer: Option<Sleep>,
}

impl Future for WaitForChange {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            if self.handle.closed.get() {
                return Poll::Ready(false);
            }
            {
                let mut waiters = self.handle.waiters.borrow_mut();
                let Some(slot) = waiters.slots.get_mut(&self.id) else {
                    return Poll::Ready(false);
                };
                if slot.dirty {
                    slot.dirty = false;
                    return Poll::Ready(true);
                }
                slot.waker = Some(cx.waker().clone());
            }
            let now = (self.db.clock)();
            if self.expiry.is_some_and(|at| at <= now) {
                return Poll::Ready(true);
            }
            if let Some(sleep) = self.timer.as_mut() {
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.timer = None;
                // Has another process committed since the last read?
                if self
                    .db
                    .foreign_commits()
                    .is_ok_and(|count| count != self.seen_foreign_commits)
                {
                    return Poll::Ready(true);
                }
                continue;
            }
            // Only another process's commits need polling for.
            let poll_at = self.db.host.has_other_writers().then_some(now + WATCH_POLL_MS);
            let wake_at = match (self.expiry.map(|at| at + 1), poll_at) {
                (Some(expiry), Some(poll)) => expiry.min(poll),
                (Some(at), None) | (None, Some(at)) => at,
                (None, None) => return Poll::Pending,
            };
            self.timer = Some(sleep_until(&self.db, wake_at, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_key_and_its_successor_make_a_point_read() {
        let range = |start: &[u8], end: &[u8]| ReadRange {
            start: start.to_vec(),
            end: end.to_vec(),
            limit: std::num::NonZeroU32::MIN,
            reverse: false,
        };
        assert!(is_one_key(&range(&[2, 97, 0], &[2, 97, 0, 0])));
        assert!(!is_one_key(&range(&[2, 97, 0], &[2, 97, 0, 1])));
        assert!(!is_one_key(&range(&[2, 97, 0], &[2, 97, 1])));
        assert!(!is_one_key(&range(&[2, 97], &[2, 97, 0, 0])));
    }

    #[test]
    fn message_ids_are_uuid_v4() {
        let id = uuid_v4([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = uuid_v4([0; 16]);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn stored_values_decode_by_encoding_and_unknown_ones_are_deno_s_error() {
        assert!(matches!(
            decode_value(vec![42, 0, 0, 0, 0, 0, 0, 0], 2),
            Ok(KvValue::U64(42))
        ));
        assert!(matches!(decode_value(vec![1, 2], 3), Ok(KvValue::Bytes(b)) if b == [1, 2]));
        let err = decode_value(vec![], 7).expect_err("unknown");
        assert_eq!(err.message, "The value encoding 7 is unknown.");
    }
}
