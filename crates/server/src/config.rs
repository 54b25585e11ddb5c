//! Server configuration: one struct, read from TOML, environment and flags by
//! the binary, validated once at start and passed down.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the server can be told.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Folder for the database, the signing key and (later) media.
    pub data_dir: PathBuf,
    /// Limits on what clients may send.
    pub limits: Limits,
    /// Token lifetimes and login throttling.
    pub auth: AuthConfig,
    /// Live transports.
    pub gateway: GatewayConfig,
    /// Online status and last seen.
    pub presence: PresenceConfig,
    /// Typing indicators.
    pub typing: TypingConfig,
    /// The HTTP server: timeouts and connection limits.
    pub http: HttpConfig,
    /// Hooks for client authors' test suites. Never on in production.
    pub testing: TestingConfig,
    /// Uploads and where their bytes are kept.
    pub media: MediaConfig,
}

/// Uploads: size limits per kind, the per-user quota, and where the bytes
/// are kept (the local disk under the data folder, or an S3-compatible
/// service).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// `local` (under `<data_dir>/media`) or `s3` (the `s3_*` keys).
    pub backend: String,
    /// The S3-compatible service's endpoint, e.g. `https://s3.eu-west-1.amazonaws.com`.
    pub s3_endpoint: String,
    /// The bucket (it must exist).
    pub s3_bucket: String,
    /// The region.
    pub s3_region: String,
    /// The access key id.
    pub s3_access_key: String,
    /// The secret access key.
    pub s3_secret_key: String,
    /// Largest image, in bytes.
    pub max_image_bytes: u64,
    /// Largest video, in bytes.
    pub max_video_bytes: u64,
    /// Largest audio file (voice notes included), in bytes.
    pub max_audio_bytes: u64,
    /// Largest other file, in bytes. Also the largest `Upload-Length`
    /// accepted when an upload is created.
    pub max_file_bytes: u64,
    /// Bytes one user's uploads may take in all.
    pub quota_bytes: u64,
    /// Seconds an upload may stay without a message holding it (never
    /// attached, unfinished, or its messages deleted) before the garbage
    /// collector removes it, and its bytes when nothing else holds them.
    pub unattached_grace_secs: u64,
    /// Seconds between two runs of the garbage collector.
    pub gc_interval_secs: u64,
    /// Most pixels (width × height) a picture may have; a larger one is
    /// refused from its header, before anything is decoded (a "pixel
    /// flood" or a compression bomb).
    pub max_image_pixels: u64,
    /// Pictures processed (thumbnail, placeholder, avatar) at once.
    pub processing_workers: u32,
    /// Milliseconds a send waits for its pictures' processing, so the
    /// message carries their size, placeholder and thumbnail; past that it
    /// goes without them.
    pub processing_wait_ms: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
            max_image_bytes: 25 << 20,
            max_video_bytes: 100 << 20,
            max_audio_bytes: 25 << 20,
            max_file_bytes: 100 << 20,
            quota_bytes: 5 << 30,
            unattached_grace_secs: 24 * 3600,
            gc_interval_secs: 600,
            max_image_pixels: 50_000_000,
            processing_workers: 2,
            processing_wait_ms: 10_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            data_dir: PathBuf::from("natter-data"),
            limits: Limits::default(),
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            presence: PresenceConfig::default(),
            typing: TypingConfig::default(),
            http: HttpConfig::default(),
            testing: TestingConfig::default(),
            media: MediaConfig::default(),
        }
    }
}

/// The HTTP server's timeouts and connection limits (every transport passes
/// through them).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds a connection has to send a complete request header, counted
    /// from when it opens and again from the end of each response (so this
    /// is also the idle keep-alive timeout). At least 1.
    pub header_timeout_secs: u64,
    /// Seconds a request body has to arrive in full once its header has; a
    /// slower one is answered `request_timeout`. At least 1.
    pub body_timeout_secs: u64,
    /// Most connections held at once, of every kind; 0 means the process's
    /// open-file limit less `fd_reserve`. When the limit is reached, the
    /// connection that has waited longest without sending a request is closed
    /// to make room.
    pub max_connections: usize,
    /// Most connections held at once for one client address (WebSockets and
    /// event streams included); 0 means no cap.
    pub max_connections_per_address: usize,
    /// File descriptors kept free below the open-file limit for the database,
    /// logs and the listener itself.
    pub fd_reserve: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            max_connections: 0,
            max_connections_per_address: 512,
            fd_reserve: 128,
        }
    }
}

