//! Uploads: files sent to the server (resumably, with the tus 1.0
//! protocol) to be attached to messages.

use crate::ids::UploadId;
use serde::{Deserialize, Serialize};

/// What kind of media a file is, decided from its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// PNG, JPEG, GIF or WebP.
    Image,
    /// MP4, QuickTime or WebM.
    Video,
    /// Ogg, MP3, M4A, WAV or FLAC.
    Audio,
    /// Anything else that is not refused: shown as a file to download.
    File,
}

impl MediaKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::File => "file",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<MediaKind> {
        Some(match s {
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            "file" => MediaKind::File,
            _ => return None,
        })
    }
}

/// `GET /v1/uploads/{id}`: an upload and, once complete, what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    /// Its id.
    pub id: UploadId,
    /// Its length in bytes (`Upload-Length`).
    pub length: u64,
    /// How many bytes the server has (`Upload-Offset`).
    pub offset: u64,
    /// The file name given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True once every byte arrived and was checked.
    pub complete: bool,
    /// With `complete`: the kind found in the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MediaKind>,
    /// With `complete`: the media type found in the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// When it was created, ms since the epoch.
    pub created_at: i64,
}

/// An upload attached to a message, as the message carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The upload (ask `GET /v1/uploads/{id}/url` for a download URL).
    pub upload: UploadId,
    /// Its kind.
    pub kind: MediaKind,
    /// Its media type.
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its file name, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `GET /v1/uploads/{id}/url`: a signed download URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUrl {
    /// The URL, relative to the server (`/v1/media/{id}?exp=…&sig=…`); it
    /// needs no token.
    pub url: String,
    /// When it stops working, ms since the epoch.
    pub expires_at: i64,
}

/// Most attachments one message carries.
pub const MAX_ATTACHMENTS: usize = 10;
