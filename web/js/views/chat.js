// The chat view: header (name, presence or members), history with date
// separators and infinite scroll backwards, a "New messages" divider, my
// messages with their ticks (pending → sent ✓ → delivered ✓✓ → read ✓✓),
// "read by N of M" in groups, failed messages with Retry, the typing line
// and the composer. A message request shows a bar with Accept and Block;
// a conversation with someone I blocked shows Unblock instead of the
// composer; the header's menu blocks and unblocks, and holds my settings
// of the conversation (pin, mute, mark unread, archive).
//
// People are shown by their display name (else their username); a direct
// conversation's header adds the @username and the first line of their
// "about". Profiles change without an event: opening a conversation
// reads its people again (the peer, or a group's members).
//
// A broadcast channel is marked as one in the header ("Channel · N
// subscribers"); its subscribers get a read-only notice instead of the
// composer (and so send no typing), and every post shows its views (an
// eye and a number, from `GET …/views`) instead of ticks: asked for the
// posts on screen when the channel opens, a moment after new posts
// arrive (one request for a burst), when older posts come on screen, and
// when the page is shown again after a while; never on a timer.
//
// Only a window of the loaded history is in the page (at most
// MAX_MOUNTED rows around what is on screen): it grows at the edge the
// reader scrolls towards and is trimmed at the other, so ten thousand
// loaded messages cost what a few hundred do. Whenever rows come or go
// above the reader, the first message row on screen is put back exactly
// where it was (never a date separator, which moves when older messages
// of its day arrive).
//
// Message text is only ever put in as text nodes (formatting, links and
// mentions built as elements, see `renderMarkdown`), never as markup.
//
// Rich messages (protocol.md, "Rich messages"): a toolbar and a menu on
// each message (on hover, a right click, or a long press on touch
// screens): reply (a quote above the composer, then in the message),
// react (chips under the message, the picker), edit in place (and with
// the Up arrow), delete for me or for everyone, forward, pin, copy a
// link, and threads in a side panel with a composer of their own.
// Replies only in a thread stay out of the timeline. "@" in the composer
// lists the members to mention.
//
// Files (attach.js, media.js): the composer's paperclip, tray and
// microphone; files dropped on the conversation; a message of files shows
// each one's progress until it is sent; attachments above the caption;
// the picture viewer and the conversation's media from the header's menu.
// In a group, the sender's picture is beside the first of their messages.
//
// This file is long because the timeline, its rows and the thread panel
// share the row rendering and the composer's state; the pieces that
// stand alone live in common.js and dialogs.js.

import { h, reconcile, renderMarkdown, setText, uid } from '../dom.js';
import { clock, dayKey, dayLabel, fullTime, messageSummary, people, plural, presenceText } from '../format.js';
import { emojiName, icon } from '../icons.js';
import { threadOnly } from '../store.js';
import { composerFiles } from './attach.js';
import { avatar, convAvatar, convTitle, emojiPicker, iconButton, menuButton, mentionAutocomplete, mentionsIn, settingsItems, updateAvatar } from './common.js';
import { confirmDialog, editHistoryDialog, forwardDialog, pinsDialog, reportDialog } from './dialogs.js';
import { galleryDialog, openViewer, renderAttachments } from './media.js';

// Until the server says otherwise (`GET /v1/limits`).
const DEFAULT_MAX_MESSAGE_BYTES = 16384;
const BOTTOM_SLACK_PX = 48;
// How close to an edge of the mounted rows the reader may come before more
// are mounted (or, at the top of what is loaded, older ones are fetched).
const EDGE_PX = 600;
// The most rows in the page at once, and how many are added or removed
// at a time.
const MAX_MOUNTED = 240;
const STEP = 80;
// Opening at the "New messages" divider fetches older pages until it is
// loaded, but not for more unread messages than this: then it opens at
// the oldest loaded message and scrolling up goes on from there.
const CHASE_UNREAD = 1000;
// A channel's views: how long after a new post they are asked for again
// (a burst of posts is one request, and my own read is in), the least
// time between two such requests (a busy channel), how soon for posts
// mounted without a count, and how old they may be when the page is
// shown again. A hidden page asks nothing until it is shown.
const VIEWS_AFTER_POST_MS = 2000;
const VIEWS_GAP_MS = 5000;
const VIEWS_SOON_MS = 300;
const VIEWS_STALE_MS = 30000;

// Events shown as a line of their own in the timeline.
const SYSTEM_KINDS = new Set([
  'created',
  'members_added',
  'member_joined',
  'member_left',
  'member_removed',
  'member_banned',
  'member_unbanned',
  'role_changed',
  'ownership_transferred',
  'group_updated',
]);

// Roles that may delete others' messages (and their own at any time).
const MODERATORS = new Set(['owner', 'admin', 'moderator']);
// How long my own messages may be deleted for everyone, until the server
// says (`delete_window_secs` in `GET /v1/limits`; a refusal is shown as
// it says it).
const DEFAULT_DELETE_WINDOW_MS = 48 * 3600 * 1000;
// How long my messages may be edited, until the server says
// (`edit_window_secs` in `GET /v1/limits`).
const DEFAULT_EDIT_WINDOW_MS = 48 * 3600 * 1000;
// A touch held this long on a message opens its menu.
const LONG_PRESS_MS = 500;
// Replies of a thread asked for at a time.
const THREAD_PAGES = 10;

const STATUS = {
  pending: { icon: 'clock', label: 'Sending' },
  sent: { icon: 'check', label: 'Sent' },
  delivered: { icon: 'checks', label: 'Delivered' },
  read: { icon: 'checks', label: 'Read' },
  failed: { icon: 'alert', label: 'Not sent' },
};

