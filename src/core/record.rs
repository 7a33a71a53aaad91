//! The bytes a durable store keeps: one record per commit (its version and
//! the changes it made) and snapshot pages (runs of sorted entries). The
//! formats are compact and self-describing enough to reject corruption with
//! an error instead of a panic, since disk contents are input like any other.
//!
//! Both start with a format byte so that a later layout can still read them.

use std::collections::BTreeMap;

use denokv_proto::KvValue;

use super::entry::{PreparedCommit, StoredEntry};
use super::error::{KvError, KvResult};
use super::queue::QueuedMessage;
use super::versionstamp;

const COMMIT_FORMAT: u8 = 1;
const PAGE_FORMAT: u8 = 1;
/// Also checked by the browser store (src/bindings/idb_store.rs), which
/// leaves queue rows of any other format alone (a newer webkv's).
pub const MESSAGE_FORMAT: u8 = 1;

const TAG_DELETE: u8 = 0;
const TAG_V8: u8 = 1;
const TAG_BYTES: u8 = 2;
const TAG_U64: u8 = 3;

const CORRUPT: &str = "The stored database is corrupt: ";

pub fn corrupt(what: &str) -> KvError {
    KvError::error(format!("{CORRUPT}{what}"))
}

/// Says where a corrupt record was found: "corrupt: <place>: <what>".
pub fn found_in(place: &str) -> impl Fn(KvError) -> KvError + '_ {
    move |err| match err.message.strip_prefix(CORRUPT) {
        Some(what) => corrupt(&format!("{place}: {what}")),
        None => err,
    }
}

/// The highest version a store can hold: IndexedDB keys and JS numbers are
/// doubles, exact up to 2^53 - 1.
pub const MAX_VERSION: u64 = (1 << 53) - 1;

/// Bounds on a stored queue message's lists, far above what enqueue allows
/// (5 backoff intervals), so that a corrupt one cannot make a failing
/// message be retried without end.
const MAX_BACKOFF_INTERVALS: usize = 100;

pub(super) struct Writer(pub(super) Vec<u8>);

impl Writer {
    pub(super) fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn value(&mut self, value: &KvValue) {
        match value {
            KvValue::V8(bytes) => {
                self.0.push(TAG_V8);
                self.bytes(bytes);
            }
            KvValue::Bytes(bytes) => {
                self.0.push(TAG_BYTES);
                self.bytes(bytes);
            }
            KvValue::U64(n) => {
                self.0.push(TAG_U64);
                self.0.extend_from_slice(&n.to_le_bytes());
            }
        }
    }

    /// 0 for "never"; otherwise the millisecond plus one.
    pub(super) fn expiry(&mut self, expires_at_ms: Option<u64>) {
        self.varint(expires_at_ms.map_or(0, |at| at.saturating_add(1)));
    }
}

pub(super) struct Reader<'a> {
    pub(super) input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> KvResult<u8> {
        let (&first, rest) = self.input.split_first().ok_or_else(|| corrupt("truncated"))?;
        self.input = rest;
        Ok(first)
    }

    fn take(&mut self, len: usize) -> KvResult<&'a [u8]> {
        if len > self.input.len() {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    pub(super) fn varint(&mut self) -> KvResult<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("overlong number"))
    }

    fn len(&mut self) -> KvResult<usize> {
        let len = usize::try_from(self.varint()?).map_err(|_| corrupt("length"))?;
        if len > self.input.len() {
            return Err(corrupt("truncated"));
        }
        Ok(len)
    }

    pub(super) fn bytes(&mut self) -> KvResult<Vec<u8>> {
        let len = self.len()?;
        Ok(self.take(len)?.to_vec())
    }

    /// A value, or `None` for a deletion.
    fn value(&mut self) -> KvResult<Option<KvValue>> {
        match self.byte()? {
            TAG_DELETE => Ok(None),
            TAG_V8 => Ok(Some(KvValue::V8(self.bytes()?))),
            TAG_BYTES => Ok(Some(KvValue::Bytes(self.bytes()?))),
            TAG_U64 => {
                let raw = self.take(8)?;
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                Ok(Some(KvValue::U64(u64::from_le_bytes(le))))
            }
            _ => Err(corrupt("unknown value tag")),
        }
    }

    pub(super) fn expiry(&mut self) -> KvResult<Option<u64>> {
        Ok(self.varint()?.checked_sub(1))
    }

    /// How many items follow, each at least `min_item_bytes` long: a count
    /// the rest of the input cannot hold is corrupt, which bounds what a
    /// corrupt count can make us allocate or loop over.
    pub(super) fn count(&mut self, min_item_bytes: usize) -> KvResult<usize> {
        let count = usize::try_from(self.varint()?).map_err(|_| corrupt("count"))?;
        if count.saturating_mul(min_item_bytes) > self.input.len() {
            return Err(corrupt("count"));
        }
        Ok(count)
    }

    pub(super) fn finish(self) -> KvResult<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes"))
        }
    }
}

