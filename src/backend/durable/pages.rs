//! Pages fetched on touch: memory holds the page index, the entries changed
//! since its version, and a cache of pages within a byte budget. Whatever
//! reads or prepares a commit first fetches the absent pages it touches, in
//! one read-only transaction; once nothing is in flight, the least recently
//! used clean pages go (docs/storage.md, "Pages fetched on touch").

use std::collections::BTreeMap;
use std::ops::Bound;
use std::rc::Rc;

use denokv_proto::{KvEntry, ReadRange};

use super::Shared;
use crate::backend::{BackendFuture, WatchStream};
use crate::core::error::{KvError, KvResult};
use crate::core::record::{self, Page};
use crate::core::selector::point_range;

/// How many pages one step of a read fetches at most (about 4 MiB).
const STRETCH_PAGES: usize = 8;

/// How often an operation reloads the index because a page it wanted was
/// replaced meanwhile, before it gives up. Each reload reads the newest
/// index, so a second one is only needed if another checkpoint landed in
/// between.
const MAX_RELOADS: usize = 4;

/// The cache budget when the caller sets none.
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// An instance that follows others' commits holds them in memory (they are
/// not in the pages it knows) until it moves to a newer index. It does so
/// once they pass this many bytes, or half its cache budget if that is more.
const MIN_RELOAD_BYTES: u64 = 8 * 1024 * 1024;

/// When a follower's changes send it to the newest index, with `budget` its
/// cache budget.
pub(super) fn reload_threshold(budget: u64) -> u64 {
    MIN_RELOAD_BYTES.max(budget / 2)
}

/// An operation that fetches pages: while one is in flight, nothing is
/// evicted, so the pages it fetched are still there when it reads them.
pub(super) struct Busy<'a>(&'a Shared);

impl<'a> Busy<'a> {
    pub(super) fn new(shared: &'a Shared) -> Self {
        shared.state.borrow_mut().busy += 1;
        Self(shared)
    }
}

impl Drop for Busy<'_> {
    // Not inlined into every async function that holds one.
    #[inline(never)]
    fn drop(&mut self) {
        let idle = {
            let mut state = self.0.state.borrow_mut();
            state.busy = state.busy.saturating_sub(1);
            state.busy == 0
        };
        if idle {
            self.0.evict();
        }
    }
}

impl Shared {
    /// Fetches the absent pages `missing` names (recomputed after a reload)
    /// until it names none.
    pub(super) async fn fetch_until_held(&self, missing: &dyn Fn(&Shared) -> Vec<u64>) -> KvResult<()> {
        for _ in 0..=MAX_RELOADS {
            let ids = missing(self);
            if ids.is_empty() {
                return Ok(());
            }
            if !self.fetch(ids).await? {
                let before = self.state.borrow().index.clone();
                self.reload().await?;
                // The store's own index lists the page it does not have.
                if self.state.borrow().index == before {
                    return Err(record::corrupt("a page the index lists is missing"));
                }
            }
        }
        Err(KvError::error(
            "The database's pages kept changing while they were read; try again",
        ))
    }

    /// One read-only transaction for the pages `ids`; `Ok(false)` if one of
    /// them is gone (a checkpoint in another instance replaced it).
    async fn fetch(&self, ids: Vec<u64>) -> KvResult<bool> {
        let fetched = self.store.read_pages(ids.clone()).await?;
        if fetched.len() != ids.len() {
            return Err(record::corrupt("the store answered for other pages than it was asked"));
        }
        let mut engine = self.memory.engine();
        for (id, bytes) in ids.into_iter().zip(fetched) {
            let Some(bytes) = bytes else {
                return Ok(false);
            };
            let page = Page::parse(bytes)
                .map_err(record::found_in("a snapshot page"))?
                .ok_or_else(|| record::corrupt("a snapshot page is empty"))?;
            engine.install(id, page)?;
        }
        Ok(true)
    }

    /// Reads the newest index and the log after it, in place of what memory
    /// holds: how an instance whose index is older than the store's (its
    /// pages were replaced) moves on.
    pub(super) async fn reload(&self) -> KvResult<()> {
        let mut since = self.store.read_since(0).await?;
        since.reset = true;
        self.absorb(since)
    }

