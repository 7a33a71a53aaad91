//! A KV Connect client (denoland/denokv `proto/kv-connect.md`): the metadata
//! exchange, then protobuf reads and writes against the endpoints it names.
//!
//! Network errors and 5xx answers are retried with capped, jittered
//! exponential backoff; 4xx answers fail at once with the server's text. A
//! commit is retried only when the server answered that it did not apply it
//! (503, 429, write disabled): if the connection drops after a commit was
//! sent, or another 5xx comes back, its outcome is unknown and the caller
//! gets an error rather than a silent retry that could apply it twice.

mod metadata;
pub mod transport;
mod url;
mod watch;
mod wire;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use denokv_proto::{AtomicWrite, Consistency, KvEntry, ReadRange};

use self::metadata::{Metadata, SUPPORTED_VERSIONS};
use self::transport::{HttpRequest, HttpResponse, Transport};
use self::wire::{AtomicWriteOutcome, SnapshotReadOutcome};
use super::{Backend, BackendFuture, WatchStream};
use crate::core::error::KvError;
use crate::core::versionstamp::Versionstamp;

const MAX_ATTEMPTS: u32 = 8;
const BACKOFF_BASE_MS: f64 = 100.0;
const BACKOFF_CAP_MS: f64 = 5_000.0;

pub struct RemoteBackend {
    client: Rc<Client>,
}

impl RemoteBackend {
    pub fn new(url: String, access_token: String, transport: Rc<dyn Transport>) -> Self {
        Self {
            client: Rc::new(Client {
                url,
                access_token,
                transport,
                metadata: RefCell::new(None),
                closed: Cell::new(false),
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

    fn connect(&self) -> BackendFuture<()> {
        let client = Rc::clone(&self.client);
        Box::pin(async move { client.metadata(false).await.map(|_| ()) })
    }

    fn close(&self) {
        self.client.closed.set(true);
        self.client.transport.close();
    }
}

struct Client {
    url: String,
    access_token: String,
    transport: Rc<dyn Transport>,
    metadata: RefCell<Option<Rc<Metadata>>>,
    closed: Cell<bool>,
}

/// Why a data-path call did not return a body.
enum CallError {
    /// Final: report it.
    Fatal(KvError),
    /// The request may or may not have been applied.
    Lost(String),
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
    let text = String::from_utf8_lossy(body).trim().to_string();
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
        _ => "",
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
        let ceiling = (BACKOFF_BASE_MS * 2f64.powi(attempt as i32)).min(BACKOFF_CAP_MS);
        // Full jitter: spreads retries from many clients over the window.
        (ceiling * (0.5 + self.transport.random() / 2.0)) as u32
    }

    fn ensure_open(&self) -> Result<(), KvError> {
        if self.closed.get() {
            return Err(KvError::closed());
        }
        Ok(())
    }

    async fn metadata(&self, force_refresh: bool) -> Result<Rc<Metadata>, KvError> {
        if !force_refresh {
            if let Some(cached) = self.metadata.borrow().as_ref() {
                if !cached.needs_refresh(self.transport.now_ms()) {
                    return Ok(Rc::clone(cached));
                }
            }
        }
        let mut last_error = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                self.transport.sleep(self.backoff_ms(attempt)).await;
            }
            self.ensure_open()?;
            let request = HttpRequest {
                idempotent: true,
                url: self.url.clone(),
                headers: vec![
                    ("authorization", format!("Bearer {}", self.access_token)),
                    ("content-type", "application/json".to_string()),
                ],
                body: SUPPORTED_VERSIONS.as_bytes().to_vec(),
            };
            match self.transport.post(request).await {
                Ok(HttpResponse { status: 200, body, url }) => {
                    let metadata = Rc::new(Metadata::parse(&body, &url)?);
                    *self.metadata.borrow_mut() = Some(Rc::clone(&metadata));
                    return Ok(metadata);
                }
                Ok(response) if (400..500).contains(&response.status) => {
                    let body = String::from_utf8_lossy(&response.body);
                    return Err(KvError::type_error(format!(
                        "Could not open Deno KV database: the metadata endpoint at '{}' responded with status {} {}: {}",
                        self.url,
                        response.status,
                        reason_phrase(response.status),
                        body.trim()
                    )));
                }
                Ok(response) => last_error = format!("status {}", response.status),
                Err(network) => last_error = network,
            }
        }
        Err(KvError::error(format!(
            "Failed to connect to KV Connect server after {MAX_ATTEMPTS} attempts: {last_error}"
        )))
    }

    /// One data-path request, retried where that cannot apply it twice.
    async fn call(&self, method: &str, body: &[u8], strong: bool, idempotent: bool) -> Result<Vec<u8>, CallError> {
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
                body: body.to_vec(),
            };
            match self.transport.post(request).await {
                Ok(HttpResponse { status: 200, body, .. }) => return Ok(body),
                // An expired data-path token: exchange metadata again, once.
                Ok(response) if response.status == 401 && !refreshed_for_auth => {
                    refreshed_for_auth = true;
                    force_refresh = true;
                    continue;
                }
                Ok(response) if (400..500).contains(&response.status) => {
                    return Err(CallError::Fatal(server_error(response.status, &response.body)));
                }
                // 503 and 429 say the request was not processed; any other 5xx
                // after a commit was sent (a gateway timing out, say) may
                // follow an applied write.
                Ok(response) if !idempotent && !matches!(response.status, 503 | 429) => {
                    return Err(CallError::Lost(format!("the server answered {}", response.status)));
                }
                Ok(response) => last_error = format!("status {}", response.status),
                Err(network) if !idempotent => return Err(CallError::Lost(network)),
                Err(network) => last_error = network,
            }
            attempt += 1;
            if attempt < MAX_ATTEMPTS {
                self.transport.sleep(self.backoff_ms(attempt)).await;
            }
        }
        Err(CallError::Fatal(KvError::error(format!(
            "KV Connect request to {method} failed after {MAX_ATTEMPTS} attempts: {last_error}"
        ))))
    }

    async fn snapshot_read(&self, ranges: &[ReadRange], strong: bool) -> Result<Vec<Vec<KvEntry>>, KvError> {
        let request = wire::snapshot_read_request(ranges);
        for _ in 0..MAX_ATTEMPTS {
            let body = self
                .call("snapshot_read", &request, strong, true)
                .await
                .map_err(|err| match err {
                    CallError::Fatal(err) => err,
                    CallError::Lost(network) => KvError::error(network),
                })?;
            match wire::snapshot_read_output(&body)? {
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
        let request = wire::atomic_write_request(write);
        for _ in 0..MAX_ATTEMPTS {
            let body = self.call("atomic_write", &request, true, false).await.map_err(|err| match err {
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
