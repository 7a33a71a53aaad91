//! The bindings in headless Chromium.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod wasm_common;

mod indexed_db {
    use js_sys::{Promise, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::wasm_bindgen_test;
    use webkv::bindings::{delete_indexed_db, has_indexed_db, open_indexed_db, Database};

    use super::wasm_common::{commit_stamp, text_key};

    /// The durable backend answers with Promises; memory answers at once.
    async fn settled(value: Result<JsValue, JsValue>) -> JsValue {
        let value = value.expect("the call is accepted");
        match value.dyn_ref::<Promise>() {
            Some(promise) => JsFuture::from(promise.clone()).await.expect("it resolves"),
            None => value,
        }
    }

    async fn read(db: &Database, name: &str) -> Option<(String, Vec<u8>)> {
        let raw = settled(db.get(&text_key(name), &JsValue::UNDEFINED)).await;
        if raw.is_null() {
            return None;
        }
        let bytes = raw.unchecked_ref::<Uint8Array>().to_vec();
        let stamp = bytes[1..11].iter().map(|b| format!("{b:02x}")).collect();
        Some((stamp, bytes[11..].to_vec()))
    }

    #[wasm_bindgen_test]
    async fn two_instances_share_one_durable_database() {
        assert!(has_indexed_db());
        let name = format!("wasm-test-{}", js_sys::Math::random());
        let first = open_indexed_db(name.clone(), None).await.expect("opens");
        let second = open_indexed_db(name.clone(), None).await.expect("opens again");

        let stamp = settled(first.set(&text_key("shared"), 3, vec![1, 2, 3], &JsValue::UNDEFINED)).await;
        assert_eq!(
            read(&second, "shared").await,
            Some((commit_stamp(&stamp), vec![1, 2, 3])),
            "a strong read in the other instance sees the acknowledged commit"
        );
        let later = settled(second.set(&text_key("shared"), 3, vec![4], &JsValue::UNDEFINED)).await;
        assert!(
            commit_stamp(&later) > commit_stamp(&stamp),
            "versionstamps increase across instances"
        );
        first.close().expect("closes");
        second.close().expect("closes");

        let reopened = open_indexed_db(name.clone(), None).await.expect("reopens");
        assert_eq!(read(&reopened, "shared").await.map(|(_, value)| value), Some(vec![4]));
        reopened.close().expect("closes");
        delete_indexed_db(name.clone()).await.expect("deletes");
        let fresh = open_indexed_db(name.clone(), None).await.expect("opens a new one");
        assert_eq!(read(&fresh, "shared").await, None, "deleted");
        fresh.close().expect("closes");
        delete_indexed_db(name).await.expect("deletes");
    }
}
