//! Keeping the log short: a checkpoint rewrites only the snapshot pages
//! that own a key changed since the snapshot, under new page ids
//! (copy-on-write), writes the index that lists them, removes the pages it
//! replaced and the log up to its version, all in one transaction
//! (docs/storage.md, "Checkpoints").

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;

use super::host::{Checkpoint, Stored};
use super::{Shared, State, PAGE_BYTES};
use crate::core::error::KvResult;
use crate::core::page_index::{PageIndex, PageInfo};
use crate::core::record::{self, Page, PageWriter, MAX_VERSION};

/// Checkpoint once the log holds more than this many bytes and at least a
/// quarter of what the checkpoint would rewrite (the pages owning a key
/// changed since the snapshot, and those holding an expired entry): opening then replays a
/// bounded log, and a checkpoint costs each commit at most about four times
/// its own size.
const MIN_LOG_BYTES: usize = 256 * 1024;

/// A rewritten run whose last page is smaller than this takes in the next
/// page too.
const SMALL_PAGE_BYTES: usize = PAGE_BYTES / 4;

/// The most key bytes the dirty set holds. An instance that follows
/// another's commits for long never checkpoints, so its set would grow
/// with every key written; past this it is dropped, and this instance's
/// next checkpoint, if it ever makes one, rewrites every page.
const MAX_DIRTY_BYTES: usize = 4 * 1024 * 1024;

/// `dirty_since` once the dirty set was dropped: no index is that new, so
/// every page counts as dirty.
const UNKNOWN: u64 = u64::MAX;

fn forget_dirty(state: &mut State) {
    state.dirty.clear();
    state.dirty_bytes = 0;
    state.dirty_since = UNKNOWN;
}

/// Puts what a failed checkpoint had taken back into the dirty set.
fn restore_dirty(state: &mut State, Taken { dirty, since }: Taken) {
    if since == UNKNOWN || state.dirty_since == UNKNOWN {
        forget_dirty(state);
        return;
    }
    state.dirty_since = since;
    state.dirty.extend(dirty);
    state.dirty_bytes = state.dirty.iter().map(Vec::len).fold(0, usize::saturating_add);
    if state.dirty_bytes > MAX_DIRTY_BYTES {
        forget_dirty(state);
    }
}

/// What a planned checkpoint hands back once its transaction is done.
struct Planned {
    index: PageIndex,
    /// Given back to the dirty set if it fails.
    taken: Taken,
}

/// The dirty set a checkpoint took, and since when it held every change.
struct Taken {
    dirty: BTreeSet<Vec<u8>>,
    since: u64,
}

