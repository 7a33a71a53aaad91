//! The browser's IndexedDB store of a durable database (docs/storage.md):
//! opening database "webkv:<name>" with its layout upgrades, and every
//! transaction one instance runs on it, on `indexed_db_futures`: it opens,
//! deletes, starts and commits transactions, makes the requests and awaits
//! them, and runs the cursors. Plain `web-sys` does only what the crate has
//! no way to do (the versionchange transaction of an upgrade) or does at a
//! cost the package cannot pay (the connection's `versionchange` and
//! `close` events): docs/storage.md, "IndexedDB from Rust".
//!
//! Layout (version = layout; the byte formats and why they are crash-safe:
//! docs/storage.md):
//!   meta  "snapshot" -> version       the version the pages hold
//!         "index"    -> Uint8Array    the page index (core/page_index.rs)
//!   log   version    -> Uint8Array[]  the commit records of one write
//!                                     transaction, keyed by the first one's
//!                                     version (a lone record is stored bare)
//!   pages id         -> Uint8Array    a snapshot page: sorted entries
//!   queue [due, version, n] -> { bytes, owner, until }  a queue message and
//!                      the lease on it
//! Layout 1 had no snapshot and no queue, layout 2 no index (pages keyed by
//! position); both are upgraded in place.
//!
//! Everything read back is input: any script of the origin can write the
//! store, and so can an older or newer webkv. It is checked here before the
//! protocol sees it (docs/security.md).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use indexed_db_futures::cursor::CursorDirection;
use indexed_db_futures::database::Database;
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::KeyRange;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbVersionChangeEvent};

use super::idb_peers::describe;
use super::reporter::Reporter;
use crate::backend::durable::host::{
    Appended, BackendFuture, Checkpoint, MessageKey, PlanCheckpoint, Prepare, Since, Snapshot, Store, Stored, Taken,
};
use crate::core::error::{KvError, KvResult};
use crate::core::page_index::PageIndex;
// A queue row's bytes start with `MESSAGE_FORMAT`; rows of another format
// are a newer webkv's, and left alone.
use crate::core::record::{self, Page, MAX_VERSION, MESSAGE_FORMAT};

const LAYOUT: u32 = 3;
const STORES: [&str; 4] = ["meta", "log", "pages", "queue"];
const PREFIX: &str = "webkv:";
// Far above any message enqueue can make; more is not read into wasm.
const MAX_MESSAGE_BYTES: u32 = 64 * 1024 * 1024;
// Reported at most once each, and at most this many remembered.
const MAX_NEWER_MESSAGES: usize = 1_000;
const GONE: &str = "The database was closed by IndexedDB: it was deleted, upgraded or cleared by another page";

/// Whether this runtime has IndexedDB (browsers) or not (Deno, Node, workerd).
pub fn runtime_has_indexed_db() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &JsValue::from_str("indexedDB"))
        .is_ok_and(|factory| !factory.is_undefined() && !factory.is_null())
}

/// Deletes IndexedDB database "webkv:<name>"; open connections to it close.
pub async fn delete_database(name: &str) -> KvResult<()> {
    let request = Database::delete_by_name(&format!("{PREFIX}{name}")).map_err(|err| open_error(err, name))?;
    request.await.map_err(|err| idb_error(dom_of(err).as_ref()))
}

/// How a transaction failed: a check of stored bytes or the protocol's own
/// answer (kept as it is), or IndexedDB, with the DOMException it raised if
/// it was one (mapped by `Shared::failure`). Only the exception is kept of
/// the crate's error: its enum's drop and conversions, in every state of
/// every transaction's future, cost the wasm kilobytes.
enum Failed {
    Kv(KvError),
    Idb(Option<web_sys::DomException>),
}

impl From<KvError> for Failed {
    fn from(err: KvError) -> Self {
        Self::Kv(err)
    }
}

impl From<IdbError> for Failed {
    #[inline(never)]
    fn from(err: IdbError) -> Self {
        Self::Idb(dom_of(err))
    }
}

#[inline(never)]
fn dom_of(error: IdbError) -> Option<web_sys::DomException> {
    match error {
        IdbError::DomException(dom) => Some(dom.into()),
        // The crate's own errors (an unexpected value, a dropped channel).
        _ => None,
    }
}

type Step<T> = Result<T, Failed>;

/// A read whose answer is awaited later: a request is made when its `Answer`
/// is created, so reads made one after another run at once in IndexedDB and
/// are awaited in turn (no join to compile). Boxed: one copy of each of the
/// crate's request futures for every transaction.
type Answer<'a, T> = Pin<Box<dyn Future<Output = Step<T>> + 'a>>;

