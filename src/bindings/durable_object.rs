//! `openKv(ctx.storage)` in a Cloudflare Durable Object: the SQLite backend
//! (Deno's format, every rule in `backend/sqlite`) over the object's own
//! SQLite database, through pkg-template/durable-object.js. Only the way
//! statements run differs from a file: no BEGIN/COMMIT (the object offers
//! `transactionSync`), no pragmas, no other writer, and an alarm to wake the
//! object for its queue.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;

use super::reporter::Reporter;
use super::sqlite::host_error;
use super::{errors, js, now_ms, timer, Database};
use crate::backend::sqlite::host::{SqlValue, SqliteHost, StatementId, TxKind};
use crate::backend::sqlite::open_shared;
use crate::core::error::{KvError, KvResult};

#[wasm_bindgen]
extern "C" {
    /// The connection object of pkg-template/durable-object.js.
    pub type DurableObjectConnection;
    #[wasm_bindgen(method, catch)]
    fn exec(this: &DurableObjectConnection, sql: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn prepare(this: &DurableObjectConnection, sql: &str) -> Result<u32, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn query(this: &DurableObjectConnection, statement: u32, params: &Array) -> Result<Array, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn run(this: &DurableObjectConnection, statement: u32, params: &Array) -> Result<f64, JsValue>;
    /// `ctx.storage.transactionSync`, rolled back unless `body` returns true.
    #[wasm_bindgen(method, catch)]
    fn transaction(this: &DurableObjectConnection, body: &mut dyn FnMut() -> bool) -> Result<(), JsValue>;
    #[wasm_bindgen(method, js_name = randomBytes)]
    fn random_bytes(this: &DurableObjectConnection, buf: &mut [u8]);
    #[wasm_bindgen(method)]
    fn close(this: &DurableObjectConnection);
    #[wasm_bindgen(method, js_name = wakeForQueueAt)]
    fn wake_for_queue_at(this: &DurableObjectConnection, at_ms: f64);
}

/// The object's storage binds no BigInt: integers cross as numbers (every
/// integer webkv writes, versions and times in ms, is below 2^53).
fn to_js(value: &SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        SqlValue::Integer(n) => JsValue::from_f64(*n as f64),
        SqlValue::Text(text) => JsValue::from_str(text),
        SqlValue::Blob(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
    }
}

/// Integers come back as numbers, blobs as ArrayBuffers.
fn from_js(value: JsValue) -> SqlValue {
    if let Some(n) = value.as_f64() {
        return SqlValue::Integer(n as i64);
    }
    if let Some(text) = value.as_string() {
        return SqlValue::Text(text);
    }
    if value.is_instance_of::<js_sys::ArrayBuffer>() {
        return SqlValue::Blob(js_sys::Uint8Array::new(&value).to_vec());
    }
    match value.dyn_into::<js_sys::Uint8Array>() {
        Ok(bytes) => SqlValue::Blob(bytes.to_vec()),
        Err(_) => SqlValue::Null,
    }
}

fn rows(rows: Array) -> Vec<Vec<SqlValue>> {
    rows.iter()
        .map(|row| row.unchecked_into::<Array>().iter().map(from_js).collect())
        .collect()
}

fn params(values: &[SqlValue]) -> Array {
    values.iter().map(to_js).collect()
}

struct DurableObjectHost {
    connection: DurableObjectConnection,
    reports: Reporter,
}

impl SqliteHost for DurableObjectHost {
    fn exec(&self, sql: &str) -> KvResult<()> {
        self.connection.exec(sql).map_err(host_error)
    }

    fn prepare(&self, sql: &str) -> KvResult<StatementId> {
        self.connection.prepare(sql).map_err(host_error)
    }

    fn query(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>> {
        Ok(rows(
            self.connection.query(statement, &params(values)).map_err(host_error)?,
        ))
    }

    fn run(&self, statement: StatementId, values: &[SqlValue]) -> KvResult<u64> {
        self.connection
            .run(statement, &params(values))
            .map(|changes| changes as u64)
            .map_err(host_error)
    }

    fn random_bytes(&self, buf: &mut [u8]) {
        self.connection.random_bytes(buf);
    }

    /// Forgets the statements; the storage itself stays the object's.
    fn close(&self) {
        self.reports.close();
        self.connection.close();
    }

    fn report(&self, text: &str) {
        self.reports.report(text);
    }

    /// A synchronous body runs alone in a Durable Object, so reads need no
    /// transaction; writes need `transactionSync` to roll back on failure.
    fn transaction(&self, kind: TxKind, body: &mut dyn FnMut() -> KvResult<bool>) -> KvResult<bool> {
        if kind == TxKind::Read {
            return body();
        }
        let mut outcome: KvResult<bool> = Ok(false);
        self.connection
            .transaction(&mut || {
                outcome = body();
                matches!(outcome, Ok(true))
            })
            .map_err(host_error)?;
        outcome
    }

    fn sets_durability(&self) -> bool {
        false
    }

    fn has_other_writers(&self) -> bool {
        false
    }

    fn groups_commits(&self) -> bool {
        false
    }

    fn needs_queue_wake_ups(&self) -> bool {
        true
    }

    fn wake_for_queue_at(&self, at_ms: u64) {
        self.connection.wake_for_queue_at(at_ms as f64);
    }
}

/// Opens webkv on a Durable Object's storage, or joins the database already
/// open on it; `key` names the storage (one per object in the isolate).
#[wasm_bindgen(js_name = openDurableObject)]
pub fn open_durable_object(key: String, connection: DurableObjectConnection) -> Result<Database, JsValue> {
    let connect = || -> KvResult<Box<dyn SqliteHost>> {
        Ok(Box::new(DurableObjectHost {
            connection,
            reports: Reporter::new(js::console_warn),
        }))
    };
    let backend = open_shared(&key, connect, Rc::new(now_ms), Rc::new(timer::sleep)).map_err(|err| {
        errors::to_js(KvError::type_error(format!(
            "Cannot open the Durable Object's storage: {}",
            err.message
        )))
    })?;
    Ok(Database::new(backend))
}
