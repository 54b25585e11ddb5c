//! The single writer thread and its group commit.
//!
//! SQLite allows one writer at a time, so every write goes through one thread
//! that owns the write connection. It takes whatever jobs are queued (up to a
//! batch limit), runs each inside its own savepoint of one transaction, and
//! commits once: one fsync acknowledges the whole batch. A job that fails is
//! rolled back to its savepoint and does not disturb the others. Replies are
//! sent only after the commit succeeded; if the commit fails, every job of the
//! batch gets an error and nothing of it is announced.

use crate::cache::WriterCache;
use natter_store::{CommitBatch, Committed, Result, StoreError};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// What a job may use while it runs.
pub(crate) struct Ctx<'a> {
    /// The write connection, inside the batch transaction.
    pub conn: &'a Connection,
    /// Counters and member lists the writer keeps warm between batches.
    pub cache: &'a mut WriterCache,
    /// Events this job committed; announced after the commit.
    pub committed: &'a mut Vec<Committed>,
}

/// One unit of work for the writer.
pub(crate) trait Job: Send {
    /// Runs inside the transaction; false when the job failed and its
    /// writes must be rolled back.
    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool;
    /// Delivers the result; `commit` tells whether the batch committed.
    fn finish(self: Box<Self>, commit: Result<(), &StoreError>);
    /// True when the job failed for lack of room.
    fn failed_full(&self) -> bool;
}

/// A job made of a closure and the channel its result goes back on.
pub(crate) struct FnJob<T, F> {
    f: F,
    result: Option<Result<T>>,
    reply: Option<oneshot::Sender<Result<T>>>,
}

impl<T, F> FnJob<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Ctx<'_>) -> Result<T> + Send + 'static,
{
    pub(crate) fn boxed(f: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T>>) {
        let (tx, rx) = oneshot::channel();
        let job = FnJob {
            f,
            result: None,
            reply: Some(tx),
        };
        (Box::new(job), rx)
    }
}

impl<T, F> Job for FnJob<T, F>
where
    T: Send + 'static,
    F: FnMut(&mut Ctx<'_>) -> Result<T> + Send + 'static,
{
    fn run(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let r = (self.f)(ctx);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(mut self: Box<Self>, commit: Result<(), &StoreError>) {
        let out = match commit {
            Ok(()) => self
                .result
                .take()
                .unwrap_or_else(|| Err(StoreError::Internal("job did not run".into()))),
            Err(StoreError::StorageFull) => Err(StoreError::StorageFull),
            Err(e) => Err(StoreError::Internal(format!("batch not committed: {e}"))),
        };
        if let Some(reply) = self.reply.take() {
            // The caller may have given up waiting; the outcome stands anyway.
            let _ = reply.send(out);
        }
    }

    fn failed_full(&self) -> bool {
        matches!(self.result, Some(Err(StoreError::StorageFull)))
    }
}

/// Where committed batches go; empty until someone takes the feed.
pub(crate) type FeedSlot = Arc<Mutex<Option<mpsc::Sender<CommitBatch>>>>;

/// The writer thread's main loop. Returns when every sender is gone.
pub(crate) fn run(
    conn: Connection,
    mut jobs: mpsc::Receiver<Box<dyn Job>>,
    feed: FeedSlot,
    max_batch: usize,
    full: Arc<AtomicBool>,
) {
    let mut cache = WriterCache::default();
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut committed = Vec::new();
        let outcome = run_batch(&conn, &mut cache, &mut batch, &mut committed);
        if outcome.is_err() {
            // Whatever the cache learned in this batch may not be true now.
            cache.clear();
            committed.clear();
        }
        let err = outcome.err();
        let now_full = matches!(err, Some(StoreError::StorageFull))
            || (err.is_none() && batch.iter().any(|j| j.failed_full()));
        note_room(&full, now_full);
        for job in batch.drain(..) {
            job.finish(match &err {
                None => Ok(()),
                Some(e) => Err(e),
            });
        }
        if let Some(e) = err {
            tracing::error!(error = %e, "batch commit failed");
            continue;
        }
        if !committed.is_empty() {
            let sender = feed.lock().ok().and_then(|slot| slot.clone());
            if let Some(sender) = sender {
                // Blocks while the feed is full: back-pressure on writers
                // rather than an unbounded queue. A closed feed is ignored.
                let _ = sender.blocking_send(Arc::new(committed));
            }
        }
    }
}

/// Records whether storage is full, logging each change once (a full disk
/// fails every write; one line says so, and one more when there is room
/// again).
fn note_room(full: &AtomicBool, now_full: bool) {
    if full.swap(now_full, Ordering::AcqRel) != now_full {
        if now_full {
            tracing::error!(
                "storage is full: writes are refused (storage_full) and /readyz answers 503 until there is room"
            );
        } else {
            tracing::info!("storage has room again: writes are accepted");
        }
    }
}

fn run_batch(
    conn: &Connection,
    cache: &mut WriterCache,
    batch: &mut [Box<dyn Job>],
    committed: &mut Vec<Committed>,
) -> Result<()> {
    run_cached(conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        if let Err(e) = run_cached(conn, "SAVEPOINT job") {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        let mut mine = Vec::new();
        let mut ctx = Ctx {
            conn,
            cache,
            committed: &mut mine,
        };
        match job.run(&mut ctx) {
            true => {
                if let Err(e) = run_cached(conn, "RELEASE job") {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
                committed.append(&mut mine);
            }
            false => {
                // The job's own error goes back to its caller; undo its
                // writes and forget what the cache saw during it.
                cache.clear();
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back itself (it
                    // does on a full disk): every job of the batch failed.
                    return Err(if job.failed_full() {
                        StoreError::StorageFull
                    } else {
                        StoreError::Internal("the database rolled the batch back".into())
                    });
                }
                if let Err(e) = conn
                    .execute_batch("ROLLBACK TO job; RELEASE job")
                    .map_err(crate::db_err)
                {
                    let _ = conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
    }
    if let Err(e) = run_cached(conn, "COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(())
}

/// Runs a statement without parameters, kept prepared: the transaction
/// statements run for every job, and preparing them each time showed in
/// profiles.
fn run_cached(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(crate::db_err)
}
