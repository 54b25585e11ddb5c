//! Accounts and tokens: username and password rules, Argon2id hashing (off
//! the async threads), signed access tokens, refresh tokens, and login
//! throttling (the throttling counters themselves are a cluster seam:
//! `cluster::RateLimit`).

use crate::config::AuthConfig;
use crate::error::{DomainError, Result};
use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use natter_proto::{DeviceId, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type HmacSha256 = Hmac<Sha256>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Normalises and checks a username: 3 to 32 of `a-z 0-9 _ . -`, starting
/// with a letter or digit. Usernames are case-insensitive (stored lowercase).
pub fn normalize_username(raw: &str) -> Result<String> {
    let name = raw.trim().to_lowercase();
    let ok_len = (USERNAME_CHARS.0..=USERNAME_CHARS.1).contains(&name.len());
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    let ok_start = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok_len && ok_chars && ok_start {
        Ok(name)
    } else {
        Err(DomainError::InvalidUsername)
    }
}

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "1234567890",
    "12345678910",
    "qwertyuiop",
    "qwerty1234",
    "qwerty123456",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "admin12345",
    "abc1234567",
    "0123456789",
    "1q2w3e4r5t",
    "passw0rd12",
    "changeme12",
];

/// Shortest and longest username, in characters (ASCII only).
pub const USERNAME_CHARS: (usize, usize) = (3, 32);

/// Shortest and longest password, in characters.
pub const PASSWORD_CHARS: (usize, usize) = (10, 256);

/// Checks a password: 10 to 256 characters, not one repeated character, not
/// the username, not a well-known password.
pub fn check_password(password: &str, username: &str) -> Result<()> {
    let weak = |m: &'static str| Err(DomainError::WeakPassword(m));
    let n = password.chars().count();
    if n < PASSWORD_CHARS.0 {
        return weak("passwords need at least 10 characters");
    }
    if n > PASSWORD_CHARS.1 {
        return weak("passwords have at most 256 characters");
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return weak("a password cannot be one repeated character");
    }
    let lower = password.to_lowercase();
    if lower.replace(username, "").chars().count() < 6 {
        return weak("a password cannot be mostly the username");
    }
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return weak("that password is too common");
    }
    Ok(())
}

/// One queued hash: its deadline, and the work, which is told whether it
/// should still run (false when its caller gave up or its deadline passed).
struct HashJob {
    deadline: Instant,
    /// True once the caller stopped waiting (its request was dropped).
    abandoned: Box<dyn Fn() -> bool + Send>,
    work: Box<dyn FnOnce(bool) + Send>,
}

/// Hashes and verifies passwords with Argon2id on a few dedicated threads.
///
/// Each hash needs `argon2_memory_kib` of memory (19 MiB by default). On the
/// shared blocking pool those allocations land in many threads' malloc
/// arenas and stay resident; on a fixed set of threads the same blocks are
/// reused, so hashing costs at most threads × memory.
///
/// The queue in front of them is bounded by time, not by count: a job is
/// refused at once (`unavailable`, with a retry time) when the work already
/// queued would take longer than `auth.hash_queue_ms` to get through; a job
/// whose caller has gone (a client that gave up) or whose deadline passed is
/// skipped, not computed. Nothing here ever waits on the blocking pool, so a
/// login flood cannot slow the store's reads. (It used to: 1,200 logins from
/// 20 addresses made a login take 93 s and `/v1/me` 1.5 s.)
#[derive(Clone)]
pub struct Passwords {
    inner: std::sync::Arc<Hasher>,
}

struct Hasher {
    jobs: std::sync::mpsc::Sender<HashJob>,
    params: Params,
    threads: usize,
    /// How long the queue may be, in time to get through it.
    budget: Duration,
    /// Jobs queued and not yet started.
    queued: AtomicUsize,
    /// A moving average of one hash's time, microseconds.
    cost_us: AtomicU64,
    /// Hashes computed (for tests and metrics).
    computed: AtomicU64,
    /// A hash of a random password, verified against when the account does
    /// not exist so that timing does not reveal which usernames exist.
    dummy: std::sync::OnceLock<String>,
}

