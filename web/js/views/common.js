// Small pieces shared by several views.

import { h, uid } from '../dom.js';
import { hue, initials } from '../format.js';

/** A round avatar with initials, coloured from the id; `dot` adds a presence dot. */
export function avatar(id, name, { size = 'md', dot = false } = {}) {
  const el = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true' }, h('span', { class: 'initials' }));
  if (dot) el.append(h('span', { class: 'presence-dot' }));
  updateAvatar(el, id, name);
  return el;
}

/** Refreshes an avatar's initials and colour. */
export function updateAvatar(el, id, name) {
  const text = initials(name);
  const span = el.firstChild;
  if (span.textContent !== text) span.textContent = text;
  // A CSS variable set through the CSSOM (allowed by the page's policy).
  el.style.setProperty('--hue', String(hue(id ?? name)));
}

/** A button with an icon and an accessible name (visible or not). */
export function iconButton(iconEl, label, { text, className = 'icon-btn', ...props } = {}) {
  return h(
    'button',
    { type: 'button', class: className, 'aria-label': text ? undefined : label, title: label, ...props },
    iconEl,
    text ? h('span', { text }) : null,
  );
}

/**
 * The conversation's title as the user sees it: a group's name, or in a
 * direct conversation the other person's display name (else username).
 */
export function convTitle(conv, store) {
  if (conv.kind === 'direct') {
    return store.name(conv.peerId()) ?? conv.peer?.display_name ?? conv.peer?.username ?? 'Direct message';
  }
  return conv.name ?? (conv.kind === 'channel' ? 'Channel' : 'Group');
}

/**
 * The entries of a conversation's menu for my own settings of it (in the
 * list and in the chat's header): pin, mute (and hide the badge), mark as
 * read or unread, archive. `change(changes)` sends a change of settings;
 * `markRead()` and `markUnread()` do those.
 */
export function settingsItems(conv, { change, markRead, markUnread }) {
  const s = conv.settings;
  const out = [];
  out.push(s.pinned_at ? { label: 'Unpin', onSelect: () => change({ pinned: false }) } : { label: 'Pin', onSelect: () => change({ pinned: true }) });
  if (s.muted) {
    out.push({ label: 'Unmute', onSelect: () => change({ muted: false, hide_badge: false }) });
    out.push(
      s.hide_badge
        ? { label: 'Count in the badge again', onSelect: () => change({ hide_badge: false }) }
        : { label: 'Also hide the badge', onSelect: () => change({ hide_badge: true }) },
    );
  } else {
    out.push({ label: 'Mute', onSelect: () => change({ muted: true, hide_badge: false }) });
    out.push({ label: 'Mute and hide the badge', onSelect: () => change({ muted: true, hide_badge: true }) });
  }
  if (conv.unread > 0 || s.marked_unread) out.push({ label: 'Mark as read', onSelect: () => markRead() });
  else out.push({ label: 'Mark as unread', onSelect: () => markUnread() });
  out.push(s.archived ? { label: 'Unarchive', onSelect: () => change({ archived: false }) } : { label: 'Archive', onSelect: () => change({ archived: true }) });
  return out;
}

/**
 * A menu button (the WAI-ARIA menu button pattern): `items()` is asked
 * each time it opens for `[{label, onSelect, danger}]`. Arrow keys move,
 * Escape closes and gives focus back to the button, a click elsewhere
 * closes.
 */
export function menuButton(iconEl, label, items, { className = 'icon-btn', wrapClass = '' } = {}) {
  const menu = h('div', { class: 'menu', role: 'menu', id: uid('menu'), hidden: true, 'aria-label': label });
  const button = iconButton(iconEl, label, {
    class: className,
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    'aria-controls': menu.id,
  });
  const el = h('div', { class: `menu-wrap${wrapClass ? ` ${wrapClass}` : ''}` }, button, menu);
  const entries = () => [...menu.querySelectorAll('[role="menuitem"]')];

  function close(focusButton) {
    if (menu.hidden) return;
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', outside, true);
    if (focusButton) button.focus();
  }
  function outside(e) {
    if (!el.contains(e.target)) close(false);
  }
  function open() {
    menu.replaceChildren(
      ...items().map((it) => {
        const b = h('button', {
          type: 'button',
          role: 'menuitem',
          tabindex: '-1',
          class: `menu-item${it.danger ? ' danger' : ''}`,
          text: it.label,
        });
        b.addEventListener('click', () => {
          close(true);
          it.onSelect();
        });
        return b;
      }),
    );
    if (!menu.childElementCount) return;
    menu.hidden = false;
    // Opens upwards where there is no room below (the end of a list).
    menu.classList.remove('up');
    const box = menu.getBoundingClientRect();
    if (box.bottom > window.innerHeight - 8 && button.getBoundingClientRect().top > box.height + 8) menu.classList.add('up');
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', outside, true);
    entries()[0].focus();
  }
  button.addEventListener('click', () => (menu.hidden ? open() : close(true)));
  menu.addEventListener('keydown', (e) => {
    const list = entries();
    const at = list.indexOf(document.activeElement);
    if (e.key === 'Escape') close(true);
    else if (e.key === 'ArrowDown') list[(at + 1) % list.length].focus();
    else if (e.key === 'ArrowUp') list[(at - 1 + list.length) % list.length].focus();
    else if (e.key === 'Home') list[0].focus();
    else if (e.key === 'End') list[list.length - 1].focus();
    else if (e.key === 'Tab') {
      close(false);
      return;
    } else return;
    e.preventDefault();
    e.stopPropagation();
  });
  return {
    el,
    button,
    close: () => close(false),
    /** Opens it (a context menu's key or right click on what it belongs to). */
    open: () => menu.hidden && open(),
  };
}
