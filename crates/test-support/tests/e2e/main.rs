//! End-to-end tests: a real server on an ephemeral port with a real store
//! (the backend `NATTER_TEST_BACKEND` names; SQLite by default), driven
//! through the SDK (and, for the protocol edges, raw HTTP and WebSocket).
//! All integration tests compile into this one binary.

mod auth;
mod bad_input;
mod blocks;
mod channels;
mod connections;
mod contract;
mod groups;
mod harness;
mod messaging;
mod people;
mod pictures;
mod rich;
mod roles;
mod search;
mod signals;
mod storage;
mod stuck;
mod transports;
mod uploads;

use natter_proto::{ClientId, ConversationId, Event, EventBody};
use natter_test_support::sdk::{Client, ConnectOptions, Live, LiveEvent};
use std::time::Duration;

/// How long a test waits for something that should happen at once before
/// it fails. A bound for failures, not a sleep: passing tests never wait it.
pub const WAIT: Duration = Duration::from_secs(15);

/// Connects live and waits for the backlog to be delivered.
pub async fn connect(client: &natter_test_support::sdk::Client) -> Live {
    connect_with(client, ConnectOptions::new()).await
}

/// Connects with options and waits until synced.
pub async fn connect_with(client: &natter_test_support::sdk::Client, opts: ConnectOptions) -> Live {
    let mut live = client.connect(opts).await.expect("connect");
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Synced { .. }) => return live,
            Some(_) => continue,
            None => panic!("no synced within {WAIT:?}"),
        }
    }
}

/// The text of a message event.
pub fn text(e: &Event) -> Option<&str> {
    match &e.body {
        EventBody::Message { text, .. } => Some(text),
        _ => None,
    }
}

/// Waits for the next `n` message events (skipping everything else).
pub async fn messages(live: &mut Live, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Event { event, .. }) if text(&event).is_some() => out.push(event),
            Some(_) => {}
            None => panic!("got {} of {n} messages within {WAIT:?}: {out:?}", out.len()),
        }
    }
    out
}

/// Waits for the next event in `conv` (any kind), skipping everything else.
pub async fn event_in(live: &mut Live, conv: ConversationId) -> Event {
    loop {
        match live.next_event(WAIT).await {
            Some(LiveEvent::Event { event, .. }) if event.conv == conv => return event,
            Some(_) => {}
            None => panic!("no event in {conv} within {WAIT:?}"),
        }
    }
}

/// Waits for the next message event in `conv`.
pub async fn message_in(live: &mut Live, conv: ConversationId) -> Event {
    loop {
        let e = messages(live, 1).await.remove(0);
        if e.conv == conv {
            return e;
        }
    }
}

/// Asserts that `live` had no message event left to deliver, with a round
/// trip: `via` (any member of `conv`, `live`'s own user included) sends a
/// marker message over HTTP, and the next message event `live` yields must
/// be exactly that marker. A device receives its log in order and the marker
/// is committed after everything before it, so a message still on its way
/// (a duplicate, a redelivery after a reconnect, a late copy) would arrive
/// first. Other entries (receipts, presence, typing) are skipped. Returns
/// the marker event, which `via`'s own live connections receive as well.
pub async fn assert_no_message_pending(
    live: &mut Live,
    via: &Client,
    conv: ConversationId,
) -> Event {
    let client_id = ClientId::random();
    let marker = format!("nothing was pending before this marker ({})", client_id.0);
    let sent = via
        .send_message(conv, &client_id, &marker)
        .await
        .expect("send the marker");
    let event = messages(live, 1).await.remove(0);
    assert_eq!(
        (event.message_id(), text(&event)),
        (Some(sent.id), Some(marker.as_str())),
        "a message was still pending: {event:?}"
    );
    event
}
