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

/// The Web Lock and the BroadcastChannel of a durable database
/// (src/bindings/idb_peers.rs), two instances in one page, and what any
/// script of the origin can post on their channel.
mod peers {
    use futures::future::{select, Either};
    use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::BroadcastChannel;
    use webkv::backend::durable::host::{PeerEvent, Peers};
    use webkv::bindings::idb_peers::IdbPeers;

    async fn sleep(ms: f64) {
        let set_timeout: Function = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .expect("setTimeout")
            .unchecked_into();
        let slept = Promise::new(&mut |resolve, _| {
            set_timeout.call2(&JsValue::NULL, &resolve, &ms.into()).expect("starts");
        });
        JsFuture::from(slept).await.expect("sleeps");
    }

    /// The next event other than `Present` (which each instance's first
    /// contact with the other causes), or `None` within `ms`.
    async fn news(peers: &IdbPeers, ms: f64) -> Option<PeerEvent> {
        let deadline = js_sys::Date::now() + ms;
        loop {
            let left = deadline - js_sys::Date::now();
            if left <= 0.0 {
                return None;
            }
            match select(peers.next_event(), Box::pin(sleep(left))).await {
                Either::Left((Ok(PeerEvent::Present), _)) => continue,
                Either::Left((event, _)) => return Some(event.expect("an event")),
                Either::Right(_) => return None,
            }
        }
    }

    fn unique(what: &str) -> String {
        format!("peers-{what}-{}", js_sys::Math::random())
    }

    fn message(kind: &JsValue, records: Option<JsValue>) -> JsValue {
        let message = Object::new();
        Reflect::set(&message, &"type".into(), kind).expect("sets");
        if let Some(records) = records {
            Reflect::set(&message, &"records".into(), &records).expect("sets");
        }
        message.into()
    }

    fn byte_arrays(records: &[&[u8]]) -> JsValue {
        records
            .iter()
            .map(|bytes| Uint8Array::from(*bytes))
            .collect::<Array>()
            .into()
    }

    #[wasm_bindgen_test]
    async fn announcements_reach_the_other_instance_and_a_huge_one_is_read_from_the_store() {
        let name = unique("announce");
        let writer = IdbPeers::new(&name);
        let reader = IdbPeers::new(&name);
        // The reader's hello makes the writer announce from now on.
        sleep(200.0).await;
        writer.announce(&[vec![1, 2, 3], vec![4]]);
        match news(&reader, 3_000.0).await {
            Some(PeerEvent::Committed(records)) => assert_eq!(records, vec![vec![1, 2, 3], vec![4]]),
            other => panic!("the records announced, not {other:?}"),
        }
        // As a group of 300,000 concurrent commits makes: too many to copy
        // into wasm, so the reader is told to read them from the store.
        writer.announce(&vec![vec![1, 1, 0]; 300_000]);
        assert!(matches!(news(&reader, 3_000.0).await, Some(PeerEvent::Missed)));
        writer.close();
        reader.close();
        assert!(matches!(news(&reader, 100.0).await, Some(PeerEvent::Closed)));
    }

    #[wasm_bindgen_test]
    async fn what_no_webkv_posts_is_ignored_and_oversized_announcements_are_read_from_the_store() {
        let name = unique("hostile");
        let peers = IdbPeers::new(&name);
        let other = BroadcastChannel::new(&format!("webkv:{name}")).expect("a channel");
        let post = |message: JsValue| other.post_message(&message).expect("posts");
        let commit = |records: JsValue| message(&"commit".into(), Some(records));
        post("commit".into());
        post(Array::new().into());
        post(Uint8Array::new_with_length(4).into());
        post(message(&5.into(), None));
        post(message(&"newer".into(), None));
        post(commit(JsValue::NULL));
        post(commit(Array::new().into()));
        post(commit(byte_arrays(&[&[]])));
        post(commit(Array::of1(&7.into()).into()));
        post(commit(Array::of2(&Uint8Array::from(&[1u8][..]), &"x".into()).into()));
        // None of the above is an event: the first one is this.
        post(message(&"want".into(), None));
        assert!(matches!(news(&peers, 3_000.0).await, Some(PeerEvent::WriterWaiting)));

        // More than 100,000 records, or more than 16 MiB of them: not
        // copied into wasm (nor looked at), read from the store instead.
        let many: Array = (0..100_001).map(|_| Uint8Array::from(&[0xff_u8][..])).collect();
        post(commit(many.into()));
        assert!(matches!(news(&peers, 3_000.0).await, Some(PeerEvent::Missed)));
        let big = || Uint8Array::new_with_length(9 * 1024 * 1024);
        post(commit(Array::of2(&big(), &big()).into()));
        assert!(matches!(news(&peers, 3_000.0).await, Some(PeerEvent::Missed)));

        post(commit(byte_arrays(&[&[1, 2]])));
        match news(&peers, 3_000.0).await {
            Some(PeerEvent::Committed(records)) => assert_eq!(records, vec![vec![1, 2]]),
            other => panic!("the records posted, not {other:?}"),
        }
        post(message(&"queued".into(), None));
        assert!(matches!(news(&peers, 3_000.0).await, Some(PeerEvent::Queued)));
        other.close();
        peers.close();
    }

    #[wasm_bindgen_test]
    async fn one_owner_at_a_time_and_a_waiting_writer_is_heard() {
        let name = unique("lock");
        let first = IdbPeers::new(&name);
        let second = IdbPeers::new(&name);
        assert!(first.can_own(), "Chromium has Web Locks");
        assert!(first.try_acquire().await.expect("asks"), "the lock is free");
        assert!(!second.try_acquire().await.expect("asks"), "the lock is held");

        let waiting = second.acquire();
        assert!(
            matches!(news(&first, 3_000.0).await, Some(PeerEvent::WriterWaiting)),
            "the owner hears that someone waits"
        );
        let waiting = match select(waiting, Box::pin(sleep(200.0))).await {
            Either::Left(_) => panic!("granted while another instance holds the lock"),
            Either::Right((_, waiting)) => waiting,
        };
        first.release();
        match select(waiting, Box::pin(sleep(3_000.0))).await {
            Either::Left((granted, _)) => granted.expect("granted"),
            Either::Right(_) => panic!("not granted after the owner released the lock"),
        }
        assert!(
            !first.try_acquire().await.expect("asks"),
            "the other instance owns it now"
        );

        // Closing gives the lock up, and fails a wait for it.
        let third = IdbPeers::new(&name);
        let waiting = third.acquire();
        sleep(100.0).await;
        third.close();
        let failed = waiting.await.expect_err("a closed instance waits no more");
        assert_eq!(failed.message, "The database was closed");
        second.close();
        // (The browser frees a lock once the promise its holder returned
        // settles: a moment after close.)
        sleep(50.0).await;
        assert!(
            first.try_acquire().await.expect("asks"),
            "a closed instance holds no lock"
        );
        first.close();
    }
}
