//! The layer itself, through a real mount: a power cut loses what no fsync
//! covered and keeps what one did. Without these, a durability test run on
//! the layer could pass because the layer loses nothing.
//!
//! These tests need FUSE (`/dev/fuse`, and root or `fusermount3`); where it
//! is missing they fail, saying so, rather than pass untested.

use natter_powercut::{CutMode, PowerCut};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A backing directory and an empty mountpoint beside it.
struct Dirs {
    _tmp: tempfile::TempDir,
    backing: PathBuf,
    mnt: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().expect("temp dir");
    let backing = tmp.path().join("disk");
    let mnt = tmp.path().join("mnt");
    fs::create_dir(&backing).expect("backing dir");
    fs::create_dir(&mnt).expect("mountpoint");
    Dirs {
        _tmp: tmp,
        backing,
        mnt,
    }
}

fn mount(d: &Dirs) -> PowerCut {
    PowerCut::mount(&d.backing, &d.mnt).unwrap_or_else(|e| panic!("{e}"))
}

fn fsync_dir(dir: &Path) {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .unwrap_or_else(|e| panic!("fsync {}: {e}", dir.display()));
}

fn read(path: &Path) -> Option<String> {
    match fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => panic!("read {}: {e}", path.display()),
    }
}

#[test]
fn a_cut_loses_writes_no_fsync_covered_and_keeps_those_one_did() {
    let d = dirs();
    fs::write(d.backing.join("old"), "on disk").unwrap();
    let pc = mount(&d);
    let m = pc.mountpoint().to_owned();

    // Overwritten in place, never fsync'd.
    fs::write(m.join("old"), "changed in the cache").unwrap();
    // Created, written, fsync'd, and its directory fsync'd: durable.
    let mut kept = File::create(m.join("kept")).unwrap();
    kept.write_all(b"fsync'd").unwrap();
    kept.sync_all().unwrap();
    // Its data fsync'd before the directory's fsync gave it its name.
    let mut named_later = File::create(m.join("named_later")).unwrap();
    named_later.write_all(b"synced, then named").unwrap();
    named_later.sync_data().unwrap();
    fsync_dir(&m);
    // Created after the directory's fsync, data fsync'd only: no name.
    let mut late = File::create(m.join("late")).unwrap();
    late.write_all(b"after the dir fsync").unwrap();
    late.sync_all().unwrap();
    // Appended after the fsync: the append is pending.
    kept.write_all(b" and more").unwrap();

    // Programs read their own writes while the power is on.
    assert_eq!(
        read(&m.join("old")).as_deref(),
        Some("changed in the cache")
    );
    assert_eq!(read(&m.join("kept")).as_deref(), Some("fsync'd and more"));
    assert_eq!(
        read(&m.join("late")).as_deref(),
        Some("after the dir fsync")
    );

    let report = pc.cut(CutMode::DropAll);
    assert!(report.pending_bytes > 0, "{report:?}");
    assert!(report.pending_dirs > 0, "{report:?}");
    // After the cut nothing answers, and nothing written reaches the disk.
    let err = kept
        .write_all(b" after the cut")
        .and_then(|()| kept.sync_all());
    assert!(err.is_err(), "a write after the cut must fail");
    drop((kept, named_later, late));
    pc.unmount().expect("unmount");

    assert_eq!(read(&d.backing.join("old")).as_deref(), Some("on disk"));
    assert_eq!(read(&d.backing.join("kept")).as_deref(), Some("fsync'd"));
    assert_eq!(
        read(&d.backing.join("named_later")).as_deref(),
        Some("synced, then named")
    );
    assert_eq!(read(&d.backing.join("late")), None);
}

#[test]
fn renames_and_unlinks_last_only_once_their_directory_is_fsynced() {
    let d = dirs();
    for name in ["a", "b", "c", "d"] {
        fs::write(d.backing.join(name), name).unwrap();
    }
    fs::create_dir(d.backing.join("sub")).unwrap();
    let pc = mount(&d);
    let m = pc.mountpoint().to_owned();
    fs::rename(m.join("a"), m.join("a2")).unwrap();
    fs::remove_file(m.join("b")).unwrap();
    fs::create_dir(m.join("newdir")).unwrap();
    // `sub`'s entries are fsync'd, the root's are not: the file moved
    // into `sub` is on the disk twice, once under each name.
    fs::rename(m.join("c"), m.join("sub/c")).unwrap();
    fsync_dir(&m.join("sub"));
    assert!(!m.join("a").exists() && m.join("a2").exists() && !m.join("b").exists());
    pc.cut(CutMode::DropAll);
    pc.unmount().expect("unmount");

    let mut names: Vec<_> = fs::read_dir(&d.backing)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b", "c", "d", "sub"]);
    assert_eq!(read(&d.backing.join("sub/c")).as_deref(), Some("c"));

    // The same changes with the directory fsync'd are kept.
    let pc = mount(&d);
    let m = pc.mountpoint().to_owned();
    fs::rename(m.join("a"), m.join("a2")).unwrap();
    fs::remove_file(m.join("b")).unwrap();
    fs::remove_file(m.join("c")).unwrap();
    fsync_dir(&m);
    pc.cut(CutMode::DropAll);
    pc.unmount().expect("unmount");
    let mut names: Vec<_> = fs::read_dir(&d.backing)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a2", "d", "sub"]);
}

