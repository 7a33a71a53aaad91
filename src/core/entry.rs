//! What the database holds per key and what one commit changes: the shapes
//! the engine, the byte format (`record`) and the backends share.

use std::collections::BTreeMap;

use denokv_proto::KvValue;

use super::queue::QueuedMessage;
use super::versionstamp::{self, Versionstamp};

#[derive(Debug)]
pub struct StoredEntry {
    pub value: KvValue,
    pub versionstamp: Versionstamp,
    pub expires_at_ms: Option<u64>,
}

impl StoredEntry {
    pub(crate) fn is_live(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|at| at > now_ms)
    }
}

/// Everything one commit changes: `None` deletes the key.
#[derive(Debug)]
pub struct PreparedCommit {
    pub version: u64,
    pub changes: BTreeMap<Vec<u8>, Option<StoredEntry>>,
    pub enqueues: Vec<QueuedMessage>,
}

impl PreparedCommit {
    pub fn versionstamp(&self) -> Versionstamp {
        versionstamp::from_version(self.version)
    }
}

/// denokv_proto's `KvValue` is not `Clone`.
pub fn clone_value(value: &KvValue) -> KvValue {
    match value {
        KvValue::V8(bytes) => KvValue::V8(bytes.clone()),
        KvValue::Bytes(bytes) => KvValue::Bytes(bytes.clone()),
        KvValue::U64(n) => KvValue::U64(*n),
    }
}
