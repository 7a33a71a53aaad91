//! Deno's durable queue on the `queue` and `queue_running` tables: taking a
//! due message under a lease, renewing and requeueing leases, backoff and
//! `keysIfUndelivered`, and the futures listeners and a Durable Object's
//! alarm wait on.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use denokv_proto::KvValue;

use super::host::SqlValue;
use super::message::{QueueTable, StoredMessage, Unreadable};
use super::{blob, column_i64, int, schema, sleep_until, Handle, SqliteDb};
use crate::backend::time::{Sleep, WakeUp};
use crate::backend::BackendFuture;
use crate::core::error::KvResult;

/// How long a message being delivered stays leased to this process without
/// a renewal (Deno's `MESSAGE_DEADLINE_TIMEOUT`).
const MESSAGE_DEADLINE_MS: u64 = 5_000;
/// How often leases of messages being delivered are renewed (Deno's 2 s).
const KEEPALIVE_INTERVAL_MS: u64 = 2_000;
/// How often leases that ran out (a process died mid-delivery) are looked for.
const QUEUE_CLEANUP_INTERVAL_MS: u64 = 60_000;
/// How often a listener looks for messages other processes enqueued (Deno
/// looks every 60 s; a cheap indexed read, so webkv looks every second).
pub(super) const QUEUE_POLL_MS: u64 = 1_000;
/// At most this many messages of one database are delivered at once (Deno's).
const DISPATCH_CONCURRENCY_LIMIT: usize = 100;
/// How long `deliver_due_messages` waits at most: a message that cannot be
/// taken (a corrupt row) or a handler that never settles must not hold a
/// Durable Object's alarm handler until the platform kills it. Whatever is
/// left is still in the queue, and the alarm is set for it again.
const DELIVER_DUE_LIMIT_MS: u32 = 60_000;

/// What a listener's look into `queue` found.
enum Taken {
    Message(String, Vec<u8>),
    /// A row that is no message, moved out of the way.
    SetAside(Unreadable),
    /// Another process took the message first.
    Gone,
}

/// What requeueing messages did: the keys written (`keysIfUndelivered`) and
/// the rows set aside.
#[derive(Default)]
struct Requeued {
    written: Vec<Vec<u8>>,
    set_aside: Vec<Unreadable>,
}

impl Requeued {
    fn extend(&mut self, other: Requeued) {
        self.written.extend(other.written);
        self.set_aside.extend(other.set_aside);
    }
}

/// The first row of `queue` by time.
enum Earliest {
    None,
    At(i64),
    /// Its time is no integer (its rowid): it would never fall due, or
    /// never stop falling due.
    NoTime(i64),
}

enum Dequeued {
    Message(u64, Vec<u8>),
    /// Nothing to deliver now: look again at this time.
    NotBefore(u64),
}

/// A message's backoff schedule as Deno stores it: JSON text.
pub(super) fn backoff_json<Ms: serde::Serialize>(schedule: &[Ms]) -> String {
    serde_json::to_string(schedule).unwrap_or_else(|_| "[]".to_string())
}

/// `keysIfUndelivered` as Deno stores them: JSON arrays of byte values.
pub(super) fn keys_json(keys: &[Vec<u8>]) -> String {
    serde_json::to_string(keys).unwrap_or_else(|_| "[]".to_string())
}

