//! Requests as the bindings parse them from JS: keys as parts, not yet
//! encoded, because Deno encodes them inside the op, after its closed and
//! count checks; `Kv` turns them into `denokv_proto` requests in that order.

use denokv_proto::{AtomicWrite, Check, Enqueue, KeyPart, Mutation, MutationKind};

use crate::core::error::KvError;
use crate::core::key;
use crate::core::versionstamp;

pub type KeyParts = Vec<KeyPart>;

pub struct CheckRequest {
    pub key: KeyParts,
    /// The caller's text, checked when the request is converted.
    pub versionstamp: Option<String>,
}

pub struct MutationRequest {
    pub key: KeyParts,
    pub kind: MutationKind,
    /// Validated by the JS layer as Deno validates it; only a set has one.
    pub expire_in_ms: Option<f64>,
}

pub struct EnqueueRequest {
    pub payload: Vec<u8>,
    /// Validated by the JS layer; an integer as serde_v8 reads one.
    pub delay_ms: f64,
    pub keys_if_undelivered: Vec<KeyParts>,
    pub backoff_schedule: Option<Vec<u32>>,
}

#[derive(Default)]
pub struct WriteRequest {
    pub checks: Vec<CheckRequest>,
    pub mutations: Vec<MutationRequest>,
    pub enqueues: Vec<EnqueueRequest>,
}

/// One batch of a list: entries of the selector after `cursor`.
pub struct ListRequest {
    pub prefix: Option<KeyParts>,
    pub start: Option<KeyParts>,
    pub end: Option<KeyParts>,
    pub cursor: Option<String>,
    pub reverse: bool,
    /// Checked by the JS layer to be a positive integer.
    pub batch_size: f64,
}

impl WriteRequest {
    /// Deno's op-side conversion, after the counts have been checked.
    pub(super) fn into_atomic_write(self, now_ms: u64) -> Result<AtomicWrite, KvError> {
        Ok(AtomicWrite {
            checks: self.checks.into_iter().map(convert_check).collect::<Result<_, _>>()?,
            mutations: self
                .mutations
                .into_iter()
                .map(|mutation| convert_mutation(mutation, now_ms))
                .collect::<Result<_, _>>()?,
            enqueues: self
                .enqueues
                .into_iter()
                .map(|enqueue| convert_enqueue(enqueue, now_ms))
                .collect::<Result<_, _>>()?,
        })
    }
}

fn convert_check(check: CheckRequest) -> Result<Check, KvError> {
    let invalid = || KvError::type_error("Invalid check");
    let key = key::encode(check.key).map_err(|_| invalid())?;
    let versionstamp = match check.versionstamp {
        None => None,
        Some(text) => Some(versionstamp::parse_hex(&text).ok_or_else(invalid)?),
    };
    Ok(Check { key, versionstamp })
}

pub(super) fn convert_mutation(mutation: MutationRequest, now_ms: u64) -> Result<Mutation, KvError> {
    let key =
        key::encode(mutation.key).map_err(|err| KvError::type_error(format!("Invalid mutation: {}", err.message)))?;
    let expire_at = match mutation.kind {
        MutationKind::Set(_) | MutationKind::SetSuffixVersionstampedKey(_) => expire_at(mutation.expire_in_ms, now_ms)?,
        _ => None,
    };
    Ok(Mutation {
        key,
        kind: mutation.kind,
        expire_at,
    })
}

/// Deno's check that the expiry time is representable.
fn expire_at(expire_in_ms: Option<f64>, now_ms: u64) -> Result<Option<chrono::DateTime<chrono::Utc>>, KvError> {
    let Some(ms) = expire_in_ms else {
        return Ok(None);
    };
    let too_large = || KvError::type_error(format!("Invalid mutation: expireIn is too large: {}", ms as u64));
    if !(ms >= 0.0 && ms.fract() == 0.0 && ms <= i64::MAX as f64) {
        return Err(too_large());
    }
    let at = i64::try_from(now_ms).ok().and_then(|now| now.checked_add(ms as i64));
    at.and_then(chrono::DateTime::from_timestamp_millis)
        .map(Some)
        .ok_or_else(too_large)
}

fn convert_enqueue(enqueue: EnqueueRequest, now_ms: u64) -> Result<Enqueue, KvError> {
    let invalid = |message: String| KvError::type_error(format!("Invalid enqueue: {message}"));
    let keys_if_undelivered = enqueue
        .keys_if_undelivered
        .into_iter()
        .map(|parts| key::encode(parts).map_err(|err| invalid(err.message)))
        .collect::<Result<Vec<_>, _>>()?;
    let deadline_ms = i64::try_from(now_ms)
        .unwrap_or(i64::MAX)
        .saturating_add(enqueue.delay_ms as i64);
    let deadline = chrono::DateTime::from_timestamp_millis(deadline_ms).ok_or_else(|| invalid("delay".to_string()))?;
    Ok(Enqueue {
        payload: enqueue.payload,
        deadline,
        keys_if_undelivered,
        backoff_schedule: enqueue.backoff_schedule,
    })
}
