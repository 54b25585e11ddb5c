//! Binaries of another workspace package, for tests that run two of natter's
//! executables together (`natter bench` starts `natter-bench`, which starts
//! `natter serve`).
//!
//! Cargo builds an integration test's own package's binaries and names
//! them in `CARGO_BIN_EXE_<name>`, but never another package's: a
//! dev-dependency builds only its library. So when the other binary is not
//! beside the test's own, the test asks cargo to build it there, in the same
//! target folder and profile.
//!
//! Only when it is missing: cargo unifies dependency features over the
//! packages one command builds, so `cargo build -p natter` alone compiles
//! natter differently from `cargo test --workspace`, and building on every
//! run would have each command relink what the other just built. The cost
//! is that a binary left from an older build is used as it is;
//! `cargo test --workspace` builds both binaries fresh.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of binary `name` of workspace package `package` beside `own`, a
/// binary cargo built for the calling test (its `CARGO_BIN_EXE_<name>`);
/// if it is not there, cargo builds it there first, in the profile and
/// target folder of `own`.
///
/// Panics with cargo's output if the build fails, and if the binary is not
/// beside `own` afterwards.
pub fn workspace_binary(package: &str, name: &str, own: &Path) -> PathBuf {
    let beside = own.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        return beside;
    }
    let profile_dir = own.parent().expect("a binary is inside a folder");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the profile folder has a UTF-8 name");
    let up = profile_dir
        .parent()
        .expect("the profile folder has a parent");
    // `<target>/<profile>/`, or `<target>/<triple>/<profile>/` when the
    // test was built for an explicit target; cargo marks the target folder
    // itself with CACHEDIR.TAG.
    let (target_dir, triple) = if up.join("CACHEDIR.TAG").is_file() {
        (up, None)
    } else {
        let triple = up.file_name().expect("a target triple folder");
        (up.parent().expect("a target folder"), Some(triple))
    };
    // Cargo sets CARGO for the tests it runs; the one that built this crate
    // serves when a test binary is started by hand.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    // Cargo gives a test the variables of the package under test; a build
    // script that reads one (ring reads CARGO_MANIFEST_DIR) would see it
    // change, and every later build would rebuild it and what depends on
    // it. The user's own cargo settings stay.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_BIN_")
            || matches!(
                key,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "CARGO_RUSTC_CURRENT_DIR"
                    | "OUT_DIR"
            )
        {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", package, "--bin", name])
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(triple) = triple {
        cmd.arg("--target").arg(triple);
    }
    // The `debug` folder holds the dev profile; any other is named after
    // its profile.
    if profile != "debug" {
        cmd.args(["--profile", profile]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build {name}: {e}"));
    assert!(
        out.status.success(),
        "building {name} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        beside.is_file(),
        "cargo built {name}, but not at {}",
        beside.display()
    );
    beside
}
