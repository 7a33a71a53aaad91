//! Group commit: commits issued before the first of them is written (for
//! example 100 `set`s started in one tick) share one transaction, so one
//! fsync of the WAL instead of one each. Each commit still runs its checks,
//! takes its own versionstamp and gets its own result: it runs inside a
//! SAVEPOINT of the shared transaction, and a failed check or an error rolls
//! back that savepoint only. A commit resolves after the transaction holding
//! it committed, never before.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::AtomicWrite;

use super::host::TxKind;
use super::{read_only_error, schema, Committed, SqliteDb};
use crate::core::error::{KvError, KvResult};
use crate::core::versionstamp::Versionstamp;

/// A commit waiting for its group to be written.
pub(super) struct Queued {
    write: AtomicWrite,
    outcome: Rc<Outcome>,
}

#[derive(Default)]
pub(super) struct Outcome {
    result: RefCell<Option<KvResult<Option<Versionstamp>>>>,
    waker: RefCell<Option<Waker>>,
}

impl Outcome {
    fn settle(&self, result: KvResult<Option<Versionstamp>>) {
        *self.result.borrow_mut() = Some(result);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

/// Resolves with one commit's result. Its first poll only yields: every
/// commit issued until it is polled again joins the group, which that second
/// poll writes (unless a read, another commit's poll or a close wrote it
/// first).
pub(super) struct GroupCommit {
    db: Rc<SqliteDb>,
    outcome: Rc<Outcome>,
    yielded: bool,
    done: bool,
}

impl GroupCommit {
    pub(super) fn new(db: Rc<SqliteDb>, write: AtomicWrite) -> Self {
        let outcome = Rc::new(Outcome::default());
        db.queued.borrow_mut().push(Queued {
            write,
            outcome: Rc::clone(&outcome),
        });
        Self {
            db,
            outcome,
            yielded: false,
            done: false,
        }
    }
}

impl Future for GroupCommit {
    type Output = KvResult<Option<Versionstamp>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let settled = self.outcome.result.borrow_mut().take();
        if let Some(result) = settled {
            self.done = true;
            return Poll::Ready(result);
        }
        if !self.yielded {
            self.yielded = true;
            *self.outcome.waker.borrow_mut() = Some(cx.waker().clone());
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.db.write_queued();
        self.done = true;
        let result = self.outcome.result.borrow_mut().take();
        Poll::Ready(result.unwrap_or_else(|| Err(KvError::type_error("The commit was not written"))))
    }
}

impl Drop for GroupCommit {
    /// A commit nobody waits for any more is still written, as one whose
    /// promise is ignored is.
    fn drop(&mut self) {
        if !self.done && self.outcome.result.borrow().is_none() {
            self.db.write_queued();
        }
    }
}

impl SqliteDb {
    /// Writes every queued commit, in the order they were issued, as one
    /// group (or one by one, where the host does not group commits). Reads
    /// call this first, so a read sees every commit issued before it, as when
    /// each commit was written at once.
    pub(super) fn write_queued(&self) {
        let queued = std::mem::take(&mut *self.queued.borrow_mut());
        if queued.is_empty() {
            return;
        }
        let group_size = if self.host.groups_commits() { queued.len() } else { 1 };
        let mut queued = queued.into_iter().peekable();
        while queued.peek().is_some() {
            let (writes, outcomes): (Vec<_>, Vec<_>) =
                queued.by_ref().take(group_size).map(|q| (q.write, q.outcome)).unzip();
            let results = self.write_group(writes);
            for (outcome, committed) in outcomes.iter().zip(results) {
                if let Ok(Some(committed)) = &committed {
                    self.notify(&committed.changed);
                    if committed.enqueued {
                        self.wake_listeners();
                        self.schedule_queue_wake_up();
                    }
                }
                outcome.settle(committed.map(|c| c.map(|c| c.versionstamp)));
            }
        }
    }

    /// One transaction for all of `writes`; a result per write.
    fn write_group(&self, writes: Vec<AtomicWrite>) -> Vec<KvResult<Option<Committed>>> {
        let count = writes.len();
        let all_fail = |err: KvError| (0..count).map(|_| Err(err.clone())).collect();
        if self.host.read_only() {
            return all_fail(read_only_error());
        }
        let now = (self.clock)();
        if now >= self.state.borrow().next_sweep_ms {
            if let Err(err) = self.sweep_expired(now) {
                return all_fail(err);
            }
        }
        // A lone commit is the transaction itself; a savepoint would only
        // cost two more statements.
        let savepoints = count > 1;
        let mut writes = Some(writes);
        let mut results = Vec::with_capacity(count);
        let outcome = self.host.transaction(TxKind::Write, &mut || {
            let writes = writes
                .take()
                .ok_or_else(|| KvError::type_error("A transaction ran twice"))?;
            for write in writes {
                // An error here means the shared transaction can no longer be
                // trusted: the host rolls all of it back.
                results.push(self.commit_one(write, now, savepoints)?);
            }
            // Nothing to keep: a lone commit that failed may have written
            // part of itself.
            Ok(results.iter().any(|r| matches!(r, Ok(Some(_)))))
        });
        let Err(err) = outcome else {
            return results;
        };
        // The transaction is gone (it did not begin or commit, a savepoint
        // could not be rolled back, or SQLite rolled it back itself after an
        // error such as a full disk): nothing of the group was written.
        let mut results: Vec<_> = results
            .into_iter()
            .map(|result| match result {
                Ok(_) => Err(err.clone()),
                Err(own) => Err(own),
            })
            .collect();
        results.resize_with(count, || Err(err.clone()));
        results
    }

    /// One commit of a group. The outer `Err` means the shared transaction
    /// can no longer be trusted (its savepoint could not be rolled back);
    /// the inner result is this commit's own.
    fn commit_one(&self, write: AtomicWrite, now: u64, savepoint: bool) -> KvResult<KvResult<Option<Committed>>> {
        if !savepoint {
            return Ok(self.commit_in_tx(write, now));
        }
        self.run(schema::SAVEPOINT, &[])?;
        let result = self.commit_in_tx(write, now);
        if !matches!(result, Ok(Some(_))) {
            self.run(schema::ROLLBACK_TO_SAVEPOINT, &[])?;
        }
        self.run(schema::RELEASE_SAVEPOINT, &[])?;
        Ok(result)
    }
}