export function chatView({ store, sync, api, actions }) {
  let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  let editWindowMs = DEFAULT_EDIT_WINDOW_MS;
  let deleteWindowMs = DEFAULT_DELETE_WINDOW_MS;
  api
    .limits()
    .then((l) => {
      if (Number.isFinite(l?.max_message_bytes)) maxMessageBytes = l.max_message_bytes;
      if (Number.isFinite(l?.edit_window_secs)) editWindowMs = l.edit_window_secs * 1000;
      if (Number.isFinite(l?.delete_window_secs)) deleteWindowMs = l.delete_window_secs * 1000;
    })
    .catch(() => {}); // keep the default; the server still refuses what is too long
  // ---- static structure ----
  const back = iconButton(icon('back'), 'Back to conversations', { class: 'icon-btn back' });
  back.addEventListener('click', () => actions.back());
  const headAvatar = avatar(null, '?', { dot: true });
  const title = h('h2', { class: 'chat-title', id: uid('chat-title') });
  const subtitle = h('p', { class: 'chat-subtitle', 'aria-live': 'polite' });
  // A group's description: its first line here, all of it in the group
  // info panel (and as the tooltip).
  const description = h('p', { class: 'chat-description', hidden: true });
  const info = iconButton(icon('info'), 'Group info', { class: 'icon-btn group-info' });
  // "Group info" or "Channel info".
  const setInfoLabel = (label) => {
    if (info.getAttribute('aria-label') === label) return;
    info.setAttribute('aria-label', label);
    info.title = label;
  };
  info.addEventListener('click', () => convId && actions.groupInfo(convId));
  const infoCount = h('span', { class: 'count-badge info-count', 'aria-hidden': 'true', hidden: true });
  info.append(infoCount);
  const more = menuButton(icon('more'), 'More options', () => menuItems(), { className: 'icon-btn chat-menu' });
  // The conversation's pinned messages.
  const pinsButton = iconButton(icon('pin'), 'Pinned messages', { class: 'icon-btn pins-btn' });
  pinsButton.addEventListener('click', () => openPins());
  const head = h(
    'header',
    { class: 'chat-head' },
    back,
    headAvatar,
    h('div', { class: 'chat-heading' }, title, subtitle, description),
    pinsButton,
    info,
    more.el,
  );

  const historyText = h('span', { class: 'history-text' });
  const historyRetry = h('button', { type: 'button', class: 'btn small', text: 'Try again', hidden: true });
  historyRetry.addEventListener('click', () => convId && sync.retryLoad(convId));
  const historySpinner = h('span', { class: 'spinner', 'aria-hidden': 'true', hidden: true });
  const historyStatus = h(
    'div',
    { class: 'history-status', role: 'status' },
    historySpinner,
    historyText,
    historyRetry,
  );
  // A list of rows inside a log (a list may not take the log role itself).
  const list = h('ol', { class: 'messages' });
  const log = h(
    'div',
    { class: 'message-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': title.id },
    list,
  );
  const scroller = h('div', { class: 'scroller', tabindex: '0', 'aria-label': 'Message history' }, historyStatus, log);
  const jump = h(
    'button',
    { type: 'button', class: 'jump', hidden: true, 'aria-label': 'Jump to latest messages' },
    icon('back', 'icon down'),
    h('span', { class: 'jump-count' }),
  );
  jump.addEventListener('click', () => {
    place = 'bottom';
    render();
    afterScroll();
  });
  const typingLine = h('div', { class: 'typing-line', 'aria-live': 'polite' });

  const textarea = h('textarea', {
    class: 'composer-input',
    rows: 1,
    'aria-label': 'Message',
    placeholder: 'Write a message…',
    enterkeyhint: 'send',
  });
  const sendButton = h('button', { type: 'submit', class: 'send', 'aria-label': 'Send' }, icon('send'));
  const composerError = h('p', { class: 'composer-error', role: 'alert' });
  // "@" lists the members to mention (before the composer's own keys).
  const mentionBox = mentionAutocomplete(textarea, { people: () => mentionable(conv()), allowAll: () => mayMentionAll(conv()) });
  // Replying to a message: who and what, with a way out.
  const replyWho = h('span', { class: 'reply-who' });
  const replySnippet = h('span', { class: 'reply-snippet' });
  const replyCancel = iconButton(icon('close'), 'Cancel reply', { class: 'icon-btn reply-cancel' });
  const replyBar = h(
    'div',
    { class: 'reply-bar', hidden: true, role: 'status' },
    icon('reply'),
    h('p', { class: 'reply-body' }, replyWho, replySnippet),
    replyCancel,
  );
  replyCancel.addEventListener('click', () => {
    setReply(null);
    textarea.focus();
  });
  const formatHint = h('p', {
    class: 'format-hint',
    id: uid('format-hint'),
    text: '**bold**  _italic_  ~~strike~~  `code`  > quote  - list  @name mentions',
  });
  textarea.setAttribute('aria-describedby', formatHint.id);
  // Files and voice messages (attach.js): the tray above the text box,
  // the paperclip beside it, the microphone in place of Send while
  // nothing is typed, and the recorder in place of the row.
  const files = composerFiles({
    api,
    current: () => convId,
    sendMessage: (id, caption, extra, options) => {
      sync.send(id, caption, extra, options);
      if (id === convId) {
        place = 'bottom';
        render();
      }
    },
    error: (id, text) => {
      if (id === convId) setText(composerError, text);
      else store.setNotice(text);
    },
    restore: (id, caption) => {
      if (drafts.get(id)) return;
      drafts.set(id, caption);
      if (id === convId && !textarea.value) {
        textarea.value = caption;
        resize();
      }
    },
    changed: (id) => {
      if (id === convId) render();
    },
    focus: () => textarea.focus(),
  });
  const composerRow = h('div', { class: 'composer-row' }, files.attachButton, textarea, sendButton, files.micButton);
  const composer = h(
    'form',
    { class: 'composer' },
    mentionBox.list,
    replyBar,
    files.tray,
    composerRow,
    files.recorderBar,
    files.input,
    formatHint,
  );
  files.pasteTarget(textarea);

  // A message request: who asks, and what I can do about it.
  const requestText = h('p', { class: 'bar-text' });
  const requestHint = h('p', { class: 'bar-hint' });
  const acceptButton = h('button', { type: 'button', class: 'btn small primary', text: 'Accept' });
  const blockButton = h('button', { type: 'button', class: 'btn small danger', text: 'Block' });
  // A group invitation is declined by leaving the group.
  const declineButton = h('button', { type: 'button', class: 'btn small danger', text: 'Leave' });
  const requestError = h('p', { class: 'form-error', role: 'alert' });
  const requestBar = h(
    'div',
    { class: 'chat-bar request-bar', role: 'region', 'aria-label': 'Message request', hidden: true },
    h('div', { class: 'bar-body' }, requestText, requestHint, requestError),
    h('div', { class: 'bar-actions' }, blockButton, declineButton, acceptButton),
  );
  declineButton.addEventListener('click', () => {
    const id = convId;
    if (id) act(requestError, declineButton, () => sync.leave(id));
  });
  acceptButton.addEventListener('click', () =>
    act(requestError, acceptButton, () => sync.accept(convId), () => textarea.focus()),
  );
  blockButton.addEventListener('click', () => {
    const who = asker(conv());
    if (who) act(requestError, blockButton, () => sync.block(who), () => unblockButton.focus());
  });

  // Someone I blocked: no composer, a way back.
  const blockedText = h('p', { class: 'bar-text' });
  const blockedHint = h('p', {
    class: 'bar-hint',
    text: 'Neither of you can send messages here until you unblock them.',
  });
  const unblockButton = h('button', { type: 'button', class: 'btn small', text: 'Unblock' });
  const blockedError = h('p', { class: 'form-error', role: 'alert' });
  const blockedBar = h(
    'div',
    { class: 'chat-bar blocked-bar', role: 'region', 'aria-label': 'Blocked', hidden: true },
    h('div', { class: 'bar-body' }, blockedText, blockedHint, blockedError),
    h('div', { class: 'bar-actions' }, unblockButton),
  );
  unblockButton.addEventListener('click', () => {
    const peer = conv()?.peerId();
    if (peer) act(blockedError, unblockButton, () => sync.unblock(peer), () => textarea.focus());
  });

  // A channel's subscriber reads: a notice where the composer would be.
  const readOnlyBar = h(
    'div',
    { class: 'chat-bar readonly-bar', hidden: true },
    icon('megaphone'),
    h(
      'div',
      { class: 'bar-body' },
      h('p', { class: 'bar-text', text: 'Only admins can post in this channel.' }),
      h('p', { class: 'bar-hint', text: 'You are a subscriber: you get everything they post here.' }),
    ),
  );

  const pane = h(
    'section',
    { class: 'chat-pane', 'aria-labelledby': title.id },
    head,
    h('div', { class: 'scroll-wrap' }, scroller, jump),
    typingLine,
    composerError,
    requestBar,
    blockedBar,
    readOnlyBar,
    composer,
  );
  // Files dropped anywhere on the conversation go to the tray (where one may post).
  files.dropTarget(pane, () => {
    const c = conv();
    return !!c && c.canPost && composer.isConnected && !composer.hidden;
  });
  const empty = h(
    'div',
    { class: 'chat-empty' },
    h('img', { src: '/assets/icon.svg', alt: '', width: 72, height: 72 }),
    h('h2', { text: 'Welcome to natter' }),
    h('p', { text: 'Pick a conversation on the left, or start a new one.' }),
  );
  const thread = threadPanel({
    store,
    sync,
    jump: (seq) => jumpTo(seq),
    closed: () => el.classList.remove('thread-open'),
    people: () => mentionable(conv()),
    allowAll: () => mayMentionAll(conv()),
    menu: (ev, li, anchor) => threadMenu(ev, li, anchor),
    openImage: (a) => viewImage(a),
  });
  const el = h('main', { class: 'chat', id: 'chat' }, empty, pane, thread.el);

  // ---- state ----
  let convId = null;
  const cache = new Map();
  const drafts = new Map();
  // Where the next render puts the reader: 'bottom' (the newest), 'divider'
  // (the first unread message), or null (where they are).
  let place = 'bottom';
  // My read watermark when the conversation was opened with unread
  // messages: the divider goes above the first message from others after
  // it, and stays while the conversation is open.
  let dividerAfter = null;
  // The mounted window: keys of its first message row and last row, and
  // whether it ends at the newest row.
  let mounted = null;
  let grow = null; // 'up' or 'down': the reader is near that edge
  let growFrame = 0;
  // The message I am replying to, per conversation: its seq.
  const replies = new Map();
  // The message being edited in place: `{li, seq, form, textEl}`.
  let editing = null;
  // Channels whose members were asked for (to mention them).
  const askedMembers = new Set();
  // A message's link opened before its conversation was loaded: its seq.
  let pendingJump = null;

  // ---- rich messages ----

  /** The people I may mention here: `[{id, username, name}]`, me left out. */
  function mentionable(c) {
    if (!c) return [];
    let ids = [];
    if (c.kind === 'direct') ids = [c.peerId()].filter(Boolean);
    else if (c.members) ids = [...c.members.keys()];
    else if (c.kind === 'channel' && c.canPost && !askedMembers.has(c.id)) {
      askedMembers.add(c.id);
      sync.loadMembers(c.id).catch(() => {});
    }
    const out = [];
    for (const id of ids) {
      if (id === store.me.id) continue;
      const u = store.user(id);
      if (u) out.push({ id, username: u.username, name: u.display_name || u.username });
    }
    return out;
  }

  /** `@everyone` and `@here`: owners, admins and moderators of a group or channel. */
  const mayMentionAll = (c) => !!c && c.kind !== 'direct' && MODERATORS.has(c.role);
  /** Pins: owners, admins and moderators of a group or channel; both people of a direct conversation. */
  const canPin = (c) => !!c && (c.kind === 'direct' || MODERATORS.has(c.role));
  /** My message, within the server's edit window. */
  const canEdit = (ev) => ev?.kind === 'message' && ev.sender === store.me.id && Date.now() - ev.ts < editWindowMs;

  /** The address of a message in this client: opening it shows the message. */
  const messageUrl = (id, seq) => `${location.origin}/#/c/${id}/${seq}`;

  async function copy(value, done) {
    try {
      await navigator.clipboard.writeText(value);
      store.setNotice(done);
    } catch {
      // No clipboard here (an insecure page, say): shown, to copy by hand.
      store.setNotice(value);
    }
  }

  /** Starts (or, with null, ends) a reply to the message at `seq`. */
  function setReply(seq) {
    if (!convId) return;
    if (seq) replies.set(convId, seq);
    else replies.delete(convId);
    renderReply(conv());
  }

  function replyTo(seq) {
    const c = conv();
    if (!c?.canPost || !seq) return;
    setReply(seq);
    textarea.focus();
  }

  function renderReply(c) {
    const seq = c ? replies.get(c.id) : null;
    const ev = seq ? c.message(seq) : null;
    replyBar.hidden = !ev || ev.kind !== 'message';
    if (replyBar.hidden) return;
    const who = ev.sender === store.me.id ? 'yourself' : (store.name(ev.sender) ?? '…');
    setText(replyWho, `Replying to ${who}: `);
    setText(replySnippet, oneLine(messageSummary(ev.text, ev.attachments), 100));
  }

  function pickReaction(anchor, seq) {
    if (!seq) return;
    emojiPicker(anchor, (emoji) => react(seq, emoji, true));
  }

  function react(seq, emoji, on) {
    const c = conv();
    if (!c) return;
    sync.react(c.id, seq, emoji, on).catch((e) => store.setNotice(`Could not react: ${e.message}`));
  }

  /** The menu of a message: everything I may do with it. */
  function messageMenu(li) {
    const c = conv();
    const seq = Number(li.dataset.seq);
    const ev = c?.message(seq);
    if (!c || !seq || ev?.kind !== 'message') return [];
    const mine = ev.sender === store.me.id;
    const out = [];
    if (c.canPost) out.push({ label: 'Reply', onSelect: () => replyTo(seq) });
    const root = ev.thread ?? (ev.thread_summary?.replies ? seq : null);
    if (root) out.push({ label: 'Open thread', onSelect: () => openThread(root) });
    else if (c.canPost) out.push({ label: 'Reply in thread', onSelect: () => openThread(seq) });
    out.push({ label: 'React…', onSelect: () => pickReaction(li.querySelector('.msg-react'), seq) });
    if (mine && canEdit(ev)) out.push({ label: 'Edit', onSelect: () => startEdit(seq) });
    if (ev.edited_at) out.push({ label: 'Edit history', onSelect: () => editHistoryDialog({ api, convId: c.id, seq }) });
    if (ev.text) out.push({ label: 'Copy text', onSelect: () => copy(ev.text, 'Text copied') });
    out.push({ label: 'Copy link', onSelect: () => copy(messageUrl(c.id, seq), 'Link copied') });
    out.push({ label: 'Forward…', onSelect: () => forwardDialog({ store, sync, fromConv: c.id, seq, text: messageSummary(ev.text, ev.attachments) }) });
    if (canPin(c)) {
      const id = c.id;
      out.push({
        label: ev.pinned ? 'Unpin' : 'Pin',
        onSelect: () => sync.pin(id, seq, !ev.pinned).catch((e) => store.setNotice(`Could not ${ev.pinned ? 'unpin' : 'pin'}: ${e.message}`)),
      });
    }
    out.push({ label: 'Delete for me…', danger: true, onSelect: () => confirmHide(seq) });
    if (li.querySelector('.msg-delete')) out.push({ label: 'Delete for everyone…', danger: true, onSelect: () => confirmDelete(li) });
    if (!mine) out.push({ label: 'Report…', onSelect: () => openReport(li, ev.text) });
    return out;
  }

  /** Asks, then deletes a message for me (on all my devices). */
  function confirmHide(seq) {
    const c = conv();
    if (!c) return;
    const id = c.id;
    confirmDialog({
      title: 'Delete for me?',
      text: 'This removes the message from all your devices. Others in the conversation still see it.',
      confirmText: 'Delete for me',
      run: () => sync.hideMessage(id, seq),
    });
  }

  /** Edits my message in place: its text becomes a text box, Enter saves, Escape cancels. */
  function startEdit(seq) {
    const ev = conv()?.message(seq);
    if (!canEdit(ev)) return;
    stopEdit(false);
    const li = [...list.children].find((x) => Number(x.dataset.seq) === seq && x.classList.contains('msg'));
    if (!li) return;
    li.classList.add('editing');
    const editor = editInPlace({
      textEl: li.querySelector('.text'),
      initial: ev.text,
      save: (text) => saveEdit(seq, text),
      done: () => {
        li.classList.remove('editing');
        if (editing?.editor === editor) editing = null;
        render();
        textarea.focus();
      },
    });
    editing = { li, seq, editor };
  }

  function stopEdit(focusComposer) {
    if (!editing) return;
    const { li, editor } = editing;
    editing = null;
    editor.close();
    li.classList.remove('editing');
    if (focusComposer) textarea.focus();
  }

  /** Sends an edit (with the mentions in the new text); throws the server's refusal. */
  async function saveEdit(seq, text) {
    const c = conv();
    if (!c) return;
    if (new TextEncoder().encode(text).length > maxMessageBytes) throw new Error(`This message is too long (${sizeText(maxMessageBytes)} at most).`);
    const { mentions, mention_all } = mentionsIn(text, mentionable(c), { all: mayMentionAll(c) });
    await sync.editMessage(c.id, seq, { text, mentions, mention_all });
  }

  /** The menu of a reply in the thread panel. */
  function threadMenu(ev, li, anchor) {
    const c = conv();
    if (!c || ev?.kind !== 'message' || !ev.seq) return [];
    const mine = ev.sender === store.me.id;
    const out = [{ label: 'React…', onSelect: () => pickReaction(anchor, ev.seq) }];
    if (canEdit(ev)) {
      out.push({
        label: 'Edit',
        onSelect: () =>
          editInPlace({ textEl: li.querySelector('.text'), initial: ev.text, save: (text) => saveEdit(ev.seq, text), done: () => anchor.focus() }),
      });
    }
    if (ev.edited_at) out.push({ label: 'Edit history', onSelect: () => editHistoryDialog({ api, convId: c.id, seq: ev.seq }) });
    out.push({ label: 'Copy text', onSelect: () => copy(ev.text, 'Text copied') });
    out.push({ label: 'Delete for me…', danger: true, onSelect: () => confirmHide(ev.seq) });
    const mod = c.kind !== 'direct' && MODERATORS.has(c.role);
    if (mod || (mine && Date.now() - ev.ts < deleteWindowMs)) {
      out.push({ label: 'Delete for everyone…', danger: true, onSelect: () => confirmDeleteOf(ev.seq, ev.sender) });
    }
    return out;
  }

  /** Shows the message at `seq` in the timeline (loading history back to it), or its thread. */
  async function jumpTo(seq) {
    const c = conv();
    if (!c || !seq) return;
    if (!c.loaded) await sync.open(c.id);
    if (conv() !== c || !c.loaded) return;
    let ev = c.has(seq) ? c.message(seq) : null;
    if (!ev) {
      try {
        ev = await sync.fetchMessage(c.id, seq);
      } catch {
        store.setNotice('That message is not available.');
        return;
      }
      if (conv() !== c) return;
    }
    if (ev?.kind === 'hidden') {
      store.setNotice('You deleted that message for yourself.');
      return;
    }
    if (threadOnly(ev)) {
      openThread(ev.thread, seq);
      return;
    }
    for (let guard = 0; !c.has(seq) && c.hasMore && guard < 200; guard += 1) {
      if (c.loadingOlder) await new Promise((resolve) => {
        const off = store.on(['conv'], () => {
          if (!c.loadingOlder) {
            off();
            resolve();
          }
        });
      });
      else if (!(await sync.older(c.id)) && c.olderError) break;
      if (conv() !== c) return;
    }
    if (!c.has(seq)) {
      store.setNotice('That message is too far back to show.');
      return;
    }
    place = { seq };
    render();
  }

  /** Opens the thread of `root` (at reply `reply`, when given: it is shown and highlighted). */
  function openThread(root, reply) {
    const c = conv();
    if (!c || !root) return;
    el.classList.add('thread-open');
    thread.open(c, root, reply);
  }

  /**
   * Opens the viewer on a picture of the timeline; previous and next go
   * through the pictures of the loaded history.
   */
  function viewImage(att) {
    const c = conv();
    const items = [];
    for (const ev of c?.events ?? []) {
      if (ev.kind !== 'message' || threadOnly(ev)) continue;
      for (const a of ev.attachments ?? []) if (a.kind === 'image') items.push(a);
    }
    let index = items.findIndex((a) => a.upload === att.upload);
    if (index < 0) {
      items.splice(0, items.length, att);
      index = 0;
    }
    openViewer({ api, items, index });
  }

  /** The conversation's media and files. */
  function openGallery() {
    const c = conv();
    if (!c) return;
    galleryDialog({
      api,
      store,
      convId: c.id,
      title: convTitle(c, store),
      loaded: () =>
        c.events
          .filter((ev) => ev.kind === 'message' && ev.attachments?.length)
          .flatMap((ev) => ev.attachments.map((attachment) => ({ seq: ev.seq, sender: ev.sender, ts: ev.ts, attachment })))
          .reverse(),
    });
  }

  function openPins() {
    const c = conv();
    if (!c) return;
    pinsDialog({ store, sync, convId: c.id, canPin: canPin(c), jump: (seq) => jumpTo(seq) });
  }

  // ---- helpers ----

  /** Who a message request is from: the peer, or who added me to the group. */
  function asker(c) {
    if (!c) return null;
    return c.kind === 'direct' ? c.peerId() : (c.joined?.by ?? c.creator);
  }

  /** The header menu's entries for the open conversation. */
  function menuItems() {
    const c = conv();
    if (!c) return [];
    const out = [];
    if (c.kind === 'group') out.push({ label: 'Group info', onSelect: () => actions.groupInfo(c.id) });
    if (c.kind === 'channel') out.push({ label: 'Channel info', onSelect: () => actions.groupInfo(c.id) });
    if (!c.stale) out.push({ label: 'Media and files', onSelect: () => openGallery() });
    if (!c.stale) {
      const id = c.id;
      out.push(
        ...settingsItems(c, {
          change: (changes) => actions.convSettings(id, changes),
          markRead: () => actions.markRead(id),
          markUnread: () => actions.markUnread(id),
        }),
      );
    }
    if (c.kind === 'direct' && c.peerId()) {
      const peer = c.peerId();
      const name = convTitle(c, store);
      if (store.blocked(peer)) {
        out.push({ label: `Unblock ${name}`, onSelect: () => act(blockedError, null, () => sync.unblock(peer), () => textarea.focus()) });
      } else {
        out.push({ label: `Block ${name}`, danger: true, onSelect: () => act(composerError, null, () => sync.block(peer), () => unblockButton.focus()) });
      }
    }
    if (c.kind === 'group') out.push({ label: 'Leave group', danger: true, onSelect: () => confirmLeave(c) });
    if (c.kind === 'channel') out.push({ label: 'Leave channel', danger: true, onSelect: () => confirmLeave(c) });
    return out;
  }

  /** Asks, then leaves the group or channel; a refusal is shown in the dialog. */
  function confirmLeave(c) {
    const id = c.id;
    if (c.kind === 'channel') {
      confirmDialog({
        title: 'Leave channel?',
        text: `You will leave “${convTitle(c, store)}” and stop getting its posts. An invite link brings you back.`,
        confirmText: 'Leave channel',
        run: () => sync.leave(id),
      });
      return;
    }
    confirmDialog({
      title: 'Leave group?',
      text: `You will leave “${convTitle(c, store)}” and stop getting its messages. Only its owner or an admin can add you back.`,
      confirmText: 'Leave group',
      run: () => sync.leave(id),
    });
  }

  /**
   * Runs an action of a bar or the menu: the button is disabled meanwhile,
   * an error is shown in `errorEl`, and `then` runs once it is done.
   */
  async function act(errorEl, button, run, then) {
    setText(errorEl, '');
    if (button) button.disabled = true;
    try {
      await run();
      then?.();
    } catch (e) {
      setText(errorEl, e.message);
    } finally {
      if (button) button.disabled = false;
    }
  }
  const conv = () => (convId ? store.convs.get(convId) : null);
  const atBottom = () =>
    scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < BOTTOM_SLACK_PX;
  const scrollToBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
  };
  const shown = () => convId && el.getClientRects().length > 0 && !pane.hidden;
  const nearTop = () => scroller.scrollTop < EDGE_PX;
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < EDGE_PX;
  /** The newest row is mounted and on screen. */
  const atNewest = () => atBottom() && (mounted?.tail ?? true);

  function afterScroll() {
    const c = conv();
    if (!c?.loaded) return;
    jump.hidden = atNewest();
    if (nearTop() && mounted?.start > 0) {
      grow = 'up';
      render();
    } else if (nearTop() && c.hasMore) {
      sync.older(c.id);
    } else if (nearBottom() && mounted && !mounted.tail) {
      grow = 'down';
      render();
    }
    maybeMarkRead();
  }

  function maybeMarkRead() {
    if (shown() && document.visibilityState === 'visible' && atNewest() && conv()?.loaded) {
      sync.markRead(convId);
    }
  }

  function systemText(c, ev) {
    const who = (id) => (id === store.me.id ? 'You' : (store.name(id) ?? '…'));
    const noun = c.kind === 'channel' ? 'channel' : 'group';
    if (ev.kind === 'created') {
      if (ev.conv_kind === 'direct') return `${who(ev.sender)} started the conversation`;
      const made = ev.conv_kind === 'channel' ? 'channel' : 'group';
      return `${who(ev.sender)} created the ${made} “${ev.name ?? c.name ?? ''}”`;
    }
    if (ev.kind === 'members_added') {
      const names = (ev.users ?? []).map((u) => (u === store.me.id ? 'you' : (store.name(u) ?? '…')));
      return `${who(ev.sender)} added ${people(names)}`;
    }
    if (ev.kind === 'member_joined') return `${who(ev.user ?? ev.sender)} joined with a link`;
    if (ev.kind === 'member_left') return `${who(ev.user ?? ev.sender)} left`;
    const whom = (id) => (id === store.me.id ? 'you' : (store.name(id) ?? '…'));
    if (ev.kind === 'member_removed') return `${who(ev.sender)} removed ${whom(ev.user)}`;
    if (ev.kind === 'member_banned') return `${who(ev.sender)} banned ${whom(ev.user)}`;
    if (ev.kind === 'member_unbanned') return `${who(ev.sender)} unbanned ${whom(ev.user)}`;
    if (ev.kind === 'role_changed') {
      const role = ev.role === 'member' ? 'a member' : ev.role === 'subscriber' ? 'a subscriber' : ev.role;
      return `${who(ev.sender)} made ${whom(ev.user)} ${role}`;
    }
    if (ev.kind === 'ownership_transferred') return `${who(ev.from ?? ev.sender)} made ${whom(ev.to)} the owner`;
    if (ev.kind === 'group_updated') {
      const did = [];
      if (ev.name !== undefined) did.push(`renamed the ${noun} to ${ev.name}`);
      if (ev.description !== undefined) did.push(ev.description ? 'changed the description' : 'removed the description');
      if (ev.avatar !== undefined) did.push(ev.avatar ? `changed the ${noun} picture` : `removed the ${noun} picture`);
      if (ev.history) did.push(`changed what new ${noun === 'channel' ? 'subscribers' : 'members'} can read`);
      return `${who(ev.sender)} ${people(did.length ? did : [`changed the ${noun} settings`])}`;
    }
    return null;
  }

  /** The rows to show: day separators, events, then my unconfirmed messages. */
  function items(c) {
    const out = [];
    const me = store.me.id;
    const channel = c.kind === 'channel';
    let day = null;
    let prevSender = null;
    // Unread starts after my watermark, and never before I joined: a
    // newcomer who may read older history has not "missed" it.
    const after = dividerAfter === null ? null : Math.max(dividerAfter, c.joined?.seq ?? 0);
    // Only where the first unread message is loaded (else it is older).
    let divided = after === null || (c.hasMore && (c.events[0]?.seq ?? 0) > after + 1);
    const seen = new Set();
    const dayRow = (ts) => {
      const k = dayKey(ts);
      if (k !== day) {
        day = k;
        prevSender = null;
        out.push({ type: 'day', key: `d${k}`, ts });
      }
    };
    for (const ev of c.events) {
      // Replies only in a thread are in its panel, not here.
      if (ev.kind === 'message' && !threadOnly(ev)) {
        dayRow(ev.ts);
        const mine = ev.sender === me;
        if (!divided && !mine && ev.seq > after) {
          divided = true;
          out.push({ type: 'new', key: 'new' });
          prevSender = null;
        }
        if (mine) seen.add(ev.client_id);
        out.push({
          type: 'msg',
          key: mine ? `c:${ev.client_id}` : `m:${ev.id}`,
          mine,
          sender: ev.sender,
          text: ev.text,
          ts: ev.ts,
          seq: ev.seq,
          // A channel shows views, not who has it: my post is sent.
          status: mine ? (channel ? 'sent' : c.tickOf(ev.seq, me)) : null,
          views: channel ? c.views.get(ev.seq) : undefined,
          showSender: c.kind !== 'direct' && !mine && prevSender !== ev.sender,
          ev,
        });
        prevSender = ev.sender;
      } else if (ev.kind === 'deleted' && !threadOnly(ev)) {
        // What is left of a deleted message: no text, no actions.
        dayRow(ev.ts);
        const mine = ev.sender === me;
        out.push({
          type: 'del',
          key: `x:${ev.seq}`,
          mine,
          sender: ev.sender,
          ts: ev.ts,
          seq: ev.seq,
          showSender: c.kind !== 'direct' && !mine && prevSender !== ev.sender,
        });
        prevSender = ev.sender;
      } else if (SYSTEM_KINDS.has(ev.kind)) {
        dayRow(ev.ts);
        out.push({ type: 'sys', key: `s${ev.seq}`, conv: c, ev });
        prevSender = null;
      }
    }
    const local = [
      ...[...store.acked.values()].filter((a) => a.conv === c.id),
      ...sync.outbox.forConv(c.id),
    ];
    for (const l of local) {
      if (seen.has(l.client_id)) continue;
      seen.add(l.client_id);
      if (l.extra?.thread && !l.extra.also_in_conversation) continue; // shown in its thread
      dayRow(l.ts ?? l.created);
      out.push({
        type: 'msg',
        key: `c:${l.client_id}`,
        mine: true,
        sender: me,
        text: l.text,
        ts: l.ts ?? l.created,
        seq: l.seq ?? null,
        status: l.state,
        error: l.error,
        clientId: l.client_id,
        showSender: false,
        extra: l.extra,
        media: l.media,
      });
      prevSender = me;
    }
    // Messages of files still on their way up: each file's progress.
    for (const job of files.jobsFor(c.id)) {
      if (seen.has(job.clientId)) continue;
      seen.add(job.clientId);
      dayRow(job.created);
      out.push({
        type: 'msg',
        key: `c:${job.clientId}`,
        mine: true,
        sender: me,
        text: job.caption,
        ts: job.created,
        seq: null,
        status: 'pending',
        clientId: job.clientId,
        showSender: false,
        extra: job.extra,
        job,
      });
      prevSender = me;
    }
    return out;
  }

  // ---- rows ----

  function create(item) {
    if (item.type === 'day') {
      return h('li', { class: 'day' }, h('span', { text: dayLabel(item.ts) }));
    }
    if (item.type === 'new') {
      return h('li', { class: 'new-divider' }, h('span', { text: 'New messages' }));
    }
    if (item.type === 'sys') return h('li', { class: 'system' });
    if (item.type === 'del') {
      return h(
        'li',
        { class: `msg deleted ${item.mine ? 'mine' : 'theirs'}` },
        h(
          'div',
          { class: 'bubble' },
          h('span', { class: 'sr-only' }),
          h('span', { class: 'sender' }),
          h('p', { class: 'text tombstone' }, icon('block', 'icon tombstone-icon'), h('span', { text: 'This message was deleted' })),
          h('span', { class: 'meta' }, h('time', { class: 'time' })),
        ),
      );
    }
    const li = h('li', { class: `msg ${item.mine ? 'mine' : 'theirs'}` });
    const sender = h('span', { class: 'sender' });
    const who = h('span', { class: 'sr-only' });
    // The rich parts (a quote, "Forwarded", reactions, …) are added when a
    // message has them: most rows are a bubble, its text and its time.
    const text = h('div', { class: 'text' });
    const time = h('time', { class: 'time' });
    const meta = h('span', { class: 'meta' }, time);
    if (conv()?.kind === 'channel') {
      // How many have read it: an eye and a number ("12 views" to a
      // screen reader), once the server has said.
      meta.append(
        h(
          'span',
          { class: 'views', hidden: true },
          icon('eye', 'icon eye'),
          h('span', { class: 'views-count' }),
          h('span', { class: 'sr-only views-word' }),
        ),
      );
    }
    li.append(h('div', { class: 'bubble' }, who, sender, text, meta));
    // In a group, the sender's picture beside the first of their messages in a row.
    if (!item.mine && conv()?.kind === 'group') li.append(avatar(item.sender, '', { size: 'xs' }));
    if (item.mine) {
      const ticks = h('span', { class: 'ticks', role: 'img' });
      if (conv()?.kind === 'group') {
        // Who has it: asked of the server on demand.
        const pop = h('span', { class: 'receipt-pop', role: 'status', id: uid('receipts'), hidden: true });
        const btn = h('button', {
          type: 'button',
          class: 'receipt-btn',
          'aria-expanded': 'false',
          'aria-controls': pop.id,
          title: 'Who has read it',
        });
        btn.append(ticks);
        btn.addEventListener('click', () => toggleReceipts(li, btn, pop));
        btn.addEventListener('mouseenter', () => hoverReceipts(li, btn));
        meta.append(btn);
        li.append(pop);
      } else meta.append(ticks);
    } else {
      // Someone else's message: report it (shown on hover or focus).
      const report = iconButton(icon('flag'), 'Report message…', { class: 'icon-btn msg-report' });
      report.addEventListener('click', () => openReport(li, conv()?.message(Number(li.dataset.seq))?.text ?? ''));
      li.append(report);
    }
    return li;
  }

  // ---- the actions of a message ----
  //
  // One toolbar (react, reply, a menu of the rest) for the whole timeline:
  // it moves into the row the pointer or keyboard focus is on, so that a
  // long history costs no more. A right click or a long press on a row
  // opens its menu.
  const reactButton = iconButton(icon('smile'), 'Add reaction', { class: 'icon-btn msg-react' });
  const replyButton = iconButton(icon('reply'), 'Reply', { class: 'icon-btn msg-reply' });
  const actionsMenu = menuButton(icon('more'), 'More actions', () => (toolbar.row ? messageMenu(toolbar.row) : []), {
    className: 'icon-btn msg-more-btn',
    wrapClass: 'msg-more',
  });
  const toolbar = h('div', { class: 'msg-actions' }, reactButton, replyButton, actionsMenu.el);
  toolbar.row = null;
  reactButton.addEventListener('click', () => pickReaction(reactButton, Number(toolbar.row?.dataset.seq)));
  replyButton.addEventListener('click', () => replyTo(Number(toolbar.row?.dataset.seq)));

  /** Puts the toolbar into a message row (one with a seq, not a tombstone). */
  function toolbarTo(li) {
    if (!li || li === toolbar.row && toolbar.parentNode === li) return !!li;
    if (!li.classList.contains('msg') || li.classList.contains('deleted') || !li.dataset.seq) return false;
    // Not from under an open menu.
    if (!actionsMenu.el.querySelector('.menu').hidden) return false;
    toolbar.row = li;
    // A channel's subscribers read (and react): no replies.
    replyButton.hidden = !conv()?.canPost;
    li.append(toolbar);
    return true;
  }
  list.addEventListener('mouseover', (e) => toolbarTo(e.target.closest('.messages > li')));
  list.addEventListener('focusin', (e) => {
    if (!toolbar.contains(e.target)) toolbarTo(e.target.closest('.messages > li'));
  });
  list.addEventListener('contextmenu', (e) => {
    const li = e.target.closest('.messages > li.msg');
    if (!li || e.target.closest('a, textarea, .msg-actions') || !toolbarTo(li)) return;
    e.preventDefault();
    actionsMenu.open();
  });
  longPress(list, (target) => {
    const li = target.closest('.messages > li.msg');
    if (toolbarTo(li)) actionsMenu.open();
  });

  /**
   * "Delete for everyone…" on a message row: my own messages, and for
   * moderators and above others' (the server decides whose). Only rows
   * where it may apply have one (a long history costs no more).
   */
  function deleteButton(li, show, label) {
    li.classList.toggle('has-delete', !!show);
    let del = li.querySelector('.msg-delete');
    if (!show) {
      del?.remove();
      return;
    }
    if (!del) {
      del = iconButton(icon('trash'), label, { class: 'icon-btn msg-delete' });
      del.addEventListener('click', () => confirmDelete(li));
      li.append(del);
    } else if (del.getAttribute('aria-label') !== label) {
      del.setAttribute('aria-label', label);
      del.title = label;
    }
  }

  function update(li, item) {
    li.dataset.key = item.key;
    if (item.type === 'day' || item.type === 'new') return;
    if (item.type === 'sys') {
      setText(li, systemText(item.conv, item.ev));
      return;
    }
    if (item.type === 'del') {
      const [whoEl, senderEl, , metaEl] = li.firstChild.children;
      const n = item.mine ? 'You' : (store.name(item.sender) ?? '…');
      setText(whoEl, `${n}: `);
      setText(senderEl, item.showSender ? n : '');
      senderEl.hidden = !item.showSender;
      li.classList.toggle('first', item.showSender);
      const t = metaEl.firstChild;
      setText(t, clock(item.ts));
      t.dateTime = new Date(item.ts).toISOString();
      t.title = fullTime(item.ts);
      li.dataset.seq = String(item.seq);
      return;
    }
    const bubble = li.firstChild;
    const who = bubble.querySelector('.sr-only');
    const sender = bubble.querySelector('.sender');
    const meta = bubble.querySelector('.meta');
    const name = item.mine ? 'You' : (store.name(item.sender) ?? '…');
    setText(who, `${name}: `);
    setText(sender, item.showSender ? name : '');
    sender.hidden = !item.showSender;
    li.classList.toggle('first', item.showSender);
    const time = meta.querySelector('.time');
    setText(time, clock(item.ts));
    time.dateTime = new Date(item.ts).toISOString();
    time.title = fullTime(item.ts);
    if (item.seq) li.dataset.seq = String(item.seq);
    else delete li.dataset.seq;
    const c = conv();
    updateRich(li, item.ev ?? localEvent(item), { store, sync, conv: c, editing: editing?.li === li, jump: jumpTo, openThread, openImage: viewImage });
    const viewsEl = meta.querySelector('.views');
    if (viewsEl) {
      const n = item.views;
      const known = typeof n === 'number';
      viewsEl.hidden = !known;
      if (known) {
        li.dataset.views = String(n);
        setText(viewsEl.children[1], String(n));
        setText(viewsEl.children[2], n === 1 ? ' view' : ' views');
        viewsEl.title = n === 1 ? '1 view' : `${n} views`;
      } else delete li.dataset.views;
    }
    if (!item.mine) {
      li.dataset.sender = item.sender;
      const face = li.querySelector(':scope > .avatar');
      if (face) {
        face.classList.add('msg-avatar');
        face.hidden = !item.showSender;
        if (item.showSender) updateAvatar(face, item.sender, name, store.user(item.sender)?.avatar);
      }
      const report = li.querySelector('.msg-report');
      const label = `Report message from ${name}…`;
      report.setAttribute('aria-label', label);
      report.title = label;
      deleteButton(li, !!item.seq && !!c && c.kind !== 'direct' && MODERATORS.has(c.role), `Delete message from ${name} for everyone…`);
      return;
    }
    // My own: while the server's window (48 hours by default) may still be
    // open, or any time for moderators and above. The server decides.
    {
      const mod = c && c.kind !== 'direct' && MODERATORS.has(c.role);
      deleteButton(li, !!item.seq && (mod || Date.now() - item.ts < deleteWindowMs), 'Delete for everyone…');
    }
    li.dataset.clientId = item.clientId ?? item.key.slice(2);
    if (li.dataset.status !== item.status) {
      li.dataset.status = item.status;
      const ticks = meta.querySelector('.ticks');
      const st = STATUS[item.status] ?? STATUS.sent;
      ticks.replaceChildren(icon(st.icon, 'icon tick'));
      ticks.setAttribute('aria-label', st.label);
      ticks.title = st.label;
    }
    const btn = meta.querySelector('.receipt-btn');
    if (btn) btn.disabled = !item.seq;
    let fail = li.querySelector('.failed');
    if (item.status === 'failed') {
      if (!fail) {
        const retry = h('button', { type: 'button', class: 'btn small', text: 'Retry' });
        const drop = h('button', { type: 'button', class: 'btn small ghost', text: 'Delete' });
        retry.addEventListener('click', () => sync.retry(li.dataset.clientId));
        drop.addEventListener('click', () => sync.discard(li.dataset.clientId));
        fail = h('div', { class: 'failed' }, h('span', { class: 'failed-text' }), retry, drop);
        li.append(fail);
      }
      setText(fail.firstChild, failureText(conv(), item.error));
    } else if (fail) fail.remove();
  }

  /** My message not confirmed yet, shaped as an event (its text, its reply). */
  function localEvent(item) {
    const c = conv();
    const target = item.extra?.reply_to ? c?.message(item.extra.reply_to) : null;
    return {
      kind: 'message',
      text: item.text,
      sender: store.me.id,
      mentions: item.extra?.mentions,
      mention_all: item.extra?.mention_all,
      reply_to: target ? { seq: target.seq, sender: target.sender, snippet: target.text } : null,
      attachments: item.job ? item.job.files.filter((f) => f.state === 'uploading' || f.state === 'done') : item.media,
    };
  }

  /**
   * Asks before deleting a message for everyone; the server's refusal
   * (too late, a role that may not) is shown in the dialog as it says it.
   */
  function confirmDelete(li) {
    confirmDeleteOf(Number(li.dataset.seq), li.classList.contains('mine') ? store.me.id : li.dataset.sender);
  }

  function confirmDeleteOf(seq, sender) {
    const c = conv();
    if (!c || !seq) return;
    const whose = sender === store.me.id ? 'your message' : `${store.name(sender) ?? 'this person'}’s message`;
    confirmDialog({
      title: 'Delete for everyone?',
      text: `This deletes ${whose} for everyone in the conversation. It cannot be undone.`,
      confirmText: 'Delete for everyone',
      run: () => sync.deleteMessage(c.id, seq),
    });
  }

  /** Opens the report dialog for someone else's message. */
  function openReport(li, text) {
    const c = conv();
    const seq = Number(li.dataset.seq);
    if (!c || !seq) return;
    reportDialog({
      api,
      convId: c.id,
      seq,
      senderName: store.name(li.dataset.sender) ?? 'Someone',
      text,
      group: c.kind !== 'direct',
      channel: c.kind === 'channel',
    });
  }

  async function loadReceipts(li, pop) {
    const seq = Number(li.dataset.seq);
    const c = conv();
    if (!seq || !c) return null;
    const r = await api.receipts(c.id, seq);
    // The same watermarks drive the ticks: keep them in step.
    for (const m of r.members) if (m.user !== store.me.id) c.peerReceipt(m);
    store.emit(`conv:${c.id}`);
    const text = `Read by ${r.read} of ${r.total} · delivered to ${r.delivered} of ${r.total}`;
    if (pop) setText(pop, text);
    return text;
  }

  async function toggleReceipts(li, btn, pop) {
    const open = btn.getAttribute('aria-expanded') === 'true';
    btn.setAttribute('aria-expanded', String(!open));
    pop.hidden = open;
    if (open) return;
    setText(pop, 'Loading…');
    try {
      await loadReceipts(li, pop);
    } catch (e) {
      setText(pop, e.message);
    }
  }

  async function hoverReceipts(li, btn) {
    try {
      const text = await loadReceipts(li, null);
      if (text) btn.title = text;
    } catch {
      // The click shows the error.
    }
  }

  // ---- rendering ----

  function renderHead(c) {
    const t = convTitle(c, store);
    setText(title, t);
    updateAvatar(headAvatar, c.kind === 'direct' ? c.peerId() : c.id, t, convAvatar(c, store));
    const dot = headAvatar.querySelector('.presence-dot');
    let sub;
    if (c.kind === 'direct') {
      const p = store.presenceOf(c.peerId());
      sub = store.connection === 'offline' ? 'presence unknown while you are offline' : presenceText(p);
      dot.hidden = !p?.online;
    } else if (c.kind === 'channel') {
      // No presence in channels.
      sub = `Channel · ${plural(c.memberCount, 'subscriber')}`;
      dot.hidden = true;
    } else {
      const online = c.members
        ? [...c.members.keys()].filter((u) => u !== store.me.id && store.presenceOf(u)?.online).length
        : 0;
      sub = plural(c.memberCount, 'member') + (online ? `, ${online} online` : '');
      dot.hidden = true;
    }
    setText(subtitle, sub);
    // A group's description; for a person, their @username (when they
    // go by a display name) and what they say about themselves.
    let about = c.kind !== 'direct' ? (c.description ?? '') : '';
    let line = about;
    if (c.kind === 'direct') {
      const u = store.user(c.peerId()) ?? c.peer;
      about = u?.about ?? '';
      const firstLine = about.split('\n')[0];
      line = [u?.display_name && u.username ? `@${u.username}` : '', firstLine].filter(Boolean).join(' · ');
    }
    setText(description, line);
    description.title = about;
    description.hidden = !line;
    info.hidden = c.kind === 'direct';
    // New reports for me to handle here (I moderate it): a count on the
    // button that opens the queue, cleared when the queue is read.
    const newReports = store.newReports.get(c.id) ?? 0;
    const base = c.kind === 'channel' ? 'Channel info' : 'Group info';
    setInfoLabel(newReports ? `${base} (${plural(newReports, 'new report')})` : base);
    infoCount.hidden = !newReports;
    infoCount.dataset.count = String(newReports);
    info.classList.toggle('has-count', !!newReports);
    more.el.hidden = c.stale;
    pinsButton.hidden = c.stale;
    renderBars(c);
    renderReply(c);
    const typing = store.typingIn(c.id).map((u) => store.name(u) ?? 'Someone');
    setText(typingLine, typing.length ? `${people(typing)} ${typing.length > 1 ? 'are' : 'is'} typing…` : '');
    typingLine.classList.toggle('active', typing.length > 0);
  }

  /** The request bar, the blocked bar, or the composer. */
  function renderBars(c) {
    const me = store.me.id;
    const peer = c.kind === 'direct' ? c.peerId() : null;
    const blocked = store.blocked(peer);
    const name = (id) => (id === me ? 'You' : (store.name(id) ?? 'Someone'));
    requestBar.hidden = !c.request || blocked;
    if (c.request) {
      const who = name(asker(c));
      setText(requestText, c.kind === 'direct' ? `${who} wants to message you.` : `${who} added you to this group.`);
      setText(
        requestHint,
        c.kind === 'direct'
          ? 'Reply or accept to chat; block them to stop their messages.'
          : 'Accept to join the conversation, or leave the group.',
      );
      blockButton.hidden = c.kind !== 'direct';
      declineButton.hidden = c.kind === 'direct';
    }
    blockedBar.hidden = !blocked;
    if (blocked) {
      setText(blockedText, `You blocked ${name(peer)}.`);
    }
    // A channel's subscriber reads only: no composer at all, not even a
    // hidden one, so nothing can be typed (or sent as typing).
    const readOnly = !c.canPost;
    readOnlyBar.hidden = !readOnly;
    if (readOnly) {
      if (composer.isConnected) {
        sync.stopTyping(c.id);
        composer.remove();
      }
    } else if (!composer.isConnected) pane.append(composer);
    composer.hidden = blocked;
    sendMode();
  }

  /** Why a message was not sent, as the user needs it. */
  function failureText(c, error) {
    if (error?.code === 'blocked') {
      const peer = c?.kind === 'direct' ? c.peerId() : null;
      const who = store.name(peer) ?? 'this person';
      if (store.blocked(peer)) return `Not sent: you blocked ${who}. Unblock them to send it.`;
      return `Not sent: ${who} is not accepting your messages (blocked).`;
    }
    return `Not sent: ${error?.message ?? 'error'}`;
  }

  function render() {
    const c = conv();
    el.dataset.open = c ? 'true' : 'false';
    empty.hidden = !!c;
    pane.hidden = !c;
    if (!c) return;
    list.classList.toggle('with-avatars', c.kind === 'group');
    renderHead(c);
    if (c.stale) return;
    if (pendingJump) {
      const seq = pendingJump;
      pendingJump = null;
      queueMicrotask(() => jumpTo(seq));
    }
    const failed = c.loadError ?? c.olderError;
    historyRetry.hidden = !failed;
    historySpinner.hidden = true;
    if (!c.loaded) {
      setText(historyText, failed ? `Could not load messages: ${failed.message}` : 'Loading messages…');
      if (!failed) sync.open(c.id);
      return;
    }
    const all = items(c);
    const n = all.length;
    const stick = place === 'bottom' || (place === null && (mounted?.tail ?? true) && atBottom());
    const anchor = place === null ? firstOnScreen() : null;
    let range;
    const target = place && typeof place === 'object' ? all.findIndex((i) => i.seq === place.seq && i.type === 'msg') : -1;
    if (target >= 0) range = [Math.max(0, target - STEP), Math.min(n, target + STEP)];
    else if (place && typeof place === 'object') {
      place = null;
      range = keptRange(all, anchor);
    } else if (place === 'divider') {
      const at = all.findIndex((i) => i.type === 'new');
      if (at >= 0) {
        const s0 = Math.max(0, at - 20);
        range = [s0, Math.min(n, s0 + MAX_MOUNTED)];
      } else {
        // Not loaded yet: fetch older pages while the reader waits at the
        // top of what is loaded (or give up on it when it is far back).
        range = [0, Math.min(n, MAX_MOUNTED)];
        if (c.hasMore && c.unread <= CHASE_UNREAD && !c.olderError) sync.older(c.id);
        else place = null;
      }
    } else if (stick) range = [Math.max(0, n - STEP * 2), n];
    else range = keptRange(all, anchor);
    let [start, end] = range;
    // Near the top with rows loaded above the window: mount them in this
    // render. Waiting a frame would leave the reader at scrollTop 0 while
    // a date separator moves away above their row, and a scroll position
    // cannot go below 0 to keep the row in place.
    const wanted = grow ?? (place === null && !stick && start > 0 && nearTop() ? 'up' : null);
    grow = null;
    if (wanted === 'up' && start > 0) {
      start = Math.max(0, start - STEP);
      if (end - start > MAX_MOUNTED) end = start + MAX_MOUNTED;
    } else if (wanted === 'down' && end < n) {
      end = Math.min(n, end + STEP);
      if (end - start > MAX_MOUNTED) start = end - MAX_MOUNTED;
    } else if (end - start > MAX_MOUNTED) {
      // Grown by arrivals: trim the side farther from the reader.
      const at = anchor ? all.findIndex((i) => i.key === anchor.key) : end - 1;
      if (at - start > end - at) start = end - MAX_MOUNTED;
      else end = start + MAX_MOUNTED;
    }
    const shownItems = all.slice(start, end);
    const firstMsg = shownItems.find((i) => i.type !== 'day' && i.type !== 'new') ?? shownItems[0];
    mounted = { start, first: firstMsg?.key ?? null, last: shownItems.at(-1)?.key ?? null, tail: end === n };

    const atStart = start === 0;
    const loadingOlder = atStart && (c.loadingOlder || (place === 'divider' && c.hasMore));
    historySpinner.hidden = !loadingOlder;
    setText(
      historyText,
      !atStart
        ? ''
        : failed
          ? `Could not load older messages: ${failed.message}`
          : loadingOlder
            ? 'Loading older messages…'
            : c.hasMore
              ? ''
              : startText(c),
    );
    historyRetry.hidden = !failed || !atStart;

    log.setAttribute('aria-busy', 'true');
    reconcile(list, shownItems, (i) => i.key, create, update, cache);
    log.removeAttribute('aria-busy');
    wantViews(c, shownItems);
    if (target >= 0) {
      const row = cache.get(all[target].key);
      row.scrollIntoView({ block: 'center' });
      row.classList.remove('flash');
      void row.offsetWidth; // restart the highlight
      row.classList.add('flash');
      place = null;
    } else if (place === 'divider' && cache.has('new')) {
      const d = cache.get('new');
      scroller.scrollTop += d.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
      place = null;
    } else if (place === 'divider') {
      scroller.scrollTop = 0;
    } else if (stick) {
      scrollToBottom();
      place = null;
    } else if (anchor) {
      const now = cache.get(anchor.key);
      if (now?.isConnected) scroller.scrollTop += now.getBoundingClientRect().top - anchor.top;
    }
    jump.hidden = atNewest();
    const unread = c.unread;
    setText(jump.lastChild, unread > 0 ? String(unread) : '');
    // Near the top of the mounted rows: mount more (next frame, once laid
    // out), or fetch older ones. This also fills a screen that short
    // history leaves empty.
    if (nearTop() && place === null) {
      if (start > 0) {
        cancelAnimationFrame(growFrame);
        growFrame = requestAnimationFrame(() => {
          if (nearTop() && mounted?.start > 0) {
            grow = 'up';
            render();
          }
        });
      } else if (c.hasMore && !c.loadingOlder && !c.olderError) sync.older(c.id);
    }
    maybeMarkRead();
  }

  /**
   * Where history starts for me, once the oldest page I may read is
   * loaded: the conversation's beginning, the event that added me, or the
   * first event the group's history setting let me see (`visible_from`).
   */
  function startText(c) {
    const first = c.events[0];
    if (!first || first.seq <= 1) return 'This is the beginning of the conversation.';
    if (c.kind === 'channel' && c.joined && first.seq >= c.joined.seq) {
      return 'You joined this channel here: earlier posts are not visible to you.';
    }
    if (c.joined?.link && first.seq >= c.joined.seq) {
      return 'You joined this group here: earlier messages are not visible to you.';
    }
    if (c.joined && first.seq >= c.joined.seq) {
      return 'You were added to this group here: earlier messages are not visible to you.';
    }
    return 'History starts here for you: earlier messages are not visible to you.';
  }

  /** The first message row on screen, and where it is. */
  function firstOnScreen() {
    const top = scroller.getBoundingClientRect().top;
    for (const li of list.children) {
      if (li.classList.contains('day') || li.classList.contains('new-divider')) continue;
      const r = li.getBoundingClientRect();
      if (r.bottom > top) return { key: li.dataset.key, top: r.top };
    }
    return null;
  }

  /** The rows mounted last time, found again in `all` (which may have grown at either end). */
  function keptRange(all, anchor) {
    const n = all.length;
    const index = (key) => (key === null ? -1 : all.findIndex((i) => i.key === key));
    let start = index(mounted?.first);
    let end = mounted?.tail ? n : index(mounted?.last) + 1;
    if (start < 0 || end <= start) {
      // The rows are gone (a resync): start again around the reader's row.
      const at = anchor ? index(anchor.key) : -1;
      if (at < 0) return [Math.max(0, n - STEP * 2), n];
      start = Math.max(0, at - STEP);
      end = Math.min(n, at + STEP);
    }
    // The first message's date separator belongs with it.
    if (start > 0 && all[start - 1].type === 'day') start -= 1;
    return [start, end];
  }

  // ---- a channel's views ----

  // `range`: the seqs of the mounted posts; `covered`: what the last
  // answer covered (null: ask at once); `seq`: the channel's newest seq
  // when last asked (newer posts: ask again, a moment later).
  // `deferred`: asked for while the page was hidden.
  const views = { timer: 0, busy: false, again: false, range: null, covered: null, seq: 0, at: 0, failed: false, deferred: false };

  /** After a render of a channel: asks for views when they are missing or old. */
  function wantViews(c, rows) {
    if (c.kind !== 'channel' || !c.loaded) return;
    let lo = Infinity;
    let hi = 0;
    for (const i of rows) {
      if (i.type !== 'msg' || !i.seq) continue;
      lo = Math.min(lo, i.seq);
      hi = Math.max(hi, i.seq);
    }
    if (!hi) return;
    views.range = [lo, hi];
    if (!views.covered) scheduleViews(0);
    else if (c.lastSeq > views.seq) scheduleViews(Math.max(VIEWS_AFTER_POST_MS, views.at + VIEWS_GAP_MS - Date.now()));
    else if (!views.failed && (lo < views.covered[0] || hi > views.covered[1])) scheduleViews(VIEWS_SOON_MS);
  }

  function scheduleViews(delay) {
    if (views.timer) return; // one request for a burst
    views.timer = setTimeout(fetchViews, delay);
  }

  /** Forgets what was asked (another conversation opened). */
  function resetViews() {
    clearTimeout(views.timer);
    Object.assign(views, { timer: 0, range: null, covered: null, seq: 0, at: 0, failed: false, deferred: false });
  }

  async function fetchViews() {
    views.timer = 0;
    const c = conv();
    if (!c || c.kind !== 'channel' || !views.range) return;
    if (document.visibilityState !== 'visible') {
      views.deferred = true;
      return;
    }
    views.deferred = false;
    if (views.busy) {
      views.again = true;
      return;
    }
    views.busy = true;
    const id = c.id;
    const [lo, hi] = views.range;
    views.seq = c.lastSeq;
    views.at = Date.now();
    try {
      await sync.loadViews(id, lo, hi);
      if (convId === id) {
        views.covered = [lo, hi];
        views.failed = false;
      }
    } catch {
      // Shown without counts; the next post or opening asks again.
      if (convId === id) {
        views.covered ??= [lo, hi];
        views.failed = true;
      }
    } finally {
      views.busy = false;
      if (views.again) {
        views.again = false;
        scheduleViews(0);
      }
    }
  }

  // ---- composer ----

  function resize() {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 160)}px`;
  }

  /**
   * Send, or with nothing to send the microphone; while recording, the
   * recorder instead of the row.
   */
  function sendMode() {
    const recording = files.recording(convId);
    const nothing = !textarea.value.trim() && !files.hasFiles(convId);
    const mic = nothing && files.canRecord && !recording;
    if (sendButton.hidden !== mic) sendButton.hidden = mic;
    if (files.micButton.hidden !== !mic) files.micButton.hidden = !mic;
    if (composerRow.hidden !== recording) composerRow.hidden = recording;
  }

  textarea.addEventListener('input', () => {
    resize();
    composerError.textContent = '';
    sendMode();
    if (!convId) return;
    drafts.set(convId, textarea.value);
    if (textarea.value.trim()) sync.typing(convId);
    else sync.stopTyping(convId);
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    } else if (e.key === 'ArrowUp' && !textarea.value && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      // Up in an empty composer edits my last message.
      const c = conv();
      const last = c?.events.findLast((ev) => ev.kind === 'message' && !threadOnly(ev) && ev.sender === store.me.id);
      if (last && canEdit(last)) {
        e.preventDefault();
        startEdit(last.seq);
      }
    } else if (e.key === 'Escape' && replies.has(convId)) {
      setReply(null);
    }
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = textarea.value.trim();
    const withFiles = files.hasFiles(convId);
    if (!convId || (!text && !withFiles)) return;
    if (new TextEncoder().encode(text).length > maxMessageBytes) {
      composerError.textContent = `This message is too long (${sizeText(maxMessageBytes)} at most).`;
      return;
    }
    const c = conv();
    const extra = text ? mentionsIn(text, mentionable(c), { all: mayMentionAll(c) }) : {};
    const reply = replies.get(convId);
    if (reply && c?.message(reply)?.kind === 'message') extra.reply_to = reply;
    // With files: they go up first, the text becomes their caption.
    if (withFiles) files.send(convId, text, extra);
    else sync.send(convId, text, extra);
    replies.delete(convId);
    renderReply(c);
    mentionBox.close();
    textarea.value = '';
    drafts.delete(convId);
    resize();
    sendMode();
    place = 'bottom'; // my own message: show it
    textarea.focus();
  });

  // ---- events ----

  scroller.addEventListener('scroll', afterScroll, { passive: true });
  const onVisible = () => {
    maybeMarkRead();
    // Back after a while: a channel's counts may have grown meanwhile.
    if (shown() && document.visibilityState === 'visible' && conv()?.kind === 'channel') {
      if (views.deferred || (views.covered && Date.now() - views.at > VIEWS_STALE_MS)) scheduleViews(0);
    }
  };
  document.addEventListener('visibilitychange', onVisible);
  window.addEventListener('focus', onVisible);
  const off = store.on(['conv', 'convs', 'presence', 'typing', 'users', 'outbox', 'connection', 'blocks', 'reports'], render);

  return {
    el,
    /** Opens a conversation (or none). */
    show(id, seq) {
      if (id === convId) {
        render();
        if (seq) jumpTo(seq);
        return;
      }
      stopEdit(false);
      thread.close();
      mentionBox.close();
      pendingJump = null;
      if (convId) sync.stopTyping(convId);
      more.close();
      setText(requestError, '');
      setText(blockedError, '');
      convId = id;
      cache.clear();
      list.replaceChildren();
      mounted = null;
      resetViews();
      const c = conv();
      // Subscribers come and go silently: the count is read again. The
      // people of a direct conversation or a group may have changed their
      // names: read again too.
      if (c?.kind === 'channel' && !c.stale) sync.refresh(c.id);
      else if (c) sync.refreshPeople(c.id);
      dividerAfter = c && c.unread > 0 ? c.readSeq : null;
      place = dividerAfter === null ? 'bottom' : 'divider';
      textarea.value = (id && drafts.get(id)) || '';
      composerError.textContent = '';
      resize();
      files.show();
      render();
      if (id) queueMicrotask(() => textarea.focus({ preventScroll: true }));
      if (id && seq) {
        if (conv() && !conv().stale) jumpTo(seq);
        else pendingJump = seq;
      }
    },
    /** The layout changed (phone: list ↔ chat). */
    visibilityChanged() {
      maybeMarkRead();
    },
    destroy() {
      off();
      thread.destroy();
      clearTimeout(views.timer);
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    },
  };
}

/** A byte count as people say it: "16 KB", "900 bytes". */
function sizeText(bytes) {
  return bytes >= 1024 && bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`;
}

