//! The KV Connect client's transport: in Deno, http1.js (HTTP/1.1 on raw
//! sockets, which never resends a request); elsewhere, and for what http1.js
//! does not do (redirects, proxies, the watch stream), the host's `fetch`.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::backend::remote::transport::{
    ByteStream, HttpRequest, HttpResponse, StreamResponse, Transport, TransportFuture,
};

#[derive(Default)]
pub struct FetchTransport {
    /// http1.js's connection pool, made at the first request; `undefined`
    /// where it cannot serve (not Deno, or a proxy may be configured).
    pool: OnceCell<JsValue>,
    /// For fetch: where the runtime allows it, requests that must not be
    /// sent twice travel on connections that are never reused (see
    /// `HttpRequest::idempotent`).
    fresh_connections: Rc<RefCell<Option<JsValue>>>,
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
}

impl ByteStream for FetchStream {
    fn next_chunk(&mut self) -> TransportFuture<Result<Option<Vec<u8>>, String>> {
        let promise = js::read_chunk(&self.reader);
        Box::pin(async move {
            let chunk = JsFuture::from(promise).await.map_err(|err| js::error_text(&err))?;
            Ok(chunk.dyn_into::<Uint8Array>().ok().map(|bytes| bytes.to_vec()))
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
    js::http_post(&request.url, headers, &request.body, &client)
}

/// A settled POST's [status, body, final URL].
async fn response(promise: Promise, url: &str) -> Result<HttpResponse, String> {
    let answer = JsFuture::from(promise).await.map_err(|err| js::error_text(&err))?;
    let parts: Array = answer.unchecked_into();
    Ok(HttpResponse {
        status: parts.get(0).as_f64().unwrap_or(0.0) as u16,
        body: parts.get(1).unchecked_into::<Uint8Array>().to_vec(),
        url: parts.get(2).as_string().unwrap_or_else(|| url.to_string()),
    })
}

impl Transport for FetchTransport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, String>> {
        let pool = self.pool.get_or_init(js::create_connection_pool).clone();
        let fresh_connections = Rc::clone(&self.fresh_connections);
        Box::pin(async move {
            let headers = headers_array(&request.headers);
            if !pool.is_undefined() {
                let answer = response(
                    js::pool_post(&pool, &request.url, &headers, &request.body),
                    &request.url,
                )
                .await?;
                if !(300..400).contains(&answer.status) {
                    return Ok(answer);
                }
                // A redirect, which http1.js does not follow: the server did
                // not process the request, and fetch follows it.
            }
            response(fetch_post(&fresh_connections, &request, &headers), &request.url).await
        })
    }

    fn post_stream(&self, request: HttpRequest) -> TransportFuture<Result<StreamResponse, String>> {
        let promise = js::http_post_stream(&request.url, &headers_array(&request.headers), &request.body);
        let readers = Rc::clone(&self.readers);
        Box::pin(async move {
            let answer = JsFuture::from(promise).await.map_err(|err| js::error_text(&err))?;
            let parts: Array = answer.unchecked_into();
            let status = parts.get(0).as_f64().unwrap_or(0.0) as u16;
            let reader = parts.get(2);
            if status != 200 || reader.is_null() {
                return Ok(StreamResponse::Failed(HttpResponse {
                    status,
                    body: parts
                        .get(1)
                        .dyn_into::<Uint8Array>()
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                    url: request.url,
                }));
            }
            readers.borrow_mut().push(reader.clone());
            Ok(StreamResponse::Streaming(Box::new(FetchStream { reader, readers })))
        })
    }

    fn sleep(&self, ms: u32) -> TransportFuture<()> {
        let promise = js::sleep(ms);
        Box::pin(async move {
            let _ = JsFuture::from(promise).await;
        })
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
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
        for reader in self.readers.borrow_mut().drain(..) {
            js::cancel_reader(&reader);
        }
    }
}