impl Shared {
    /// Commits with these keys are about to be applied.
    pub(super) fn note_changed<'k>(&self, keys: impl Iterator<Item = &'k Vec<u8>>) {
        let mut state = self.state.borrow_mut();
        if state.dirty_since == UNKNOWN {
            return;
        }
        for key in keys {
            if !state.dirty.contains(key) {
                state.dirty_bytes = state.dirty_bytes.saturating_add(key.len());
                state.dirty.insert(key.clone());
            }
        }
        if state.dirty_bytes > MAX_DIRTY_BYTES {
            forget_dirty(&mut state);
        }
    }

    /// A snapshot with this index was loaded: nothing is dirty against it.
    pub(super) fn loaded_index(&self, index: PageIndex) {
        let mut state = self.state.borrow_mut();
        state.dirty.clear();
        state.dirty_bytes = 0;
        state.dirty_since = index.version;
        state.index = index;
        state.log_bytes = 0;
        state.weigh_at = 0;
    }

    /// Whether the log has grown enough to be worth a checkpoint. Weighing
    /// walks the dirty keys, so after a "not yet" the next weighing waits
    /// until the log has grown by another quarter.
    pub(super) fn checkpoint_due(&self) -> bool {
        let mut state = self.state.borrow_mut();
        if state.log_bytes <= MIN_LOG_BYTES.max(state.weigh_at) {
            return false;
        }
        let rewrite = if state.dirty_since == UNKNOWN {
            state.index.bytes()
        } else {
            let runs = state
                .index
                .dirty_runs(state.dirty.iter().map(Vec::as_slice), self.memory.now());
            runs.iter()
                .flat_map(|run| &state.index.pages[run.clone()])
                .map(|page| page.bytes)
                .fold(0u64, u64::saturating_add)
        };
        if (state.log_bytes as u64).saturating_mul(4) >= rewrite {
            return true;
        }
        state.weigh_at = state.log_bytes.saturating_add(state.log_bytes / 4);
        false
    }

    /// Checkpoints what memory holds, if memory is the newest committed
    /// version (right after this instance's own write, it is).
    pub(super) async fn checkpoint(self: &Rc<Self>) -> KvResult<bool> {
        let planned: Rc<RefCell<Option<Planned>>> = Rc::default();
        let plan = {
            let shared = Rc::clone(self);
            let planned = Rc::clone(&planned);
            Box::new(move |stored: Stored| shared.plan_checkpoint(stored, &planned))
        };
        let written = self.store.checkpoint(plan).await;
        let Some(Planned { index, taken }) = planned.borrow_mut().take() else {
            return written;
        };
        let mut state = self.state.borrow_mut();
        if matches!(written, Ok(true)) {
            // The dirty set now holds the keys changed while the transaction
            // ran, after the new index's version.
            state.index = index;
            state.log_bytes = 0;
            state.weigh_at = 0;
        } else {
            restore_dirty(&mut state, taken);
        }
        written
    }

    /// Inside the checkpoint's transaction: which pages to rewrite, and
    /// their new contents from memory.
    fn plan_checkpoint(&self, stored: Stored, planned: &RefCell<Option<Planned>>) -> KvResult<Option<Checkpoint>> {
        let version = self.memory.version();
        // Memory is not the newest database (another instance committed
        // meanwhile): its pages would miss commits.
        if stored.newest != version {
            return Ok(None);
        }
        let index = PageIndex::decode(&stored.index).map_err(record::found_in("the page index"))?;
        if index.version != stored.version {
            return Err(record::corrupt("the page index's version is not the snapshot's"));
        }
        if index.version >= version {
            return Ok(None);
        }
        // From here the set collects what changes after `version`.
        let taken = {
            let mut state = self.state.borrow_mut();
            state.dirty_bytes = 0;
            let since = std::mem::replace(&mut state.dirty_since, version);
            Taken {
                dirty: std::mem::take(&mut state.dirty),
                since,
            }
        };
        // The dirty set holds every key changed after `dirty_since`; the
        // stored index is at least as new as the one this instance loaded
        // or wrote, so the set covers every change since the stored index
        // too. Should it not (the set was dropped, or a store that went
        // back), everything is rewritten.
        let runs = if taken.since <= index.version {
            index.dirty_runs(taken.dirty.iter().map(Vec::as_slice), self.memory.now())
        } else {
            index.all()
        };
        let rewritten = self.rewrite(&index, version, runs);
        let (checkpoint, new_index) = match rewritten {
            Ok(done) => done,
            Err(err) => {
                restore_dirty(&mut self.state.borrow_mut(), taken);
                return Err(err);
            }
        };
        *planned.borrow_mut() = Some(Planned {
            index: new_index,
            taken,
        });
        Ok(Some(checkpoint))
    }

    /// Each run's key range, from memory, as new pages with new ids; the
    /// index that lists them instead of the run's pages.
    fn rewrite(&self, index: &PageIndex, version: u64, runs: Vec<Range<usize>>) -> KvResult<(Checkpoint, PageIndex)> {
        let now = self.memory.now();
        let mut engine = self.memory.engine();
        let mut next_id = index.next_id;
        let mut put = Vec::new();
        let mut delete = Vec::new();
        let mut replaced: Vec<(Range<usize>, Vec<PageInfo>)> = Vec::with_capacity(runs.len());
        let starts: Vec<usize> = runs.iter().map(|run| run.start).collect();
        for (n, mut run) in runs.into_iter().enumerate() {
            let next_run = starts.get(n + 1).copied().unwrap_or(usize::MAX);
            let cut = loop {
                let (lower, upper) = index.run_bounds(&run);
                let mut writer = PageWriter::new(PAGE_BYTES);
                for (key, entry) in engine.entries_within(lower, upper) {
                    if entry.expires_at_ms.is_none_or(|at| at > now) {
                        writer.push(key, entry);
                    }
                }
                let cut = writer.finish();
                // A run that shrank to a small last page takes in the clean
                // page after it when both fit in one page, so that
                // deletions do not leave the store a trail of small pages
                // (and the boundaries after it stay where they are).
                let last = cut.last().map_or(usize::MAX, Vec::len);
                let next = index.pages.get(run.end).filter(|_| run.end < next_run);
                let fits = next.is_some_and(|next| (last as u64).saturating_add(next.bytes) <= PAGE_BYTES as u64);
                if last < SMALL_PAGE_BYTES && fits {
                    run.end += 1;
                    continue;
                }
                break cut;
            };
            let mut pages = Vec::with_capacity(cut.len());
            for bytes in cut {
                if next_id >= MAX_VERSION {
                    return Err(record::corrupt("the page ids are used up"));
                }
                let page = Page::parse(bytes)?.ok_or_else(|| record::corrupt("a checkpoint cut an empty page"))?;
                pages.push(PageInfo::of(next_id, &page));
                put.push((next_id, page.into_bytes()));
                next_id += 1;
            }
            delete.extend(index.pages[run.clone()].iter().map(|page| page.id));
            replaced.push((run, pages));
        }
        let new_index = index.replaced(version, next_id, replaced);
        let checkpoint = Checkpoint {
            version,
            index: new_index.encode(),
            put,
            delete,
        };
        Ok((checkpoint, new_index))
    }
}
