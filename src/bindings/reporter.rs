//! Console reports that a flood cannot turn into a flood of lines: at most
//! one line per `REPORT_INTERVAL_MS`; the rest are counted and summed up in
//! one line at the interval's end.

use std::cell::RefCell;
use std::rc::Rc;

use super::timer;

const REPORT_INTERVAL_MS: f64 = 10_000.0;

pub struct Reporter(Rc<RefCell<State>>);

struct State {
    log: fn(&str),
    last: f64,
    suppressed: u32,
    latest: String,
    flush_pending: bool,
    closed: bool,
}

impl Reporter {
    pub fn new(log: fn(&str)) -> Self {
        Self(Rc::new(RefCell::new(State {
            log,
            last: f64::NEG_INFINITY,
            suppressed: 0,
            latest: String::new(),
            flush_pending: false,
            closed: false,
        })))
    }

    pub fn report(&self, text: &str) {
        let mut state = self.0.borrow_mut();
        if state.closed {
            return;
        }
        let now = js_sys::Date::now();
        if !state.flush_pending && now - state.last >= REPORT_INTERVAL_MS {
            state.last = now;
            (state.log)(&format!("webkv: {text}"));
            return;
        }
        state.suppressed = state.suppressed.saturating_add(1);
        text.clone_into(&mut state.latest);
        if !state.flush_pending {
            state.flush_pending = true;
            let wait = (state.last + REPORT_INTERVAL_MS - now).clamp(0.0, REPORT_INTERVAL_MS) as u32;
            let reporter = Rc::clone(&self.0);
            wasm_bindgen_futures::spawn_local(async move {
                timer::sleep(wait).await;
                // A close flushed already (and nothing is reported after it).
                if reporter.borrow().flush_pending {
                    flush(&mut reporter.borrow_mut());
                }
            });
        }
    }

    pub fn close(&self) {
        let mut state = self.0.borrow_mut();
        if state.suppressed > 0 {
            flush(&mut state);
        }
        state.flush_pending = false;
        state.closed = true;
    }
}

fn flush(state: &mut State) {
    state.flush_pending = false;
    state.last = js_sys::Date::now();
    let count = std::mem::take(&mut state.suppressed);
    (state.log)(&format!(
        "webkv: {count} more like the last report; the latest: {}",
        state.latest
    ));
}
