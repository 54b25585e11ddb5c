//! Saved sessions: one JSON file per profile under the natter home.

use anyhow::Context;
use natter_proto::AuthSession;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `<home>/<profile>.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// The server this session belongs to.
    pub(crate) server: String,
    /// The device session, with the newest tokens.
    pub(crate) session: AuthSession,
}

/// Where one profile lives on disk.
#[derive(Clone, Debug)]
pub(crate) struct ProfileStore {
    /// The profile's name.
    pub(crate) name: String,
    /// The natter home directory.
    home: PathBuf,
}

impl ProfileStore {
    /// The store for profile `name` under `home` (or the default home:
    /// `$XDG_CONFIG_HOME/natter`, else `$HOME/.config/natter`).
    pub(crate) fn new(home: Option<&Path>, name: &str) -> anyhow::Result<ProfileStore> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || name.starts_with('.')
        {
            anyhow::bail!(
                "bad_request: a profile name is letters, digits, '-', '_' and '.', not starting with '.'"
            );
        }
        let home = match home {
            Some(h) => h.to_path_buf(),
            None => default_home()?,
        };
        Ok(ProfileStore {
            name: name.to_owned(),
            home,
        })
    }

    /// `<home>/<profile>.json`.
    pub(crate) fn path(&self) -> PathBuf {
        self.home.join(format!("{}.json", self.name))
    }

    /// `<home>/<profile>.live.json`: the live connection's cursor and outbox.
    pub(crate) fn live_state_path(&self) -> PathBuf {
        self.home.join(format!("{}.live.json", self.name))
    }

    /// `<home>/<profile>.uploads.json`: uploads begun and not finished,
    /// so that sending the same file again resumes them.
    pub(crate) fn uploads_path(&self) -> PathBuf {
        self.home.join(format!("{}.uploads.json", self.name))
    }

    /// The saved profile, if there is one.
    pub(crate) fn load(&self) -> anyhow::Result<Option<Profile>> {
        let path = self.path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .with_context(|| format!("cannot read {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Saves the profile atomically, readable by its owner only (it holds
    /// tokens).
    pub(crate) fn save(&self, profile: &Profile) -> anyhow::Result<()> {
        create_private_dir(&self.home)?;
        let path = self.path();
        let tmp = self.home.join(format!(".{}.json.tmp", self.name));
        let bytes = serde_json::to_vec_pretty(profile)?;
        write_private(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Forgets the session (after logout or revocation).
    pub(crate) fn remove(&self) -> anyhow::Result<()> {
        match std::fs::remove_file(self.path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove {}", self.path().display()))
            }
            _ => Ok(()),
        }
    }
}

fn default_home() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("natter"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("natter")),
        None => anyhow::bail!("bad_request: set --home, NATTER_HOME or HOME"),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_proto::{ClientId, DeviceId, UserId};

    #[test]
    fn profiles_round_trip_and_are_private() {
        let dir = std::env::temp_dir().join(format!("natter-cli-{}", ClientId::random()));
        let home = dir.join("natter");
        let store = ProfileStore::new(Some(&home), "work").unwrap();
        assert!(store.load().unwrap().is_none());
        let profile = Profile {
            server: "http://127.0.0.1:1".into(),
            session: AuthSession {
                user: UserId::new(),
                username: "alice".into(),
                device: DeviceId::new(),
                access_token: "a".into(),
                access_expires_in: 900,
                refresh_token: "r".into(),
            },
        };
        store.save(&profile).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.session.username, "alice");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
        store.remove().unwrap();
        store.remove().unwrap();
        assert!(store.load().unwrap().is_none());
        assert!(ProfileStore::new(Some(&home), "../x").is_err());
        assert!(ProfileStore::new(Some(&home), "").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