/// The value under `key` as stored, `None` when there is none. The crate's
/// request is awaited, but its typed answer reads a stored null as none too,
/// so the value is the request's raw result.
fn get<'a>(store: &ObjectStore<'_>, key: JsValue) -> Answer<'a, Option<JsValue>> {
    let request = store.get::<JsValue, JsValue, _>(KeyRange::Only(key)).build();
    Box::pin(async move {
        let mut request = request?;
        (&mut request).await?;
        let value = request.as_sys().result().unwrap_or(JsValue::UNDEFINED);
        Ok((!value.is_undefined()).then_some(value))
    })
}

/// Every value after `from`, in key order, as stored.
fn get_all_after<'a>(store: &ObjectStore<'_>, from: f64) -> Answer<'a, Vec<JsValue>> {
    let request = store
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(KeyRange::LowerBound(JsValue::from_f64(from), true))
        .build();
    Box::pin(async move {
        // (Each value is taken as it is: no conversion fails.)
        Ok(request?.await?.collect::<Result<_, _>>()?)
    })
}

/// Requests whose answer nobody awaits: a failure aborts the transaction,
/// which its commit reports.
fn put(store: &ObjectStore<'_>, value: JsValue, key: JsValue) -> Step<()> {
    drop(store.put(value).with_key(key).build()?);
    Ok(())
}

fn add(store: &ObjectStore<'_>, value: JsValue, key: JsValue) -> Step<()> {
    drop(store.add(value).with_key(key).build()?);
    Ok(())
}

fn remove(store: &ObjectStore<'_>, range: KeyRange<JsValue>) -> Step<()> {
    drop(store.delete::<JsValue, _>(range).build()?);
    Ok(())
}

fn corrupt(what: String) -> Failed {
    Failed::Kv(record::corrupt(&what))
}

/// "IndexedDB failed: <name>: <message>", as every IndexedDB error reads.
fn dom_error(error: &web_sys::DomException) -> KvError {
    let name = error.name();
    let mut detail = error.message();
    if detail.is_empty() {
        detail = if name == "QuotaExceededError" {
            "the origin's storage quota is used up".into()
        } else {
            "no details".into()
        };
    }
    KvError::error(format!("IndexedDB failed: {name}: {detail}"))
}

fn idb_error(error: Option<&web_sys::DomException>) -> KvError {
    match error {
        Some(dom) => dom_error(dom),
        // The crate's own errors: not formatted, which would link their
        // Display for one message.
        None => KvError::error("IndexedDB failed: an unexpected answer from IndexedDB"),
    }
}

fn open_error(error: OpenDbError, name: &str) -> KvError {
    let OpenDbError::Base(error) = error else {
        return KvError::error("IndexedDB failed: IndexedDB is not available here");
    };
    match dom_of(error) {
        // (3 is `LAYOUT`, written out: one number less to format.)
        Some(dom) if dom.name() == "VersionError" => KvError::error(format!(
            "The database \"{name}\" was written by a newer webkv (its layout is newer than 3)"
        )),
        dom => idb_error(dom.as_ref()),
    }
}

fn is_version(value: f64) -> bool {
    value >= 0.0 && value.fract() == 0.0 && value <= MAX_VERSION as f64
}

fn version_of(value: &JsValue) -> Option<u64> {
    value.as_f64().filter(|n| is_version(*n)).map(|n| n as u64)
}

/// A log value is the records of one write transaction: an array, or a lone
/// record (as layout 1 stored every record).
fn records_of(value: JsValue) -> Vec<JsValue> {
    match value.dyn_into::<Array>() {
        Ok(array) => array.to_vec(),
        Err(lone) => vec![lone],
    }
}

fn record_count(value: &JsValue) -> f64 {
    value.dyn_ref::<Array>().map_or(1.0, |array| f64::from(array.length()))
}

/// An IndexedDB key, short enough for a report.
fn key_text(key: &JsValue) -> String {
    let Some(text) = js_sys::JSON::stringify(key).ok().filter(|text| text.is_string()) else {
        return describe(key);
    };
    if text.length() > 60 {
        format!("{}...", String::from(text.slice(0, 57)))
    } else {
        text.into()
    }
}

fn key_to_js((due, version, index): MessageKey) -> JsValue {
    Array::of3(
        &JsValue::from_f64(due as f64),
        &JsValue::from_f64(version as f64),
        &JsValue::from_f64(f64::from(index)),
    )
    .into()
}

/// A queue key, `[due, version, index]`, or `None` if it is something else.
fn key_from_js(value: &JsValue) -> Option<MessageKey> {
    let key = value.dyn_ref::<Array>().filter(|key| key.length() == 3)?;
    let due = version_of(&key.get(0))?;
    let version = version_of(&key.get(1))?;
    let index = u32::try_from(version_of(&key.get(2))?).ok()?;
    Some((due, version, index))
}

