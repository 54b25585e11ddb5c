//! A broadcast channel at several sizes, against the embedded store alone:
//! what a subscriber costs on disk and in time to join, and what a post
//! costs at each size. Run with
//! `cargo run --release -p natter-store-sqlite --example channel_scale [sizes…]`
//! (default 1000 10000 100000); numbers in docs/benchmarks.md.
//!
//! Users are created and subscribed 256 at a time, as a busy server would
//! (the writer commits them in groups); posts go one at a time, each waiting
//! for its durable commit. The commit feed is drained as the server's
//! fan-out does. Bytes written come from `/proc/self/io` (`write_bytes`:
//! what reached the block layer, WAL and checkpoints included).

use natter_proto::{
    ClientId, ConversationId, ConversationKind, DeviceId, MessageId, ReceiptKind, UserId,
};
use natter_store::{
    Appended, Created, InviteJoin, NewConversation, NewInvite, NewMessage, NewReceipt, NewUser,
    Store,
};
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinSet;

const IN_FLIGHT: usize = 256;
const POSTS: usize = 300;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes: ").map(str::to_owned))
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until the checkpointer has copied earlier work into the database
/// (no bytes written for half a second), so each phase is measured alone.
async fn settle() {
    loop {
        let before = written();
        tokio::time::sleep(Duration::from_millis(500)).await;
        if written() == before {
            return;
        }
    }
}

fn size_on_disk(dir: &Path) -> u64 {
    ["natter.db", "natter.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `f(i)` for `0..n`, `IN_FLIGHT` at a time; returns each call's time.
async fn many<F, Fut>(n: usize, f: F) -> Vec<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let fut = f(i);
        set.spawn(async move {
            let t = Instant::now();
            fut.await;
            t.elapsed()
        });
        if set.len() >= IN_FLIGHT
            && let Some(r) = set.join_next().await
        {
            times.push(r.expect("task"));
        }
    }
    while let Some(r) = set.join_next().await {
        times.push(r.expect("task"));
    }
    times
}

async fn run(n: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("natter.db"), SqliteOptions::default()).expect("open"),
    );
    let mut feed = store.take_commit_feed().expect("feed");
    let drain = tokio::spawn(async move { while feed.recv().await.is_some() {} });

    let ids: Arc<Vec<UserId>> = Arc::new((0..=n).map(|_| UserId::new()).collect());
    let s = store.clone();
    let users = ids.clone();
    many(n + 1, move |i| {
        let s = s.clone();
        let id = users[i];
        async move {
            s.create_user(NewUser {
                id,
                username: format!("u{i}"),
                password_hash: "$argon2id$bench".into(),
                now: now(),
            })
            .await
            .expect("user");
        }
    })
    .await;
    let owner = ids[0];
    let conv = ConversationId::new();
    let Created::New(_) = store
        .create_conversation(NewConversation {
            id: conv,
            kind: ConversationKind::Channel,
            name: Some("bench".into()),
            description: None,
            creator: owner,
            members: vec![owner],
            now: now(),
        })
        .await
        .expect("channel")
    else {
        unreachable!("a new channel")
    };
    store
        .create_invite(NewInvite {
            token: "bench".into(),
            conv,
            by: owner,
            now: now(),
            expires_at: None,
            max_uses: None,
        })
        .await
        .expect("invite");
    settle().await;
    let before = size_on_disk(dir.path());
    let bytes_before = written();
    let t = Instant::now();
    let s = store.clone();
    let users = ids.clone();
    let mut joins = many(n, move |i| {
        let s = s.clone();
        let user = users[i + 1];
        async move {
            s.join_by_invite(InviteJoin {
                token: "bench".into(),
                user,
                now: now(),
                max_members: u64::MAX,
            })
            .await
            .expect("join");
        }
    })
    .await;
    let join_secs = t.elapsed().as_secs_f64();
    settle().await;
    let join_bytes = written() - bytes_before;
    let after = size_on_disk(dir.path());
    joins.sort();

    // Posts, one at a time: each waits for its durable commit.
    let device = DeviceId::new();
    let bytes_before = written();
    let mut posts = Vec::with_capacity(POSTS);
    for i in 0..POSTS {
        let t = Instant::now();
        let appended = store
            .append_message(NewMessage {
                id: MessageId::new(),
                conv,
                sender: owner,
                device,
                client_id: ClientId(format!("p{i}")),
                text: "x".repeat(100),
                now: now(),
                extras: Default::default(),
            })
            .await
            .expect("post");
        assert!(matches!(appended, Appended::New(_)));
        posts.push(t.elapsed());
    }
    let post_bytes = (written() - bytes_before) / POSTS as u64;
    posts.sort();
    // Every subscriber reads some way into the posts, so views count
    // watermarks spread over the whole range.
    let s = store.clone();
    let users = ids.clone();
    many(n, move |i| {
        let s = s.clone();
        let user = users[i + 1];
        async move {
            s.set_receipt(NewReceipt {
                conv,
                user,
                kind: ReceiptKind::Read,
                seq: 2 + (i % POSTS) as u64,
                now: now(),
                audience: |f| vec![(f.receipt.user, f.receipt.clone())],
            })
            .await
            .expect("read");
        }
    })
    .await;
    let views = store.message_views(conv, 2, 201).await.expect("views");
    let t = Instant::now();
    let _ = store.message_views(conv, 2, 201).await.expect("views");
    let views_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(views.len(), 200);
    assert_eq!(views[0].1, n as u64, "everyone read the first post");
    println!(
        "| {n} | {:.0} | {:.1} s ({:.0}/s) | {:.2} / {:.2} ms | {:.0} | {:.2} / {:.2} ms | {} | {:.1} ms |",
        (after.saturating_sub(before)) as f64 / n as f64,
        join_secs,
        n as f64 / join_secs,
        percentile(&joins, 0.5),
        percentile(&joins, 0.99),
        join_bytes as f64 / n as f64,
        percentile(&posts, 0.5),
        percentile(&posts, 0.99),
        post_bytes,
        views_ms,
    );
    store.close().await;
    drain.await.expect("drain");
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| subscribers | store bytes per subscriber | joining all ({IN_FLIGHT} at a time) | one join p50 / p99 | bytes written per join | post commit p50 / p99 | bytes written per post | views of 200 posts |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        run(n).await;
    }
}
