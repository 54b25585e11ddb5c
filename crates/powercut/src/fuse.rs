//! The model served over FUSE: each request takes the model's lock, so a
//! power cut (which takes it too) falls between two requests, never inside
//! one: an fsync either reached the disk before the cut or fails after it.

use crate::model::{Attr, Errno, Ino, Kind, Model};
use fuser::{
    FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use std::ffi::OsStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// How long the kernel may cache names and attributes. Everything that
/// changes them goes through the kernel, so its cache never goes stale
/// while mounted; a short time bounds what a mistake here could hide.
const TTL: Duration = Duration::from_secs(1);

/// The FUSE face of a shared [`Model`].
pub(crate) struct PowerCutFs {
    pub(crate) model: Arc<Mutex<Model>>,
}

fn attr(a: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(a.ino),
        size: a.size,
        blocks: a.size.div_ceil(512),
        atime: a.atime,
        mtime: a.mtime,
        ctime: a.ctime,
        crtime: a.ctime,
        kind: match a.kind {
            Kind::File => FileType::RegularFile,
            Kind::Dir => FileType::Directory,
        },
        perm: a.perm,
        nlink: a.nlink,
        uid: a.uid,
        gid: a.gid,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

fn errno(e: Errno) -> fuser::Errno {
    fuser::Errno::from_i32(e)
}

impl PowerCutFs {
    /// The model, or `EIO` if a panic poisoned it: a half-done change must
    /// not be served.
    fn lock(&self) -> Result<MutexGuard<'_, Model>, Errno> {
        self.model.lock().map_err(|_| libc::EIO)
    }

    fn entry(&self, reply: ReplyEntry, f: impl FnOnce(&mut Model) -> Result<Ino, Errno>) {
        let answer = self.lock().and_then(|mut m| {
            let ino = f(&mut m)?;
            m.attr(ino)
        });
        match answer {
            Ok(a) => reply.entry(&TTL, &attr(&a), Generation(0)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn empty(&self, reply: ReplyEmpty, f: impl FnOnce(&mut Model) -> Result<(), Errno>) {
        match self.lock().and_then(|mut m| f(&mut m)) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }
}

fn time(t: TimeOrNow) -> SystemTime {
    match t {
        TimeOrNow::SpecificTime(t) => t,
        TimeOrNow::Now => SystemTime::now(),
    }
}

impl Filesystem for PowerCutFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        self.entry(reply, |m| m.lookup(parent.0, name));
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.lock().and_then(|m| m.attr(ino.0)) {
            Ok(a) => reply.attr(&TTL, &attr(&a)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let answer = self.lock().and_then(|mut m| {
            let perm = mode.map(|mode| (mode & 0o7777) as u16);
            m.set_attr(ino.0, perm, (uid, gid), size)?;
            m.set_times(ino.0, atime.map(time), mtime.map(time))?;
            m.attr(ino.0)
        });
        match answer {
            Ok(a) => reply.attr(&TTL, &attr(&a)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc::S_IFMT != libc::S_IFREG {
            reply.error(fuser::Errno::EPERM);
            return;
        }
        let perm = (mode & !umask & 0o7777) as u16;
        self.entry(reply, |m| {
            m.create(parent.0, name, perm, (req.uid(), req.gid()), true)
        });
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        self.entry(reply, |m| {
            m.mkdir(parent.0, name, perm, req.uid(), req.gid())
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.empty(reply, |m| m.unlink(parent.0, name));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.empty(reply, |m| m.rmdir(parent.0, name));
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.intersects(RenameFlags::RENAME_EXCHANGE | RenameFlags::RENAME_WHITEOUT) {
            reply.error(fuser::Errno::EINVAL);
            return;
        }
        let noreplace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        self.empty(reply, |m| {
            m.rename((parent.0, name), (newparent.0, newname), noreplace)
        });
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let answer = self.lock().and_then(|mut m| {
            if m.attr(ino.0)?.kind == Kind::Dir {
                return Err(libc::EISDIR);
            }
            if flags.0 & libc::O_TRUNC != 0 {
                m.truncate(ino.0, 0)?;
            }
            Ok(())
        });
        match answer {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let perm = (mode & !umask & 0o7777) as u16;
        let answer = self.lock().and_then(|mut m| {
            let excl = flags & libc::O_EXCL != 0;
            let ino = m.create(parent.0, name, perm, (req.uid(), req.gid()), excl)?;
            if flags & libc::O_TRUNC != 0 {
                m.truncate(ino, 0)?;
            }
            m.attr(ino)
        });
        match answer {
            Ok(a) => reply.created(
                &TTL,
                &attr(&a),
                Generation(0),
                FileHandle(0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let mut model = match self.lock() {
            Ok(m) => m,
            Err(e) => return reply.error(errno(e)),
        };
        match model.read(ino.0, offset, size) {
            Ok(bytes) => reply.data(bytes),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.lock().and_then(|mut m| m.write(ino.0, offset, data)) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Closing a file makes nothing durable.
        self.empty(reply, |m| m.attr(ino.0).map(|_| ()));
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.empty(reply, |m| m.fsync(ino.0, datasync));
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let entries = match self.lock().and_then(|m| m.list(ino.0)) {
            Ok(entries) => entries,
            Err(e) => return reply.error(errno(e)),
        };
        let dots = [
            (".".into(), ino.0, Kind::Dir),
            ("..".into(), ino.0, Kind::Dir),
        ];
        for (i, (name, child, kind)) in dots
            .into_iter()
            .chain(entries)
            .enumerate()
            .skip(offset as usize)
        {
            let kind = match kind {
                Kind::File => FileType::RegularFile,
                Kind::Dir => FileType::Directory,
            };
            // The offset given is where the next call starts.
            if reply.add(INodeNo(child), i as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        self.empty(reply, |m| m.fsync_dir(ino.0));
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        if mode != 0 {
            reply.error(fuser::Errno::EOPNOTSUPP);
            return;
        }
        self.empty(reply, |m| m.allocate(ino.0, offset.saturating_add(length)));
    }
}
