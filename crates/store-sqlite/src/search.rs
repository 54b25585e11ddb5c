//! Full-text search on SQLite's FTS5.
//!
//! `message_search` is contentless (the text is stored once, in `events`)
//! with `contentless_delete`, so an edit or a delete changes the index in
//! the same transaction as the message: a search right after sees the new
//! text and never the old. The tokenizer is `unicode61` with diacritics
//! removed (case and accents folded for every script it knows); text of
//! scripts written without spaces is indexed one character per token
//! ([`natter_store::search::spaced`]) and searched as phrases of
//! characters. Prefix indexes of 1 to 3 characters keep search-as-you-type
//! cheap.
//!
//! A message's document id is `num << 32 | seq` (`num` is its
//! conversation's small number), so the part of a conversation a member
//! may read is one rowid range: the query walks the viewer's conversations
//! and asks the index for each one's range, which FTS5 answers from its
//! doclists without touching other conversations' hits.

use crate::db_err;
use crate::rows::{conv_id, user_id};
use natter_proto::{ConversationId, Seq};
use natter_store::search::{Term, spaced};
use natter_store::{Result, SearchRequest, SearchRow, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// Seqs at or above this are not indexed (four billion events in one
/// conversation).
const MAX_SEQ: u64 = 1 << 32;

fn doc(num: i64, seq: Seq) -> Option<i64> {
    (seq < MAX_SEQ).then_some((num << 32) | seq as i64)
}

fn num_of(c: &Connection, conv: &ConversationId) -> Result<Option<i64>> {
    c.prepare_cached("SELECT num FROM conversations WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([conv.as_bytes()], |r| r.get::<_, Option<i64>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(db_err)
}

/// Indexes a message's text.
pub(crate) fn index(c: &Connection, conv: &ConversationId, seq: Seq, text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let Some(id) = num_of(c, conv)?.and_then(|n| doc(n, seq)) else {
        return Ok(());
    };
    c.prepare_cached("INSERT INTO message_search (rowid, body) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![id, spaced(text).as_ref()]))
        .map_err(db_err)?;
    Ok(())
}

/// Takes a message out of the index (deleted, expired).
pub(crate) fn unindex(c: &Connection, conv: &ConversationId, seq: Seq) -> Result<()> {
    let Some(id) = num_of(c, conv)?.and_then(|n| doc(n, seq)) else {
        return Ok(());
    };
    c.prepare_cached("DELETE FROM message_search WHERE rowid = ?1")
        .and_then(|mut s| s.execute([id]))
        .map_err(db_err)?;
    Ok(())
}

/// A message's new text replaces its old one in the index.
pub(crate) fn reindex(c: &Connection, conv: &ConversationId, seq: Seq, text: &str) -> Result<()> {
    unindex(c, conv, seq)?;
    index(c, conv, seq, text)
}

/// Indexes every message already stored (when the index is created).
pub(crate) fn backfill(c: &Connection) -> Result<()> {
    let mut stmt = c
        .prepare(
            "SELECT c.num, e.seq, e.text FROM events e JOIN conversations c ON c.id = e.conv_id
             WHERE e.kind = 'message' AND e.text IS NOT NULL AND e.text <> ''",
        )
        .map_err(db_err)?;
    let mut insert = c
        .prepare("INSERT INTO message_search (rowid, body) VALUES (?1, ?2)")
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    while let Some(r) = rows.next().map_err(db_err)? {
        let (num, seq, text): (i64, i64, String) = (
            r.get(0).map_err(db_err)?,
            r.get(1).map_err(db_err)?,
            r.get(2).map_err(db_err)?,
        );
        if let Some(id) = doc(num, seq as u64) {
            insert
                .execute(params![id, spaced(&text).as_ref()])
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// The FTS5 expression for the terms: each a quoted string (so nothing
/// the user typed is an operator), all required.
fn expression(terms: &[Term]) -> String {
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    terms
        .iter()
        .map(|t| match t {
            Term::Word { text, prefix: true } => format!("{} *", quoted(text)),
            Term::Word { text, .. } => quoted(text),
            Term::Characters(chars) => {
                let spaced: Vec<String> = chars.iter().map(char::to_string).collect();
                quoted(&spaced.join(" "))
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// Runs a search (see [`natter_store::Store::search`]).
pub(crate) fn search(c: &Connection, q: &SearchRequest) -> Result<Vec<SearchRow>> {
    if q.terms.is_empty() || q.limit == 0 {
        return Ok(Vec::new());
    }
    if let Some(conv) = &q.conv {
        let member: bool = c
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM members WHERE conv_id = ?1 AND user_id = ?2)",
            )
            .and_then(|mut s| {
                s.query_row(params![conv.as_bytes(), q.viewer.as_bytes()], |r| r.get(0))
            })
            .map_err(db_err)?;
        if !member {
            return Err(StoreError::NotMember);
        }
    }
    let mut sql = String::from(
        "WITH mine AS (
             SELECT c.id AS conv_id, c.num AS num, m.visible_seq AS vis
             FROM members m JOIN conversations c ON c.id = m.conv_id
             WHERE m.user_id = ?1 AND (?2 IS NULL OR m.conv_id = ?2) AND c.num IS NOT NULL
         )
         SELECT e.conv_id, e.seq, e.ts, e.sender, e.text, e.target, bm25(message_search) AS rank
         FROM mine
         CROSS JOIN message_search ON message_search.rowid BETWEEN (mine.num << 32) | mine.vis
                                                         AND (mine.num << 32) | 4294967295
         JOIN events e ON e.conv_id = mine.conv_id AND e.seq = (message_search.rowid & 4294967295)
         WHERE message_search MATCH ?3 AND e.kind = 'message'
           AND NOT EXISTS (SELECT 1 FROM hidden h
                            WHERE h.user_id = ?1 AND h.conv_id = e.conv_id AND h.seq = e.seq)
           AND (?4 IS NULL OR e.sender = ?4)
           AND (?5 IS NULL OR e.ts >= ?5)
           AND (?6 IS NULL OR e.ts < ?6)",
    );
    if q.has_file {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM message_uploads mu
                           WHERE mu.conv_id = e.conv_id AND mu.seq = e.seq)",
        );
    }
    if q.has_link {
        sql.push_str(" AND (e.text LIKE '%http://%' OR e.text LIKE '%https://%')");
    }
    if q.mentions_me {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM mentions mn
                           WHERE mn.conv_id = e.conv_id AND mn.seq = e.seq
                             AND (mn.user_id = ?1 OR mn.user_id = zeroblob(16)))",
        );
    }
    if q.in_thread {
        sql.push_str(" AND e.target IS NOT NULL");
    }
    sql.push_str(" ORDER BY rank, e.ts DESC, e.seq DESC LIMIT ?7 OFFSET ?8");
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map(
            params![
                q.viewer.as_bytes(),
                q.conv.as_ref().map(|c| c.as_bytes().to_vec()),
                expression(&q.terms),
                q.from.as_ref().map(|u| u.as_bytes().to_vec()),
                q.after,
                q.before,
                i64::from(q.limit),
                i64::from(q.offset)
            ],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (conv, seq, ts, sender, text, target) = row.map_err(db_err)?;
        out.push(SearchRow {
            conv: conv_id(&conv)?,
            seq: seq as u64,
            ts,
            sender: user_id(&sender)?,
            text: text.unwrap_or_default(),
            thread: target.map(|t| t as u64),
        });
    }
    Ok(out)
}
