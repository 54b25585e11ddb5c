//! `search`: the full-text index at scale, on the store itself (no server,
//! no network). Writes the same messages twice, into a store with the
//! search index and into one whose index is a no-op (a view that swallows
//! its writes), so the cost of indexing shows beside natter's plain
//! durable write rate; then the index's size beside the text's, and query
//! latency for common words, rare words and prefixes, as a user in many
//! conversations sees them.

use crate::report::{machine, summary};
use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use natter_proto::{ClientId, ConversationId, ConversationKind, DeviceId, MessageId, UserId};
use natter_store::search::parse;
use natter_store::{Appended, NewConversation, NewMessage, NewUser, SearchRequest, Store};
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A pronounceable word for rank `i` of the vocabulary.
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go", "hu", "ja", "ke",
        "li", "mo", "nu", "pa", "qe", "ri", "su", "to", "wa",
    ];
    let mut n = i + 24;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % 24]);
        n /= 24;
    }
    w
}

/// Deterministic pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A vocabulary rank, Zipf-like: rank r with probability ∝ 1/(r+1).
    fn zipf(&mut self, vocabulary: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        // Inverse of the continuous 1/x distribution on [1, n+1).
        (((vocabulary as f64 + 1.0).powf(u)) as usize - 1).min(vocabulary - 1)
    }
}

const VOCABULARY: usize = 20_000;