fn field(object: &JsValue, name: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A queue row as webkv writes it: `{ bytes, owner, until }`.
fn queue_row(bytes: &JsValue, owner: &JsValue, until: f64) -> JsValue {
    let row = Object::new();
    // Setting a plain object's own data properties cannot throw.
    let _ = Reflect::set(&row, &JsValue::from_str("bytes"), bytes);
    let _ = Reflect::set(&row, &JsValue::from_str("owner"), owner);
    let _ = Reflect::set(&row, &JsValue::from_str("until"), &JsValue::from_f64(until));
    row.into()
}

/// Why a queue row is no message webkv wrote, or `None`.
fn queue_row_problem(key: &JsValue, row: &JsValue) -> Option<String> {
    if key_from_js(key).is_none() {
        return Some(format!("its key {} is not [due, version, index]", key_text(key)));
    }
    if !row.is_object() {
        return Some(format!("it holds {}", describe(row)));
    }
    let bytes = field(row, "bytes");
    let Some(array) = bytes.dyn_ref::<Uint8Array>() else {
        return Some(format!("its bytes are {}", describe(&bytes)));
    };
    let length = array.byte_length();
    if length == 0 || length > MAX_MESSAGE_BYTES {
        return Some(format!("its bytes are {length} long"));
    }
    None
}

/// The page index of a layout-2 snapshot (its version, and its pages with
/// their keys in the store), for the upgrade to layout 3; a snapshot that
/// is not what layout 2 wrote fails the upgrade with a "corrupt" error.
fn upgraded_index(version: &JsValue, ids: &[JsValue], pages: &[JsValue]) -> KvResult<Vec<u8>> {
    let version = version_of(version).ok_or_else(|| record::corrupt("its snapshot version is out of range"))?;
    if ids.len() != pages.len() {
        return Err(record::corrupt("its pages and their keys differ in number"));
    }
    let mut parsed = Vec::with_capacity(pages.len());
    for (id, bytes) in ids.iter().zip(pages) {
        let id = version_of(id).ok_or_else(|| record::corrupt("a page key is not a whole number"))?;
        // Anything but bytes reads as no bytes, which the decoder rejects.
        let bytes = bytes
            .dyn_ref::<Uint8Array>()
            .map(Uint8Array::to_vec)
            .unwrap_or_default();
        if let Some(page) = Page::parse(bytes).map_err(record::found_in("a snapshot page"))? {
            parsed.push((id, page));
        }
    }
    Ok(PageIndex::of_pages(version, &parsed)?.encode())
}

fn result_of(request: &IdbRequest) -> JsValue {
    request.result().unwrap_or(JsValue::UNDEFINED)
}

/// The layout upgrade, inside IndexedDB's versionchange transaction (all or
/// nothing). `fail` records why it aborts on purpose.
fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old_version: f64, fail: Rc<dyn Fn(KvError)>) -> Result<(), JsValue> {
    if old_version < 1.0 {
        db.create_object_store("meta")?;
        db.create_object_store("log")?;
    }
    let meta = tx.object_store("meta")?;
    if old_version < 2.0 {
        db.create_object_store("pages")?;
        db.create_object_store("queue")?;
        meta.put_with_key(&JsValue::from_f64(0.0), &JsValue::from_str("snapshot"))?;
        let index = PageIndex::of_pages(0, &[]).map_err(|err| JsValue::from_str(&err.message))?;
        meta.put_with_key(
            &Uint8Array::from(index.encode().as_slice()),
            &JsValue::from_str("index"),
        )?;
        return Ok(());
    }
    if old_version < 3.0 {
        // Layout 2 kept the snapshot's pages under their positions 0, 1,
        // ...: they keep those keys as their ids, and the index lists them.
        // The three reads are made at once; IndexedDB answers a
        // transaction's requests in order, so once the last has succeeded
        // so have the others (a failure aborts the upgrade, which the open
        // reports). One callback: each is a closure's worth of wasm.
        let pages = tx.object_store("pages")?;
        let version = meta.get(&JsValue::from_str("snapshot"))?;
        let keys = pages.get_all_keys()?;
        let values = pages.get_all()?;
        let last = values.clone();
        let done = Closure::once_into_js(move || {
            let version = match result_of(&version) {
                stored if stored.is_undefined() || stored.is_null() => JsValue::from_f64(0.0),
                stored => stored,
            };
            let list = |request: &IdbRequest| {
                result_of(request)
                    .dyn_into::<Array>()
                    .map(|list| list.to_vec())
                    .unwrap_or_default()
            };
            let written = upgraded_index(&version, &list(&keys), &list(&values)).and_then(|index| {
                meta.put_with_key(&Uint8Array::from(index.as_slice()), &JsValue::from_str("index"))
                    .map(drop)
                    .map_err(|err| KvError::error(super::js::error_text(&err)))
            });
            if let Err(err) = written {
                fail(err);
            }
        });
        last.set_onsuccess(Some(done.unchecked_ref()));
    }
    Ok(())
}

