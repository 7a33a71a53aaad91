//! Time, injected the one way every backend and `Kv` take it: a clock and a
//! timer from the host, so that the core never reads a clock itself and
//! tests can control time.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Context;

/// Milliseconds since the Unix epoch.
pub type Clock = Rc<dyn Fn() -> u64>;

/// A pending sleep.
pub type Sleep = Pin<Box<dyn Future<Output = ()>>>;

/// Starts a sleep of the given milliseconds: how watchers see entries expire
/// and queue listeners see delayed messages fall due. Dropping the sleep
/// stops its timer (nothing is left to keep a process alive after close).
pub type Timer = Rc<dyn Fn(u32) -> Sleep>;

/// The longest timer JS runs as asked: `setTimeout` fires at once for
/// anything longer (2^31 ms is ~24.9 days, and Deno allows queue delays of
/// 30). Longer waits are made of steps no longer than this.
pub const MAX_TIMER_MS: u32 = i32::MAX as u32;

/// A sleep of any length from `timer`, made of steps no longer than
/// `MAX_TIMER_MS` (a longer JS timer would fire at once).
pub fn long_sleep(timer: &Timer, ms: u64) -> Sleep {
    let step = u32::try_from(ms).unwrap_or(MAX_TIMER_MS).min(MAX_TIMER_MS);
    let first = timer(step);
    let rest = ms - u64::from(step);
    if rest == 0 {
        return first;
    }
    let timer = Rc::clone(timer);
    Box::pin(async move {
        first.await;
        long_sleep(&timer, rest).await;
    })
}

/// One pending wake-up, kept for the earliest time asked for: a listener
/// re-arms it on every poll, and a later time keeps the timer running.
#[derive(Default)]
pub struct WakeUp(Option<(u64, Sleep)>);

impl WakeUp {
    /// Arms it for `at` (with the sleep `sleep` makes) unless it is armed
    /// for an earlier time already.
    pub fn arm_for(&mut self, at: u64, sleep: impl FnOnce() -> Sleep) {
        if self.0.as_ref().is_none_or(|(armed, _)| at < *armed) {
            self.0 = Some((at, sleep()));
        }
    }

    /// Whether its time came; then it is disarmed. Unarmed, it never fires.
    pub fn fired(&mut self, cx: &mut Context<'_>) -> bool {
        let fired = self
            .0
            .as_mut()
            .is_some_and(|(_, sleep)| sleep.as_mut().poll(cx).is_ready());
        if fired {
            self.0 = None;
        }
        fired
    }
}
