//! Fan-out: how a commit reaches every device that should see it.
//!
//! The store announces committed batches in commit order on its commit feed;
//! the publisher ([`publish`]) serialises each item once and puts the batch
//! on the bus; every node's dispatcher ([`dispatch`]) hands what the bus
//! brings to its [`hub::Hub`], which queues it on the local connections of
//! its recipients; each connection's [`stream::LogStream`] delivers it, or
//! reads the store when something was lost on the way.

pub mod hub;
pub mod stream;

use hub::Hub;
use natter_bus::{Bus, BusMessage, Notice};
use std::sync::Arc;

/// Forwards committed batches to the bus, in commit order, serialising each
/// event once.
pub async fn publish(
    mut feed: tokio::sync::mpsc::Receiver<natter_store::CommitBatch>,
    bus: Arc<dyn Bus>,
) {
    while let Some(batch) = feed.recv().await {
        let notices: Vec<Notice> = batch
            .iter()
            .filter_map(|c| {
                let encoded = stream::item_json(&c.item).and_then(|(_, json)| {
                    let variants = c
                        .variants
                        .iter()
                        .map(|(u, v)| stream::item_json(v).map(|(_, j)| (*u, j)))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((json, variants))
                });
                match encoded {
                    Ok((json, variants)) => Some(Notice {
                        item: c.item.clone(),
                        json,
                        cursor: c.position,
                        recipients: c.recipients.clone(),
                        variants,
                    }),
                    Err(e) => {
                        // Connections see it on their next read from the
                        // store.
                        tracing::error!(error = %e, "cannot serialise a log item");
                        None
                    }
                }
            })
            .collect();
        if let Err(e) = bus.publish(BusMessage::Events(Arc::new(notices))).await {
            tracing::warn!(error = %e, "bus publish failed; connections catch up from the store");
        }
    }
}

/// Hands bus messages to this node's connections.
pub async fn dispatch(mut sub: tokio::sync::mpsc::Receiver<BusMessage>, hub: Arc<Hub>) {
    while let Some(msg) = sub.recv().await {
        hub.dispatch(&msg);
    }
}
