//! The file system itself, without FUSE: every inode twice over, as the
//! programs using it see it and as the disk holds it.
//!
//! What programs see changes with every call. What the disk holds changes
//! only when a program asks for it: `fsync` (or `fdatasync`) of a file
//! copies that file's contents and size to the disk, `fsync` of a
//! directory copies that directory's entries. A power cut throws away the
//! first view and keeps the second. This is the strict POSIX reading of
//! durability (the `fsync(2)` manual: "Calling fsync() does not necessarily
//! ensure that the entry in the directory containing the file has also
//! reached disk. For that an explicit fsync() on a file descriptor for the
//! directory is also needed"): a file created, written and fsync'd but
//! whose directory was never fsync'd is gone after the cut, and so is a
//! rename or an unlink that was not followed by an fsync of its directory.
//!
//! Nothing here does I/O except [`Model::load`] and [`Model::write_image`],
//! which read the backing directory at mount and write the disk's view
//! into it at unmount; so the model can be tested without mounting.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An inode number. 1 is the root, as FUSE expects.
pub type Ino = u64;

/// The root directory's inode.
pub const ROOT: Ino = 1;

/// An errno value, for the FUSE side to answer with.
pub type Errno = i32;

/// The size of a page of the disk's cache: the unit in which a torn cut
/// keeps or drops pending writes.
const PAGE: u64 = 4096;

/// What an inode holds: a file's bytes or a directory's entries.
#[derive(Clone, Debug)]
enum Body {
    File(Vec<u8>),
    Dir(BTreeMap<OsString, Ino>),
}

/// The kind of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// An inode's attributes as `stat` reports them.
#[derive(Clone, Copy, Debug)]
pub struct Attr {
    /// Its number.
    pub ino: Ino,
    /// File or directory.
    pub kind: Kind,
    /// Size in bytes (a directory's is its entry count).
    pub size: u64,
    /// Permission bits.
    pub perm: u16,
    /// Names that refer to it.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Last access.
    pub atime: SystemTime,
    /// Last change of contents.
    pub mtime: SystemTime,
    /// Last change of contents or attributes.
    pub ctime: SystemTime,
}

#[derive(Debug)]
struct Inode {
    perm: u16,
    uid: u32,
    gid: u32,
    nlink: u32,
    atime: SystemTime,
    mtime: SystemTime,
    ctime: SystemTime,
    /// What programs see.
    body: Body,
    /// Byte ranges of a file changed since its last fsync (writes, and
    /// what a size change added or removed). Copying just these to the
    /// disk keeps an fsync's cost in proportion to what it flushes.
    dirty: Vec<(u64, u64)>,
    /// What the disk holds: the permission bits it was created with or
    /// last fsync'd with, and its contents as of its last fsync.
    disk_perm: u16,
    disk: Body,
}

impl Inode {
    fn new(body: Body, perm: u16, uid: u32, gid: u32) -> Inode {
        let now = SystemTime::now();
        // A new inode is on the disk empty, with the mode it was created
        // with: creating it wrote both, and what reaches the disk later
        // depends on fsyncs. (Whether any name refers to it there depends
        // on its directory's fsync.)
        let disk = match &body {
            Body::File(_) => Body::File(Vec::new()),
            Body::Dir(_) => Body::Dir(BTreeMap::new()),
        };
        Inode {
            perm,
            uid,
            gid,
            nlink: 1,
            atime: now,
            mtime: now,
            ctime: now,
            body,
            dirty: Vec::new(),
            disk_perm: perm,
            disk,
        }
    }

    fn kind(&self) -> Kind {
        match self.body {
            Body::File(_) => Kind::File,
            Body::Dir(_) => Kind::Dir,
        }
    }

    fn mark_dirty(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        // Appends, the common case (a WAL), extend the last range.
        if let Some(last) = self.dirty.last_mut()
            && start <= last.1
            && end >= last.0
        {
            last.0 = last.0.min(start);
            last.1 = last.1.max(end);
            return;
        }
        self.dirty.push((start, end));
    }

