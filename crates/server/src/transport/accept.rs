//! The accept loop: every TCP connection the server holds starts here.
//!
//! `axum::serve` has no header-read timeout, no cap per client address and
//! stays silent about accept errors; a few thousand connections that never
//! send a byte (or send half a header) used to hold every file descriptor
//! until logins and even `/healthz` timed out. This loop serves HTTP/1.1
//! through hyper directly and keeps a book of what it holds:
//!
//! * a connection must send a complete request header within
//!   `http.header_timeout_secs` of being opened, and again of its previous
//!   response finishing (the idle keep-alive timeout): hyper's header-read
//!   timer covers both;
//! * at most `http.max_connections_per_address` connections per client
//!   address (upgraded WebSockets and SSE streams included: a slot lives as
//!   long as the socket);
//! * at most `http.max_connections` in all, by default the file-descriptor
//!   limit less `http.fd_reserve` (the database, logs and the listener need
//!   some). When the total is reached, the connection that has waited longest
//!   without sending a request is closed to make room, so a new client (a
//!   health check, a login) always gets in while idle sockets hold the
//!   table; only when every held connection has sent a request is a new one
//!   refused;
//! * accept errors are logged, at most once per ten seconds with a count of
//!   those not shown, and running out of descriptors pauses accepting
//!   briefly instead of spinning.

use crate::config::HttpConfig;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower_service::Service;

/// What the loop enforces, resolved from [`HttpConfig`] and the process's
/// file-descriptor limit at start.
#[derive(Clone, Copy, Debug)]
pub struct AcceptLimits {
    /// A complete request header must arrive within this long.
    pub header_timeout: Duration,
    /// Most connections held at once.
    pub max_total: usize,
    /// Most connections held for one client address (0: no cap).
    pub max_per_address: usize,
    /// A write that makes no progress this long fails, and the connection
    /// with it (a client that stopped reading).
    pub write_timeout: Duration,
}

impl AcceptLimits {
    /// The limits for `cfg`, given the process's open-file limit (if known).
    pub fn resolve(cfg: &HttpConfig, write_timeout: Duration, fd_limit: Option<u64>) -> Self {
        let by_fds = fd_limit.map(|n| (n as usize).saturating_sub(cfg.fd_reserve).max(1));
        let max_total = match (cfg.max_connections, by_fds) {
            (0, Some(f)) => f,
            (0, None) => usize::MAX,
            (n, Some(f)) => n.min(f),
            (n, None) => n,
        };
        Self {
            header_timeout: Duration::from_secs(cfg.header_timeout_secs),
            max_total,
            max_per_address: cfg.max_connections_per_address,
            write_timeout,
        }
    }
}

/// The soft open-file limit of this process, from `/proc/self/limits`
/// (Linux); `None` elsewhere or when it is unlimited.
pub fn fd_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One held connection's shared flags.
struct Held {
    /// Set when its first request arrives; from then on it is not evicted.
    established: AtomicBool,
    /// Wakes its task to close it (eviction).
    evict: Notify,
}

/// What the loop holds, under one lock (taken once per accept and once per
/// close, never across an await).
#[derive(Default)]
struct Book {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    /// Connections in accept order that had sent no request when they were
    /// accepted; entries that have since sent one or closed are skipped (and
    /// pruned when the queue grows past twice the number held).
    waiting: VecDeque<Arc<Held>>,
}

/// Why a connection was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    PerAddress,
    Full,
}

