//! The database itself: an ordered map of encoded keys to entries, read in
//! snapshots and changed only by atomic commits. A commit is prepared first
//! (checks, limits, arithmetic, all without touching the map) and applied
//! second, so a persistence layer can make the prepared change set durable in
//! between, and any failure leaves the map exactly as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use denokv_proto::{AtomicWrite, KvEntry, KvValue, MutationKind, ReadRange};

use super::error::KvError;
use super::numeric::{self, SumParams, U64Op};
use super::queue::{Queue, QueuedMessage, DEFAULT_BACKOFF_SCHEDULE};
use super::versionstamp::{self, Versionstamp};

#[derive(Debug)]
pub struct StoredEntry {
    pub value: KvValue,
    pub versionstamp: Versionstamp,
    pub expires_at_ms: Option<u64>,
}

impl StoredEntry {
    fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|at| at > now_ms)
    }
}

/// Everything one commit changes: `None` deletes the key.
#[derive(Debug)]
pub struct PreparedCommit {
    pub version: u64,
    pub changes: BTreeMap<Vec<u8>, Option<StoredEntry>>,
    pub enqueues: Vec<QueuedMessage>,
}

impl PreparedCommit {
    pub fn versionstamp(&self) -> Versionstamp {
        versionstamp::from_version(self.version)
    }
}

/// An applied commit.
#[derive(Debug)]
pub struct Committed {
    pub versionstamp: Versionstamp,
    pub changed_keys: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Engine {
    entries: BTreeMap<Vec<u8>, StoredEntry>,
    expiries: BTreeSet<(u64, Vec<u8>)>,
    version: u64,
    queue: Queue,
}

pub fn clone_value(value: &KvValue) -> KvValue {
    match value {
        KvValue::V8(bytes) => KvValue::V8(bytes.clone()),
        KvValue::Bytes(bytes) => KvValue::Bytes(bytes.clone()),
        KvValue::U64(n) => KvValue::U64(*n),
    }
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Drops entries whose time has come, so their memory is reclaimed even
    /// if nobody reads them again.
    pub fn collect_expired(&mut self, now_ms: u64) {
        while let Some((at, _)) = self.expiries.first() {
            if *at > now_ms {
                break;
            }
            let Some((at, key)) = self.expiries.pop_first() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.expires_at_ms == Some(at)) {
                self.entries.remove(&key);
            }
        }
    }

    fn live(&self, key: &[u8], now_ms: u64) -> Option<&StoredEntry> {
        self.entries.get(key).filter(|e| e.is_live(now_ms))
    }

    pub fn read_range(&self, range: &ReadRange, now_ms: u64) -> Vec<KvEntry> {
        if range.start >= range.end {
            return Vec::new();
        }
        let limit = range.limit.get() as usize;
        let bounds = (
            Bound::Included(range.start.as_slice()),
            Bound::Excluded(range.end.as_slice()),
        );
        let in_range = self.entries.range::<[u8], _>(bounds);
        let to_entry = |(key, stored): (&Vec<u8>, &StoredEntry)| KvEntry {
            key: key.clone(),
            value: clone_value(&stored.value),
            versionstamp: stored.versionstamp,
        };
        let live = |(_, stored): &(&Vec<u8>, &StoredEntry)| stored.is_live(now_ms);
        if range.reverse {
            in_range.rev().filter(live).take(limit).map(to_entry).collect()
        } else {
            in_range.filter(live).take(limit).map(to_entry).collect()
        }
    }

    /// Runs the checks and computes every change; `Ok(None)` when a check fails.
    pub fn prepare(&self, write: AtomicWrite, now_ms: u64) -> Result<Option<PreparedCommit>, KvError> {
        self.prepare_after(&[], write, now_ms)
    }

