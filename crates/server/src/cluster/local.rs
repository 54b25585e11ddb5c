//! The embedded deployment's implementations of the cluster seams: the
//! signing key in the data folder, and counters, presence and typing in
//! this process's memory.

use super::{KeySource, PresenceRegistry, RateLimit, TypingRegistry, TypingStart};
use crate::error::{DomainError, Result};
use natter_proto::{ConversationId, UserId};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The signing key in `token.key` of the data folder, made on first start.
pub struct DataDirKey {
    dir: PathBuf,
}

impl DataDirKey {
    /// The key of the data folder `dir`.
    pub fn new(dir: &Path) -> Self {
        DataDirKey {
            dir: dir.to_owned(),
        }
    }
}

impl KeySource for DataDirKey {
    fn load(&self) -> std::result::Result<Vec<u8>, String> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let dir = &self.dir;
        let io = |e: std::io::Error| format!("data folder {}: {e}", dir.display());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        let path = dir.join("token.key");
        // Anyone who can read the key can sign a token for any user.
        if let Ok(meta) = std::fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            return Err(format!(
                "{} can be read by other users (mode {:o}); make it private with `chmod 600 {}`",
                path.display(),
                meta.permissions().mode() & 0o777,
                path.display()
            ));
        }
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
            Ok(_) => Err(format!(
                "{} is shorter than 32 bytes; delete it to make a new one (this logs everyone out)",
                path.display()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
                // Written under another name and renamed, so a crash never
                // leaves a short key behind.
                let tmp = dir.join("token.key.tmp");
                let _ = std::fs::remove_file(&tmp);
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&tmp)
                    .map_err(io)?;
                std::io::Write::write_all(&mut file, &key).map_err(io)?;
                file.sync_all().map_err(io)?;
                std::fs::rename(&tmp, &path).map_err(io)?;
                // The rename is durable only once the folder is fsync'd:
                // a key lost to a power cut would refuse every access
                // token signed with it.
                std::fs::File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Fixed-window attempt counters keyed by account or address.
pub struct LocalRateLimit {
    limit: u32,
    window: Duration,
    counters: Mutex<HashMap<String, (Instant, u32)>>,
}

impl LocalRateLimit {
    /// `limit` attempts per `window` per key.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counters: Mutex::new(HashMap::new()),
        }
    }
}

impl RateLimit for LocalRateLimit {
    fn hit(&self, key: &str) -> Result<()> {
        let now = Instant::now();
        let mut map = self
            .counters
            .lock()
            .map_err(|_| DomainError::internal("rate limiter lock poisoned"))?;
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            // Rounded up: waiting exactly this long must be enough.
            return Err(DomainError::RateLimited(
                left.as_secs_f64().ceil().max(1.0) as u64
            ));
        }
        entry.1 += 1;
        Ok(())
    }

    fn reset(&self, key: &str) {
        if let Ok(mut map) = self.counters.lock() {
            map.remove(key);
        }
    }
}

/// One user's connections on this process.
#[derive(Debug)]
struct Presence {
    conns: usize,
    last_heard: Instant,
    online: bool,
    disconnected_at: Option<Instant>,
}

/// Who is connected to this process.
#[derive(Default)]
pub struct LocalPresence {
    users: Mutex<HashMap<UserId, Presence>>,
}

impl PresenceRegistry for LocalPresence {
    fn connect(&self, user: UserId) -> bool {
        let Ok(mut users) = self.users.lock() else {
            return false;
        };
        let now = Instant::now();
        let e = users.entry(user).or_insert(Presence {
            conns: 0,
            last_heard: now,
            online: false,
            disconnected_at: None,
        });
        e.conns += 1;
        e.last_heard = now;
        e.disconnected_at = None;
        let came_online = !e.online;
        e.online = true;
        came_online
    }

    fn heard(&self, user: UserId) -> bool {
        let Ok(mut users) = self.users.lock() else {
            return false;
        };
        let Some(e) = users.get_mut(&user) else {
            return false;
        };
        e.last_heard = Instant::now();
        let back = !e.online && e.conns > 0;
        e.online |= back;
        back
    }

