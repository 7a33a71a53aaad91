//! Keeping the log short: a checkpoint rewrites only the snapshot pages
//! that own a key changed since the snapshot, under new page ids
//! (copy-on-write), writes the index that lists them, removes the pages it
//! replaced and the log up to its version, all in one transaction
//! (docs/storage.md, "Checkpoints").

use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

use super::host::{Checkpoint, Stored};
use super::pages::Busy;
use super::{Shared, PAGE_BYTES};
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

/// What a planned checkpoint hands back once its transaction is done.
struct Planned {
    index: PageIndex,
}

/// What a checkpoint's plan found.
enum Outcome {
    Planned(Planned),
    /// The stored index is newer than this instance's: it reloads.
    Stale,
}

impl Shared {
    /// A snapshot with this index was loaded: nothing is dirty against it.
    pub(super) fn loaded_index(&self, index: PageIndex) {
        let mut state = self.state.borrow_mut();
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
        let rewrite = self
            .dirty_runs(&state.index)
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

    /// The runs of `index`'s pages that own a key changed since it, or
    /// hold an expired entry.
    fn dirty_runs(&self, index: &PageIndex) -> Vec<Range<usize>> {
        let engine = self.memory.engine();
        index.dirty_runs(engine.changed_keys().map(Vec::as_slice), self.memory.now())
    }

    /// Checkpoints what memory holds, if memory is the newest committed
    /// version (right after this instance's own write, it is). The pages
    /// it rewrites are fetched first, with the page after each run, which
    /// a run may take in.
    pub(super) async fn checkpoint(self: &Rc<Self>) -> KvResult<bool> {
        let _busy = Busy::new(self);
        let missing = |shared: &Shared| {
            let index = shared.state.borrow().index.clone();
            let runs = shared.dirty_runs(&index);
            let engine = shared.memory.engine();
            runs.into_iter()
                .flat_map(|run| {
                    let (lower, _) = index.run_bounds(&run);
                    let widened = run.start..(run.end + 1).min(index.pages.len());
                    let (_, upper) = index.run_bounds(&widened);
                    engine.missing_within(lower, upper)
                })
                .collect::<Vec<u64>>()
        };
        self.fetch_until_held(&missing).await?;
        let outcome: Rc<RefCell<Option<Outcome>>> = Rc::default();
        let plan = {
            let shared = Rc::clone(self);
            let outcome = Rc::clone(&outcome);
            Box::new(move |stored: Stored| shared.plan_checkpoint(stored, &outcome))
        };
        let written = self.store.checkpoint(plan).await;
        let outcome = outcome.borrow_mut().take();
        match outcome {
            Some(Outcome::Planned(Planned { index })) if matches!(written, Ok(true)) => {
                self.memory.engine().rebase(index.version, index.pages.clone());
                let mut state = self.state.borrow_mut();
                state.index = index;
                state.log_bytes = 0;
                state.weigh_at = 0;
            }
            Some(Outcome::Stale) => self.reload().await?,
            _ => {}
        }
        written
    }

    /// Inside the checkpoint's transaction: which pages to rewrite, and
    /// their new contents from memory.
    fn plan_checkpoint(&self, stored: Stored, outcome: &RefCell<Option<Outcome>>) -> KvResult<Option<Checkpoint>> {
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
        // Another instance checkpointed since this one loaded its index:
        // the changes memory tracks are against the older one. Reload.
        if index != self.state.borrow().index {
            *outcome.borrow_mut() = Some(Outcome::Stale);
            return Ok(None);
        }
        let runs = self.dirty_runs(&index);
        // A page could have been evicted while the transaction started.
        let held = {
            let engine = self.memory.engine();
            runs.iter().all(|run| {
                let widened = run.start..(run.end + 1).min(index.pages.len());
                let (lower, upper) = index.run_bounds(&widened);
                engine.missing_within(lower, upper).is_empty()
            })
        };
        if !held {
            return Ok(None);
        }
        let (checkpoint, new_index) = self.rewrite(&index, version, runs)?;
        *outcome.borrow_mut() = Some(Outcome::Planned(Planned { index: new_index }));
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
