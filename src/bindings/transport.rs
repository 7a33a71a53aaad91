//! The KV Connect client's transport, on the host's `fetch`.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::backend::remote::transport::{HttpRequest, HttpResponse, Transport, TransportFuture};

pub struct FetchTransport;

impl Transport for FetchTransport {
    fn post(&self, request: HttpRequest) -> TransportFuture<Result<HttpResponse, String>> {
        let headers: Array = request
            .headers
            .iter()
            .map(|(name, value)| Array::of2(&JsValue::from_str(name), &JsValue::from_str(value)))
            .collect();
        let promise = js::http_post(&request.url, &headers, &request.body);
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
}
