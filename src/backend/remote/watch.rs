//! KV Connect's watch: `POST <endpoint>/watch`, answered by a stream of
//! length-prefixed `WatchOutput` frames (empty ones are pings). Each frame
//! names the keys that changed; the others keep their last entry.
//!
//! A stream that ends or breaks is reopened, never in a tight loop: each
//! reopen waits, exponentially longer (0.1 s doubling to 5 s, jittered) for
//! every stream in a row that delivered no update, and the base wait after
//! one that did or that stayed open for `STREAM_LIVED_MS`. After
//! `MAX_ATTEMPTS` fruitless streams or failed opens in a row the watch fails. Closing the database ends the watch at once, even
//! while it waits or reads.

use std::cell::RefCell;
use std::rc::Rc;

use denokv_proto::KvEntry;
use futures::future::{select, Either};

use super::transport::{ByteStream, HttpRequest, StreamResponse, TransportError};
use super::wire::{self, FrameReader, WatchFrame};
use super::{redirect_target, server_error, Client, MAX_ATTEMPTS, MAX_REDIRECTS};
use crate::backend::{BackendFuture, WatchStream};
use crate::core::entry::clone_value;
use crate::core::error::KvError;

pub struct RemoteWatch {
    client: Rc<Client>,
    keys: Rc<Vec<Vec<u8>>>,
    state: Rc<RefCell<State>>,
}

#[derive(Default)]
struct State {
    stream: Option<Box<dyn ByteStream>>,
    frames: FrameReader,
    current: Vec<Option<KvEntry>>,
    /// Streams (or attempts to open one) in a row that delivered no update.
    failures: u32,
    /// Whether the open stream has delivered an update.
    productive: bool,
    /// When the open stream was opened (the client's clock).
    opened_at_ms: u64,
}

/// A stream that stayed open this long before it ended was a working watch
/// of quiet keys that something on the way cut (a proxy's or load
/// balancer's limit on a request's life): its end is no failure, however
/// few updates it carried, or a quiet watch would fail after a few such
/// cuts. Longer than the longest backoff, so a server that ends streams
/// early still fails the watch after `MAX_ATTEMPTS`, and one that holds each
/// stream this long is reopened at most once per this time.
const STREAM_LIVED_MS: u64 = 10_000;

fn clone_entry(entry: &KvEntry) -> KvEntry {
    KvEntry {
        key: entry.key.clone(),
        value: clone_value(&entry.value),
        versionstamp: entry.versionstamp,
    }
}

impl RemoteWatch {
    pub(super) fn new(client: Rc<Client>, keys: Vec<Vec<u8>>) -> Self {
        let current = keys.iter().map(|_| None).collect();
        Self {
            client,
            keys: Rc::new(keys),
            state: Rc::new(RefCell::new(State {
                current,
                ..State::default()
            })),
        }
    }
}

