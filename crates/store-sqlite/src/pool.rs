//! The read side: a few read-only connections on the blocking thread pool,
//! which WAL lets run beside the writer.

use crate::{STATEMENT_CACHE, db_err};
use natter_store::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Read connections, opened on demand and kept for reuse.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
    /// Bounds concurrent reads to the number of read connections, so load
    /// never opens more connections or blocking threads than that.
    slots: Arc<Semaphore>,
}

impl ReadPool {
    /// A pool of at most `size` connections to the database at `path`.
    pub(crate) fn new(path: &Path, size: usize) -> Self {
        Self {
            path: path.to_owned(),
            idle: Arc::new(Mutex::new(Vec::new())),
            slots: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Runs `f` on a read connection once one is free.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let idle = self.idle.clone();
        let path = self.path.clone();
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = idle.lock().ok().and_then(|mut p| p.pop());
            let conn = match conn {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let out = f(&conn);
            if let Ok(mut p) = idle.lock() {
                p.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }

    /// Refuses further reads and closes the idle connections.
    pub(crate) fn close(&self) {
        self.slots.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")
        .map_err(db_err)?;
    Ok(conn)
}
