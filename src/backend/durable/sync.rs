//! Bringing this instance's memory up to what the store holds: at open,
//! before a strong read by an instance that does not own the database, and
//! when another instance announces its commits.
//!
//! Announcements come over a channel any script of the origin can post on,
//! so they are only ever a shortcut: what does not decode, skips ahead or
//! cannot be news is never applied from the message; the store is read
//! instead, one read at a time however many announcements ask for it.

use std::rc::Rc;

use super::host::{Since, Snapshot};
use super::Shared;
use crate::core::error::{KvError, KvResult};
use crate::core::page_index::PageIndex;
use crate::core::record;

/// The stored snapshot's index, checked. Its pages are fetched when
/// touched, and checked against it then.
fn load_snapshot(snapshot: Snapshot) -> KvResult<PageIndex> {
    let index = PageIndex::decode(&snapshot.index).map_err(record::found_in("the page index"))?;
    if index.version != snapshot.version {
        return Err(record::corrupt("the page index's version is not the snapshot's"));
    }
    Ok(index)
}

impl Shared {
    /// Applies what the store returned for "committed after my version".
    pub(super) fn absorb(&self, since: Since) -> KvResult<()> {
        if let Some(snapshot) = since.snapshot {
            // A snapshot this instance has moved past (announcements came in
            // while the store was read) is already in memory.
            if since.reset || snapshot.version > self.memory.version() {
                let index = load_snapshot(snapshot)?;
                self.memory.replace(index.version, index.pages.clone());
                self.loaded_index(index);
            }
        }
        if self
            .apply_records(&since.log)
            .map_err(record::found_in("a log record"))?
        {
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
        let mut bytes = 0usize;
        for encoded in records {
            let commit = record::decode_commit(encoded)?;
            if commit.version <= version {
                continue;
            }
            if Some(commit.version) != version.checked_add(1) {
                return Ok(false);
            }
            version = commit.version;
            bytes = bytes.saturating_add(encoded.len());
            commits.push(commit);
        }
        self.memory.apply(commits);
        let mut state = self.state.borrow_mut();
        state.log_bytes = state.log_bytes.saturating_add(bytes);
        Ok(true)
    }

    /// Another instance's commits, as it announced them. They are applied
    /// only if they continue this instance's version; a gap (some were
    /// missed) or records that do not decode send it to the store instead.
    /// An owner whose memory is fresh has every commit (nobody else writes
    /// while it owns), so anything new in an announcement cannot be true:
    /// it asks the store too, which settles it.
    pub(super) fn absorb_announced(self: &Rc<Self>, records: &[Vec<u8>]) {
        if self.state.borrow().ownership.is_fresh() {
            let version = self.memory.version();
            let news = records
                .iter()
                .any(|encoded| record::decode_commit(encoded).map_or(true, |commit| commit.version > version));
            if news {
                self.peers
                    .ignored("an announced commit that the owner of the database cannot have missed");
                self.catch_up_in_background();
            }
            return;
        }
        self.apply_or_catch_up(records);
    }

    /// Applies records that continue this instance's version; reads the
    /// store instead if they leave a gap or do not decode.
    pub(super) fn apply_or_catch_up(self: &Rc<Self>, records: &[Vec<u8>]) {
        match self.apply_records(records) {
            Ok(true) => {}
            Ok(false) => self.catch_up_in_background(),
            Err(err) => {
                self.peers.ignored(&format!(
                    "an announced commit record that does not decode ({})",
                    err.message
                ));
                self.catch_up_in_background();
            }
        }
    }

    /// Reads what was missed, in the background. However many ask while a
    /// read runs, one more read follows it, not one each.
    pub(super) fn catch_up_in_background(self: &Rc<Self>) {
        {
            let mut state = self.state.borrow_mut();
            if state.ownership.is_closed() {
                return;
            }
            if state.catching_up {
                state.catch_up_again = true;
                return;
            }
            state.catching_up = true;
        }
        let shared = Rc::clone(self);
        (self.spawn)(Box::pin(async move {
            loop {
                // A failed catch-up is retried by the next strong read.
                let _ = shared.catch_up().await;
                let mut state = shared.state.borrow_mut();
                if state.catch_up_again && !state.ownership.is_closed() {
                    state.catch_up_again = false;
                    continue;
                }
                state.catching_up = false;
                state.catch_up_again = false;
                return;
            }
        }));
    }

    /// Reads and applies everything committed after this instance's version.
    pub(super) async fn catch_up(&self) -> KvResult<()> {
        let since = self.store.read_since(self.memory.version()).await?;
        self.absorb(since)
    }
}
