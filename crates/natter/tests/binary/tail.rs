//! `natter tail`: following a conversation from a script.

use crate::*;
use natter_test_support::TestServer;
use serde_json::Value;

/// Parses `tail --json` output: one JSON object per line; keeps the
/// conversation events (the output also has presence and receipts).
fn json_lines(out: &Finished) -> Vec<Value> {
    out.ok()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .filter(|v| v["type"] == "event")
        .collect()
}

/// A `--json` cursor: a decimal number in a string.
fn cursor(line: &Value) -> u64 {
    line["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no cursor in {line}"))
}

#[tokio::test]
async fn tail_json_prints_each_message_sent_while_it_runs_in_seq_order_then_exits() {
    const N: usize = 5;
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::new();
    let (alice_id, _) = alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    alice.run(&["send", "@bob", "before the tail"]).await.ok();

    // A bare `tail` starts at whatever the head is when it connects. Short
    // of waiting for its readiness line (see the next test), a script reads
    // the head first and passes it as --from: every message sent after this
    // point is printed, whether the tail is already connected when it is
    // sent or catches up afterwards.
    let head = bob.run(&["whoami"]).await.row()[3].clone();
    let tail = bob.spawn(&[
        "tail",
        "@alice",
        "--from",
        &head,
        "--count",
        &N.to_string(),
        "--json",
    ]);
    let tail = tokio::task::spawn_blocking(move || finish(tail, None, WAIT));

    let mut sent = Vec::new();
    for i in 0..N {
        let text = format!("message {i}");
        let row = alice.run(&["send", "@bob", &text]).await.row();
        let seq: u64 = row[0].parse().expect("seq is a number");
        sent.push((seq, row[1].clone(), text));
    }

    // With --count the tail exits by itself, successfully, after N messages.
    let out = tail.await.expect("the tail runner panicked");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), N, "one line per message: {out:#?}");
    let mut last_cursor = head.parse::<u64>().expect("head is a number");
    for (line, (seq, id, text)) in lines.iter().zip(&sent) {
        let event = &line["event"];
        assert_eq!(event["kind"], "message", "{line}");
        assert_eq!(event["seq"], *seq, "{line}");
        assert_eq!(event["id"], id.as_str(), "{line}");
        assert_eq!(event["text"], text.as_str(), "{line}");
        assert_eq!(event["sender"], alice_id.as_str(), "{line}");
        // The cursor can resume a later tail with --from: it only grows.
        let cursor = cursor(line);
        assert!(cursor > last_cursor, "cursor {cursor} after {last_cursor}");
        last_cursor = cursor;
    }
    let seqs: Vec<u64> = sent.iter().map(|s| s.0).collect();
    assert_eq!(seqs, (3..3 + N as u64).collect::<Vec<_>>(), "dense seqs");
}

#[tokio::test]
async fn a_script_that_waits_for_the_readiness_line_misses_nothing() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::new();
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    alice.run(&["send", "@bob", "before the tail"]).await.ok();
    let head = bob.run(&["whoami"]).await.row()[3].clone();

    // `natter tail --count 1 &`, then wait for its line on stderr: from
    // then on, what is sent reaches it. The wait runs off the async
    // threads, which the in-process server needs.
    let mut tail = Watched::new(bob.spawn(&["tail", "--count", "1"]));
    let (tail, ready) = tokio::task::spawn_blocking(move || {
        let ready = tail.wait_for_stderr("tail: following from cursor ");
        (tail, ready)
    })
    .await
    .expect("the tail watcher panicked");
    // It starts at the head: nothing since whoami, so the same cursor.
    assert_eq!(ready, format!("tail: following from cursor {head}"));

    let sent = alice.run(&["send", "@bob", "are you there?"]).await.row();
    let out = tokio::task::spawn_blocking(move || tail.finish(WAIT))
        .await
        .expect("the tail runner panicked");
    // Only the message sent after it started, and stdout has nothing else:
    // the readiness line went to stderr, once.
    let rows = out.rows();
    assert_eq!(rows.len(), 1, "{out:#?}");
    assert_eq!(
        (
            rows[0][0].as_str(),
            rows[0][1].as_str(),
            rows[0][3].as_str()
        ),
        ("@alice", sent[0].as_str(), "alice: are you there?"),
        "label, seq, time, text: {out:#?}"
    );
    assert_eq!(out.stderr, format!("{ready}\n"), "{out:#?}");
}

#[tokio::test]
async fn tail_from_start_replays_what_was_said_before_it_started() {
    let server = TestServer::start().await;
    let url = server.url();
    let alice = Terminal::new();
    let bob = Terminal::new();
    alice.register(&url, "alice").await;
    bob.register(&url, "bob").await;
    alice.run(&["send", "@bob", "one"]).await.ok();
    alice.run(&["send", "@bob", "two"]).await.ok();
    alice.run(&["group", "create", "club", "bob"]).await.ok();
    alice.run(&["send", "#club", "three"]).await.ok();

    // --json prints every event of Bob's log; --count counts messages.
    let out = run(
        bob.command(&["tail", "--from-start", "--count", "3", "--json"]),
        None,
    )
    .await;
    let lines = json_lines(&out);
    let events: Vec<(&str, u64, &str)> = lines
        .iter()
        .map(|l| {
            let e = &l["event"];
            (
                e["kind"].as_str().unwrap_or_default(),
                e["seq"].as_u64().unwrap_or_default(),
                e["text"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("created", 1, ""),
            ("message", 2, "one"),
            ("message", 3, "two"),
            ("created", 1, ""),
            ("message", 2, "three"),
        ]
    );
    let cursors: Vec<u64> = lines.iter().map(cursor).collect();
    assert!(cursors.is_sorted() && cursors[0] > 0, "{cursors:?}");

    // The plain form, following every conversation, labels each line with
    // the conversation: `@peer` or `#group`, then `seq  time  text`.
    let rows = run(bob.command(&["tail", "--from-start", "--count", "3"]), None)
        .await
        .rows();
    let rows: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 4, "label, seq, time, text: {r:?}");
            (r[0].as_str(), r[1].as_str(), r[3].as_str())
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("@alice", "1", "* alice started the conversation"),
            ("@alice", "2", "alice: one"),
            ("@alice", "3", "alice: two"),
            ("#club", "1", "* alice created #club"),
            ("#club", "2", "alice: three"),
        ]
    );
}
