//! The backend on a real SQLite file (rusqlite's bundled SQLite standing in
//! for `node:sqlite`), with a clock and timers the test moves by hand.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::task::ArcWake;

use rusqlite::types::{Value, ValueRef};

use super::host::{SqlValue, SqliteHost, StatementId};
use super::queue::QUEUE_POLL_MS;
use super::{open_shared, SqliteBackend};
use crate::backend::time::{Clock, Timer};
use crate::backend::Backend;
use crate::core::error::{KvError, KvResult};

struct RusqliteHost {
    connection: rusqlite::Connection,
    statements: RefCell<Vec<String>>,
    random_calls: Rc<Cell<usize>>,
    reports: Rc<RefCell<Vec<String>>>,
}

fn sql_error(err: rusqlite::Error) -> KvError {
    KvError::type_error(err.to_string())
}

fn to_sql(value: &SqlValue) -> Value {
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => Value::Integer(*n),
        SqlValue::Text(text) => Value::Text(text.clone()),
        SqlValue::Blob(bytes) => Value::Blob(bytes.clone()),
    }
}

fn from_sql(value: ValueRef<'_>) -> SqlValue {
    match value {
        ValueRef::Null | ValueRef::Real(_) => SqlValue::Null,
        ValueRef::Integer(n) => SqlValue::Integer(n),
        ValueRef::Text(text) => SqlValue::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
    }
}

impl RusqliteHost {
    fn sql(&self, statement: StatementId) -> String {
        self.statements.borrow()[statement as usize].clone()
    }
}

impl SqliteHost for RusqliteHost {
    fn exec(&self, sql: &str) -> KvResult<()> {
        self.connection.execute_batch(sql).map_err(sql_error)
    }

    fn prepare(&self, sql: &str) -> KvResult<StatementId> {
        self.connection.prepare_cached(sql).map_err(sql_error)?;
        let mut statements = self.statements.borrow_mut();
        statements.push(sql.to_string());
        Ok((statements.len() - 1) as StatementId)
    }