/// Opens database "webkv:<name>" at the current layout, upgrading an older
/// one in place.
pub async fn open(name: &str) -> KvResult<IdbStore> {
    // Why an upgrade was aborted, if it was on purpose.
    let upgrade_failure: Rc<RefCell<Option<KvError>>> = Rc::default();
    // The crate's own upgrade listener hands out no versionchange
    // transaction (and formats its errors, which links their text): the
    // request is the crate's, its `upgradeneeded` handler is web-sys's.
    let request = Database::open(format!("{PREFIX}{name}"))
        .with_version(LAYOUT)
        .build()
        .map_err(|err| open_error(err, name))?;
    let sys: IdbOpenDbRequest = request.as_sys().clone();
    let on_upgrade = {
        let upgrade_failure = Rc::clone(&upgrade_failure);
        let sys = sys.clone();
        Closure::once(move |event: IdbVersionChangeEvent| {
            let (Some(tx), Ok(db)) = (sys.transaction(), sys.result()) else {
                return;
            };
            let fail: Rc<dyn Fn(KvError)> = {
                let tx = tx.clone();
                Rc::new(move |err| {
                    *upgrade_failure.borrow_mut() = Some(err);
                    let _ = tx.abort();
                })
            };
            if let Err(err) = upgrade(db.unchecked_ref(), &tx, event.old_version(), Rc::clone(&fail)) {
                fail(KvError::error(format!(
                    "IndexedDB failed: {}",
                    super::js::error_text(&err)
                )));
            }
        })
    };
    sys.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let opened = request.await;
    sys.set_onupgradeneeded(None);
    drop(on_upgrade);
    let db = match opened {
        Ok(db) => db,
        Err(err) => {
            return Err(upgrade_failure
                .borrow_mut()
                .take()
                .unwrap_or_else(|| open_error(err, name)))
        }
    };
    Ok(IdbStore::new(db, name))
}

struct Shared {
    db: Database,
    /// "webkv:<name>", for reports.
    name: String,
    /// The connection's `versionchange` and `close` events: once one has
    /// fired, IndexedDB closed the connection (another page deletes or
    /// upgrades the database) and every later transaction fails saying so.
    gone: Rc<Cell<bool>>,
    /// Who holds a queue lease: this instance, among every tab and worker.
    id: JsValue,
    /// Reports about what was read back from the store.
    reports: Reporter,
    /// Queue keys (as `key_text`) being set aside, and those of a newer
    /// format reported already. Lists: both stay short or are capped, and a
    /// set of strings costs the wasm its hashing.
    setting_aside: RefCell<Vec<String>>,
    newer_messages: RefCell<Vec<String>>,
    /// The connection's `versionchange` and `close` handler, kept alive
    /// while it is set.
    closed: RefCell<Option<Closure<dyn FnMut()>>>,
}

/// The IndexedDB database: every transaction this instance runs on it.
pub struct IdbStore(Rc<Shared>);

impl IdbStore {
    fn new(db: Database, name: &str) -> Self {
        let sys: &IdbDatabase = db.as_sys();
        // A newer page wants to upgrade, or the database is being deleted:
        // let it, and fail from now on instead of blocking it. IndexedDB
        // closing the connection itself (`close`) means the same; closing
        // it again then does nothing. (One closure for both: each costs.)
        let gone = Rc::new(Cell::new(false));
        let closed = {
            let (gone, db) = (Rc::clone(&gone), sys.clone());
            Closure::<dyn FnMut()>::new(move || {
                gone.set(true);
                db.close();
            })
        };
        sys.set_onversionchange(Some(closed.as_ref().unchecked_ref()));
        sys.set_onclose(Some(closed.as_ref().unchecked_ref()));
        // Unique enough among an origin's tabs: 52 random bits.
        let id = js_sys::Number::from(js_sys::Math::random())
            .to_string_with_radix(36)
            .unwrap_or_default();
        Self(Rc::new(Shared {
            db,
            name: format!("{PREFIX}{name}"),
            gone,
            id: id.into(),
            reports: Reporter::new(|text| web_sys::console::error_1(&JsValue::from_str(text))),
            setting_aside: RefCell::default(),
            newer_messages: RefCell::default(),
            closed: RefCell::new(Some(closed)),
        }))
    }
}

