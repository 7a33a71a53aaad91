//! The KV Connect client's transport: in Deno, http1.js (HTTP/1.1 on raw
//! sockets, which never resends a request); elsewhere, and for what http1.js
//! does not do (proxies, the watch stream), the host's `fetch`. Neither
//! follows redirects: the client does, within an origin.
//!
//! Answers come into wasm memory only within the request's
//! `max_response_bytes` (the JS side stops reading beyond it), and a watch
//! stream's chunks are copied in at most `MAX_CHUNK_BYTES` at a time.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::backend::remote::transport::{
    ByteStream, HttpRequest, HttpResponse, StreamResponse, Transport, TransportError, TransportFuture,
};

/// The most of a watch stream's chunk copied into wasm memory at once; the
/// frame reader checks each frame's declared length before more arrives.
const MAX_CHUNK_BYTES: u32 = 256 * 1024;

/// KV Connect's HTTP through the host's JS: raw HTTP/1.1 (http1.js) in
/// Deno, `fetch` (fetch.js) elsewhere and for streams.
#[derive(Default)]
pub struct JsHttpTransport {
    /// http1.js's connection pool, made at the first request; `undefined`
    /// where it cannot serve (not Deno, or a proxy may be configured).
    pool: OnceCell<JsValue>,
    /// For fetch: where the runtime allows it, requests that must not be
    /// sent twice travel on connections that are never reused (see
    /// `HttpRequest::idempotent`).
    fresh_connections: Rc<RefCell<Option<JsValue>>>,
    /// Aborts watch requests, and so their streams, when the database closes.
    streams: OnceCell<JsValue>,
    /// Readers of open streams, cancelled when the database closes.
    readers: Rc<RefCell<Vec<JsValue>>>,
}

fn headers_array(headers: &[(&'static str, String)]) -> Array {
    headers
        .iter()
        .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
        .collect()
}

struct FetchStream {
    reader: JsValue,
    readers: Rc<RefCell<Vec<JsValue>>>,
    /// The rest of a chunk larger than `MAX_CHUNK_BYTES`, handed over next.
    rest: Rc<RefCell<Option<Uint8Array>>>,
}

/// At most `MAX_CHUNK_BYTES` of `chunk` as bytes, and the rest, if any.
fn split_chunk(chunk: &Uint8Array) -> (Vec<u8>, Option<Uint8Array>) {
    let length = chunk.length();
    if length <= MAX_CHUNK_BYTES {
        return (chunk.to_vec(), None);
    }
    (
        chunk.subarray(0, MAX_CHUNK_BYTES).to_vec(),
        Some(chunk.subarray(MAX_CHUNK_BYTES, length)),
    )
}

impl ByteStream for FetchStream {
    fn next_chunk(&mut self) -> TransportFuture<Result<Option<Vec<u8>>, String>> {
        let rest = Rc::clone(&self.rest);
        let held = rest.borrow_mut().take();
        if let Some(held) = held {
            let (bytes, more) = split_chunk(&held);
            *rest.borrow_mut() = more;
            return Box::pin(std::future::ready(Ok(Some(bytes))));
        }
        let promise = js::read_chunk(&self.reader);
        Box::pin(async move {
            let chunk = JsFuture::from(promise).await.map_err(|err| js::error_text(&err))?;
            let Ok(chunk) = chunk.dyn_into::<Uint8Array>() else {
                return Ok(None);
            };
            let (bytes, more) = split_chunk(&chunk);
            *rest.borrow_mut() = more;
            Ok(Some(bytes))
        })
    }
}

impl Drop for FetchStream {
    fn drop(&mut self) {
        js::cancel_reader(&self.reader);
        self.readers.borrow_mut().retain(|reader| reader != &self.reader);
    }
}

/// A POST with fetch.
fn fetch_post(fresh_connections: &RefCell<Option<JsValue>>, request: &HttpRequest, headers: &Array) -> Promise {
    let client = if request.idempotent {
        JsValue::UNDEFINED
    } else {
        fresh_connections
            .borrow_mut()
            .get_or_insert_with(js::create_fresh_connection_client)
            .clone()
    };
    js::http_post(
        &request.url,
        headers,
        &request.body,
        &client,
        max_bytes(request),
        request.timeout_ms,
    )
}

fn max_bytes(request: &HttpRequest) -> f64 {
    request.max_response_bytes as f64
}

/// A body handed over from JS: bytes, or null when it was over the limit.
fn body(value: JsValue) -> Result<Vec<u8>, TransportError> {
    value
        .dyn_into::<Uint8Array>()
        .map(|bytes| bytes.to_vec())
        .map_err(|_| TransportError::TooLarge)
}

fn status(value: &JsValue) -> u16 {
    // Anything not a status (NaN, out of range) becomes 0: "not revealed".
    value
        .as_f64()
        .filter(|status| (0.0..=999.0).contains(status))
        .map_or(0, |status| status as u16)
}

/// A settled POST's [status, body | null, location | null].
async fn response(promise: Promise) -> Result<HttpResponse, TransportError> {
    let answer = JsFuture::from(promise)
        .await
        .map_err(|err| TransportError::Network(js::error_text(&err)))?;
    let parts: Array = answer.unchecked_into();
    Ok(HttpResponse {
        status: status(&parts.get(0)),
        body: body(parts.get(1))?,
        location: parts.get(2).as_string(),
    })
}

impl Transport for JsHttpTransport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, TransportError>> {
        let pool = self.pool.get_or_init(js::create_connection_pool).clone();
        let headers = headers_array(&request.headers);
        // Both start the request now: the body is copied out of wasm memory
        // before anything else runs.
        let promise = if pool.is_undefined() {
            fetch_post(&self.fresh_connections, &request, &headers)
        } else {
            js::pool_post(
                &pool,
                &request.url,
                &headers,
                &request.body,
                max_bytes(&request),
                request.timeout_ms,
            )
        };
        Box::pin(response(promise))
    }

    fn post_stream(&self, request: HttpRequest) -> TransportFuture<Result<StreamResponse, TransportError>> {
        let promise = js::http_post_stream(
            &request.url,
            &headers_array(&request.headers),
            &request.body,
            max_bytes(&request),
            self.streams.get_or_init(js::create_abort_controller),
        );
        let readers = Rc::clone(&self.readers);
        Box::pin(async move {
            let answer = JsFuture::from(promise)
                .await
                .map_err(|err| TransportError::Network(js::error_text(&err)))?;
            let parts: Array = answer.unchecked_into();
            let reader = parts.get(3);
            if reader.is_null() || reader.is_undefined() {
                return Ok(StreamResponse::Failed(HttpResponse {
                    status: status(&parts.get(0)),
                    body: body(parts.get(1))?,
                    location: parts.get(2).as_string(),
                }));
            }
            readers.borrow_mut().push(reader.clone());
            Ok(StreamResponse::Streaming(Box::new(FetchStream {
                reader,
                readers,
                rest: Rc::default(),
            })))
        })
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn close(&self) {
        if let Some(pool) = self.pool.get().filter(|pool| !pool.is_undefined()) {
            js::close_pool(pool);
        }
        if let Some(client) = self.fresh_connections.borrow_mut().take() {
            js::close_client(&client);
        }
        if let Some(controller) = self.streams.get() {
            js::abort(controller);
        }
        for reader in self.readers.borrow_mut().drain(..) {
            js::cancel_reader(&reader);
        }
    }
}