/// Hooks that let a client's test suite reach states that are otherwise rare
/// or slow to reach.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestingConfig {
    /// Serve `POST /v1/testing/resync`, which makes every cursor the caller
    /// holds need a resync (as log pruning will). Any signed-in user may call
    /// it for themselves; leave it off on a server people use.
    pub hooks: bool,
}

/// Online status and last seen: when a user counts as online, and who may see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PresenceConfig {
    /// A user whose devices have all been silent this long is offline. At
    /// least 100, and at least `gateway.heartbeat_secs` (in ms), or idle
    /// connections would look offline.
    pub timeout_ms: u64,
    /// After the last device disconnects, the user goes offline after this
    /// long (a quick reconnect does not flap).
    pub offline_grace_ms: u64,
    /// Presence is shared within direct conversations and groups of at most
    /// this many members, never in larger ones. At least 2.
    pub max_group_members: u64,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            offline_grace_ms: 3_000,
            max_group_members: 50,
        }
    }
}

/// Typing indicators.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TypingConfig {
    /// An indicator expires this long after its last refresh. At least 100,
    /// and above `min_interval_ms`.
    pub ttl_ms: u64,
    /// Refreshes closer together than this are absorbed (not sent on).
    pub min_interval_ms: u64,
    /// Typing is shown in conversations of at most this many members.
    pub max_group_members: u64,
}

impl Default for TypingConfig {
    fn default() -> Self {
        Self {
            ttl_ms: 6_000,
            min_interval_ms: 1_000,
            max_group_members: 100,
        }
    }
}

/// Size limits. Each is enforced with a typed error, never by truncating.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Longest message text, in bytes of UTF-8. At least 1.
    pub max_message_bytes: usize,
    /// Largest WebSocket frame or HTTP JSON body, in bytes. At least
    /// `max_message_bytes` + 1024, so the longest message fits in a frame.
    pub max_frame_bytes: usize,
    /// Most members a group may have. At least 2.
    pub max_group_members: usize,
    /// Messages one user may send per minute, over every device and
    /// conversation together; past it sends get `rate_limited` with the
    /// seconds to wait. At least 1.
    pub sends_per_minute: u32,
    /// Groups one user may create per hour. At least 1.
    pub group_creates_per_hour: u32,
    /// Groups one user may join with invite links per hour. At least 1.
    pub joins_per_hour: u32,
    /// Invitations one user may make per hour: each call adding members to
    /// a group, and each invite link made. At least 1.
    pub invites_per_hour: u32,
    /// How long after sending a sender may delete their own message for
    /// everyone, in seconds (moderators delete any message at any time).
    /// 0 turns deleting one's own messages off.
    pub delete_window_secs: u64,
    /// How long after sending a sender may edit their message, in seconds.
    /// 0 turns editing off.
    pub edit_window_secs: u64,
    /// In channels, reactions reach subscribers as coalesced counts: at
    /// most one `reaction_counts` event per channel this often, in
    /// milliseconds (at least 10).
    pub reaction_flush_ms: u64,
    /// Most pinned messages per conversation.
    pub max_pins: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024,
            max_frame_bytes: 64 * 1024,
            max_group_members: 1000,
            sends_per_minute: 6000,
            group_creates_per_hour: 100,
            joins_per_hour: 200,
            invites_per_hour: 200,
            delete_window_secs: 48 * 3600,
            edit_window_secs: 48 * 3600,
            reaction_flush_ms: 2000,
            max_pins: 50,
        }
    }
}

