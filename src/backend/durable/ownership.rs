//! Who owns the database, and whether this instance's memory is fresh: one
//! state machine, and the only place either is decided (docs/storage.md,
//! "Many tabs and workers: one history").
//!
//! The correctness argument rests on "fresh ⇒ owns": memory that answers
//! strong reads and prepares blind writes must have every commit, which only
//! holds while nobody else may write. Freshness is therefore not a flag of
//! its own but a state of owning: no value of `Ownership` is fresh without
//! owning, and every way out of owning (a release, a close) leaves
//! freshness behind with it.

/// The states, private so that only the transitions below change them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Does not hold the lock (or there are no Web Locks): memory may be
    /// behind what others committed.
    NotOwner { handover: bool },
    /// Holds the lock, but memory has not yet been shown to hold what the
    /// previous owner committed: the next write reads the store first.
    OwnerCatchingUp { handover: bool },
    /// Holds the lock and memory has every commit: strong reads are served
    /// from memory and writes need not read first.
    OwnerFresh { handover: bool },
    /// Closed: nothing is owned or fresh again.
    Closed,
}

// `handover`: another instance asked for the lock while this one's writer
// was running (writing, or waiting for the lock itself). It is released
// after the writer's current batch rather than in the middle of it.

/// This instance's part in owning the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ownership {
    role: Role,
}

impl Default for Ownership {
    fn default() -> Self {
        Self {
            role: Role::NotOwner { handover: false },
        }
    }
}

impl Ownership {
    /// Holds the lock.
    pub(super) fn owns(&self) -> bool {
        matches!(self.role, Role::OwnerCatchingUp { .. } | Role::OwnerFresh { .. })
    }

    /// Memory has every commit: strong reads may be served from it, and a
    /// write need not read what it missed.
    pub(super) fn is_fresh(&self) -> bool {
        matches!(self.role, Role::OwnerFresh { .. })
    }

    pub(super) fn is_closed(&self) -> bool {
        self.role == Role::Closed
    }

    /// The database was loaded. Loaded with the lock held (taken before the
    /// load began), memory has everything committed, and nobody else can
    /// commit: fresh at once.
    pub(super) fn opened(&mut self, owns: bool) {
        if let Role::NotOwner { handover } = self.role {
            self.role = if owns {
                Role::OwnerFresh { handover }
            } else {
                Role::NotOwner { handover }
            };
        }
    }

    /// The writer took the lock. Not fresh yet: the previous owner's last
    /// commits are read by this owner's first write transaction, which
    /// IndexedDB runs after the previous owner's. `false` if the database
    /// was closed meanwhile: the caller gives the lock back.
    pub(super) fn acquired(&mut self) -> bool {
        match self.role {
            Role::NotOwner { handover } => {
                self.role = Role::OwnerCatchingUp { handover };
                true
            }
            // The lock is taken only by a writer that did not own; should
            // it be taken twice anyway, catching up again is always safe.
            Role::OwnerCatchingUp { handover } | Role::OwnerFresh { handover } => {
                self.role = Role::OwnerCatchingUp { handover };
                true
            }
            Role::Closed => false,
        }
    }

    /// A write transaction completed while this instance owned: it read (or,
    /// fresh, did not need to read) everything committed before it, and
    /// nobody else wrote. An instance that does not own stays behind: others
    /// may have committed since.
    pub(super) fn wrote(&mut self) {
        if let Role::OwnerCatchingUp { handover } = self.role {
            self.role = Role::OwnerFresh { handover };
        }
    }

    /// A write transaction failed: what this instance believed about the
    /// store may be wrong, so the next write reads it first.
    pub(super) fn write_failed(&mut self) {
        if let Role::OwnerFresh { handover } = self.role {
            self.role = Role::OwnerCatchingUp { handover };
        }
    }

