//! What the SQLite backend needs from its host: one synchronous connection
//! to a SQLite database (a file through `node:sqlite`'s `DatabaseSync` or
//! `bun:sqlite`'s `Database`, or a Durable Object's `ctx.storage.sql`). The
//! host only runs statements; every rule of Deno's format lives in Rust, in
//! `super`.

use super::schema;
use crate::core::error::KvResult;

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// Bytes of a blob, or of a text (Deno stores `keys_if_undelivered` as
    /// text in a column declared `blob`).
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Self::Blob(bytes) => Some(bytes),
            Self::Text(text) => Some(text.into_bytes()),
            _ => None,
        }
    }

    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Text(text) => Some(text),
            Self::Blob(bytes) => String::from_utf8(bytes).ok(),
            _ => None,
        }
    }
}

/// A statement prepared once on the connection and run many times.
pub type StatementId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKind {
    /// A consistent snapshot of several reads.
    Read,
    /// Takes the write lock first, so checks see every other writer's commits.
    Write,
}

pub trait SqliteHost {
    /// Runs one or more statements without parameters or results.
    fn exec(&self, sql: &str) -> KvResult<()>;

    fn prepare(&self, sql: &str) -> KvResult<StatementId>;

    /// Runs a prepared statement and returns every row.
    fn query(&self, statement: StatementId, params: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>>;

    /// Runs a prepared statement; returns the number of rows it changed.
    fn run(&self, statement: StatementId, params: &[SqlValue]) -> KvResult<u64>;

    /// Whether the file was opened read-only (it is not writable by this
    /// process): reads work, writes fail, as in Deno.
    fn read_only(&self) -> bool {
        false
    }

    /// Fills `buf` with random bytes (versionstamp increments, message ids).
    fn random_bytes(&self, buf: &mut [u8]);

    fn close(&self);

    /// Tells the user of something webkv did on its own that they should
    /// know of (a queue row it set aside), on the console where there is one.
    fn report(&self, text: &str);

    /// Runs `body` in one transaction: what it wrote stays if it returns
    /// `Ok(true)`, and nothing of it if it returns `Ok(false)` or fails.
    /// Returns whether it committed. A plain connection uses SQL's own
    /// statements; a Durable Object forbids them and offers a callback.
    fn transaction(&self, kind: TxKind, body: &mut dyn FnMut() -> KvResult<bool>) -> KvResult<bool> {
        self.exec(match kind {
            TxKind::Read => schema::BEGIN_READ,
            TxKind::Write => schema::BEGIN_WRITE,
        })?;
        match body() {
            Ok(true) => match self.exec(schema::COMMIT) {
                Ok(()) => Ok(true),
                Err(err) => {
                    let _ = self.exec(schema::ROLLBACK);
                    Err(err)
                }
            },
            other => {
                let _ = self.exec(schema::ROLLBACK);
                other
            }
        }
    }

    /// Whether webkv sets the journal mode and fsync policy itself (a file),
    /// or the host keeps its own durability and forbids those pragmas (a
    /// Durable Object).
    fn sets_durability(&self) -> bool {
        true
    }

    /// Whether other connections (other processes) may write the database,
    /// so that watches and listeners must poll for their commits. A Durable
    /// Object's storage is written by the object alone.
    fn has_other_writers(&self) -> bool {
        true
    }

    /// Whether commits issued together share one transaction, each in a
    /// SAVEPOINT: worth it where every transaction costs an fsync (a file).
    /// A Durable Object forbids SAVEPOINT, and its storage coalesces the
    /// writes of one turn itself.
    fn groups_commits(&self) -> bool {
        true
    }

    /// Whether the host must be told when the queue next needs attention
    /// (`wake_for_queue_at`): an idle Durable Object is evicted with its
    /// timers, and only its alarm brings it back.
    fn needs_queue_wake_ups(&self) -> bool {
        false
    }

    /// The queue holds a message due (or a lease running out) at `at_ms`.
    fn wake_for_queue_at(&self, _at_ms: u64) {}
}
