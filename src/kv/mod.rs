//! One open database: the closed state and Deno's request validation (the
//! op-side checks, in Deno's order), in front of whichever backend serves
//! it. The bindings only parse JS arguments into `request` shapes.

pub mod request;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::future::ready;
use std::num::NonZeroU32;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use self::request::{KeyParts, ListRequest, MutationRequest, WriteRequest};
use crate::backend::{Backend, BackendFuture, Clock, WatchStream};
use crate::core::error::KvError;
use crate::core::key;
use crate::core::limits::Limits;
use crate::core::selector::{point_range, Selector};
use crate::core::validate;
use crate::core::versionstamp::Versionstamp;

pub struct Kv {
    backend: Box<dyn Backend>,
    limits: Limits,
    clock: Clock,
    closed: Cell<bool>,
}

fn failed<T: 'static>(err: KvError) -> BackendFuture<T> {
    Box::pin(ready(Err(err)))
}

impl Kv {
    pub fn new(backend: Box<dyn Backend>, limits: Limits, clock: Clock) -> Self {
        Self {
            backend,
            limits,
            clock,
            closed: Cell::new(false),
        }
    }

    /// Also bounds what the bindings read of an argument: one key past a
    /// count limit is enough for that limit's error.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    fn ensure_open(&self) -> Result<(), KvError> {
        if self.closed.get() {
            return Err(KvError::closed());
        }
        Ok(())
    }

    /// `get`: one range holding the entry or nothing. (`read_keys` with one
    /// key, without its extra allocations: this is every get's path.)
    pub fn read_key(&self, key: KeyParts, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        match self.ensure_open().and_then(|()| key::encode(key)) {
            Ok(key) => self.snapshot_read(vec![point_range(key)], consistency),
            Err(err) => failed(err),
        }
    }

    /// `getMany`: one range per key, each holding the entry or nothing.
    pub fn read_keys(&self, keys: Vec<KeyParts>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        let ranges = self.ensure_open().and_then(|()| {
            if keys.len() > self.limits.max_read_ranges {
                return Err(self.limits.too_many_ranges());
            }
            keys.into_iter()
                .map(|parts| key::encode(parts).map(point_range))
                .collect::<Result<Vec<_>, _>>()
        });
        match ranges {
            Ok(ranges) => self.snapshot_read(ranges, consistency),
            Err(err) => failed(err),
        }
    }

    /// One batch of a list, as a single range.
    pub fn list(&self, request: ListRequest, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        match self.ensure_open().and_then(|()| list_range(request)) {
            Ok(range) => self.snapshot_read(vec![range], consistency),
            Err(err) => failed(err),
        }
    }

    fn snapshot_read(&self, ranges: Vec<ReadRange>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        if let Err(err) = validate::check_read_ranges(&self.limits, &ranges) {
            return failed(err);
        }
        self.backend.snapshot_read(ranges, consistency)
    }

    /// `kv.set` and `kv.delete`: `write` with one mutation, without its
    /// extra allocations (this is every set's path).
    pub fn write_one(&self, mutation: MutationRequest) -> BackendFuture<Option<Versionstamp>> {
        let write = self
            .ensure_open()
            .and_then(|()| request::convert_mutation(mutation, (self.clock)()))
            .map(|mutation| AtomicWrite {
                checks: Vec::new(),
                mutations: vec![mutation],
                enqueues: Vec::new(),
            })
            .and_then(|write| validate::check_atomic_write(&self.limits, &write).map(|()| write));
        match write {
            Ok(write) => self.backend.atomic_write(write),
            Err(err) => failed(err),
        }
    }

    /// An atomic operation; `Ok(None)` when a check failed.
    pub fn write(&self, request: WriteRequest) -> BackendFuture<Option<Versionstamp>> {
        let write = self
            .ensure_open()
            .and_then(|()| {
                validate::check_counts(
                    &self.limits,
                    request.checks.len(),
                    request.mutations.len() + request.enqueues.len(),
                )
            })
            .and_then(|()| request.into_atomic_write((self.clock)()))
            .and_then(|write| validate::check_atomic_write(&self.limits, &write).map(|()| write));
        match write {
            Ok(write) => self.backend.atomic_write(write),
            Err(err) => failed(err),
        }
    }

    /// Deno's checks happen when the watch is created, not when it is read.
    pub fn watch(&self, keys: Vec<KeyParts>) -> Result<Box<dyn WatchStream>, KvError> {
        self.ensure_open()?;
        let keys = keys.into_iter().map(key::encode).collect::<Result<Vec<_>, _>>()?;
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

fn list_range(request: ListRequest) -> Result<ReadRange, KvError> {
    let encode = |parts: Option<KeyParts>| parts.map(key::encode).transpose();
    let selector = Selector::new(encode(request.prefix)?, encode(request.start)?, encode(request.end)?)?;
    let (start, end) = selector.bounds(request.reverse, request.cursor.as_deref())?;
    // One past u32 saturates, and the read limit then rejects it as Deno does.
    let limit = NonZeroU32::new(request.batch_size as u32)
        .ok_or_else(|| KvError::type_error("limit must be greater than 0"))?;
    Ok(ReadRange {
        start,
        end,
        limit,
        reverse: request.reverse,
    })
}