impl SqliteDb {
    /// Takes the next due message for `handle`, after the periodic chores
    /// of a listening process (renewing leases, requeueing dead ones).
    fn dequeue(&self, handle: u64) -> KvResult<Dequeued> {
        self.write_queued();
        let now = (self.clock)();
        if self.host.read_only() {
            // Nothing can be taken from a file this process cannot write.
            return Ok(Dequeued::NotBefore(now + QUEUE_CLEANUP_INTERVAL_MS));
        }
        let (cleanup_due, keepalive_due, can_dispatch) = {
            let state = self.state.borrow();
            (
                now >= state.next_cleanup_ms,
                !state.in_flight.is_empty() && now >= state.next_keepalive_ms,
                state.in_flight.len() < DISPATCH_CONCURRENCY_LIMIT,
            )
        };
        if cleanup_due {
            self.queue_cleanup(now)?;
            self.state.borrow_mut().next_cleanup_ms = now + QUEUE_CLEANUP_INTERVAL_MS;
            self.schedule_queue_wake_up();
        }
        if keepalive_due {
            self.keepalive(now)?;
            self.state.borrow_mut().next_keepalive_ms = now + KEEPALIVE_INTERVAL_MS;
        }
        let earliest = match self.earliest_ready()? {
            Earliest::None => None,
            Earliest::At(ts) => Some(ts),
            Earliest::NoTime(_) => {
                self.set_aside_timeless(now)?;
                return Ok(Dequeued::NotBefore(now));
            }
        };
        if can_dispatch && earliest.is_some_and(|ts| ts <= now as i64) {
            let taken = self.write_tx(|db| {
                let mut rows = db.query(schema::QUEUE_GET_NEXT_READY, &[int(now)])?;
                let Some(mut row) = rows.pop() else {
                    // Another process took it.
                    return Ok(Some(Taken::Gone));
                };
                let rowid = column_i64(&row, 0, "queue row")?;
                let message = match StoredMessage::read(&mut row, 1) {
                    Ok(message) => message,
                    Err(unreadable) => {
                        return Ok(Some(Taken::SetAside(db.set_aside(
                            QueueTable::Ready,
                            rowid,
                            unreadable,
                            now,
                        )?)))
                    }
                };
                db.run(schema::QUEUE_REMOVE_READY_ROW, &[SqlValue::Integer(rowid)])?;
                db.run(
                    schema::QUEUE_ADD_RUNNING,
                    &[
                        int(now + MESSAGE_DEADLINE_MS),
                        SqlValue::Text(message.id.clone()),
                        blob(&message.data),
                        SqlValue::Text(backoff_json(&message.backoff_schedule)),
                        SqlValue::Text(keys_json(&message.keys_if_undelivered)),
                    ],
                )?;
                Ok(Some(Taken::Message(message.id, message.data)))
            })?;
            match taken {
                Some(Taken::Message(row_id, payload)) => {
                    // Its lease must be looked at even if this object is evicted.
                    self.schedule_queue_wake_up();
                    let mut state = self.state.borrow_mut();
                    let id = state.next_message;
                    state.next_message += 1;
                    if state.in_flight.is_empty() {
                        state.next_keepalive_ms = now + KEEPALIVE_INTERVAL_MS;
                    }
                    state.in_flight.insert(id, (row_id, handle));
                    return Ok(Dequeued::Message(id, payload));
                }
                Some(Taken::SetAside(unreadable)) => self.report_set_aside(&[unreadable]),
                Some(Taken::Gone) | None => {}
            }
            // Look again at once: the next message may be due too.
            return Ok(Dequeued::NotBefore(now));
        }
        let state = self.state.borrow();
        // Another process's enqueues need polling for; this process's wake
        // the listeners themselves.
        let mut wake = if self.host.has_other_writers() {
            (now + QUEUE_POLL_MS).min(state.next_cleanup_ms)
        } else {
            state.next_cleanup_ms
        };
        if let Some(ts) = earliest.filter(|_| can_dispatch) {
            wake = wake.min(ts.max(0) as u64);
        }
        if !state.in_flight.is_empty() {
            wake = wake.min(state.next_keepalive_ms);
        }
        Ok(Dequeued::NotBefore(wake))
    }

    fn keepalive(&self, now: u64) -> KvResult<()> {
        let ids: Vec<String> = self
            .state
            .borrow()
            .in_flight
            .values()
            .map(|(id, _)| id.clone())
            .collect();
        self.write_tx(|db| {
            for id in ids {
                db.run(
                    schema::QUEUE_UPDATE_RUNNING_DEADLINE,
                    &[int(now + MESSAGE_DEADLINE_MS), SqlValue::Text(id)],
                )?;
            }
            Ok(Some(()))
        })?;
        Ok(())
    }

    /// Requeues the messages whose lease ran out: their process died.
    fn queue_cleanup(&self, now: u64) -> KvResult<()> {
        loop {
            let outcome = self.write_tx(|db| {
                let rowids = db
                    .query(schema::QUEUE_GET_RUNNING_PAST_DEADLINE, &[int(now)])?
                    .iter()
                    .map(|row| column_i64(row, 0, "queue row"))
                    .collect::<KvResult<Vec<_>>>()?;
                let mut requeued = Requeued::default();
                for rowid in &rowids {
                    requeued.extend(db.requeue(*rowid, now)?);
                }
                Ok(Some((rowids.is_empty(), requeued)))
            })?;
            let Some((done, requeued)) = outcome else {
                return Ok(());
            };
            self.notify(&requeued.written);
            self.report_set_aside(&requeued.set_aside);
            if done {
                return Ok(());
            }
            self.wake_listeners();
        }
    }