/// The book and the limits, shared by the loop and every connection slot.
struct Ledger {
    limits: AcceptLimits,
    book: Mutex<Book>,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding this lock leaves counts that are still
        // usable; keep serving rather than poison every later accept.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a connection from `ip`, evicting the longest-waiting idle
    /// connection when the table is full.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<(Slot, Arc<Held>), Refusal> {
        let mut book = self.lock();
        let here = book.per_address.get(&ip).copied().unwrap_or(0);
        if self.limits.max_per_address > 0 && here >= self.limits.max_per_address {
            return Err(Refusal::PerAddress);
        }
        if book.total >= self.limits.max_total {
            // Its slot is freed when its task ends, a moment later; the
            // reserve below the descriptor limit absorbs the overlap.
            let victim = loop {
                match book.waiting.pop_front() {
                    Some(h) if !h.established.load(Ordering::Acquire) => break Some(h),
                    Some(_) => continue,
                    None => break None,
                }
            };
            match victim {
                Some(h) => h.evict.notify_one(),
                None => return Err(Refusal::Full),
            }
        }
        book.total += 1;
        *book.per_address.entry(ip).or_insert(0) += 1;
        let held = Arc::new(Held {
            established: AtomicBool::new(false),
            evict: Notify::new(),
        });
        book.waiting.push_back(held.clone());
        if book.waiting.len() > 2 * book.total.max(16) {
            book.waiting
                .retain(|h| !h.established.load(Ordering::Acquire) && Arc::strong_count(h) > 1);
        }
        Ok((
            Slot {
                ledger: self.clone(),
                ip,
            },
            held,
        ))
    }
}

