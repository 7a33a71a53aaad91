//! The in-memory queue: messages wait until their delivery time, are handed
//! out one at a time, and come back as delivered or failed. A failed message
//! is retried after the next interval of its backoff schedule; when the
//! schedule is spent, its payload is left for `keysIfUndelivered`.

use std::collections::{BTreeMap, HashMap};

use denokv_proto::{AtomicWrite, KvValue, Mutation, MutationKind};

/// Deno's default: retry after 0.1 s, 1 s, 5 s, 30 s and 60 s.
pub const DEFAULT_BACKOFF_SCHEDULE: [u32; 5] = [100, 1_000, 5_000, 30_000, 60_000];

#[derive(Debug, Clone)]
pub struct QueuedMessage {
    /// V8-serialized, always (Deno serializes queue payloads that way).
    pub payload: Vec<u8>,
    pub deliver_at_ms: u64,
    pub keys_if_undelivered: Vec<Vec<u8>>,
    pub backoff_schedule: Vec<u32>,
    pub failed_attempts: usize,
}

/// The commit that stores a message's payload under its
/// `keysIfUndelivered`; `None` when there are no such keys.
pub fn undelivered_write(payload: Vec<u8>, keys: Vec<Vec<u8>>) -> Option<AtomicWrite> {
    if keys.is_empty() {
        return None;
    }
    let mutations = keys
        .into_iter()
        .map(|key| Mutation {
            key,
            kind: MutationKind::Set(KvValue::V8(payload.clone())),
            expire_at: None,
        })
        .collect();
    Some(AtomicWrite {
        checks: vec![],
        mutations,
        enqueues: vec![],
    })
}

/// What a failed delivery leads to.
#[derive(Debug)]
pub enum Retry {
    /// Deliver again at the message's new `deliver_at_ms`.
    Again(QueuedMessage),
    /// The schedule is spent: write `payload` to these keys.
    GiveUp { payload: Vec<u8>, keys: Vec<Vec<u8>> },
}

impl QueuedMessage {
    pub fn fail(mut self, now_ms: u64) -> Retry {
        match self.backoff_schedule.get(self.failed_attempts).copied() {
            Some(interval) => {
                self.failed_attempts += 1;
                self.deliver_at_ms = now_ms.saturating_add(u64::from(interval));
                Retry::Again(self)
            }
            None => Retry::GiveUp {
                payload: self.payload,
                keys: self.keys_if_undelivered,
            },
        }
    }
}

#[derive(Debug, Default)]
pub struct Queue {
    next_id: u64,
    waiting: BTreeMap<(u64, u64), QueuedMessage>,
    in_flight: HashMap<u64, QueuedMessage>,
}

/// What became of a delivery that failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterFailure {
    Retried,
    /// The schedule is spent: write `payload` to these keys.
    Undelivered {
        payload: Vec<u8>,
        keys: Vec<Vec<u8>>,
    },
}

impl Queue {
    pub fn push(&mut self, message: QueuedMessage) {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.insert((message.deliver_at_ms, id), message);
    }

    /// The next message due at `now_ms`, marked in flight.
    pub fn take_due(&mut self, now_ms: u64) -> Option<(u64, Vec<u8>)> {
        let (&(at, id), _) = self.waiting.first_key_value()?;
        if at > now_ms {
            return None;
        }
        let message = self.waiting.remove(&(at, id))?;
        let payload = message.payload.clone();
        self.in_flight.insert(id, message);
        Some((id, payload))
    }

    /// When the next waiting message falls due.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.waiting.first_key_value().map(|(&(at, _), _)| at)
    }

    pub fn delivered(&mut self, id: u64) {
        self.in_flight.remove(&id);
    }

    pub fn failed(&mut self, id: u64, now_ms: u64) -> Option<AfterFailure> {
        let message = self.in_flight.remove(&id)?;
        Some(match message.fail(now_ms) {
            Retry::Again(message) => {
                self.waiting.insert((message.deliver_at_ms, id), message);
                AfterFailure::Retried
            }
            Retry::GiveUp { payload, keys } => AfterFailure::Undelivered { payload, keys },
        })
    }

    pub fn clear(&mut self) {
        self.waiting.clear();
        self.in_flight.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(at: u64, schedule: Vec<u32>) -> QueuedMessage {
        QueuedMessage {
            payload: vec![at as u8],
            deliver_at_ms: at,
            keys_if_undelivered: vec![vec![9]],
            backoff_schedule: schedule,
            failed_attempts: 0,
        }
    }

    #[test]
    fn messages_come_out_when_due_in_delivery_order() {
        let mut queue = Queue::default();
        queue.push(message(20, vec![]));
        queue.push(message(10, vec![]));
        assert_eq!(queue.take_due(5), None);
        assert_eq!(queue.next_due_ms(), Some(10));
        assert_eq!(queue.take_due(30).map(|(_, p)| p), Some(vec![10]));
        assert_eq!(queue.take_due(30).map(|(_, p)| p), Some(vec![20]));
        assert_eq!(queue.take_due(30), None);
    }

    #[test]
    fn failures_follow_the_schedule_then_give_up() {
        let mut queue = Queue::default();
        queue.push(message(0, vec![10, 20]));
        let (id, _) = queue.take_due(0).expect("due");
        assert_eq!(queue.failed(id, 100), Some(AfterFailure::Retried));
        assert_eq!(queue.next_due_ms(), Some(110));
        let (id, _) = queue.take_due(110).expect("retried");
        assert_eq!(queue.failed(id, 110), Some(AfterFailure::Retried));
        let (id, _) = queue.take_due(130).expect("retried again");
        assert_eq!(
            queue.failed(id, 130),
            Some(AfterFailure::Undelivered {
                payload: vec![0],
                keys: vec![vec![9]]
            })
        );
        assert_eq!(queue.next_due_ms(), None);
    }
}
