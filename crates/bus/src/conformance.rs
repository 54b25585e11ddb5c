//! The behavioural suite every [`Bus`] backend must pass, so the embedded
//! deployment (in-process) and a cluster (a broker) fan out alike.
//!
//! A backend runs it with [`bus_conformance_suite!`](crate::bus_conformance_suite),
//! giving an async function that returns a fresh bus (plus whatever guard
//! keeps its broker subjects apart). Each test asserts what a user would
//! notice if it broke: a message arriving twice, out of order, to nobody,
//! or a revoked session staying open.

use crate::*;
use std::time::Duration;

/// Generates one `#[tokio::test]` per conformance test. `$open` is an async
/// fn returning `(guard, Arc<dyn Bus>)`.
#[macro_export]
macro_rules! bus_conformance_suite {
    ($open:path) => {
        $crate::bus_conformance_suite!(@tests $open;
            subscribing_is_once_per_bus,
            batches_arrive_whole_and_in_publish_order,
            signals_and_revocations_arrive_intact,
            closing_ends_the_stream_and_refuses_publishes,
        );
    };
    (@tests $open:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, bus) = $open().await;
                $crate::conformance::$name(bus.clone()).await;
                bus.close().await;
            }
        )*
    };
}

/// Bounds a wait that only ends early when the bus is broken.
const PATIENCE: Duration = Duration::from_secs(10);

async fn next(rx: &mut tokio::sync::mpsc::Receiver<BusMessage>) -> BusMessage {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("a published message arrives")
        .expect("the stream is open")
}

fn batch(source: SourceId, seq: u64, first_position: u64) -> Batch {
    let conv = ConversationId::new();
    let joined = UserId::new();
    let reader = UserId::new();
    Batch {
        source,
        seq,
        notices: vec![
            Notice {
                position: Cursor(first_position),
                kind: ItemKind::Event,
                to: Audience::Conversation {
                    conv,
                    json: Arc::from(format!(r#"{{"seq":{seq}}}"#)),
                    joined: vec![joined],
                    left: vec![reader],
                },
            },
            Notice {
                position: Cursor(first_position + 1),
                kind: ItemKind::Receipt,
                to: Audience::Users(vec![(reader, Arc::from(r#"{"read":1}"#))]),
            },
        ],
        complete: true,
    }
}

/// A node subscribes once; a second subscription would split its stream.
pub async fn subscribing_is_once_per_bus(bus: Arc<dyn Bus>) {
    assert!(bus.subscribe().is_some(), "the first subscription");
    assert!(bus.subscribe().is_none(), "no second subscription");
}

/// What one publisher sends arrives in the order it was sent, each batch
/// whole, once.
pub async fn batches_arrive_whole_and_in_publish_order(bus: Arc<dyn Bus>) {
    let mut rx = bus.subscribe().expect("subscribe");
    let source = SourceId::random();
    let sent: Vec<Batch> = (1..=20).map(|i| batch(source, i, i * 10)).collect();
    // Published from another task: a bounded bus makes the publisher wait
    // for the reader below.
    let publisher = {
        let bus = bus.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            for b in sent {
                bus.publish(BusMessage::Events(Arc::new(b)))
                    .await
                    .expect("publish");
            }
        })
    };
    for expected in &sent {
        let BusMessage::Events(got) = next(&mut rx).await else {
            panic!("expected a batch");
        };
        assert_eq!((got.source, got.seq), (expected.source, expected.seq));
        assert_eq!(got.complete, expected.complete);
        assert_eq!(got.notices.len(), expected.notices.len());
        for (g, e) in got.notices.iter().zip(&expected.notices) {
            assert_eq!((g.position, g.kind), (e.position, e.kind));
            match (&g.to, &e.to) {
                (
                    Audience::Conversation {
                        conv,
                        json,
                        joined,
                        left,
                    },
                    Audience::Conversation {
                        conv: c2,
                        json: j2,
                        joined: u2,
                        left: l2,
                    },
                ) => assert_eq!((conv, json, joined, left), (c2, j2, u2, l2)),
                (Audience::Users(a), Audience::Users(b)) => assert_eq!(a, b),
                _ => panic!("the audience changed on the way"),
            }
        }
    }
    tokio::time::timeout(PATIENCE, publisher)
        .await
        .expect("every publish returns")
        .expect("the publisher did not panic");
    // A marker sent after everything else must be the very next message:
    // nothing arrived twice.
    let marker = DeviceId::new();
    bus.publish(BusMessage::SessionRevoked {
        user: UserId::new(),
        device: marker,
    })
    .await
    .expect("publish the marker");
    assert!(matches!(
        next(&mut rx).await,
        BusMessage::SessionRevoked { device, .. } if device == marker
    ));
}

/// Presence and typing signals and session revocations reach the
/// subscriber with their audience and frame unchanged.
pub async fn signals_and_revocations_arrive_intact(bus: Arc<dyn Bus>) {
    let mut rx = bus.subscribe().expect("subscribe");
    let (a, b, typist) = (UserId::new(), UserId::new(), UserId::new());
    let conv = ConversationId::new();
    let frame: Arc<str> = Arc::from(r#"{"type":"typing"}"#);
    bus.publish(BusMessage::Signal(Arc::new(Signal {
        kind: SignalKind::Presence,
        to: SignalAudience::Users(vec![a, b]),
        frame: frame.clone(),
    })))
    .await
    .expect("publish presence");
    bus.publish(BusMessage::Signal(Arc::new(Signal {
        kind: SignalKind::Typing,
        to: SignalAudience::Conversation {
            conv,
            except: typist,
        },
        frame: frame.clone(),
    })))
    .await
    .expect("publish typing");
    let device = DeviceId::new();
    bus.publish(BusMessage::SessionRevoked { user: a, device })
        .await
        .expect("publish revocation");
    match next(&mut rx).await {
        BusMessage::Signal(s) => {
            assert_eq!(s.kind, SignalKind::Presence);
            assert!(matches!(&s.to, SignalAudience::Users(u) if *u == vec![a, b]));
            assert_eq!(s.frame, frame);
        }
        _ => panic!("expected the presence signal"),
    }
    match next(&mut rx).await {
        BusMessage::Signal(s) => {
            assert_eq!(s.kind, SignalKind::Typing);
            assert!(matches!(
                s.to,
                SignalAudience::Conversation { conv: c, except } if c == conv && except == typist
            ));
        }
        _ => panic!("expected the typing signal"),
    }
    assert!(matches!(
        next(&mut rx).await,
        BusMessage::SessionRevoked { user, device: d } if user == a && d == device
    ));
}

/// After `close`, the subscriber's stream ends (so the dispatcher stops)
/// and publishing fails instead of vanishing.
pub async fn closing_ends_the_stream_and_refuses_publishes(bus: Arc<dyn Bus>) {
    let mut rx = bus.subscribe().expect("subscribe");
    bus.publish(BusMessage::Events(Arc::new(batch(
        SourceId::random(),
        1,
        1,
    ))))
    .await
    .expect("publish before close");
    bus.close().await;
    let refused = bus
        .publish(BusMessage::SessionRevoked {
            user: UserId::new(),
            device: DeviceId::new(),
        })
        .await;
    assert!(matches!(refused, Err(BusError::Closed)));
    assert!(matches!(next(&mut rx).await, BusMessage::Events(_)));
    let end = tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("the stream ends after close");
    assert!(end.is_none());
}
