//! The index of a paged snapshot (layout 3, docs/storage.md): which stored
//! page, by id, holds which key range. A checkpoint rewrites only the pages
//! whose range a commit touched since the index's version, under new ids
//! (copy-on-write), and writes a new index beside them.
//!
//! Page `i` owns the keys after page `i - 1`'s last key up to and including
//! its own last key; the first page owns everything below, the last page
//! everything above. So every key has exactly one page, and a key written
//! since the snapshot says which page must be rewritten.

use std::collections::HashSet;
use std::ops::{Bound, Range};

use super::error::KvResult;
use super::record::{corrupt, Page, Reader, Writer, MAX_VERSION};

const INDEX_FORMAT: u8 = 1;

/// What the index knows of one page without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    /// Its key in the store's `pages`.
    pub id: u64,
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
    pub entries: u64,
    /// The page's size as stored.
    pub bytes: u64,
    pub newest_version: u64,
    pub earliest_expiry: Option<u64>,
}

impl PageInfo {
    pub fn of(id: u64, page: &Page) -> Self {
        Self {
            id,
            first_key: page.first_key().to_vec(),
            last_key: page.last_key().to_vec(),
            entries: page.len() as u64,
            bytes: page.bytes().len() as u64,
            newest_version: page.newest_version(),
            earliest_expiry: page.earliest_expiry(),
        }
    }

