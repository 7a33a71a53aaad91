//! KV Connect's watch: `POST <endpoint>/watch`, answered by a stream of
//! length-prefixed `WatchOutput` frames (empty ones are pings). Each frame
//! names the keys that changed; the others keep their last entry. A lost
//! stream is reopened with backoff, and its first frame restates every key.

use std::cell::RefCell;
use std::rc::Rc;

use denokv_proto::KvEntry;

use super::transport::{ByteStream, HttpRequest, StreamResponse};
use super::wire::{self, WatchFrame};
use super::{server_error, Client, MAX_ATTEMPTS};
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
    buffer: Vec<u8>,
    current: Vec<Option<KvEntry>>,
}

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

impl WatchStream for RemoteWatch {
    fn next(&mut self) -> BackendFuture<Option<Vec<Option<KvEntry>>>> {
        let (client, keys, state) = (Rc::clone(&self.client), Rc::clone(&self.keys), Rc::clone(&self.state));
        Box::pin(async move {
            let mut failures = 0u32;
            loop {
                if client.closed.get() {
                    return Ok(None);
                }
                let frame = wire::take_frame(&mut state.borrow_mut().buffer);
                if let Some(frame) = frame {
                    if frame.is_empty() {
                        continue;
                    }
                    match wire::watch_output(&frame)? {
                        WatchFrame::ReadDisabled => {
                            state.borrow_mut().stream = None;
                            client.metadata(true).await?;
                        }
                        WatchFrame::Update(updates) => {
                            let mut state = state.borrow_mut();
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
                    None => match open(&client, &keys).await {
                        Ok(stream) => stream,
                        // Closing the database ends its watches; it is no error.
                        Err(_) if client.closed.get() => return Ok(None),
                        Err(Retry::Fatal(err)) => return Err(err),
                        Err(Retry::Later(why)) => {
                            failures += 1;
                            if failures >= MAX_ATTEMPTS {
                                return Err(KvError::error(format!(
                                    "KV Connect watch failed after {MAX_ATTEMPTS} attempts: {why}"
                                )));
                            }
                            client.transport.sleep(client.backoff_ms(failures)).await;
                            continue;
                        }
                    },
                };
                match stream.next_chunk().await {
                    Ok(Some(chunk)) => {
                        failures = 0;
                        let mut state = state.borrow_mut();
                        state.buffer.extend_from_slice(&chunk);
                        state.stream = Some(stream);
                    }
                    // The stream ended or broke: reopen it (or stop, if closed).
                    Ok(None) | Err(_) => state.borrow_mut().buffer.clear(),
                }
            }
        })
    }
}

enum Retry {
    Fatal(KvError),
    Later(String),
}

async fn open(client: &Client, keys: &[Vec<u8>]) -> Result<Box<dyn ByteStream>, Retry> {
    let metadata = client.metadata(false).await.map_err(Retry::Fatal)?;
    let request = HttpRequest {
        idempotent: true,
        url: format!("{}/watch", metadata.endpoint(false).url),
        headers: client.data_headers(&metadata),
        body: wire::watch_request(keys),
    };
    match client.transport.post_stream(request).await {
        Ok(StreamResponse::Streaming(stream)) => Ok(stream),
        Ok(StreamResponse::Failed(response)) if response.status == 401 => {
            client.metadata(true).await.map_err(Retry::Fatal)?;
            Err(Retry::Later("401".to_string()))
        }
        Ok(StreamResponse::Failed(response)) if (400..500).contains(&response.status) => {
            Err(Retry::Fatal(server_error(response.status, &response.body)))
        }
        Ok(StreamResponse::Failed(response)) => Err(Retry::Later(format!("status {}", response.status))),
        Err(network) => Err(Retry::Later(network)),
    }
}
