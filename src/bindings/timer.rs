//! The memory backend's timer (watch expiries, queue delays, lease
//! renewals): a JS timer that stops when its sleep is dropped, so a closed
//! database leaves no timer behind to keep Node or Deno running.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::*;

use super::js;
use crate::backend::memory::keep_waker;
use crate::backend::time::Sleep;

#[derive(Default)]
struct State {
    fired: bool,
    waker: Option<Waker>,
}

struct JsSleep {
    state: Rc<RefCell<State>>,
    /// timers.js's handle, for `cancelTimer`.
    timer: JsValue,
    /// Called by the timer; must live as long as it may fire.
    _fire: Closure<dyn FnMut()>,
}

/// Sleeps `ms` milliseconds (any u32: timers.js splits what `setTimeout`
/// cannot wait in one go).
pub fn sleep(ms: u32) -> Sleep {
    let state = Rc::new(RefCell::new(State::default()));
    let fire = {
        let state = Rc::clone(&state);
        Closure::<dyn FnMut()>::new(move || {
            let waker = {
                let mut state = state.borrow_mut();
                state.fired = true;
                state.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        })
    };
    let timer = js::start_timer(ms, fire.as_ref().unchecked_ref());
    Box::pin(JsSleep {
        state,
        timer,
        _fire: fire,
    })
}

impl Future for JsSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.borrow_mut();
        if state.fired {
            return Poll::Ready(());
        }
        keep_waker(&mut state.waker, cx.waker());
        Poll::Pending
    }
}

impl Drop for JsSleep {
    fn drop(&mut self) {
        if !self.state.borrow().fired {
            js::cancel_timer(&self.timer);
        }
    }
}