    /// Copies the file's pending bytes and size to the disk.
    fn flush_file(&mut self) -> u64 {
        let (Body::File(now), Body::File(disk)) = (&self.body, &mut self.disk) else {
            return 0;
        };
        disk.resize(now.len(), 0);
        let len = now.len() as u64;
        let mut flushed = 0;
        for &(start, end) in &self.dirty {
            let end = end.min(len);
            if start < end {
                let (s, e) = (start as usize, end as usize);
                disk[s..e].copy_from_slice(&now[s..e]);
                flushed += end - start;
            }
        }
        self.dirty.clear();
        flushed
    }
}

/// What the disk does with writes that no fsync covered when the power
/// goes.
#[derive(Clone, Copy, Debug)]
pub enum CutMode {
    /// It loses all of them: the model the durability promise is stated in.
    DropAll,
    /// It had already written some pages back on its own, in no particular
    /// order: each pending 4 KiB page of a file survives or not by a coin
    /// toss drawn from `seed`, and a page past the file's end on disk
    /// extends it. Directory entries are still kept only by an fsync of
    /// their directory, and a pending truncation is lost.
    Torn {
        /// Seed of the coin tosses.
        seed: u64,
    },
}

/// What a power cut threw away.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CutReport {
    /// Bytes written or resized in files since their last fsync (the whole
    /// pending amount, before a torn cut kept some of it).
    pub pending_bytes: u64,
    /// Files that had pending bytes.
    pub pending_files: u64,
    /// Pages a torn cut wrote to the disk anyway.
    pub pages_kept: u64,
    /// Directories whose entries differed from the disk's.
    pub pending_dirs: u64,
}

/// Counts of what the file system was asked to do while powered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `write` calls.
    pub writes: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// `fsync` and `fdatasync` calls on files.
    pub fsyncs: u64,
    /// `fsync` calls on directories.
    pub dir_fsyncs: u64,
    /// Bytes that fsyncs copied to the disk.
    pub bytes_flushed: u64,
}

/// The whole file system: every inode, both views.
#[derive(Debug)]
pub struct Model {
    /// Indexed by `ino - 1`. Inodes are never reused or freed while
    /// mounted: the disk's view may still name an inode that programs have
    /// unlinked, and the files natter makes are few.
    inodes: Vec<Inode>,
    powered: bool,
    stats: Stats,
}

/// `Err` of the current errno-style calls.
type R<T> = std::result::Result<T, Errno>;

impl Model {
    /// An empty file system (root owned by `uid`/`gid`).
    pub fn empty(uid: u32, gid: u32) -> Model {
        Model {
            inodes: vec![Inode::new(Body::Dir(BTreeMap::new()), 0o755, uid, gid)],
            powered: true,
            stats: Stats::default(),
        }
    }

    /// Reads the tree under `backing` as the disk's (and so the programs')
    /// starting view. Only regular files and directories may be there.
    pub fn load(backing: &Path) -> io::Result<Model> {
        let meta = std::fs::metadata(backing)?;
        let mut model = Model::empty(meta.uid(), meta.gid());
        let root = &mut model.inodes[0];
        root.perm = (meta.mode() & 0o7777) as u16;
        root.disk_perm = root.perm;
        model.load_dir(backing, ROOT)?;
        Ok(model)
    }