/// A commit's durable form. Queue messages are kept apart (in the queue
/// store), so they are not part of the record.
pub fn encode_commit(commit: &PreparedCommit) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(64));
    out.0.push(COMMIT_FORMAT);
    out.varint(commit.version);
    out.varint(commit.changes.len() as u64);
    for (key, change) in &commit.changes {
        out.bytes(key);
        match change {
            Some(entry) => {
                out.value(&entry.value);
                out.expiry(entry.expires_at_ms);
            }
            None => out.0.push(TAG_DELETE),
        }
    }
    out.0
}

pub fn decode_commit(input: &[u8]) -> KvResult<PreparedCommit> {
    let mut reader = Reader { input };
    if reader.byte()? != COMMIT_FORMAT {
        return Err(corrupt("unknown commit format"));
    }
    let version = reader.varint()?;
    if version == 0 || version > MAX_VERSION {
        return Err(corrupt("a commit's version is out of range"));
    }
    let stamp = versionstamp::from_version(version);
    let mut changes = BTreeMap::new();
    // A change is at least a key length and a tag.
    for _ in 0..reader.count(2)? {
        let key = reader.bytes()?;
        let change = match reader.value()? {
            Some(value) => Some(StoredEntry {
                value,
                versionstamp: stamp,
                expires_at_ms: reader.expiry()?,
            }),
            None => None,
        };
        changes.insert(key, change);
    }
    reader.finish()?;
    Ok(PreparedCommit {
        version,
        changes,
        enqueues: Vec::new(),
    })
}

/// A queue message's durable form (its delivery time is kept beside it, as
/// the store's ordering key).
pub fn encode_message(message: &QueuedMessage) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(message.payload.len() + 16));
    out.0.push(MESSAGE_FORMAT);
    out.bytes(&message.payload);
    out.varint(message.deliver_at_ms);
    out.varint(message.keys_if_undelivered.len() as u64);
    for key in &message.keys_if_undelivered {
        out.bytes(key);
    }
    out.varint(message.backoff_schedule.len() as u64);
    for interval in &message.backoff_schedule {
        out.varint(u64::from(*interval));
    }
    out.varint(message.failed_attempts as u64);
    out.0
}

pub fn decode_message(input: &[u8]) -> KvResult<QueuedMessage> {
    let mut reader = Reader { input };
    if reader.byte()? != MESSAGE_FORMAT {
        return Err(corrupt("unknown message format"));
    }
    let payload = reader.bytes()?;
    let deliver_at_ms = reader.varint()?;
    let keys_if_undelivered = (0..reader.count(1)?).map(|_| reader.bytes()).collect::<KvResult<_>>()?;
    // An interval under 128 ms is one byte.
    let intervals = reader.count(1)?;
    if intervals > MAX_BACKOFF_INTERVALS {
        return Err(corrupt("too many backoff intervals"));
    }
    let backoff_schedule: Vec<u32> = (0..intervals)
        .map(|_| u32::try_from(reader.varint()?).map_err(|_| corrupt("backoff interval")))
        .collect::<KvResult<_>>()?;
    let failed_attempts = usize::try_from(reader.varint()?).map_err(|_| corrupt("attempts"))?;
    if failed_attempts > backoff_schedule.len() {
        return Err(corrupt("more failed attempts than backoff intervals"));
    }
    reader.finish()?;
    Ok(QueuedMessage {
        payload,
        deliver_at_ms,
        keys_if_undelivered,
        backoff_schedule,
        failed_attempts,
    })
}

/// Cuts sorted entries into pages of roughly `page_bytes` each.
pub struct PageWriter {
    page_bytes: usize,
    pages: Vec<Vec<u8>>,
    current: Writer,
    count: u64,
}

impl PageWriter {
    pub fn new(page_bytes: usize) -> Self {
        Self {
            page_bytes,
            pages: Vec::new(),
            current: Writer(Vec::new()),
            count: 0,
        }
    }

    pub fn push(&mut self, key: &[u8], entry: &StoredEntry) {
        self.current.bytes(key);
        self.current.value(&entry.value);
        self.current.varint(version_of(&entry.versionstamp));
        self.current.expiry(entry.expires_at_ms);
        self.count += 1;
        if self.current.0.len() >= self.page_bytes {
            self.cut();
        }
    }

