//! Crash durability: `natter serve` killed with SIGKILL while messages are
//! being sent loses no acknowledged message, stores none twice, and leaves
//! no hole in the sequence numbers.

use crate::*;
use natter_proto::{ClientId, ConversationId, EventBody, HistoryQuery, MessageId, Seq};
use natter_sdk::Client;
use natter_test_support::PASSWORD;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio::sync::mpsc;

/// Cheap password hashing and no login throttling, so the test measures
/// durability and not Argon2.
const CONFIG: &str = "\
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
login_attempts_per_address = 100000
";

/// How many acknowledged messages to collect before the kill.
const ACKED_BEFORE_KILL: usize = 200;

/// Concurrent senders (half Alice, half Bob).
const SENDERS: usize = 8;

/// A message the server acknowledged.
#[derive(Debug)]
struct Acked {
    /// Who sent it (0 = Alice, 1 = Bob).
    who: usize,
    client_id: ClientId,
    text: String,
    id: MessageId,
    seq: Seq,
}

/// The send a sender had in flight when the server died: it may or may not
/// have been stored, and the sender cannot tell.
#[derive(Debug)]
struct InFlight {
    /// Who sent it (0 = Alice, 1 = Bob).
    who: usize,
    client_id: ClientId,
    text: String,
    error: String,
}

/// Sends distinct messages one after another until a send fails, reporting
/// each acknowledgement; returns the send that failed.
async fn keep_sending(
    client: Client,
    who: usize,
    task: usize,
    conv: ConversationId,
    acks: mpsc::UnboundedSender<Acked>,
) -> InFlight {
    for i in 0.. {
        let client_id = ClientId(format!("task{task}-{i}"));
        let text = format!("message {i} from task {task}");
        match client.send_message(conv, &client_id, &text).await {
            Ok(sent) => {
                assert!(!sent.duplicate, "a first send is never a duplicate");
                assert_eq!(sent.client_id, client_id);
                let _ = acks.send(Acked {
                    who,
                    client_id,
                    text,
                    id: sent.id,
                    seq: sent.seq,
                });
            }
            Err(e) => {
                return InFlight {
                    who,
                    client_id,
                    text,
                    error: format!("{e} (retryable: {})", e.is_retryable()),
                };
            }
        }
    }
    unreachable!("a sender stops at its first failure")
}