impl Shared {
    fn begin(&self, stores: &[&str], mode: TransactionMode) -> Result<Transaction<'_>, KvError> {
        self.db
            .transaction(stores)
            .with_mode(mode)
            .build()
            .map_err(|err| self.failure(None, dom_of(err)))
    }

    /// Why a transaction failed, as the caller sees it. Once IndexedDB
    /// closed the connection, that is why; otherwise the transaction's own
    /// error (a quota, a failed request) when it has one.
    fn failure(&self, tx: Option<&IdbTransaction>, error: Option<web_sys::DomException>) -> KvError {
        if self.gone.get() {
            return KvError::error(GONE);
        }
        if let Some(dom) = tx.and_then(IdbTransaction::error) {
            return dom_error(&dom);
        }
        match error {
            // What `commit` says once the transaction has ended: it was
            // aborted (by a request's failure, or by someone's `abort()`).
            Some(dom) if tx.is_none() || dom.name() != "InvalidStateError" => dom_error(&dom),
            _ => KvError::error("IndexedDB failed: AbortError: The transaction was aborted"),
        }
    }

    /// Commits `tx` and waits for it to complete. Boxed, like `Answer`: one
    /// copy of the crate's commit for every transaction.
    fn commit<'a>(
        &'a self,
        tx: Transaction<'a>,
        sys: &'a IdbTransaction,
    ) -> Pin<Box<dyn Future<Output = KvResult<()>> + 'a>> {
        Box::pin(async move { tx.commit().await.map_err(|err| self.failure(Some(sys), dom_of(err))) })
    }

    /// A queue row of a format this webkv does not know: reported once.
    fn newer_message(&self, key: &JsValue, format: u8) {
        let text = key_text(key);
        let mut seen = self.newer_messages.borrow_mut();
        if seen.len() >= MAX_NEWER_MESSAGES || seen.contains(&text) {
            return;
        }
        seen.push(text.clone());
        drop(seen);
        self.reports.report(&format!(
            "left queue message {text} of database \"{}\" alone: its format ({format}) is a newer webkv's",
            self.name
        ));
    }

    /// Moves queue rows that can never be delivered out of the queue, into
    /// `meta` under ["quarantine", "queue", key] as { key, value, problem,
    /// at } (nothing reads them there; deleteKv removes them with the rest),
    /// and reports them. Deleting would lose what may be someone's data;
    /// leaving them would have every listener trip over them again.
    async fn set_aside(self: &Rc<Self>, found: Vec<(JsValue, String)>) {
        let fresh: Vec<(JsValue, String, String)> = found
            .into_iter()
            .filter_map(|(key, problem)| {
                let text = key_text(&key);
                let mut setting_aside = self.setting_aside.borrow_mut();
                if setting_aside.contains(&text) {
                    return None;
                }
                setting_aside.push(text.clone());
                Some((key, problem, text))
            })
            .collect();
        if fresh.is_empty() {
            return;
        }
        let at = JsValue::from_f64(js_sys::Date::now());
        let moved = run(
            Rc::clone(self),
            &["meta", "queue"],
            TransactionMode::Readwrite,
            async |_, tx| {
                let queue = tx.object_store("queue")?;
                let meta = tx.object_store("meta")?;
                let reads = fresh
                    .iter()
                    .map(|(key, _, _)| get(&queue, key.clone()))
                    .collect::<Vec<_>>();
                let mut moved = 0;
                for ((key, problem, _), value) in fresh.iter().zip(reads) {
                    let Some(value) = value.await? else {
                        continue;
                    };
                    let aside = Object::new();
                    let _ = Reflect::set(&aside, &JsValue::from_str("key"), key);
                    let _ = Reflect::set(&aside, &JsValue::from_str("value"), &value);
                    let _ = Reflect::set(&aside, &JsValue::from_str("problem"), &JsValue::from_str(problem));
                    let _ = Reflect::set(&aside, &JsValue::from_str("at"), &at);
                    let place = Array::of3(&JsValue::from_str("quarantine"), &JsValue::from_str("queue"), key);
                    put(&meta, aside.into(), place.into())?;
                    remove(&queue, KeyRange::Only(key.clone()))?;
                    moved += 1;
                }
                Ok(moved)
            },
        )
        .await;
        match moved {
            Ok(0) => {}
            Ok(moved) => {
                let mut text = format!(
                    "moved {moved} corrupt queue message(s) of database \"{}\" out of the queue, to its meta store under [\"quarantine\", \"queue\", key] (",
                    self.name
                );
                for (i, (_, problem, key)) in fresh.iter().take(3).enumerate() {
                    text.push_str(if i > 0 { "; " } else { "" });
                    text.push_str(key);
                    text.push_str(": ");
                    text.push_str(problem);
                }
                text.push_str(if fresh.len() > 3 { "; ...)" } else { ")" });
                self.reports.report(&text);
            }
            Err(err) => self
                .reports
                .report(&format!("could not move corrupt queue messages aside: {}", err.message)),
        }
        self.setting_aside
            .borrow_mut()
            .retain(|text| !fresh.iter().any(|(_, _, moved)| moved == text));
    }
}

/// Runs `body` in a transaction, committing it if `body` succeeds; a failure
/// (of `body` or IndexedDB) aborts it. It owns its `Shared`, so that a
/// `Store` method's future is this one, not one more around it.
async fn run<T>(
    shared: Rc<Shared>,
    stores: &'static [&'static str],
    mode: TransactionMode,
    body: impl AsyncFnOnce(&Shared, &Transaction<'_>) -> Step<T>,
) -> KvResult<T> {
    let tx = shared.begin(stores, mode)?;
    let sys: IdbTransaction = tx.as_sys().clone().into();
    match body(&shared, &tx).await {
        Ok(value) => shared.commit(tx, &sys).await.map(|()| value),
        Err(Failed::Kv(err)) => Err(err),
        Err(Failed::Idb(err)) => Err(shared.failure(Some(&sys), err)),
    }
    // (Dropping an uncommitted transaction aborts it.)
}

