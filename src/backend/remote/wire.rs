//! The KV Connect data path's protobuf messages (`denokv_proto::datapath`),
//! from the client's side: requests out, outputs back.
//!
//! Everything here reads bytes a server chose, so nothing trusts them: every
//! length is checked before it meets a `usize` (on wasm32 that is 32 bits, so
//! a u32 length plus a header wraps), answers are capped at sizes derived from
//! KV Connect's limits, repeated fields are counted before prost allocates
//! them, and what a decoded answer holds is checked against what was asked
//! (as many ranges and keys, entries inside their range and in order, 10-byte
//! versionstamps, known enum values). A bad answer is an `Err`, never a panic.

use denokv_proto::datapath as pb;
use denokv_proto::{AtomicWrite, KvEntry, KvValue, MutationKind, ReadRange, Versionstamp};
use prost::Message;

use crate::core::error::KvError;

fn protocol_error(why: &str) -> KvError {
    KvError::type_error(format!("Invalid KV Connect response: {why}"))
}

// ---------------------------------------------------------------------------
// Size caps, derived from the limits Deno and denokv enforce on what can be
// stored (denokv_proto::limits): a key of at most 2048 bytes when written
// (2049 when read; a versionstamped key adds its suffix), a value of at most
// 65536 bytes, at most 1000 entries per read and 10 watched keys.

/// The most one entry can take on the wire: a key with room for a
/// versionstamp suffix (4 KiB), the largest value, a versionstamp and the
/// protobuf tags and lengths around them.
pub const MAX_ENTRY_WIRE_BYTES: usize = 4096 + 65536 + 10 + 64;

/// The largest watch frame accepted: 10 watched keys, each with the largest
/// entry, is 697,060 bytes; 1 MiB leaves room. A frame header declaring more
/// fails the watch before any of its body is buffered.
pub const MAX_WATCH_FRAME_BYTES: usize = 1 << 20;
const _: () = assert!(MAX_WATCH_FRAME_BYTES >= 10 * MAX_ENTRY_WIRE_BYTES + 1024);

/// A metadata exchange answer (a few hundred bytes of JSON in practice).
pub const MAX_METADATA_BYTES: usize = 256 * 1024;

/// Answers that carry no entries: an atomic write's output (a versionstamp
/// and at most 100 failed check indexes), error texts, a refused watch.
pub const MAX_SMALL_ANSWER_BYTES: usize = 64 * 1024;

/// A snapshot read's answer: each range's limit times the largest entry
/// (1000 entries of 64 KiB, about 70 MB, for the largest list batch).
pub fn max_snapshot_read_bytes(ranges: &[ReadRange]) -> usize {
    ranges
        .iter()
        .map(|range| usize::try_from(range.limit.get()).unwrap_or(usize::MAX))
        .fold(1024usize, |total, limit| {
            total.saturating_add(limit.saturating_mul(MAX_ENTRY_WIRE_BYTES))
        })
}

// ---------------------------------------------------------------------------
// A minimal protobuf walker, to count repeated fields before prost decodes
// (and allocates) them: two bytes of input can make a 40-byte struct, so an
// answer within its byte cap could otherwise still take gigabytes.

enum Field<'a> {
    Varint,
    Fixed,
    Bytes(&'a [u8]),
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, KvError> {
    let mut value = 0u64;
    for shift in 0..10u32 {
        let (&byte, rest) = buf.split_first().ok_or_else(|| protocol_error("truncated varint"))?;
        *buf = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift * 7).unwrap_or(0);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(protocol_error("varint longer than 10 bytes"))
}

fn take<'a>(buf: &mut &'a [u8], length: u64) -> Result<&'a [u8], KvError> {
    let length = usize::try_from(length).map_err(|_| protocol_error("length out of range"))?;
    if length > buf.len() {
        return Err(protocol_error("length beyond the end of the message"));
    }
    let (field, rest) = buf.split_at(length);
    *buf = rest;
    Ok(field)
}