    /// Another instance waits to write. `true`: release the lock now (this
    /// instance owns and its writer is idle). A running writer releases it
    /// after its batch instead (`handover_due`), so that a transaction is
    /// never cut off from the lock it was prepared under.
    pub(super) fn other_wants_to_write(&mut self, writer_running: bool) -> bool {
        if !writer_running {
            return self.owns();
        }
        self.role = match self.role {
            Role::NotOwner { .. } => Role::NotOwner { handover: true },
            Role::OwnerCatchingUp { .. } => Role::OwnerCatchingUp { handover: true },
            Role::OwnerFresh { .. } => Role::OwnerFresh { handover: true },
            Role::Closed => Role::Closed,
        };
        false
    }

    /// Between the writer's batches: whether to release the lock now,
    /// because another instance asked for it.
    pub(super) fn handover_due(&self) -> bool {
        matches!(
            self.role,
            Role::OwnerCatchingUp { handover: true } | Role::OwnerFresh { handover: true }
        )
    }

    /// The writer stopped (nothing queued). Like `handover_due`, and a
    /// request heard while it waited for a lock it then did not get is
    /// dropped: with no writer left there is nothing to hand over, and a
    /// waiting instance repeats its request.
    pub(super) fn writer_stopped(&mut self) -> bool {
        if let Role::NotOwner { handover: true } = self.role {
            self.role = Role::NotOwner { handover: false };
        }
        self.handover_due()
    }

    /// The lock is given up: someone else may write from now on, so memory
    /// is no longer known to be fresh. `true` if it was held (the caller
    /// releases it).
    pub(super) fn released(&mut self) -> bool {
        let owned = self.owns();
        if self.role != Role::Closed {
            self.role = Role::NotOwner { handover: false };
        }
        owned
    }

    /// Closed for good: the host gives the lock back as it closes.
    pub(super) fn closed(&mut self) {
        self.role = Role::Closed;
    }
}

#[cfg(test)]
mod tests {
    use super::Ownership;

    /// Every transition, as a test drives it.
    #[derive(Clone, Copy, Debug)]
    enum Event {
        Opened(bool),
        Acquired,
        Wrote,
        WriteFailed,
        OtherWants(bool),
        WriterStopped,
        Released,
        Closed,
    }

    const EVENTS: [Event; 10] = [
        Event::Opened(false),
        Event::Opened(true),
        Event::Acquired,
        Event::Wrote,
        Event::WriteFailed,
        Event::OtherWants(false),
        Event::OtherWants(true),
        Event::WriterStopped,
        Event::Released,
        Event::Closed,
    ];

    fn apply(ownership: &mut Ownership, event: Event) {
        match event {
            Event::Opened(owns) => ownership.opened(owns),
            Event::Acquired => {
                ownership.acquired();
            }
            Event::Wrote => ownership.wrote(),
            Event::WriteFailed => ownership.write_failed(),
            Event::OtherWants(running) => {
                ownership.other_wants_to_write(running);
            }
            Event::WriterStopped => {
                ownership.writer_stopped();
            }
            Event::Released => {
                ownership.released();
            }
            Event::Closed => ownership.closed(),
        }
    }

    fn opened(owns: bool) -> Ownership {
        let mut ownership = Ownership::default();
        ownership.opened(owns);
        ownership
    }

    #[test]
    fn an_instance_opens_fresh_only_if_it_loaded_holding_the_lock() {
        assert!(!Ownership::default().owns());
        let owner = opened(true);
        assert!(owner.owns() && owner.is_fresh());
        let follower = opened(false);
        assert!(!follower.owns() && !follower.is_fresh());
    }

    #[test]
    fn a_new_owner_is_fresh_only_after_its_first_write() {
        let mut ownership = opened(false);
        assert!(ownership.acquired());
        assert!(ownership.owns());
        assert!(
            !ownership.is_fresh(),
            "the previous owner's last commits are not read yet"
        );
        ownership.wrote();
        assert!(ownership.is_fresh());
    }

