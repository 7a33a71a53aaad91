//! A KV Connect client (denoland/denokv `proto/kv-connect.md`): the metadata
//! exchange, then protobuf reads and writes against the endpoints it names.
//!
//! Network errors and 5xx answers are retried with capped, jittered
//! exponential backoff; 4xx answers fail at once with the server's text. A
//! commit is retried only when the server answered that it did not apply it
//! (503, 429, write disabled): if the connection drops after a commit was
//! sent, or another 5xx comes back, its outcome is unknown and the caller
//! gets an error rather than a silent retry that could apply it twice.

pub mod metadata;
pub mod transport;
mod url;
mod watch;
pub mod wire;

#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use self::metadata::{Metadata, SUPPORTED_VERSIONS};
use self::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use self::wire::{AtomicWriteOutcome, SnapshotReadOutcome};
use super::time::{Clock, Timer};
use super::{Backend, BackendFuture, WatchStream};
use crate::core::error::KvError;
use crate::core::versionstamp::Versionstamp;

const MAX_ATTEMPTS: u32 = 8;
/// Metadata exchanges while opening: a 5xx answer is tried this many times
/// (waiting 0.1-0.2, 0.2-0.4 and 0.4-0.8 s between) before `openKv` fails;
/// a network error (connection refused, no such host) fails it at once, as
/// in Deno.
const OPEN_ATTEMPTS: u32 = 4;
/// A metadata exchange with no whole answer after this long is a network
/// error. (Data-path calls have no timeout, as in Deno.)
const METADATA_TIMEOUT_MS: u32 = 10_000;
/// Same-origin redirects followed per request (the spec lets clients cap it).
const MAX_REDIRECTS: usize = 10;
const BACKOFF_BASE_MS: f64 = 100.0;
const BACKOFF_CAP_MS: f64 = 5_000.0;

pub struct RemoteBackend {
    client: Rc<Client>,
}

impl RemoteBackend {
    pub fn new(url: String, access_token: String, transport: Rc<dyn Transport>, clock: Clock, timer: Timer) -> Self {
        Self {
            client: Rc::new(Client {
                url: url::normalize(&url),
                access_token,
                transport,
                clock,
                timer,
                metadata: RefCell::new(None),
                closed: Cell::new(false),
                close_wakers: RefCell::new(Vec::new()),
                next_waker_id: Cell::new(0),
            }),
        }
    }
}

impl Backend for RemoteBackend {
    fn snapshot_read(&self, ranges: Vec<ReadRange>, consistency: Consistency) -> BackendFuture<Vec<Vec<KvEntry>>> {
        let client = Rc::clone(&self.client);
        Box::pin(async move { client.snapshot_read(&ranges, consistency == Consistency::Strong).await })
    }

    fn atomic_write(&self, write: AtomicWrite) -> BackendFuture<Option<Versionstamp>> {
        let client = Rc::clone(&self.client);
        Box::pin(async move { client.atomic_write(write).await })
    }

    fn watch(&self, keys: Vec<Vec<u8>>) -> Box<dyn WatchStream> {
        Box::new(watch::RemoteWatch::new(Rc::clone(&self.client), keys))
    }

    /// KV Connect has no queues. Deno's remote client never delivers and
    /// never settles `listenQueue`; here it never delivers either, and ends
    /// (as a local listener does) when the database closes.
    fn dequeue(&self) -> BackendFuture<Option<(u64, Vec<u8>)>> {
        let closed = self.client.closed();
        Box::pin(async move {
            closed.await;
            Ok(None)
        })
    }

    fn connect(&self) -> BackendFuture<()> {
        let client = Rc::clone(&self.client);
        Box::pin(async move { client.exchange(Exchange::Open).await.map(|_| ()) })
    }

    fn close(&self) {
        self.client.closed.set(true);
        self.client.transport.close();
        for (_, waker) in self.client.close_wakers.take() {
            waker.wake();
        }
    }
}

struct Client {
    url: String,
    access_token: String,
    transport: Rc<dyn Transport>,
    clock: Clock,
    /// Waits between retries.
    timer: Timer,
    metadata: RefCell<Option<Rc<Metadata>>>,
    closed: Cell<bool>,
    /// Tasks waiting for the database to close (see `Closed`), by id.
    close_wakers: RefCell<Vec<(u64, Waker)>>,
    next_waker_id: Cell<u64>,
}

/// Resolves once the database is closed. Its waker is registered while it
/// waits and removed when it is dropped, so a long-lived database does not
/// collect one per watch update.
struct Closed {
    client: Rc<Client>,
    id: Option<u64>,
}

