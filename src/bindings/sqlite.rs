//! `openKv(path)` outside browsers: the SQLite backend over a connection
//! that the runtime's entry file makes (pkg-template/sqlite.js, a thin shim
//! over `node:sqlite` or `bun:sqlite`).

use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

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
    #[wasm_bindgen(method, catch)]
    fn query(this: &SqliteConnection, statement: u32, params: &Array) -> Result<Array, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn run(this: &SqliteConnection, statement: u32, params: &Array) -> Result<f64, JsValue>;
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

fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // As BigInt: node:sqlite binds a JS number as a REAL.
        SqlValue::Integer(n) => JsValue::from(*n),
        SqlValue::Text(text) => JsValue::from_str(text),
        SqlValue::Blob(bytes) => Uint8Array::from(bytes.as_slice()).into(),
    }
}

fn from_js(value: JsValue) -> SqlValue {
    if let Some(n) = value.as_f64() {
        return SqlValue::Integer(n as i64);
    }
    if let Some(text) = value.as_string() {
        return SqlValue::Text(text);
    }
    if value.is_bigint() {
        return i64::try_from(value).map_or(SqlValue::Null, SqlValue::Integer);
    }
    // A Durable Object's storage returns blobs as ArrayBuffers.
    if value.is_instance_of::<js_sys::ArrayBuffer>() {
        return SqlValue::Blob(Uint8Array::new(&value).to_vec());
    }
    match value.dyn_into::<Uint8Array>() {
        Ok(bytes) => SqlValue::Blob(bytes.to_vec()),
        Err(_) => SqlValue::Null,
    }
}

pub(super) fn rows(rows: Array) -> Vec<Vec<SqlValue>> {
    rows.iter()
        .map(|row| row.unchecked_into::<Array>().iter().map(from_js).collect())
        .collect()
}

fn params(values: &[SqlValue]) -> Array {
    values.iter().map(to_js).collect()
}

struct JsSqliteHost(SqliteConnection);

impl SqliteHost for JsSqliteHost {
    fn exec(&self, sql: &str) -> KvResult<()> {
        self.0.exec(sql).map_err(host_error)
    }

    fn prepare(&self, sql: &str) -> KvResult<StatementId> {
        self.0.prepare(sql).map_err(host_error)
    }

    fn query(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>> {
        Ok(rows(self.0.query(statement, &params(values)).map_err(host_error)?))
    }

    fn run(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<u64> {
        self.0
            .run(statement, &params(values))
            .map(|changes| changes as u64)
            .map_err(host_error)
    }

    fn read_only(&self) -> bool {
        self.0.read_only()
    }

    fn random_bytes(&self, buf: &mut [u8]) {
        self.0.random_bytes(buf);
    }

    fn close(&self) {
        self.0.close();
    }
}

/// Opens the SQLite database at `path` (canonical: the same file gives the
/// same text), or joins this process's open one; `connect()` returns a new
/// connection and is only called when there is none.
#[wasm_bindgen(js_name = openSqlite)]
pub fn open_sqlite(path: String, connect: &js_sys::Function) -> Result<Database, JsValue> {
    let connect = || -> KvResult<Box<dyn SqliteHost>> {
        let connection = connect.call0(&JsValue::UNDEFINED).map_err(host_error)?;
        Ok(Box::new(JsSqliteHost(connection.unchecked_into())))
    };
    let backend = open_shared(&path, connect, Rc::new(now_ms), Rc::new(timer::sleep))
        .map_err(|err| errors::to_js(KvError::type_error(format!("Cannot open {path}: {}", err.message))))?;
    Ok(Database::new(backend))
}