/** Text on one line, at most `max` characters. */
function oneLine(text, max) {
  const t = String(text ?? '').replace(/\s+/g, ' ').trim();
  const chars = [...t];
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : t;
}

/** A message's text as nodes: formatting, links and mentions (names as they are known now). */
function messageNodes(store, ev) {
  return renderMarkdown(ev.text ?? '', {
    mentions: ev.mentions,
    mentionAll: ev.mention_all,
    nameOf: (id) => store.name(id),
    me: store.me.id,
  });
}

/** "Last reply 14:02", or with its day when not today. */
function whenText(ts) {
  const day = dayLabel(ts);
  return day === 'Today' ? clock(ts) : `${day} ${clock(ts)}`;
}

/**
 * Refreshes the rich parts of a message row from its event: the text
 * (formatted; not while it is being edited), "Forwarded", the quote of the
 * message it answers, "(edited)", the pin, the reactions and the thread's
 * summary. Each part is made when the message first has it, and rebuilt
 * only when what it shows changed. `ctx`: `{store, sync, conv, editing,
 * jump(seq), openThread(root)}`.
 */
function updateRich(li, ev, ctx) {
  const { store, conv } = ctx;
  const me = store.me.id;
  const box = li.querySelector('.bubble') ?? li;
  const text = box.querySelector(':scope > .text');
  // What the text shows depends on these (mentions change only with an
  // edit, which sets `edited_at`): compared without copying the text.
  const names = (ev.mentions ?? []).map((m) => store.name(m.user) ?? '').join('|');
  const shown = text?.shown;
  const same = shown && shown.text === ev.text && shown.edited === ev.edited_at && shown.all === ev.mention_all && shown.names === names;
  if (text && !ctx.editing && !same) {
    text.replaceChildren(...messageNodes(store, ev));
    text.shown = { text: ev.text, edited: ev.edited_at, all: ev.mention_all, names };
  }
  const part = (cls, make, before) => {
    let el = box.querySelector(`:scope > .${cls}`);
    if (!el) {
      el = make();
      (before() ?? text).before(el);
    }
    return el;
  };
  if (ev.forwarded) {
    part('forwarded', () => h('p', { class: 'forwarded' }, icon('forward', 'icon small-icon'), h('span', { text: 'Forwarded' })), () => box.querySelector(':scope > .thread-ref, :scope > .quote'));
  }
  if (ev.thread && ev.also_in_conversation && ctx.openThread) {
    part(
      'thread-ref',
      () => {
        const b = h('button', { type: 'button', class: 'thread-ref' }, icon('thread', 'icon small-icon'), h('span', { text: 'Replied in a thread' }));
        b.addEventListener('click', () => ctx.openThread(ev.thread));
        return b;
      },
      () => box.querySelector(':scope > .quote'),
    );
  }
  const r = ev.reply_to;
  let quote = box.querySelector(':scope > .quote');
  if (r && !quote) {
    quote = part(
      'quote',
      () => {
        const q = h('button', { type: 'button', class: 'quote', title: 'Show the message it answers' }, h('span', { class: 'quote-sender' }), h('span', { class: 'quote-text' }));
        q.addEventListener('click', () => {
          const target = Number(q.dataset.seq);
          if (target && ctx.jump) ctx.jump(target);
        });
        return q;
      },
      () => box.querySelector(':scope > .attachments'),
    );
  }
  if (quote) {
    quote.hidden = !r;
    if (r) {
      quote.dataset.seq = String(r.seq);
      const original = conv?.message(r.seq);
      const deleted = !!r.deleted || original?.kind === 'deleted';
      const snippet = deleted ? null : original?.kind === 'message' ? messageSummary(original.text, original.attachments) : (r.snippet ?? null);
      const who = r.sender === me ? 'You' : (store.name(r.sender) ?? '…');
      setText(quote.firstChild, who);
      setText(quote.lastChild, deleted ? 'Message deleted' : snippet !== null ? oneLine(snippet, 120) : 'Message not available');
      quote.classList.toggle('gone', deleted || snippet === null);
    }
  }
  // Pictures, videos, voice messages and files (media.js), above the caption.
  const atts = ev.attachments ?? [];
  let media = box.querySelector(':scope > .attachments');
  if (atts.length && !media && text) {
    media = h('div', { class: 'attachments' });
    text.before(media);
  }
  if (media) {
    media.hidden = !atts.length;
    if (atts.length) renderAttachments(media, atts, { api: ctx.sync.api, openImage: (a) => ctx.openImage?.(a) });
  }
  li.classList.toggle('has-media', atts.length > 0);
  li.classList.toggle('no-caption', atts.length > 0 && !ev.text);
  const meta = box.querySelector(':scope > .meta');
  let edited = meta?.querySelector('.edited');
  if (ev.edited_at && meta && !edited) {
    edited = h('button', { type: 'button', class: 'edited', text: '(edited)' });
    edited.addEventListener('click', () => {
      if (conv && ev.seq) editHistoryDialog({ api: ctx.sync.api, convId: conv.id, seq: ev.seq });
    });
    meta.prepend(edited);
  }
  if (edited) {
    edited.hidden = !ev.edited_at;
    if (ev.edited_at) edited.title = `Edited ${fullTime(ev.edited_at)}`;
  }
  let pin = meta?.querySelector('.pin-mark');
  if (ev.pinned && meta && !pin) {
    pin = h('span', { class: 'pin-mark', title: 'Pinned' }, icon('pin', 'icon small-icon'), h('span', { class: 'sr-only', text: 'Pinned' }));
    meta.prepend(pin);
  }
  if (pin) pin.hidden = !ev.pinned;
  li.classList.toggle('pinned', !!ev.pinned);
  const bubbleEnd = (el) => (box === li ? li.append(el) : box.after(el));
  let reactions = li.querySelector(':scope > .reactions');
  if (ev.reactions?.length && ev.seq && !reactions) {
    reactions = h('div', { class: 'reactions' });
    bubbleEnd(reactions);
  }
  if (reactions) renderReactions(reactions, ev, ctx);
  let line = li.querySelector(':scope > .thread-line');
  if (ev.thread_summary?.replies && ctx.openThread && !line) {
    line = h('button', { type: 'button', class: 'thread-line' });
    line.addEventListener('click', () => ctx.openThread(ev.seq));
    if (reactions) reactions.after(line);
    else bubbleEnd(line);
  }
  if (line) renderThreadLine(line, ev, store);
}

