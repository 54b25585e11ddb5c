// The signed-in layout: sidebar and chat side by side (one at a time on a
// phone), routing by URL hash (`#/c/<conversation>`, `#/c/<conversation>/<seq>`
// for a message's link, `#/join/<token>`),
// the join page of an invite link, dialogs, the message search (Ctrl-K or
// ⌘K anywhere), my settings of each conversation (opening one I marked
// unread clears the mark), the title badge and notifications (none for a
// muted conversation).

import { ApiError } from '../api.js';
import { h, setText } from '../dom.js';
import { messageSummary, plural } from '../format.js';
import * as notify from '../notify.js';
import { chatView } from './chat.js';
import { icon } from '../icons.js';
import { convTitle, iconButton } from './common.js';
import { groupInfoDialog, newChannelDialog, newChatDialog, newGroupDialog } from './dialogs.js';
import { isSearchKey, messageSearch } from './search.js';
import { settingsDialog } from './settings.js';
import { sidebarView } from './sidebar.js';

// `#/c/<conversation>`, or `#/c/<conversation>/<seq>`: a message's link.
const ROUTE = /^#\/c\/([0-9a-f-]{36})(?:\/(\d{1,15}))?$/i;
const JOIN_ROUTE = /^#\/join\/([A-Za-z0-9_-]{1,64})$/;

/** The conversation id in the URL, if any. */
export function routeConv() {
  return ROUTE.exec(location.hash)?.[1]?.toLowerCase() ?? null;
}

/** The message a link points at (`#/c/<id>/<seq>`), if any. */
export function routeSeq() {
  const seq = ROUTE.exec(location.hash)?.[2];
  return seq ? Number(seq) : null;
}

/** The invite link's token in the URL (`#/join/<token>`), if any. */
export function routeJoin() {
  return JOIN_ROUTE.exec(location.hash)?.[1] ?? null;
}

/** The address of an invite link in this client: `<origin>/#/join/<token>`. */
export function inviteUrl(token) {
  return `${location.origin}/#/join/${token}`;
}

/**
 * The join page of an invite link: what the link leads to (the group's
 * or channel's name, description and member count, from `GET
 * /v1/invites/{token}`, whose `kind` says which) with Join, or Open when
 * I am a member already. A link that does not work shows the server's
 * message. Joining opens the group or channel.
 */
function joinView({ api, store }) {
  const heading = h('h2', { class: 'join-title', id: 'join-title', tabindex: '-1', text: 'Invite link' });
  const state = h('p', { class: 'muted join-state', role: 'status' });
  const about = h('p', { class: 'group-description join-description', hidden: true });
  const count = h('p', { class: 'muted join-count', hidden: true });
  const error = h('p', { class: 'form-error join-error', role: 'alert' });
  const action = h('button', { type: 'button', class: 'btn primary', hidden: true });
  const back = h('a', { class: 'btn ghost', href: '#/', text: 'Back to chats' });
  const el = h(
    'section',
    { class: 'join-page', hidden: true, 'aria-labelledby': heading.id },
    h('div', { class: 'join-card' }, heading, state, about, count, error, h('div', { class: 'dialog-actions' }, back, action)),
  );
  let token = null;
  let preview = null;
  let busy = false;

  const message = (e) => {
    const text = e instanceof ApiError ? e.message : (e?.message ?? 'Something went wrong.');
    return text.charAt(0).toUpperCase() + text.slice(1);
  };

  function render() {
    if (!preview) {
      about.hidden = true;
      count.hidden = true;
      action.hidden = true;
      return;
    }
    const channel = (preview.kind ?? store.convs.get(preview.conv)?.kind) === 'channel';
    setText(heading, preview.name ?? (channel ? 'Channel' : 'Group'));
    setText(about, preview.description ?? '');
    about.hidden = !preview.description;
    setText(count, plural(preview.member_count ?? 0, channel ? 'subscriber' : 'member'));
    count.hidden = false;
    const member = preview.member || store.convs.has(preview.conv);
    setText(
      state,
      member
        ? `You are ${channel ? 'subscribed to this channel' : 'a member of this group'}.`
        : `You are invited to join this ${channel ? 'channel' : 'group'}.`,
    );
    setText(action, member ? 'Open' : busy ? 'Joining…' : 'Join');
    action.disabled = busy;
    action.hidden = false;
  }

  async function load(t) {
    token = t;
    preview = null;
    busy = false;
    setText(heading, 'Invite link');
    setText(state, 'Loading the invite link…');
    setText(error, '');
    render();
    try {
      const answer = await api.invitePreview(t);
      if (token !== t) return;
      preview = answer;
      render();
    } catch (e) {
      if (token !== t) return;
      setText(state, '');
      setText(heading, 'This invite link does not work');
      setText(error, message(e));
    }
  }

  action.addEventListener('click', async () => {
    if (!preview || busy) return;
    if (preview.member || store.convs.has(preview.conv)) {
      openConv(preview.conv);
      return;
    }
    const t = token;
    busy = true;
    setText(error, '');
    render();
    try {
      const info = await api.joinInvite(t);
      store.upsert(info);
      if (token === t) openConv(info.id);
    } catch (e) {
      if (token !== t) return;
      if (e instanceof ApiError && e.code === 'not_found') {
        // The link stopped working since it was shown (revoked, used up).
        preview = null;
        setText(state, '');
        setText(heading, 'This invite link does not work');
      }
      setText(error, message(e));
    } finally {
      busy = false;
      if (token === t) render();
    }
  });

  return {
    el,
    /** Shows the page for `t`, or hides it (`null`). */
    show(t) {
      el.hidden = !t;
      if (!t) {
        token = null;
        preview = null;
        return;
      }
      if (t !== token) load(t);
      queueMicrotask(() => heading.focus({ preventScroll: true }));
    },
  };
}

