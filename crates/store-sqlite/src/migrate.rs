//! Brings a database file up to the current schema at open.

use crate::{db_err, schema};
use natter_store::{Result, StoreError};
use rusqlite::Connection;

/// Runs every migration the file has not had yet, each in its own
/// transaction, and refuses a file written by a newer natter.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(db_err)? as usize;
    if version > schema::MIGRATIONS.len() {
        return Err(StoreError::Internal(format!(
            "database schema version {version} is newer than this natter ({})",
            schema::MIGRATIONS.len()
        )));
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        if i + 1 == schema::SEARCH_VERSION {
            crate::search::backfill(&tx)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{SqliteOptions, SqliteStore, schema};
    use natter_proto::{ClientId, ConversationId, Cursor, DeviceId, MessageId, UserId};
    use natter_store::*;
    use rusqlite::{Connection, params};

    /// A database written by the per-user log schema keeps its history;
    /// cursors from that era get a resync answer instead of silently
    /// skipping anything, and new writes continue above the old positions.
    #[tokio::test]
    async fn per_user_log_databases_migrate_and_old_cursors_resync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (alice, conv) = (UserId::new(), ConversationId::new());
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 2").unwrap();
            conn.execute(
                "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, 'alice', 'x', 1)",
                [alice.as_bytes()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO conversations (id, kind, creator, created_at, last_seq, last_ts, member_count)
                 VALUES (?1, 'group', ?2, 1, 3, 3, 1)",
                [conv.as_bytes().as_slice(), alice.as_bytes().as_slice()],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO members (conv_id, user_id, joined_seq, joined_at) VALUES (?1, ?2, 1, 1)",
                [conv.as_bytes().as_slice(), alice.as_bytes().as_slice()],
            )
            .unwrap();
            for seq in 1..=3i64 {
                conn.execute(
                    "INSERT INTO events (conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text)
                     VALUES (?1, ?2, ?2, ?3, 'message', ?4, ?5, ?6, ?7)",
                    params![
                        conv.as_bytes(),
                        seq,
                        alice.as_bytes(),
                        MessageId::new().as_bytes(),
                        format!("c{seq}"),
                        DeviceId::new().as_bytes(),
                        format!("old {seq}")
                    ],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO user_log (user_id, useq, conv_id, seq) VALUES (?1, ?2, ?3, ?2)",
                    params![alice.as_bytes(), seq, conv.as_bytes()],
                )
                .unwrap();
            }
            // Receipts took per-user positions too: the old log reached 8.
            for useq in 4..=8i64 {
                conn.execute(
                    "INSERT INTO user_log (user_id, useq, conv_id, seq, receipt) VALUES (?1, ?2, ?3, 0, '{}')",
                    params![alice.as_bytes(), useq, conv.as_bytes()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let old_cursors = [Cursor::START, Cursor(2), Cursor(5), Cursor(7)];
        for old in old_cursors {
            assert!(matches!(
                store.log_after(alice, old, 10).await,
                Err(StoreError::CursorGone { .. })
            ));
        }
        let head = store.log_head(alice).await.unwrap();
        assert!(
            store
                .log_after(alice, head, 10)
                .await
                .unwrap()
                .entries
                .is_empty()
        );
        let history = store
            .history(HistoryRequest {
                conv,
                viewer: alice,
                range: HistoryRange::Latest,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(history.events.len(), 3);
        // Messages from before the search index are in it.
        let found = store
            .search(SearchRequest {
                viewer: alice,
                terms: natter_store::search::parse("old 2 "),
                limit: 10,
                ..SearchRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(found.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![2]);
        let Appended::New(c) = store
            .append_message(NewMessage {
                conv,
                sender: alice,
                device: DeviceId::new(),
                id: MessageId::new(),
                client_id: ClientId("new".into()),
                text: "new".into(),
                now: 4,
                extras: Default::default(),
            })
            .await
            .unwrap()
        else {
            panic!("a new message");
        };
        assert!(c.position > head);
        let page = store.log_after(alice, head, 10).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].1.event().map(|e| e.seq), Some(4));
        // Later writes never make an old cursor acceptable.
        for old in old_cursors {
            assert!(matches!(
                store.log_after(alice, old, 10).await,
                Err(StoreError::CursorGone { .. })
            ));
        }
        store.close().await;
    }

    /// Direct conversations from before message requests: the second
    /// member has accepted if they ever sent in it, and is left with a
    /// request otherwise; creators and groups are never requests.
    #[tokio::test]
    async fn direct_conversations_become_requests_only_where_the_peer_never_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("natter.db");
        let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let (answered, unanswered) = (ConversationId::new(), ConversationId::new());
        {
            let conn = Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..4] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch("PRAGMA user_version = 4").unwrap();
            for (id, name) in [(alice, "alice"), (bob, "bob"), (carol, "carol")] {
                conn.execute(
                    "INSERT INTO users (id, username, password_hash, created_at) VALUES (?1, ?2, 'x', 1)",
                    params![id.as_bytes(), name],
                )
                .unwrap();
            }
            for (conv, peer) in [(answered, bob), (unanswered, carol)] {
                conn.execute(
                    "INSERT INTO conversations (id, kind, creator, created_at, last_seq, last_ts, member_count)
                     VALUES (?1, 'direct', ?2, 1, 2, 1, 2)",
                    params![conv.as_bytes(), alice.as_bytes()],
                )
                .unwrap();
                for m in [alice, peer] {
                    conn.execute(
                        "INSERT INTO members (conv_id, user_id, joined_seq, joined_at) VALUES (?1, ?2, 1, 1)",
                        params![conv.as_bytes(), m.as_bytes()],
                    )
                    .unwrap();
                }
            }
            conn.execute(
                "INSERT INTO events (conv_id, seq, ts, sender, kind, msg_id, client_id, device_id, text, pos)
                 VALUES (?1, 2, 2, ?2, 'message', ?3, 'c1', ?4, 'hi', 1)",
                params![
                    answered.as_bytes(),
                    bob.as_bytes(),
                    MessageId::new().as_bytes(),
                    DeviceId::new().as_bytes()
                ],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let request = |list: Vec<ConversationSummary>, conv: ConversationId| {
            list.iter().find(|s| s.conv.id == conv).map(|s| s.request)
        };
        assert_eq!(
            request(store.conversations_of(bob).await.unwrap(), answered),
            Some(false)
        );
        assert_eq!(
            request(store.conversations_of(carol).await.unwrap(), unanswered),
            Some(true)
        );
        let alices = store.conversations_of(alice).await.unwrap();
        assert_eq!(request(alices.clone(), answered), Some(false));
        assert_eq!(request(alices, unanswered), Some(false));
        store.close().await;
    }
}
