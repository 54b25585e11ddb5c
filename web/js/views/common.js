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

/** The conversation's title as the user sees it (`bob`, `Book club`). */
export function convTitle(conv, store) {
  if (conv.kind === 'direct') {
    return conv.peer?.username ?? store.username(conv.peerId()) ?? 'Direct message';
  }
  return conv.name ?? (conv.kind === 'channel' ? 'Channel' : 'Group');
}

/**
 * A menu button (the WAI-ARIA menu button pattern): `items()` is asked
 * each time it opens for `[{label, onSelect, danger}]`. Arrow keys move,
 * Escape closes and gives focus back to the button, a click elsewhere
 * closes.
 */
export function menuButton(iconEl, label, items, { className = 'icon-btn' } = {}) {
  const menu = h('div', { class: 'menu', role: 'menu', id: uid('menu'), hidden: true, 'aria-label': label });
  const button = iconButton(iconEl, label, {
    class: className,
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    'aria-controls': menu.id,
  });
  const el = h('div', { class: 'menu-wrap' }, button, menu);
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
  return { el, button, close: () => close(false) };
}
