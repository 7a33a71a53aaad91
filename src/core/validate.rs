//! The request checks Deno performs before a read or write reaches the
//! database, in Deno's order, so the first error reported is Deno's.

use denokv_proto::{AtomicWrite, KvValue, ReadRange};

use super::error::KvError;
use super::limits::Limits;

/// Counted before any key is encoded, as Deno does.
pub fn check_counts(limits: &Limits, checks: usize, mutations_and_enqueues: usize) -> Result<(), KvError> {
    if checks > limits.max_checks {
        return Err(KvError::type_error(format!(
            "Too many checks (max {})",
            limits.max_checks
        )));
    }
    if mutations_and_enqueues > limits.max_mutations {
        return Err(KvError::type_error(format!(
            "Too many mutations (max {})",
            limits.max_mutations
        )));
    }
    Ok(())
}

pub fn check_atomic_write(limits: &Limits, write: &AtomicWrite) -> Result<(), KvError> {
    check_counts(limits, write.checks.len(), write.mutations.len() + write.enqueues.len())?;

    let mut total_payload = 0usize;
    let mut total_keys = 0usize;
    let check_keys = write.checks.iter().map(|c| &c.key);
    for key in check_keys.chain(write.mutations.iter().map(|m| &m.key)) {
        if key.is_empty() {
            return Err(KvError::type_error("key cannot be empty"));
        }
        total_payload += limits.check_write_key_size(key)?;
    }
    for mutation in &write.mutations {
        let Some(value) = mutation.kind.value() else {
            continue;
        };
        let key_size = limits.check_write_key_size(&mutation.key)?;
        let value_size = match value {
            KvValue::V8(bytes) | KvValue::Bytes(bytes) => limits.check_value_size(bytes.len())?,
            KvValue::U64(_) => 8,
        };
        total_payload += value_size + key_size;
        total_keys += key_size;
    }
    for enqueue in &write.enqueues {
        total_payload += limits.check_enqueue_payload_size(enqueue.payload.len())?;
        total_payload += 4 * enqueue.backoff_schedule.as_ref().map_or(0, Vec::len);
    }
    if total_payload > limits.max_total_mutation_size_bytes {
        return Err(KvError::type_error(format!(
            "Total mutation size too large (max {} bytes)",
            limits.max_total_mutation_size_bytes
        )));
    }
    if total_keys > limits.max_total_key_size_bytes {
        return Err(KvError::type_error(format!(
            "Total key size too large (max {} bytes)",
            limits.max_total_key_size_bytes
        )));
    }
    Ok(())
}

pub fn check_read_ranges(limits: &Limits, ranges: &[ReadRange]) -> Result<(), KvError> {
    if ranges.len() > limits.max_read_ranges {
        return Err(limits.too_many_ranges());
    }
    let mut total_entries = 0usize;
    for range in ranges {
        limits.check_read_key_size(&range.start)?;
        limits.check_read_key_size(&range.end)?;
        total_entries += range.limit.get() as usize;
    }
    if total_entries > limits.max_read_entries {
        return Err(limits.too_many_entries());
    }
    Ok(())
}