/// Calls `visit` with each top-level field's number and value.
fn walk<'a>(mut buf: &'a [u8], mut visit: impl FnMut(u64, Field<'a>) -> Result<(), KvError>) -> Result<(), KvError> {
    while !buf.is_empty() {
        let tag = read_varint(&mut buf)?;
        let field = match tag & 7 {
            0 => {
                read_varint(&mut buf)?;
                Field::Varint
            }
            1 => {
                take(&mut buf, 8)?;
                Field::Fixed
            }
            2 => {
                let length = read_varint(&mut buf)?;
                Field::Bytes(take(&mut buf, length)?)
            }
            5 => {
                take(&mut buf, 4)?;
                Field::Fixed
            }
            _ => return Err(protocol_error("unsupported protobuf wire type")),
        };
        visit(tag >> 3, field)?;
    }
    Ok(())
}

/// Counts the occurrences of field `number`, failing once there are more than `max`.
fn count_field(buf: &[u8], number: u64, max: usize, what: &str) -> Result<usize, KvError> {
    let mut count = 0usize;
    walk(buf, |n, _| {
        if n == number {
            count += 1;
            if count > max {
                return Err(protocol_error(&format!("more {what} than asked for")));
            }
        }
        Ok(())
    })?;
    Ok(count)
}

pub fn snapshot_read_request(ranges: &[ReadRange]) -> Vec<u8> {
    pb::SnapshotRead {
        ranges: ranges
            .iter()
            .map(|range| pb::ReadRange {
                start: range.start.clone(),
                end: range.end.clone(),
                limit: i32::try_from(range.limit.get()).unwrap_or(i32::MAX),
                reverse: range.reverse,
            })
            .collect(),
    }
    .encode_to_vec()
}

pub enum SnapshotReadOutcome {
    Entries(Vec<Vec<KvEntry>>),
    /// The endpoint cannot serve reads now: refresh metadata and retry.
    ReadDisabled,
}