    /// Whether `page`, read back from the store under this id, is the page
    /// this index describes.
    pub fn describes(&self, page: &Page) -> bool {
        *self == Self::of(self.id, page)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageIndex {
    /// The version the pages hold: every commit up to it, none after.
    pub version: u64,
    /// The id the next new page gets; every id in use is below it, and ids
    /// are never reused, so a page id names one content forever.
    pub next_id: u64,
    /// In key order, their ranges disjoint.
    pub pages: Vec<PageInfo>,
}

impl PageIndex {
    /// The index of pages already in key order, stored under `ids`: how a
    /// layout-2 snapshot (pages keyed by position) becomes layout 3.
    pub fn of_pages(version: u64, pages: &[(u64, Page)]) -> KvResult<Self> {
        let index = Self {
            version,
            next_id: pages.iter().map(|(id, _)| id.saturating_add(1)).max().unwrap_or(0),
            pages: pages.iter().map(|(id, page)| PageInfo::of(*id, page)).collect(),
        };
        index.check()?;
        Ok(index)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Writer(Vec::with_capacity(16 + self.pages.len() * 48));
        out.0.push(INDEX_FORMAT);
        out.varint(self.version);
        out.varint(self.next_id);
        out.varint(self.pages.len() as u64);
        for page in &self.pages {
            out.varint(page.id);
            out.bytes(&page.first_key);
            out.bytes(&page.last_key);
            out.varint(page.entries);
            out.varint(page.bytes);
            out.varint(page.newest_version);
            out.expiry(page.earliest_expiry);
        }
        out.0
    }

    pub fn decode(input: &[u8]) -> KvResult<Self> {
        let mut reader = Reader { input };
        if reader.byte()? != INDEX_FORMAT {
            return Err(corrupt("unknown index format"));
        }
        let version = reader.varint()?;
        let next_id = reader.varint()?;
        // A page is at least an id, two key lengths, a count, a size, a
        // version and an expiry.
        let count = reader.count(7)?;
        let mut pages = Vec::with_capacity(count);
        for _ in 0..count {
            pages.push(PageInfo {
                id: reader.varint()?,
                first_key: reader.bytes()?,
                last_key: reader.bytes()?,
                entries: reader.varint()?,
                bytes: reader.varint()?,
                newest_version: reader.varint()?,
                earliest_expiry: reader.expiry()?,
            });
        }
        reader.finish()?;
        let index = Self {
            version,
            next_id,
            pages,
        };
        index.check()?;
        Ok(index)
    }

    /// The invariants every reader relies on (docs/storage.md).
    fn check(&self) -> KvResult<()> {
        if self.version > MAX_VERSION || self.next_id > MAX_VERSION {
            return Err(corrupt("the index's version or next page id is out of range"));
        }
        let mut ids = HashSet::with_capacity(self.pages.len());
        for page in &self.pages {
            if page.id >= self.next_id || !ids.insert(page.id) {
                return Err(corrupt("the index lists a page id twice or past its next id"));
            }
            if page.first_key > page.last_key || page.entries == 0 {
                return Err(corrupt("the index lists an empty page"));
            }
            if page.newest_version > self.version {
                return Err(corrupt("the index lists a page newer than the index"));
            }
        }
        if self.pages.windows(2).any(|pair| pair[0].last_key >= pair[1].first_key) {
            return Err(corrupt("the index's pages overlap"));
        }
        Ok(())
    }

    /// The stored size of the pages.
    pub fn bytes(&self) -> u64 {
        self.pages.iter().map(|page| page.bytes).fold(0, u64::saturating_add)
    }

    /// The runs of consecutive pages that own any of `keys` (ascending) or
    /// hold an entry expired by `now_ms`: what a checkpoint rewrites, so
    /// expired entries leave the disk too. With no pages at all, any key
    /// makes one empty run, which owns the whole key space.
    pub fn dirty_runs<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>, now_ms: u64) -> Vec<Range<usize>> {
        let mut keys = keys.into_iter().peekable();
        if self.pages.is_empty() {
            return if keys.peek().is_some() {
                std::iter::once(0..0).collect()
            } else {
                Vec::new()
            };
        }
        let mut marked: Vec<bool> = self
            .pages
            .iter()
            .map(|page| page.earliest_expiry.is_some_and(|at| at <= now_ms))
            .collect();
        let last = self.pages.len() - 1;
        let mut page = 0;
        for key in keys {
            while page < last && self.pages[page].last_key.as_slice() < key {
                page += 1;
            }
            marked[page] = true;
        }
        let mut runs: Vec<Range<usize>> = Vec::new();
        for (page, _) in marked.iter().enumerate().filter(|(_, marked)| **marked) {
            match runs.last_mut() {
                Some(run) if run.end == page => run.end = page + 1,
                _ => runs.push(page..page + 1),
            }
        }
        runs
    }

    /// Every page as one run: a rewrite of everything.
    pub fn all(&self) -> Vec<Range<usize>> {
        std::iter::once(0..self.pages.len()).collect()
    }

    /// The keys a run of pages owns.
    pub fn run_bounds(&self, run: &Range<usize>) -> (Bound<&[u8]>, Bound<&[u8]>) {
        let lower = match run.start.checked_sub(1).and_then(|before| self.pages.get(before)) {
            Some(before) => Bound::Excluded(before.last_key.as_slice()),
            None => Bound::Unbounded,
        };
        let upper = match run.end.checked_sub(1).and_then(|last| self.pages.get(last)) {
            Some(last) if run.end < self.pages.len() => Bound::Included(last.last_key.as_slice()),
            _ => Bound::Unbounded,
        };
        (lower, upper)
    }

    /// The index after each run is replaced by its new pages (ascending,
    /// disjoint runs), at `version`.
    pub fn replaced(&self, version: u64, next_id: u64, runs: Vec<(Range<usize>, Vec<PageInfo>)>) -> Self {
        let mut pages = Vec::with_capacity(self.pages.len());
        let mut kept_to = 0;
        for (run, new_pages) in runs {
            pages.extend_from_slice(&self.pages[kept_to..run.start.max(kept_to)]);
            pages.extend(new_pages);
            kept_to = kept_to.max(run.end);
        }
        pages.extend_from_slice(&self.pages[kept_to.min(self.pages.len())..]);
        Self {
            version,
            next_id,
            pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64, first: &[u8], last: &[u8]) -> PageInfo {
        PageInfo {
            id,
            first_key: first.to_vec(),
            last_key: last.to_vec(),
            entries: 2,
            bytes: 100,
            newest_version: 3,
            earliest_expiry: id.is_multiple_of(2).then_some(1_700_000_000_000),
        }
    }

    fn index() -> PageIndex {
        PageIndex {
            version: 9,
            next_id: 10,
            pages: vec![info(4, b"b", b"d"), info(7, b"f", b"h"), info(2, b"k", b"m")],
        }
    }

    #[test]
    fn an_index_round_trips_and_truncation_is_corrupt() {
        let bytes = index().encode();
        assert_eq!(PageIndex::decode(&bytes).expect("decodes"), index());
        for cut in 0..bytes.len() {
            assert!(PageIndex::decode(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let empty = PageIndex::default();
        assert_eq!(PageIndex::decode(&empty.encode()).expect("decodes"), empty);
    }

    #[test]
    fn an_index_that_breaks_an_invariant_is_corrupt() {
        let broken = [
            PageIndex { next_id: 7, ..index() },
            PageIndex { version: 2, ..index() },
            PageIndex {
                pages: vec![info(4, b"b", b"d"), info(4, b"f", b"h")],
                ..index()
            },
            PageIndex {
                pages: vec![info(4, b"b", b"g"), info(7, b"f", b"h")],
                ..index()
            },
            PageIndex {
                pages: vec![info(4, b"d", b"b")],
                ..index()
            },
            PageIndex {
                next_id: MAX_VERSION + 1,
                ..index()
            },
        ];
        for index in broken {
            let err = PageIndex::decode(&index.encode()).expect_err("corrupt");
            assert!(
                err.message.starts_with("The stored database is corrupt: "),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn a_key_belongs_to_exactly_one_page_and_neighbours_merge_into_runs() {
        let index = index();
        let runs = |keys: &[&[u8]]| index.dirty_runs(keys.iter().copied(), 0);
        assert_eq!(runs(&[]), Vec::<Range<usize>>::new());
        assert_eq!(runs(&[b"a"]), vec![0..1], "below the first page: the first page");
        assert_eq!(runs(&[b"e"]), vec![1..2], "between pages: the next one");
        assert_eq!(runs(&[b"d"]), vec![0..1], "a last key: its page");
        assert_eq!(runs(&[b"z"]), vec![2..3], "above the last page: the last page");
        assert_eq!(runs(&[b"a", b"c", b"l", b"z"]), vec![0..1, 2..3]);
        assert_eq!(runs(&[b"c", b"g", b"l"]), vec![0..3]);
        assert_eq!(PageIndex::default().dirty_runs([b"x".as_slice(), b"y"], 0), vec![0..0]);
        // Pages 0 and 2 hold an entry expiring at 1_700_000_000_000.
        assert_eq!(index.dirty_runs([], 1_699_999_999_999), Vec::<Range<usize>>::new());
        assert_eq!(index.dirty_runs([], 1_700_000_000_000), vec![0..1, 2..3]);
        assert_eq!(index.dirty_runs([b"g".as_slice()], 1_700_000_000_000), vec![0..3]);

        assert_eq!(
            index.run_bounds(&(0..1)),
            (Bound::Unbounded, Bound::Included(b"d".as_slice()))
        );
        assert_eq!(
            index.run_bounds(&(1..2)),
            (Bound::Excluded(b"d".as_slice()), Bound::Included(b"h".as_slice()))
        );
        assert_eq!(
            index.run_bounds(&(2..3)),
            (Bound::Excluded(b"h".as_slice()), Bound::Unbounded)
        );
        assert_eq!(
            PageIndex::default().run_bounds(&(0..0)),
            (Bound::Unbounded, Bound::Unbounded)
        );
    }

    #[test]
    fn replacing_runs_keeps_the_other_pages_in_place() {
        let index = index();
        let replaced = index.replaced(
            12,
            13,
            vec![(0..1, vec![info(10, b"a", b"b"), info(11, b"c", b"c")]), (2..3, vec![])],
        );
        let ids: Vec<u64> = replaced.pages.iter().map(|page| page.id).collect();
        assert_eq!(ids, [10, 11, 7]);
        assert_eq!((replaced.version, replaced.next_id), (12, 13));
        let into_empty = PageIndex::default().replaced(1, 1, vec![(0..0, vec![info(0, b"a", b"b")])]);
        assert_eq!(into_empty.pages.len(), 1);
    }
}