/** Opens a conversation (through the URL, so Back works). */
export function openConv(id) {
  const hash = id ? `#/c/${id}` : '#/';
  if (location.hash !== hash) location.hash = hash;
}

export function shellView({ api, store, sync, onLogout }) {
  /** Changes my settings of a conversation; a refusal is told in a notice. */
  async function changeSettings(id, changes) {
    try {
      await sync.setSettings(id, changes);
    } catch (e) {
      store.setNotice(`Could not change the conversation’s settings: ${e.message}`);
    }
  }
  // A result opens its message by the message's address, as a link does.
  const search = messageSearch({ api, store, sync, open: (id, seq) => (location.hash = `#/c/${id}/${seq}`) });
  const actions = {
    back: () => openConv(null),
    search: () => search.show(routeConv()),
    newChat: () => newChatDialog({ api, store, sync, open: openConv }),
    newGroup: () => newGroupDialog({ api, store, open: openConv }),
    newChannel: () => newChannelDialog({ api, store, open: openConv }),
    groupInfo: (convId) => groupInfoDialog({ api, store, convId, linkOf: inviteUrl, leave: (id) => sync.leave(id) }),
    settings: () => settingsDialog({ api, store, sync, onLogout }),
    moreConvs: (which) => sync.loadMore(which),
    convSettings: (id, changes) => changeSettings(id, changes),
    /** Reads everything in it, and clears my unread mark. */
    markRead: async (id) => {
      sync.markRead(id);
      if (store.convs.get(id)?.settings.marked_unread) await changeSettings(id, { marked_unread: false });
    },
    /** Marks it unread (to come back to it): an open one closes. */
    markUnread: async (id) => {
      if (routeConv() === id) openConv(null);
      await changeSettings(id, { marked_unread: true });
    },
  };
  const sidebar = sidebarView({ store, actions });
  const chat = chatView({ store, sync, api, actions });
  const join = joinView({ api, store });
  chat.el.append(join.el);
  const skip = h('a', { class: 'skip-link', href: '#chat', text: 'Skip to chat' });
  // The page's heading, for those who move by headings (the logo says it
  // to everyone else).
  const heading = h('h1', { class: 'sr-only', text: 'natter' });
  // A short notice, such as "You were removed from Book club": a live
  // region that is always in the page, so screen readers announce it.
  const noticeText = h('p', { class: 'toast-text' });
  const noticeClose = iconButton(icon('close'), 'Dismiss', { class: 'icon-btn toast-close' });
  noticeClose.addEventListener('click', () => store.setNotice(null));
  const noticeBox = h('div', { class: 'toast', hidden: true }, noticeText, noticeClose);
  const noticeRegion = h('div', { class: 'toast-region', role: 'status' }, noticeBox);
  const el = h('div', { class: 'app', 'data-view': 'list' }, skip, heading, sidebar.el, chat.el, noticeRegion);
  const offNotice = store.on(['notice'], () => {
    noticeText.textContent = store.notice?.text ?? '';
    noticeBox.hidden = !store.notice;
  });

  let opened = null;
  function route() {
    const id = routeConv();
    const token = id ? null : routeJoin();
    // Opened by its address but not in the pages loaded so far.
    if (id) sync.ensure(id);
    // Opening one I marked unread clears the mark, on all my devices.
    if (id && id !== opened && store.convs.get(id)?.settings.marked_unread) changeSettings(id, { marked_unread: false });
    opened = id;
    el.dataset.view = id || token ? 'chat' : 'list';
    chat.el.classList.toggle('joining', !!token);
    join.show(token);
    sidebar.select(id);
    const seq = routeSeq();
    // A message's link opens its conversation there; the address becomes
    // the conversation's again, so the same link works a second time.
    if (seq) history.replaceState(null, '', `#/c/${id}`);
    chat.show(id, seq);
    chat.visibilityChanged();
  }
  window.addEventListener('hashchange', route);

  // Ctrl-K (⌘K) opens the search from anywhere, except over another
  // dialog (finished or closed first).
  function searchKey(e) {
    if (!isSearchKey(e) || e.repeat) return;
    if (!search.isOpen() && document.querySelector('dialog[open]')) return;
    e.preventDefault();
    actions.search();
  }
  document.addEventListener('keydown', searchKey);

  const offBadge = store.on(['convs'], () => {
    notify.setBadge(store.unreadTotal());
    // The open conversation was left (here or on another device): close it.
    const id = routeConv();
    if (id && store.gone.has(id) && !store.convs.has(id)) openConv(null);
  });
  route();

  return {
    el,
    /** A message from someone else arrived live. */
    message(conv, ev) {
      const visible = document.visibilityState === 'visible';
      // Muted: no notification (the unread count still shows).
      if (visible || conv.settings.muted) return;
      const who = store.name(ev.sender) ?? 'Someone';
      // A channel's post speaks for the channel.
      const title =
        conv.kind === 'channel' ? convTitle(conv, store) : conv.kind === 'group' ? `${who} in ${convTitle(conv, store)}` : who;
      notify.show({ title, body: ev.attachments?.length ? messageSummary(ev.text, ev.attachments) : ev.text, tag: conv.id, onClick: () => openConv(conv.id) });
    },
    destroy() {
      window.removeEventListener('hashchange', route);
      document.removeEventListener('keydown', searchKey);
      offBadge();
      offNotice();
      sidebar.destroy();
      chat.destroy();
      for (const d of document.querySelectorAll('dialog')) d.close();
    },
  };
}
