//! The database itself: an ordered map of encoded keys to entries, read in
//! snapshots and changed only by atomic commits. A commit is prepared first
//! (checks, limits, arithmetic, all without touching the map) and applied
//! second, so a persistence layer can make the prepared change set durable in
//! between, and any failure leaves the map exactly as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use denokv_proto::{AtomicWrite, KvEntry, MutationKind, ReadRange};

use super::entry::{clone_value, PreparedCommit, StoredEntry};
use super::error::{KvError, KvResult};
use super::numeric::{self, SumParams, U64Op};
use super::page_index::PageInfo;
use super::pages::PageTable;
use super::queue::{Queue, QueuedMessage, DEFAULT_BACKOFF_SCHEDULE};
use super::record::Page;
use super::versionstamp::{self, Versionstamp};

/// The keys preparing `write` reads: its checks and what its mutations
/// change, except versionstamped keys, which are new and only written.
fn read_keys(write: &AtomicWrite) -> impl Iterator<Item = &[u8]> {
    let checked = write.checks.iter().map(|check| check.key.as_slice());
    let mutated = write
        .mutations
        .iter()
        .filter(|m| !matches!(m.kind, MutationKind::SetSuffixVersionstampedKey(_)))
        .map(|m| m.key.as_slice());
    checked.chain(mutated)
}

