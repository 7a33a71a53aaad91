//! The database itself: an ordered map of encoded keys to entries, read in
//! snapshots and changed only by atomic commits. A commit is prepared first
//! (checks, limits, arithmetic, all without touching the map) and applied
//! second, so a persistence layer can make the prepared change set durable in
//! between, and any failure leaves the map exactly as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use denokv_proto::{AtomicWrite, KvEntry, MutationKind, ReadRange};

use super::entry::{clone_value, PreparedCommit, StoredEntry};
use super::error::KvError;
use super::numeric::{self, SumParams, U64Op};
use super::queue::{Queue, QueuedMessage, DEFAULT_BACKOFF_SCHEDULE};
use super::record::Page;
use super::undecoded::UndecodedPages;
use super::versionstamp::{self, Versionstamp};

/// An applied commit.
#[derive(Debug)]
pub struct Committed {
    pub versionstamp: Versionstamp,
    pub changed_keys: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Engine {
    entries: BTreeMap<Vec<u8>, StoredEntry>,
    /// Snapshot pages not decoded yet. No key within one of their ranges is
    /// in `entries` (or `expiries`): whatever reads or writes a key decodes
    /// its page first.
    undecoded: UndecodedPages,
    expiries: BTreeSet<(u64, Vec<u8>)>,
    version: u64,
    queue: Queue,
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries held, expired ones not yet collected included.
    pub fn len(&self) -> usize {
        self.entries.len() + self.undecoded.entries()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    /// Drops entries whose time has come, so their memory is reclaimed even
    /// if nobody reads them again.
    pub fn collect_expired(&mut self, now_ms: u64) {
        // An undecoded page's expiries are not in `expiries` yet.
        let expiring = self.undecoded.expiring_by(now_ms);
        self.decode(expiring);
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

    pub fn read_range(&mut self, range: &ReadRange, now_ms: u64) -> Vec<KvEntry> {
        if range.start >= range.end {
            return Vec::new();
        }
        let touched = self.undecoded.overlapping(&range.start, &range.end);
        self.decode(touched);
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
    pub fn prepare(&mut self, write: AtomicWrite, now_ms: u64) -> Result<Option<PreparedCommit>, KvError> {
        self.prepare_after(&[], write, now_ms)
    }

    /// `prepare`, as if the `pending` commits (prepared earlier, not yet
    /// applied because they are still being made durable) had been applied:
    /// how a durable store groups several commits into one write.
    pub fn prepare_after(
        &mut self,
        pending: &[PreparedCommit],
        write: AtomicWrite,
        now_ms: u64,
    ) -> Result<Option<PreparedCommit>, KvError> {
        // A versionstamped key is new and only written, so `apply` decodes
        // its page; every other key may be read here.
        let read_keys = write.checks.iter().map(|check| &check.key).chain(
            write
                .mutations
                .iter()
                .filter(|m| !matches!(m.kind, MutationKind::SetSuffixVersionstampedKey(_)))
                .map(|m| &m.key),
        );
        for key in read_keys {
            let touched = self.undecoded.holding(key);
            self.decode(touched);
        }
        let this = &*self;
        let current_entry = |key: &[u8]| -> Option<&StoredEntry> {
            for commit in pending.iter().rev() {
                if let Some(change) = commit.changes.get(key) {
                    return change.as_ref().filter(|e| e.is_live(now_ms));
                }
            }
            this.live(key, now_ms)
        };
        for check in &write.checks {
            if current_entry(&check.key).map(|e| e.versionstamp) != check.versionstamp {
                return Ok(None);
            }
        }

        let version = pending
            .last()
            .map_or(this.version, |commit| commit.version)
            .checked_add(1)
            .ok_or_else(|| KvError::error("The database has used up its versions"))?;
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

    /// Replaces everything with a snapshot's pages, which must be in key
    /// order with disjoint ranges (as `PageWriter` cuts them); they are
    /// decoded when first touched.
    pub fn load(&mut self, version: u64, pages: Vec<Page>) -> Result<(), KvError> {
        self.undecoded = UndecodedPages::new(pages)?;
        self.entries = BTreeMap::new();
        self.expiries = BTreeSet::new();
        self.version = version;
        Ok(())
    }

    /// Every entry, expired ones included (a reader filters them by time).
    pub fn entries(&mut self) -> impl Iterator<Item = (&Vec<u8>, &StoredEntry)> {
        let all = self.undecoded.take_all();
        self.decode(all);
        self.entries.iter()
    }

    /// The entries within `lower..upper`, expired ones included.
    pub fn entries_within<'a>(
        &'a mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a StoredEntry)> + 'a {
        let touched = self.undecoded.within(lower, upper);
        self.decode(touched);
        self.entries.range::<[u8], _>((lower, upper))
    }

    fn decode(&mut self, pages: Vec<Page>) {
        if pages.is_empty() {
            return;
        }
        let decoded: Vec<(Vec<u8>, StoredEntry)> = pages.iter().flat_map(Page::decode).collect();
        for (key, entry) in &decoded {
            if let Some(at) = entry.expires_at_ms {
                self.expiries.insert((at, key.clone()));
            }
        }
        // Inserting one by one costs a search each; merging rebuilds the
        // whole map, which is cheaper once the new part is large.
        if decoded.len().saturating_mul(16) < self.entries.len() {
            self.entries.extend(decoded);
        } else {
            let mut merged: BTreeMap<_, _> = decoded.into_iter().collect();
            self.entries.append(&mut merged);
        }
    }

    pub fn apply(&mut self, commit: PreparedCommit) {
        self.version = self.version.max(commit.version);
        for message in commit.enqueues {
            self.queue.push(message);
        }
        let touched = self.undecoded.holding_any(commit.changes.keys());
        self.decode(touched);
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
    pub fn expires_at(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        let touched = self.undecoded.holding(key);
        self.decode(touched);
        self.live(key, now_ms).and_then(|entry| entry.expires_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::PageWriter;
    use crate::core::selector::point_range;
    use denokv_proto::KvValue;

    fn entry(value: u8, version: u64, expires_at_ms: Option<u64>) -> StoredEntry {
        StoredEntry {
            value: KvValue::Bytes(vec![value]),
            versionstamp: versionstamp::from_version(version),
            expires_at_ms,
        }
    }

    /// An engine loaded from pages of two entries each: keys 0..10, key `k`
    /// holding value `k`, the odd ones expiring at 1000.
    fn loaded() -> Engine {
        let mut writer = PageWriter::new(8);
        for k in 0u8..10 {
            writer.push(&[k], &entry(k, 1, (k % 2 == 1).then_some(1000)));
        }
        let pages: Vec<Page> = writer
            .finish()
            .into_iter()
            .filter_map(|bytes| Page::parse(bytes).expect("parses"))
            .collect();
        assert_eq!(pages.len(), 5);
        let mut engine = Engine::new();
        engine.load(1, pages).expect("in order");
        engine
    }

    fn value_of(engine: &mut Engine, key: u8, now_ms: u64) -> Option<Vec<u8>> {
        match engine.read_range(&point_range(vec![key]), now_ms).pop()?.value {
            KvValue::Bytes(bytes) => Some(bytes),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_commit_from_elsewhere_replaces_what_an_undecoded_page_holds() {
        let mut engine = loaded();
        let mut changes = BTreeMap::new();
        changes.insert(vec![4], Some(entry(40, 2, None)));
        changes.insert(vec![6], None);
        engine.apply(PreparedCommit {
            version: 2,
            changes,
            enqueues: Vec::new(),
        });
        assert_eq!(value_of(&mut engine, 4, 0), Some(vec![40]));
        assert_eq!(value_of(&mut engine, 6, 0), None);
        assert_eq!(value_of(&mut engine, 5, 0), Some(vec![5]));
        let everything = ReadRange {
            start: vec![],
            end: vec![0xff],
            limit: std::num::NonZeroU32::MAX,
            reverse: false,
        };
        let keys: Vec<Vec<u8>> = engine.read_range(&everything, 0).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, [0u8, 1, 2, 3, 4, 5, 7, 8, 9].map(|k| vec![k]));
    }

    #[test]
    fn pages_decode_only_when_touched_and_expiries_still_reclaim() {
        let mut engine = loaded();
        assert_eq!(engine.len(), 10);
        assert_eq!(value_of(&mut engine, 2, 0), Some(vec![2]));
        assert_eq!((engine.entries.len(), engine.undecoded.entries()), (2, 8));
        engine.collect_expired(999);
        assert_eq!(engine.len(), 10);
        // Every page holds an odd key expiring at 1000: collecting then
        // reaches into all of them.
        engine.collect_expired(1000);
        assert_eq!((engine.len(), engine.undecoded.entries()), (5, 0));
        assert_eq!(value_of(&mut engine, 3, 1000), None);
    }

    #[test]
    fn overlapping_pages_are_refused() {
        let page = |keys: &[u8]| {
            let mut writer = PageWriter::new(usize::MAX);
            for k in keys {
                writer.push(&[*k], &entry(*k, 1, None));
            }
            Page::parse(writer.finish().remove(0))
                .expect("parses")
                .expect("not empty")
        };
        assert!(Engine::new().load(1, vec![page(&[1, 3]), page(&[3, 4])]).is_err());
        assert!(Engine::new().load(1, vec![page(&[5]), page(&[1])]).is_err());
        assert!(Engine::new().load(1, vec![page(&[1, 2]), page(&[3])]).is_ok());
    }
}