impl Passwords {
    /// Builds the hasher from config, with up to four threads (one per
    /// core).
    pub fn new(cfg: &AuthConfig) -> Result<Self> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 4);
        Self::with_threads(cfg, threads)
    }

    /// Builds the hasher with `threads` hashing threads.
    pub fn with_threads(cfg: &AuthConfig, threads: usize) -> Result<Self> {
        let params = Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, 1, None)
            .map_err(DomainError::internal)?;
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let inner = std::sync::Arc::new(Hasher {
            jobs: tx,
            params,
            threads: threads.max(1),
            budget: Duration::from_millis(cfg.hash_queue_ms),
            queued: AtomicUsize::new(0),
            cost_us: AtomicU64::new(0),
            computed: AtomicU64::new(0),
            dummy: std::sync::OnceLock::new(),
        });
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..inner.threads {
            let rx = rx.clone();
            let weak = std::sync::Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name(format!("natter-argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is only held while waiting for a job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return }; // every sender is gone
                        // Counted off before the work, whose answer may
                        // wake the next request at once.
                        if let Some(h) = weak.upgrade() {
                            h.queued.fetch_sub(1, Ordering::AcqRel);
                        }
                        let run = !(job.abandoned)() && Instant::now() < job.deadline;
                        (job.work)(run);
                    }
                })
                .map_err(DomainError::internal)?;
        }
        let this = Self { inner };
        // Made on a hashing thread, so no other thread keeps Argon2 memory;
        // its time is the first estimate of a hash's cost.
        let (tx, rx) = std::sync::mpsc::channel();
        let hasher = this.clone();
        this.inner
            .jobs
            .send(HashJob {
                deadline: Instant::now() + Duration::from_secs(3600),
                abandoned: Box::new(|| false),
                work: Box::new(move |_| {
                    let _ = tx.send(hasher.hash_now(&random_token(16)));
                }),
            })
            .map_err(|_| DomainError::internal("password hashing threads did not start"))?;
        this.inner.queued.fetch_add(1, Ordering::AcqRel);
        let dummy = rx
            .recv()
            .map_err(|_| DomainError::internal("password hashing thread failed"))??;
        let _ = this.inner.dummy.set(dummy);
        Ok(this)
    }

    /// Hashes computed since start.
    pub fn computed(&self) -> u64 {
        self.inner.computed.load(Ordering::Relaxed)
    }

    fn hash_now(&self, password: &str) -> Result<String> {
        let started = Instant::now();
        let params = &self.inner.params;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut out = [0u8; 32];
        argon2_raw(params, password.as_bytes(), &salt, &mut out).map_err(DomainError::internal)?;
        self.measured(started);
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(out)
        ))
    }

    /// Folds one hash's time into the estimate (an average over about the
    /// last eight).
    fn measured(&self, started: Instant) {
        let us = started.elapsed().as_micros().min(u64::MAX as u128) as u64;
        let h = &self.inner;
        h.computed.fetch_add(1, Ordering::Relaxed);
        let old = h.cost_us.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        h.cost_us.store(new.max(1), Ordering::Relaxed);
    }

    /// Checks a password against a PHC string (whatever its parameters).
    fn verify_now(&self, password: &str, phc: &str) -> Result<bool> {
        let started = Instant::now();
        let parsed = PasswordHash::new(phc).map_err(DomainError::internal)?;
        let params = Params::try_from(&parsed).map_err(DomainError::internal)?;
        let mut salt_buf = [0u8; 64];
        let salt = parsed
            .salt
            .ok_or_else(|| DomainError::internal("stored hash has no salt"))?
            .decode_b64(&mut salt_buf)
            .map_err(DomainError::internal)?;
        let expected = parsed
            .hash
            .ok_or_else(|| DomainError::internal("stored hash has no output"))?;
        let mut out = vec![0u8; expected.len()];
        argon2_raw(&params, password.as_bytes(), salt, &mut out).map_err(DomainError::internal)?;
        self.measured(started);
        // Constant-time comparison.
        let diff = out
            .iter()
            .zip(expected.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        Ok(diff == 0)
    }

    /// Runs `f` on a hashing thread, or refuses at once when the queue is
    /// longer than the time budget.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let h = &self.inner;
        let queued = h.queued.load(Ordering::Acquire) as u64;
        let cost = Duration::from_micros(h.cost_us.load(Ordering::Relaxed));
        // Time until a new job would start: every queued job, shared by the
        // threads.
        let wait = cost * ((queued + 1).div_ceil(h.threads as u64)) as u32;
        if queued > 0 && wait > h.budget {
            return Err(DomainError::Overloaded {
                what: "too many logins are waiting for a password check; retry shortly",
                retry_after: wait.as_secs().clamp(1, 60),
            });
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<Option<T>>();
        let gone = std::sync::Arc::new(std::sync::OnceLock::<()>::new());
        // The receiver is dropped with the request when the client goes.
        let abandoned = {
            let gone = gone.clone();
            Box::new(move || gone.get().is_some()) as Box<dyn Fn() -> bool + Send>
        };
        let job = HashJob {
            deadline: Instant::now() + h.budget.max(Duration::from_millis(1)) * 2,
            abandoned,
            work: Box::new(move |run| {
                let _ = tx.send(run.then(f));
            }),
        };
        h.queued.fetch_add(1, Ordering::AcqRel);
        if h.jobs.send(job).is_err() {
            h.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(DomainError::Unavailable("password hashing is stopped"));
        }
        let _mark_gone_if_dropped = GoneOnDrop(gone);
        match rx.await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(DomainError::Overloaded {
                what: "the password check waited too long; retry shortly",
                retry_after: 1,
            }),
            Err(_) => Err(DomainError::internal("password hashing thread failed")),
        }
    }

    /// The PHC string of a new hash.
    pub async fn hash(&self, password: String) -> Result<String> {
        let this = self.clone();
        self.run(move || this.hash_now(&password)).await?
    }

    /// True when `password` matches `phc`; with `None` it burns the same
    /// time and returns false.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool> {
        let this = self.clone();
        self.run(move || {
            let known = phc.is_some();
            let phc = match phc {
                Some(p) => p,
                None => this.inner.dummy.get().cloned().unwrap_or_default(),
            };
            let ok = this.verify_now(&password, &phc)?;
            Ok(known && ok)
        })
        .await?
    }
}

