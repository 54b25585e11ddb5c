// The sidebar: who I am (my display name), the connection state, actions
// (search messages, theme, settings, new chat, group or channel), and
// the conversation list (a group's name or the other person's display
// name, last message, time, unread badge, presence dot for direct
// conversations). Message requests and group invitations are listed
// apart, above the others, until they are accepted. Broadcast channels
// carry a megaphone (and "Channel" for screen readers).
//
// Each conversation has a menu (its button, a right click, or the context
// menu key): pin, mute (and hide its badge), mark as read or unread,
// archive. Pinned ones come first, the latest pinned on top, with a pin;
// muted ones carry a struck bell and a grey count; one marked unread a
// dot. Archived ones leave the list for "Archived (N)", a view of its own.
// My other devices' changes arrive as they are made (sync.js).
//
// The list comes in pages: scrolling near its end loads the next one (of
// the archived conversations, in their view).

import { h, reconcile, setText, toggleAttr, uid } from '../dom.js';
import { listTime, messageSummary } from '../format.js';
import { icon } from '../icons.js';
import * as notify from '../notify.js';
import * as theme from '../theme.js';
import { SHORTCUT } from './search.js';
import { avatar, convAvatar, convTitle, iconButton, menuButton, settingsItems, updateAvatar } from './common.js';

// How close to the end of the list (px) the next page is asked for.
const MORE_PX = 400;

const CONNECTION_TEXT = {
  connecting: 'Connecting…',
  online: 'Online',
  offline: 'Offline',
};

