//! `natter serve`: reads the configuration, opens the backends, runs the
//! server until a signal, and shuts down in order.

use anyhow::{Context, Result};
use clap::Args;
use natter_bus::LocalBus;
use natter_server::{Backends, Config};
use natter_store_sqlite::{SqliteOptions, SqliteStore};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `natter serve`. Flags win over environment variables, which
/// win over the config file, which wins over the defaults.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// TOML configuration file; every key is described in docs/configuration.md.
    #[arg(long, env = "NATTER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7878].
    #[arg(long, env = "NATTER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder for the database and keys [default: ./natter-data].
    #[arg(long, env = "NATTER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Builds the effective configuration from file, environment and flags.
pub fn load_config(args: &ServeArgs) -> Result<Config> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str::<Config>(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Err(errs) = config.validate() {
        anyhow::bail!("invalid configuration:\n  {}", errs.join("\n  "));
    }
    Ok(config)
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> Result<()> {
    let config = load_config(&args)?;
    if args.print_config {
        print!("{}", toml::to_string_pretty(&config)?);
        return Ok(());
    }
    private_dir(&config.data_dir)
        .with_context(|| format!("cannot create data folder {}", config.data_dir.display()))?;
    let db = config.data_dir.join("natter.db");
    private_file(&db).with_context(|| format!("cannot create database {}", db.display()))?;
    let store = SqliteStore::open(&db, SqliteOptions::default())
        .with_context(|| format!("cannot open database {}", db.display()))?;
    let backends = Backends {
        store: Arc::new(store),
        bus: Arc::new(LocalBus::new(1024)),
        shared: None,
    };
    let data_dir = config.data_dir.clone();
    let running = natter_server::start(config, backends).await?;
    println!("natter is running at http://{}", running.addr);
    println!("data folder: {}", data_dir.display());
    println!("press Ctrl-C to stop");
    wait_for_signal().await;
    println!("stopping…");
    running.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Creates the data folder (and missing parents) readable by this user
/// only: it holds the token-signing key and every message.
///
/// A new folder's name is durable only once its parent directory is
/// fsync'd (fsync(2)); without that, a power cut soon after the first
/// start can take the whole folder, with every message acknowledged into
/// it, even though SQLite fsync'd the files inside.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let missing: Vec<&std::path::Path> = dir
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
        .collect();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    for created in missing {
        let parent = match created.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Creates the database file readable by this user only, before SQLite
/// opens it: SQLite gives its WAL and shared-memory files the database
/// file's permissions, so they are private too. An existing file is left
/// as it is.
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
