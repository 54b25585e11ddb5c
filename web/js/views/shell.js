// The signed-in layout: sidebar and chat side by side (one at a time on a
// phone), routing by URL hash (`#/c/<conversation>`), dialogs, the title
// badge and notifications.

import { h } from '../dom.js';
import * as notify from '../notify.js';
import { chatView } from './chat.js';
import { icon } from '../icons.js';
import { convTitle, iconButton } from './common.js';
import { groupInfoDialog, newChatDialog, newGroupDialog } from './dialogs.js';
import { settingsDialog } from './settings.js';
import { sidebarView } from './sidebar.js';

const ROUTE = /^#\/c\/([0-9a-f-]{36})$/i;

/** The conversation id in the URL, if any. */
export function routeConv() {
  return ROUTE.exec(location.hash)?.[1]?.toLowerCase() ?? null;
}

/** Opens a conversation (through the URL, so Back works). */
export function openConv(id) {
  const hash = id ? `#/c/${id}` : '#/';
  if (location.hash !== hash) location.hash = hash;
}

export function shellView({ api, store, sync, onLogout }) {
  const actions = {
    back: () => openConv(null),
    newChat: () => newChatDialog({ api, store, open: openConv }),
    newGroup: () => newGroupDialog({ api, store, open: openConv }),
    groupInfo: (convId) => groupInfoDialog({ api, store, convId }),
    settings: () => settingsDialog({ api, store, sync, onLogout }),
    moreConvs: () => sync.loadMore(),
  };
  const sidebar = sidebarView({ store, actions });
  const chat = chatView({ store, sync, api, actions });
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

  function route() {
    const id = routeConv();
    // Opened by its address but not in the pages loaded so far.
    if (id) sync.ensure(id);
    el.dataset.view = id ? 'chat' : 'list';
    sidebar.select(id);
    chat.show(id);
    chat.visibilityChanged();
  }
  window.addEventListener('hashchange', route);

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
      if (visible) return;
      const who = store.username(ev.sender) ?? 'Someone';
      const title = conv.kind === 'group' ? `${who} in ${convTitle(conv, store)}` : who;
      notify.show({ title, body: ev.text, tag: conv.id, onClick: () => openConv(conv.id) });
    },
    destroy() {
      window.removeEventListener('hashchange', route);
      offBadge();
      offNotice();
      sidebar.destroy();
      chat.destroy();
      for (const d of document.querySelectorAll('dialog')) d.close();
    },
  };
}
