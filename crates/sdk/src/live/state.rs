//! The live connection's state file: the cursor the application has
//! processed, the outbox and the receipts not yet sent, so that a process
//! can stop and resume. Typing indicators are not kept: they are dropped
//! while offline anyway.

use crate::error::Error;
use crate::live::outbox::OutboxEntry;
use crate::live::receipts::PendingReceipt;
use natter_proto::Cursor;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the state file holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SavedState {
    /// The last cursor handed to the application.
    #[serde(default)]
    pub(crate) cursor: Option<Cursor>,
    /// Messages not yet acknowledged.
    #[serde(default)]
    pub(crate) outbox: Vec<OutboxEntry>,
    /// Receipts asked for and not yet written to a socket, coalesced.
    /// Absent in files written before receipts existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) receipts: Vec<PendingReceipt>,
}

/// Reads the state file; a missing file is an empty state.
pub(crate) async fn load(path: &Path) -> Result<SavedState, Error> {
    match tokio::fs::read(path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| state_error(path, &e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SavedState::default()),
        Err(e) => Err(state_error(path, &e)),
    }
}

/// Writes the state file atomically: to a temporary file beside it, then
/// renamed over it, so a crash leaves the old or the new state, never half.
pub(crate) async fn save(path: &Path, state: &SavedState) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| state_error(path, &e))?;
    let tmp = temp_path(path);
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| state_error(&tmp, &e))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| state_error(path, &e))
}

/// `<path>.tmp`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

fn state_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::State {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{ClientId, ConversationId, ReceiptKind};

    #[tokio::test]
    async fn state_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.json");
        assert_eq!(load(&path).await.unwrap(), SavedState::default());
        let state = SavedState {
            cursor: Some(Cursor(42)),
            outbox: vec![OutboxEntry {
                conv: ConversationId::new(),
                client_id: ClientId::random(),
                text: "hello".into(),
            }],
            receipts: vec![PendingReceipt {
                conv: ConversationId::new(),
                kind: ReceiptKind::Read,
                seq: 9,
            }],
        };
        save(&path, &state).await.unwrap();
        assert_eq!(load(&path).await.unwrap(), state);
        assert!(!temp_path(&path).exists());
        // Overwriting works too.
        save(&path, &SavedState::default()).await.unwrap();
        assert_eq!(load(&path).await.unwrap(), SavedState::default());
    }

    #[tokio::test]
    async fn files_without_receipts_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.json");
        std::fs::write(&path, br#"{"cursor":"3","outbox":[]}"#).unwrap();
        let state = load(&path).await.unwrap();
        assert_eq!(state.cursor, Some(Cursor(3)));
        assert!(state.receipts.is_empty());
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(load(&path).await, Err(Error::State { .. })));
    }
}
