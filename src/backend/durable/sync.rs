//! Bringing this instance's memory up to what the store holds: at open,
//! before a strong read by an instance that does not own the database, and
//! when another instance announces its commits.

use std::rc::Rc;

use super::host::Since;
use super::Shared;
use crate::core::error::{KvError, KvResult};
use crate::core::record;

impl Shared {
    /// Applies what the store returned for "committed after my version".
    pub(super) fn absorb(&self, since: Since) -> KvResult<()> {
        if let Some((version, pages)) = since.snapshot {
            let snapshot_bytes = pages.iter().map(Vec::len).sum();
            let pages = pages
                .into_iter()
                .filter_map(|bytes| record::Page::parse(bytes).transpose())
                .collect::<KvResult<Vec<_>>>()?;
            self.memory.replace(version, pages)?;
            let mut state = self.state.borrow_mut();
            state.snapshot_bytes = snapshot_bytes;
            state.log_bytes = 0;
        }
        if self.apply_records(&since.log)? {
            Ok(())
        } else {
            Err(KvError::error(
                "The stored database is corrupt: its log skips a version",
            ))
        }
    }

    /// Applies commit records that continue this instance's version;
    /// records it already has are skipped. `Ok(false)` (nothing applied)
    /// when they leave a gap.
    pub(super) fn apply_records(&self, records: &[Vec<u8>]) -> KvResult<bool> {
        let mut version = self.memory.version();
        let mut commits = Vec::with_capacity(records.len());
        let mut bytes = 0;
        for encoded in records {
            let commit = record::decode_commit(encoded)?;
            if commit.version <= version {
                continue;
            }
            if commit.version != version + 1 {
                return Ok(false);
            }
            version = commit.version;
            bytes += encoded.len();
            commits.push(commit);
        }
        self.memory.apply(commits);
        self.state.borrow_mut().log_bytes += bytes;
        Ok(true)
    }

    /// Another instance's commits, as it announced them; if some were
    /// missed (a gap), read them from the store instead.
    pub(super) fn absorb_announced(self: &Rc<Self>, records: &[Vec<u8>]) {
        if let Ok(true) = self.apply_records(records) {
            return;
        }
        self.catch_up_in_background();
    }

    pub(super) fn catch_up_in_background(self: &Rc<Self>) {
        let shared = Rc::clone(self);
        (self.spawn)(Box::pin(async move {
            // A failed catch-up is retried by the next strong read.
            let _ = shared.catch_up().await;
        }));
    }

    /// Reads and applies everything committed after this instance's version.
    pub(super) async fn catch_up(&self) -> KvResult<()> {
        let since = self.store.read_since(self.memory.version()).await?;
        self.absorb(since)
    }
}
