//! The snapshot pages a database was loaded from that nothing has touched
//! yet. The engine takes pages out of here (and decodes them) before it
//! reads or writes any key in their ranges, so an entry lives either in a
//! page here or in the engine's map, never in both.

use std::ops::Bound;

use super::error::{KvError, KvResult};
use super::record::Page;

#[derive(Debug, Default)]
pub struct UndecodedPages {
    /// In key order, their key ranges disjoint.
    pages: Vec<Page>,
}

impl UndecodedPages {
    /// `pages` must be in key order with disjoint ranges, as `PageWriter`
    /// cuts them.
    pub fn new(pages: Vec<Page>) -> KvResult<Self> {
        if pages.windows(2).any(|pair| pair[0].last_key() >= pair[1].first_key()) {
            return Err(KvError::error("The stored database is corrupt: its pages overlap"));
        }
        Ok(Self { pages })
    }

    /// How many entries the pages hold.
    pub fn entries(&self) -> usize {
        self.pages.iter().map(Page::len).sum()
    }

    pub fn holding(&mut self, key: &[u8]) -> Vec<Page> {
        let from = self.pages.partition_point(|page| page.last_key() < key);
        let to = self.pages.partition_point(|page| page.first_key() <= key);
        self.take(&|index, _| (from..to).contains(&index))
    }

    /// The pages holding any key in `start..end`.
    pub fn overlapping(&mut self, start: &[u8], end: &[u8]) -> Vec<Page> {
        let from = self.pages.partition_point(|page| page.last_key() < start);
        let to = self.pages.partition_point(|page| page.first_key() < end);
        self.take(&|index, _| (from..to).contains(&index))
    }

    /// The pages holding any key within `lower..upper`.
    pub fn within(&mut self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<Page> {
        let from = self.pages.partition_point(|page| match lower {
            Bound::Included(key) => page.last_key() < key,
            Bound::Excluded(key) => page.last_key() <= key,
            Bound::Unbounded => false,
        });
        let to = self.pages.partition_point(|page| match upper {
            Bound::Included(key) => page.first_key() <= key,
            Bound::Excluded(key) => page.first_key() < key,
            Bound::Unbounded => true,
        });
        self.take(&|index, _| (from..to).contains(&index))
    }

    /// The pages holding any of `keys`, which are in ascending order: one
    /// walk over both instead of a search per key, since a log replayed at
    /// open applies many commits of many keys.
    pub fn holding_any<'k>(&mut self, keys: impl Iterator<Item = &'k Vec<u8>>) -> Vec<Page> {
        let mut wanted = Vec::new();
        let mut index = 0;
        for key in keys {
            while index < self.pages.len() && self.pages[index].last_key() < key.as_slice() {
                index += 1;
            }
            let Some(page) = self.pages.get(index) else {
                break;
            };
            if page.first_key() <= key.as_slice() && wanted.last() != Some(&index) {
                wanted.push(index);
            }
        }
        self.take(&|index, _| wanted.binary_search(&index).is_ok())
    }

    /// The pages holding an entry that has expired by `now_ms`.
    pub fn expiring_by(&mut self, now_ms: u64) -> Vec<Page> {
        self.take(&|_, page| page.earliest_expiry().is_some_and(|at| at <= now_ms))
    }

    pub fn take_all(&mut self) -> Vec<Page> {
        std::mem::take(&mut self.pages)
    }

    fn take(&mut self, wanted: &dyn Fn(usize, &Page) -> bool) -> Vec<Page> {
        if !self.pages.iter().enumerate().any(|(index, page)| wanted(index, page)) {
            return Vec::new();
        }
        let mut taken = Vec::new();
        let mut kept = Vec::new();
        for (index, page) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            if wanted(index, &page) {
                taken.push(page);
            } else {
                kept.push(page);
            }
        }
        self.pages = kept;
        taken
    }
}