/**
 * Edits a message in place: `textEl` gives way to a text box holding
 * `initial`, with Save and Cancel (Enter saves, Escape cancels).
 * `save(text)` is async; its error is shown and the box stays. `done()`
 * runs once it closes. Returns `{close}`.
 */
function editInPlace({ textEl, initial, save, done }) {
  const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: 2 });
  input.value = initial;
  const ok = h('button', { type: 'submit', class: 'btn small primary', text: 'Save' });
  const cancel = h('button', { type: 'button', class: 'btn small ghost', text: 'Cancel' });
  const err = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'edit-form' },
    input,
    h('div', { class: 'edit-actions' }, h('span', { class: 'edit-hint', text: 'Enter to save · Escape to cancel' }), cancel, ok),
    err,
  );
  let open = true;
  const close = (finished) => {
    if (!open) return;
    open = false;
    form.remove();
    textEl.hidden = false;
    if (finished) done?.();
  };
  cancel.addEventListener('click', () => close(true));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    setText(err, '');
    if (!text) {
      setText(err, 'A message cannot be empty: delete it instead.');
      return;
    }
    if (text === initial) {
      close(true);
      return;
    }
    ok.disabled = true;
    try {
      await save(text);
      close(true);
    } catch (error) {
      setText(err, error.message);
    } finally {
      ok.disabled = false;
    }
  });
  textEl.hidden = true;
  textEl.after(form);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  return { close: () => close(false) };
}