    /// Deno's `requeue_message` for row `rowid` of `queue_running`: back
    /// into `queue` after the next backoff interval, or, with the schedule
    /// spent, the payload written under its `keysIfUndelivered`.
    fn requeue(&self, rowid: i64, now: u64) -> KvResult<Requeued> {
        let mut rows = self.query(schema::QUEUE_GET_RUNNING_ROW, &[SqlValue::Integer(rowid)])?;
        let Some(mut row) = rows.pop() else {
            return Ok(Requeued::default());
        };
        let message = match StoredMessage::read(&mut row, 0) {
            Ok(message) => message,
            Err(unreadable) => {
                let set_aside = self.set_aside(QueueTable::Running, rowid, unreadable, now)?;
                return Ok(Requeued {
                    written: Vec::new(),
                    set_aside: vec![set_aside],
                });
            }
        };
        let mut requeued = Requeued::default();
        if let Some((first, rest)) = message.backoff_schedule.split_first() {
            self.run(
                schema::QUEUE_ADD_READY,
                &[
                    int(now.saturating_add(*first)),
                    SqlValue::Text(message.id),
                    blob(&message.data),
                    SqlValue::Text(backoff_json(rest)),
                    SqlValue::Text(keys_json(&message.keys_if_undelivered)),
                ],
            )?;
        } else if !message.keys_if_undelivered.is_empty() {
            let version = self.inc_version(self.random_increment())?;
            for key in message.keys_if_undelivered {
                self.set_row(&key, &KvValue::V8(message.data.clone()), version, -1)?;
                requeued.written.push(key);
            }
        }
        self.run(schema::QUEUE_REMOVE_RUNNING_ROW, &[SqlValue::Integer(rowid)])?;
        Ok(requeued)
    }

    pub(super) fn finish_message(&self, id: u64, delivered: bool) {
        let Some((row_id, _)) = self.state.borrow_mut().in_flight.remove(&id) else {
            return;
        };
        let now = (self.clock)();
        let outcome = self.write_tx(|db| {
            let row_id = SqlValue::Text(row_id.clone());
            if delivered {
                db.run(schema::QUEUE_REMOVE_RUNNING, &[row_id])?;
                return Ok(Some(Requeued::default()));
            }
            let mut requeued = Requeued::default();
            for row in db.query(schema::QUEUE_GET_RUNNING_BY_ID, &[row_id])? {
                requeued.extend(db.requeue(column_i64(&row, 0, "queue row")?, now)?);
            }
            Ok(Some(requeued))
        });
        // A failure leaves the row leased: once its lease runs out, the
        // cleanup requeues it (at-least-once delivery).
        if let Ok(Some(requeued)) = outcome {
            self.notify(&requeued.written);
            self.report_set_aside(&requeued.set_aside);
        }
        self.wake_listeners();
        self.schedule_queue_wake_up();
    }

    /// The first row of `queue` by time.
    fn earliest_ready(&self) -> KvResult<Earliest> {
        let rows = self.query(schema::QUEUE_GET_EARLIEST_READY, &[])?;
        let Some(row) = rows.first() else {
            return Ok(Earliest::None);
        };
        let rowid = column_i64(row, 0, "queue row")?;
        Ok(match row.get(1) {
            Some(SqlValue::Integer(ts)) => Earliest::At(*ts),
            _ => Earliest::NoTime(rowid),
        })
    }

    /// Sets aside the first row of `queue` if its time is still no integer
    /// once this process holds the write lock (another process may have set
    /// it aside meanwhile, and its rowid may be a new row's now).
    fn set_aside_timeless(&self, now: u64) -> KvResult<()> {
        let set_aside = self.write_tx(|db| match db.earliest_ready()? {
            Earliest::NoTime(rowid) => {
                let why = Unreadable {
                    id: None,
                    why: "its time is not an integer",
                };
                db.set_aside(QueueTable::Ready, rowid, why, now).map(Some)
            }
            Earliest::At(_) | Earliest::None => Ok(None),
        })?;
        if let Some(set_aside) = set_aside {
            self.report_set_aside(&[set_aside]);
        }
        Ok(())
    }

    /// Tells a host that needs it when the queue next needs a listener (a
    /// Durable Object sets its alarm then). A failed look changes nothing:
    /// the next enqueue, delivery or listener start looks again.
    pub(super) fn schedule_queue_wake_up(&self) {
        if !self.host.needs_queue_wake_ups() {
            return;
        }
        let next = self
            .query(schema::QUEUE_NEXT_ATTENTION, &[])
            .ok()
            .and_then(|rows| rows.first().and_then(|row| row.first().and_then(SqlValue::as_i64)));
        let Some(at) = next.map(|at| u64::try_from(at).unwrap_or(0)) else {
            return;
        };
        // With no listener, waking now for a message already due would wake
        // again and again and deliver nothing; `listenQueue` delivers it.
        if at <= (self.clock)() && self.state.borrow().listening == 0 {
            return;
        }
        self.host.wake_for_queue_at(at);
    }

