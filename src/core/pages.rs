//! The snapshot pages a paged database reads from, as the engine holds
//! them: each page of the index is absent (only its index entry is known),
//! held as checked bytes, or decoded into the engine's map. Absent and
//! byte pages are fetched or decoded when something touches their key
//! range; clean pages are dropped again, least recently used first, once
//! what the table holds passes a byte budget (docs/storage.md, "Pages
//! fetched on touch").

use std::ops::{Bound, Range};

use super::error::KvResult;
use super::page_index::PageInfo;
use super::record::{corrupt, Page};

/// What one decoded entry costs beyond its key and value bytes: its map
/// node share, the two allocations and the entry's fields. Measured
/// roughly; only the budget's accuracy depends on it.
const DECODED_ENTRY_OVERHEAD: u64 = 140;

#[derive(Debug)]
enum Held {
    Absent,
    Bytes(Page),
    Decoded,
}

#[derive(Debug)]
struct Slot {
    info: PageInfo,
    held: Held,
    /// When it was last touched, on the table's own clock.
    used: u64,
}

impl Slot {
    fn cost(&self) -> u64 {
        match self.held {
            Held::Absent => 0,
            Held::Bytes(_) => self.info.bytes,
            Held::Decoded => self
                .info
                .bytes
                .saturating_add(self.info.entries.saturating_mul(DECODED_ENTRY_OVERHEAD)),
        }
    }
}

/// A page the table let go of: the engine drops the entries it decoded
/// from it (those not changed since).
pub struct Evicted {
    pub first_key: Vec<u8>,
    pub last_key: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct PageTable {
    /// In key order, their ranges (first to last key) disjoint.
    slots: Vec<Slot>,
    clock: u64,
    /// What the held pages cost, by `Slot::cost`.
    held_bytes: u64,
}

impl PageTable {
    /// The pages of an index, none held yet.
    pub fn absent(infos: Vec<PageInfo>) -> Self {
        let slots = infos
            .into_iter()
            .map(|info| Slot {
                info,
                held: Held::Absent,
                used: 0,
            })
            .collect();
        Self {
            slots,
            clock: 0,
            held_bytes: 0,
        }
    }

