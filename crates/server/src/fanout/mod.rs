//! Fan-out: how a commit reaches every device that should see it.
//!
//! The store announces committed batches in commit order on its commit feed;
//! the publisher ([`publish`]) serialises each item once, addresses it to a
//! conversation (or, for receipts, to a few users) and puts the batch on the
//! bus with its number in this node's sequence; every node's dispatcher
//! ([`dispatch`]) puts each publisher's batches back in order
//! ([`reorder::Reorder`]) and hands them to its [`hub::Hub`], which queues
//! them on the local connections of the members. Each connection's
//! `transport::stream::LogStream` delivers them, or reads the store when
//! something was lost on the way.

pub mod hub;
pub mod reorder;

use crate::error::{DomainError, Result};
use hub::Hub;
use natter_bus::{Audience, Batch, Bus, BusMessage, ItemKind, Notice, SourceId};
use natter_proto::LogItem;
use natter_store::{CommitBatch, Committed};
use reorder::Reorder;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How many batches of one publisher a dispatcher holds while it waits for
/// a missing one.
const REORDER_WINDOW: usize = 64;

/// How long a dispatcher waits for a missing batch before it sends every
/// connection to the store.
const REORDER_WAIT: Duration = Duration::from_millis(200);

/// Serialises one committed item and says who it is for.
fn notice(c: &Committed) -> Result<Notice> {
    let json = |item: &LogItem| -> Result<Arc<str>> {
        match item {
            LogItem::Event(e) => serde_json::to_string(e),
            LogItem::Receipt(r) => serde_json::to_string(r),
            LogItem::Membership(m) => serde_json::to_string(m),
            LogItem::Settings(s) => serde_json::to_string(s),
            LogItem::Report(r) => serde_json::to_string(r),
            LogItem::Personal(p) => serde_json::to_string(p),
            _ => return Err(DomainError::internal("unknown log item")),
        }
        .map(Arc::from)
        .map_err(DomainError::internal)
    };
    let full = json(&c.item)?;
    Ok(match c.item.as_ref() {
        LogItem::Membership(m) => Notice {
            position: c.position,
            kind: ItemKind::Membership,
            to: Audience::Member {
                conv: m.conv,
                user: m.user,
                json: full,
                joins: !c.joined.is_empty(),
            },
        },
        LogItem::Event(e) => Notice {
            position: c.position,
            kind: ItemKind::Event,
            to: Audience::Conversation {
                conv: e.conv,
                json: full,
                joined: c.joined.clone(),
                left: c.left.clone(),
            },
        },
        _ => {
            // Receipts go to a few users, some of whom see a masked copy.
            let mut to = Vec::with_capacity(c.recipients.len());
            for user in c.recipients.iter() {
                let seen = match c.variants.iter().find(|(u, _)| u == user) {
                    Some((_, variant)) => json(variant)?,
                    None => full.clone(),
                };
                to.push((*user, seen));
            }
            Notice {
                position: c.position,
                kind: match c.item.as_ref() {
                    LogItem::Settings(_) => ItemKind::Settings,
                    LogItem::Report(_) => ItemKind::Report,
                    LogItem::Personal(_) => ItemKind::Personal,
                    _ => ItemKind::Receipt,
                },
                to: Audience::Users(to),
            }
        }
    })
}

/// Forwards committed batches to the bus, in commit order, numbered 1, 2,
/// 3, … as this node's source.
pub async fn publish(mut feed: mpsc::Receiver<CommitBatch>, bus: Arc<dyn Bus>) {
    let source = SourceId::random();
    let mut seq = 0;
    while let Some(committed) = feed.recv().await {
        let mut complete = true;
        let notices = committed
            .iter()
            .filter_map(|c| match notice(c) {
                Ok(n) => Some(n),
                Err(e) => {
                    // Subscribers send their connections to the store,
                    // which has it.
                    tracing::error!(error = %e, "cannot serialise a log item");
                    complete = false;
                    None
                }
            })
            .collect();
        seq += 1;
        let batch = Batch {
            source,
            seq,
            notices,
            complete,
        };
        if let Err(e) = bus.publish(BusMessage::Events(Arc::new(batch))).await {
            tracing::warn!(error = %e, "bus publish failed; connections catch up from the store");
        }
    }
}

/// Hands bus messages to this node's connections, each publisher's batches
/// in their order.
pub async fn dispatch(mut sub: mpsc::Receiver<BusMessage>, hub: Arc<Hub>) {
    let mut order = Reorder::new(REORDER_WINDOW, REORDER_WAIT);
    loop {
        let msg = match order.deadline() {
            Some(at) => tokio::select! {
                msg = sub.recv() => msg,
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {
                    let out = order.expire(std::time::Instant::now());
                    deliver(&hub, out);
                    continue;
                }
            },
            None => sub.recv().await,
        };
        let Some(msg) = msg else { return };
        match msg {
            BusMessage::Events(batch) => {
                let out = order.accept(batch, std::time::Instant::now());
                deliver(&hub, out);
            }
            other => hub.dispatch(&other),
        }
    }
}

fn deliver(hub: &Hub, out: reorder::Released) {
    if out.lost {
        tracing::warn!("committed items never reached this node; every connection reads the store");
        hub.catch_up_all();
    }
    for batch in &out.ready {
        hub.dispatch_batch(batch);
    }
}