export function sidebarView({ store, actions }) {
  const meAvatar = avatar(null, '?', { size: 'sm' });
  const meName = h('span', { class: 'me-name' });
  const connection = h(
    'span',
    { class: 'connection', role: 'status', 'data-state': store.connection },
    h('span', { class: 'connection-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'connection-text' }),
  );
  const searchButton = iconButton(icon('search'), `Search messages (${SHORTCUT})`, {
    class: 'icon-btn search-btn',
    'aria-keyshortcuts': 'Control+K Meta+K',
  });
  searchButton.setAttribute('aria-label', 'Search messages');
  searchButton.addEventListener('click', () => actions.search());
  const themeButton = iconButton(icon('moon'), 'Switch to dark theme', { class: 'icon-btn theme-toggle' });
  themeButton.addEventListener('click', () => theme.toggle());
  const settingsButton = iconButton(icon('gear'), 'Settings', { class: 'icon-btn settings-btn' });
  settingsButton.addEventListener('click', () => actions.settings());
  // A server admin's new reports (read in Settings, Administration).
  const settingsCount = h('span', { class: 'count-badge settings-count', 'aria-hidden': 'true', hidden: true });
  settingsButton.append(settingsCount);
  function renderAdminCount() {
    const n = store.me?.admin ? store.newAdminReports : 0;
    settingsCount.hidden = !n;
    settingsCount.dataset.count = String(n);
    settingsButton.classList.toggle('has-count', !!n);
    const label = n ? `Settings (${n === 1 ? '1 new report' : `${n} new reports`})` : 'Settings';
    if (settingsButton.getAttribute('aria-label') !== label) {
      settingsButton.setAttribute('aria-label', label);
      settingsButton.title = label;
    }
  }

  const newChat = iconButton(icon('chat'), 'New chat', { text: 'New chat', className: 'btn soft new-chat' });
  newChat.addEventListener('click', () => actions.newChat());
  const newGroup = iconButton(icon('group'), 'New group', { text: 'New group', className: 'btn soft new-group' });
  newGroup.addEventListener('click', () => actions.newGroup());
  const newChannel = iconButton(icon('megaphone'), 'New channel', { text: 'New channel', className: 'btn soft new-channel' });
  newChannel.addEventListener('click', () => actions.newChannel());

  // A polite offer, never an automatic prompt.
  const offer = h(
    'div',
    { class: 'notify-offer', role: 'region', 'aria-label': 'Notifications' },
    icon('bell'),
    h('p', { text: 'Get notified of new messages while natter is in the background.' }),
  );
  const enable = h('button', { type: 'button', class: 'btn small primary', text: 'Enable' });
  const later = h('button', { type: 'button', class: 'btn small ghost', text: 'Not now' });
  offer.append(h('div', { class: 'offer-actions' }, enable, later));
  enable.addEventListener('click', async () => {
    await notify.ask();
    renderOffer();
  });
  later.addEventListener('click', () => {
    notify.dismissOffer();
    renderOffer();
  });
  function renderOffer() {
    offer.hidden = !notify.shouldOffer();
  }

  const list = h('ul', { class: 'conv-list', role: 'list' });
  const requestHeading = h('h2', { class: 'list-heading', id: uid('requests') });
  const requestList = h('ul', { class: 'conv-list request-list', role: 'list' });
  const requests = h(
    'section',
    { class: 'requests', 'aria-labelledby': requestHeading.id, hidden: true },
    requestHeading,
    h('p', {
      class: 'list-hint',
      text: 'From people you have not chatted with, and groups you were invited to. Open one to accept it, or to block or leave.',
    }),
    requestList,
  );
  const chatsHeading = h('h2', { class: 'list-heading', text: 'Chats', hidden: true });
  // "Archived (N)": opens the archived conversations in place of the list.
  const archiveCount = h('span', { class: 'archive-entry-text' });
  const archiveEntry = h(
    'button',
    { type: 'button', class: 'archive-entry', hidden: true },
    h('span', { class: 'archive-icon', 'aria-hidden': 'true' }, icon('archive')),
    archiveCount,
  );
  archiveEntry.addEventListener('click', () => showArchive(true));
  const archiveBack = iconButton(icon('back'), 'Back to chats', { class: 'icon-btn archive-back' });
  archiveBack.addEventListener('click', () => showArchive(false));
  const archiveHeading = h('h2', { class: 'archive-title', id: uid('archived'), text: 'Archived' });
  const archiveList = h('ul', { class: 'conv-list archive-list', role: 'list' });
  const archiveEmpty = h('p', { class: 'muted conv-empty', text: 'No archived chats.', hidden: true });
  const archiveView = h(
    'section',
    { class: 'archive-view', 'aria-labelledby': archiveHeading.id, hidden: true },
    h('div', { class: 'archive-head' }, archiveBack, archiveHeading),
    h('p', { class: 'list-hint', text: 'Archived chats stay here when new messages arrive.' }),
    archiveList,
    archiveEmpty,
  );
  // Which list is shown: 'main' or 'archived'.
  let mode = 'main';
  function showArchive(on) {
    mode = on ? 'archived' : 'main';
    render();
    (on ? archiveBack : archiveEntry).focus();
    nav.scrollTop = 0;
  }
  const empty = h(
    'div',
    { class: 'conv-empty' },
    h('p', { text: 'No conversations yet.' }),
    h('p', { class: 'muted', text: 'Start one with New chat, or create a group.' }),
  );
  const moreSpinner = h('span', { class: 'spinner', 'aria-hidden': 'true' });
  const moreText = h('span', { class: 'list-more-text' });
  const moreRetry = h('button', { type: 'button', class: 'btn small', text: 'Try again', hidden: true });
  moreRetry.addEventListener('click', () => {
    store.pages[mode].error = null;
    actions.moreConvs(mode);
  });
  const more = h('div', { class: 'list-more', role: 'status' }, moreSpinner, moreText, moreRetry);
  const mainView = h('div', { class: 'main-list' }, requests, chatsHeading, archiveEntry, list, empty);
  const nav = h('nav', { class: 'conv-nav', 'aria-label': 'Conversation list' }, mainView, archiveView, more);
  const nearEnd = () => nav.scrollHeight - nav.scrollTop - nav.clientHeight < MORE_PX;
  function maybeMore() {
    const pages = store.pages[mode];
    if (pages.next && !pages.loading && !pages.error && nearEnd()) actions.moreConvs(mode);
  }
  nav.addEventListener('scroll', maybeMore, { passive: true });
  let moreFrame = 0;

  const el = h(
    'aside',
    { class: 'sidebar', 'aria-label': 'Conversations' },
    h(
      'header',
      { class: 'side-head' },
      meAvatar,
      h('div', { class: 'me' }, meName, connection),
      searchButton,
      themeButton,
      settingsButton,
    ),
    offer,
    h('div', { class: 'side-actions' }, newChat, newGroup, newChannel),
    nav,
  );

  const cache = new Map();
  const requestCache = new Map();
  const archiveCache = new Map();
  let selected = null;

  /** A conversation's menu: my settings of it. */
  function menuItems(id) {
    const conv = store.convs.get(id);
    if (!conv || conv.stale) return [];
    return settingsItems(conv, {
      change: (changes) => settle(id, () => actions.convSettings(id, changes)),
      markRead: () => settle(id, () => actions.markRead(id)),
      markUnread: () => settle(id, () => actions.markUnread(id)),
    });
  }

  /**
   * Runs a change from a row's menu. When the row leaves the list shown
   * (archived, unarchived) focus goes to the row now in its place, or to
   * what leads to where it went.
   */
  async function settle(id, run) {
    const li = [cache, requestCache, archiveCache].map((c) => c.get(id)).find(Boolean);
    const parent = li?.parentElement;
    const index = parent ? [...parent.children].indexOf(li) : -1;
    await run();
    store.flush();
    const lost = !document.activeElement || document.activeElement === document.body;
    if (!lost) return;
    if (li?.isConnected) {
      // Moved (pinned to the top): focus stays with it.
      li.menu.button.focus();
      return;
    }
    const rows = parent ? [...parent.children] : [];
    const next = rows[Math.min(index, rows.length - 1)]?.querySelector('.conv-item');
    (next ?? (mode === 'main' ? (archiveEntry.hidden ? newChat : archiveEntry) : archiveBack)).focus?.();
  }

  function preview(conv) {
    const typing = store.typingIn(conv.id);
    if (typing.length) {
      const who = conv.kind === 'group' ? `${store.name(typing[0]) ?? 'someone'} is ` : '';
      return { text: `${who}typing…`, typing: true };
    }
    const m = conv.lastMessage;
    if (!m && conv.kind === 'channel') {
      return { text: conv.joined?.link ? 'You joined with a link' : 'No posts yet', typing: false };
    }
    if (!m) {
      if (conv.kind !== 'group') return { text: 'No messages yet', typing: false };
      if (conv.request) {
        const by = conv.joined?.by ?? conv.creator;
        return { text: `${store.name(by) ?? 'Someone'} added you to this group`, typing: false };
      }
      if (conv.joined?.link) return { text: 'You joined with a link', typing: false };
      if (conv.joined) {
        const by = conv.joined.by === store.me?.id ? 'You' : (store.name(conv.joined.by) ?? 'Someone');
        return { text: `${by} added you`, typing: false };
      }
      return { text: 'Group created', typing: false };
    }
    // A deleted message says only that (its text is gone).
    if (m.kind === 'deleted') return { text: 'Message deleted', typing: false, deleted: true };
    if (m.kind === 'hidden') return { text: 'You deleted this message for yourself', typing: false, deleted: true };
    let prefix = '';
    if (m.sender === store.me?.id) prefix = 'You: ';
    else if (conv.kind === 'group') prefix = `${store.name(m.sender) ?? '…'}: `;
    // A channel's posts speak for the channel: no author before them.
    // One line: newlines would only be collapsed by CSS anyway.
    return { text: prefix + messageSummary(m.text, m.attachments), typing: false };
  }

  function create(conv) {
    const id = conv.id;
    const link = h(
      'a',
      { class: 'conv-item', href: `#/c/${id}`, 'data-conv': id },
      avatar(conv.kind === 'direct' ? conv.peerId() : id, '', { dot: conv.kind === 'direct' }),
      h(
        'span',
        { class: 'conv-body' },
        h(
          'span',
          { class: 'conv-top' },
          h('span', { class: 'conv-kind', title: 'Channel', hidden: true }, icon('megaphone'), h('span', { class: 'sr-only', text: 'Channel: ' })),
          h('span', { class: 'conv-title' }),
          h('span', { class: 'conv-flag conv-muted', title: 'Muted', hidden: true }, icon('mute'), h('span', { class: 'sr-only', text: ' (muted)' })),
          h('span', { class: 'conv-flag conv-pinned', title: 'Pinned', hidden: true }, icon('pin'), h('span', { class: 'sr-only', text: ' (pinned)' })),
          h('time', { class: 'conv-time' }),
        ),
        h(
          'span',
          { class: 'conv-bottom' },
          h('span', { class: 'conv-preview' }),
          // Unread messages that mention me: an "@" before the count.
          h('span', { class: 'conv-mention', title: 'Mentions you', hidden: true }, h('span', { 'aria-hidden': 'true', text: '@' }), h('span', { class: 'sr-only', text: ' mentions you' })),
          h('span', { class: 'badge' }, h('span', { class: 'badge-count' }), h('span', { class: 'sr-only badge-word', text: ' unread' })),
        ),
      ),
    );
    const menu = menuButton(icon('more'), 'Options', () => menuItems(id), { className: 'icon-btn conv-menu-btn', wrapClass: 'conv-menu' });
    // A right click, or the context menu key, opens the same menu.
    link.addEventListener('contextmenu', (e) => {
      e.preventDefault();
      menu.open();
    });
    const li = h('li', { class: 'conv-row' }, link, menu.el);
    li.menu = menu;
    return li;
  }

  function update(li, conv) {
    const link = li.firstChild;
    const title = convTitle(conv, store);
    const [av, body] = link.children;
    updateAvatar(av, conv.kind === 'direct' ? conv.peerId() : conv.id, title, convAvatar(conv, store));
    link.dataset.title = title;
    link.dataset.kind = conv.kind;
    const s = conv.settings;
    link.dataset.pinned = String(!!s.pinned_at);
    link.dataset.muted = String(s.muted);
    link.dataset.marked = String(s.marked_unread);
    const top = body.children[0];
    const bottom = body.children[1];
    top.querySelector('.conv-kind').hidden = conv.kind !== 'channel';
    top.querySelector('.conv-muted').hidden = !s.muted;
    top.querySelector('.conv-pinned').hidden = !s.pinned_at;
    const titleEl = top.querySelector('.conv-title');
    const timeEl = top.querySelector('.conv-time');
    setText(titleEl, title);
    const ts = conv.lastMessage?.ts ?? conv.joined?.ts ?? conv.createdAt;
    setText(timeEl, listTime(ts));
    timeEl.setAttribute('datetime', new Date(ts).toISOString());
    const p = preview(conv);
    setText(bottom.children[0], p.text);
    bottom.children[0].classList.toggle('typing', p.typing);
    bottom.children[0].classList.toggle('deleted', !!p.deleted);
    // The count of unread messages (grey when muted), or a dot for one I
    // marked unread.
    const mentionBadge = bottom.children[1];
    mentionBadge.hidden = !(conv.unreadMentions > 0);
    mentionBadge.dataset.count = String(conv.unreadMentions ?? 0);
    const badge = bottom.children[2];
    const dot = conv.unread === 0 && s.marked_unread;
    badge.hidden = conv.unread === 0 && !dot;
    badge.classList.toggle('dot', dot);
    badge.classList.toggle('muted', s.muted);
    setText(badge.firstChild, dot ? '' : conv.unread > 99 ? '99+' : String(conv.unread));
    setText(badge.lastChild, dot ? 'Marked as unread' : ' unread');
    link.classList.toggle('unread', conv.unread > 0 || s.marked_unread);
    link.classList.toggle('muted', s.muted);
    const label = `Options for ${title}`;
    if (li.menu.button.getAttribute('aria-label') !== label) {
      li.menu.button.setAttribute('aria-label', label);
      li.menu.button.title = label;
    }
    toggleAttr(link, 'aria-current', conv.id === selected, 'page');
    if (conv.kind === 'direct') {
      const pr = store.presenceOf(conv.peerId());
      const dot = av.querySelector('.presence-dot');
      dot.dataset.online = pr?.online ? 'true' : 'false';
      dot.hidden = !pr?.online;
    }
  }

  function render() {
    const me = store.me;
    if (me) {
      const shown = store.name(me.id) ?? me.username;
      setText(meName, shown);
      meName.title = `@${me.username}`;
      updateAvatar(meAvatar, me.id, shown, me.avatar);
    }
    connection.dataset.state = store.connection;
    connection.dataset.transport = store.transport;
    const how = store.transport === 'sse' ? 'Server-Sent Events (WebSockets are blocked)' : 'WebSocket';
    if (connection.title !== how) connection.title = how;
    setText(connection.lastChild, CONNECTION_TEXT[store.connection] ?? store.connection);
    const dark = theme.resolved() === 'dark';
    const label = dark ? 'Switch to light theme' : 'Switch to dark theme';
    if (themeButton.getAttribute('aria-label') !== label) {
      themeButton.setAttribute('aria-label', label);
      themeButton.title = label;
      themeButton.replaceChildren(icon(dark ? 'sun' : 'moon'));
    }
    // A placeholder waits for its conversation's details before it is listed.
    const convs = store.sorted().filter((c) => !c.stale);
    const archived = convs.filter((c) => c.settings.archived);
    const shown = convs.filter((c) => !c.settings.archived);
    const asked = shown.filter((c) => c.request);
    const chats = shown.filter((c) => !c.request);
    reconcile(requestList, asked, (c) => c.id, create, update, requestCache);
    reconcile(list, chats, (c) => c.id, create, update, cache);
    reconcile(archiveList, archived, (c) => c.id, create, update, archiveCache);
    requests.hidden = asked.length === 0;
    chatsHeading.hidden = asked.length === 0 || chats.length === 0;
    setText(requestHeading, `Message requests (${asked.length})`);
    const moreArchived = !!store.pages.archived.next;
    archiveEntry.hidden = archived.length === 0 && !moreArchived;
    setText(archiveCount, `Archived (${archived.length}${moreArchived ? '+' : ''})`);
    empty.hidden = convs.length > 0 || !!store.pages.main.next || moreArchived;
    archiveEmpty.hidden = archived.length > 0 || moreArchived;
    mainView.hidden = mode !== 'main';
    archiveView.hidden = mode !== 'archived';
    const pages = store.pages[mode];
    const failed = pages.error;
    more.hidden = !pages.loading && !failed;
    moreSpinner.hidden = !pages.loading;
    moreRetry.hidden = !failed;
    setText(
      moreText,
      pages.loading ? 'Loading more conversations…' : failed ? `Could not load more conversations: ${failed.message}` : '',
    );
    // A list too short to scroll, or scrolled to its end already: the
    // next page now (once laid out).
    cancelAnimationFrame(moreFrame);
    moreFrame = requestAnimationFrame(maybeMore);
    renderOffer();
  }

  const off = [
    store.on(['convs', 'presence', 'typing', 'users', 'me', 'connection', 'outbox', 'blocks'], render),
    store.on(['me', 'reports'], renderAdminCount),
    theme.onChange(render),
  ];
  render();
  renderAdminCount();

  return {
    el,
    /** Highlights the open conversation (an archived one opens the archived view). */
    select(id) {
      selected = id;
      if (id && store.convs.get(id)?.settings.archived) mode = 'archived';
      render();
    },
    destroy() {
      cancelAnimationFrame(moreFrame);
      for (const f of off) f();
    },
  };
}