/// The stored snapshot's version (`meta.snapshot`: 0 when absent), or what
/// is stored there instead.
fn snapshot_version(stored: Option<JsValue>) -> Result<f64, JsValue> {
    let snapshot = stored
        .filter(|value| !value.is_null())
        .unwrap_or(JsValue::from_f64(0.0));
    match snapshot.as_f64() {
        Some(version) if is_version(version) => Ok(version),
        _ => Err(snapshot),
    }
}

/// The newest committed version by the log: its last value's key plus its
/// records but one; `None` for an empty log, NaN for a key that is no
/// version (which the log read then finds corrupt).
fn newest_logged<'a>(log: &'a ObjectStore<'_>) -> Answer<'a, Option<f64>> {
    let cursor = log.open_cursor().with_direction(CursorDirection::Prev).build();
    Box::pin(async move {
        let Some(mut cursor) = cursor?.await? else {
            return Ok(None);
        };
        let Some(value) = cursor.next_record::<JsValue>().await? else {
            return Ok(None);
        };
        let key = cursor.key::<JsValue>()?.unwrap_or(JsValue::UNDEFINED);
        Ok(Some(match key.as_f64() {
            Some(first) if is_version(first) => first + record_count(&value) - 1.0,
            _ => f64::NAN,
        }))
    })
}

/// The page index as stored (`meta.index`), or what is stored there instead.
fn stored_index(stored: Option<JsValue>) -> Result<Vec<u8>, JsValue> {
    let index = stored.unwrap_or(JsValue::UNDEFINED);
    match index.dyn_ref::<Uint8Array>() {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(index),
    }
}

/// Reads, inside `tx`, what was committed after `after` (see
/// `Store::read_since`). `reset`: the store's newest commit is older than
/// `after`, so the reader's memory holds commits that were never durable (a
/// forged announcement): everything is read, to load instead.
async fn read_since(tx: &Transaction<'_>, after: u64) -> Step<Since> {
    let meta = tx.object_store("meta")?;
    let log = tx.object_store("log")?;
    let snapshot = get(&meta, JsValue::from_str("snapshot"));
    let newest = newest_logged(&log);
    let snapshot = snapshot_version(snapshot.await?)
        .map_err(|snapshot| corrupt(format!("its snapshot version is {}", describe(&snapshot))))?;
    let newest = newest.await?;
    let mut after = after as f64;
    let mut since = Since::default();
    // (A log of corrupt keys gives NaN: that is for the log read to find.)
    if newest.unwrap_or(snapshot) < after {
        since.reset = true;
        after = 0.0;
    }
    let from = after.max(snapshot);
    let logged = get_all_after(&log, from);
    if after < snapshot || since.reset {
        let index = stored_index(get(&meta, JsValue::from_str("index")).await?)
            .map_err(|index| corrupt(format!("its page index is {}", describe(&index))))?;
        since.snapshot = Some(Snapshot {
            version: snapshot as u64,
            index,
        });
    }
    for value in logged.await? {
        for record in records_of(value) {
            let Some(bytes) = record.dyn_ref::<Uint8Array>() else {
                return Err(corrupt(format!("a log record is {}", describe(&record))));
            };
            since.log.push(bytes.to_vec());
        }
    }
    Ok(since)
}

/// Adds a write's records and queue messages in `tx`. A version that exists
/// already makes `add` fail with a ConstraintError, which aborts everything
/// (no handler of its own: it would cost every commit a listener).
fn append(tx: &Transaction<'_>, appended: Appended) -> Step<()> {
    if !appended.messages.is_empty() {
        let queue = tx.object_store("queue")?;
        for (key, bytes) in appended.messages {
            let row = queue_row(&Uint8Array::from(bytes.as_slice()).into(), &JsValue::NULL, 0.0);
            add(&queue, row, key_to_js(key))?;
        }
    }
    let Some(&(first, _)) = appended.records.first() else {
        return Ok(());
    };
    // One log value for the whole group, keyed by its first version:
    // IndexedDB's cost is per request, not per byte. A lone record is
    // stored bare, which clones faster.
    let value: JsValue = if let [(_, bytes)] = appended.records.as_slice() {
        Uint8Array::from(bytes.as_slice()).into()
    } else {
        let records = Array::new();
        for (_, bytes) in &appended.records {
            records.push(&Uint8Array::from(bytes.as_slice()));
        }
        records.into()
    };
    add(&tx.object_store("log")?, value, JsValue::from_f64(first as f64))
}

