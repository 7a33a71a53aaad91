//! The write path: commits queue up while a transaction is in flight and go
//! together in the next one (group commit), each prepared as if the ones
//! before it in the group had been applied. Nothing reaches memory until the
//! transaction is durable, so a failed one leaves memory as it was.

use std::cell::RefCell;
use std::rc::Rc;

use denokv_proto::AtomicWrite;

use super::host::{Appended, MessageKey, Since};
use super::pages::Busy;
use super::{Reply, Shared};

/// How often a write fetches pages again because its transaction found the
/// index replaced, before it gives up.
const MAX_PAGE_RETRIES: usize = 4;
use crate::core::entry::PreparedCommit;
use crate::core::error::{KvError, KvResult};
use crate::core::record;

/// What became of each commit of a group, in order.
enum Outcome {
    /// Its index among the prepared commits.
    Prepared(usize),
    CheckFailed,
    Invalid(KvError),
}

struct Plan {
    prepared: Vec<PreparedCommit>,
    records: Vec<Vec<u8>>,
    /// Handed to the store; only whether there were any is kept here.
    messages: Vec<(MessageKey, Vec<u8>)>,
    enqueued: bool,
    outcomes: Vec<Outcome>,
}

impl Shared {
    pub(super) fn queue_write(self: &Rc<Self>, write: AtomicWrite, reply: Reply) {
        let mut state = self.state.borrow_mut();
        if state.ownership.is_closed() {
            let _ = reply.send(Err(KvError::closed()));
            return;
        }
        state.queued.push((write, reply));
        if !state.writing {
            state.writing = true;
            (self.spawn)(Box::pin(write_loop(Rc::clone(self))));
        }
    }

    /// Takes ownership if this instance can own and does not.
    async fn become_owner(&self) -> KvResult<()> {
        if !self.can_own || self.state.borrow().ownership.owns() {
            return Ok(());
        }
        self.peers.acquire().await?;
        if !self.state.borrow_mut().ownership.acquired() {
            self.peers.release();
            return Err(KvError::closed());
        }
        Ok(())
    }

