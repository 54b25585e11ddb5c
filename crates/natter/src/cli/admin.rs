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

/// `natter report <conv> <seq> <reason> [--note]`: prints the report's id.
pub(crate) async fn report(
    s: &Session,
    conv: &str,
    seq: natter_proto::Seq,
    reason: &str,
    note: Option<String>,
) -> anyhow::Result<ExitCode> {
    let conv = super::chat::resolve_conv(s, conv).await?;
    // clap only lets the three names through.
    let reason =
        natter_proto::ReportReason::parse(reason).unwrap_or(natter_proto::ReportReason::Other);
    let req = natter_proto::ReportMessage { seq, reason, note };
    outln!("{}", s.client.report(conv, &req).await?.id);
    Ok(ExitCode::SUCCESS)
}

/// `natter reports [conv] [--all]`: one line per report, newest first:
/// id, #conversation or id, seq, sender, reason, reporter, open|resolved,
/// text.
pub(crate) async fn reports(
    s: &Session,
    conv: Option<&str>,
    all: bool,
) -> anyhow::Result<ExitCode> {
    let conv = match conv {
        Some(c) => Some(super::chat::resolve_conv(s, c).await?),
        None => None,
    };
    let mut names = super::chat::own_names(s);
    for r in s.client.reports(conv, all).await? {
        let sender = names.get(&s.client, r.sender).await;
        let reporter = names.get(&s.client, r.reporter).await;
        outln!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            r.id,
            r.conv,
            r.seq,
            sender,
            r.reason.as_str(),
            reporter,
            if r.resolved_at.is_some() {
                "resolved"
            } else {
                "open"
            },
            output::one_line(&r.text)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter resolve <report id> [--note]`.
pub(crate) async fn resolve(
    s: &Session,
    id: &str,
    note: Option<String>,
) -> anyhow::Result<ExitCode> {
    let id = id
        .parse()
        .map_err(|_| super::UsageError(format!("{id} is not a report id")))?;
    s.client.resolve_report(id, note).await?;
    Ok(ExitCode::SUCCESS)
}
