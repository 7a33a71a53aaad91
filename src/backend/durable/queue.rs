//! Durable queues: messages live in the store, so any instance of the
//! database may deliver them, and they outlive the page that enqueued them.
//! An instance delivering a message holds a lease on it, renewed while the
//! handler runs; a lease that runs out (its page died) hands the message to
//! whoever asks next, which is how "at least once" survives a crash.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;
use futures::future::{select, Either};

use super::host::{MessageKey, Taken};
use super::Shared;
use crate::core::error::{KvError, KvResult};
use crate::core::limits::Limits;
use crate::core::queue::{undelivered_write, QueuedMessage, Retry};
use crate::core::record;

/// How long a delivery may go unrenewed before another instance takes the
/// message over. Renewed every third of it while the handler runs.
pub const LEASE_MS: u64 = 5_000;

/// Listeners look again at least this often, in case a signal was missed
/// (another instance without a BroadcastChannel, say).
const IDLE_POLL_MS: u64 = 5_000;

/// Wakes queue listeners: something may have become deliverable.
#[derive(Default)]
pub(super) struct Signal {
    state: RefCell<SignalState>,
}

#[derive(Default)]
struct SignalState {
    generation: u64,
    next_waiter: u64,
    /// One waker per waiting `Changed`, however often it is polled; a
    /// dropped one (a wait that ended another way) leaves nothing behind.
    waiting: HashMap<u64, Waker>,
}

impl Signal {
    pub(super) fn notify(&self) {
        let waiting = {
            let mut state = self.state.borrow_mut();
            state.generation += 1;
            std::mem::take(&mut state.waiting)
        };
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    /// How many wakers wait for the next notification.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        self.state.borrow().waiting.len()
    }

    fn changed(self: &Rc<Self>) -> Changed {
        let mut state = self.state.borrow_mut();
        state.next_waiter += 1;
        Changed {
            signal: Rc::clone(self),
            seen: state.generation,
            id: state.next_waiter,
        }
    }
}

struct Changed {
    signal: Rc<Signal>,
    seen: u64,
    id: u64,
}

impl Future for Changed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.signal.state.borrow_mut();
        if state.generation != self.seen {
            return Poll::Ready(());
        }
        let kept = state.waiting.get(&self.id);
        if !kept.is_some_and(|kept| kept.will_wake(cx.waker())) {
            state.waiting.insert(self.id, cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        self.signal.state.borrow_mut().waiting.remove(&self.id);
    }
}

impl Shared {
    /// The next message this instance may deliver, as `(local id, payload)`;
    /// `Ok(None)` once the database is closed.
    pub(super) async fn next_message(self: &Rc<Self>) -> KvResult<Option<(u64, Vec<u8>)>> {
        loop {
            if self.state.borrow().ownership.is_closed() {
                return Ok(None);
            }
            let changed = self.queue_signal.changed();
            let now = self.memory.now();
            match self.store.take_message(now, now + LEASE_MS).await? {
                Taken::Message(key, bytes) => {
                    let message = match record::decode_message(&bytes) {
                        Ok(message) => message,
                        Err(err) => {
                            // Never deliverable: out of the way of the
                            // others. If that fails, it stays leased to this
                            // instance for a while, and is tried again.
                            let _ = self.store.discard_message(key, &err.message).await;
                            continue;
                        }
                    };
                    let payload = message.payload.clone();
                    let id = {
                        let mut state = self.state.borrow_mut();
                        state.next_delivery += 1;
                        let id = state.next_delivery;
                        state.deliveries.insert(id, (key, message));
                        id
                    };
                    (self.spawn)(Box::pin(renew_while_delivering(Rc::clone(self), id, key)));
                    return Ok(Some((id, payload)));
                }
                Taken::NextDue(due) => {
                    let wait = due.map_or(IDLE_POLL_MS, |due| due.saturating_sub(now).min(IDLE_POLL_MS));
                    let _ = select(changed, self.memory.sleep(wait)).await;
                }
            }
        }
    }

    /// Settles a delivery: removed when delivered; otherwise retried on its
    /// schedule, or written to its `keysIfUndelivered` and removed.
    pub(super) fn finish_delivery(self: &Rc<Self>, id: u64, delivered: bool) {
        let Some((key, message)) = self.state.borrow_mut().deliveries.remove(&id) else {
            return;
        };
        let shared = Rc::clone(self);
        (self.spawn)(Box::pin(async move {
            // A message that cannot be settled keeps its lease until it runs
            // out and is then delivered again: at least once.
            let _ = shared.settle(key, message, delivered).await;
            shared.queue_signal.notify();
            shared.peers.announce_queued();
        }));
    }

    async fn settle(self: &Rc<Self>, key: MessageKey, message: QueuedMessage, delivered: bool) -> KvResult<()> {
        if delivered {
            return self.store.settle_message(key, None).await;
        }
        match message.fail(self.memory.now()) {
            Retry::Again(message) => {
                let bytes = record::encode_message(&message);
                self.store
                    .settle_message(key, Some((message.deliver_at_ms, bytes)))
                    .await
            }
            Retry::GiveUp { payload, keys } => {
                // The keys come from the store: if one is no key a commit
                // could write (empty, too long), none is written, and the
                // message is dropped as if it had none.
                let limits = Limits::default();
                let writable = |key: &Vec<u8>| !key.is_empty() && limits.check_write_key_size(key).is_ok();
                let write = undelivered_write(payload, keys)
                    .filter(|write| write.mutations.iter().all(|mutation| writable(&mutation.key)));
                if let Some(write) = write {
                    let (reply, written) = oneshot::channel();
                    Shared::queue_write(self, write, reply);
                    written.await.unwrap_or_else(|_| Err(KvError::closed()))?;
                }
                self.store.settle_message(key, None).await
            }
        }
    }
}

async fn renew_while_delivering(shared: Rc<Shared>, id: u64, key: MessageKey) {
    loop {
        let tick = shared.memory.sleep(LEASE_MS / 3);
        let closed = shared.queue_closed.changed();
        if let Either::Right(_) = select(tick, closed).await {
            return;
        }
        let delivering = {
            let state = shared.state.borrow();
            !state.ownership.is_closed() && state.deliveries.contains_key(&id)
        };
        if !delivering {
            return;
        }
        let until = shared.memory.now() + LEASE_MS;
        let _ = shared.store.renew_lease(key, until).await;
    }
}
