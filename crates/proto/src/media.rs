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

/// What the server read from a file's content, as uploads and attachments
/// carry it (flattened into them); each field only when known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaDetails {
    /// Images: width in pixels, as shown (after the EXIF orientation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Images: height in pixels, as shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Images: a BlurHash placeholder to paint while the picture loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// A thumbnail exists (`MediaUrl::thumbnail_url`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub thumbnail: bool,
    /// Images: more than one frame (an animated GIF or WebP).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub animated: bool,
    /// Audio and video: how long it lasts, in milliseconds, when the
    /// server could read it or the uploader declared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A voice note (declared by the uploader).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub voice: bool,
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
    /// What the server read from the content (see [`MediaDetails`]).
    #[serde(flatten)]
    pub details: MediaDetails,
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
    /// What the server read from the content (see [`MediaDetails`]).
    #[serde(flatten)]
    pub details: MediaDetails,
}

impl Attachment {
    /// An attachment with nothing read from its content yet.
    pub fn plain(upload: UploadId, kind: MediaKind, mime: &str, size: u64) -> Self {
        Attachment {
            upload,
            kind,
            mime: mime.to_owned(),
            size,
            name: None,
            details: MediaDetails::default(),
        }
    }
}

/// `GET /v1/uploads/{id}/url`: a signed download URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUrl {
    /// The URL, relative to the server (`/v1/media/{id}?exp=…&sig=…`); it
    /// needs no token.
    pub url: String,
    /// When it stops working, ms since the epoch.
    pub expires_at: i64,
    /// The thumbnail's URL (a JPEG at most 320 pixels on its longer
    /// side), when the upload has one; it expires with `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

/// `PUT /v1/me/avatar` and `PUT /v1/conversations/{id}/avatar`: make a
/// picture I uploaded the avatar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAvatar {
    /// One of my complete image uploads.
    pub upload: UploadId,
}

/// The answer to [`SetAvatar`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AvatarInfo {
    /// The avatar's id (`/v1/avatars/{avatar}?size=small|large`).
    pub avatar: String,
}

/// The query of `GET /v1/conversations/{id}/media`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MediaQuery {
    /// Only this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MediaKind>,
    /// Only messages before this seq (a `next` from the page before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// Most messages in the page: 1 to 100, 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One attachment in a conversation's media.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    /// The message's seq.
    pub seq: u64,
    /// Who sent it.
    pub sender: crate::UserId,
    /// When, ms since the epoch.
    pub ts: i64,
    /// The attachment.
    pub attachment: Attachment,
}

/// `GET /v1/conversations/{id}/media`: attachments, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPage {
    /// The attachments of the page's messages (a message's in its order).
    pub items: Vec<MediaItem>,
    /// Pass as `before` for older ones; absent at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Most attachments one message carries.
pub const MAX_ATTACHMENTS: usize = 10;