    fn disconnect(&self, user: UserId) {
        if let Ok(mut users) = self.users.lock()
            && let Some(e) = users.get_mut(&user)
        {
            e.conns = e.conns.saturating_sub(1);
            if e.conns == 0 {
                e.disconnected_at = Some(Instant::now());
            }
        }
    }

    fn is_online(&self, user: UserId) -> bool {
        self.users
            .lock()
            .map(|u| u.get(&user).is_some_and(|e| e.online))
            .unwrap_or(false)
    }

    fn sweep(&self, timeout: Duration, grace: Duration) -> Vec<UserId> {
        let Ok(mut users) = self.users.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut gone = Vec::new();
        users.retain(|user, e| {
            let silent = now.duration_since(e.last_heard) >= timeout;
            let left = e
                .disconnected_at
                .is_some_and(|at| now.duration_since(at) >= grace);
            if e.online && (silent || left) {
                e.online = false;
                gone.push(*user);
            }
            // Forget users with no connection once they are offline.
            e.online || e.conns > 0
        });
        gone
    }
}

/// One live indicator.
struct Indicator {
    expires: Instant,
    last_sent: Instant,
}

/// Who is typing where, in this process.
#[derive(Default)]
pub struct LocalTyping {
    active: Mutex<HashMap<(ConversationId, UserId), Indicator>>,
}

impl TypingRegistry for LocalTyping {
    fn start(
        &self,
        conv: ConversationId,
        user: UserId,
        ttl: Duration,
        min: Duration,
    ) -> TypingStart {
        let key = (conv, user);
        let Ok(mut map) = self.active.lock() else {
            return TypingStart::Absorbed;
        };
        let now = Instant::now();
        match map.get_mut(&key) {
            Some(e) if now.duration_since(e.last_sent) < min => {
                e.expires = now + ttl;
                TypingStart::Absorbed
            }
            Some(e) => {
                e.expires = now + ttl;
                e.last_sent = now;
                TypingStart::Announce
            }
            None => {
                map.insert(
                    key,
                    Indicator {
                        expires: now + ttl,
                        last_sent: now,
                    },
                );
                TypingStart::Announce
            }
        }
    }

    fn stop(&self, conv: ConversationId, user: UserId) -> bool {
        let key = (conv, user);
        self.active
            .lock()
            .map(|mut m| m.remove(&key).is_some())
            .unwrap_or(false)
    }

    fn expired(&self) -> Vec<(ConversationId, UserId)> {
        let Ok(mut map) = self.active.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let gone: Vec<_> = map
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in &gone {
            map.remove(k);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_counts_per_key() {
        let l = LocalRateLimit::new(2, Duration::from_secs(60));
        assert!(l.hit("a").is_ok());
        assert!(l.hit("a").is_ok());
        match l.hit("a") {
            Err(DomainError::RateLimited(secs)) => assert!(secs >= 1),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        assert!(l.hit("b").is_ok());
        l.reset("a");
        assert!(l.hit("a").is_ok());
    }

    #[test]
    fn the_key_is_made_once_kept_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("natter-key-{}", UserId::new()));
        let source = DataDirKey::new(&dir);
        let first = source.load().unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(source.load().unwrap(), first);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "a new data folder is private");
        let key = dir.join("token.key");
        assert_eq!(mode(&key), 0o600, "the key is private");
        // A key others can read is refused, not used.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = source.load().unwrap_err();
        assert!(refused.contains("chmod 600"), "{refused}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(source.load().unwrap(), first);
        std::fs::write(dir.join("token.key"), b"short").unwrap();
        assert!(source.load().unwrap_err().contains("shorter than 32 bytes"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn typing_refreshes_are_absorbed_and_stops_counted() {
        let t = LocalTyping::default();
        let (c, u) = (ConversationId::new(), UserId::new());
        let ttl = Duration::from_secs(5);
        let min = Duration::from_secs(60);
        assert_eq!(t.start(c, u, ttl, min), TypingStart::Announce);
        assert_eq!(t.start(c, u, ttl, min), TypingStart::Absorbed);
        assert!(t.stop(c, u));
        assert!(!t.stop(c, u));
    }
}
