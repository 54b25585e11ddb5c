//! Account commands: register, login, logout, whoami, sessions, revoke.

use super::profile::{Profile, ProfileStore};
use super::{ClientGlobals, Session, UsageError};
use anyhow::Context;
use natter_proto::DeviceId;
use natter_sdk::Client;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `register` and `login`.
#[derive(clap::Args, Debug, Clone)]
pub struct AuthArgs {
    /// The username: 3 to 32 characters, lowercase letters, digits, `_`,
    /// `.` and `-`.
    pub username: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// A label for this device session, shown by `natter sessions`.
    #[arg(long)]
    pub device_name: Option<String>,
}

/// `natter register`.
pub(crate) async fn register(
    global: &ClientGlobals,
    store: &ProfileStore,
    args: AuthArgs,
) -> anyhow::Result<ExitCode> {
    let password = read_password(args.password_stdin).await?;
    let client = Client::register(
        global.server_or_default(),
        &args.username,
        &password,
        args.device_name.as_deref(),
    )
    .await?;
    adopt(global, store, &client).await
}

/// `natter login`.
pub(crate) async fn login(
    global: &ClientGlobals,
    store: &ProfileStore,
    args: AuthArgs,
) -> anyhow::Result<ExitCode> {
    let password = read_password(args.password_stdin).await?;
    let client = Client::login(
        global.server_or_default(),
        &args.username,
        &password,
        args.device_name.as_deref(),
    )
    .await?;
    adopt(global, store, &client).await
}

/// Saves a fresh session in the profile (logging the one it replaces out,
/// best effort) and prints `username  user_id  device_id`.
async fn adopt(
    global: &ClientGlobals,
    store: &ProfileStore,
    client: &Client,
) -> anyhow::Result<ExitCode> {
    let session = client
        .session()
        .context("internal: login returned no session")?;
    if let Ok(Some(old)) = store.load()
        && old.session.device != session.device
        && let Ok(old_client) = Client::with_session(&old.server, old.session)
    {
        // A replaced session would otherwise stay valid on the server with
        // nobody holding it.
        let _ = tokio::time::timeout(Duration::from_secs(5), old_client.logout()).await;
    }
    store.save(&Profile {
        server: global.server_or_default().to_owned(),
        session: session.clone(),
    })?;
    outln!("{}\t{}\t{}", session.username, session.user, session.device);
    Ok(ExitCode::SUCCESS)
}

/// `natter logout`.
pub(crate) async fn logout(s: &Session) -> anyhow::Result<ExitCode> {
    match s.client.logout().await {
        Ok(()) | Err(natter_sdk::Error::SessionGone) => {
            s.store.remove()?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            s.save_if_rotated()?;
            Err(e.into())
        }
    }
}

/// `natter whoami`: `username  user_id  device_id  head`.
pub(crate) async fn whoami(s: &Session) -> anyhow::Result<ExitCode> {
    let me = s.client.me().await?;
    outln!("{}\t{}\t{}\t{}", me.username, me.id, me.device, me.head);
    Ok(ExitCode::SUCCESS)
}

/// `natter profile`: sets what is given, then prints `username`,
/// `display_name` and `about` lines (`-` for none).
pub(crate) async fn profile(
    s: &Session,
    display_name: Option<String>,
    about: Option<String>,
) -> anyhow::Result<ExitCode> {
    let me = if display_name.is_some() || about.is_some() {
        s.client
            .update_profile(&natter_proto::UpdateProfile {
                display_name,
                about,
            })
            .await?
    } else {
        s.client.me().await?
    };
    outln!("username\t{}", me.username);
    outln!(
        "display_name\t{}",
        me.display_name.as_deref().unwrap_or("-")
    );
    outln!(
        "about\t{}",
        me.about
            .as_deref()
            .map_or_else(|| "-".to_owned(), super::output::one_line)
    );
    Ok(ExitCode::SUCCESS)
}

/// `natter users`: `username  display name|-  user id` per match.
pub(crate) async fn users(s: &Session, prefix: &str) -> anyhow::Result<ExitCode> {
    for u in s.client.search_users(prefix, None).await? {
        outln!(
            "{}\t{}\t{}",
            u.username,
            u.display_name.as_deref().unwrap_or("-"),
            u.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter sessions`: `device_id  name  created  last_active  current|-`.
pub(crate) async fn sessions(s: &Session) -> anyhow::Result<ExitCode> {
    for session in s.client.sessions().await? {
        outln!(
            "{}\t{}\t{}\t{}\t{}",
            session.device,
            super::output::one_line(&session.name),
            super::output::format_time(session.created_at),
            super::output::format_time(session.last_active_at),
            if session.current { "current" } else { "-" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter revoke <device-id>`.
pub(crate) async fn revoke(s: &Session, device_id: &str) -> anyhow::Result<ExitCode> {
    let device: DeviceId = device_id.parse().map_err(|_| {
        UsageError(format!(
            "bad_request: '{device_id}' is not a device id (see `natter sessions`)"
        ))
    })?;
    s.client.revoke_session(device).await?;
    if s.client.session().is_some_and(|me| me.device == device) {
        s.store.remove()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The password from stdin (`--password-stdin`) or `NATTER_PASSWORD`.
async fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await?
        .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(UsageError("bad_request: no password on stdin".into()).into());
        }
        return Ok(password.to_owned());
    }
    match std::env::var("NATTER_PASSWORD") {
        Ok(password) if !password.is_empty() => Ok(password),
        _ => Err(UsageError(
            "bad_request: no password given: use --password-stdin (and write it to stdin) or set NATTER_PASSWORD"
                .into(),
        )
        .into()),
    }
}
