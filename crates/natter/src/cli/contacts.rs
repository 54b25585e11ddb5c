//! Who may reach me: message requests and blocks.

use super::Session;
use super::chat::{resolve_conv, user_id};
use super::output;
use std::process::ExitCode;

/// `natter accept <conv>`: accepts a message request; prints the
/// conversation id and `@peer`.
pub(crate) async fn accept(s: &Session, conv: &str) -> anyhow::Result<ExitCode> {
    let conv = resolve_conv(s, conv).await?;
    let info = s.client.accept(conv).await?;
    outln!("{}\t{}", info.id, output::conv_label(&info));
    Ok(ExitCode::SUCCESS)
}

/// `natter block <username>`: prints `username  user_id  blocked-at`.
pub(crate) async fn block(s: &Session, username: &str) -> anyhow::Result<ExitCode> {
    let user = user_id(s, username).await?;
    let block = s.client.block(user).await?;
    print_block(&block)
}

/// `natter unblock <username>`: prints nothing; unblocking someone who is
/// not blocked is not an error.
pub(crate) async fn unblock(s: &Session, username: &str) -> anyhow::Result<ExitCode> {
    let user = user_id(s, username).await?;
    s.client.unblock(user).await?;
    Ok(ExitCode::SUCCESS)
}

/// `natter blocks`: one `username  user_id  blocked-at` line per blocked
/// user, most recent first.
pub(crate) async fn blocks(s: &Session) -> anyhow::Result<ExitCode> {
    for block in s.client.blocks().await? {
        print_block(&block)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_block(block: &natter_proto::BlockInfo) -> anyhow::Result<ExitCode> {
    outln!(
        "{}\t{}\t{}",
        block.user.username,
        block.user.id,
        output::format_time(block.blocked_at)
    );
    Ok(ExitCode::SUCCESS)
}
