//! A file system whose power can be cut: a test tool for durability.
//!
//! [`PowerCut::mount`] serves a directory tree over FUSE. Programs using
//! the mount see every change at once (they read their own writes), but a
//! change reaches the *disk* only when they ask for it: `fsync` or
//! `fdatasync` of a file for its contents and size, `fsync` of a directory
//! for its entries (creates, renames, unlinks). [`PowerCut::cut`] is the
//! power failing: everything not yet on the disk is gone, and every call
//! on the mount fails with `EIO` from then on, so nothing written after the
//! cut can reach the disk either. [`PowerCut::unmount`] then writes what
//! the disk holds into the backing directory, where the next start of the
//! program under test (mounted again or not) finds it.
//!
//! The whole tree lives in memory while mounted, twice over (as programs
//! see it and as the disk holds it, see `model`), so it suits data
//! folders of tens of megabytes, not more. SQLite's shared-memory file
//! (`-shm`, mapped with `mmap`) works through the kernel's page cache like
//! any other file; it is never fsync'd, so it is lost at a cut, as SQLite
//! expects of it.
//!
//! Mounting needs `/dev/fuse` and either root (the kernel's `mount` call)
//! or the `fusermount3` helper of Debian's `fuse3` package. Depends on
//! `fuser` (pure Rust, no libfuse) and knows nothing of natter.

#![forbid(unsafe_code)]

mod fuse;
mod model;

pub use model::{CutMode, CutReport, Stats};

use fuse::PowerCutFs;
use fuser::{BackgroundSession, MountOption};
use model::Model;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A mounted power-cut file system. Dropping it without
/// [`PowerCut::unmount`] unmounts it and leaves the backing directory as it
/// was at mount.
pub struct PowerCut {
    model: Arc<Mutex<Model>>,
    /// The FUSE session; `None` once unmounted.
    session: Option<BackgroundSession>,
    backing: PathBuf,
    mountpoint: PathBuf,
}

impl std::fmt::Debug for PowerCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerCut")
            .field("backing", &self.backing)
            .field("mountpoint", &self.mountpoint)
            .finish()
    }
}

impl PowerCut {
    /// Mounts the tree under `backing` (files and directories only) on the
    /// empty directory `mountpoint`.
    pub fn mount(backing: &Path, mountpoint: &Path) -> io::Result<PowerCut> {
        let model = Arc::new(Mutex::new(Model::load(backing)?));
        let fs = PowerCutFs {
            model: model.clone(),
        };
        let mut config = fuser::Config::default();
        config.mount_options = vec![
            MountOption::FSName("powercut".into()),
            MountOption::Subtype("powercut".into()),
        ];
        let session = fuser::spawn_mount(fs, mountpoint, &config).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot mount a FUSE file system on {}: {e} (it needs /dev/fuse, and \
                     root or the fusermount3 of the fuse3 package)",
                    mountpoint.display()
                ),
            )
        })?;
        Ok(PowerCut {
            model,
            session: Some(session),
            backing: backing.to_owned(),
            mountpoint: mountpoint.to_owned(),
        })
    }

    /// Where it is mounted.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        // A panic inside a request leaves the model as it was between two
        // of its changes; for a test tool that is good enough to report.
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cuts the power: what no fsync covered is lost (or, with
    /// [`CutMode::Torn`], partly kept), and every later call on the mount
    /// fails with `EIO`. A second cut does nothing.
    pub fn cut(&self, mode: CutMode) -> CutReport {
        self.model().cut(mode)
    }

    /// Whether the power is still on.
    pub fn powered(&self) -> bool {
        self.model().powered()
    }

    /// What programs asked of the file system so far.
    pub fn stats(&self) -> Stats {
        self.model().stats()
    }

    /// Unmounts, and writes what the disk holds into the backing directory.
    /// With the power still on this is a clean unmount: everything is
    /// synced first, as the kernel does. Every program must have closed
    /// its files on the mount (killed ones included) or it fails as busy.
    pub fn unmount(mut self) -> io::Result<()> {
        if let Some(session) = self.session.take() {
            session.umount_and_join()?;
        }
        let mut model = self.model();
        model.sync_all();
        model.write_image(&self.backing)
    }
}

impl Drop for PowerCut {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            // Fail whatever is still using it rather than block the unmount.
            self.model().cut(CutMode::DropAll);
            drop(session);
        }
    }
}