/// What a changed key and its entry (none for a deletion) cost in memory,
/// roughly: the bytes, and the map nodes and allocations around them.
fn changed_cost(key: &[u8], entry: Option<&StoredEntry>) -> u64 {
    let value = match entry.map(|entry| &entry.value) {
        Some(denokv_proto::KvValue::V8(bytes) | denokv_proto::KvValue::Bytes(bytes)) => bytes.len(),
        Some(denokv_proto::KvValue::U64(_)) => 8,
        None => 0,
    };
    (key.len() as u64)
        .saturating_mul(2)
        .saturating_add(value as u64)
        .saturating_add(160)
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
    /// The snapshot pages the map is read from (empty unless loaded from a
    /// durable store). Within a page that is not decoded, the map holds only
    /// keys in `changed`; whatever reads a key decodes its page first (and
    /// the durable store fetches absent pages before that).
    pages: PageTable,
    /// Whether the database has snapshot pages (it was loaded from a
    /// durable store), so changes are tracked in `changed`.
    paged: bool,
    /// Every key changed after the pages' version, with the version that
    /// changed it: such a key's entry (or its absence, for a deletion) in
    /// the map wins over its page, and is never evicted.
    changed: BTreeMap<Vec<u8>, u64>,
    /// About what the changed keys and their entries take in memory.
    changed_bytes: u64,
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
        let undecoded = usize::try_from(self.pages.undecoded_entries()).unwrap_or(usize::MAX);
        self.entries.len().saturating_add(undecoded)
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
        // An undecoded page's expiries are not in `expiries` yet (an
        // absent page's cost no memory, and reads filter them by time).
        let expiring = self.pages.decode_expiring(now_ms);
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
        let touched = self
            .pages
            .decode_within(Bound::Included(&range.start), Bound::Excluded(&range.end));
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
        for key in read_keys(&write) {
            let touched = self.pages.decode_within(Bound::Included(key), Bound::Included(key));
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
        let table = PageTable::of_pages(pages)?;
        self.reset(version, table);
        Ok(())
    }

    /// Replaces everything with the snapshot an index describes, at its
    /// version; no page is held until it is fetched (`install`).
    pub fn load_index(&mut self, version: u64, pages: Vec<PageInfo>) {
        self.reset(version, PageTable::absent(pages));
    }

    fn reset(&mut self, version: u64, pages: PageTable) {
        self.pages = pages;
        self.paged = true;
        self.changed = BTreeMap::new();
        self.changed_bytes = 0;
        self.entries = BTreeMap::new();
        self.expiries = BTreeSet::new();
        self.version = version;
    }

    /// The pages a read of `range` walks next, from its start (its end, in
    /// reverse), up to about `wanted` entries: the ids of those still
    /// absent, and the key where that stretch ends (`None`: the range's
    /// end).
    pub fn stretch(&self, range: &ReadRange, wanted: u64, max_pages: usize) -> (Vec<u64>, Option<Vec<u8>>) {
        self.pages.stretch(
            Bound::Included(&range.start),
            Bound::Excluded(&range.end),
            range.reverse,
            wanted,
            max_pages,
        )
    }

    /// Whether every page `range` touches is held, so it reads from memory
    /// alone.
    pub fn holds(&self, range: &ReadRange) -> bool {
        !self
            .pages
            .any_absent_within(Bound::Included(&range.start), Bound::Excluded(&range.end))
    }

    /// The absent pages that preparing `write` reads.
    pub fn missing_for_write(&self, write: &AtomicWrite) -> Vec<u64> {
        self.pages.missing_for(read_keys(write))
    }

    /// The absent pages holding any of `keys`.
    pub fn missing_for_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<u64> {
        self.pages.missing_for(keys)
    }

    /// The absent pages holding any key within `lower..upper`.
    pub fn missing_within(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<u64> {
        self.pages.missing_within(lower, upper)
    }

    /// A page fetched from the store, checked against the index.
    /// `Ok(false)` if it is not wanted any more.
    pub fn install(&mut self, id: u64, page: Page) -> KvResult<bool> {
        self.pages.install(id, page)
    }

    /// What the held pages cost (an estimate of their decoded size).
    pub fn cached_bytes(&self) -> u64 {
        self.pages.held_bytes()
    }

    /// Keys changed since the pages' version.
    pub fn changed_keys(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.changed.keys()
    }

    /// Drops the least recently used clean pages until the held ones fit
    /// `budget`; entries changed since the pages' version stay, and so do
    /// the pages `keep` names (by first and last key).
    pub fn evict(&mut self, budget: u64, keep: &dyn Fn(&[u8], &[u8]) -> bool) {
        for page in self.pages.evict(budget, keep) {
            let bounds = (
                Bound::Included(page.first_key.as_slice()),
                Bound::Included(page.last_key.as_slice()),
            );
            let clean: Vec<Vec<u8>> = self
                .entries
                .range::<[u8], _>(bounds)
                .filter(|(key, _)| !self.changed.contains_key(*key))
                .map(|(key, _)| key.clone())
                .collect();
            for key in clean {
                if let Some(old) = self.entries.remove(&key) {
                    self.forget_expiry(old.expires_at_ms, key);
                }
            }
        }
    }

    /// A checkpoint wrote the pages of `index` at `version` from memory:
    /// those are the pages from now on, and changes up to `version` are in
    /// them.
    pub fn rebase(&mut self, version: u64, index: Vec<PageInfo>) {
        self.pages = std::mem::take(&mut self.pages).rebased(index);
        self.changed.retain(|_, changed_at| *changed_at > version);
        self.changed_bytes = self
            .changed
            .keys()
            .map(|key| changed_cost(key, self.entries.get(key)))
            .fold(0, u64::saturating_add);
    }

    /// About what the entries changed since the pages' version take in
    /// memory: they cannot be evicted, only checkpointed (or reloaded).
    pub fn changed_bytes(&self) -> u64 {
        self.changed_bytes
    }

    /// Every entry, expired ones included (a reader filters them by time).
    pub fn entries(&mut self) -> impl Iterator<Item = (&Vec<u8>, &StoredEntry)> {
        let all = self.pages.decode_within(Bound::Unbounded, Bound::Unbounded);
        self.decode(all);
        self.entries.iter()
    }

    /// The entries within `lower..upper`, expired ones included.
    pub fn entries_within<'a>(
        &'a mut self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a StoredEntry)> + 'a {
        let touched = self.pages.decode_within(lower, upper);
        self.decode(touched);
        self.entries.range::<[u8], _>((lower, upper))
    }

    fn decode(&mut self, pages: Vec<Page>) {
        if pages.is_empty() {
            return;
        }
        let changed = &self.changed;
        // A key changed since the page's version has its newer entry (or
        // its deletion) in the map already.
        let decoded: Vec<(Vec<u8>, StoredEntry)> = pages
            .iter()
            .flat_map(Page::decode)
            .filter(|(key, _)| !changed.contains_key(key))
            .collect();
        for (key, entry) in &decoded {
            if let Some(at) = entry.expires_at_ms {
                self.expiries.insert((at, key.clone()));
            }
        }
        // Inserting one by one costs a search each; merging rebuilds the
        // whole map, which is cheaper once the new part is large. (Merging
        // lets the new part win on equal keys: none, by the filter above.)
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
        if self.paged {
            for (key, change) in &commit.changes {
                if self.changed.insert(key.clone(), commit.version).is_none() {
                    self.changed_bytes = self.changed_bytes.saturating_add(changed_cost(key, change.as_ref()));
                }
            }
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
    pub fn expires_at(&mut self, key: &[u8], now_ms: u64) -> Option<u64> {
        let touched = self.pages.decode_within(Bound::Included(key), Bound::Included(key));
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
        let pages = pages_of_loaded();
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

    /// Applies a commit from elsewhere at version 2: key 4 set to 40, key
    /// 6 deleted.
    fn set_4_and_delete_6(engine: &mut Engine) {
        let mut changes = BTreeMap::new();
        changes.insert(vec![4], Some(entry(40, 2, None)));
        changes.insert(vec![6], None);
        engine.apply(PreparedCommit {
            version: 2,
            changes,
            enqueues: Vec::new(),
        });
    }

    #[test]
    fn a_commit_from_elsewhere_replaces_what_an_undecoded_page_holds() {
        let mut engine = loaded();
        set_4_and_delete_6(&mut engine);
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
        assert_eq!((engine.entries.len(), engine.pages.undecoded_entries()), (2, 8));
        engine.collect_expired(999);
        assert_eq!(engine.len(), 10);
        // Every page holds an odd key expiring at 1000: collecting then
        // reaches into all of them.
        engine.collect_expired(1000);
        assert_eq!((engine.len(), engine.pages.undecoded_entries()), (5, 0));
        assert_eq!(value_of(&mut engine, 3, 1000), None);
    }

    fn pages_of_loaded() -> Vec<Page> {
        let mut writer = PageWriter::new(8);
        for k in 0u8..10 {
            writer.push(&[k], &entry(k, 1, (k % 2 == 1).then_some(1000)));
        }
        writer
            .finish()
            .into_iter()
            .filter_map(|bytes| Page::parse(bytes).expect("parses"))
            .collect()
    }

    /// `loaded`, but from the index alone: every page absent.
    fn from_index() -> Engine {
        let infos = pages_of_loaded()
            .iter()
            .enumerate()
            .map(|(id, page)| PageInfo::of(id as u64, page))
            .collect();
        let mut engine = Engine::new();
        engine.load_index(1, infos);
        engine
    }

    fn fetch(engine: &mut Engine, ids: &[u64]) {
        for (id, page) in pages_of_loaded().into_iter().enumerate() {
            if ids.contains(&(id as u64)) {
                assert!(engine.install(id as u64, page).expect("describes"));
            }
        }
    }

    #[test]
    fn changes_to_absent_pages_win_over_the_pages_once_fetched() {
        let mut engine = from_index();
        set_4_and_delete_6(&mut engine);
        let everything = ReadRange {
            start: vec![],
            end: vec![0xff],
            limit: std::num::NonZeroU32::MAX,
            reverse: false,
        };
        let (missing, end) = engine.stretch(&everything, 100, 16);
        assert_eq!((missing.clone(), end), (vec![0, 1, 2, 3, 4], None));
        fetch(&mut engine, &missing);
        let keys: Vec<Vec<u8>> = engine.read_range(&everything, 0).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, [0u8, 1, 2, 3, 4, 5, 7, 8, 9].map(|k| vec![k]));
        assert_eq!(value_of(&mut engine, 4, 0), Some(vec![40]));
    }

    #[test]
    fn eviction_drops_clean_entries_and_keeps_changed_ones() {
        let mut engine = from_index();
        fetch(&mut engine, &[0, 1, 2, 3, 4]);
        let mut changes = BTreeMap::new();
        changes.insert(vec![2], Some(entry(20, 2, None)));
        changes.insert(vec![3], None);
        engine.apply(PreparedCommit {
            version: 2,
            changes,
            enqueues: Vec::new(),
        });
        assert_eq!(value_of(&mut engine, 0, 0), Some(vec![0]));
        assert_eq!(value_of(&mut engine, 2, 0), Some(vec![20]));
        assert!(engine.cached_bytes() > 0);
        engine.evict(0, &|_, _| false);
        assert_eq!(engine.cached_bytes(), 0);
        // Only the changed key is left in memory; the rest must be fetched.
        assert_eq!(engine.entries.keys().cloned().collect::<Vec<_>>(), vec![vec![2]]);
        assert_eq!(engine.missing_for_keys([&[0u8][..], &[3][..]]), vec![0, 1]);
        fetch(&mut engine, &[1]);
        assert_eq!(value_of(&mut engine, 2, 0), Some(vec![20]));
        assert_eq!(value_of(&mut engine, 3, 0), None);
        // A checkpoint at version 2 folds the change into the pages.
        let infos = pages_of_loaded()
            .iter()
            .enumerate()
            .map(|(id, page)| PageInfo::of(id as u64, page))
            .collect();
        engine.rebase(2, infos);
        assert_eq!(engine.changed_keys().count(), 0);
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