/// Decodes and checks a snapshot read's answer to `ranges`: one range of
/// entries per range asked, each within its limit, its keys inside the range
/// and in the order asked (so a list always moves forward).
pub fn snapshot_read_output(body: &[u8], ranges: &[ReadRange]) -> Result<SnapshotReadOutcome, KvError> {
    let mut range_index = 0usize;
    walk(body, |number, field| {
        if number == 1 {
            let range = ranges
                .get(range_index)
                .ok_or_else(|| protocol_error("more ranges than asked for"))?;
            range_index += 1;
            let Field::Bytes(bytes) = field else {
                return Err(protocol_error("a range is not a message"));
            };
            let limit = usize::try_from(range.limit.get()).unwrap_or(usize::MAX);
            count_field(bytes, 1, limit, "entries")?;
        }
        Ok(())
    })?;
    let output = pb::SnapshotReadOutput::decode(body).map_err(|_| protocol_error("undecodable snapshot read"))?;
    match pb::SnapshotReadStatus::try_from(output.status) {
        Ok(pb::SnapshotReadStatus::SrReadDisabled) => return Ok(SnapshotReadOutcome::ReadDisabled),
        Ok(_) if output.read_disabled => return Ok(SnapshotReadOutcome::ReadDisabled),
        // Servers of protocol versions 1 and 2 leave the status unset.
        Ok(pb::SnapshotReadStatus::SrSuccess | pb::SnapshotReadStatus::SrUnspecified) => {}
        Err(_) => return Err(protocol_error("unknown snapshot read status")),
    }
    if output.ranges.len() != ranges.len() {
        return Err(protocol_error("fewer ranges than asked for"));
    }
    let mut out = Vec::with_capacity(ranges.len());
    for (range, answer) in ranges.iter().zip(output.ranges) {
        let entries = answer
            .values
            .into_iter()
            .map(entry_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        check_range_entries(range, &entries)?;
        out.push(entries);
    }
    Ok(SnapshotReadOutcome::Entries(out))
}

fn check_range_entries(range: &ReadRange, entries: &[KvEntry]) -> Result<(), KvError> {
    let limit = usize::try_from(range.limit.get()).unwrap_or(usize::MAX);
    if entries.len() > limit {
        return Err(protocol_error("more entries than asked for"));
    }
    for entry in entries {
        if entry.key.as_slice() < range.start.as_slice() || entry.key.as_slice() >= range.end.as_slice() {
            return Err(protocol_error("an entry for a key outside the range asked for"));
        }
    }
    for pair in entries.windows(2) {
        let in_order = if range.reverse {
            pair[0].key > pair[1].key
        } else {
            pair[0].key < pair[1].key
        };
        if !in_order {
            return Err(protocol_error("entries out of order"));
        }
    }
    Ok(())
}

fn entry_from_pb(entry: pb::KvEntry) -> Result<KvEntry, KvError> {
    let versionstamp: Versionstamp = entry
        .versionstamp
        .as_slice()
        .try_into()
        .map_err(|_| protocol_error("versionstamp is not 10 bytes"))?;
    Ok(KvEntry {
        key: entry.key,
        value: value_from_pb(entry.value, entry.encoding)?,
        versionstamp,
    })
}

fn value_from_pb(data: Vec<u8>, encoding: i32) -> Result<KvValue, KvError> {
    match pb::ValueEncoding::try_from(encoding) {
        Ok(pb::ValueEncoding::VeV8) => Ok(KvValue::V8(data)),
        Ok(pb::ValueEncoding::VeBytes) => Ok(KvValue::Bytes(data)),
        Ok(pb::ValueEncoding::VeLe64) => <[u8; 8]>::try_from(data.as_slice())
            .map(|le| KvValue::U64(u64::from_le_bytes(le)))
            .map_err(|_| protocol_error("LE64 value is not 8 bytes")),
        _ => Err(protocol_error("unknown value encoding")),
    }
}

fn value_to_pb(value: KvValue) -> pb::KvValue {
    let (data, encoding) = match value {
        KvValue::V8(data) => (data, pb::ValueEncoding::VeV8),
        KvValue::Bytes(data) => (data, pb::ValueEncoding::VeBytes),
        KvValue::U64(n) => (n.to_le_bytes().to_vec(), pb::ValueEncoding::VeLe64),
    };
    pb::KvValue {
        data,
        encoding: encoding as i32,
    }
}

pub fn watch_request(keys: &[Vec<u8>]) -> Vec<u8> {
    pb::Watch {
        keys: keys.iter().map(|key| pb::WatchKey { key: key.clone() }).collect(),
    }
    .encode_to_vec()
}

pub enum WatchFrame {
    /// Per watched key: `None` if unchanged since the last frame, else its
    /// entry (`Some(None)` for a missing key).
    Update(Vec<Option<Option<KvEntry>>>),
    ReadDisabled,
}

/// Decodes and checks one watch frame for the watched `keys`: one answer
/// per key, and a changed entry only for the key at its position.
pub fn watch_output(body: &[u8], keys: &[Vec<u8>]) -> Result<WatchFrame, KvError> {
    count_field(body, 2, keys.len(), "watched keys")?;
    let output = pb::WatchOutput::decode(body).map_err(|_| protocol_error("undecodable watch output"))?;
    match pb::SnapshotReadStatus::try_from(output.status) {
        Ok(pb::SnapshotReadStatus::SrSuccess) => {}
        Ok(pb::SnapshotReadStatus::SrReadDisabled) => return Ok(WatchFrame::ReadDisabled),
        _ => return Err(protocol_error("watch status")),
    }
    if output.keys.len() != keys.len() {
        return Err(protocol_error("a watch frame for fewer keys than watched"));
    }
    let updates = output
        .keys
        .into_iter()
        .zip(keys)
        .map(|(answer, key)| match (answer.changed, answer.entry_if_changed) {
            (false, _) => Ok(None),
            (true, None) => Ok(Some(None)),
            (true, Some(entry)) => {
                let entry = entry_from_pb(entry)?;
                if entry.key != *key {
                    return Err(protocol_error("a watch entry for a key not watched"));
                }
                Ok(Some(Some(entry)))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(WatchFrame::Update(updates))
}

/// Splits a watch stream into its length-prefixed frames (a u32
/// little-endian length, then that many bytes).
#[derive(Default)]
pub struct FrameReader {
    buffer: Vec<u8>,
    /// Where the unread bytes of `buffer` start: frames are taken without
    /// moving the rest, which is compacted when more arrives.
    start: usize,
}

impl FrameReader {
    /// Adds bytes received from the stream. Callers take every complete
    /// frame before pushing more, so the buffer holds at most one frame's
    /// header and body plus one chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete frame (empty for a ping), `None` until one has
    /// arrived, or an error as soon as a header declares a frame over
    /// `MAX_WATCH_FRAME_BYTES`, before any of its body is kept.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, KvError> {
        let unread = self.buffer.get(self.start..).unwrap_or_default();
        let Some(header) = unread.get(..4) else {
            return Ok(None);
        };
        let declared = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let length = usize::try_from(declared)
            .ok()
            .filter(|&length| length <= MAX_WATCH_FRAME_BYTES)
            .ok_or_else(|| {
                protocol_error(&format!(
                    "a watch frame of {declared} bytes (the limit is {MAX_WATCH_FRAME_BYTES})"
                ))
            })?;
        let end = length
            .checked_add(4)
            .ok_or_else(|| protocol_error("watch frame length"))?;
        let Some(frame) = unread.get(4..end) else {
            return Ok(None);
        };
        let frame = frame.to_vec();
        self.start = self.start.saturating_add(end);
        if self.start >= self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        Ok(Some(frame))
    }

    /// Bytes held: what is buffered, read or not.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Forgets a lost stream's partial frame.
    pub fn clear(&mut self) {
        self.buffer = Vec::new();
        self.start = 0;
    }
}

pub fn atomic_write_request(write: AtomicWrite) -> Vec<u8> {
    let checks = write
        .checks
        .into_iter()
        .map(|check| pb::Check {
            key: check.key,
            versionstamp: check.versionstamp.map(|v| v.to_vec()).unwrap_or_default(),
        })
        .collect();
    let mutations = write
        .mutations
        .into_iter()
        .map(|mutation| {
            let expire_at_ms = mutation.expire_at.map_or(0, |at| at.timestamp_millis());
            let (mutation_type, value, sum_min, sum_max, sum_clamp) = match mutation.kind {
                MutationKind::Set(value) => (pb::MutationType::MSet, Some(value), vec![], vec![], false),
                MutationKind::Delete => (pb::MutationType::MDelete, None, vec![], vec![], false),
                MutationKind::Sum {
                    value,
                    min_v8,
                    max_v8,
                    clamp,
                } => (pb::MutationType::MSum, Some(value), min_v8, max_v8, clamp),
                MutationKind::Min(value) => (pb::MutationType::MMin, Some(value), vec![], vec![], false),
                MutationKind::Max(value) => (pb::MutationType::MMax, Some(value), vec![], vec![], false),
                MutationKind::SetSuffixVersionstampedKey(value) => (
                    pb::MutationType::MSetSuffixVersionstampedKey,
                    Some(value),
                    vec![],
                    vec![],
                    false,
                ),
            };
            pb::Mutation {
                key: mutation.key,
                value: value.map(value_to_pb),
                mutation_type: mutation_type as i32,
                expire_at_ms,
                sum_min,
                sum_max,
                sum_clamp,
            }
        })
        .collect();
    let enqueues = write
        .enqueues
        .into_iter()
        .map(|enqueue| pb::Enqueue {
            payload: enqueue.payload,
            deadline_ms: enqueue.deadline.timestamp_millis(),
            keys_if_undelivered: enqueue.keys_if_undelivered,
            backoff_schedule: enqueue.backoff_schedule.unwrap_or_default(),
        })
        .collect();
    pb::AtomicWrite {
        checks,
        mutations,
        enqueues,
    }
    .encode_to_vec()
}

pub enum AtomicWriteOutcome {
    Committed(Versionstamp),
    CheckFailed,
    /// The region cannot take writes now: refresh metadata and retry.
    WriteDisabled,
}

pub fn atomic_write_output(body: &[u8]) -> Result<AtomicWriteOutcome, KvError> {
    let output = pb::AtomicWriteOutput::decode(body).map_err(|_| protocol_error("undecodable atomic write"))?;
    match pb::AtomicWriteStatus::try_from(output.status) {
        Ok(pb::AtomicWriteStatus::AwSuccess) => output
            .versionstamp
            .as_slice()
            .try_into()
            .map(AtomicWriteOutcome::Committed)
            .map_err(|_| protocol_error("versionstamp is not 10 bytes")),
        Ok(pb::AtomicWriteStatus::AwCheckFailure) => Ok(AtomicWriteOutcome::CheckFailed),
        Ok(pb::AtomicWriteStatus::AwWriteDisabled) => Ok(AtomicWriteOutcome::WriteDisabled),
        _ => Err(KvError::error("KV Connect: the write failed for an unspecified reason")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use denokv_proto::{Check, Mutation};
    use std::num::NonZeroU32;

    #[test]
    fn a_read_request_carries_every_range() {
        let ranges = [ReadRange {
            start: vec![1],
            end: vec![2],
            limit: NonZeroU32::MIN,
            reverse: true,
        }];
        let decoded = pb::SnapshotRead::decode(snapshot_read_request(&ranges).as_slice()).expect("decodes");
        assert_eq!(decoded.ranges.len(), 1);
        assert!(decoded.ranges[0].reverse);
        assert_eq!(decoded.ranges[0].limit, 1);
    }

    #[test]
    fn a_write_request_maps_every_mutation_kind() {
        let write = AtomicWrite {
            checks: vec![Check {
                key: vec![1],
                versionstamp: None,
            }],
            mutations: vec![
                Mutation {
                    key: vec![2],
                    kind: MutationKind::Set(KvValue::U64(7)),
                    expire_at: None,
                },
                Mutation {
                    key: vec![3],
                    kind: MutationKind::Delete,
                    expire_at: None,
                },
            ],
            enqueues: vec![],
        };
        let decoded = pb::AtomicWrite::decode(atomic_write_request(write).as_slice()).expect("decodes");
        assert!(
            decoded.checks[0].versionstamp.is_empty(),
            "a null check is an empty versionstamp"
        );
        assert_eq!(decoded.mutations[0].mutation_type, pb::MutationType::MSet as i32);
        let value = decoded.mutations[0].value.as_ref().expect("set has a value");
        assert_eq!(value.data, 7u64.to_le_bytes());
        assert_eq!(decoded.mutations[1].mutation_type, pb::MutationType::MDelete as i32);
    }

    fn frames(reader: &mut FrameReader) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().expect("valid frames") {
            out.push(frame);
        }
        out
    }

    #[test]
    fn frames_are_split_across_chunks_and_pings_are_empty() {
        let mut reader = FrameReader::default();
        reader.push(&[0, 0, 0, 0, 3, 0, 0]);
        assert_eq!(
            frames(&mut reader),
            vec![Vec::<u8>::new()],
            "a ping, then half a header"
        );
        reader.push(&[0, 7, 8]);
        assert!(frames(&mut reader).is_empty(), "two of three bytes");
        reader.push(&[9, 1, 0, 0, 0]);
        assert_eq!(frames(&mut reader), vec![vec![7, 8, 9]]);
        reader.push(&[5]);
        assert_eq!(frames(&mut reader), vec![vec![5]]);
        assert_eq!(reader.buffered(), 0, "nothing left over");
    }

    #[test]
    fn a_frame_header_over_the_cap_fails_before_its_body_arrives() {
        for declared in [
            u32::MAX,
            0xffff_fffc,
            0xffff_fffb,
            1 << 31,
            (MAX_WATCH_FRAME_BYTES + 1) as u32,
        ] {
            let mut reader = FrameReader::default();
            reader.push(&declared.to_le_bytes());
            let err = reader.next_frame().expect_err("over the cap");
            assert!(err.message.contains("watch frame of"), "{}", err.message);
        }
        let mut reader = FrameReader::default();
        reader.push(&(MAX_WATCH_FRAME_BYTES as u32).to_le_bytes());
        assert_eq!(reader.next_frame().expect("at the cap is allowed"), None);
    }

    #[test]
    fn many_pings_in_one_chunk_are_taken_without_moving_the_rest_each_time() {
        let mut reader = FrameReader::default();
        reader.push(&vec![0; 4 * 100_000]);
        assert_eq!(frames(&mut reader).len(), 100_000);
    }

    fn entry(key: &[u8]) -> pb::KvEntry {
        pb::KvEntry {
            key: key.to_vec(),
            value: vec![1],
            encoding: pb::ValueEncoding::VeBytes as i32,
            versionstamp: vec![0; 10],
        }
    }

    fn read_output(ranges: Vec<Vec<pb::KvEntry>>) -> Vec<u8> {
        pb::SnapshotReadOutput {
            ranges: ranges
                .into_iter()
                .map(|values| pb::ReadRangeOutput { values })
                .collect(),
            read_disabled: false,
            read_is_strongly_consistent: true,
            status: pb::SnapshotReadStatus::SrSuccess as i32,
        }
        .encode_to_vec()
    }

    fn range(start: &[u8], end: &[u8], limit: u32, reverse: bool) -> ReadRange {
        ReadRange {
            start: start.to_vec(),
            end: end.to_vec(),
            limit: NonZeroU32::new(limit).expect("positive"),
            reverse,
        }
    }

    fn read_error(body: &[u8], ranges: &[ReadRange]) -> String {
        match snapshot_read_output(body, ranges) {
            Ok(_) => panic!("accepted"),
            Err(err) => err.message,
        }
    }

    #[test]
    fn a_read_answer_must_match_what_was_asked() {
        let asked = [range(&[1], &[5], 3, false)];
        let good = read_output(vec![vec![entry(&[1]), entry(&[2, 9]), entry(&[4])]]);
        assert!(matches!(
            snapshot_read_output(&good, &asked),
            Ok(SnapshotReadOutcome::Entries(r)) if r[0].len() == 3
        ));
        let reverse = [range(&[1], &[5], 3, true)];
        let backwards = read_output(vec![vec![entry(&[4]), entry(&[2]), entry(&[1])]]);
        assert!(snapshot_read_output(&backwards, &reverse).is_ok());

        for (body, why) in [
            (read_output(vec![vec![], vec![]]), "more ranges"),
            (read_output(vec![]), "fewer ranges"),
            (
                read_output(vec![vec![entry(&[1]), entry(&[2]), entry(&[3]), entry(&[4])]]),
                "more entries",
            ),
            (read_output(vec![vec![entry(&[5])]]), "outside the range"),
            (read_output(vec![vec![entry(&[0])]]), "outside the range"),
            (read_output(vec![vec![entry(&[2]), entry(&[2])]]), "out of order"),
            (read_output(vec![vec![entry(&[3]), entry(&[2])]]), "out of order"),
        ] {
            assert!(read_error(&body, &asked).contains(why), "{why}");
        }
        assert!(read_error(&good, &reverse).contains("out of order"));
    }

    #[test]
    fn repeated_fields_are_counted_before_they_are_decoded() {
        // 100,000 empty entries in one range: 200 KB that prost would turn
        // into 100,000 structs.
        let mut range_body = Vec::new();
        for _ in 0..100_000 {
            range_body.extend_from_slice(&[0x0a, 0x00]);
        }
        let mut body = vec![0x0a];
        prost::encoding::encode_varint(range_body.len() as u64, &mut body);
        body.extend_from_slice(&range_body);
        assert!(read_error(&body, &[range(&[], &[0xff], 1000, false)]).contains("more entries"));
        // And 100,000 empty ranges.
        let many_ranges = [0x0a, 0x00].repeat(100_000);
        assert!(read_error(&many_ranges, &[range(&[], &[0xff], 1, false)]).contains("more ranges"));
    }

    #[test]
    fn a_read_answer_with_bad_lengths_or_enums_fails_cleanly() {
        let asked = [range(&[], &[0xff], 10, false)];
        for body in [
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
            vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            vec![0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            vec![0x0a, 0x05, 0x0a],
            vec![0x0b],
            vec![0x40, 0x63],
        ] {
            assert!(snapshot_read_output(&body, &asked).is_err(), "{body:?}");
        }
        let mut bad_encoding = entry(&[1]);
        bad_encoding.encoding = 77;
        assert!(read_error(&read_output(vec![vec![bad_encoding]]), &asked).contains("encoding"));
        let mut long_stamp = entry(&[1]);
        long_stamp.versionstamp = vec![0; 11];
        assert!(read_error(&read_output(vec![vec![long_stamp]]), &asked).contains("versionstamp"));
    }

    fn watch_frame(keys: Vec<pb::WatchKeyOutput>) -> Vec<u8> {
        pb::WatchOutput {
            status: pb::SnapshotReadStatus::SrSuccess as i32,
            keys,
        }
        .encode_to_vec()
    }

    fn changed(key: &[u8]) -> pb::WatchKeyOutput {
        pb::WatchKeyOutput {
            changed: true,
            entry_if_changed: Some(entry(key)),
        }
    }

    #[test]
    fn a_watch_frame_must_answer_for_exactly_the_watched_keys() {
        let keys = vec![vec![1], vec![2]];
        let good = watch_frame(vec![changed(&[1]), changed(&[2])]);
        assert!(matches!(watch_output(&good, &keys), Ok(WatchFrame::Update(u)) if u.len() == 2));
        for body in [
            watch_frame(vec![changed(&[1])]),
            watch_frame(vec![changed(&[1]), changed(&[2]), changed(&[3])]),
            watch_frame(vec![changed(&[2]), changed(&[1])]),
            pb::WatchOutput {
                status: 9,
                keys: vec![],
            }
            .encode_to_vec(),
        ] {
            assert!(watch_output(&body, &keys).is_err());
        }
    }

    #[test]
    fn outputs_decode_or_fail_cleanly() {
        let output = pb::AtomicWriteOutput {
            status: pb::AtomicWriteStatus::AwSuccess as i32,
            versionstamp: vec![0, 0, 0, 0, 0, 0, 0, 9, 0, 0],
            failed_checks: vec![],
        }
        .encode_to_vec();
        assert!(matches!(atomic_write_output(&output), Ok(AtomicWriteOutcome::Committed(v)) if v[7] == 9));
        assert!(atomic_write_output(&[0xff, 0xff]).is_err());
        let short_stamp = pb::AtomicWriteOutput {
            status: pb::AtomicWriteStatus::AwSuccess as i32,
            versionstamp: vec![0; 9],
            failed_checks: vec![],
        }
        .encode_to_vec();
        assert!(atomic_write_output(&short_stamp).is_err());
        let short_le64 = pb::SnapshotReadOutput {
            ranges: vec![pb::ReadRangeOutput {
                values: vec![pb::KvEntry {
                    key: vec![1],
                    value: vec![1, 2],
                    encoding: pb::ValueEncoding::VeLe64 as i32,
                    versionstamp: vec![0; 10],
                }],
            }],
            read_disabled: false,
            read_is_strongly_consistent: true,
            status: pb::SnapshotReadStatus::SrSuccess as i32,
        }
        .encode_to_vec();
        assert!(
            snapshot_read_output(&short_le64, &[range(&[1], &[1, 0], 1, false)]).is_err(),
            "a 2-byte LE64 value is refused"
        );
    }

    #[test]
    fn the_read_cap_follows_the_limits_asked() {
        assert_eq!(max_snapshot_read_bytes(&[]), 1024);
        let list = [range(&[], &[0xff], 1000, false)];
        assert_eq!(max_snapshot_read_bytes(&list), 1024 + 1000 * MAX_ENTRY_WIRE_BYTES);
    }
}