    fn query(&self, statement: StatementId, params: &[SqlValue]) -> KvResult<Vec<Vec<SqlValue>>> {
        let mut prepared = self
            .connection
            .prepare_cached(&self.sql(statement))
            .map_err(sql_error)?;
        let columns = prepared.column_count();
        let params = params.iter().map(to_sql).collect::<Vec<_>>();
        let mut rows = prepared.query(rusqlite::params_from_iter(params)).map_err(sql_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(sql_error)? {
            out.push(
                (0..columns)
                    .map(|i| row.get_ref(i).map(from_sql).map_err(sql_error))
                    .collect::<KvResult<Vec<_>>>()?,
            );
        }
        Ok(out)
    }

    fn run(&self, statement: StatementId, params: &[SqlValue]) -> KvResult<u64> {
        // `query`, not `execute`: some statements (`returning`, pragmas)
        // give rows.
        self.query(statement, params)?;
        Ok(self.connection.changes())
    }

    fn random_bytes(&self, buf: &mut [u8]) {
        self.random_calls.set(self.random_calls.get() + 1);
        buf.fill(4);
    }

    fn close(&self) {}

    fn report(&self, text: &str) {
        self.reports.borrow_mut().push(text.to_string());
    }
}

struct World {
    _dir: TempDir,
    path: String,
    now: Rc<Cell<u64>>,
    random_calls: Rc<Cell<usize>>,
    reports: Rc<RefCell<Vec<String>>>,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl World {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("webkv-sqlite-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("test.db").to_string_lossy().into_owned();
        Self {
            _dir: TempDir(dir),
            path,
            now: Rc::new(Cell::new(1_000_000)),
            random_calls: Rc::new(Cell::new(0)),
            reports: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// A sleep is done once the clock reaches its time.
    fn open(&self) -> SqliteBackend {
        let clock: Clock = {
            let now = Rc::clone(&self.now);
            Rc::new(move || now.get())
        };
        let timer: Timer = {
            let now = Rc::clone(&self.now);
            Rc::new(move |ms| {
                let now = Rc::clone(&now);
                let due = now.get() + u64::from(ms);
                Box::pin(poll_fn(move |_| {
                    if now.get() >= due {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }))
            })
        };
        let connect = || -> KvResult<Box<dyn SqliteHost>> {
            let connection = rusqlite::Connection::open(&self.path).map_err(sql_error)?;
            Ok(Box::new(RusqliteHost {
                connection,
                statements: RefCell::new(Vec::new()),
                random_calls: Rc::clone(&self.random_calls),
                reports: Rc::clone(&self.reports),
            }))
        };
        open_shared(&self.path, connect, clock, timer).expect("opens")
    }
}

#[test]
fn an_idle_listener_keeps_one_waker_however_often_its_poll_timer_fires() {
    let world = World::new("idle-listener");
    let backend = world.open();
    let mut next = backend.dequeue();
    // A waker like an executor's (`Waker::noop()`'s clones need not compare
    // equal).
    struct Task;
    impl ArcWake for Task {
        fn wake_by_ref(_: &Arc<Self>) {}
    }
    let waker = futures::task::waker(Arc::new(Task));
    let mut cx = Context::from_waker(&waker);
    // A day of polls for other processes' messages is 86,400; a few
    // thousand show the growth as well.
    for _ in 0..3_000 {
        assert!(next.as_mut().poll(&mut cx).is_pending(), "no message");
        world.now.set(world.now.get() + QUEUE_POLL_MS);
    }
    assert_eq!(backend.handle.waiters.borrow().listeners.len(), 1);
    backend.close();
    assert!(matches!(next.as_mut().poll(&mut cx), Poll::Ready(Ok(None))));
}

#[test]
fn each_commit_advances_the_version_by_1_to_9_without_asking_the_host_for_randomness() {
    use denokv_proto::{AtomicWrite, KvValue, Mutation, MutationKind};
    let world = World::new("increments");
    let backend = world.open();
    let asked_at_open = world.random_calls.get();
    let mut versions = Vec::new();
    for i in 0..200u32 {
        let write = AtomicWrite {
            checks: vec![],
            mutations: vec![Mutation {
                key: i.to_be_bytes().to_vec(),
                kind: MutationKind::Set(KvValue::Bytes(vec![1])),
                expire_at: None,
            }],
            enqueues: vec![],
        };
        let mut commit = backend.atomic_write(write);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        // A commit is written on its second poll: the first lets others
        // issued with it join its group.
        let stamp = (0..3)
            .find_map(|_| match commit.as_mut().poll(&mut cx) {
                Poll::Ready(result) => Some(result.expect("commits").expect("no check fails")),
                Poll::Pending => None,
            })
            .unwrap_or_else(|| panic!("commit {i} did not complete"));
        versions.push(u64::from_be_bytes(stamp[..8].try_into().expect("8 bytes")));
    }
    let steps: Vec<u64> = versions.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(steps.iter().all(|step| (1..=9).contains(step)), "steps {steps:?}");
    let distinct: std::collections::BTreeSet<_> = steps.iter().collect();
    assert_eq!(
        distinct.len(),
        9,
        "every step from 1 to 9 occurs in 200 commits: {distinct:?}"
    );
    assert_eq!(
        world.random_calls.get(),
        asked_at_open,
        "no commit asks the host for randomness"
    );
    backend.close();
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<T>(future: &mut crate::backend::BackendFuture<T>) -> Poll<KvResult<T>> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    future.as_mut().poll(&mut cx)
}

#[test]
fn queue_rows_that_are_no_message_are_set_aside_and_reported_and_the_rest_is_delivered() {
    let world = World::new("corrupt-queue");
    let backend = world.open();
    let write = denokv_proto::AtomicWrite {
        checks: vec![],
        mutations: vec![],
        enqueues: vec![denokv_proto::Enqueue {
            payload: vec![1],
            deadline: chrono::DateTime::from_timestamp_millis(world.now.get() as i64).expect("a time"),
            keys_if_undelivered: vec![],
            backoff_schedule: None,
        }],
    };
    let mut commit = backend.atomic_write(write);
    while poll_once(&mut commit).is_pending() {}

    // Rows another program wrote, in front of the good message.
    let other = rusqlite::Connection::open(&world.path).expect("opens");
    other
        .execute_batch(
            "insert into queue values (1, x'ff', x'00', '[]', '[]');
             insert into queue values (2, 'bad-schedule', x'00', 'garbage', '[]');
             insert into queue values (3, 'bad-keys', x'00', '[]', '[[254, 1]]');
             insert into queue values (3, char(27) || '[31m' || printf('%.100000c', 'x'), 'text', '[]', '[]');
             insert into queue values (4, 'text-payload', 'text', '[]', '[]');
             insert into queue values (4.5, 'fractional-time', x'00', '[]', '[]');
             insert into queue values ('soon', 'text-time', x'00', '[]', '[]');
             insert into queue_running values (5, 'dead-and-bad', x'00', 'nope', '[]');
             insert into queue_running values (6, 'dead-and-good', x'02', '[0]', '[]');",
        )
        .expect("writes");

    let mut delivered = Vec::new();
    for _ in 0..2 {
        let mut next = backend.dequeue();
        let Poll::Ready(Ok(Some((id, payload)))) = poll_once(&mut next) else {
            panic!("a message is due; delivered so far: {delivered:?}");
        };
        delivered.push(payload);
        backend.finish_message(id, true);
    }
    delivered.sort();
    assert_eq!(delivered, [vec![1], vec![2]]);
    // The row whose time is text sorts after every number: it is found
    // once the queue holds nothing else.
    let mut next = backend.dequeue();
    assert!(poll_once(&mut next).is_pending());

    let count = |table: &str| -> i64 {
        other
            .query_row(&format!("select count(*) from {table}"), [], |row| row.get(0))
            .expect("counts")
    };
    assert_eq!((count("queue"), count("queue_running")), (0, 0));
    let mut set_aside: Vec<(String, String)> = other
        .prepare("select from_table, reason from webkv_queue_set_aside order by ts")
        .expect("prepares")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("queries")
        .collect::<Result<_, _>>()
        .expect("reads");
    set_aside.sort();
    let expected = [
        ("queue", "its backoff schedule is not a JSON list of milliseconds"),
        ("queue", "its id is not text"),
        ("queue", "its payload is not bytes"),
        ("queue", "its payload is not bytes"),
        ("queue", "its time is not an integer"),
        ("queue", "its time is not an integer"),
        ("queue", "one of its keysIfUndelivered is not a key"),
        (
            "queue_running",
            "its backoff schedule is not a JSON list of milliseconds",
        ),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(t, r)| (t.to_string(), r.to_string())).collect();
    assert_eq!(set_aside, expected);
    let reports = world.reports.borrow();
    assert_eq!(reports.len(), 8, "{reports:?}");
    assert!(
        reports.iter().all(|r| r.len() < 400 && !r.contains('\u{1b}')),
        "{reports:?}"
    );
    assert!(
        reports
            .iter()
            .any(|r| r.contains("message \"bad-keys\" ") && r.contains("webkv_queue_set_aside")),
        "{reports:?}"
    );
    drop(reports);
    backend.close();
}