    /// Pages already read, in key order with disjoint ranges, as
    /// `PageWriter` cuts them; their ids are their positions.
    pub fn of_pages(pages: Vec<Page>) -> KvResult<Self> {
        if pages.windows(2).any(|pair| pair[0].last_key() >= pair[1].first_key()) {
            return Err(corrupt("its pages overlap"));
        }
        let mut table = Self::default();
        for (id, page) in pages.into_iter().enumerate() {
            let info = PageInfo::of(id as u64, &page);
            table.held_bytes = table.held_bytes.saturating_add(info.bytes);
            table.slots.push(Slot {
                info,
                held: Held::Bytes(page),
                used: 0,
            });
        }
        Ok(table)
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Entries in pages not decoded.
    pub fn undecoded_entries(&self) -> u64 {
        self.slots
            .iter()
            .filter(|slot| !matches!(slot.held, Held::Decoded))
            .map(|slot| slot.info.entries)
            .fold(0, u64::saturating_add)
    }

    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// The slots whose key range meets `lower..upper`.
    fn span(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Range<usize> {
        let from = self.slots.partition_point(|slot| match lower {
            Bound::Included(key) => slot.info.last_key.as_slice() < key,
            Bound::Excluded(key) => slot.info.last_key.as_slice() <= key,
            Bound::Unbounded => false,
        });
        let to = self.slots.partition_point(|slot| match upper {
            Bound::Included(key) => slot.info.first_key.as_slice() <= key,
            Bound::Excluded(key) => slot.info.first_key.as_slice() < key,
            Bound::Unbounded => true,
        });
        from..to.max(from)
    }

    /// The ids of the absent pages holding any key within `lower..upper`.
    pub fn missing_within(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<u64> {
        self.slots[self.span(lower, upper)]
            .iter()
            .filter(|slot| matches!(slot.held, Held::Absent))
            .map(|slot| slot.info.id)
            .collect()
    }

    /// Whether a page holding a key within `lower..upper` is absent.
    pub fn any_absent_within(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
        self.slots[self.span(lower, upper)]
            .iter()
            .any(|slot| matches!(slot.held, Held::Absent))
    }

    /// The ids of the absent pages holding any of `keys`.
    pub fn missing_for<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> Vec<u64> {
        // At most a page per key, and a few hundred pages in all: a linear
        // check for duplicates costs less code than a sort.
        let mut ids: Vec<u64> = Vec::new();
        for key in keys {
            for id in self.missing_within(Bound::Included(key), Bound::Included(key)) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// The next stretch of a read that walks `lower..upper` (forward, or
    /// backward with `reverse`): the pages from its start whose entries
    /// add up to `wanted` (at least one page, at most `max_pages`), and
    /// where the stretch ends: the first key of the page after them
    /// (forward) or the first key of the last of them (backward), or
    /// `None` when the stretch reaches the read's end.
    pub fn stretch(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        wanted: u64,
        max_pages: usize,
    ) -> (Vec<u64>, Option<Vec<u8>>) {
        let span = self.span(lower, upper);
        let order: Box<dyn Iterator<Item = usize>> = if reverse {
            Box::new(span.clone().rev())
        } else {
            Box::new(span.clone())
        };
        let mut missing = Vec::new();
        let mut pages = 0;
        let mut entries = 0u64;
        let mut last = None;
        for index in order {
            let slot = &self.slots[index];
            if matches!(slot.held, Held::Absent) {
                missing.push(slot.info.id);
            }
            pages += 1;
            entries = entries.saturating_add(slot.info.entries);
            last = Some(index);
            if entries >= wanted || pages >= max_pages {
                break;
            }
        }
        let Some(last) = last else {
            return (Vec::new(), None);
        };
        let boundary = if reverse {
            (last > span.start).then(|| self.slots[last].info.first_key.clone())
        } else {
            (last + 1 < span.end).then(|| self.slots[last + 1].info.first_key.clone())
        };
        (missing, boundary)
    }

    /// A fetched page, checked against its index entry, becomes held as
    /// bytes. `Ok(false)` if no absent page of the table has this id (it was
    /// held meanwhile, or the table moved to another index).
    pub fn install(&mut self, id: u64, page: Page) -> KvResult<bool> {
        self.clock += 1;
        let clock = self.clock;
        let Some(slot) = self.slots.iter_mut().find(|slot| slot.info.id == id) else {
            return Ok(false);
        };
        if !matches!(slot.held, Held::Absent) {
            return Ok(false);
        }
        if !slot.info.describes(&page) {
            return Err(corrupt("a snapshot page is not the page its index describes"));
        }
        slot.held = Held::Bytes(page);
        slot.used = clock;
        self.held_bytes = self.held_bytes.saturating_add(slot.info.bytes);
        Ok(true)
    }

    /// Takes the byte pages holding any key within `lower..upper` out, to
    /// be decoded; they count as decoded from now on. Absent pages in the
    /// way stay absent (whoever reads must have fetched them).
    pub fn decode_within(&mut self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Vec<Page> {
        let span = self.span(lower, upper);
        self.decode_where(span, &|_| true)
    }

    /// The byte pages holding an entry that has expired by `now_ms`.
    pub fn decode_expiring(&mut self, now_ms: u64) -> Vec<Page> {
        let all = 0..self.slots.len();
        self.decode_where(all, &|page| page.earliest_expiry().is_some_and(|at| at <= now_ms))
    }

    fn decode_where(&mut self, span: Range<usize>, wanted: &dyn Fn(&Page) -> bool) -> Vec<Page> {
        self.clock += 1;
        let clock = self.clock;
        let mut taken = Vec::new();
        for slot in &mut self.slots[span] {
            slot.used = clock;
            if !matches!(&slot.held, Held::Bytes(page) if wanted(page)) {
                continue;
            }
            let before = slot.cost();
            if let Held::Bytes(page) = std::mem::replace(&mut slot.held, Held::Decoded) {
                taken.push(page);
            }
            self.held_bytes = self.held_bytes.saturating_sub(before).saturating_add(slot.cost());
        }
        taken
    }

    /// Lets go of the least recently used pages until what is held fits
    /// `budget`, except those `keep` names. Returns the decoded ones, whose
    /// entries the engine drops.
    pub fn evict(&mut self, budget: u64, keep: &dyn Fn(&[u8], &[u8]) -> bool) -> Vec<Evicted> {
        if self.held_bytes <= budget {
            return Vec::new();
        }
        // The least recently used held page not kept, one at a time: a
        // scan per page evicted costs less code than a sort, and the table
        // holds a few hundred pages for a million entries.
        let mut kept = vec![false; self.slots.len()];
        let mut evicted = Vec::new();
        while self.held_bytes > budget {
            let oldest = (0..self.slots.len())
                .filter(|&index| !kept[index] && !matches!(self.slots[index].held, Held::Absent))
                .min_by_key(|&index| self.slots[index].used);
            let Some(index) = oldest else {
                break;
            };
            let slot = &mut self.slots[index];
            if keep(&slot.info.first_key, &slot.info.last_key) {
                kept[index] = true;
                continue;
            }
            self.held_bytes = self.held_bytes.saturating_sub(slot.cost());
            if matches!(std::mem::replace(&mut slot.held, Held::Absent), Held::Decoded) {
                evicted.push(Evicted {
                    first_key: slot.info.first_key.clone(),
                    last_key: slot.info.last_key.clone(),
                });
            }
        }
        evicted
    }

    /// The table of a new index that a checkpoint wrote from memory: pages
    /// it kept stay as they are held; the pages it wrote are decoded (their
    /// entries are what memory holds).
    pub fn rebased(mut self, infos: Vec<PageInfo>) -> Self {
        let mut old: Vec<Option<Slot>> = self.slots.drain(..).map(Some).collect();
        let mut table = Self {
            slots: Vec::with_capacity(infos.len()),
            clock: self.clock + 1,
            held_bytes: 0,
        };
        for info in infos {
            let kept = old
                .iter_mut()
                .find(|slot| slot.as_ref().is_some_and(|slot| slot.info.id == info.id))
                .and_then(Option::take);
            let slot = match kept {
                Some(kept) => kept,
                None => Slot {
                    info,
                    held: Held::Decoded,
                    used: table.clock,
                },
            };
            table.held_bytes = table.held_bytes.saturating_add(slot.cost());
            table.slots.push(slot);
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::entry::StoredEntry;
    use crate::core::record::PageWriter;
    use crate::core::versionstamp;
    use denokv_proto::KvValue;

    /// Pages of two one-byte keys each: 0-1, 2-3, 4-5, ...
    fn pages(count: u8) -> Vec<Page> {
        (0..count)
            .map(|n| {
                let mut writer = PageWriter::new(usize::MAX);
                for key in [2 * n, 2 * n + 1] {
                    let entry = StoredEntry {
                        value: KvValue::Bytes(vec![key; 10]),
                        versionstamp: versionstamp::from_version(1),
                        expires_at_ms: None,
                    };
                    writer.push(&[key], &entry);
                }
                let bytes = writer.finish().pop().expect("one page");
                Page::parse(bytes).expect("valid").expect("not empty")
            })
            .collect()
    }

    fn absent(count: u8) -> PageTable {
        let infos = pages(count)
            .iter()
            .enumerate()
            .map(|(id, page)| PageInfo::of(id as u64, page))
            .collect();
        PageTable::absent(infos)
    }

    #[test]
    fn missing_pages_are_those_a_range_or_key_meets() {
        let table = absent(4);
        let within = |lower: &[u8], upper: &[u8]| table.missing_within(Bound::Included(lower), Bound::Excluded(upper));
        assert_eq!(within(&[1], &[5]), vec![0, 1, 2]);
        assert_eq!(within(&[2], &[4]), vec![1]);
        assert_eq!(
            table.missing_for([&[3u8][..], &[3][..], &[7][..], &[9][..]]),
            vec![1, 3]
        );
    }

    #[test]
    fn a_stretch_takes_pages_until_it_has_enough_entries() {
        let table = absent(4);
        let (ids, end) = table.stretch(Bound::Included(&[1]), Bound::Excluded(&[9]), false, 3, 8);
        assert_eq!((ids, end), (vec![0, 1], Some(vec![4])));
        let (ids, end) = table.stretch(Bound::Included(&[1]), Bound::Excluded(&[9]), true, 3, 8);
        assert_eq!((ids, end), (vec![3, 2], Some(vec![4])));
        let (ids, end) = table.stretch(Bound::Included(&[5]), Bound::Excluded(&[9]), false, 100, 8);
        assert_eq!((ids, end), (vec![2, 3], None));
        let (ids, end) = table.stretch(Bound::Included(&[1]), Bound::Excluded(&[9]), false, 100, 1);
        assert_eq!((ids, end), (vec![0], Some(vec![2])));
    }

    #[test]
    fn a_page_that_is_not_the_one_its_index_describes_is_refused() {
        let mut table = absent(2);
        let mut wrong = pages(2);
        let second = wrong.pop().expect("two");
        assert!(table.install(0, second).is_err());
        let first = wrong.pop().expect("one");
        assert!(table.install(0, first).expect("describes"));
        assert!(!table.install(7, pages(1).pop().expect("one")).expect("no such id"));
    }

    #[test]
    fn the_least_recently_used_pages_go_first_and_kept_ones_stay() {
        let mut table = absent(3);
        for (id, page) in pages(3).into_iter().enumerate() {
            assert!(table.install(id as u64, page).expect("describes"));
        }
        table.decode_within(Bound::Included(&[0]), Bound::Included(&[0]));
        table.decode_within(Bound::Included(&[4]), Bound::Included(&[4]));
        let one = table.held_bytes() / 5;
        // Page 1 is the oldest; then page 0, which `keep` protects; then 2.
        let evicted = table.evict(one, &|first, _| first == [0]);
        assert_eq!(
            evicted.iter().map(|e| e.first_key.clone()).collect::<Vec<_>>(),
            vec![vec![4]]
        );
        assert_eq!(table.missing_within(Bound::Unbounded, Bound::Unbounded), vec![1, 2]);
        assert!(table.held_bytes() > 0);
        assert!(table.evict(0, &|_, _| false).len() == 1);
        assert_eq!(table.held_bytes(), 0);
    }
}