    /// Whether the messages due at `at` have all been handed to a listener
    /// and finished (delivered, or rescheduled after a failure), or no one
    /// listens: then waiting longer would deliver nothing.
    fn due_messages_done(&self, at: u64) -> KvResult<bool> {
        {
            let state = self.state.borrow();
            if !state.in_flight.is_empty() {
                return Ok(false);
            }
            if state.listening == 0 {
                return Ok(true);
            }
        }
        let due = self
            .query(schema::QUEUE_COUNT_DUE, &[int(at)])?
            .first()
            .map(|row| column_i64(row, 0, "message count"))
            .transpose()?
            .unwrap_or(0);
        Ok(due == 0)
    }
}

/// Resolves once the messages due now were delivered (or rescheduled), or
/// after `DELIVER_DUE_LIMIT_MS`; then tells the host when the queue next
/// needs it.
pub(super) fn deliver_due_messages(db: Rc<SqliteDb>, handle: Rc<Handle>) -> BackendFuture<()> {
    let at = (db.clock)();
    // The alarm may be for a lease that ran out (its delivery died with
    // the object): the listeners look for those now, not at the next
    // minute's cleanup; and listeners sleeping until a time this host's
    // clock has just passed look at once.
    db.state.borrow_mut().next_cleanup_ms = 0;
    db.wake_listeners();
    Box::pin(async move {
        DueMessagesDone {
            limit: (db.timer)(DELIVER_DUE_LIMIT_MS),
            db: Rc::clone(&db),
            handle,
            at,
        }
        .await?;
        db.schedule_queue_wake_up();
        Ok(())
    })
}

/// Resolves with the next due message, or None when the handle closes.
pub(super) struct NextMessage {
    db: Rc<SqliteDb>,
    handle_id: u64,
    handle: Rc<Handle>,
    wake_up: WakeUp,
}

impl NextMessage {
    pub(super) fn new(db: Rc<SqliteDb>, handle_id: u64, handle: Rc<Handle>) -> Self {
        db.state.borrow_mut().listening += 1;
        Self {
            db,
            handle_id,
            handle,
            wake_up: WakeUp::default(),
        }
    }
}

impl Drop for NextMessage {
    fn drop(&mut self) {
        let mut state = self.db.state.borrow_mut();
        state.listening = state.listening.saturating_sub(1);
    }
}

/// Resolves once the messages due at `at` are done (`due_messages_done`),
/// woken as listeners are: by enqueues and finished deliveries; or once
/// `limit` fires.
struct DueMessagesDone {
    db: Rc<SqliteDb>,
    handle: Rc<Handle>,
    at: u64,
    limit: Sleep,
}

impl Future for DueMessagesDone {
    type Output = KvResult<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.handle.closed.get() || self.db.due_messages_done(self.at)? {
            return Poll::Ready(Ok(()));
        }
        if self.limit.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        let mut waiters = self.handle.waiters.borrow_mut();
        if !waiters.listeners.iter().any(|waker| waker.will_wake(cx.waker())) {
            waiters.listeners.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Future for NextMessage {
    type Output = KvResult<Option<(u64, Vec<u8>)>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            if self.handle.closed.get() {
                return Poll::Ready(Ok(None));
            }
            let now = (self.db.clock)();
            let wake_at = match self.db.dequeue(self.handle_id) {
                Ok(Dequeued::Message(id, payload)) => return Poll::Ready(Ok(Some((id, payload)))),
                Ok(Dequeued::NotBefore(at)) => at,
                // A busy or failing file: a listener keeps listening.
                Err(_) => now + QUEUE_POLL_MS,
            };
            if wake_at <= now {
                continue;
            }
            // Once per task: a listener woken only by its timer polls again
            // and again without the list being drained.
            {
                let mut waiters = self.handle.waiters.borrow_mut();
                if !waiters.listeners.iter().any(|waker| waker.will_wake(cx.waker())) {
                    waiters.listeners.push(cx.waker().clone());
                }
            }
            let db = Rc::clone(&self.db);
            self.wake_up.arm_for(wake_at, || sleep_until(&db, wake_at, now));
            if !self.wake_up.fired(cx) {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::queue::DEFAULT_BACKOFF_SCHEDULE;

    #[test]
    fn queue_columns_are_written_as_deno_writes_them() {
        // `[["dead", 1n]]` as Deno stores it (read from a file Deno wrote).
        let key = crate::core::key::encode(vec![
            denokv_proto::KeyPart::String("dead".into()),
            denokv_proto::KeyPart::Int(1.into()),
        ])
        .expect("encodes");
        assert_eq!(keys_json(&[key]), "[[2,100,101,97,100,0,21,1]]");
        assert_eq!(keys_json(&[]), "[]");
        assert_eq!(backoff_json(&DEFAULT_BACKOFF_SCHEDULE), "[100,1000,5000,30000,60000]");
    }
}
