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
// Message text is only ever put in as text nodes (and links built as
// elements, see `linkify`), never as markup.

import { h, linkify, reconcile, setText, uid } from '../dom.js';
import { clock, dayKey, dayLabel, fullTime, people, plural, presenceText } from '../format.js';
import { icon } from '../icons.js';
import { avatar, convTitle, iconButton, menuButton, settingsItems, updateAvatar } from './common.js';
import { confirmDialog, reportDialog } from './dialogs.js';

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
// How long my own messages may be deleted: the server's default (its
// setting is not told to clients; a refusal is shown as it says it).
const DELETE_WINDOW_MS = 48 * 3600 * 1000;

const STATUS = {
  pending: { icon: 'clock', label: 'Sending' },
  sent: { icon: 'check', label: 'Sent' },
  delivered: { icon: 'checks', label: 'Delivered' },
  read: { icon: 'checks', label: 'Read' },
  failed: { icon: 'alert', label: 'Not sent' },
};

export function chatView({ store, sync, api, actions }) {
  let maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
  api
    .limits()
    .then((l) => {
      if (Number.isFinite(l?.max_message_bytes)) maxMessageBytes = l.max_message_bytes;
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
  const head = h(
    'header',
    { class: 'chat-head' },
    back,
    headAvatar,
    h('div', { class: 'chat-heading' }, title, subtitle, description),
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
  const composer = h('form', { class: 'composer' }, textarea, sendButton);

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
  const empty = h(
    'div',
    { class: 'chat-empty' },
    h('img', { src: '/assets/icon.svg', alt: '', width: 72, height: 72 }),
    h('h2', { text: 'Welcome to natter' }),
    h('p', { text: 'Pick a conversation on the left, or start a new one.' }),
  );
  const el = h('main', { class: 'chat', id: 'chat' }, empty, pane);

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
      if (ev.kind === 'message') {
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
        });
        prevSender = ev.sender;
      } else if (ev.kind === 'deleted') {
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
    const text = h('p', { class: 'text' }, linkify(item.text));
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
        li.append(h('div', { class: 'bubble' }, who, sender, text, meta), pop);
      } else {
        meta.append(ticks);
        li.append(h('div', { class: 'bubble' }, who, sender, text, meta));
      }
    } else {
      li.append(h('div', { class: 'bubble' }, who, sender, text, meta));
      // Someone else's message: report it (shown on hover or focus).
      const report = iconButton(icon('flag'), 'Report message…', { class: 'icon-btn msg-report' });
      report.addEventListener('click', () => openReport(li, item.text));
      li.append(report);
    }
    return li;
  }

  /**
   * "Delete for everyone…" on a message row: my own messages, and for
   * moderators and above others' (the server decides whose). Only rows
   * where it may apply have one (a long history costs no more).
   */
  function deleteButton(li, show, label) {
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
    const [who, sender, , meta] = bubble.children;
    const name = item.mine ? 'You' : (store.name(item.sender) ?? '…');
    setText(who, `${name}: `);
    setText(sender, item.showSender ? name : '');
    sender.hidden = !item.showSender;
    li.classList.toggle('first', item.showSender);
    const time = meta.firstChild;
    setText(time, clock(item.ts));
    time.dateTime = new Date(item.ts).toISOString();
    time.title = fullTime(item.ts);
    if (item.seq) li.dataset.seq = String(item.seq);
    else delete li.dataset.seq;
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
      const report = li.querySelector('.msg-report');
      const label = `Report message from ${name}…`;
      report.setAttribute('aria-label', label);
      report.title = label;
      const c = conv();
      deleteButton(li, !!item.seq && !!c && c.kind !== 'direct' && MODERATORS.has(c.role), `Delete message from ${name} for everyone…`);
      return;
    }
    // My own: while the server's window (48 hours by default) may still be
    // open, or any time for moderators and above. The server decides.
    {
      const c = conv();
      const mod = c && c.kind !== 'direct' && MODERATORS.has(c.role);
      deleteButton(li, !!item.seq && (mod || Date.now() - item.ts <= DELETE_WINDOW_MS), 'Delete for everyone…');
    }
    li.dataset.clientId = item.clientId ?? item.key.slice(2);
    if (li.dataset.status !== item.status) {
      li.dataset.status = item.status;
      const ticks = meta.querySelector('.ticks');
      const s = STATUS[item.status] ?? STATUS.sent;
      ticks.replaceChildren(icon(s.icon, 'icon tick'));
      ticks.setAttribute('aria-label', s.label);
      ticks.title = s.label;
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

  /**
   * Asks before deleting a message for everyone; the server's refusal
   * (too late, a role that may not) is shown in the dialog as it says it.
   */
  function confirmDelete(li) {
    const c = conv();
    const seq = Number(li.dataset.seq);
    if (!c || !seq) return;
    const mine = li.classList.contains('mine');
    const whose = mine ? 'your message' : `${store.name(li.dataset.sender) ?? 'this person'}’s message`;
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
    updateAvatar(headAvatar, c.kind === 'direct' ? c.peerId() : c.id, t);
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
    renderBars(c);
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
    renderHead(c);
    if (c.stale) return;
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
    if (place === 'divider') {
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
    if (place === 'divider' && cache.has('new')) {
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

  textarea.addEventListener('input', () => {
    resize();
    composerError.textContent = '';
    if (!convId) return;
    drafts.set(convId, textarea.value);
    if (textarea.value.trim()) sync.typing(convId);
    else sync.stopTyping(convId);
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = textarea.value.trim();
    if (!convId || !text) return;
    if (new TextEncoder().encode(text).length > maxMessageBytes) {
      composerError.textContent = `This message is too long (${sizeText(maxMessageBytes)} at most).`;
      return;
    }
    sync.send(convId, text);
    textarea.value = '';
    drafts.delete(convId);
    resize();
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
    show(id) {
      if (id === convId) {
        render();
        return;
      }
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
      render();
      if (id) queueMicrotask(() => textarea.focus({ preventScroll: true }));
    },
    /** The layout changed (phone: list ↔ chat). */
    visibilityChanged() {
      maybeMarkRead();
    },
    destroy() {
      off();
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
