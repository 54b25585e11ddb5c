// Small pieces shared by several views.

import { h } from '../dom.js';
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

/** The conversation's title as the user sees it (`bob`, `Book club`). */
export function convTitle(conv, store) {
  if (conv.kind === 'direct') {
    return conv.peer?.username ?? store.username(conv.peerId()) ?? 'Direct message';
  }
  return conv.name ?? 'Group';
}
