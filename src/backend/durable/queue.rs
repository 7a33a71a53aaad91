//! Durable queues: messages live in the store, so any instance of the
//! database may deliver them, and they outlive the page that enqueued them.
//! An instance delivering a message holds a lease on it, renewed while the
//! handler runs; a lease that runs out (its page died) hands the message to
//! whoever asks next, which is how "at least once" survives a crash.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures::channel::oneshot;
use futures::future::{select, Either};

use super::host::{MessageKey, Taken};
use super::Shared;
use crate::core::error::{KvError, KvResult};
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
    generation: RefCell<(u64, Vec<Waker>)>,
}

impl Signal {
    pub(super) fn notify(&self) {
        let mut state = self.generation.borrow_mut();
        state.0 += 1;
        for waker in state.1.drain(..) {
            waker.wake();
        }
    }

    fn changed(self: &Rc<Self>) -> Changed {
        Changed {
            signal: Rc::clone(self),
            seen: self.generation.borrow().0,
        }
    }
}

struct Changed {
    signal: Rc<Signal>,
    seen: u64,
}

impl Future for Changed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.signal.generation.borrow_mut();
        if state.0 != self.seen {
            return Poll::Ready(());
        }
        state.1.push(cx.waker().clone());
        Poll::Pending
    }
}

impl Shared {
    /// The next message this instance may deliver, as `(local id, payload)`;
    /// `Ok(None)` once the database is closed.
    pub(super) async fn next_message(self: &Rc<Self>) -> KvResult<Option<(u64, Vec<u8>)>> {
        loop {
            if self.state.borrow().closed {
                return Ok(None);
            }
            let changed = self.queue_signal.changed();
            let now = self.memory.now();
            match self.store.take_message(now, now + LEASE_MS).await? {
                Taken::Message(key, bytes) => {
                    let message = record::decode_message(&bytes)?;
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
                if let Some(write) = undelivered_write(payload, keys) {
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
            !state.closed && state.deliveries.contains_key(&id)
        };
        if !delivering {
            return;
        }
        let until = shared.memory.now() + LEASE_MS;
        let _ = shared.store.renew_lease(key, until).await;
    }
}