fn text(rng: &mut Rng) -> String {
    let words = 6 + (rng.next() % 15) as usize;
    (0..words)
        .map(|_| word(rng.zipf(VOCABULARY)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The people and conversations of a run.
struct World {
    store: Arc<dyn Store>,
    users: Vec<UserId>,
    convs: Vec<(ConversationId, Vec<UserId>)>,
}

async fn world(path: &Path, conversations: usize, users: usize, no_index: bool) -> Result<World> {
    if no_index {
        // Create the schema, then swap the index for a view that takes and
        // drops every write: the same statements run, nothing is indexed.
        drop(SqliteStore::open(path, SqliteOptions::default())?);
        let c = rusqlite::Connection::open(path)?;
        c.execute_batch(
            "DROP TABLE message_search;
             CREATE VIEW message_search(rowid, body) AS SELECT 0, '' WHERE 0;
             CREATE TRIGGER message_search_in INSTEAD OF INSERT ON message_search BEGIN SELECT 1; END;
             CREATE TRIGGER message_search_out INSTEAD OF DELETE ON message_search BEGIN SELECT 1; END;",
        )?;
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path, SqliteOptions::default())?);
    let mut ids = Vec::new();
    for i in 0..users {
        ids.push(
            store
                .create_user(NewUser {
                    id: UserId::new(),
                    username: format!("u{i}"),
                    password_hash: "$argon2id$bench".into(),
                    now: 1,
                })
                .await?
                .id,
        );
    }
    let mut rng = Rng(0x5EED);
    let mut convs = Vec::new();
    for i in 0..conversations {
        // Ten members each; user 0 is in every twentieth conversation.
        let mut members: Vec<UserId> = Vec::new();
        if i % 20 == 0 {
            members.push(ids[0]);
        }
        while members.len() < 10 {
            let u = ids[1 + (rng.next() as usize) % (users - 1)];
            if !members.contains(&u) {
                members.push(u);
            }
        }
        let id = ConversationId::new();
        store
            .create_conversation(NewConversation {
                id,
                kind: ConversationKind::Group,
                name: Some(format!("g{i}")),
                description: None,
                creator: members[0],
                members: members.clone(),
                now: 1,
            })
            .await?;
        convs.push((id, members));
    }
    Ok(World {
        store,
        users: ids,
        convs,
    })
}

/// Appends `messages` messages from 64 concurrent writers: messages/s and
/// the bytes of text written.
async fn write(w: &World, messages: usize) -> Result<(f64, u64)> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per = messages / 64;
    for t in 0..64u64 {
        let store = w.store.clone();
        let convs: Vec<(ConversationId, Vec<UserId>)> = w.convs.clone();
        tasks.spawn(async move {
            let mut rng = Rng(0xBEEF + t * 7919);
            let mut bytes = 0u64;
            for _ in 0..per {
                let (conv, members) = &convs[(rng.next() as usize) % convs.len()];
                let sender = members[(rng.next() as usize) % members.len()];
                let body = text(&mut rng);
                bytes += body.len() as u64;
                let sent = store
                    .append_message(NewMessage {
                        id: MessageId::new(),
                        conv: *conv,
                        sender,
                        device: DeviceId::new(),
                        client_id: ClientId::random(),
                        text: body,
                        now: 2,
                        extras: Default::default(),
                    })
                    .await?;
                anyhow::ensure!(matches!(sent, Appended::New(_) | Appended::Accepted(_)));
            }
            Ok::<_, anyhow::Error>(bytes)
        });
    }
    let mut bytes = 0;
    while let Some(r) = tasks.join_next().await {
        bytes += r??;
    }
    Ok(((per * 64) as f64 / started.elapsed().as_secs_f64(), bytes))
}

/// The database's size as its latest commit sees it (write-ahead log
/// included), without free pages.
fn file_bytes(path: &Path) -> Result<u64> {
    let c = rusqlite::Connection::open(path)?;
    let pragma = |name: &str| c.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let used = pragma("page_count")? - pragma("freelist_count")?;
    Ok((used * pragma("page_size")?) as u64)
}

/// Latency of `runs` searches for `q` by `viewer`.
async fn queries(w: &World, viewer: UserId, qs: &[String]) -> Result<serde_json::Value> {
    let mut h = Histogram::<u64>::new(3)?;
    let mut found = 0usize;
    for q in qs {
        let started = Instant::now();
        let hits = w
            .store
            .search(SearchRequest {
                viewer,
                terms: parse(q),
                limit: 20,
                ..SearchRequest::default()
            })
            .await?;
        h.record(started.elapsed().as_micros() as u64)?;
        found += hits.len();
    }
    let mut s = summary(&h);
    s["mean_hits"] = serde_json::json!(found as f64 / qs.len() as f64);
    Ok(s)
}

/// Runs the scenario in `dir`.
pub async fn search(
    messages: usize,
    conversations: usize,
    runs: usize,
) -> Result<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!("natter-bench-search-{}", ClientId::random()));
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let users = 500;
        eprintln!("{messages} messages without the index…");
        let plain_path = dir.join("plain.db");
        let plain = world(&plain_path, conversations, users, true).await?;
        let (plain_rate, text_bytes) = write(&plain, messages).await?;
        drop(plain);
        let plain_size = file_bytes(&plain_path)?;
        std::fs::remove_file(&plain_path).ok();

        eprintln!("{messages} messages with the index…");
        let path = dir.join("indexed.db");
        let w = world(&path, conversations, users, false).await?;
        let (rate, _) = write(&w, messages).await?;
        let indexed_size = file_bytes(&path)?;

        let viewer = w.users[0];
        let in_convs = w.convs.iter().filter(|(_, m)| m.contains(&viewer)).count();
        let common: Vec<String> = (0..runs).map(|i| word(i % 3)).collect();
        let rare: Vec<String> = (0..runs).map(|i| word(5000 + i * 7)).collect();
        let prefixes: Vec<String> = (0..runs)
            .map(|i| word(10 + i % 50).chars().take(3).collect())
            .collect();
        let two: Vec<String> = (0..runs)
            .map(|i| format!("{} {}", word(i % 5), word(20 + i)))
            .collect();
        eprintln!("querying…");
        // Warm the page cache once.
        queries(&w, viewer, &common[..5]).await?;
        let out = serde_json::json!({
            "scenario": "search",
            "machine": machine(),
            "messages": messages,
            "conversations": conversations,
            "viewer_conversations": in_convs,
            "text_mib": (text_bytes as f64 / 1048576.0 * 10.0).round() / 10.0,
            "write_msgs_per_s_without_index": plain_rate.round(),
            "write_msgs_per_s_with_index": rate.round(),
            "database_mib_without_index": (plain_size as f64 / 1048576.0 * 10.0).round() / 10.0,
            "database_mib_with_index": (indexed_size as f64 / 1048576.0 * 10.0).round() / 10.0,
            "query_common_word": queries(&w, viewer, &common).await?,
            "query_rare_word": queries(&w, viewer, &rare).await?,
            "query_prefix_3_letters": queries(&w, viewer, &prefixes).await?,
            "query_two_words": queries(&w, viewer, &two).await?,
        });
        drop(w);
        Ok::<_, anyhow::Error>(out)
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result.context("the search scenario")
}