/// `future`'s output, or None once the database is closed first.
async fn unless_closed<T>(client: &Rc<Client>, future: impl std::future::Future<Output = T>) -> Option<T> {
    let future = std::pin::pin!(future);
    match select(future, client.closed()).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

impl WatchStream for RemoteWatch {
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>> {
        let (client, keys, state) = (Rc::clone(&self.client), Rc::clone(&self.keys), Rc::clone(&self.state));
        Box::pin(async move {
            // Deno's remote watch of no keys neither emits nor ends until
            // the database closes; there is nothing to ask the server.
            if keys.is_empty() {
                client.closed().await;
                return Ok(None);
            }
            let result = unless_closed(&client, next_update(&client, &keys, &state)).await;
            match result {
                None => Ok(None),
                // Closing the database ends its watches; it is no error.
                Some(Err(_)) if client.closed.get() => Ok(None),
                Some(result) => result,
            }
        })
    }
}

/// Waits before reopening: the base backoff after a stream that delivered
/// updates, longer for each fruitless one in a row. Fails the watch after
/// `MAX_ATTEMPTS` fruitless ones.
async fn back_off(client: &Client, state: &RefCell<State>, why: &str) -> Result<(), KvError> {
    let wait = {
        let mut state = state.borrow_mut();
        if state.productive {
            state.failures = 0;
        } else {
            state.failures = state.failures.saturating_add(1);
            if state.failures >= MAX_ATTEMPTS {
                return Err(KvError::error(format!(
                    "KV Connect watch failed after {MAX_ATTEMPTS} attempts: {why}"
                )));
            }
        }
        state.productive = false;
        client.backoff_ms(state.failures)
    };
    (client.timer)(wait).await;
    Ok(())
}

fn stream_ended(client: &Client, state: &RefCell<State>) {
    let mut state = state.borrow_mut();
    state.frames.clear();
    if (client.clock)().saturating_sub(state.opened_at_ms) >= STREAM_LIVED_MS {
        state.productive = true;
    }
}

async fn next_update(
    client: &Rc<Client>,
    keys: &[Vec<u8>],
    state: &RefCell<State>,
) -> Result<Option<Vec<Option<KvEntry>>>, KvError> {
    loop {
        client.ensure_open()?;
        let frame = state.borrow_mut().frames.next_frame()?;
        if let Some(frame) = frame {
            if frame.is_empty() {
                continue; // a ping
            }
            match wire::watch_output(&frame, keys)? {
                WatchFrame::ReadDisabled => {
                    {
                        let mut state = state.borrow_mut();
                        state.stream = None;
                        state.frames.clear();
                    }
                    client.metadata(true).await?;
                    back_off(client, state, "reads are disabled").await?;
                }
                WatchFrame::Update(updates) => {
                    let mut state = state.borrow_mut();
                    state.productive = true;
                    for (slot, update) in state.current.iter_mut().zip(updates) {
                        if let Some(entry) = update {
                            *slot = entry;
                        }
                    }
                    return Ok(Some(
                        state.current.iter().map(|e| e.as_ref().map(clone_entry)).collect(),
                    ));
                }
            }
            continue;
        }
        let stream = state.borrow_mut().stream.take();
        let mut stream = match stream {
            Some(stream) => stream,
            None => match open(client, keys).await {
                Ok(stream) => {
                    state.borrow_mut().opened_at_ms = (client.clock)();
                    stream
                }
                Err(Retry::Fatal(err)) => return Err(err),
                Err(Retry::Later(why)) => {
                    back_off(client, state, &why).await?;
                    continue;
                }
            },
        };
        match stream.next_chunk().await {
            Ok(Some(chunk)) => {
                let mut state = state.borrow_mut();
                state.frames.push(&chunk);
                state.stream = Some(stream);
            }
            // The stream ended or broke: reopen it, after a wait.
            Ok(None) => {
                stream_ended(client, state);
                back_off(client, state, "the watch stream ended").await?;
            }
            Err(why) => {
                stream_ended(client, state);
                back_off(client, state, &why).await?;
            }
        }
    }
}

enum Retry {
    Fatal(KvError),
    Later(String),
}

async fn open(client: &Client, keys: &[Vec<u8>]) -> Result<Box<dyn ByteStream>, Retry> {
    let metadata = client.metadata(false).await.map_err(Retry::Fatal)?;
    let mut request = HttpRequest {
        idempotent: true,
        url: format!("{}/watch", metadata.endpoint(false).url),
        headers: client.data_headers(&metadata),
        body: wire::watch_request(keys).into(),
        max_response_bytes: wire::MAX_SMALL_ANSWER_BYTES,
        timeout_ms: 0,
    };
    for _ in 0..=MAX_REDIRECTS {
        let response = match client.transport.post_stream(request.clone()).await {
            Ok(StreamResponse::Streaming(stream)) => return Ok(stream),
            Ok(StreamResponse::Failed(response)) => response,
            Err(TransportError::Network(why)) => return Err(Retry::Later(why)),
            Err(TransportError::TooLarge) => {
                return Err(Retry::Fatal(KvError::error(format!(
                    "KV Connect: the answer from '{}' is larger than {} bytes",
                    request.url, request.max_response_bytes
                ))))
            }
        };
        match redirect_target(&request.url, response.status, response.location.as_deref()) {
            Ok(Some(target)) => {
                request.url = target;
                continue;
            }
            Ok(None) => {}
            Err(why) => return Err(Retry::Fatal(KvError::error(format!("KV Connect: {why}")))),
        }
        return match response.status {
            401 => {
                client.metadata(true).await.map_err(Retry::Fatal)?;
                Err(Retry::Later("401".to_string()))
            }
            // A 200 without a body to read: as a stream that ended at once.
            200 => Err(Retry::Later("the watch stream ended".to_string())),
            400..=499 => Err(Retry::Fatal(server_error(response.status, &response.body))),
            500..=599 => Err(Retry::Later(format!("status {}", response.status))),
            status => Err(Retry::Fatal(KvError::error(format!(
                "KV Connect: '{}' responded with unexpected status {status}",
                request.url
            )))),
        };
    }
    Err(Retry::Fatal(KvError::error(format!(
        "KV Connect: '{}' redirected more than {MAX_REDIRECTS} times",
        request.url
    ))))
}