impl Future for Closed {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.client.closed.get() {
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = self.client.next_waker_id.get();
                self.client.next_waker_id.set(id.wrapping_add(1));
                self.id = Some(id);
                id
            }
        };
        let mut wakers = self.client.close_wakers.borrow_mut();
        match wakers.iter_mut().find(|(i, _)| *i == id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => wakers.push((id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Closed {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            if let Ok(mut wakers) = self.client.close_wakers.try_borrow_mut() {
                wakers.retain(|(i, _)| *i != id);
            }
        }
    }
}

/// Why a data-path call did not return a body.
enum CallError {
    /// Final: report it.
    Fatal(KvError),
    /// The request may or may not have been applied.
    Lost(String),
}

/// Why `Client::post` has no answer.
enum PostError {
    /// No answer arrived: retry, or report an unknown outcome.
    Network(String),
    /// An answer the client refuses (a redirect to another origin, a body
    /// over its cap): why, as a sentence to prefix with the context.
    Refused(String),
}

/// How `Client::exchange` may use and retry the metadata exchange.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Exchange {
    /// `openKv`: fails fast, with Deno's messages.
    Open,
    /// Before a data-path call: the cached metadata unless it is due.
    Cached,
    /// The server asked for it (401, disabled reads or writes).
    Refresh,
}

/// The server's 4xx text; denokv sends Deno's own messages, so the ones
/// Deno raises as TypeError locally come back as TypeError here too.
fn server_error(status: u16, body: &[u8]) -> KvError {
    const TYPE_ERRORS: [&str; 16] = [
        "Failed to perform",
        "Cannot sum",
        "Cannot use min/max",
        "Some of the parameters",
        "Min/max parameters",
        "unsupported value type",
        "invalid v8 value",
        "operand cannot be empty",
        "The result of a Sum operation",
        "Too many",
        "Key too large",
        "Value too large",
        "Total mutation size",
        "Total key size",
        "key cannot be empty",
        "enqueue payload too large",
    ];
    let text = body_text(body);
    let message = if text.is_empty() {
        format!("KV Connect request failed with status {status}")
    } else {
        text
    };
    if TYPE_ERRORS.iter().any(|prefix| message.starts_with(prefix)) {
        KvError::type_error(message)
    } else {
        KvError::error(message)
    }
}

