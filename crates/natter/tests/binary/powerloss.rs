//! Power loss: `natter serve` with its data folder on a file system that
//! loses every write no fsync covered when the power is cut
//! (`natter-powercut`), cut at a random moment while several people send
//! at once, again and again on the same data. After each cut the database
//! must pass `PRAGMA integrity_check`, and the restarted server must hold
//! every acknowledged message exactly once, at the seq it was acknowledged
//! with, with no gap in any conversation's seqs.
//!
//! SIGKILL (the crash test) cannot lose what the kernel's page cache
//! holds; this can. It needs FUSE (`/dev/fuse`, and root or `fusermount3`)
//! and fails, saying so, where FUSE is missing.
//!
//! The size is small by default, for CI; `NATTER_POWERLOSS_CYCLES`,
//! `NATTER_POWERLOSS_ACKS` (most acknowledgements before a cut) and
//! `NATTER_POWERLOSS_SEED` make it bigger or replay a run (see
//! docs/reliability.md).

use crate::*;
use natter_powercut::{CutMode, CutReport, PowerCut};
use natter_proto::{
    AuthSession, ClientId, ConversationId, EventBody, HistoryQuery, MessageId, Seq,
};
use natter_sdk::Client;
use natter_test_support::PASSWORD;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// Cheap password hashing, no login throttling, and access tokens that
/// outlive the run, so that no token refresh (a write of its own) races a
/// cut.
const CONFIG: &str = "\
[auth]
argon2_memory_kib = 64
argon2_iterations = 1
login_attempts_per_address = 100000
access_ttl_secs = 86400
refresh_ttl_secs = 86400
";

/// People, and who sends in which conversation: two direct conversations
/// and a group, two senders in each, so that commits interleave three
/// conversations' seqs.
const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dave"];
const SENDERS: [(usize, usize); 6] = [(0, 0), (0, 1), (1, 2), (1, 3), (2, 0), (2, 2)];

/// A number from the environment, or `default`.
fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// A small seeded generator: the cut points of a run can be replayed from
/// its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A message the server acknowledged (or that a retry after a restart
/// resolved).
#[derive(Clone, Debug)]
struct Acked {
    conv: usize,
    client_id: ClientId,
    text: String,
    id: MessageId,
    seq: Seq,
}

/// A send whose answer never came, or came as an error, because the power
/// went: it may or may not be stored, and its sender retries it.
#[derive(Debug)]
struct InFlight {
    conv: usize,
    who: usize,
    client_id: ClientId,
    text: String,
}

