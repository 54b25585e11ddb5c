//! Server administration: promoting admins against the data folder, and
//! suspending accounts over the API as an admin.

use super::Session;
use super::chat::user_id;
use super::output;
use anyhow::Context;
use natter_store::Store;
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `natter admin …`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// Make a user a server admin, writing to the data folder directly (run
    /// it on the server's machine; the server may be running). Prints
    /// `username  admin`.
    Promote {
        /// Their username.
        username: String,
        /// The server's data folder.
        #[arg(long, env = "NATTER_DATA_DIR", default_value = "./natter-data")]
        data_dir: PathBuf,
    },
    /// Make a server admin an ordinary user again (against the data
    /// folder). Prints `username  user`.
    Demote {
        /// Their username.
        username: String,
        /// The server's data folder.
        #[arg(long, env = "NATTER_DATA_DIR", default_value = "./natter-data")]
        data_dir: PathBuf,
    },
    /// Suspend an account (as a server admin): every session ends at once
    /// and logging in is refused. Prints `username  suspended-at`.
    Suspend {
        /// Their username.
        username: String,
    },
    /// Lift a suspension (as a server admin).
    Unsuspend {
        /// Their username.
        username: String,
    },
}

/// `natter admin promote|demote`: against the data folder, no session.
pub(crate) async fn set_admin(
    username: &str,
    data_dir: &Path,
    admin: bool,
) -> anyhow::Result<ExitCode> {
    let db = data_dir.join("natter.db");
    // Opening would create an empty database: a wrong folder must fail.
    anyhow::ensure!(
        db.exists(),
        "no natter database in {} (give the server's data folder with --data-dir)",
        data_dir.display()
    );
    let store = SqliteStore::open(&db, SqliteOptions::default())
        .with_context(|| format!("cannot open database {}", db.display()))?;
    let name = username
        .strip_prefix('@')
        .unwrap_or(username)
        .to_lowercase();
    let result = async {
        let user = store
            .user_by_name(&name)
            .await?
            .with_context(|| format!("no user named {name}"))?;
        store.set_admin(user.id, admin).await?;
        outln!(
            "{}\t{}",
            user.username,
            if admin { "admin" } else { "user" }
        );
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    result
}

/// `natter admin suspend <username>`.
pub(crate) async fn suspend(s: &Session, username: &str) -> anyhow::Result<ExitCode> {
    let user = user_id(s, username).await?;
    let done = s.client.suspend(user).await?;
    outln!(
        "{}\t{}",
        done.user.username,
        output::format_time(done.suspended_at)
    );
    Ok(ExitCode::SUCCESS)
}

/// `natter admin unsuspend <username>`.
pub(crate) async fn unsuspend(s: &Session, username: &str) -> anyhow::Result<ExitCode> {
    let user = user_id(s, username).await?;
    s.client.unsuspend(user).await?;
    Ok(ExitCode::SUCCESS)
}
