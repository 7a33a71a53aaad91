//! `openKv(path)` outside browsers: the SQLite backend over a connection
//! that the runtime's entry file makes (pkg-template/sqlite.js, a thin shim
//! over `node:sqlite` or `bun:sqlite`).

use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use super::reporter::Reporter;
use super::{errors, js, now_ms, timer, Database};
use crate::backend::sqlite::host::{SqlValue, SqliteHost, StatementId};
use crate::backend::sqlite::open_shared;
use crate::core::error::{KvError, KvResult};

#[wasm_bindgen]
extern "C" {
    /// The connection object of pkg-template/sqlite.js.
    pub type SqliteConnection;
    #[wasm_bindgen(method, catch)]
    fn exec(this: &SqliteConnection, sql: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn prepare(this: &SqliteConnection, sql: &str) -> Result<u32, JsValue>;
    /// `params` and the result are packed (`pack`, `unpack_rows`).
    #[wasm_bindgen(method, catch)]
    fn query(this: &SqliteConnection, statement: u32, params: &[u8]) -> Result<Uint8Array, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn run(this: &SqliteConnection, statement: u32, params: &[u8]) -> Result<f64, JsValue>;
    #[wasm_bindgen(method, getter, js_name = readOnly)]
    fn read_only(this: &SqliteConnection) -> bool;
    #[wasm_bindgen(method, js_name = randomBytes)]
    fn random_bytes(this: &SqliteConnection, buf: &mut [u8]);
    #[wasm_bindgen(method)]
    fn close(this: &SqliteConnection);
}

/// SQLite's errors surface as TypeErrors with its message, as in Deno
/// (`TypeError: database is locked`).
pub(super) fn host_error(error: JsValue) -> KvError {
    KvError::type_error(js::error_text(&error))
}

// Parameters and rows cross packed in one buffer each (the format is
// described in pkg-template/sqlite.js): a JS value per cell cost several
// wasm<->JS calls each, the larger part of a bulk commit or a list.
const NULL: u8 = 0;
const INTEGER: u8 = 1;
const TEXT: u8 = 2;
const BLOB: u8 = 3;
const NUMBER: u8 = 4;

fn pack(values: &[SqlValue]) -> Vec<u8> {
    let size = values
        .iter()
        .map(|value| match value {
            SqlValue::Null => 1,
            SqlValue::Integer(_) => 9,
            SqlValue::Text(text) => 5 + text.len(),
            SqlValue::Blob(bytes) => 5 + bytes.len(),
        })
        .sum();
    let mut packed = Vec::with_capacity(size);
    for value in values {
        match value {
            SqlValue::Null => packed.push(NULL),
            SqlValue::Integer(n) => {
                packed.push(INTEGER);
                packed.extend_from_slice(&n.to_le_bytes());
            }
            SqlValue::Text(text) => push_bytes(&mut packed, TEXT, text.as_bytes()),
            SqlValue::Blob(bytes) => push_bytes(&mut packed, BLOB, bytes),
        }
    }
    packed
}

fn push_bytes(packed: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    packed.push(tag);
    // Lossless: usize is 32 bits on wasm32.
    packed.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    packed.extend_from_slice(bytes);
}

struct Unpacker<'a> {
    bytes: &'a [u8],
}

fn malformed() -> KvError {
    KvError::type_error("SQLite returned rows webkv cannot read")
}

impl<'a> Unpacker<'a> {
    fn take(&mut self, n: usize) -> KvResult<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(malformed());
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn u32(&mut self) -> KvResult<usize> {
        let bytes: [u8; 4] = self.take(4)?.try_into().map_err(|_| malformed())?;
        Ok(u32::from_le_bytes(bytes) as usize)
    }

    fn eight(&mut self) -> KvResult<[u8; 8]> {
        self.take(8)?.try_into().map_err(|_| malformed())
    }

    fn cell(&mut self) -> KvResult<SqlValue> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            NULL => SqlValue::Null,
            INTEGER => SqlValue::Integer(i64::from_le_bytes(self.eight()?)),
            // node:sqlite reads integers as numbers; a saturating cast.
            NUMBER => SqlValue::Integer(f64::from_le_bytes(self.eight()?) as i64),
            TEXT => {
                let len = self.u32()?;
                SqlValue::Text(String::from_utf8(self.take(len)?.to_vec()).map_err(|_| malformed())?)
            }
            BLOB => {
                let len = self.u32()?;
                SqlValue::Blob(self.take(len)?.to_vec())
            }
            _ => return Err(malformed()),
        })
    }
}

fn unpack_rows(bytes: &[u8]) -> KvResult<Vec<Vec<SqlValue>>> {
    let mut reader = Unpacker { bytes };
    let rows = reader.u32()?;
    let columns = reader.u32()?;
    // Every cell is at least one byte: the counts cannot ask for more
    // memory than the buffer justifies.
    if rows.saturating_mul(columns) > reader.bytes.len() {
        return Err(malformed());
    }
    (0..rows)
        .map(|_| (0..columns).map(|_| reader.cell()).collect())
        .collect()
}

struct JsSqliteHost {
    connection: SqliteConnection,
    reports: Reporter,
}

impl SqliteHost for JsSqliteHost {
    fn exec(&self, sql: &str) -> KvResult<()> {
        self.connection.exec(sql).map_err(host_error)
    }

    fn prepare(&self, sql: &str) -> KvResult<StatementId> {
        self.connection.prepare(sql).map_err(host_error)
    }

    fn query(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>> {
        let packed = self.connection.query(statement, &pack(values)).map_err(host_error)?;
        unpack_rows(&packed.to_vec())
    }

    fn run(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<u64> {
        self.connection
            .run(statement, &pack(values))
            .map(|changes| changes as u64)
            .map_err(host_error)
    }

    fn read_only(&self) -> bool {
        self.connection.read_only()
    }

    fn random_bytes(&self, buf: &mut [u8]) {
        self.connection.random_bytes(buf);
    }

    fn close(&self) {
        self.reports.close();
        self.connection.close();
    }

    fn report(&self, text: &str) {
        self.reports.report(text);
    }
}

/// Opens the SQLite database at `path` (canonical: the same file gives the
/// same text), or joins this process's open one; `connect()` returns a new
/// connection and is only called when there is none.
#[wasm_bindgen(js_name = openSqlite)]
pub fn open_sqlite(path: String, connect: &js_sys::Function) -> Result<Database, JsValue> {
    let connect = || -> KvResult<Box<dyn SqliteHost>> {
        let connection = connect.call0(&JsValue::UNDEFINED).map_err(host_error)?;
        Ok(Box::new(JsSqliteHost {
            connection: connection.unchecked_into(),
            reports: Reporter::new(js::console_warn),
        }))
    };
    let backend = open_shared(&path, connect, Rc::new(now_ms), Rc::new(timer::sleep))
        .map_err(|err| errors::to_js(KvError::type_error(format!("Cannot open {path}: {}", err.message))))?;
    Ok(Database::new(backend))
}
