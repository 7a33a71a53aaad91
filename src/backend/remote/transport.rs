//! What the KV Connect client needs from its host: an HTTP POST, a timer, a
//! clock and randomness. The wasm bindings implement it (in Deno with their
//! own HTTP/1.1 client, elsewhere with `fetch`); the protocol logic stays
//! free of JS types.
//!
//! A transport follows no redirects: it hands a 3xx back with its
//! `Location`, and the client decides (same origin only, see `redirect`).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

#[derive(Clone)]
pub struct HttpRequest {
    /// False for a commit: nothing below the client may send it twice. Some
    /// HTTP clients (Deno's fetch) silently resend a request whose pooled
    /// keep-alive connection closed, so with those it must travel on a
    /// connection that is not reused.
    pub idempotent: bool,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// Shared, so that following a redirect sends it again without a copy.
    pub body: Rc<[u8]>,
    /// The largest answer body accepted. A transport stops reading a longer
    /// one (a Content-Length over it is refused before any of it is read)
    /// and reports `TransportError::TooLarge`.
    pub max_response_bytes: usize,
    /// Milliseconds to wait for the whole answer (for a stream, its head)
    /// before giving up with a network error; 0 waits as long as it takes.
    pub timeout_ms: u32,
}

pub struct HttpResponse {
    /// 0 when the runtime hid the answer: a browser's fetch, asked not to
    /// follow redirects, reports one as an opaque response.
    pub status: u16,
    pub body: Vec<u8>,
    /// A redirect's `Location` header, as sent.
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No complete answer arrived (refused, dropped, timed out): the request
    /// may or may not have been processed.
    Network(String),
    /// The answer was longer than `max_response_bytes`.
    TooLarge,
}

pub type TransportFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A response body read as it arrives (KV Connect's watch stream).
pub trait ByteStream {
    /// The next chunk, `Ok(None)` at the end.
    fn next_chunk(&mut self) -> TransportFuture<Result<Option<Vec<u8>>, String>>;
}

pub enum StreamResponse {
    Streaming(Box<dyn ByteStream>),
    /// A non-200 answer, read whole (within `max_response_bytes`).
    Failed(HttpResponse),
}

pub trait Transport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, TransportError>>;
    /// A POST whose 200 answer is streamed; `close` ends open streams.
    fn post_stream(&self, request: HttpRequest) -> TransportFuture<Result<StreamResponse, TransportError>>;
    /// A number in [0, 1), for backoff jitter.
    fn random(&self) -> f64;
    /// Releases what the transport holds (connections, open streams); the
    /// database closed.
    fn close(&self);
}