    /// `prepare`, as if the `pending` commits (prepared earlier, not yet
    /// applied because they are still being made durable) had been applied:
    /// how a durable store groups several commits into one write.
    pub fn prepare_after(
        &self,
        pending: &[PreparedCommit],
        write: AtomicWrite,
        now_ms: u64,
    ) -> Result<Option<PreparedCommit>, KvError> {
        let current_entry = |key: &[u8]| -> Option<&StoredEntry> {
            for commit in pending.iter().rev() {
                if let Some(change) = commit.changes.get(key) {
                    return change.as_ref().filter(|e| e.is_live(now_ms));
                }
            }
            self.live(key, now_ms)
        };
        for check in &write.checks {
            if current_entry(&check.key).map(|e| e.versionstamp) != check.versionstamp {
                return Ok(None);
            }
        }

        let version = pending.last().map_or(self.version, |commit| commit.version) + 1;
        let stamp = versionstamp::from_version(version);
        let mut changes: BTreeMap<Vec<u8>, Option<StoredEntry>> = BTreeMap::new();
        for mutation in write.mutations {
            let expires_at_ms = mutation
                .expire_at
                .map(|at| u64::try_from(at.timestamp_millis()).unwrap_or(0));
            let current = match changes.get(&mutation.key) {
                Some(staged) => staged.as_ref().map(|e| &e.value),
                None => current_entry(&mutation.key).map(|e| &e.value),
            };
            let (key, change) = match mutation.kind {
                MutationKind::Set(value) => (mutation.key, Some((value, expires_at_ms))),
                MutationKind::Delete => (mutation.key, None),
                MutationKind::Sum {
                    value,
                    min_v8,
                    max_v8,
                    clamp,
                } => {
                    let params = SumParams {
                        operand: &value,
                        min_v8: &min_v8,
                        max_v8: &max_v8,
                        clamp,
                    };
                    (mutation.key, Some((numeric::sum(current, params)?, None)))
                }
                MutationKind::Min(value) => {
                    let result = numeric::min_max(U64Op::Min, current, &value)?;
                    (mutation.key, Some((result, None)))
                }
                MutationKind::Max(value) => {
                    let result = numeric::min_max(U64Op::Max, current, &value)?;
                    (mutation.key, Some((result, None)))
                }
                MutationKind::SetSuffixVersionstampedKey(value) => {
                    let mut key = mutation.key;
                    key.push(0x02);
                    key.extend_from_slice(versionstamp::to_hex(&stamp).as_bytes());
                    key.push(0x00);
                    (key, Some((value, expires_at_ms)))
                }
            };
            let change = change.map(|(value, expires_at_ms)| StoredEntry {
                value,
                versionstamp: stamp,
                expires_at_ms,
            });
            changes.insert(key, change);
        }
        let enqueues = write
            .enqueues
            .into_iter()
            .map(|enqueue| QueuedMessage {
                payload: enqueue.payload,
                deliver_at_ms: u64::try_from(enqueue.deadline.timestamp_millis()).unwrap_or(0),
                keys_if_undelivered: enqueue.keys_if_undelivered,
                backoff_schedule: enqueue
                    .backoff_schedule
                    .unwrap_or_else(|| DEFAULT_BACKOFF_SCHEDULE.to_vec()),
                failed_attempts: 0,
            })
            .collect();
        Ok(Some(PreparedCommit {
            version,
            changes,
            enqueues,
        }))
    }

    /// Replaces everything with entries loaded from a snapshot, sorted by key.
    pub fn load(&mut self, version: u64, entries: Vec<(Vec<u8>, StoredEntry)>) {
        self.expiries = entries
            .iter()
            .filter_map(|(key, entry)| entry.expires_at_ms.map(|at| (at, key.clone())))
            .collect();
        self.entries = entries.into_iter().collect();
        self.version = version;
    }

    /// Every entry, expired ones included (a reader filters them by time).
    pub fn entries(&self) -> impl Iterator<Item = (&Vec<u8>, &StoredEntry)> {
        self.entries.iter()
    }

    pub fn apply(&mut self, commit: PreparedCommit) {
        self.version = self.version.max(commit.version);
        for message in commit.enqueues {
            self.queue.push(message);
        }
        for (key, change) in commit.changes {
            match change {
                Some(entry) => {
                    if let Some(at) = entry.expires_at_ms {
                        self.expiries.insert((at, key.clone()));
                    }
                    if let Some(old) = self.entries.insert(key.clone(), entry) {
                        self.forget_expiry(old.expires_at_ms, key);
                    }
                }
                None => {
                    if let Some(old) = self.entries.remove(&key) {
                        self.forget_expiry(old.expires_at_ms, key);
                    }
                }
            }
        }
    }

    fn forget_expiry(&mut self, old_expiry: Option<u64>, key: Vec<u8>) {
        if let Some(at) = old_expiry {
            let still_current = self.entries.get(&key).is_some_and(|e| e.expires_at_ms == Some(at));
            if !still_current {
                self.expiries.remove(&(at, key));
            }
        }
    }

    /// Prepares and applies in one step, for stores with nothing to persist.
    pub fn commit(&mut self, write: AtomicWrite, now_ms: u64) -> Result<Option<Versionstamp>, KvError> {
        Ok(self
            .commit_changes(write, now_ms)?
            .map(|committed| committed.versionstamp))
    }

    /// `commit`, also telling which keys it changed (for watchers).
    pub fn commit_changes(&mut self, write: AtomicWrite, now_ms: u64) -> Result<Option<Committed>, KvError> {
        self.collect_expired(now_ms);
        let Some(prepared) = self.prepare(write, now_ms)? else {
            return Ok(None);
        };
        let committed = Committed {
            versionstamp: prepared.versionstamp(),
            changed_keys: prepared.changes.keys().cloned().collect(),
        };
        self.apply(prepared);
        Ok(Some(committed))
    }

    pub fn queue(&mut self) -> &mut Queue {
        &mut self.queue
    }

    pub fn queue_next_due_ms(&self) -> Option<u64> {
        self.queue.next_due_ms()
    }

    /// A queue message ran out of retries: its payload goes to every key in
    /// `keysIfUndelivered`, in one commit.
    pub fn write_undelivered(
        &mut self,
        payload: Vec<u8>,
        keys: Vec<Vec<u8>>,
        now_ms: u64,
    ) -> Result<Option<Committed>, KvError> {
        match super::queue::undelivered_write(payload, keys) {
            Some(write) => self.commit_changes(write, now_ms),
            None => Ok(None),
        }
    }

    /// When a live entry expires, if it does.
    pub fn expires_at(&self, key: &[u8], now_ms: u64) -> Option<u64> {
        self.live(key, now_ms).and_then(|entry| entry.expires_at_ms)
    }
}