/** The reaction chips under a message: each emoji with its count, mine pressed; a click toggles mine. */
function renderReactions(box, ev, { store, sync, conv }) {
  const list = ev.seq ? (ev.reactions ?? []) : [];
  const sig = JSON.stringify(list);
  if (box.dataset.sig === sig) return;
  box.dataset.sig = sig;
  box.hidden = list.length === 0;
  const convId = conv?.id;
  box.replaceChildren(
    ...list.map((r) => {
      const name = emojiName(r.emoji) ?? r.emoji;
      const chip = h(
        'button',
        {
          type: 'button',
          class: 'reaction',
          'aria-pressed': String(!!r.me),
          'aria-label': `${name}: ${plural(r.count, 'reaction')}${r.me ? ', yours' : ''}`,
          title: name,
          dataset: { emoji: r.emoji, count: String(r.count) },
        },
        h('span', { class: 'reaction-emoji', 'aria-hidden': 'true', text: r.emoji }),
        h('span', { class: 'reaction-count', 'aria-hidden': 'true', text: String(r.count) }),
      );
      chip.addEventListener('click', () => {
        sync.react(convId, ev.seq, r.emoji, !r.me).catch((e) => store.setNotice(`Could not react: ${e.message}`));
      });
      // Who reacted, asked for when the pointer (or focus) comes to it.
      let asked = false;
      const who = async () => {
        if (asked) return;
        asked = true;
        try {
          const { users, more } = await sync.api.reactors(convId, ev.seq, r.emoji, { limit: 20 });
          const names = users.map((u) => (u.user === store.me.id ? 'You' : u.display_name || u.username));
          chip.title = `${name}: ${people(more ? [...names, 'others'] : names)}`;
          chip.dataset.who = names.join(', ');
        } catch {
          // A channel's subscribers may not see who reacted: the name stays.
        }
      };
      chip.addEventListener('mouseenter', who);
      chip.addEventListener('focus', who);
      return chip;
    }),
  );
}

