//! The SQLite store's connections: one writer thread that commits every
//! write in groups, a pool of read-only connections used in place, and a
//! checkpointer that keeps WAL checkpoints off the request path. No SQL of
//! the schema lives here.
//!
//! Durability: `synchronous=FULL` in WAL mode, so a commit is on disk (the
//! WAL is fsynced) before any write of its group is answered. Group commit
//! pays that fsync once for every write waiting at the time, so the cost is
//! per group, not per request.

use crate::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Most writes one group commit takes.
const GROUP_MAX: usize = 512;
/// Read connections kept for reuse, per core (more are opened when all are
/// busy, and closed after use). Point reads run on the runtime's workers,
/// one per core, and scans on the blocking pool; each connection caches up
/// to 2 MiB of pages, so idle extras are memory for nothing.
const READERS_KEPT_PER_CORE: usize = 2;
/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;
/// How often the checkpointer copies committed WAL frames into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL frames (pages) past which the writer checkpoints between two groups,
/// so the next group starts the WAL over: while writes never pause, a
/// background checkpoint cannot catch up with the end of the log, and the
/// WAL would grow without bound. The background one has copied most frames
/// by then, so this costs the writer little.
const WAL_RESTART_FRAMES: u64 = 4096;
/// The WAL file is cut back to this size after it starts over.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// A write: runs inside the group's transaction, and returns how to answer
/// its caller once the group's commit is known.
type Op = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), &str>) + Send>;

pub(super) struct Conns {
    writes: mpsc::Sender<Op>,
    readers: Mutex<Vec<Connection>>,
    readers_kept: usize,
    path: PathBuf,
}

impl Conns {
    /// Opens the writer (WAL, FULL sync, no auto-checkpoint), starts its
    /// thread and the checkpointer's.
    pub(super) fn open(path: &Path) -> anyhow::Result<Self> {
        let writer = Connection::open(path)?;
        setup(&writer)?;
        writer.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA wal_autocheckpoint = 0;
             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))?;
        let checkpointer = Connection::open(path)?;
        setup(&checkpointer)?;
        let wal_frames = Arc::new(AtomicU64::new(0));
        let (writes, rx) = mpsc::channel(4 * GROUP_MAX);
        let weak = Arc::downgrade(&wal_frames);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, &weak))?;
        // The writer ends when the store is dropped (the channel closes),
        // and the checkpointer after it (the counter goes).
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_groups(writer, rx, &wal_frames))?;
        Ok(Self {
            writes,
            readers: Mutex::new(Vec::new()),
            readers_kept: READERS_KEPT_PER_CORE
                * std::thread::available_parallelism().map_or(1, |n| n.get()),
            path: path.to_owned(),
        })
    }

    /// Runs `f` in the writer's next group, inside a savepoint of its own:
    /// if `f` fails, its changes are undone and the rest of the group still
    /// commits. Answers after the group is durably committed.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (done, answer) = oneshot::channel();
        let op: Op = Box::new(move |conn| {
            let result = in_savepoint(conn, f);
            Box::new(move |committed: Result<(), &str>| {
                let _ = done.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Other(anyhow::anyhow!("commit failed: {e}"))),
                });
            })
        });
        let stopped = || StoreError::Other(anyhow::anyhow!("the SQLite writer has stopped"));
        self.writes.send(op).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs `f` on a read connection on this thread: for point lookups by
    /// key, which take microseconds, a hand-off to another thread would cost
    /// more than the query.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = self.reader()?;
        let result = f(&conn);
        self.give_back(conn);
        result
    }

    /// Runs `f` on a read connection on the blocking pool: for scans and
    /// lists, whose length does not depend on us.
    pub(super) async fn scan<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read(f))
            .await
            .map_err(|e| StoreError::Other(e.into()))?
    }

    /// Connections open now, and how many of them are idle.
    pub(super) fn stats(&self) -> (u32, u32) {
        let idle = self.readers().len() as u32;
        // The writer and the checkpointer are always open.
        (idle + 2, idle)
    }

    fn readers(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.readers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> StoreResult<Connection> {
        if let Some(conn) = self.readers().pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        setup(&conn)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        // A connection left inside a transaction (its end failed) would
        // serve an old snapshot and hold back checkpoints: closed instead.
        if !conn.is_autocommit() {
            return;
        }
        let mut readers = self.readers();
        if readers.len() < self.readers_kept {
            readers.push(conn);
        }
    }
}

/// Settings every connection needs.
fn setup(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Only the checkpointer and a WAL restart ever wait on a lock.
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
}

fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    run(conn, "SAVEPOINT op")?;
    let result = f(conn);
    if result.is_err() {
        run(conn, "ROLLBACK TO op")?;
    }
    run(conn, "RELEASE op")?;
    result
}

/// A statement without parameters or rows, prepared once per connection.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute([])
}

/// Group commit: takes every write waiting (up to [`GROUP_MAX`]), runs them
/// in one transaction, commits once, then answers each. A write that fails
/// fails alone (its savepoint is rolled back); if SQLite itself ends the
/// transaction (I/O error, disk full), the writes run in it so far fail and
/// the rest go on in a new one.
fn write_groups(conn: Connection, mut rx: mpsc::Receiver<Op>, wal_frames: &AtomicU64) {
    let mut group: Vec<Op> = Vec::with_capacity(GROUP_MAX);
    let mut replies: Vec<Reply> = Vec::with_capacity(GROUP_MAX);
    // From BEGIN to the end of the commit's fsync: what every write of the
    // group waited for, beside its time in the queue.
    let group_seconds = metrics::histogram!("oneauth_sqlite_write_group_seconds");
    let group_ops = metrics::histogram!("oneauth_sqlite_write_group_ops");
    // The writer's checkpoints hold up every write.
    let checkpoint_seconds =
        metrics::histogram!("oneauth_sqlite_checkpoint_seconds", "by" => "writer");
    while let Some(op) = rx.blocking_recv() {
        group.push(op);
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(op) => group.push(op),
                Err(_) => break,
            }
        }
        let mut ops = group.drain(..);
        while ops.len() > 0 {
            let started = Instant::now();
            if let Err(e) = run(&conn, "BEGIN IMMEDIATE") {
                let e = e.to_string();
                for op in ops.by_ref() {
                    op(&conn)(Err(&e));
                }
                break;
            }
            for op in ops.by_ref() {
                replies.push(op(&conn));
                if conn.is_autocommit() {
                    break;
                }
            }
            let outcome = if conn.is_autocommit() {
                Err("the transaction was rolled back".to_owned())
            } else {
                run(&conn, "COMMIT").map_err(|e| {
                    let _ = run(&conn, "ROLLBACK");
                    e.to_string()
                })
            };
            group_seconds.record(started.elapsed().as_secs_f64());
            group_ops.record(replies.len() as f64);
            for reply in replies.drain(..) {
                reply(outcome.as_ref().map(|_| ()).map_err(String::as_str));
            }
        }
        drop(ops);
        if wal_frames.load(Ordering::Relaxed) > WAL_RESTART_FRAMES {
            // Nothing is being written now, so this checkpoint can reach the
            // end of the WAL, and the next BEGIN starts the WAL over; the
            // checkpointer measures again within CHECKPOINT_EVERY.
            match checkpoint(&conn, &checkpoint_seconds) {
                Ok(_) => wal_frames.store(0, Ordering::Relaxed),
                Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
            }
        }
    }
}

/// Copies committed WAL frames into the database every [`CHECKPOINT_EVERY`],
/// on its own connection: PASSIVE never waits for the writer or readers,
/// and its fsyncs no longer stall a commit. Stops with the writer.
fn checkpoint_loop(conn: Connection, wal_frames: &Weak<AtomicU64>) {
    let seconds = metrics::histogram!("oneauth_sqlite_checkpoint_seconds", "by" => "checkpointer");
    loop {
        std::thread::sleep(CHECKPOINT_EVERY);
        let Some(frames) = wal_frames.upgrade() else {
            return;
        };
        match checkpoint(&conn, &seconds) {
            Ok(n) => frames.store(n, Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// A PASSIVE checkpoint, its time recorded in `seconds`; returns the
/// frames in the WAL.
fn checkpoint(conn: &Connection, seconds: &metrics::Histogram) -> rusqlite::Result<u64> {
    let started = Instant::now();
    let frames = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
        .map(|frames| frames.max(0) as u64);
    seconds.record(started.elapsed().as_secs_f64());
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_left_in_a_transaction_is_not_pooled() {
        let dir = tempfile::tempdir().unwrap();
        let conns = Conns::open(&dir.path().join("t.db")).unwrap();
        conns.read(|c| Ok(c.execute_batch("SELECT 1")?)).unwrap();
        assert_eq!(conns.stats().1, 1, "a reader in autocommit goes back");
        conns
            .read(|c| Ok(c.execute_batch("BEGIN; SELECT count(*) FROM sqlite_schema;")?))
            .unwrap();
        assert_eq!(conns.stats().1, 0, "one inside a transaction is closed");
    }
}