/// A server's error text for a message: lossy UTF-8, trimmed, and cut at
/// 1,000 characters (the body itself is capped at 64 KiB).
fn body_text(body: &[u8]) -> String {
    const MAX_CHARS: usize = 1_000;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The standard reason phrase, which HTTP/2 answers do not carry.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Where a redirect answer sends the request next: `Ok(None)` if `status`
/// is no redirect. Only same-origin redirects are followed: every request
/// carries a token (the access token for the metadata exchange), and a
/// server must not be able to hand it to another one. The error says why
/// not, to be prefixed with the context.
fn redirect_target(current: &str, status: u16, location: Option<&str>) -> Result<Option<String>, String> {
    match status {
        0 => Err(format!(
            "'{current}' answered with a redirect, and this runtime's fetch (a browser's) does not \
             tell where it leads, so webkv cannot check that it stays on the same origin: \
             open the URL it leads to instead"
        )),
        301 | 302 | 303 | 307 | 308 => {
            let location = location.unwrap_or("").trim();
            if location.is_empty() {
                return Err(format!("'{current}' redirected (status {status}) without a Location"));
            }
            let target = url::resolve(current, location)
                .filter(|target| url::is_http(target) && !target.contains(['\r', '\n', '\0']))
                .ok_or_else(|| format!("'{current}' redirected (status {status}) to an invalid URL {location:?}"))?;
            if url::origin(&target) != url::origin(current) {
                return Err(format!(
                    "'{current}' redirected to '{target}', another origin. webkv follows redirects \
                     only within an origin, so that no token is sent to another server: \
                     open '{target}' directly if you trust it"
                ));
            }
            Ok(Some(target))
        }
        _ => Ok(None),
    }
}

impl Client {
    fn data_headers(&self, metadata: &Metadata) -> Vec<(&'static str, String)> {
        vec![
            ("authorization", format!("Bearer {}", metadata.token)),
            ("content-type", "application/x-protobuf".to_string()),
            ("x-denokv-database-id", metadata.database_id.clone()),
            ("x-denokv-version", metadata.version.to_string()),
        ]
    }

    fn backoff_ms(&self, attempt: u32) -> u32 {
        let ceiling = (BACKOFF_BASE_MS * 2f64.powi(attempt.min(30) as i32)).min(BACKOFF_CAP_MS);
        // Full jitter: spreads retries from many clients over the window.
        (ceiling * (0.5 + self.transport.random().clamp(0.0, 1.0) / 2.0)) as u32
    }

    fn ensure_open(&self) -> Result<(), KvError> {
        if self.closed.get() {
            return Err(KvError::closed());
        }
        Ok(())
    }

    /// Resolves once the database is closed.
    fn closed(self: &Rc<Self>) -> Closed {
        Closed {
            client: Rc::clone(self),
            id: None,
        }
    }

    /// Sends `request`, following same-origin redirects, and returns the
    /// answer with the URL that gave it.
    async fn post(&self, mut request: HttpRequest) -> Result<(HttpResponse, String), PostError> {
        for _ in 0..=MAX_REDIRECTS {
            let url = request.url.clone();
            let response = match self.transport.post(request.clone()).await {
                Ok(response) => response,
                Err(TransportError::Network(why)) => return Err(PostError::Network(why)),
                Err(TransportError::TooLarge) => {
                    return Err(PostError::Refused(format!(
                        "the answer from '{url}' is larger than {} bytes",
                        request.max_response_bytes
                    )))
                }
            };
            match redirect_target(&url, response.status, response.location.as_deref()) {
                Ok(Some(target)) => request.url = target,
                Ok(None) => return Ok((response, url)),
                Err(why) => return Err(PostError::Refused(why)),
            }
        }
        Err(PostError::Refused(format!(
            "'{}' redirected more than {MAX_REDIRECTS} times",
            self.url
        )))
    }

    /// The metadata: cached, or from a new exchange.
    async fn metadata(&self, force_refresh: bool) -> Result<Rc<Metadata>, KvError> {
        self.exchange(if force_refresh {
            Exchange::Refresh
        } else {
            Exchange::Cached
        })
        .await
    }

    async fn exchange(&self, mode: Exchange) -> Result<Rc<Metadata>, KvError> {
        if mode == Exchange::Cached {
            if let Some(cached) = self.metadata.borrow().as_ref() {
                if !cached.needs_refresh((self.clock)()) {
                    return Ok(Rc::clone(cached));
                }
            }
        }
        let opening = mode == Exchange::Open;
        let attempts = if opening { OPEN_ATTEMPTS } else { MAX_ATTEMPTS };
        // Deno's words when openKv fails; the data path's otherwise.
        let fail = |why: String| {
            if opening {
                KvError::type_error(format!("Could not open Deno KV database: {why}"))
            } else {
                KvError::error(format!("KV Connect: {why}"))
            }
        };
        let request = HttpRequest {
            idempotent: true,
            url: self.url.clone(),
            headers: vec![
                ("authorization", format!("Bearer {}", self.access_token)),
                ("content-type", "application/json".to_string()),
            ],
            body: Rc::from(SUPPORTED_VERSIONS.as_bytes()),
            max_response_bytes: wire::MAX_METADATA_BYTES,
            timeout_ms: METADATA_TIMEOUT_MS,
        };
        let mut last_error = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                (self.timer)(self.backoff_ms(attempt)).await;
            }
            self.ensure_open()?;
            match self.post(request.clone()).await {
                Ok((HttpResponse { status: 200, body, .. }, final_url)) => {
                    let metadata = Rc::new(Metadata::parse(&body, &final_url)?);
                    *self.metadata.borrow_mut() = Some(Rc::clone(&metadata));
                    return Ok(metadata);
                }
                Ok((response, _)) if (400..500).contains(&response.status) => {
                    return Err(KvError::type_error(format!(
                        "Could not open Deno KV database: the metadata endpoint at '{}' responded with status {} {}: {}",
                        self.url,
                        response.status,
                        reason_phrase(response.status),
                        body_text(&response.body)
                    )));
                }
                Ok((response, _)) if (500..600).contains(&response.status) => {
                    last_error = format!(
                        "the metadata endpoint at '{}' responded with status {} {}: {}",
                        self.url,
                        response.status,
                        reason_phrase(response.status),
                        body_text(&response.body)
                    );
                }
                Ok((response, url)) => {
                    return Err(fail(format!(
                        "the metadata endpoint at '{url}' responded with unexpected status {}",
                        response.status
                    )));
                }
                Err(PostError::Refused(why)) => return Err(fail(why)),
                // Deno fails openKv at once when the server cannot be reached.
                Err(PostError::Network(why)) if opening => {
                    return Err(fail(format!("failed to connect to '{}': {why}", self.url)));
                }
                Err(PostError::Network(why)) => last_error = why,
            }
        }
        if opening {
            return Err(fail(last_error));
        }
        Err(KvError::error(format!(
            "Failed to connect to KV Connect server after {attempts} attempts: {last_error}"
        )))
    }

    /// One data-path request, retried where that cannot apply it twice.
    async fn call(
        &self,
        method: &str,
        body: Rc<[u8]>,
        strong: bool,
        idempotent: bool,
        max_response_bytes: usize,
    ) -> Result<Vec<u8>, CallError> {
        let mut force_refresh = false;
        let mut refreshed_for_auth = false;
        let mut last_error = String::new();
        let mut attempt = 0;
        while attempt < MAX_ATTEMPTS {
            let metadata = self.metadata(force_refresh).await.map_err(CallError::Fatal)?;
            force_refresh = false;
            self.ensure_open().map_err(CallError::Fatal)?;
            let request = HttpRequest {
                idempotent,
                url: format!("{}/{method}", metadata.endpoint(strong).url),
                headers: self.data_headers(&metadata),
                body: Rc::clone(&body),
                max_response_bytes,
                timeout_ms: 0,
            };
            match self.post(request).await {
                Ok((HttpResponse { status: 200, body, .. }, _)) => return Ok(body),
                // An expired data-path token: exchange metadata again, once.
                Ok((response, _)) if response.status == 401 && !refreshed_for_auth => {
                    refreshed_for_auth = true;
                    force_refresh = true;
                    continue;
                }
                Ok((response, _)) if (400..500).contains(&response.status) => {
                    return Err(CallError::Fatal(server_error(response.status, &response.body)));
                }
                Ok((response, url)) if !(500..600).contains(&response.status) => {
                    return Err(CallError::Fatal(KvError::error(format!(
                        "KV Connect: '{url}' responded with unexpected status {}",
                        response.status
                    ))));
                }
                // 503 and 429 say the request was not processed; any other 5xx
                // after a commit was sent (a gateway timing out, say) may
                // follow an applied write.
                Ok((response, _)) if !idempotent && !matches!(response.status, 503 | 429) => {
                    return Err(CallError::Lost(format!("the server answered {}", response.status)));
                }
                Ok((response, _)) => last_error = format!("status {}", response.status),
                Err(PostError::Refused(why)) => {
                    return Err(CallError::Fatal(KvError::error(format!("KV Connect: {why}"))));
                }
                Err(PostError::Network(network)) if !idempotent => return Err(CallError::Lost(network)),
                Err(PostError::Network(network)) => last_error = network,
            }
            attempt += 1;
            if attempt < MAX_ATTEMPTS {
                (self.timer)(self.backoff_ms(attempt)).await;
            }
        }
        Err(CallError::Fatal(KvError::error(format!(
            "KV Connect request to {method} failed after {MAX_ATTEMPTS} attempts: {last_error}"
        ))))
    }

    async fn snapshot_read(&self, ranges: &[ReadRange], strong: bool) -> Result<Vec<Vec<KvEntry>>, KvError> {
        let request: Rc<[u8]> = Rc::from(wire::snapshot_read_request(ranges));
        let max_response_bytes = wire::max_snapshot_read_bytes(ranges);
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                (self.timer)(self.backoff_ms(attempt)).await;
            }
            let body = self
                .call("snapshot_read", Rc::clone(&request), strong, true, max_response_bytes)
                .await
                .map_err(|err| match err {
                    CallError::Fatal(err) => err,
                    CallError::Lost(network) => KvError::error(network),
                })?;
            match wire::snapshot_read_output(&body, ranges)? {
                SnapshotReadOutcome::Entries(entries) => return Ok(entries),
                SnapshotReadOutcome::ReadDisabled => {
                    self.metadata(true).await?;
                }
            }
        }
        Err(KvError::error(
            "KV Connect: reads stayed disabled after refreshing metadata",
        ))
    }

    async fn atomic_write(&self, write: AtomicWrite) -> Result<Option<Versionstamp>, KvError> {
        if !write.enqueues.is_empty() {
            // A plain Error, as Deno's remote client raises it.
            return Err(KvError::error("Enqueue operations are not supported in KV Connect"));
        }
        let request: Rc<[u8]> = Rc::from(wire::atomic_write_request(write));
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                (self.timer)(self.backoff_ms(attempt)).await;
            }
            let body = self
                .call(
                    "atomic_write",
                    Rc::clone(&request),
                    true,
                    false,
                    wire::MAX_SMALL_ANSWER_BYTES,
                )
                .await
                .map_err(|err| match err {
                    CallError::Fatal(err) => err,
                    CallError::Lost(network) => KvError::error(format!(
                        "KV Connect: the connection was lost after the commit was sent, so it may or may not have been applied: {network}"
                    )),
                })?;
            match wire::atomic_write_output(&body)? {
                AtomicWriteOutcome::Committed(versionstamp) => return Ok(Some(versionstamp)),
                AtomicWriteOutcome::CheckFailed => return Ok(None),
                AtomicWriteOutcome::WriteDisabled => {
                    self.metadata(true).await?;
                }
            }
        }
        Err(KvError::error(
            "KV Connect: writes stayed disabled after refreshing metadata",
        ))
    }
}
