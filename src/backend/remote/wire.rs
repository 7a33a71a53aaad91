//! The KV Connect data path's protobuf messages (`denokv_proto::datapath`),
//! from the client's side: requests out, outputs back.

use denokv_proto::datapath as pb;
use denokv_proto::{AtomicWrite, KvEntry, KvValue, MutationKind, ReadRange, Versionstamp};
use prost::Message;

use crate::core::error::KvError;

fn protocol_error(why: &str) -> KvError {
    KvError::type_error(format!("Invalid KV Connect response: {why}"))
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

pub fn snapshot_read_output(body: &[u8]) -> Result<SnapshotReadOutcome, KvError> {
    let output = pb::SnapshotReadOutput::decode(body).map_err(|_| protocol_error("undecodable snapshot read"))?;
    if output.read_disabled || output.status == pb::SnapshotReadStatus::SrReadDisabled as i32 {
        return Ok(SnapshotReadOutcome::ReadDisabled);
    }
    let ranges = output
        .ranges
        .into_iter()
        .map(|range| range.values.into_iter().map(entry_from_pb).collect())
        .collect::<Result<_, _>>()?;
    Ok(SnapshotReadOutcome::Entries(ranges))
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

pub fn watch_output(body: &[u8]) -> Result<WatchFrame, KvError> {
    let output = pb::WatchOutput::decode(body).map_err(|_| protocol_error("undecodable watch output"))?;
    match pb::SnapshotReadStatus::try_from(output.status) {
        Ok(pb::SnapshotReadStatus::SrSuccess) => {}
        Ok(pb::SnapshotReadStatus::SrReadDisabled) => return Ok(WatchFrame::ReadDisabled),
        _ => return Err(protocol_error("watch status")),
    }
    let keys = output
        .keys
        .into_iter()
        .map(|key| match (key.changed, key.entry_if_changed) {
            (false, _) => Ok(None),
            (true, None) => Ok(Some(None)),
            (true, Some(entry)) => entry_from_pb(entry).map(|entry| Some(Some(entry))),
        })
        .collect::<Result<_, _>>()?;
    Ok(WatchFrame::Update(keys))
}

/// Takes one length-prefixed frame (u32 little-endian length) off `buffer`.
pub fn take_frame(buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let header: [u8; 4] = buffer.get(..4)?.try_into().ok()?;
    let length = u32::from_le_bytes(header) as usize;
    if buffer.len() < 4 + length {
        return None;
    }
    let frame = buffer[4..4 + length].to_vec();
    buffer.drain(..4 + length);
    Some(frame)
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

    #[test]
    fn frames_are_split_across_chunks_and_pings_are_empty() {
        let mut buffer = vec![0, 0, 0, 0, 3, 0, 0];
        assert_eq!(take_frame(&mut buffer), Some(vec![]), "a ping");
        assert_eq!(take_frame(&mut buffer), None, "half a header");
        buffer.extend_from_slice(&[0, 7, 8]);
        assert_eq!(take_frame(&mut buffer), None, "two of three bytes");
        buffer.push(9);
        assert_eq!(take_frame(&mut buffer), Some(vec![7, 8, 9]));
        assert!(buffer.is_empty());
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
        let short_stamp = pb::SnapshotReadOutput {
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
            snapshot_read_output(&short_stamp).is_err(),
            "a 2-byte LE64 value is refused"
        );
    }
}