/// Marks a queued job abandoned when the future waiting for it is dropped
/// (its request went away), so the hashing thread skips it.
struct GoneOnDrop(std::sync::Arc<std::sync::OnceLock<()>>);

impl Drop for GoneOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set(());
    }
}

thread_local! {
    /// Argon2's working memory, kept per hashing thread and reused, so each
    /// hash does not allocate (and fragment) `m_cost` KiB anew.
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Raw Argon2id with the calling thread's reusable memory.
fn argon2_raw(
    params: &Params,
    pwd: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    ARGON2_BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        let need = params.block_count();
        if blocks.len() != need {
            blocks.clear();
            blocks.shrink_to_fit();
            blocks.resize(need, argon2::Block::default());
        }
        argon.hash_password_into_with_memory(pwd, salt, out, &mut blocks[..])
    })
}

/// `n` random bytes, base64url.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new refresh token.
pub fn new_refresh_token() -> String {
    format!("r1.{}", random_token(32))
}

/// Who an access token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The user.
    pub user: UserId,
    /// The device session.
    pub device: DeviceId,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// Signs and checks access tokens: `v1.<payload>.<mac>`, where the payload
/// is user id, device id and expiry, and the mac is HMAC-SHA256 with the
/// server's secret.
#[derive(Clone)]
pub struct Tokens {
    secret: Vec<u8>,
    ttl: Duration,
}

impl Tokens {
    /// A signer with `secret` issuing tokens valid for `ttl`.
    pub fn new(secret: Vec<u8>, ttl: Duration) -> Self {
        Self { secret, ttl }
    }