/// Token lifetimes, password hashing and login throttling.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Access token lifetime, seconds. At least 1.
    pub access_ttl_secs: u64,
    /// Refresh token lifetime, seconds (each refresh starts a new one). At
    /// least `access_ttl_secs`.
    pub refresh_ttl_secs: u64,
    /// Seconds after a refresh during which presenting the same refresh token
    /// again (a retry whose answer was lost) is answered with the same new
    /// refresh token instead of revoking the session, as long as that new
    /// token has not been used yet. 0 turns retries off.
    pub refresh_retry_grace_secs: u64,
    /// Login attempts allowed per account from one client address per window
    /// (other addresses keep theirs, so nobody can lock an owner out). At
    /// least 1.
    pub login_attempts_per_account: u32,
    /// Login and registration attempts allowed per client address per
    /// window. At least 1.
    pub login_attempts_per_address: u32,
    /// The throttling window, seconds. At least 1.
    pub login_window_secs: u64,
    /// Argon2id memory cost in KiB (19456 is OWASP's minimum). At least 8.
    pub argon2_memory_kib: u32,
    /// Argon2id passes. At least 1.
    pub argon2_iterations: u32,
    /// Most time, in ms, the password-hashing queue may hold: a login or
    /// registration that would wait longer is refused at once with
    /// `unavailable` and a retry time, and queued work whose deadline (twice
    /// this) passed or whose client left is skipped. At least 1.
    pub hash_queue_ms: u64,
    /// Failed and successful login attempts on one account, from all
    /// addresses together, per window, after which every further attempt on
    /// it waits `login_slowdown_ms` first: a flood from many addresses slows
    /// the account's logins but never locks its owner out. At least 1.
    pub login_slowdown_after: u32,
    /// The wait, in ms, of each login attempt on an account past
    /// `login_slowdown_after`.
    pub login_slowdown_ms: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            refresh_retry_grace_secs: 30,
            login_attempts_per_account: 10,
            login_attempts_per_address: 60,
            login_window_secs: 300,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            hash_queue_ms: 2_000,
            login_slowdown_after: 100,
            login_slowdown_ms: 1_000,
        }
    }
}

/// WebSocket, SSE and long-poll settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Seconds between server pings; a socket silent for twice this long is
    /// closed. At least 1.
    pub heartbeat_secs: u64,
    /// Seconds a new socket has to send `hello`. At least 1.
    pub hello_timeout_secs: u64,
    /// Live events queued per connection before it falls back to reading
    /// from the store. At least 1.
    pub queue: usize,
    /// Requests (`send`, `receipt`, `typing`) a socket may have in flight
    /// before the server stops reading it. At least 1.
    pub max_inflight_sends: usize,
    /// Seconds a write to a client may block before the connection is
    /// dropped as stuck. At least 1.
    pub write_timeout_secs: u64,
    /// Log entries per page when catching a device up. At least 1.
    pub sync_page: u32,
    /// Most seconds a long-poll may ask to wait; a longer `wait` is refused
    /// with `bad_request`. 0 allows only `wait=0` (answer at once).
    pub max_poll_wait_secs: u64,
    /// Most live connections (WebSocket and SSE together) held at once; more
    /// are refused with `unavailable`. At least 1.
    pub max_connections: usize,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            heartbeat_secs: 25,
            hello_timeout_secs: 10,
            queue: 64,
            max_inflight_sends: 64,
            write_timeout_secs: 30,
            sync_page: 200,
            max_poll_wait_secs: 60,
            max_connections: 50_000,
        }
    }
}