/// Writes a checkpoint (docs/storage.md) in `tx`: new pages under new ids
/// (`add`: a page id is never written twice, a clash aborts), the pages it
/// no longer lists removed, the log up to its version dropped, and the new
/// index.
fn write_checkpoint(tx: &Transaction<'_>, checkpoint: Checkpoint) -> Step<()> {
    let pages = tx.object_store("pages")?;
    for (id, bytes) in &checkpoint.put {
        let page: JsValue = Uint8Array::from(bytes.as_slice()).into();
        add(&pages, page, JsValue::from_f64(*id as f64))?;
    }
    for id in &checkpoint.delete {
        remove(&pages, KeyRange::Only(JsValue::from_f64(*id as f64)))?;
    }
    let version = JsValue::from_f64(checkpoint.version as f64);
    remove(&tx.object_store("log")?, KeyRange::UpperBound(version.clone(), false))?;
    let meta = tx.object_store("meta")?;
    put(&meta, version, JsValue::from_str("snapshot"))?;
    let index: JsValue = Uint8Array::from(checkpoint.index.as_slice()).into();
    put(&meta, index, JsValue::from_str("index"))
}

/// What becomes of a message this instance holds the lease on.
enum Leased {
    /// The lease is extended to this time.
    Renew(u64),
    /// The message is removed, or moved to a new delivery time with new
    /// bytes and no lease.
    Settle(Option<(u64, Vec<u8>)>),
}

/// Renews or settles a leased message in one transaction (one function for
/// both: each transaction's future is kilobytes of wasm); only while this
/// instance still holds its lease: a late answer after it lapsed (another
/// instance took the message) changes nothing.
fn change_leased(shared: Rc<Shared>, key: MessageKey, change: Leased) -> BackendFuture<()> {
    Box::pin(run(
        shared,
        &["queue"],
        TransactionMode::Readwrite,
        async move |shared, tx| {
            let queue = tx.object_store("queue")?;
            let at = key_to_js(key);
            let row = get(&queue, at.clone()).await?;
            let Some(row) = row.filter(|row| field(row, "owner") == shared.id) else {
                return Ok(());
            };
            match change {
                Leased::Renew(until) => put(&queue, queue_row(&field(&row, "bytes"), &shared.id, until as f64), at),
                Leased::Settle(retry) => {
                    remove(&queue, KeyRange::Only(at))?;
                    let Some((due, bytes)) = retry else {
                        return Ok(());
                    };
                    let row = queue_row(&Uint8Array::from(bytes.as_slice()).into(), &JsValue::NULL, 0.0);
                    put(&queue, row, key_to_js((due, key.1, key.2)))
                }
            }
        },
    ))
}

impl Store for IdbStore {
    fn read_since(&self, after: u64) -> BackendFuture<Since> {
        Box::pin(run(
            Rc::clone(&self.0),
            &STORES,
            TransactionMode::Readonly,
            async move |_, tx| read_since(tx, after).await,
        ))
    }

    fn read_pages(&self, ids: Vec<u64>) -> BackendFuture<Vec<Option<Vec<u8>>>> {
        Box::pin(run(
            Rc::clone(&self.0),
            &["pages"],
            TransactionMode::Readonly,
            async move |_, tx| {
                let store = tx.object_store("pages")?;
                let reads = ids
                    .iter()
                    .map(|id| get(&store, JsValue::from_f64(*id as f64)))
                    .collect::<Vec<_>>();
                let mut pages = Vec::with_capacity(ids.len());
                for page in reads {
                    // Absent: a checkpoint replaced it.
                    pages.push(match page.await? {
                        None => None,
                        Some(page) => match page.dyn_ref::<Uint8Array>() {
                            Some(bytes) => Some(bytes.to_vec()),
                            None => return Err(corrupt(format!("a snapshot page is {}", describe(&page)))),
                        },
                    });
                }
                Ok(pages)
            },
        ))
    }

