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
use super::{Shared, PAGE_BYTES};
use crate::core::error::KvResult;
use crate::core::page_index::{PageIndex, PageInfo};
use crate::core::record::{self, Page, PageWriter, MAX_VERSION};

/// Checkpoint once the log holds more than this many bytes and at least a
/// quarter of what the checkpoint would rewrite: opening then replays a
/// bounded log, and a checkpoint costs each commit at most about four times
/// its own size.
const MIN_LOG_BYTES: usize = 256 * 1024;

/// What a planned checkpoint hands back once its transaction is done.
struct Planned {
    index: PageIndex,
    /// The keys it covered, given back to the dirty set if it fails.
    dirty: BTreeSet<Vec<u8>>,
}

impl Shared {
    /// Commits with these keys are about to be applied.
    pub(super) fn note_changed<'k>(&self, keys: impl Iterator<Item = &'k Vec<u8>>) {
        self.state.borrow_mut().dirty.extend(keys.cloned());
    }

    /// A snapshot with this index was loaded: nothing is dirty against it.
    pub(super) fn loaded_index(&self, index: PageIndex) {
        let mut state = self.state.borrow_mut();
        state.dirty.clear();
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
        let runs = state.index.dirty_runs(state.dirty.iter().map(Vec::as_slice));
        let rewrite = runs
            .iter()
            .flat_map(|run| &state.index.pages[run.clone()])
            .map(|page| page.bytes)
            .fold(0u64, u64::saturating_add);
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
        let Some(Planned { index, dirty }) = planned.borrow_mut().take() else {
            return written;
        };
        let mut state = self.state.borrow_mut();
        if matches!(written, Ok(true)) {
            // Keys changed while the transaction ran stay dirty: they are
            // after the new index's version.
            state.dirty_since = index.version;
            state.index = index;
            state.log_bytes = 0;
            state.weigh_at = 0;
        } else {
            state.dirty.extend(dirty);
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
        let (dirty, dirty_since) = {
            let mut state = self.state.borrow_mut();
            (std::mem::take(&mut state.dirty), state.dirty_since)
        };
        // The dirty set holds every key changed after `dirty_since`; the
        // stored index is at least as new as the one this instance loaded
        // or wrote, so the set covers every change since the stored index
        // too. Should it not (a store that went back), everything is
        // rewritten.
        let runs = if dirty_since <= index.version {
            index.dirty_runs(dirty.iter().map(Vec::as_slice))
        } else {
            index.all()
        };
        let rewritten = self.rewrite(&index, version, runs);
        let (checkpoint, new_index) = match rewritten {
            Ok(done) => done,
            Err(err) => {
                self.state.borrow_mut().dirty.extend(dirty);
                return Err(err);
            }
        };
        *planned.borrow_mut() = Some(Planned {
            index: new_index,
            dirty,
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
        let mut replaced = Vec::with_capacity(runs.len());
        for run in runs {
            let (lower, upper) = index.run_bounds(&run);
            let mut writer = PageWriter::new(PAGE_BYTES);
            for (key, entry) in engine.entries_within(lower, upper) {
                if entry.expires_at_ms.is_none_or(|at| at > now) {
                    writer.push(key, entry);
                }
            }
            let mut pages = Vec::new();
            for bytes in writer.finish() {
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
