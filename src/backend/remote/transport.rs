//! What the KV Connect client needs from its host: an HTTP POST, a timer, a
//! clock and randomness. The wasm bindings implement it (in Deno with their
//! own HTTP/1.1 client, elsewhere with `fetch`); the protocol logic stays
//! free of JS types.

use std::future::Future;
use std::pin::Pin;

pub struct HttpRequest {
    /// False for a commit: nothing below the client may send it twice. Some
    /// HTTP clients (Deno's fetch) silently resend a request whose pooled
    /// keep-alive connection closed, so with those it must travel on a
    /// connection that is not reused.
    pub idempotent: bool,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
    /// The URL after any redirects: v2+ endpoints resolve against it.
    pub url: String,
}

pub type TransportFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A response body read as it arrives (KV Connect's watch stream).
pub trait ByteStream {
    /// The next chunk, `Ok(None)` at the end.
    fn next_chunk(&mut self) -> TransportFuture<Result<Option<Vec<u8>>, String>>;
}

pub enum StreamResponse {
    Streaming(Box<dyn ByteStream>),
    /// A non-200 answer, read whole.
    Failed(HttpResponse),
}

pub trait Transport {
    /// `Err` is a network failure: no HTTP response arrived.
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, String>>;
    /// A POST whose 200 answer is streamed; `close` ends open streams.
    fn post_stream(&self, request: HttpRequest) -> TransportFuture<Result<StreamResponse, String>>;
    fn sleep(&self, ms: u32) -> TransportFuture<()>;
    fn now_ms(&self) -> u64;
    /// A number in [0, 1), for backoff jitter.
    fn random(&self) -> f64;
    /// Releases what the transport holds (connections); the database closed.
    fn close(&self);
}