/** Under a thread's root: "3 replies", when the last came, who replied, and a count of unread ones. */
function renderThreadLine(btn, ev, store) {
  const s = ev.thread_summary;
  const show = !!s && s.replies > 0;
  btn.hidden = !show;
  if (!show) return;
  const names = (s.participants ?? []).map((u) => store.name(u) ?? '');
  const sig = JSON.stringify([s, names]);
  if (btn.dataset.sig === sig) return;
  btn.dataset.sig = sig;
  btn.dataset.replies = String(s.replies);
  btn.dataset.unread = String(s.unread ?? 0);
  btn.replaceChildren(
    h('span', { class: 'thread-avatars', 'aria-hidden': 'true' }, ...(s.participants ?? []).slice(0, 3).map((u) => avatar(u, store.name(u) ?? '?', { size: 'xs' }))),
    h('span', { class: 'thread-count', text: plural(s.replies, 'reply', 'replies') }),
    h('span', { class: 'thread-last', text: `Last reply ${whenText(s.last_at)}` }),
  );
  if (s.unread) btn.append(h('span', { class: 'thread-unread', text: String(s.unread) }, h('span', { class: 'sr-only', text: ' unread' })));
  btn.title = 'Open the thread';
}

/** Calls `fn(target)` when a touch is held on `el` (a long press); moving or lifting cancels. */
function longPress(el, fn) {
  let timer = 0;
  let x = 0;
  let y = 0;
  const cancel = () => {
    clearTimeout(timer);
    timer = 0;
  };
  el.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' || e.target.closest('button, a, textarea, input')) return;
    x = e.clientX;
    y = e.clientY;
    cancel();
    const target = e.target;
    timer = setTimeout(() => {
      timer = 0;
      fn(target);
    }, LONG_PRESS_MS);
  });
  el.addEventListener('pointermove', (e) => {
    if (timer && Math.hypot(e.clientX - x, e.clientY - y) > 10) cancel();
  });
  for (const type of ['pointerup', 'pointercancel', 'pointerleave']) el.addEventListener(type, cancel);
}