    fn cut(&mut self) {
        let body = std::mem::take(&mut self.current.0);
        let mut page = Writer(Vec::with_capacity(body.len() + 10));
        page.0.push(PAGE_FORMAT);
        page.varint(self.count);
        page.0.extend_from_slice(&body);
        self.pages.push(page.0);
        self.count = 0;
    }

    pub fn finish(mut self) -> Vec<Vec<u8>> {
        if self.count > 0 {
            self.cut();
        }
        self.pages
    }
}

/// The engine only makes versionstamps from versions (the last two bytes
/// are zero), so a page stores the version alone.
fn version_of(stamp: &versionstamp::Versionstamp) -> u64 {
    let mut be = [0u8; 8];
    be.copy_from_slice(&stamp[..8]);
    u64::from_be_bytes(be)
}

/// A snapshot page, checked but not yet decoded. Decoding every entry of a
/// large database costs more than the rest of opening it, so the engine
/// keeps pages as bytes until something touches their key range.
#[derive(Debug)]
pub struct Page {
    bytes: Vec<u8>,
    len: usize,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    earliest_expiry: Option<u64>,
    newest_version: u64,
}

/// One entry as it sits in a page's bytes.
struct PageEntry<'a> {
    key: &'a [u8],
    value: ValueRef<'a>,
    version: u64,
    expires_at_ms: Option<u64>,
}

enum ValueRef<'a> {
    V8(&'a [u8]),
    Bytes(&'a [u8]),
    U64(u64),
}

impl ValueRef<'_> {
    fn to_value(&self) -> KvValue {
        match self {
            ValueRef::V8(bytes) => KvValue::V8(bytes.to_vec()),
            ValueRef::Bytes(bytes) => KvValue::Bytes(bytes.to_vec()),
            ValueRef::U64(n) => KvValue::U64(*n),
        }
    }
}

/// Walks a page's entries. It returns `None` at the first malformed byte
/// instead of a `KvError`: carrying an error value through every step
/// costs more than the walk itself, and opening a large database walks
/// every entry once.
struct PageScan<'a> {
    input: &'a [u8],
}

impl<'a> PageScan<'a> {
    #[inline]
    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for (index, &byte) in self.input.iter().enumerate().take(10) {
            n |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.input = &self.input[index + 1..];
                return Some(n);
            }
        }
        None
    }

    #[inline]
    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        if len > self.input.len() {
            return None;
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Some(head)
    }

    fn entry(&mut self) -> Option<PageEntry<'a>> {
        let key_len = self.varint()?;
        let key = self.take(key_len)?;
        let (&tag, rest) = self.input.split_first()?;
        self.input = rest;
        let value = match tag {
            TAG_V8 => {
                let len = self.varint()?;
                ValueRef::V8(self.take(len)?)
            }
            TAG_BYTES => {
                let len = self.varint()?;
                ValueRef::Bytes(self.take(len)?)
            }
            TAG_U64 => {
                let mut le = [0u8; 8];
                le.copy_from_slice(self.take(8)?);
                ValueRef::U64(u64::from_le_bytes(le))
            }
            _ => return None,
        };
        Some(PageEntry {
            key,
            value,
            version: self.varint()?,
            expires_at_ms: self.varint()?.checked_sub(1),
        })
    }
}

impl Page {
    /// Checks the whole page (format, structure, keys strictly ascending)
    /// without copying anything out of it, so a corrupt page fails here and
    /// decoding it later cannot. `None` for a page without entries.
    pub fn parse(bytes: Vec<u8>) -> KvResult<Option<Page>> {
        let mut reader = Reader { input: &bytes };
        if reader.byte()? != PAGE_FORMAT {
            return Err(corrupt("unknown page format"));
        }
        // An entry is at least a key length, a tag, a value, a version and
        // an expiry.
        let len = reader.count(4)?;
        let mut scan = PageScan { input: reader.input };
        let mut bounds: Option<(&[u8], &[u8])> = None;
        let mut earliest_expiry: Option<u64> = None;
        let mut newest_version = 0;
        for _ in 0..len {
            let entry = scan.entry().ok_or_else(|| corrupt("malformed page entry"))?;
            newest_version = newest_version.max(entry.version);
            if let Some(at) = entry.expires_at_ms {
                earliest_expiry = Some(earliest_expiry.map_or(at, |earliest| earliest.min(at)));
            }
            let key = entry.key;
            bounds = match bounds {
                None => Some((key, key)),
                Some((_, last)) if key <= last => return Err(corrupt("page keys out of order")),
                Some((first, _)) => Some((first, key)),
            };
        }
        if !scan.input.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        let Some((first_key, last_key)) = bounds.map(|(first, last)| (first.to_vec(), last.to_vec())) else {
            return Ok(None);
        };
        Ok(Some(Page {
            bytes,
            len,
            first_key,
            last_key,
            earliest_expiry,
            newest_version,
        }))
    }

