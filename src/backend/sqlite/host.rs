//! What the SQLite backend needs from its host: one synchronous connection
//! to a database file (`node:sqlite`'s `DatabaseSync`, `bun:sqlite`'s
//! `Database`). The host only runs statements; every rule of Deno's file
//! format lives in Rust, in `super`.

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
}
