//! Futures that JS completes through one long-lived function, called with
//! the ticket each was issued under, instead of a promise per call. Awaiting
//! a promise from wasm costs two closures and a second promise every time,
//! a measurable part of one sequential IndexedDB commit.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use wasm_bindgen::prelude::*;

pub struct Completions {
    tickets: Rc<Tickets>,
    callback: Closure<dyn Fn(u32, JsValue)>,
}

#[derive(Default)]
struct Tickets {
    next: Cell<u32>,
    pending: RefCell<HashMap<u32, Pending>>,
}

#[derive(Default)]
struct Pending {
    result: Option<Result<(), JsValue>>,
    waker: Option<Waker>,
}

impl Completions {
    pub fn new() -> Self {
        let tickets = Rc::<Tickets>::default();
        let callback = {
            let tickets = Rc::clone(&tickets);
            Closure::new(move |ticket: u32, error: JsValue| tickets.complete(ticket, error))
        };
        Self { tickets, callback }
    }

    /// What JS calls as `complete(ticket, error)`, with `error` undefined
    /// on success. It lives as long as this value.
    pub fn callback(&self) -> &Function {
        self.callback.as_ref().unchecked_ref()
    }

    /// A fresh ticket, and the future its completion resolves.
    pub fn issue(&self) -> (u32, Completion) {
        let ticket = self.tickets.next.get();
        self.tickets.next.set(ticket.wrapping_add(1));
        self.tickets.pending.borrow_mut().insert(ticket, Pending::default());
        let completion = Completion {
            tickets: Rc::clone(&self.tickets),
            ticket,
        };
        (ticket, completion)
    }
}

impl Tickets {
    fn complete(&self, ticket: u32, error: JsValue) {
        let waker = {
            let mut pending = self.pending.borrow_mut();
            // A ticket nobody waits for any more: its future was dropped.
            let Some(entry) = pending.get_mut(&ticket) else {
                return;
            };
            entry.result = Some(if error.is_undefined() { Ok(()) } else { Err(error) });
            entry.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

pub struct Completion {
    tickets: Rc<Tickets>,
    ticket: u32,
}

impl Future for Completion {
    type Output = Result<(), JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut pending = self.tickets.pending.borrow_mut();
        let Some(entry) = pending.get_mut(&self.ticket) else {
            return Poll::Ready(Err(JsValue::from_str("The operation's completion was lost")));
        };
        match entry.result.take() {
            Some(result) => {
                pending.remove(&self.ticket);
                Poll::Ready(result)
            }
            None => {
                entry.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        self.tickets.pending.borrow_mut().remove(&self.ticket);
    }
}
