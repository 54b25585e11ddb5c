// The sidebar: who I am, the connection state, actions, and the
// conversation list (name or @peer, last message, time, unread badge,
// presence dot for direct conversations). Message requests and group
// invitations are listed apart, above the others, until they are accepted.
// Broadcast channels carry a megaphone (and "Channel" for screen readers).
// The list comes in pages: scrolling near its end loads the next one.

import { h, reconcile, setText, toggleAttr, uid } from '../dom.js';
import { listTime } from '../format.js';
import { icon } from '../icons.js';
import * as notify from '../notify.js';
import * as theme from '../theme.js';
import { avatar, convTitle, iconButton, updateAvatar } from './common.js';

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
  const themeButton = iconButton(icon('moon'), 'Switch to dark theme', { class: 'icon-btn theme-toggle' });
  themeButton.addEventListener('click', () => theme.toggle());
  const settingsButton = iconButton(icon('gear'), 'Settings', { class: 'icon-btn settings-btn' });
  settingsButton.addEventListener('click', () => actions.settings());

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
    store.moreError = null;
    actions.moreConvs();
  });
  const more = h('div', { class: 'list-more', role: 'status' }, moreSpinner, moreText, moreRetry);
  const nav = h('nav', { class: 'conv-nav', 'aria-label': 'Conversation list' }, requests, chatsHeading, list, empty, more);
  const nearEnd = () => nav.scrollHeight - nav.scrollTop - nav.clientHeight < MORE_PX;
  function maybeMore() {
    if (store.next && !store.loadingMore && !store.moreError && nearEnd()) actions.moreConvs();
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
      themeButton,
      settingsButton,
    ),
    offer,
    h('div', { class: 'side-actions' }, newChat, newGroup, newChannel),
    nav,
  );

  const cache = new Map();
  const requestCache = new Map();
  let selected = null;

  function preview(conv) {
    const typing = store.typingIn(conv.id);
    if (typing.length) {
      const who = conv.kind === 'group' ? `${store.username(typing[0]) ?? 'someone'} is ` : '';
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
        return { text: `${store.username(by) ?? 'Someone'} added you to this group`, typing: false };
      }
      if (conv.joined?.link) return { text: 'You joined with a link', typing: false };
      if (conv.joined) {
        const by = conv.joined.by === store.me?.id ? 'You' : (store.username(conv.joined.by) ?? 'Someone');
        return { text: `${by} added you`, typing: false };
      }
      return { text: 'Group created', typing: false };
    }
    let prefix = '';
    if (m.sender === store.me?.id) prefix = 'You: ';
    else if (conv.kind === 'group') prefix = `${store.username(m.sender) ?? '…'}: `;
    // A channel's posts speak for the channel: no author before them.
    // One line: newlines would only be collapsed by CSS anyway.
    return { text: prefix + m.text.replace(/\s+/g, ' '), typing: false };
  }

  function create(conv) {
    const link = h(
      'a',
      { class: 'conv-item', href: `#/c/${conv.id}`, 'data-conv': conv.id },
      avatar(conv.kind === 'direct' ? conv.peerId() : conv.id, '', { dot: conv.kind === 'direct' }),
      h(
        'span',
        { class: 'conv-body' },
        h(
          'span',
          { class: 'conv-top' },
          h('span', { class: 'conv-kind', title: 'Channel', hidden: true }, icon('megaphone'), h('span', { class: 'sr-only', text: 'Channel: ' })),
          h('span', { class: 'conv-title' }),
          h('time', { class: 'conv-time' }),
        ),
        h(
          'span',
          { class: 'conv-bottom' },
          h('span', { class: 'conv-preview' }),
          h('span', { class: 'badge' }, h('span', { class: 'badge-count' }), h('span', { class: 'sr-only', text: ' unread' })),
        ),
      ),
    );
    return h('li', {}, link);
  }

  function update(li, conv) {
    const link = li.firstChild;
    const title = convTitle(conv, store);
    const [av, body] = link.children;
    updateAvatar(av, conv.kind === 'direct' ? conv.peerId() : conv.id, title);
    link.dataset.title = title;
    link.dataset.kind = conv.kind;
    const top = body.children[0];
    const bottom = body.children[1];
    top.querySelector('.conv-kind').hidden = conv.kind !== 'channel';
    const titleEl = top.querySelector('.conv-title');
    const timeEl = top.querySelector('.conv-time');
    setText(titleEl, title);
    const ts = conv.lastMessage?.ts ?? conv.joined?.ts ?? conv.createdAt;
    setText(timeEl, listTime(ts));
    timeEl.setAttribute('datetime', new Date(ts).toISOString());
    const p = preview(conv);
    setText(bottom.children[0], p.text);
    bottom.children[0].classList.toggle('typing', p.typing);
    const badge = bottom.children[1];
    badge.hidden = conv.unread === 0;
    setText(badge.firstChild, conv.unread > 99 ? '99+' : String(conv.unread));
    link.classList.toggle('unread', conv.unread > 0);
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
      setText(meName, me.username);
      updateAvatar(meAvatar, me.id, me.username);
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
    const asked = convs.filter((c) => c.request);
    const chats = convs.filter((c) => !c.request);
    reconcile(requestList, asked, (c) => c.id, create, update, requestCache);
    reconcile(list, chats, (c) => c.id, create, update, cache);
    requests.hidden = asked.length === 0;
    chatsHeading.hidden = asked.length === 0 || chats.length === 0;
    setText(requestHeading, `Message requests (${asked.length})`);
    empty.hidden = convs.length > 0 || !!store.next;
    const failed = store.moreError;
    more.hidden = !store.loadingMore && !failed;
    moreSpinner.hidden = !store.loadingMore;
    moreRetry.hidden = !failed;
    setText(
      moreText,
      store.loadingMore ? 'Loading more conversations…' : failed ? `Could not load more conversations: ${failed.message}` : '',
    );
    // A list too short to scroll, or scrolled to its end already: the
    // next page now (once laid out).
    cancelAnimationFrame(moreFrame);
    moreFrame = requestAnimationFrame(maybeMore);
    renderOffer();
  }

  const off = [
    store.on(['convs', 'presence', 'typing', 'users', 'connection', 'outbox', 'blocks'], render),
    theme.onChange(render),
  ];
  render();

  return {
    el,
    /** Highlights the open conversation. */
    select(id) {
      selected = id;
      render();
    },
    destroy() {
      cancelAnimationFrame(moreFrame);
      for (const f of off) f();
    },
  };
}