/// A connection's place in the book; freed when dropped, which happens when
/// the socket itself is dropped (it lives inside the socket's I/O, so an
/// upgraded WebSocket keeps it).
struct Slot {
    ledger: Arc<Ledger>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut book = self.ledger.lock();
        book.total = book.total.saturating_sub(1);
        if let Some(n) = book.per_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                book.per_address.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream that carries its slot, and fails a write that makes no
/// progress for the write timeout: a client that stops reading would
/// otherwise hold its connection (and, for an event stream, its presence)
/// forever. It sits under every transport (HTTP answers, SSE, long-poll and
/// upgraded WebSockets), so one rule closes stuck sockets of every kind.
struct Counted {
    tcp: TcpStream,
    _slot: Slot,
    write_timeout: Duration,
    /// Running while writes are blocked; reset by any progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Counted {
    /// Passes a write's outcome through, timing how long it stays pending.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        p: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match p {
            Poll::Pending => {
                let timeout = self.write_timeout;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let p = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.watch(cx, p)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let p = Pin::new(&mut self.tcp).poll_flush(cx);
        self.watch(cx, p)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let p = Pin::new(&mut self.tcp).poll_shutdown(cx);
        self.watch(cx, p)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let p = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.watch(cx, p)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Logs a kind of event at most once per period, counting the rest.
struct Throttled {
    what: &'static str,
    last: Option<Instant>,
    hidden: u64,
}

impl Throttled {
    const PERIOD: Duration = Duration::from_secs(10);

    fn new(what: &'static str) -> Self {
        Self {
            what,
            last: None,
            hidden: 0,
        }
    }

    fn log(&mut self, detail: &dyn std::fmt::Display) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < Self::PERIOD) {
            self.hidden += 1;
            return;
        }
        tracing::warn!(
            detail = %detail,
            not_shown = self.hidden,
            "{} (at most one such line per 10 s; `not_shown` counts the rest)",
            self.what
        );
        self.last = Some(now);
        self.hidden = 0;
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets every
/// connection finish its request (graceful shutdown) and returns once all
/// are closed. Upgraded connections are the gateway's to close.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: AcceptLimits,
    mut stop: watch::Receiver<bool>,
) {
    let ledger = Arc::new(Ledger {
        limits,
        book: Mutex::new(Book::default()),
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let builder = Arc::new(builder);
    // Each connection task holds a clone; `closed()` resolves when all are
    // gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut accept_errors = Throttled::new("cannot accept a connection");
    let mut refusals = Throttled::new("connection refused by the connection limits");
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_errors.log(&e);
                    if out_of_descriptors(&e) {
                        // Nothing can be accepted until something closes;
                        // the header timeout and eviction free slots soon.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let (slot, held) = match ledger.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(why) => {
                let detail = match why {
                    Refusal::PerAddress => format!("{} holds too many connections", peer.ip()),
                    Refusal::Full => "every connection slot holds an active client".to_owned(),
                };
                refusals.log(&detail);
                drop(tcp);
                continue;
            }
        };
        // No Nagle: chat frames are small and latency matters more than
        // packet count (with Nagle and delayed ACKs the WebSocket handshake
        // took 40 ms more).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let io = TokioIo::new(Counted {
            tcp,
            _slot: slot,
            write_timeout: limits.write_timeout,
            stalled: None,
        });
        let app = app.clone();
        let builder = builder.clone();
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _open = open;
            let service = {
                let held = held.clone();
                hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    held.established.store(true, Ordering::Release);
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    let mut app = app.clone();
                    async move { app.call(req).await }
                })
            };
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    res = conn.as_mut() => {
                        if let Err(e) = res {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                        break;
                    }
                    _ = held.evict.notified(), if !held.established.load(Ordering::Acquire) => {
                        tracing::debug!(%peer, "idle connection closed to make room");
                        break;
                    }
                    _ = stopped(&mut stop), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(open_rx);
    open_tx.closed().await;
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn out_of_descriptors(e: &std::io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23 | 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(max_total: usize, max_per_address: usize) -> Arc<Ledger> {
        Arc::new(Ledger {
            limits: AcceptLimits {
                header_timeout: Duration::from_secs(1),
                max_total,
                max_per_address,
                write_timeout: Duration::from_secs(1),
            },
            book: Mutex::new(Book::default()),
        })
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn an_address_over_its_cap_is_refused_and_others_are_not() {
        let l = ledger(100, 2);
        let _a = l.admit(ip(1)).unwrap();
        let _b = l.admit(ip(1)).unwrap();
        assert_eq!(l.admit(ip(1)).err(), Some(Refusal::PerAddress));
        let c = l.admit(ip(2)).unwrap();
        drop(c);
        drop(_a);
        assert!(l.admit(ip(1)).is_ok(), "a closed connection frees its slot");
    }

    #[test]
    fn a_full_table_evicts_the_longest_waiting_idle_connection() {
        let l = ledger(2, 0);
        let (_s1, h1) = l.admit(ip(1)).unwrap();
        let (_s2, h2) = l.admit(ip(2)).unwrap();
        h1.established.store(true, Ordering::Release);
        // h1 sent a request, so h2 is the one evicted.
        let _third = l.admit(ip(3)).unwrap();
        assert!(h2.evict.notified().now_or_never_is_ready());
        // Everything held is now active or already evicted: refuse.
        let (_s3, h3) = _third;
        h3.established.store(true, Ordering::Release);
        drop(_s2);
        assert_eq!(l.admit(ip(4)).err(), Some(Refusal::Full));
    }

    #[test]
    fn limits_follow_the_descriptor_limit() {
        let cfg = HttpConfig::default();
        let l = AcceptLimits::resolve(&cfg, Duration::from_secs(1), Some(20_000));
        assert_eq!(l.max_total, 20_000 - cfg.fd_reserve);
        let capped = HttpConfig {
            max_connections: 50,
            ..HttpConfig::default()
        };
        assert_eq!(
            AcceptLimits::resolve(&capped, Duration::from_secs(1), Some(20_000)).max_total,
            50
        );
        assert_eq!(
            AcceptLimits::resolve(&capped, Duration::from_secs(1), None).max_total,
            50
        );
    }

    trait ReadyNow {
        fn now_or_never_is_ready(self) -> bool;
    }

    impl<F: std::future::Future> ReadyNow for F {
        fn now_or_never_is_ready(self) -> bool {
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            let mut fut = std::pin::pin!(self);
            fut.as_mut().poll(&mut cx).is_ready()
        }
    }
}