#[test]
fn truncation_and_mode_changes_are_pending_until_the_file_is_fsynced() {
    let d = dirs();
    fs::write(d.backing.join("t"), "0123456789").unwrap();
    fs::set_permissions(d.backing.join("t"), fs::Permissions::from_mode(0o644)).unwrap();
    let pc = mount(&d);
    let m = pc.mountpoint().to_owned();
    let f = OpenOptions::new().write(true).open(m.join("t")).unwrap();
    f.set_len(3).unwrap();
    fs::set_permissions(m.join("t"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read(&m.join("t")).as_deref(), Some("012"));
    pc.cut(CutMode::DropAll);
    drop(f);
    pc.unmount().expect("unmount");
    assert_eq!(read(&d.backing.join("t")).as_deref(), Some("0123456789"));
    let mode = fs::metadata(d.backing.join("t"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn a_clean_unmount_keeps_everything() {
    let d = dirs();
    let pc = mount(&d);
    let m = pc.mountpoint().to_owned();
    fs::create_dir(m.join("dir")).unwrap();
    fs::write(m.join("dir/file"), "never fsync'd").unwrap();
    pc.unmount().expect("unmount");
    assert_eq!(
        read(&d.backing.join("dir/file")).as_deref(),
        Some("never fsync'd")
    );
}

#[test]
fn a_torn_cut_keeps_some_pending_pages_and_drops_the_rest() {
    const PAGES: usize = 64;
    let d = dirs();
    fs::write(d.backing.join("pages"), vec![b'o'; PAGES * 4096]).unwrap();
    let pc = mount(&d);
    let mut f = OpenOptions::new()
        .write(true)
        .open(pc.mountpoint().join("pages"))
        .unwrap();
    f.write_all(&vec![b'n'; PAGES * 4096]).unwrap();
    let report = pc.cut(CutMode::Torn { seed: 7 });
    drop(f);
    pc.unmount().expect("unmount");
    let bytes = fs::read(d.backing.join("pages")).unwrap();
    assert_eq!(bytes.len(), PAGES * 4096);
    let mut new_pages = 0;
    for page in bytes.chunks(4096) {
        // Each page is all old or all new: pages are kept whole.
        assert!(page.iter().all(|&b| b == page[0]), "a torn page");
        new_pages += usize::from(page[0] == b'n');
    }
    assert_eq!(new_pages as u64, report.pages_kept);
    assert!(
        new_pages > 0 && new_pages < PAGES,
        "{new_pages} of {PAGES} pages kept"
    );
}

#[test]
fn sqlite_in_wal_mode_keeps_a_synchronous_commit_and_loses_an_unsynced_one() {
    let d = dirs();
    let pc = mount(&d);
    let db = pc.mountpoint().join("test.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE t (v TEXT NOT NULL);
         INSERT INTO t VALUES ('durable');",
    )
    .unwrap();
    // The shared-memory index is mapped through the mount.
    assert!(pc.mountpoint().join("test.db-shm").exists());
    // With synchronous = OFF a commit is only written, never fsync'd.
    conn.execute_batch("PRAGMA synchronous = OFF; INSERT INTO t VALUES ('lost');")
        .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 2, "the connection reads its own commits");
    let report = pc.cut(CutMode::DropAll);
    assert!(report.pending_bytes > 0, "{report:?}");
    // The connection can no longer reach its files; SQLite's close fails
    // quietly, as after a real power cut the process would not exist.
    drop(conn);
    pc.unmount().expect("unmount");

    let conn = rusqlite::Connection::open(d.backing.join("test.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn.prepare("SELECT v FROM t").unwrap();
    let values: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(values, ["durable"]);
}

#[test]
fn nothing_answers_after_the_cut() {
    let d = dirs();
    fs::write(d.backing.join("f"), "x").unwrap();
    let pc = mount(&d);
    assert_eq!(read(&pc.mountpoint().join("f")).as_deref(), Some("x"));
    pc.cut(CutMode::DropAll);
    assert!(
        File::open(pc.mountpoint().join("f")).is_err(),
        "open after the cut"
    );
    assert!(
        File::create(pc.mountpoint().join("g")).is_err(),
        "create after the cut"
    );
    pc.unmount().expect("unmount");
    assert_eq!(read(&d.backing.join("f")).as_deref(), Some("x"));
    assert_eq!(read(&d.backing.join("g")), None);
}
