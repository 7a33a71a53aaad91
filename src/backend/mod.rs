//! Where reads and commits are served. Every backend (memory, IndexedDB,
//! SQLite files, KV Connect) implements this one trait. Futures are used even
//! where the answer is immediate: callers poll once and take a ready result
//! synchronously, so the memory backend pays nothing for the async shape.

use std::future::Future;
use std::pin::Pin;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use crate::core::error::KvResult;
use crate::core::versionstamp::Versionstamp;

// Each persistent backend only in the builds that have a use for it
// (Cargo.toml's features; scripts/build.mjs builds the browser wasm with
// `indexeddb` alone and the server wasm with `sqlite` alone).
#[cfg(feature = "indexeddb")]
pub mod durable;
pub mod memory;
#[cfg(feature = "remote")]
pub mod remote;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod time;

pub use time::Clock;

pub type BackendFuture<T> = Pin<Box<dyn Future<Output = KvResult<T>>>>;

/// A watch on a few keys: each `next` resolves with the current entries of
/// every key (None for a missing one): at once the first time, then when one
/// of them may have changed. `Ok(None)` ends the stream (database closed).
pub trait WatchStream {
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>>;
}

pub trait Backend {
    /// One snapshot: every range sees the same committed state.
    fn snapshot_read(&self, ranges: Vec<ReadRange>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>>;

    /// `Ok(None)` when a check failed and nothing was written.
    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>>;

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream>;

    /// The next queue message that is due, as `(id, payload)`, once there is
    /// one; `Ok(None)` when the database closes.
    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        Box::pin(std::future::ready(Err(crate::core::error::KvError::type_error(
            "This database has no queue",
        ))))
    }

    /// Reports how a dequeued message's delivery went.
    fn finish_message(&self, _id: u64, _delivered: bool) {}

    /// Resolves once the queue messages due now have been delivered (or
    /// rescheduled after a failure): what a Durable Object's alarm waits for.
    fn deliver_due_messages(&self) -> BackendFuture<()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Reaches the database before the first operation, where that can
    /// fail (a wrong access token fails `openKv`, as in Deno).
    fn connect(&self) -> BackendFuture<()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn close(&self);
}