impl Config {
    /// Checks values that serde cannot; returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        match self.media.backend.as_str() {
            "local" => {}
            "s3" if self.media.s3_endpoint.is_empty() || self.media.s3_bucket.is_empty() => errs
                .push("media.backend = \"s3\" needs media.s3_endpoint and media.s3_bucket".into()),
            "s3" => {}
            other => errs.push(format!(
                "media.backend must be \"local\" or \"s3\", not {other:?}"
            )),
        }
        let l = &self.limits;
        if l.max_message_bytes == 0 {
            errs.push("limits.max_message_bytes must be at least 1".into());
        }
        // Checked sums: a huge value must be refused, not wrap into a pass.
        if l.max_message_bytes
            .checked_add(1024)
            .is_none_or(|least| l.max_frame_bytes < least)
        {
            errs.push(format!(
                "limits.max_frame_bytes ({}) must exceed limits.max_message_bytes ({}) by at least 1024",
                l.max_frame_bytes, l.max_message_bytes
            ));
        }
        if l.max_group_members < 2 {
            errs.push("limits.max_group_members must be at least 2".into());
        }
        if l.sends_per_minute == 0
            || l.group_creates_per_hour == 0
            || l.joins_per_hour == 0
            || l.invites_per_hour == 0
        {
            errs.push(
                "limits: sends_per_minute, group_creates_per_hour, joins_per_hour and invites_per_hour must be at least 1"
                    .into(),
            );
        }
        let a = &self.auth;
        if a.access_ttl_secs == 0 || a.refresh_ttl_secs < a.access_ttl_secs {
            errs.push(
                "auth: access_ttl_secs must be > 0 and refresh_ttl_secs >= access_ttl_secs".into(),
            );
        }
        if a.login_attempts_per_account == 0
            || a.login_attempts_per_address == 0
            || a.login_window_secs == 0
        {
            errs.push("auth: login limits and window must be at least 1".into());
        }
        if a.hash_queue_ms == 0 || a.login_slowdown_after == 0 {
            errs.push("auth: hash_queue_ms and login_slowdown_after must be at least 1".into());
        }
        if a.argon2_memory_kib < 8 || a.argon2_iterations == 0 {
            errs.push("auth: argon2_memory_kib must be >= 8 and argon2_iterations >= 1".into());
        }
        let g = &self.gateway;
        if g.heartbeat_secs == 0 || g.hello_timeout_secs == 0 || g.write_timeout_secs == 0 {
            errs.push(
                "gateway: heartbeat, hello and write timeouts must be at least 1 second".into(),
            );
        }
        if g.queue == 0 || g.max_inflight_sends == 0 || g.sync_page == 0 || g.max_connections == 0 {
            errs.push("gateway: queue, max_inflight_sends, sync_page and max_connections must be at least 1".into());
        }
        let h = &self.http;
        if h.header_timeout_secs == 0 || h.body_timeout_secs == 0 {
            errs.push("http: header_timeout_secs and body_timeout_secs must be at least 1".into());
        }
        let p = &self.presence;
        if p.timeout_ms < 100 || p.max_group_members < 2 {
            errs.push(
                "presence: timeout_ms must be at least 100 and max_group_members at least 2".into(),
            );
        }
        if g.heartbeat_secs
            .checked_mul(1000)
            .is_none_or(|least| p.timeout_ms < least)
        {
            errs.push(format!(
                "presence.timeout_ms ({}) must be at least gateway.heartbeat_secs ({}) in ms, or idle connections look offline",
                p.timeout_ms, g.heartbeat_secs
            ));
        }
        let t = &self.typing;
        if t.ttl_ms < 100 || t.min_interval_ms >= t.ttl_ms {
            errs.push("typing: ttl_ms must be at least 100 and above min_interval_ms".into());
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(Config::default().validate().is_ok());
        let mut c = Config::default();
        c.limits.max_frame_bytes = 10;
        c.gateway.queue = 0;
        let errs = c.validate().unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("max_frame_bytes"));
    }

    #[test]
    fn huge_values_are_refused_not_overflowed() {
        // Found by fuzzing: these overflowed inside validate() (a panic in
        // a debug build, a wrapped and wrongly passing check in release).
        let mut c = Config::default();
        c.limits.max_message_bytes = usize::MAX;
        c.limits.max_frame_bytes = usize::MAX;
        let errs = c.validate().unwrap_err();
        assert!(errs[0].contains("max_frame_bytes"), "{errs:?}");
        let mut c = Config::default();
        c.gateway.heartbeat_secs = u64::MAX;
        c.presence.timeout_ms = u64::MAX;
        let errs = c.validate().unwrap_err();
        assert!(errs[0].contains("presence.timeout_ms"), "{errs:?}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml_like("{\"listen\":\"127.0.0.1:1\",\"nope\":1}");
        assert!(err.is_err());
    }

    fn toml_like(json: &str) -> Result<Config, serde_json::Error> {
        serde_json::from_str(json)
    }
}