/// Sends distinct messages until a send fails; a failure while the power
/// is still on fails the test.
async fn keep_sending(
    client: Client,
    (conv_index, conv): (usize, ConversationId),
    who: usize,
    tag: String,
    powered: Arc<AtomicBool>,
    acks: mpsc::UnboundedSender<Acked>,
) -> InFlight {
    for i in 0.. {
        let client_id = ClientId(format!("{tag}-{i}"));
        let text = format!("message {i} of {tag}");
        match client.send_message(conv, &client_id, &text).await {
            Ok(sent) => {
                assert!(!sent.duplicate, "a first send is never a duplicate");
                let _ = acks.send(Acked {
                    conv: conv_index,
                    client_id,
                    text,
                    id: sent.id,
                    seq: sent.seq,
                });
            }
            Err(e) => {
                assert!(
                    !powered.load(Ordering::SeqCst),
                    "{tag}: a send failed while the power was on: {e}"
                );
                return InFlight {
                    conv: conv_index,
                    who,
                    client_id,
                    text,
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

/// What one check of the stored messages found.
#[derive(Debug, Default)]
struct Found {
    /// Acknowledged messages missing, or stored with another id or seq.
    lost: Vec<String>,
    /// Client ids stored more than once.
    duplicates: Vec<String>,
    /// Stored messages nobody sent (or whose send is unknown to the test).
    strangers: Vec<String>,
    /// Conversations whose seqs are not 1..=N.
    gaps: Vec<usize>,
    /// Messages stored in all.
    stored: usize,
}

/// Reads every conversation through `clients` and holds it against
/// `acked`: every acknowledged message is there once, as acknowledged.
async fn check(clients: &[Client], convs: &[(ConversationId, usize)], acked: &[Acked]) -> Found {
    let mut found = Found::default();
    for (index, &(conv, reader)) in convs.iter().enumerate() {
        let history = full_history(&clients[reader], conv).await;
        if !history
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as Seq + 1)
        {
            found.gaps.push(index);
        }
        let mut stored: HashMap<&str, Vec<(MessageId, Seq, &str)>> = HashMap::new();
        for event in &history {
            if let EventBody::Message {
                id,
                client_id,
                text,
                ..
            } = &event.body
            {
                stored.entry(client_id.0.as_str()).or_default().push((
                    *id,
                    event.seq,
                    text.as_str(),
                ));
            }
        }
        found.stored += stored.values().map(Vec::len).sum::<usize>();
        let mine: HashMap<&str, &Acked> = acked
            .iter()
            .filter(|a| a.conv == index)
            .map(|a| (a.client_id.0.as_str(), a))
            .collect();
        for (client_id, copies) in &stored {
            if copies.len() > 1 {
                found.duplicates.push(client_id.to_string());
            }
            if !mine.contains_key(client_id) {
                found.strangers.push(client_id.to_string());
            }
        }
        for (client_id, a) in mine {
            if stored.get(client_id).map(|v| v[0]) != Some((a.id, a.seq, a.text.as_str())) {
                found.lost.push(format!("{client_id} (seq {})", a.seq));
            }
        }
    }
    found
}

/// `PRAGMA integrity_check` of the database as the cut left it, run on a
/// copy so that the next cycle starts from exactly what the cut left.
fn integrity(data: &Path) -> String {
    let copy = tempfile::tempdir().expect("temp dir");
    let Ok(entries) = std::fs::read_dir(data) else {
        return format!("no data folder at {}", data.display());
    };
    for entry in entries {
        let entry = entry.expect("entry");
        if entry.file_name().to_string_lossy().starts_with("natter.db") {
            std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
        }
    }
    let conn = rusqlite::Connection::open(copy.path().join("natter.db")).expect("open the copy");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// Totals of a run, printed at its end.
#[derive(Debug, Default)]
struct Totals {
    cycles: usize,
    acked: usize,
    in_flight: usize,
    in_flight_stored_before_cut: usize,
    integrity_ok: usize,
    pending_bytes: u64,
    pending_dirs: u64,
    pages_kept: u64,
    torn_cuts: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_cuts_mid_send_lose_no_acknowledged_message() {
    let cycles = env_or("NATTER_POWERLOSS_CYCLES", 5) as usize;
    let max_acks = env_or("NATTER_POWERLOSS_ACKS", 150);
    let seed = env_or(
        "NATTER_POWERLOSS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    eprintln!("power loss: {cycles} cycles, up to {max_acks} acks each, seed {seed}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, CONFIG).expect("write the config file");
    let (disk, mnt) = (dir.path().join("disk"), dir.path().join("mnt"));
    std::fs::create_dir(&disk).expect("backing dir");
    std::fs::create_dir(&mnt).expect("mountpoint");
    // natter makes its data folder itself, as on a fresh machine.
    let data = mnt.join("data");

    let mut sessions: Vec<AuthSession> = Vec::new();
    let mut convs: Vec<(ConversationId, usize)> = Vec::new();
    let mut acked: Vec<Acked> = Vec::new();
    let mut in_flight: Vec<InFlight> = Vec::new();
    let mut totals = Totals::default();

    for cycle in 0..cycles {
        let power = PowerCut::mount(&disk, &mnt).unwrap_or_else(|e| panic!("{e}"));
        let mut server = ServeProcess::start(config.clone(), data.clone()).await;
        let clients: Vec<Client> = if cycle == 0 {
            let mut clients = Vec::new();
            for name in PEOPLE {
                let c = Client::register(&server.url, name, PASSWORD, None)
                    .await
                    .expect("register");
                sessions.push(c.session().expect("session"));
                clients.push(c);
            }
            let id = |i: usize| clients[i].user_id().expect("logged in");
            let ab = clients[0].direct(id(1)).await.expect("direct").id;
            let cd = clients[2].direct(id(3)).await.expect("direct").id;
            let group = clients[0]
                .create_group("power", &[id(1), id(2)])
                .await
                .expect("group")
                .id;
            convs = vec![(ab, 0), (cd, 2), (group, 0)];
            clients
        } else {
            // The sessions made in the first cycle still work: the signing
            // key and the session rows survived every cut.
            let clients: Vec<Client> = sessions
                .iter()
                .map(|s| Client::with_session(&server.url, s.clone()).expect("client"))
                .collect();
            // Each send the last cut interrupted is retried with its client
            // id: it was stored before the cut or is stored now, once.
            for f in in_flight.drain(..) {
                let sent = clients[f.who]
                    .send_message(convs[f.conv].0, &f.client_id, &f.text)
                    .await
                    .unwrap_or_else(|e| panic!("retry {} after the restart: {e}", f.client_id.0));
                totals.in_flight += 1;
                totals.in_flight_stored_before_cut += usize::from(sent.duplicate);
                acked.push(Acked {
                    conv: f.conv,
                    client_id: f.client_id,
                    text: f.text,
                    id: sent.id,
                    seq: sent.seq,
                });
            }
            let found = check(&clients, &convs, &acked).await;
            assert!(
                found.lost.is_empty()
                    && found.duplicates.is_empty()
                    && found.strangers.is_empty()
                    && found.gaps.is_empty(),
                "after cut {cycle} (seed {seed}): {found:?}"
            );
            assert!(
                no_refresh_needed(&clients, &sessions),
                "after cut {cycle}: an access token was refused, so the signing key was lost"
            );
            clients
        };

        let powered = Arc::new(AtomicBool::new(true));
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
        let senders: Vec<_> = SENDERS
            .iter()
            .enumerate()
            .map(|(task, &(conv, who))| {
                tokio::spawn(keep_sending(
                    clients[who].clone(),
                    (conv, convs[conv].0),
                    who,
                    format!("c{cycle}t{task}"),
                    powered.clone(),
                    ack_tx.clone(),
                ))
            })
            .collect();
        drop(ack_tx);

        // The cut comes after a random number of acknowledgements (none
        // included: then it falls among the first sends), and a random
        // fraction of a commit's time later, so that it lands anywhere in
        // the group commit and checkpoint cycle. The pause chooses the
        // moment; nothing waits on it.
        let wanted = rng.below(max_acks + 1) as usize;
        let mut got = 0;
        while got < wanted {
            let ack = tokio::time::timeout(WAIT, ack_rx.recv())
                .await
                .unwrap_or_else(|_| panic!("only {got} acks within {WAIT:?}"))
                .expect("the senders stopped with the power on");
            acked.push(ack);
            got += 1;
        }
        tokio::time::sleep(Duration::from_micros(rng.below(3000))).await;
        let mode = if cycle % 2 == 1 {
            totals.torn_cuts += 1;
            CutMode::Torn { seed: rng.next() }
        } else {
            CutMode::DropAll
        };
        powered.store(false, Ordering::SeqCst);
        // The file system dies first, so nothing the server does after
        // this moment reaches the disk; then the server.
        let report: CutReport = power.cut(mode);
        server.kill();
        for sender in senders {
            let failed = tokio::time::timeout(WAIT, sender)
                .await
                .expect("a send to a dead server fails promptly")
                .expect("a sender panicked");
            in_flight.push(failed);
        }
        while let Some(ack) = ack_rx.recv().await {
            acked.push(ack);
        }
        tokio::task::spawn_blocking(move || power.unmount())
            .await
            .expect("unmount task")
            .expect("unmount");

        let check = integrity(&disk.join("data"));
        assert_eq!(check, "ok", "integrity after cut {cycle} (seed {seed})");
        totals.integrity_ok += 1;
        totals.cycles += 1;
        totals.pending_bytes += report.pending_bytes;
        totals.pending_dirs += report.pending_dirs;
        totals.pages_kept += report.pages_kept;
        eprintln!(
            "cut {cycle}: {mode:?} after {got} acks; dropped {} pending bytes in {} files, \
             {} directories' entries, kept {} pages",
            report.pending_bytes, report.pending_files, report.pending_dirs, report.pages_kept
        );
    }

    // The last cut's data, read by a server on the plain backing
    // directory: what the layer left is an ordinary data folder.
    let server = ServeProcess::start(config, disk.join("data")).await;
    let clients: Vec<Client> = sessions
        .iter()
        .map(|s| Client::with_session(&server.url, s.clone()).expect("client"))
        .collect();
    for f in in_flight.drain(..) {
        let sent = clients[f.who]
            .send_message(convs[f.conv].0, &f.client_id, &f.text)
            .await
            .expect("retry after the last cut");
        totals.in_flight += 1;
        totals.in_flight_stored_before_cut += usize::from(sent.duplicate);
        acked.push(Acked {
            conv: f.conv,
            client_id: f.client_id,
            text: f.text,
            id: sent.id,
            seq: sent.seq,
        });
    }
    let found = check(&clients, &convs, &acked).await;
    assert!(
        found.lost.is_empty()
            && found.duplicates.is_empty()
            && found.strangers.is_empty()
            && found.gaps.is_empty(),
        "after the last cut (seed {seed}): {found:?}"
    );
    assert_eq!(found.stored, acked.len());
    // The cuts threw writes away: a layer that lost nothing would make
    // every check above pass for nothing.
    assert!(
        totals.pending_bytes > 0,
        "no cut found a pending write: {totals:?}"
    );
    totals.acked = acked.len();
    let per_conv: BTreeMap<usize, usize> = acked.iter().fold(BTreeMap::new(), |mut m, a| {
        *m.entry(a.conv).or_default() += 1;
        m
    });
    eprintln!(
        "power loss: {} cycles ({} torn), {} messages acknowledged {per_conv:?}, 0 lost, \
         0 duplicated, {} in flight at a cut ({} of them stored before it), integrity ok \
         {}/{}, {} pending bytes and {} directories' entries dropped, {} pages kept, seed {seed}",
        totals.cycles,
        totals.torn_cuts,
        totals.acked,
        totals.in_flight,
        totals.in_flight_stored_before_cut,
        totals.integrity_ok,
        totals.cycles,
        totals.pending_bytes,
        totals.pending_dirs,
        totals.pages_kept,
    );
}

/// Mounts the layer over `disk` on `mnt`, failing the test where FUSE is
/// missing.
fn mount(disk: &Path, mnt: &Path) -> PowerCut {
    PowerCut::mount(disk, mnt).unwrap_or_else(|e| panic!("{e}"))
}

/// Cuts the power under `server`, kills it, and unmounts.
async fn cut_and_kill(power: PowerCut, mut server: ServeProcess) -> CutReport {
    let report = power.cut(CutMode::DropAll);
    server.kill();
    tokio::task::spawn_blocking(move || power.unmount())
        .await
        .expect("unmount task")
        .expect("unmount");
    report
}

/// Whether every client still holds the access token it was given in the
/// first cycle: the SDK trades a refresh token for a new one when the
/// server rejects it, which would hide a signing key lost at a cut.
fn no_refresh_needed(clients: &[Client], sessions: &[AuthSession]) -> bool {
    clients
        .iter()
        .zip(sessions)
        .all(|(c, s)| c.access_token().as_deref() == Some(s.access_token.as_str()))
}

#[tokio::test]
async fn the_signing_key_made_at_first_start_survives_a_power_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("natter.toml");
    std::fs::write(&config, CONFIG).expect("write the config file");
    let (disk, mnt) = (dir.path().join("disk"), dir.path().join("mnt"));
    std::fs::create_dir(&disk).expect("backing dir");
    std::fs::create_dir(&mnt).expect("mountpoint");

    let power = mount(&disk, &mnt);
    let server = ServeProcess::start(config.clone(), mnt.join("data")).await;
    let alice = Client::register(&server.url, "alice", PASSWORD, None)
        .await
        .expect("register");
    let session = alice.session().expect("session");
    cut_and_kill(power, server).await;

    let server = ServeProcess::start(config, disk.join("data")).await;
    let alice = Client::with_session(&server.url, session.clone()).expect("client");
    let me = alice
        .me()
        .await
        .expect("the session made before the cut works");
    assert_eq!(me.username, "alice");
    assert!(
        no_refresh_needed(&[alice], &[session]),
        "the access token was refused: the signing key did not survive the cut"
    );
}