    /// The highest version of its entries (none may be newer than the
    /// snapshot the page belongs to).
    pub fn newest_version(&self) -> u64 {
        self.newest_version
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The page as stored.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn first_key(&self) -> &[u8] {
        &self.first_key
    }

    pub fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// When the page's first entry expires, if any does.
    pub fn earliest_expiry(&self) -> Option<u64> {
        self.earliest_expiry
    }

    /// The page's entries, in key order.
    pub fn decode(&self) -> Vec<(Vec<u8>, StoredEntry)> {
        let mut reader = Reader { input: &self.bytes };
        let mut out = Vec::with_capacity(self.len);
        // `parse` accepted these bytes, so no step can fail; should one fail
        // anyway, the entries read so far are returned.
        if reader.byte().is_err() || reader.count(4).is_err() {
            return out;
        }
        let mut scan = PageScan { input: reader.input };
        for _ in 0..self.len {
            let Some(entry) = scan.entry() else {
                break;
            };
            out.push((
                entry.key.to_vec(),
                StoredEntry {
                    value: entry.value.to_value(),
                    versionstamp: versionstamp::from_version(entry.version),
                    expires_at_ms: entry.expires_at_ms,
                },
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: KvValue, version: u64, expires_at_ms: Option<u64>) -> StoredEntry {
        StoredEntry {
            value,
            versionstamp: versionstamp::from_version(version),
            expires_at_ms,
        }
    }

    fn same_entry(a: &StoredEntry, b: &StoredEntry) -> bool {
        a.versionstamp == b.versionstamp
            && a.expires_at_ms == b.expires_at_ms
            && format!("{:?}", a.value) == format!("{:?}", b.value)
    }

    #[test]
    fn a_commit_round_trips() {
        let mut changes = BTreeMap::new();
        changes.insert(
            b"a".to_vec(),
            Some(entry(KvValue::V8(vec![0xff, 0x0f, 0x22]), 300, None)),
        );
        changes.insert(b"b".to_vec(), Some(entry(KvValue::Bytes(vec![1, 2]), 300, Some(0))));
        changes.insert(
            b"c".to_vec(),
            Some(entry(KvValue::U64(u64::MAX), 300, Some(1_700_000_000_000))),
        );
        changes.insert(b"d".to_vec(), None);
        let commit = PreparedCommit {
            version: 300,
            changes,
            enqueues: Vec::new(),
        };
        let decoded = decode_commit(&encode_commit(&commit)).expect("decodes");
        assert_eq!(decoded.version, 300);
        assert_eq!(decoded.changes.len(), 4);
        for (key, change) in &commit.changes {
            match (change, &decoded.changes[key]) {
                (Some(a), Some(b)) => assert!(same_entry(a, b), "{key:?}"),
                (None, None) => {}
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn pages_split_by_size_and_keep_order() {
        let mut writer = PageWriter::new(100);
        let entries: Vec<(Vec<u8>, StoredEntry)> = (0u32..50)
            .map(|i| {
                let value = KvValue::V8(vec![7; (i % 5) as usize]);
                (
                    i.to_be_bytes().to_vec(),
                    entry(value, u64::from(i) + 1, (i % 3 == 0).then_some(99)),
                )
            })
            .collect();
        for (key, stored) in &entries {
            writer.push(key, stored);
        }
        let pages = writer.finish();
        assert!(pages.len() >= 4, "{} pages", pages.len());
        let mut decoded = Vec::new();
        for bytes in pages {
            let page = Page::parse(bytes).expect("parses").expect("not empty");
            let entries = page.decode();
            assert_eq!(entries.len(), page.len());
            assert_eq!(page.first_key(), entries[0].0.as_slice());
            assert_eq!(page.last_key(), entries[entries.len() - 1].0.as_slice());
            decoded.extend(entries);
        }
        assert_eq!(decoded.len(), entries.len());
        for ((key_a, a), (key_b, b)) in entries.iter().zip(&decoded) {
            assert_eq!(key_a, key_b);
            assert!(same_entry(a, b));
        }
    }

    #[test]
    fn a_message_round_trips_and_truncation_is_an_error() {
        let message = QueuedMessage {
            payload: vec![0xff, 0x0f, 0x49, 0x02],
            deliver_at_ms: 1_700_000_000_123,
            keys_if_undelivered: vec![b"a".to_vec(), b"bc".to_vec()],
            backoff_schedule: vec![100, 60_000],
            failed_attempts: 1,
        };
        let bytes = encode_message(&message);
        let decoded = decode_message(&bytes).expect("decodes");
        assert_eq!(format!("{decoded:?}"), format!("{message:?}"));
        for cut in 0..bytes.len() {
            assert!(decode_message(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        let mut changes = BTreeMap::new();
        changes.insert(b"key".to_vec(), Some(entry(KvValue::V8(vec![1, 2, 3]), 5, None)));
        let good = encode_commit(&PreparedCommit {
            version: 5,
            changes,
            enqueues: Vec::new(),
        });
        for cut in 0..good.len() {
            assert!(decode_commit(&good[..cut]).is_err(), "truncated at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode_commit(&trailing).is_err());
        assert!(decode_commit(&[9]).is_err(), "unknown format");
        assert!(
            Page::parse(vec![1, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err(),
            "huge count"
        );
    }

    #[test]
    fn versions_and_lists_out_of_range_are_corrupt() {
        let commit = |version| {
            encode_commit(&PreparedCommit {
                version,
                changes: BTreeMap::new(),
                enqueues: Vec::new(),
            })
        };
        assert!(decode_commit(&commit(1)).is_ok());
        assert!(decode_commit(&commit(MAX_VERSION)).is_ok());
        assert!(decode_commit(&commit(0)).is_err(), "no commit has version 0");
        assert!(
            decode_commit(&commit(MAX_VERSION + 1)).is_err(),
            "past what IndexedDB keys hold"
        );
        assert!(decode_commit(&commit(u64::MAX)).is_err());

        let message = |intervals: usize, failed_attempts: usize| {
            encode_message(&QueuedMessage {
                payload: vec![1],
                deliver_at_ms: 5,
                keys_if_undelivered: vec![],
                backoff_schedule: vec![0; intervals],
                failed_attempts,
            })
        };
        assert!(decode_message(&message(5, 5)).is_ok());
        assert!(decode_message(&message(MAX_BACKOFF_INTERVALS, 0)).is_ok());
        assert!(
            decode_message(&message(MAX_BACKOFF_INTERVALS + 1, 0)).is_err(),
            "a failing message would be retried without end"
        );
        assert!(decode_message(&message(2, 3)).is_err(), "more attempts than intervals");
    }

    #[test]
    fn a_page_knows_its_newest_version_and_errors_say_where() {
        let mut writer = PageWriter::new(usize::MAX);
        writer.push(b"a", &entry(KvValue::Bytes(vec![1]), 7, None));
        writer.push(b"b", &entry(KvValue::Bytes(vec![1]), 3, None));
        let page = Page::parse(writer.finish().remove(0))
            .expect("parses")
            .expect("not empty");
        assert_eq!(page.newest_version(), 7);
        let err = found_in("a log record")(corrupt("truncated"));
        assert_eq!(err.message, "The stored database is corrupt: a log record: truncated");
        let other = found_in("a log record")(KvError::error("IndexedDB failed"));
        assert_eq!(other.message, "IndexedDB failed", "only corrupt errors get a place");
    }

    fn one_page(keys: &[&[u8]]) -> Vec<u8> {
        let mut writer = PageWriter::new(usize::MAX);
        for key in keys {
            writer.push(key, &entry(KvValue::Bytes(vec![1]), 1, None));
        }
        writer.finish().remove(0)
    }

    #[test]
    fn a_page_is_checked_whole_before_anything_is_decoded() {
        let good = one_page(&[b"a", b"b", b"c"]);
        for cut in 0..good.len() {
            assert!(Page::parse(good[..cut].to_vec()).is_err(), "truncated at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(Page::parse(trailing).is_err(), "trailing bytes");
        let mut bad_tag = good.clone();
        bad_tag[4] = 9; // the first entry's value tag: format, count, key length, key, tag
        assert!(Page::parse(bad_tag).is_err(), "unknown value tag");
        for unordered in [one_page(&[b"b", b"a"]), one_page(&[b"a", b"a"])] {
            assert!(Page::parse(unordered).is_err(), "keys must ascend strictly");
        }
        assert!(Page::parse(vec![PAGE_FORMAT, 0]).expect("parses").is_none());
    }
}
