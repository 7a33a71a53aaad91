//! The KV Connect client's transport, on the host's `fetch`.

use std::cell::RefCell;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::backend::remote::transport::{HttpRequest, HttpResponse, Transport, TransportFuture};

#[derive(Default)]
pub struct FetchTransport {
    /// Where the runtime allows it, commits travel on connections that are
    /// never reused (see `HttpRequest::reusable_connection`).
    fresh_connections: RefCell<Option<JsValue>>,
}

impl Transport for FetchTransport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, String>> {
        let headers: Array = request
            .headers
            .iter()
            .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
            .collect();
        let client = if request.reusable_connection {
            JsValue::UNDEFINED
        } else {
            self.fresh_connections
                .borrow_mut()
                .get_or_insert_with(js::create_fresh_connection_client)
                .clone()
        };
        let promise = js::http_post(&request.url, &headers, &request.body, &client);
        Box::pin(async move {
            let answer = JsFuture::from(promise).await.map_err(|err| js::error_text(&err))?;
            let parts: Array = answer.unchecked_into();
            Ok(HttpResponse {
                status: parts.get(0).as_f64().unwrap_or(0.0) as u16,
                body: parts.get(1).unchecked_into::<Uint8Array>().to_vec(),
                url: parts.get(2).as_string().unwrap_or(request.url),
            })
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
        if let Some(client) = self.fresh_connections.borrow_mut().take() {
            js::close_client(&client);
        }
    }
}