    /// Reads `range` through the pages it touches, a stretch of pages at a
    /// time, so a read of everything holds no more than a stretch beyond
    /// the budget.
    pub(super) async fn read_range(&self, range: &ReadRange) -> KvResult<Vec<KvEntry>> {
        let limit = range.limit.get() as usize;
        let mut found: Vec<KvEntry> = Vec::new();
        let mut rest = range.clone();
        loop {
            let wanted = (limit - found.len()) as u64;
            let stretch = |shared: &Shared| shared.memory.engine().stretch(&rest, wanted, STRETCH_PAGES);
            self.fetch_until_held(&|shared| stretch(shared).0).await?;
            let (_, boundary) = stretch(self);
            let mut part = rest.clone();
            part.limit = u32::try_from(limit - found.len())
                .ok()
                .and_then(std::num::NonZeroU32::new)
                .unwrap_or(range.limit);
            match (&boundary, rest.reverse) {
                (Some(key), false) => part.end = key.clone(),
                (Some(key), true) => part.start = key.clone(),
                (None, _) => {}
            }
            let now = self.memory.now();
            found.extend(self.memory.engine().read_range(&part, now));
            match boundary {
                Some(key) if found.len() < limit => {
                    if rest.reverse {
                        rest.end = key;
                    } else {
                        rest.start = key;
                    }
                    // Let this stretch go before the next one is fetched.
                    if self.state.borrow().busy == 1 {
                        self.evict();
                    }
                }
                _ => return Ok(found),
            }
        }
    }

    /// Moves a follower whose changes outgrew their bound to the newest
    /// index, in the background: the changes a checkpoint has written into
    /// pages since leave memory. If no checkpoint happened meanwhile, it
    /// waits until its changes have doubled before trying again.
    pub(super) fn bound_changes(self: &Rc<Self>) {
        {
            let mut state = self.state.borrow_mut();
            let changed = self.memory.engine().changed_bytes();
            if state.reloading || state.ownership.owns() || state.ownership.is_closed() || changed <= state.reload_at {
                return;
            }
            state.reloading = true;
        }
        let shared = Rc::clone(self);
        (self.spawn)(Box::pin(async move {
            // A failed reload is tried again at the next announcement.
            let _ = shared.reload().await;
            let changed = shared.memory.engine().changed_bytes();
            let mut state = shared.state.borrow_mut();
            state.reloading = false;
            let base = reload_threshold(state.cache_bytes);
            state.reload_at = if changed > base / 2 {
                changed.saturating_mul(2)
            } else {
                base
            };
        }));
    }

    /// Drops clean pages until the cache fits its budget, except those
    /// holding a watched key.
    #[inline(never)]
    pub(super) fn evict(&self) {
        let state = self.state.borrow();
        let budget = state.cache_bytes;
        let watched = &state.watched;
        let keep = |first: &[u8], last: &[u8]| {
            watched
                .range::<[u8], _>((Bound::Included(first), Bound::Included(last)))
                .next()
                .is_some()
        };
        self.memory.engine().evict(budget, &keep);
    }

    /// The pages holding these keys stay while they are watched.
    fn watch_keys(&self, keys: &[Vec<u8>], by: i64) {
        let mut state = self.state.borrow_mut();
        for key in keys {
            let count = state.watched.entry(key.clone()).or_insert(0);
            *count = count.saturating_add_signed(by);
            if *count == 0 {
                state.watched.remove(key);
            }
        }
    }
}

/// Watches keys whose pages may be absent: it fetches them first, keeps
/// them from eviction while it lives, and reads again should a reload have
/// let them go.
pub(super) struct PagedWatch {
    pub(super) shared: Rc<Shared>,
    pub(super) keys: Vec<Vec<u8>>,
    pub(super) inner: Box<dyn WatchStream>,
}

impl PagedWatch {
    pub(super) fn new(shared: Rc<Shared>, keys: Vec<Vec<u8>>, inner: Box<dyn WatchStream>) -> Self {
        shared.watch_keys(&keys, 1);
        Self { shared, keys, inner }
    }
}

impl WatchStream for PagedWatch {
    /// The inner stream says when to read (at once, then after each change
    /// or expiry); the values are read here, once the pages holding the keys
    /// are fetched, since the inner stream reads memory as it is.
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>> {
        let shared = Rc::clone(&self.shared);
        let keys = self.keys.clone();
        let changed = self.inner.next();
        Box::pin(async move {
            if changed.await?.is_none() {
                return Ok(None);
            }
            let _busy = Busy::new(&shared);
            let missing = |shared: &Shared| shared.memory.engine().missing_for_keys(keys.iter().map(Vec::as_slice));
            shared.fetch_until_held(&missing).await?;
            let now = shared.memory.now();
            let mut engine = shared.memory.engine();
            Ok(Some(
                keys.iter()
                    .map(|key| engine.read_range(&point_range(key.clone()), now).pop())
                    .collect(),
            ))
        })
    }
}

impl Drop for PagedWatch {
    fn drop(&mut self) {
        self.shared.watch_keys(&self.keys, -1);
    }
}

/// Keys by how many watches hold them. (`u64`, the engine's map of changed
/// keys' type: one copy of the map's code in the wasm, not two.)
pub(super) type Watched = BTreeMap<Vec<u8>, u64>;