/**
 * The thread panel, beside the timeline: the root, its replies (paged in
 * from `GET …/threads/{root}`, then live), and a composer whose replies
 * stay in the thread unless "Also send to conversation" is ticked. While
 * it is open and the page is seen, the thread is marked read.
 */
function threadPanel({ store, sync, jump, closed, people, allowAll, menu, openImage }) {
  const heading = h('h2', { class: 'thread-title', id: uid('thread-title'), text: 'Thread' });
  const close = iconButton(icon('close'), 'Close thread', { class: 'icon-btn thread-close' });
  const rootBox = h('div', { class: 'thread-root' });
  const count = h('p', { class: 'thread-replies-count' });
  const list = h('ol', { class: 'thread-list', 'aria-label': 'Replies' });
  const status = h('p', { class: 'thread-status', role: 'status' });
  const input = h('textarea', { class: 'thread-input', rows: 1, 'aria-label': 'Reply in thread', placeholder: 'Reply…' });
  const mentionBox = mentionAutocomplete(input, { people: () => people(), allowAll: () => allowAll() });
  const also = h('input', { type: 'checkbox', class: 'thread-also', id: uid('also') });
  const send = h('button', { type: 'submit', class: 'send', 'aria-label': 'Send reply' }, icon('send'));
  const error = h('p', { class: 'thread-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'thread-composer' },
    mentionBox.list,
    h('div', { class: 'composer-row' }, input, send),
    h('label', { class: 'thread-also-label', for: also.id }, also, h('span', { text: 'Also send to conversation' })),
    error,
  );
  const scroll = h('div', { class: 'thread-scroll' }, rootBox, count, list, status);
  const el = h(
    'aside',
    { class: 'thread-panel', hidden: true, 'aria-labelledby': heading.id },
    h('header', { class: 'thread-head' }, heading, close),
    scroll,
  );
  let state = null; // {conv, root, marking, stick, reply (to show once loaded)}
  const rows = new Map();

  close.addEventListener('click', () => api.close());
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !mentionBox.isOpen()) api.close();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => setText(error, ''));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!state) return;
    const text = input.value.trim();
    if (!text) return;
    const c = state.conv;
    const extra = mentionsIn(text, people(), { all: allowAll() });
    extra.thread = state.root;
    extra.also_in_conversation = also.checked;
    sync.send(c.id, text, extra);
    input.value = '';
    also.checked = false;
    mentionBox.close();
    input.focus();
  });

  function row(ev, tag = 'li') {
    const el = h(
      tag,
      { class: 'thread-msg', dataset: { seq: String(ev.seq ?? '') } },
      h('div', { class: 'thread-meta' }, h('span', { class: 'thread-sender' }), h('time', { class: 'time' })),
      h('div', { class: 'text' }),
      h('span', { class: 'meta' }),
    );
    // Its actions: react, edit, delete (the menu asks what applies).
    const m = menuButton(icon('more'), 'More actions', () => menu(state?.conv.message(Number(el.dataset.seq)), el, m.button), {
      className: 'icon-btn thread-more-btn',
      wrapClass: 'thread-more',
    });
    el.firstChild.append(m.el);
    return el;
  }

  function fill(li, ev) {
    const name = ev.sender === store.me.id ? 'You' : (store.name(ev.sender) ?? '…');
    setText(li.querySelector('.thread-sender'), name);
    const t = li.querySelector('.time');
    if (ev.ts) {
      setText(t, clock(ev.ts));
      t.title = fullTime(ev.ts);
    }
    li.dataset.status = ev.pending ? 'pending' : 'sent';
    if (ev.seq) li.dataset.seq = String(ev.seq);
    if (ev.kind === 'deleted') {
      // What is left of a deleted reply: it keeps its place in the thread.
      li.classList.add('deleted');
      for (const part of li.querySelectorAll(':scope > :not(.thread-meta):not(.text), .thread-more')) part.remove();
      const t = li.querySelector('.text');
      t.classList.add('tombstone');
      setText(t, 'This message was deleted');
      t.shown = null;
      return;
    }
    updateRich(li, ev, { store, sync, conv: state.conv, jump, openImage });
  }

  function render() {
    if (!state) return;
    const c = store.convs.get(state.conv.id);
    if (!c) {
      api.close();
      return;
    }
    state.conv = c;
    const root = c.message(state.root);
    rootBox.hidden = !root || root.kind !== 'message';
    if (root?.kind === 'message') {
      if (!rootBox.firstChild?.classList?.contains('thread-msg')) rootBox.replaceChildren(row(root, 'div'));
      fill(rootBox.firstChild, root);
    } else if (root?.kind === 'deleted') {
      rootBox.hidden = false;
      rootBox.replaceChildren(h('p', { class: 'muted tombstone', text: 'This message was deleted' }));
    }
    const replies = c.threadReplies(state.root);
    const local = [...[...store.acked.values()].filter((a) => a.conv === c.id), ...sync.outbox.forConv(c.id)].filter(
      (l) => l.extra?.thread === state.root && !replies.some((r) => r.client_id === l.client_id),
    );
    const items = [
      ...replies.map((ev) => ({ key: `r${ev.seq}`, ev })),
      ...local.map((l) => ({ key: `l${l.client_id}`, ev: { kind: 'message', pending: true, text: l.text, sender: store.me.id, ts: l.ts ?? l.created, mentions: l.extra?.mentions } })),
    ];
    const n = Math.max(root?.thread_summary?.replies ?? 0, replies.length);
    setText(count, n ? plural(n, 'reply', 'replies') : 'No replies yet');
    const atEnd = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 40;
    reconcile(list, items, (i) => i.key, (i) => row(i.ev), (li, i) => fill(li, i.ev), rows);
    const reply = state.reply ? rows.get(`r${state.reply}`) : null;
    if (reply) {
      // Opened at a reply (a link, a search result): it is shown and
      // highlighted, rather than the newest.
      state.reply = null;
      state.stick = false;
      reply.scrollIntoView({ block: 'center' });
      reply.classList.remove('flash');
      void reply.offsetWidth; // restart the highlight
      reply.classList.add('flash');
    } else if (atEnd || state.stick) {
      scroll.scrollTop = scroll.scrollHeight;
      state.stick = false;
    }
    markRead(replies, root);
  }

  /**
   * Marks the thread read while it is on screen and has unread replies
   * (one request at a time; a page read before the mark may bring the
   * old count back, and then it is marked again: the mark never goes
   * backwards on the server).
   */
  function markRead(replies, root) {
    if (!state || el.hidden || document.visibilityState !== 'visible') return;
    const last = Math.max(replies.at(-1)?.seq ?? 0, root?.thread_summary?.last_seq ?? 0);
    if (!last || !(root?.thread_summary?.unread > 0) || state.marking) return;
    const s = state;
    s.marking = true;
    sync
      .markThreadRead(s.conv.id, s.root, last)
      .catch(() => {})
      .finally(() => {
        s.marking = false;
        if (state === s) render();
      });
  }

  async function load(s) {
    setText(status, 'Loading replies…');
    let after;
    try {
      for (let page = 0; page < THREAD_PAGES; page += 1) {
        const answer = await sync.loadThread(s.conv.id, s.root, after);
        if (state !== s) return;
        if (!answer.more || !answer.events.length) break;
        after = answer.events.at(-1).seq;
      }
      setText(status, '');
    } catch (e) {
      if (state === s) setText(status, `Could not load the thread: ${e.message}`);
    }
    if (state === s) {
      s.stick = true;
      render();
      // Not among the replies loaded: the newest show instead.
      s.reply = null;
    }
  }

  const off = store.on(['conv', 'outbox', 'users', 'thread'], () => render());
  const onVisible = () => render();
  document.addEventListener('visibilitychange', onVisible);

  const api = {
    el,
    /** Opens the thread of the message at `root` in conversation `c` (at reply `reply`, if given). */
    open(c, root, reply = null) {
      if (state?.conv.id === c.id && state.root === root) {
        if (reply) {
          state.reply = reply;
          render();
        }
        input.focus();
        return;
      }
      rows.clear();
      list.replaceChildren();
      rootBox.replaceChildren();
      setText(error, '');
      input.value = '';
      also.checked = false;
      state = { conv: c, root, marking: false, stick: true, reply };
      // A channel's subscribers read only: no composer at all.
      if (c.canPost) el.append(form);
      else form.remove();
      el.hidden = false;
      render();
      load(state);
      if (c.canPost) input.focus();
      else close.focus();
    },
    close() {
      if (!state && el.hidden) return;
      state = null;
      el.hidden = true;
      mentionBox.close();
      form.remove();
      closed();
    },
    destroy() {
      off();
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
  return api;
}