    #[test]
    fn a_failed_write_leaves_the_owner_catching_up() {
        let mut ownership = opened(true);
        ownership.write_failed();
        assert!(ownership.owns() && !ownership.is_fresh());
        ownership.wrote();
        assert!(ownership.is_fresh());
    }

    #[test]
    fn writing_without_the_lock_never_makes_memory_fresh() {
        let mut ownership = opened(false);
        ownership.wrote();
        assert!(!ownership.owns() && !ownership.is_fresh());
    }

    #[test]
    fn an_idle_owner_releases_at_once_and_is_no_longer_fresh() {
        let mut ownership = opened(true);
        assert!(ownership.other_wants_to_write(false));
        assert!(ownership.released());
        assert!(!ownership.owns() && !ownership.is_fresh());
        assert!(!ownership.released(), "nothing is released twice");
    }

    #[test]
    fn a_running_writer_hands_the_lock_over_after_its_batch() {
        let mut ownership = opened(true);
        assert!(!ownership.other_wants_to_write(true));
        assert!(ownership.is_fresh(), "the batch in flight still owns");
        assert!(ownership.handover_due());
        assert!(ownership.released());
        assert!(!ownership.owns() && !ownership.is_fresh() && !ownership.handover_due());
    }

    #[test]
    fn a_request_heard_while_waiting_for_the_lock_is_handed_over_once_it_is_taken() {
        let mut ownership = opened(false);
        assert!(!ownership.other_wants_to_write(true));
        assert!(!ownership.handover_due(), "nothing to hand over yet");
        assert!(ownership.acquired());
        ownership.wrote();
        assert!(ownership.handover_due());
    }

    #[test]
    fn a_request_for_a_lock_never_taken_ends_with_the_writer() {
        let mut ownership = opened(false);
        ownership.other_wants_to_write(true);
        assert!(!ownership.writer_stopped());
        assert!(ownership.acquired());
        assert!(!ownership.handover_due());
    }

    #[test]
    fn an_instance_not_owning_has_nothing_to_release() {
        let mut ownership = opened(false);
        assert!(!ownership.other_wants_to_write(false));
        assert!(!ownership.released());
    }

    #[test]
    fn closing_ends_ownership_and_freshness_for_good() {
        let mut ownership = opened(true);
        ownership.other_wants_to_write(true);
        ownership.closed();
        assert!(ownership.is_closed() && !ownership.owns() && !ownership.is_fresh());
        assert!(!ownership.acquired(), "a lock taken after close is given back");
        for event in EVENTS {
            apply(&mut ownership, event);
            assert!(
                ownership.is_closed() && !ownership.owns() && !ownership.is_fresh(),
                "{event:?}"
            );
            assert!(!ownership.handover_due(), "{event:?}");
        }
    }

    /// Every sequence of up to five events from every start: fresh implies
    /// owning, a release or a close leaves nothing fresh, and only taking
    /// the lock (or opening with it) makes an instance own.
    #[test]
    fn no_sequence_of_transitions_is_fresh_without_owning() {
        fn walk(ownership: Ownership, depth: usize) {
            assert!(!ownership.is_fresh() || ownership.owns(), "{ownership:?}");
            assert!(!ownership.handover_due() || ownership.owns(), "{ownership:?}");
            if depth == 0 {
                return;
            }
            for event in EVENTS {
                let mut next = ownership;
                apply(&mut next, event);
                match event {
                    Event::Released | Event::Closed => assert!(!next.owns() && !next.is_fresh(), "{event:?}"),
                    Event::Acquired | Event::Opened(true) => {}
                    _ => assert!(
                        !next.owns() || ownership.owns(),
                        "{ownership:?} {event:?} took the lock"
                    ),
                }
                if !matches!(event, Event::Wrote | Event::Opened(true)) {
                    assert!(
                        !next.is_fresh() || ownership.is_fresh(),
                        "{ownership:?} {event:?} made memory fresh"
                    );
                }
                walk(next, depth - 1);
            }
        }
        walk(Ownership::default(), 5);
    }
}
