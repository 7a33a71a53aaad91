//! One open database: Deno's request validation and the closed state, in
//! front of whichever backend serves it.

use std::cell::Cell;
use std::future::ready;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use crate::backend::{Backend, BackendFuture, WatchStream};
use crate::core::error::KvError;
use crate::core::limits::Limits;
use crate::core::validate;
use crate::core::versionstamp::Versionstamp;

pub struct Kv {
    backend: Box<dyn Backend>,
    limits: Limits,
    closed: Cell<bool>,
}

impl Kv {
    pub fn new(backend: Box<dyn Backend>, limits: Limits) -> Self {
        Self {
            backend,
            limits,
            closed: Cell::new(false),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    pub fn ensure_open(&self) -> Result<(), KvError> {
        if self.closed.get() {
            return Err(KvError::closed());
        }
        Ok(())
    }

    pub fn snapshot_read(&self, ranges: Vec<ReadRange>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        if let Err(err) = self
            .ensure_open()
            .and_then(|()| validate::check_read_ranges(&self.limits, &ranges))
        {
            return Box::pin(ready(Err(err)));
        }
        self.backend.snapshot_read(ranges, consistency)
    }

    pub fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        if let Err(err) = self
            .ensure_open()
            .and_then(|()| validate::check_atomic_write(&self.limits, &write))
        {
            return Box::pin(ready(Err(err)));
        }
        self.backend.atomic_write(write)
    }

    /// Deno's checks happen when the watch is created, not when it is read.
    pub fn watch(&self, keys: Vec<Vec<u8>>) -> Result<Box<dyn WatchStream>, KvError> {
        self.ensure_open()?;
        if keys.len() > self.limits.max_watched_keys {
            return Err(KvError::type_error(format!(
                "Too many keys (max {})",
                self.limits.max_watched_keys
            )));
        }
        for key in &keys {
            self.limits.check_read_key_size(key)?;
        }
        Ok(self.backend.watch(keys))
    }

    /// The next due queue message; `Ok(None)` once the database is closed.
    pub fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        if self.closed.get() {
            return Box::pin(ready(Ok(None)));
        }
        self.backend.dequeue()
    }

    pub fn finish_message(&self, id: u64, delivered: bool) {
        if !self.closed.get() {
            self.backend.finish_message(id, delivered);
        }
    }

    pub fn deliver_due_messages(&self) -> BackendFuture<()> {
        if self.closed.get() {
            return Box::pin(ready(Ok(())));
        }
        self.backend.deliver_due_messages()
    }

    pub fn connect(&self) -> BackendFuture<()> {
        self.backend.connect()
    }

    /// Closing twice is an error, as in Deno; disposing is not.
    pub fn close(&self) -> Result<(), KvError> {
        if self.closed.replace(true) {
            return Err(KvError::closed());
        }
        self.backend.close();
        Ok(())
    }
}