    /// Lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(data);
        mac
    }

    /// The signature of a media URL: an HMAC over a label of its own (so
    /// it can never pass for an access token), the upload, the user it is
    /// issued to and the expiry, as 64 hex digits.
    pub fn sign_media(
        &self,
        upload: &natter_proto::UploadId,
        user: &UserId,
        exp_ms: i64,
    ) -> String {
        self.mac(&media_claim(upload, user, exp_ms))
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `sig` signs the media URL of `upload` for `user` until
    /// `exp_ms` (in constant time).
    pub fn verify_media(
        &self,
        upload: &natter_proto::UploadId,
        user: &UserId,
        exp_ms: i64,
        sig: &str,
    ) -> bool {
        let Some(bytes) = (0..sig.len())
            .step_by(2)
            .map(|i| {
                sig.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        self.mac(&media_claim(upload, user, exp_ms))
            .verify_slice(&bytes)
            .is_ok()
    }

    /// A token for this device session.
    pub fn issue(&self, user: UserId, device: DeviceId) -> String {
        let exp = (now_ms() / 1000) as u64 + self.ttl.as_secs();
        let mut payload = Vec::with_capacity(40);
        payload.extend_from_slice(user.as_bytes());
        payload.extend_from_slice(device.as_bytes());
        payload.extend_from_slice(&exp.to_be_bytes());
        let head = format!("v1.{}", URL_SAFE_NO_PAD.encode(&payload));
        let sig = self.mac(head.as_bytes()).finalize().into_bytes();
        format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// The refresh token that replaces `presented`: derived from it with the
    /// server's key, so a client that retries a refresh whose answer it lost
    /// is answered the same successor (the store accepts such a retry only
    /// within the grace and while the successor is unused), while nobody
    /// without the key can predict it.
    pub fn refresh_successor(&self, presented: &str) -> String {
        let mut mac = self.mac(b"natter refresh successor v1\0");
        mac.update(presented.as_bytes());
        format!("r1.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// Checks signature and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let invalid = || DomainError::TokenInvalid("invalid access token");
        if token.len() > 200 {
            return Err(invalid());
        }
        let (head, sig) = token.rsplit_once('.').ok_or_else(invalid)?;
        let payload = head.strip_prefix("v1.").ok_or_else(invalid)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| invalid())?;
        self.mac(head.as_bytes())
            .verify_slice(&sig)
            .map_err(|_| invalid())?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        if payload.len() != 40 {
            return Err(invalid());
        }
        let mut u = [0u8; 16];
        let mut d = [0u8; 16];
        let mut e = [0u8; 8];
        u.copy_from_slice(&payload[..16]);
        d.copy_from_slice(&payload[16..32]);
        e.copy_from_slice(&payload[32..]);
        let claims = Claims {
            user: UserId::from_bytes(u),
            device: DeviceId::from_bytes(d),
            exp: u64::from_be_bytes(e),
        };
        if claims.exp <= (now_ms() / 1000) as u64 {
            return Err(DomainError::TokenExpired(
                "access token expired; refresh it",
            ));
        }
        Ok(claims)
    }
}

/// What a media URL signature covers: the upload, whom it was issued to
/// (so a download re-checks that they may still fetch it) and until when.
fn media_claim(upload: &natter_proto::UploadId, user: &UserId, exp_ms: i64) -> Vec<u8> {
    let mut data = b"natter media url v2\0".to_vec();
    data.extend_from_slice(upload.as_bytes());
    data.extend_from_slice(user.as_bytes());
    data.extend_from_slice(&exp_ms.to_be_bytes());
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(normalize_username(" Alice ").unwrap(), "alice");
        assert!(normalize_username("al").is_err());
        assert!(normalize_username("_alice").is_err());
        assert!(normalize_username("al ice").is_err());
        assert!(normalize_username(&"a".repeat(33)).is_err());
        assert!(normalize_username("a.b-c_1").is_ok());
    }

    #[test]
    fn passwords() {
        assert!(check_password("correct horse", "alice").is_ok());
        assert!(check_password("short", "alice").is_err());
        assert!(check_password("aaaaaaaaaaaa", "alice").is_err());
        assert!(check_password("alicealice1", "alice").is_err());
        assert!(check_password("Password123", "alice").is_err());
    }

    #[tokio::test]
    async fn password_hashes_verify_and_reject() {
        let cfg = AuthConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..AuthConfig::default()
        };
        let p = Passwords::new(&cfg).unwrap();
        let phc = p.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(
            p.verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !p.verify("wrong horse".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(!p.verify("correct horse".into(), None).await.unwrap());
        // Hashes made with other parameters still verify.
        let other = Passwords::new(&AuthConfig {
            argon2_memory_kib: 128,
            ..cfg
        })
        .unwrap();
        let old = other.hash("correct horse".into()).await.unwrap();
        assert!(p.verify("correct horse".into(), Some(old)).await.unwrap());
    }

    fn costly(hash_queue_ms: u64) -> AuthConfig {
        AuthConfig {
            argon2_memory_kib: 2048,
            argon2_iterations: 2,
            hash_queue_ms,
            ..AuthConfig::default()
        }
    }

    #[tokio::test]
    async fn a_queue_longer_than_its_time_budget_refuses_at_once() {
        let p = Passwords::with_threads(&costly(20), 1).unwrap();
        let phc = p.hash("correct horse".into()).await.unwrap();
        let tries = (0..200).map(|_| p.verify("correct horse".into(), Some(phc.clone())));
        let results = futures_util::future::join_all(tries).await;
        let shed: Vec<_> = results
            .iter()
            .filter_map(|r| match r {
                Err(DomainError::Overloaded { retry_after, .. }) => Some(*retry_after),
                _ => None,
            })
            .collect();
        let checked = results.iter().filter(|r| matches!(r, Ok(true))).count();
        assert!(checked >= 1, "the queue still takes work");
        assert!(shed.len() >= 100, "only {} of 200 shed", shed.len());
        assert!(shed.iter().all(|&s| (1..=60).contains(&s)), "{shed:?}");
        // Shed work is never computed: the dummy, the hash and the checks.
        assert_eq!(p.computed(), 2 + checked as u64);
    }

    #[tokio::test]
    async fn work_whose_caller_left_is_skipped() {
        let p = Passwords::with_threads(&costly(60_000), 1).unwrap();
        let before = p.computed();
        for _ in 0..50 {
            // One poll queues the job; the timeout then drops the request,
            // as a client that hangs up does.
            let gone = tokio::time::timeout(Duration::ZERO, p.verify("x".repeat(12), None)).await;
            assert!(gone.is_err());
        }
        assert!(!p.verify("x".repeat(12), None).await.unwrap());
        // Only jobs a thread took before their request was dropped ran (one
        // or two, however the scheduler interleaves); the rest were skipped.
        let ran = p.computed() - before;
        assert!(ran <= 5, "{ran} of 51 computed");
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let t = Tokens::new(b"secret".to_vec(), Duration::from_secs(60));
        let (u, d) = (UserId::new(), DeviceId::new());
        let tok = t.issue(u, d);
        let c = t.verify(&tok).unwrap();
        assert_eq!((c.user, c.device), (u, d));
        let other = Tokens::new(b"other".to_vec(), Duration::from_secs(60));
        assert!(matches!(
            other.verify(&tok),
            Err(DomainError::TokenInvalid(_))
        ));
        let mut bad = tok.clone();
        bad.insert(5, 'A');
        assert!(matches!(t.verify(&bad), Err(DomainError::TokenInvalid(_))));
        assert!(matches!(
            t.verify("garbage"),
            Err(DomainError::TokenInvalid(_))
        ));
        let expired = Tokens::new(b"secret".to_vec(), Duration::from_secs(0));
        let tok = expired.issue(u, d);
        assert!(matches!(t.verify(&tok), Err(DomainError::TokenExpired(_))));
    }
}