    fn write(&self, after: u64, blind: bool, enqueues: bool, prepare: Prepare) -> BackendFuture<()> {
        let shared = Rc::clone(&self.0);
        // A blind write needs nothing from the store, so it is prepared
        // before its transaction starts, which locks only the stores it
        // writes (IndexedDB starts that faster). A failure inside `prepare`
        // keeps its own class and message.
        if blind {
            let appended = match prepare(Since::default()) {
                Ok(appended) => appended,
                Err(err) => return Box::pin(std::future::ready(Err(err))),
            };
            let stores: &'static [&'static str] = if enqueues { &["log", "queue"] } else { &["log"] };
            return Box::pin(run(shared, stores, TransactionMode::Readwrite, async move |_, tx| {
                append(tx, appended)
            }));
        }
        Box::pin(run(shared, &STORES, TransactionMode::Readwrite, async move |_, tx| {
            let since = read_since(tx, after).await?;
            append(tx, prepare(since)?)
        }))
    }

    fn checkpoint(&self, plan: PlanCheckpoint) -> BackendFuture<bool> {
        Box::pin(run(
            Rc::clone(&self.0),
            &STORES,
            TransactionMode::Readwrite,
            async move |_, tx| {
                let meta = tx.object_store("meta")?;
                let log = tx.object_store("log")?;
                let snapshot = get(&meta, JsValue::from_str("snapshot"));
                let index = get(&meta, JsValue::from_str("index"));
                let newest = newest_logged(&log);
                let (version, index) = match (snapshot_version(snapshot.await?), stored_index(index.await?)) {
                    (Ok(version), Ok(index)) => (version as u64, index),
                    (snapshot, index) => {
                        let snapshot = describe(&snapshot.map_or_else(|stored| stored, JsValue::from_f64));
                        let index = index.map_or_else(|stored| describe(&stored), |_| "a Uint8Array".into());
                        return Err(corrupt(format!(
                            "its snapshot version is {snapshot} and its index {index}"
                        )));
                    }
                };
                // The newest committed version: the last log value's
                // last record, or the snapshot's with an empty log.
                let newest = match newest.await? {
                    None => version,
                    Some(newest) if is_version(newest) => newest as u64,
                    Some(_) => return Err(corrupt("a version is out of range".into())),
                };
                match plan(Stored { version, index, newest })? {
                    None => Ok(false),
                    Some(checkpoint) => write_checkpoint(tx, checkpoint).map(|()| true),
                }
            },
        ))
    }

    fn take_message(&self, now: u64, lease_until: u64) -> BackendFuture<Taken> {
        let shared = Rc::clone(&self.0);
        Box::pin(async move {
            // Rows that are no message webkv wrote, to set aside afterwards.
            let mut found: Vec<(JsValue, String)> = Vec::new();
            let (now_f, until) = (now as f64, lease_until as f64);
            // A lease that ends later than this instance's would (a clock
            // that went back, a corrupt row) is no lease.
            let latest = until + (until - now_f);
            let taken = run(
                Rc::clone(&shared),
                &["queue"],
                TransactionMode::Readwrite,
                async |shared, tx| {
                    let queue = tx.object_store("queue")?;
                    let mut next = f64::INFINITY;
                    let next_due = |next: f64| Taken::NextDue((next != f64::INFINITY).then_some(next as u64));
                    let Some(mut rows) = queue.open_cursor().build()?.await? else {
                        return Ok(next_due(next));
                    };
                    while let Some(row) = rows.next_record::<JsValue>().await? {
                        let key = rows.key::<JsValue>()?.unwrap_or(JsValue::UNDEFINED);
                        if let Some(problem) = queue_row_problem(&key, &row) {
                            found.push((key, problem));
                            continue;
                        }
                        let Some(message_key) = key_from_js(&key) else {
                            continue;
                        };
                        if message_key.0 > now {
                            return Ok(next_due(next.min(message_key.0 as f64)));
                        }
                        let bytes = field(&row, "bytes");
                        let Some(array) = bytes.dyn_ref::<Uint8Array>() else {
                            continue;
                        };
                        let format = array.get_index(0);
                        if format != MESSAGE_FORMAT {
                            shared.newer_message(&key, format);
                            continue;
                        }
                        let owner = field(&row, "owner");
                        let lease_end = field(&row, "until").as_f64().unwrap_or(f64::NAN);
                        let leased = owner.is_string() && lease_end > now_f && lease_end <= latest;
                        if leased {
                            if owner != shared.id {
                                next = next.min(lease_end);
                            }
                            // (Otherwise this instance is delivering it already.)
                            continue;
                        }
                        // (A failed update aborts the transaction, which
                        // its commit reports.)
                        drop(rows.update(queue_row(&bytes, &shared.id, until)).build()?);
                        return Ok(Taken::Message(message_key, array.to_vec()));
                    }
                    Ok(next_due(next))
                },
            )
            .await;
            if !found.is_empty() {
                shared.set_aside(found).await;
            }
            taken
        })
    }

    fn discard_message(&self, key: MessageKey, why: &str) -> BackendFuture<()> {
        let shared = Rc::clone(&self.0);
        let found = vec![(key_to_js(key), why.to_string())];
        Box::pin(async move {
            shared.set_aside(found).await;
            Ok(())
        })
    }

    fn renew_lease(&self, key: MessageKey, lease_until: u64) -> BackendFuture<()> {
        change_leased(Rc::clone(&self.0), key, Leased::Renew(lease_until))
    }

    fn settle_message(&self, key: MessageKey, retry: Option<(u64, Vec<u8>)>) -> BackendFuture<()> {
        change_leased(Rc::clone(&self.0), key, Leased::Settle(retry))
    }

    fn close(&self) {
        let sys: &IdbDatabase = self.0.db.as_sys();
        sys.set_onversionchange(None);
        sys.set_onclose(None);
        self.0.closed.borrow_mut().take();
        sys.close();
        self.0.reports.close();
    }
}
