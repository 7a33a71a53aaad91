//! Deno's SQLite file format (denokv's `sqlite` crate): the tables its
//! migrations create and the statements that read and write them.

/// Run at open, before the migrations.
pub const CREATE_MIGRATION_TABLE: &str =
    "create table if not exists migration_state(k integer not null primary key, version integer not null)";

pub const GET_MIGRATION_VERSION: &str = "select version from migration_state where k = 0";
pub const SET_MIGRATION_VERSION: &str = "replace into migration_state (k, version) values (0, ?)";

/// Deno's three migrations, in order; `migration_state.version` counts
/// those applied.
pub const MIGRATIONS: [&str; 3] = [
    "create table data_version (k integer primary key, version integer not null);
insert into data_version (k, version) values (0, 0);
create table kv (k blob primary key, v blob not null, v_encoding integer not null, version integer not null) without rowid;",
    "create table queue (ts integer not null, id text not null, data blob not null, backoff_schedule text not null, keys_if_undelivered blob not null, primary key (ts, id));
create table queue_running (deadline integer not null, id text not null, data blob not null, backoff_schedule text not null, keys_if_undelivered blob not null, primary key (deadline, id));",
    "alter table kv add column seq integer not null default 0;
alter table data_version add column seq integer not null default 0;
alter table kv add column expiration_ms integer not null default -1;
create index kv_expiration_ms_idx on kv (expiration_ms);",
];

pub const BEGIN_READ: &str = "begin";
pub const BEGIN_WRITE: &str = "begin immediate";
pub const COMMIT: &str = "commit";
pub const ROLLBACK: &str = "rollback";
/// One commit of a group commit (`group.rs`), inside the shared transaction.
pub const SAVEPOINT: &str = "savepoint group_member";
pub const ROLLBACK_TO_SAVEPOINT: &str = "rollback to group_member";
pub const RELEASE_SAVEPOINT: &str = "release group_member";

pub const INC_AND_GET_DATA_VERSION: &str =
    "update data_version set version = version + ? where k = 0 returning version";
pub const GET_FOREIGN_COMMITS: &str = "pragma data_version";

// Every read hides entries whose time has come (Deno leaves them visible
// until its sweep, up to a minute later); the sweep deletes them as Deno's does.
pub const RANGE_SCAN: &str = "select k, v, v_encoding, version from kv where k >= ? and k < ? and (expiration_ms < 0 or expiration_ms > ?) order by k asc limit ?";
pub const RANGE_SCAN_REVERSE: &str = "select k, v, v_encoding, version from kv where k >= ? and k < ? and (expiration_ms < 0 or expiration_ms > ?) order by k desc limit ?";
pub const POINT_GET: &str =
    "select v, v_encoding, version, expiration_ms from kv where k = ? and (expiration_ms < 0 or expiration_ms > ?)";
pub const POINT_SET: &str = "insert into kv (k, v, v_encoding, version, expiration_ms) values (?, ?, ?, ?, ?) on conflict(k) do update set v = excluded.v, v_encoding = excluded.v_encoding, version = excluded.version, expiration_ms = excluded.expiration_ms";
/// The parameters of one row of `POINT_SET` and `set_rows`.
pub const SET_ROW_PARAMS: usize = 5;
/// The most rows one `set_rows` statement writes (320 parameters, far below
/// SQLite's limit of 32,766).
pub const MAX_SET_ROWS: usize = 64;

/// `POINT_SET` for `rows` rows at once. SQLite inserts them in order, so of
/// two rows with one key the later wins, as with one statement per row.
pub fn set_rows(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?)"; rows].join(", ");
    format!("insert into kv (k, v, v_encoding, version, expiration_ms) values {values} on conflict(k) do update set v = excluded.v, v_encoding = excluded.v_encoding, version = excluded.version, expiration_ms = excluded.expiration_ms")
}
pub const POINT_DELETE: &str = "delete from kv where k = ?";

pub const DELETE_ALL_EXPIRED: &str = "delete from kv where expiration_ms >= 0 and expiration_ms <= ? returning k";
pub const EARLIEST_EXPIRATION: &str =
    "select expiration_ms from kv where expiration_ms >= 0 order by expiration_ms limit 1";

pub const QUEUE_ADD_READY: &str =
    "insert into queue (ts, id, data, backoff_schedule, keys_if_undelivered) values (?, ?, ?, ?, ?)";
// Rows are read by `rowid` too, so that a row whose id is not text can
// still be set aside.
pub const QUEUE_GET_NEXT_READY: &str =
    "select rowid, id, data, backoff_schedule, keys_if_undelivered from queue where ts <= ? order by ts limit 1";
pub const QUEUE_GET_EARLIEST_READY: &str = "select rowid, ts from queue order by ts limit 1";
pub const QUEUE_COUNT_DUE: &str = "select count(*) from queue where ts <= ?";
/// When the queue next needs a listener: a message falls due, or the lease
/// of one being delivered runs out (its deliverer may be gone).
pub const QUEUE_NEXT_ATTENTION: &str =
    "select min(t) from (select min(ts) as t from queue union all select min(deadline) as t from queue_running)";
pub const QUEUE_REMOVE_READY_ROW: &str = "delete from queue where rowid = ?";
pub const QUEUE_ADD_RUNNING: &str =
    "insert into queue_running (deadline, id, data, backoff_schedule, keys_if_undelivered) values (?, ?, ?, ?, ?)";
pub const QUEUE_UPDATE_RUNNING_DEADLINE: &str = "update queue_running set deadline = ? where id = ?";
pub const QUEUE_REMOVE_RUNNING: &str = "delete from queue_running where id = ?";
pub const QUEUE_REMOVE_RUNNING_ROW: &str = "delete from queue_running where rowid = ?";
pub const QUEUE_GET_RUNNING_BY_ID: &str = "select rowid from queue_running where id = ?";
pub const QUEUE_GET_RUNNING_ROW: &str =
    "select id, data, backoff_schedule, keys_if_undelivered from queue_running where rowid = ?";
pub const QUEUE_GET_RUNNING_PAST_DEADLINE: &str =
    "select rowid from queue_running where deadline <= ? order by deadline limit 100";

/// webkv's own table, made only when a queue row is not a message (see
/// `message.rs`): the row's columns, untyped as they were found (`ts` holds
/// a `queue_running` row's `deadline`), with why and when it was set aside
/// and the table it was in.
pub const CREATE_QUEUE_SET_ASIDE: &str = "create table if not exists webkv_queue_set_aside (set_aside_at integer not null, reason text not null, from_table text not null, ts, id, data, backoff_schedule, keys_if_undelivered)";
pub const QUEUE_SET_ASIDE_READY: &str = "insert into webkv_queue_set_aside select ?, ?, 'queue', ts, id, data, backoff_schedule, keys_if_undelivered from queue where rowid = ?";
pub const QUEUE_SET_ASIDE_RUNNING: &str = "insert into webkv_queue_set_aside select ?, ?, 'queue_running', deadline, id, data, backoff_schedule, keys_if_undelivered from queue_running where rowid = ?";
