//! Files from the terminal: uploads for `send --file` (with a progress bar
//! and resumption of an interrupted upload) and `download`.

use super::Session;
use super::chat::resolve_conv;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use natter_proto::{EventBody, Seq, UploadId};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

/// What identifies a file between two runs: its path, size and
/// modification time.
fn file_key(path: &Path) -> anyhow::Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis());
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    Ok(format!("{}|{}|{}", full.display(), meta.len(), modified))
}

fn pending(s: &Session) -> BTreeMap<String, UploadId> {
    std::fs::read(s.store.uploads_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_pending(s: &Session, map: &BTreeMap<String, UploadId>) {
    if let Ok(json) = serde_json::to_vec_pretty(map)
        && let Err(e) = std::fs::write(s.store.uploads_path(), json)
    {
        tracing::warn!(error = %e, "cannot remember the upload for resuming");
    }
}

fn bar(len: u64, name: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_owned());
    bar
}

/// Uploads a file (resuming an earlier, interrupted upload of the same
/// file) and answers its id.
pub(crate) async fn upload(s: &Session, path: &Path) -> anyhow::Result<UploadId> {
    let key = file_key(path)?;
    let mut map = pending(s);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .to_owned();
    let resume = match map.get(&key) {
        Some(id) => match s.client.upload_info(*id).await {
            Ok(info) if !info.complete => Some(*id),
            _ => None,
        },
        None => None,
    };
    let id = match resume {
        Some(id) => id,
        None => {
            let len = std::fs::metadata(path)?.len();
            let created = s.client.create_upload(len, Some(&name), None).await?;
            map.insert(key.clone(), created.id);
            save_pending(s, &map);
            created.id
        }
    };
    let progress = bar(0, &name);
    let info = s
        .client
        .upload_file(path, None, Some(id), |at, len| {
            progress.set_length(len);
            progress.set_position(at);
        })
        .await;
    progress.finish_and_clear();
    let info = info?;
    map.remove(&key);
    save_pending(s, &map);
    Ok(info.id)
}

/// `natter download`: the attachments of the message at `seq`, each
/// written to `out` under its name; prints each path.
pub(crate) async fn download(
    s: &Session,
    conv: &str,
    seq: Seq,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let message = s.client.message(conv, seq).await?;
    let EventBody::Message { meta, .. } = &message.body else {
        anyhow::bail!("not_found: no message with files at {seq}");
    };
    if meta.attachments.is_empty() {
        anyhow::bail!("not_found: the message at {seq} has no files");
    }
    std::fs::create_dir_all(out)?;
    for a in &meta.attachments {
        let name: String = a
            .name
            .as_deref()
            .unwrap_or("file")
            .chars()
            .map(|c| {
                if matches!(c, '/' | '\\') || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let path = out.join(&name);
        // A partial file from an earlier run continues where it stopped.
        let have = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let from = if have < a.size { have } else { 0 };
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(from > 0)
            .truncate(from == 0)
            .open(&path)
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
        let progress = bar(a.size, &name);
        progress.set_position(from);
        let result = s
            .client
            .download(a.upload, from, &mut file, |at| progress.set_position(at))
            .await;
        progress.finish_and_clear();
        result?;
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `natter avatar`: sets (from a picture) or removes my avatar or a
/// group's.
pub(crate) async fn avatar(
    s: &Session,
    path: Option<&Path>,
    group: Option<&str>,
    remove: bool,
) -> anyhow::Result<ExitCode> {
    let group = match group {
        Some(g) => Some(resolve_conv(s, g).await?),
        None => None,
    };
    if remove {
        match group {
            Some(g) => s.client.remove_group_avatar(g).await?,
            None => s.client.remove_avatar().await?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = path.context("give a picture, or --remove")?;
    let upload = upload(s, path).await?;
    let made = match group {
        Some(g) => s.client.set_group_avatar(g, upload).await,
        None => s.client.set_avatar(upload).await,
    };
    // The picture itself is not needed any more.
    if let Err(e) = s.client.delete_upload(upload).await {
        tracing::debug!(error = %e, "the avatar's upload stays until collected");
    }
    outln!("{}", made?.avatar);
    Ok(ExitCode::SUCCESS)
}

/// `natter media`: a conversation's attachments, newest first, one per
/// line: `seq sender kind name bytes` and `WxH` or `m:ss`, tab-separated.
pub(crate) async fn gallery(
    s: &Session,
    conv: &str,
    kind: Option<&str>,
    limit: u32,
) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let kind = match kind {
        Some(k) => Some(
            natter_proto::MediaKind::parse(k)
                .with_context(|| format!("bad_request: {k} is not image, video, audio or file"))?,
        ),
        None => None,
    };
    let page = s
        .client
        .media(
            conv,
            &natter_proto::MediaQuery {
                kind,
                before: None,
                limit: Some(limit.clamp(1, 100)),
            },
        )
        .await?;
    let mut names = super::output::Names::default();
    for item in page.items {
        let a = &item.attachment;
        let sender = names.get(&s.client, item.sender).await;
        let extra = match (a.details.width, a.details.height, a.details.duration_ms) {
            (Some(w), Some(h), _) => format!("\t{w}x{h}"),
            (_, _, Some(ms)) => format!("\t{}:{:02}", ms / 60_000, ms / 1000 % 60),
            _ => String::new(),
        };
        let voice = if a.details.voice { " (voice)" } else { "" };
        outln!(
            "{}\t{}\t{}{}\t{}\t{}{}",
            item.seq,
            sender,
            a.kind.as_str(),
            voice,
            a.name.as_deref().unwrap_or("-"),
            a.size,
            extra
        );
    }
    Ok(ExitCode::SUCCESS)
}
