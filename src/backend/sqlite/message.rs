//! A queue row read defensively. Any program can write the file (another
//! webkv, Deno, denokv, a tool, a damaged disk), and Deno panics on a row of
//! the wrong shape. webkv sets such a row aside instead: it moves it out of
//! the queue into `webkv_queue_set_aside`, kept for inspection, and reports
//! it, so that the messages behind it are still delivered.

use super::host::SqlValue;
use super::{int, schema, SqliteDb};
use crate::core::error::KvResult;
use crate::core::key;

/// The columns `id, data, backoff_schedule, keys_if_undelivered` of a row of
/// `queue` or `queue_running`, as Deno's format has them.
pub(super) struct StoredMessage {
    pub id: String,
    pub data: Vec<u8>,
    pub backoff_schedule: Vec<u64>,
    pub keys_if_undelivered: Vec<Vec<u8>>,
}

impl StoredMessage {
    /// Reads the four columns from `row[first..]`, or says what in them is
    /// not a message.
    pub fn read(row: &mut [SqlValue], first: usize) -> Result<Self, Unreadable> {
        let mut column = |offset: usize| {
            row.get_mut(first + offset)
                .map_or(SqlValue::Null, |cell| std::mem::replace(cell, SqlValue::Null))
        };
        let Some(id) = column(0).into_text() else {
            return Err(Unreadable {
                id: None,
                why: "its id is not text",
            });
        };
        let unreadable = |why| Unreadable {
            id: Some(id.clone()),
            why,
        };
        let SqlValue::Blob(data) = column(1) else {
            return Err(unreadable("its payload is not bytes"));
        };
        let backoff_schedule = column(2)
            .into_text()
            .and_then(|text| serde_json::from_str::<Option<Vec<u64>>>(&text).ok())
            .ok_or_else(|| unreadable("its backoff schedule is not a JSON list of milliseconds"))?
            .unwrap_or_default();
        let keys_if_undelivered = column(3)
            .into_text()
            .and_then(|text| serde_json::from_str::<Vec<Vec<u8>>>(&text).ok())
            .ok_or_else(|| unreadable("its keysIfUndelivered is not a JSON list of keys"))?;
        // Written into `kv` once the schedule is spent: a key that does not
        // decode would make every list over it fail.
        if keys_if_undelivered.iter().any(|k| key::decode(k).is_err()) {
            return Err(unreadable("one of its keysIfUndelivered is not a key"));
        }
        Ok(Self {
            id,
            data,
            backoff_schedule,
            keys_if_undelivered,
        })
    }
}

/// What makes a queue row no message: reported once the row is set aside.
pub(super) struct Unreadable {
    pub id: Option<String>,
    pub why: &'static str,
}

/// The characters of a message id a report shows (a UUID has 36).
const MAX_ID_SHOWN: usize = 64;

/// Which table a row to set aside is in.
#[derive(Clone, Copy)]
pub(super) enum QueueTable {
    Ready,
    Running,
}

impl SqliteDb {
    /// Moves row `rowid` of `table` to `webkv_queue_set_aside` (made on first
    /// need, so that a file without a bad row keeps Deno's tables only),
    /// with why and when; returns what to report once the transaction
    /// committed.
    pub(super) fn set_aside(
        &self,
        table: QueueTable,
        rowid: i64,
        unreadable: Unreadable,
        now: u64,
    ) -> KvResult<Unreadable> {
        self.host.exec(schema::CREATE_QUEUE_SET_ASIDE)?;
        let (copy, remove) = match table {
            QueueTable::Ready => (schema::QUEUE_SET_ASIDE_READY, schema::QUEUE_REMOVE_READY_ROW),
            QueueTable::Running => (schema::QUEUE_SET_ASIDE_RUNNING, schema::QUEUE_REMOVE_RUNNING_ROW),
        };
        self.run(
            copy,
            &[
                int(now),
                SqlValue::Text(unreadable.why.to_string()),
                SqlValue::Integer(rowid),
            ],
        )?;
        self.run(remove, &[SqlValue::Integer(rowid)])?;
        Ok(unreadable)
    }

    /// Reports the rows a committed transaction set aside.
    pub(super) fn report_set_aside(&self, rows: &[Unreadable]) {
        for row in rows {
            // Whoever wrote the row chose the id: shown quoted, escaped and
            // cut short, it can neither flood the console nor drive the
            // terminal.
            let id = row.id.as_deref().map_or(String::new(), |id| {
                let shown: String = id.chars().take(MAX_ID_SHOWN).collect();
                format!(" {shown:?}")
            });
            self.host.report(&format!(
                "the queue message{id} in {} cannot be delivered: {}. It was moved to the table \
                 webkv_queue_set_aside, and the rest of the queue is delivered.",
                self.path, row.why
            ));
        }
    }
}
