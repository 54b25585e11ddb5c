//! Reports of messages: any member reports someone else's message with a
//! reason; the group's moderators (and above) and the server's admins list
//! and resolve them.

use super::conversations::require_member;
use super::policy::{self, Action};
use crate::auth::{Claims, now_ms};
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::*;
use natter_store::*;

/// Longest note on a report or a resolution, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

fn info(r: ReportRecord) -> ReportInfo {
    ReportInfo {
        id: r.id,
        conv: r.conv,
        seq: r.seq,
        sender: r.sender,
        text: r.text,
        reporter: r.reporter,
        reason: r.reason,
        note: r.note,
        created_at: r.created_at,
        resolved_by: r.resolved_by,
        resolved_at: r.resolved_at,
        resolution: r.resolution,
    }
}

fn note(raw: Option<String>) -> Result<Option<String>> {
    raw.map(|n| {
        super::text::check_description(&n, MAX_NOTE_CHARS).ok_or_else(|| {
            DomainError::Invalid(format!(
                "a note has at most {MAX_NOTE_CHARS} characters and no control or bidirectional-override characters"
            ))
        })
    })
    .transpose()
    .map(|n| n.filter(|n| !n.is_empty()))
}

/// Reports a message the caller may see and did not write; reporting it
/// again answers the first report (the bool is false then).
pub async fn report(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    req: ReportMessage,
) -> Result<(ReportInfo, bool)> {
    require_member(state, conv, claims.user).await?;
    let kind = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?
        .kind;
    let note = note(req.note)?;
    let page = state
        .store
        .history(HistoryRequest {
            conv,
            viewer: claims.user,
            range: HistoryRange::After(req.seq.saturating_sub(1)),
            limit: 1,
        })
        .await?;
    let message = page
        .events
        .into_iter()
        .find(|e| e.seq == req.seq)
        .ok_or(DomainError::NotFound("no such message"))?;
    let EventBody::Message { text, .. } = message.body else {
        return Err(DomainError::NotFound("no such message"));
    };
    if message.sender == claims.user {
        return Err(DomainError::Invalid(
            "you cannot report your own message".into(),
        ));
    }
    let (record, created) = state
        .store
        .create_report(NewReport {
            id: MessageId::new(),
            conv,
            seq: req.seq,
            sender: message.sender,
            text,
            reporter: claims.user,
            reason: req.reason,
            note,
            now: now_ms(),
            // Those who may handle it hear of it at once.
            notify: Role::ALL
                .into_iter()
                .filter(|r| policy::allows(kind, *r, Action::DeleteOthersMessages))
                .collect(),
        })
        .await?;
    Ok((info(record), created))
}

/// May the caller handle reports of `conv`: a server admin, or a member
/// whose role may delete others' messages.
async fn may_moderate(state: &AppState, claims: &Claims, conv: ConversationId) -> Result<()> {
    if super::admin::admin(state, claims).await.is_ok() {
        return Ok(());
    }
    let me = require_member(state, conv, claims.user).await?;
    let record = state
        .store
        .conversation(conv)
        .await?
        .ok_or(DomainError::NotMember)?;
    policy::check(record.kind, me.role, Action::DeleteOthersMessages)
        .map_err(|_| DomainError::Forbidden("only moderators and above handle reports"))
}

/// A group's reports, for its moderators (and server admins).
pub async fn of_conversation(
    state: &AppState,
    claims: &Claims,
    conv: ConversationId,
    query: ReportQuery,
) -> Result<ReportList> {
    may_moderate(state, claims, conv).await?;
    Ok(ReportList {
        reports: state
            .store
            .reports(Some(conv), query.all)
            .await?
            .into_iter()
            .map(info)
            .collect(),
    })
}

/// Every report on the server, for its admins.
pub async fn all(state: &AppState, claims: &Claims, query: ReportQuery) -> Result<ReportList> {
    super::admin::admin(state, claims).await?;
    Ok(ReportList {
        reports: state
            .store
            .reports(None, query.all)
            .await?
            .into_iter()
            .map(info)
            .collect(),
    })
}

/// Resolves a report (resolving again changes nothing).
pub async fn resolve(
    state: &AppState,
    claims: &Claims,
    id: MessageId,
    req: ResolveReport,
) -> Result<ReportInfo> {
    let note = note(req.note)?;
    let report = state
        .store
        .report(id)
        .await?
        .ok_or(DomainError::NotFound("no such report"))?;
    may_moderate(state, claims, report.conv)
        .await
        .map_err(|e| match e {
            // Someone outside the group learns nothing of its reports.
            DomainError::NotMember => DomainError::NotFound("no such report"),
            other => other,
        })?;
    state
        .store
        .resolve_report(id, claims.user, note, now_ms())
        .await?
        .map(info)
        .ok_or(DomainError::NotFound("no such report"))
}