/// Every event of a conversation, oldest first.
async fn full_history(client: &Client, conv: ConversationId) -> Vec<natter_proto::Event> {
    let mut events = Vec::new();
    loop {
        let query = HistoryQuery {
            after: Some(events.last().map_or(0, |e: &natter_proto::Event| e.seq)),
            limit: Some(200),
            ..HistoryQuery::default()
        };
        let page = client.history(conv, &query).await.expect("history");
        events.extend(page.events);
        if !page.more {
            return events;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_send_keeps_every_acknowledged_message_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, CONFIG).expect("write the config file");
    let data = dir.path().join("data");
    let mut server = ServeProcess::start(config.clone(), data.clone()).await;

    let alice = Client::register(&server.url, "alice", PASSWORD, None)
        .await
        .expect("register alice");
    let bob = Client::register(&server.url, "bob", PASSWORD, None)
        .await
        .expect("register bob");
    let conv = alice
        .direct(bob.user_id().expect("bob is logged in"))
        .await
        .expect("open the direct conversation")
        .id;

    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let senders: Vec<_> = (0..SENDERS)
        .map(|task| {
            let who = task % 2;
            let client = [&alice, &bob][who].clone();
            tokio::spawn(keep_sending(client, who, task, conv, ack_tx.clone()))
        })
        .collect();
    drop(ack_tx);

    let mut acked = Vec::new();
    while acked.len() < ACKED_BEFORE_KILL {
        let ack = tokio::time::timeout(WAIT, ack_rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} acks within {WAIT:?}", acked.len()))
            .expect("a sender stopped while the server was up");
        acked.push(ack);
    }
    // The senders never pause, so sends are in flight as the server dies.
    server.kill();
    let mut in_flight = Vec::new();
    for sender in senders {
        let failed = tokio::time::timeout(WAIT, sender)
            .await
            .expect("a send to a dead server fails promptly")
            .expect("a sender panicked");
        in_flight.push(failed);
    }
    // Acknowledgements that arrived between the 200th and the kill.
    while let Some(ack) = ack_rx.recv().await {
        acked.push(ack);
    }
    for f in &in_flight {
        assert!(
            f.error.contains("retryable: true"),
            "a send cut off by a crash must be safe to retry: {f:?}"
        );
    }

    // Restart on the same data folder; the saved sessions still work.
    let server = ServeProcess::start(config, data).await;
    let clients = [&alice, &bob].map(|c| {
        Client::with_session(&server.url, c.session().expect("session"))
            .expect("client for the restarted server")
    });

    // Retrying each in-flight send with its client id either finds the
    // message stored before the crash or stores it now: never both.
    let mut resent = HashMap::new();
    for f in &in_flight {
        let sent = clients[f.who]
            .send_message(conv, &f.client_id, &f.text)
            .await
            .expect("retry after the restart");
        resent.insert(f.client_id.clone(), sent);
    }
    // Idempotency survived the crash for acknowledged messages too.
    let first = &acked[0];
    let again = clients[first.who]
        .send_message(conv, &first.client_id, &first.text)
        .await
        .expect("re-send an acknowledged message");
    assert!(again.duplicate, "{again:?}");
    assert_eq!((again.id, again.seq), (first.id, first.seq));

    let history = full_history(&clients[0], conv).await;
    let seqs: Vec<Seq> = history.iter().map(|e| e.seq).collect();
    let dense: Vec<Seq> = (1..=history.len() as Seq).collect();
    assert!(seqs == dense, "seqs must be 1..=N with no gap or repeat");

    let mut stored: BTreeMap<&str, Vec<(MessageId, Seq, &str)>> = BTreeMap::new();
    for event in &history {
        if let EventBody::Message {
            id,
            client_id,
            text,
            ..
        } = &event.body
        {
            stored
                .entry(client_id.0.as_str())
                .or_default()
                .push((*id, event.seq, text.as_str()));
        }
    }
    let twice: Vec<_> = stored.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");

    for a in &acked {
        assert_eq!(
            stored.get(a.client_id.0.as_str()).map(|v| v[0]),
            Some((a.id, a.seq, a.text.as_str())),
            "{}: an acknowledged message must survive the crash as acknowledged",
            a.client_id.0
        );
    }
    let mut survived = 0;
    for f in &in_flight {
        let sent = &resent[&f.client_id];
        assert_eq!(
            stored.get(f.client_id.0.as_str()).map(|v| v[0]),
            Some((sent.id, sent.seq, f.text.as_str())),
            "{}: the retry's answer names the one stored copy",
            f.client_id.0
        );
        survived += usize::from(sent.duplicate);
    }
    // Nothing else was stored: every message is one somebody sent.
    let sent_ids: BTreeSet<&str> = acked
        .iter()
        .map(|a| a.client_id.0.as_str())
        .chain(in_flight.iter().map(|f| f.client_id.0.as_str()))
        .collect();
    let stored_ids: BTreeSet<&str> = stored.keys().copied().collect();
    assert_eq!(stored_ids, sent_ids);
    assert_eq!(stored.len(), acked.len() + in_flight.len());
    eprintln!(
        "{} acknowledged before the kill, {} in flight ({} of them had been stored)",
        acked.len(),
        in_flight.len(),
        survived
    );
}

#[tokio::test]
async fn a_new_data_folder_and_its_secrets_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, CONFIG).expect("write the config file");
    let data = dir.path().join("data");
    let server = ServeProcess::start(config.clone(), data.clone()).await;
    // Something written, so the database has its WAL beside it.
    Client::register(&server.url, "alice", PASSWORD, None)
        .await
        .expect("register");
    let mode = |name: &str| {
        let path = if name.is_empty() {
            data.clone()
        } else {
            data.join(name)
        };
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data folder");
    for file in ["token.key", "natter.db", "natter.db-wal"] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    drop(server);
    // A key that other users can read is refused at start, with the fix.
    std::fs::set_permissions(
        data.join("token.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let out = tokio::task::spawn_blocking(move || {
        natter_command()
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&data)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run natter serve")
    })
    .await
    .expect("runner");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
}
