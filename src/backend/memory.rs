use std::cell::RefCell;
use std::future::ready;
use std::rc::Rc;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use super::{Backend, BackendFuture};
use crate::core::engine::Engine;
use crate::core::versionstamp::Versionstamp;

/// Milliseconds since the Unix epoch; injected so that the core never reads
/// a clock itself and tests can control time.
pub type Clock = Rc<dyn Fn() -> u64>;

pub struct MemoryBackend {
    engine: Rc<RefCell<Engine>>,
    clock: Clock,
}

impl MemoryBackend {
    pub fn new(clock: Clock) -> Self {
        Self {
            engine: Rc::new(RefCell::new(Engine::new())),
            clock,
        }
    }

    pub fn entry_count(&self) -> usize {
        self.engine.borrow().len()
    }
}

impl Backend for MemoryBackend {
    fn snapshot_read(&self, ranges: Vec<ReadRange>, _consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        let now = (self.clock)();
        let mut engine = self.engine.borrow_mut();
        engine.collect_expired(now);
        let output = ranges.iter().map(|range| engine.read_range(range, now)).collect();
        Box::pin(ready(Ok(output)))
    }

    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        let now = (self.clock)();
        let result = self.engine.borrow_mut().commit(write, now);
        Box::pin(ready(result))
    }

    fn close(&self) {
        *self.engine.borrow_mut() = Engine::new();
    }
}