    fn load_dir(&mut self, dir: &Path, ino: Ino) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path)?;
            let perm = (meta.mode() & 0o7777) as u16;
            let body = if meta.is_dir() {
                Body::Dir(BTreeMap::new())
            } else if meta.is_file() {
                Body::File(std::fs::read(&path)?)
            } else {
                return Err(io::Error::other(format!(
                    "{}: only files and directories can be mounted",
                    path.display()
                )));
            };
            let mut inode = Inode::new(body, perm, meta.uid(), meta.gid());
            inode.disk = inode.body.clone();
            let child = self.push(inode);
            self.entries_mut(ino)
                .map_err(io::Error::from_raw_os_error)?
                .insert(entry.file_name(), child);
            if meta.is_dir() {
                self.load_dir(&path, child)?;
            }
        }
        let node = self.node_mut(ino).map_err(io::Error::from_raw_os_error)?;
        node.disk = node.body.clone();
        Ok(())
    }

    /// Replaces what is under `backing` with the disk's view.
    pub fn write_image(&self, backing: &Path) -> io::Result<()> {
        for entry in std::fs::read_dir(backing)? {
            let path = entry?.path();
            if std::fs::symlink_metadata(&path)?.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        let mut written = HashMap::new();
        let mut path_inos = vec![ROOT];
        self.write_dir(backing, ROOT, &mut written, &mut path_inos)?;
        let root = &self.inodes[0];
        std::fs::set_permissions(
            backing,
            std::fs::Permissions::from_mode(root.disk_perm.into()),
        )
    }

    fn write_dir(
        &self,
        dir: &Path,
        ino: Ino,
        written: &mut HashMap<Ino, PathBuf>,
        path_inos: &mut Vec<Ino>,
    ) -> io::Result<()> {
        let Body::Dir(entries) = &self.inodes[(ino - 1) as usize].disk else {
            return Ok(());
        };
        for (name, &child) in entries {
            let path = dir.join(name);
            let node = &self.inodes[(child - 1) as usize];
            match &node.disk {
                Body::File(bytes) => {
                    // Two names for one inode on the disk (a rename whose
                    // target directory was fsync'd but not its source) stay
                    // one inode.
                    if let Some(first) = written.get(&child) {
                        std::fs::hard_link(first, &path)?;
                        continue;
                    }
                    std::fs::write(&path, bytes)?;
                    std::fs::set_permissions(
                        &path,
                        std::fs::Permissions::from_mode(node.disk_perm.into()),
                    )?;
                    written.insert(child, path);
                }
                Body::Dir(_) => {
                    // A directory reached again through its own subtree
                    // (possible only after renames of directories fsync'd
                    // on one side) is written once.
                    if path_inos.contains(&child) || written.contains_key(&child) {
                        continue;
                    }
                    std::fs::create_dir(&path)?;
                    path_inos.push(child);
                    self.write_dir(&path, child, written, path_inos)?;
                    path_inos.pop();
                    std::fs::set_permissions(
                        &path,
                        std::fs::Permissions::from_mode(node.disk_perm.into()),
                    )?;
                    written.insert(child, path);
                }
            }
        }
        Ok(())
    }

    /// Whether the power is on. Every call fails with `EIO` once it is off.
    pub fn powered(&self) -> bool {
        self.powered
    }

    /// What the file system was asked to do so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Cuts the power: what programs see becomes what the disk holds, less
    /// whatever `mode` lets through, and every later call fails.
    pub fn cut(&mut self, mode: CutMode) -> CutReport {
        let mut report = CutReport::default();
        if !self.powered {
            return report;
        }
        self.powered = false;
        let mut coin = SplitMix(match mode {
            CutMode::DropAll => 0,
            CutMode::Torn { seed } => seed,
        });
        for node in &mut self.inodes {
            match (&node.body, &mut node.disk) {
                (Body::File(now), Body::File(disk)) => {
                    if node.dirty.is_empty() {
                        continue;
                    }
                    report.pending_files += 1;
                    for &(start, end) in &node.dirty {
                        report.pending_bytes += end - start;
                        if !matches!(mode, CutMode::Torn { .. }) {
                            continue;
                        }
                        let mut page = start / PAGE * PAGE;
                        while page < end {
                            let (s, e) = (page.max(start), (page + PAGE).min(end));
                            let e = e.min(now.len() as u64);
                            if s < e && coin.next() & 1 == 1 {
                                if (disk.len() as u64) < e {
                                    disk.resize(e as usize, 0);
                                }
                                disk[s as usize..e as usize]
                                    .copy_from_slice(&now[s as usize..e as usize]);
                                report.pages_kept += 1;
                            }
                            page += PAGE;
                        }
                    }
                }
                (Body::Dir(now), Body::Dir(disk)) if now != disk => {
                    report.pending_dirs += 1;
                }
                _ => {}
            }
            node.dirty.clear();
            node.body = node.disk.clone();
            node.perm = node.disk_perm;
        }
        report
    }

    /// Makes everything the programs see durable, as a clean unmount does.
    pub fn sync_all(&mut self) {
        if !self.powered {
            return;
        }
        for node in &mut self.inodes {
            node.flush_file();
            if let Body::Dir(now) = &node.body {
                node.disk = Body::Dir(now.clone());
            }
            node.disk_perm = node.perm;
        }
    }

    fn push(&mut self, inode: Inode) -> Ino {
        self.inodes.push(inode);
        self.inodes.len() as Ino
    }

    fn node(&self, ino: Ino) -> R<&Inode> {
        if !self.powered {
            return Err(libc::EIO);
        }
        ino.checked_sub(1)
            .and_then(|i| self.inodes.get(i as usize))
            .ok_or(libc::ENOENT)
    }

    fn node_mut(&mut self, ino: Ino) -> R<&mut Inode> {
        if !self.powered {
            return Err(libc::EIO);
        }
        ino.checked_sub(1)
            .and_then(|i| self.inodes.get_mut(i as usize))
            .ok_or(libc::ENOENT)
    }

    fn entries(&self, dir: Ino) -> R<&BTreeMap<OsString, Ino>> {
        match &self.node(dir)?.body {
            Body::Dir(entries) => Ok(entries),
            Body::File(_) => Err(libc::ENOTDIR),
        }
    }

    fn entries_mut(&mut self, dir: Ino) -> R<&mut BTreeMap<OsString, Ino>> {
        let node = self.node_mut(dir)?;
        node.mtime = SystemTime::now();
        node.ctime = node.mtime;
        match &mut node.body {
            Body::Dir(entries) => Ok(entries),
            Body::File(_) => Err(libc::ENOTDIR),
        }
    }

    fn bytes_mut(&mut self, ino: Ino) -> R<&mut Inode> {
        let node = self.node_mut(ino)?;
        match node.body {
            Body::File(_) => Ok(node),
            Body::Dir(_) => Err(libc::EISDIR),
        }
    }

    /// `stat`.
    pub fn attr(&self, ino: Ino) -> R<Attr> {
        let node = self.node(ino)?;
        let size = match &node.body {
            Body::File(bytes) => bytes.len() as u64,
            Body::Dir(entries) => entries.len() as u64,
        };
        Ok(Attr {
            ino,
            kind: node.kind(),
            size,
            perm: node.perm,
            nlink: node.nlink,
            uid: node.uid,
            gid: node.gid,
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
        })
    }

    /// The inode `name` in `dir` refers to.
    pub fn lookup(&self, dir: Ino, name: &OsStr) -> R<Ino> {
        self.entries(dir)?.get(name).copied().ok_or(libc::ENOENT)
    }

    /// The entries of `dir`, in name order.
    pub fn list(&self, dir: Ino) -> R<Vec<(OsString, Ino, Kind)>> {
        let entries = self.entries(dir)?;
        entries
            .iter()
            .map(|(name, &ino)| Ok((name.clone(), ino, self.node(ino)?.kind())))
            .collect()
    }

    fn add(&mut self, dir: Ino, name: &OsStr, inode: Inode) -> R<Ino> {
        if self.entries(dir)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        let ino = self.push(inode);
        self.entries_mut(dir)?.insert(name.to_owned(), ino);
        Ok(ino)
    }

    /// `mkdir`.
    pub fn mkdir(&mut self, dir: Ino, name: &OsStr, perm: u16, uid: u32, gid: u32) -> R<Ino> {
        self.add(
            dir,
            name,
            Inode::new(Body::Dir(BTreeMap::new()), perm, uid, gid),
        )
    }

    /// `open` with `O_CREAT`: the existing file (`EEXIST` with `excl`), or
    /// a new empty one.
    pub fn create(
        &mut self,
        dir: Ino,
        name: &OsStr,
        perm: u16,
        (uid, gid): (u32, u32),
        excl: bool,
    ) -> R<Ino> {
        match self.lookup(dir, name) {
            Ok(_) if excl => Err(libc::EEXIST),
            Ok(ino) => match self.node(ino)?.kind() {
                Kind::File => Ok(ino),
                Kind::Dir => Err(libc::EISDIR),
            },
            Err(libc::ENOENT) => self.add(
                dir,
                name,
                Inode::new(Body::File(Vec::new()), perm, uid, gid),
            ),
            Err(e) => Err(e),
        }
    }

    /// `chmod`, `chown` and `truncate`, whichever are given.
    pub fn set_attr(
        &mut self,
        ino: Ino,
        perm: Option<u16>,
        owner: (Option<u32>, Option<u32>),
        size: Option<u64>,
    ) -> R<()> {
        if let Some(size) = size {
            self.truncate(ino, size)?;
        }
        let node = self.node_mut(ino)?;
        if let Some(perm) = perm {
            node.perm = perm;
        }
        if let Some(uid) = owner.0 {
            node.uid = uid;
        }
        if let Some(gid) = owner.1 {
            node.gid = gid;
        }
        node.ctime = SystemTime::now();
        Ok(())
    }

    /// `utimes`, whichever times are given.
    pub fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<SystemTime>,
        mtime: Option<SystemTime>,
    ) -> R<()> {
        let node = self.node_mut(ino)?;
        if let Some(t) = atime {
            node.atime = t;
        }
        if let Some(t) = mtime {
            node.mtime = t;
        }
        Ok(())
    }

    /// Sets a file's length; what it adds reads as zeros.
    pub fn truncate(&mut self, ino: Ino, size: u64) -> R<()> {
        let node = self.bytes_mut(ino)?;
        let Body::File(bytes) = &mut node.body else {
            return Err(libc::EISDIR);
        };
        let old = bytes.len() as u64;
        let new = usize::try_from(size).map_err(|_| libc::EFBIG)?;
        bytes.resize(new, 0);
        node.mark_dirty(old.min(size), old.max(size));
        node.mtime = SystemTime::now();
        node.ctime = node.mtime;
        Ok(())
    }

    /// `fallocate` in its plain form: makes the file at least `end` long.
    pub fn allocate(&mut self, ino: Ino, end: u64) -> R<()> {
        let len = match &self.bytes_mut(ino)?.body {
            Body::File(bytes) => bytes.len() as u64,
            Body::Dir(_) => return Err(libc::EISDIR),
        };
        if end > len {
            self.truncate(ino, end)?;
        }
        Ok(())
    }

    /// `pread`.
    pub fn read(&mut self, ino: Ino, offset: u64, size: u32) -> R<&[u8]> {
        let node = self.bytes_mut(ino)?;
        node.atime = SystemTime::now();
        let Body::File(bytes) = &node.body else {
            return Err(libc::EISDIR);
        };
        let len = bytes.len() as u64;
        let start = offset.min(len);
        let end = offset.saturating_add(u64::from(size)).min(len);
        Ok(&bytes[start as usize..end as usize])
    }

    /// `pwrite`: pending until the file is fsync'd.
    pub fn write(&mut self, ino: Ino, offset: u64, data: &[u8]) -> R<u32> {
        let written = u32::try_from(data.len()).map_err(|_| libc::EINVAL)?;
        let node = self.bytes_mut(ino)?;
        let Body::File(bytes) = &mut node.body else {
            return Err(libc::EISDIR);
        };
        let end = offset.checked_add(data.len() as u64).ok_or(libc::EFBIG)?;
        let (start, end_us) = (
            usize::try_from(offset).map_err(|_| libc::EFBIG)?,
            usize::try_from(end).map_err(|_| libc::EFBIG)?,
        );
        if bytes.len() < end_us {
            bytes.resize(end_us, 0);
        }
        bytes[start..end_us].copy_from_slice(data);
        node.mark_dirty(offset, end);
        node.mtime = SystemTime::now();
        node.ctime = node.mtime;
        self.stats.writes += 1;
        self.stats.bytes_written += data.len() as u64;
        Ok(written)
    }

    /// `fsync` and `fdatasync` of a file: its bytes and size reach the
    /// disk; `fsync` also takes its permission bits. Its name does not: that
    /// is its directory's fsync.
    pub fn fsync(&mut self, ino: Ino, datasync: bool) -> R<()> {
        let node = self.node_mut(ino)?;
        let flushed = node.flush_file();
        if !datasync {
            node.disk_perm = node.perm;
        }
        if let Body::Dir(now) = &node.body {
            // An fsync that reaches a directory through a file handle
            // (FUSE sends `fsyncdir` for those opened as directories).
            node.disk = Body::Dir(now.clone());
        }
        self.stats.fsyncs += 1;
        self.stats.bytes_flushed += flushed;
        Ok(())
    }

    /// `fsync` of a directory: its entries, as they are now, reach the disk.
    pub fn fsync_dir(&mut self, ino: Ino) -> R<()> {
        let node = self.node_mut(ino)?;
        let Body::Dir(now) = &node.body else {
            return Err(libc::ENOTDIR);
        };
        node.disk = Body::Dir(now.clone());
        node.disk_perm = node.perm;
        self.stats.dir_fsyncs += 1;
        Ok(())
    }

    /// `unlink`.
    pub fn unlink(&mut self, dir: Ino, name: &OsStr) -> R<()> {
        let ino = self.lookup(dir, name)?;
        if self.node(ino)?.kind() == Kind::Dir {
            return Err(libc::EISDIR);
        }
        self.entries_mut(dir)?.remove(name);
        let node = self.node_mut(ino)?;
        node.nlink = node.nlink.saturating_sub(1);
        node.ctime = SystemTime::now();
        Ok(())
    }

    /// `rmdir`.
    pub fn rmdir(&mut self, dir: Ino, name: &OsStr) -> R<()> {
        let ino = self.lookup(dir, name)?;
        if !self.entries(ino)?.is_empty() {
            return Err(libc::ENOTEMPTY);
        }
        self.entries_mut(dir)?.remove(name);
        let node = self.node_mut(ino)?;
        node.nlink = 0;
        Ok(())
    }

    /// `rename`, replacing the target unless `noreplace`.
    pub fn rename(
        &mut self,
        (dir, name): (Ino, &OsStr),
        (new_dir, new_name): (Ino, &OsStr),
        noreplace: bool,
    ) -> R<()> {
        let ino = self.lookup(dir, name)?;
        let kind = self.node(ino)?.kind();
        self.entries(new_dir)?;
        if kind == Kind::Dir && self.is_within(new_dir, ino)? {
            return Err(libc::EINVAL);
        }
        match self.lookup(new_dir, new_name) {
            Ok(same) if same == ino => return Ok(()),
            Ok(_) if noreplace => return Err(libc::EEXIST),
            Ok(old) => match (kind, self.node(old)?.kind()) {
                (Kind::File, Kind::Dir) => return Err(libc::EISDIR),
                (Kind::Dir, Kind::File) => return Err(libc::ENOTDIR),
                (Kind::Dir, Kind::Dir) if !self.entries(old)?.is_empty() => {
                    return Err(libc::ENOTEMPTY);
                }
                _ => {
                    let node = self.node_mut(old)?;
                    node.nlink = node.nlink.saturating_sub(1);
                }
            },
            Err(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        self.entries_mut(dir)?.remove(name);
        self.entries_mut(new_dir)?.insert(new_name.to_owned(), ino);
        self.node_mut(ino)?.ctime = SystemTime::now();
        Ok(())
    }

    /// Whether `dir` is `ancestor` or below it (a directory cannot move
    /// into itself).
    fn is_within(&self, dir: Ino, ancestor: Ino) -> R<bool> {
        if dir == ancestor {
            return Ok(true);
        }
        let mut stack = vec![ancestor];
        while let Some(d) = stack.pop() {
            for &child in self.entries(d)?.values() {
                if child == dir {
                    return Ok(true);
                }
                if self.node(child)?.kind() == Kind::Dir {
                    stack.push(child);
                }
            }
        }
        Ok(false)
    }
}

/// A small seeded generator for a torn cut's coin tosses, so a cut can be
/// replayed from its seed without a dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