    async fn write_group(self: &Rc<Self>, group: Vec<(AtomicWrite, Reply)>) {
        let enqueues = group.iter().any(|(write, _)| !write.enqueues.is_empty());
        let (writes, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
        let _busy = Busy::new(self);
        let writes = Rc::new(RefCell::new(Some(writes)));
        let missing = |shared: &Shared| missing_for(shared, &writes);
        let mut attempts = 0;
        let (plan, written) = loop {
            attempts += 1;
            // The pages the commits read are fetched before the write
            // transaction starts: it cannot wait for another one.
            if let Err(err) = self.fetch_until_held(&missing).await {
                for reply in replies {
                    let _ = reply.send(Err(err.clone()));
                }
                return;
            }
            let plan: Rc<RefCell<Option<Plan>>> = Rc::default();
            let pages_moved = Rc::new(std::cell::Cell::new(false));
            let prepare = {
                let shared = Rc::clone(self);
                let plan = Rc::clone(&plan);
                let writes = Rc::clone(&writes);
                let pages_moved = Rc::clone(&pages_moved);
                Box::new(move |since: Since| {
                    shared.absorb(since)?;
                    // What the transaction read may have replaced the index
                    // (another instance checkpointed): fetch and try again.
                    if !missing_for(&shared, &writes).is_empty() {
                        pages_moved.set(true);
                        return Err(KvError::error("The database's pages moved"));
                    }
                    let writes = writes.borrow_mut().take().unwrap_or_default();
                    let mut made = shared.plan(writes);
                    let records = made
                        .prepared
                        .iter()
                        .zip(&made.records)
                        .map(|(commit, bytes)| (commit.version, bytes.clone()))
                        .collect();
                    let messages = std::mem::take(&mut made.messages);
                    *plan.borrow_mut() = Some(made);
                    Ok(Appended { records, messages })
                })
            };
            let blind = self.state.borrow().ownership.is_fresh();
            let written = self.store.write(self.memory.version(), blind, enqueues, prepare).await;
            if pages_moved.get() && attempts <= MAX_PAGE_RETRIES {
                continue;
            }
            let taken = plan.borrow_mut().take();
            break (taken, written);
        };
        let Some(plan) = plan else {
            let err = written
                .err()
                .unwrap_or_else(|| KvError::error("The write transaction did not run"));
            for reply in replies {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        };
        match written {
            Ok(()) => self.written(plan, replies),
            Err(err) => {
                self.state.borrow_mut().ownership.write_failed();
                for (outcome, reply) in plan.outcomes.into_iter().zip(replies) {
                    let _ = reply.send(match outcome {
                        Outcome::Prepared(_) => Err(err.clone()),
                        Outcome::CheckFailed => Ok(None),
                        Outcome::Invalid(invalid) => Err(invalid),
                    });
                }
            }
        }
    }

    /// Prepares each commit of a group on top of the ones before it.
    fn plan(&self, writes: Vec<AtomicWrite>) -> Plan {
        let now = self.memory.now();
        let mut engine = self.memory.engine();
        let mut prepared = Vec::new();
        let mut outcomes = Vec::with_capacity(writes.len());
        for write in writes {
            outcomes.push(match engine.prepare_after(&prepared, write, now) {
                Ok(Some(commit)) => {
                    prepared.push(commit);
                    Outcome::Prepared(prepared.len() - 1)
                }
                Ok(None) => Outcome::CheckFailed,
                Err(err) => Outcome::Invalid(err),
            });
        }
        // Queue messages go to the store's queue, not to this instance's
        // memory: any instance may deliver them, after a reload too.
        let mut messages = Vec::new();
        for commit in &mut prepared {
            for (index, message) in std::mem::take(&mut commit.enqueues).into_iter().enumerate() {
                let key = (message.deliver_at_ms, commit.version, index as u32);
                messages.push((key, record::encode_message(&message)));
            }
        }
        let records = prepared.iter().map(record::encode_commit).collect();
        Plan {
            prepared,
            records,
            enqueued: !messages.is_empty(),
            messages,
            outcomes,
        }
    }

    /// The group is durable: apply it, tell the others, answer the callers.
    fn written(self: &Rc<Self>, plan: Plan, replies: Vec<Reply>) {
        let stamps: Vec<_> = plan.prepared.iter().map(PreparedCommit::versionstamp).collect();
        if plan.enqueued {
            self.queue_signal.notify();
            self.peers.announce_queued();
        }
        self.state.borrow_mut().ownership.wrote();
        if !plan.records.is_empty() {
            let continues = plan
                .prepared
                .first()
                .is_some_and(|first| first.version == self.memory.version() + 1);
            if continues {
                let bytes = plan.records.iter().map(Vec::len).fold(0usize, usize::saturating_add);
                let mut state = self.state.borrow_mut();
                state.log_bytes = state.log_bytes.saturating_add(bytes);
                drop(state);
                self.memory.apply(plan.prepared);
            } else {
                // Memory moved while the transaction ran (only possible
                // without ownership): the durable log is the truth.
                self.apply_or_catch_up(&plan.records);
            }
            self.peers.announce(&plan.records);
        }
        for (outcome, reply) in plan.outcomes.into_iter().zip(replies) {
            let _ = reply.send(match outcome {
                Outcome::Prepared(index) => Ok(stamps.get(index).copied()),
                Outcome::CheckFailed => Ok(None),
                Outcome::Invalid(invalid) => Err(invalid),
            });
        }
    }
}

/// The absent pages that preparing `writes` would read.
fn missing_for(shared: &Shared, writes: &RefCell<Option<Vec<AtomicWrite>>>) -> Vec<u64> {
    let engine = shared.memory.engine();
    let writes = writes.borrow();
    writes
        .iter()
        .flatten()
        .flat_map(|write| engine.missing_for_write(write))
        .collect()
}

/// Drains the queue one group per transaction, then stops.
async fn write_loop(shared: Rc<Shared>) {
    loop {
        {
            let mut state = shared.state.borrow_mut();
            if state.queued.is_empty() || state.ownership.is_closed() {
                state.writing = false;
                if state.ownership.writer_stopped() {
                    shared.release(&mut state);
                }
                return;
            }
        }
        if let Err(err) = shared.become_owner().await {
            let failed = std::mem::take(&mut shared.state.borrow_mut().queued);
            for (_, reply) in failed {
                let _ = reply.send(Err(err.clone()));
            }
            continue;
        }
        let group = std::mem::take(&mut shared.state.borrow_mut().queued);
        shared.write_group(group).await;
        let checkpoint = {
            let mut state = shared.state.borrow_mut();
            if state.ownership.handover_due() {
                shared.release(&mut state);
            }
            !state.ownership.is_closed()
        } && shared.checkpoint_due();
        if checkpoint {
            // A failed checkpoint leaves the log longer, nothing worse.
            let _ = shared.checkpoint().await;
        }
    }
}
