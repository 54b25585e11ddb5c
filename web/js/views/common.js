// Small pieces shared by several views: avatars (a picture, else
// initials) and choosing one, icon and menu buttons, the reaction picker
// and the "@" autocomplete of a text box.

import { byteOffset, h, setText, uid } from '../dom.js';
import { hue, initials } from '../format.js';
import { EMOJI, icon, searchEmoji } from '../icons.js';
import * as storage from '../storage.js';
import { Upload, uploadErrorText } from '../uploads.js';

/**
 * A round avatar: the picture when there is one (`image`, an avatar id),
 * else initials on a colour from the id; `dot` adds a presence dot.
 */
export function avatar(id, name, { size = 'md', dot = false, image = null } = {}) {
  const el = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true' }, h('span', { class: 'initials' }));
  if (dot) el.append(h('span', { class: 'presence-dot' }));
  updateAvatar(el, id, name, image);
  return el;
}

/** The avatar picture's address (no token needed): 64 px, or 256 px for `large`. */
export function avatarUrl(image, large = false) {
  return `/v1/avatars/${encodeURIComponent(image)}?size=${large ? 'large' : 'small'}`;
}

/** Refreshes an avatar's initials, colour and picture. */
export function updateAvatar(el, id, name, image = null) {
  const text = initials(name);
  const span = el.firstChild;
  if (span.textContent !== text) span.textContent = text;
  // A CSS variable set through the CSSOM (allowed by the page's policy).
  el.style.setProperty('--hue', String(hue(id ?? name)));
  let img = el.querySelector(':scope > .avatar-img');
  if ((el.dataset.image ?? '') === (image ?? '')) return;
  if (image) el.dataset.image = image;
  else delete el.dataset.image;
  if (!image) {
    img?.remove();
    el.classList.remove('has-image');
    return;
  }
  if (!img) {
    img = h('img', { class: 'avatar-img', alt: '', decoding: 'async', draggable: 'false' });
    // Not there (removed since): the initials stay.
    img.addEventListener('error', () => {
      img.remove();
      el.classList.remove('has-image');
    });
    el.insertBefore(img, span.nextSibling);
  }
  img.src = avatarUrl(image, el.classList.contains('lg'));
  el.classList.add('has-image');
}

/** The picture of a conversation: a group's own, or the other person's in a direct one. */
export function convAvatar(conv, store) {
  if (conv.kind === 'direct') {
    const peer = conv.peerId();
    return (peer && store.user(peer)?.avatar) || conv.peer?.avatar || null;
  }
  return conv.avatar ?? null;
}

/**
 * Choosing or removing a picture (mine in settings, a group's in its
 * panel): the avatar as it is, "Choose a picture…" (the file is uploaded,
 * with its progress, then `save(uploadId)`), and "Remove picture" when
 * there is one (`save(null)`). `show()` gives `{id, name, image}`; the
 * server's refusal is shown in words.
 */
export function avatarEditor({ api, show, save, label = 'picture' }) {
  const pic = avatar(null, '?', { size: 'lg' });
  const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp', hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
  const chooseText = h('span');
  const choose = h('button', { type: 'button', class: 'btn small avatar-choose' }, icon('camera', 'icon small-icon'), chooseText);
  const remove = h('button', { type: 'button', class: 'btn small ghost avatar-remove', text: `Remove ${label}` });
  const progress = h('progress', { class: 'avatar-progress', max: '100', value: '0', hidden: true, 'aria-label': `Uploading the ${label}` });
  const status = h('p', { class: 'muted avatar-status', role: 'status' });
  const error = h('p', { class: 'avatar-error', role: 'alert' });
  const el = h('div', { class: 'avatar-editor' }, pic, h('div', { class: 'avatar-actions' }, h('div', { class: 'avatar-buttons' }, choose, remove), progress, status, error), input);
  function refresh() {
    const { id, name, image } = show();
    updateAvatar(pic, id, name, image);
    setText(chooseText, image ? `Change ${label}…` : `Choose a ${label}…`);
    remove.hidden = !image;
  }
  async function run(work, done) {
    setText(error, '');
    setText(status, '');
    choose.disabled = remove.disabled = true;
    try {
      await work();
      setText(status, done);
    } catch (e) {
      setText(error, e.message);
    } finally {
      choose.disabled = remove.disabled = false;
      progress.hidden = true;
      refresh();
    }
  }
  choose.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    const file = input.files[0];
    input.value = '';
    if (!file) return;
    run(async () => {
      progress.value = 0;
      progress.hidden = false;
      const up = new Upload(api, file, {
        onProgress: (sent, total) => {
          progress.value = total ? Math.floor((100 * sent) / total) : 0;
        },
      });
      let info;
      try {
        info = await up.start();
      } catch (e) {
        throw new Error(uploadErrorText(file.name || 'The picture', e));
      }
      if (info.kind && info.kind !== 'image') throw new Error(`${file.name} is not a picture.`);
      await save(info.id);
    }, `New ${label} saved.`);
  });
  remove.addEventListener('click', () => run(() => save(null), `${label.charAt(0).toUpperCase()}${label.slice(1)} removed.`));
  refresh();
  return { el, refresh };
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

// ---- reactions ----

const RECENT_EMOJI = 'emoji.recent';
const RECENT_MAX = 16;

/** The reactions I used lately on this device, the latest first. */
export function recentEmoji() {
  const list = storage.pref(RECENT_EMOJI);
  return Array.isArray(list) ? list.filter((e) => typeof e === 'string').slice(0, RECENT_MAX) : [];
}

/** Remembers a reaction I used. */
export function noteEmoji(emoji) {
  storage.setPref(RECENT_EMOJI, [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX));
}

let openPicker = null;

/**
 * The reaction picker: a popup by `anchor` with a search box, the recent
 * reactions and the built-in list. `onPick(emoji)` gets the choice.
 * Escape, a choice or a click elsewhere closes it; focus goes back to
 * the anchor.
 */
export function emojiPicker(anchor, onPick) {
  openPicker?.close(false);
  const search = h('input', { type: 'search', class: 'emoji-search', 'aria-label': 'Search emoji', placeholder: 'Search emoji', autocomplete: 'off' });
  const recentGrid = h('div', { class: 'emoji-grid', role: 'group', 'aria-label': 'Recently used' });
  const recentHead = h('p', { class: 'emoji-head', text: 'Recently used' });
  const grid = h('div', { class: 'emoji-grid', role: 'group', 'aria-label': 'All emoji' });
  const none = h('p', { class: 'emoji-none muted', text: 'No emoji found.', hidden: true });
  const el = h(
    'div',
    { class: 'emoji-picker', role: 'dialog', 'aria-label': 'Choose a reaction' },
    search,
    h('div', { class: 'emoji-scroll' }, recentHead, recentGrid, h('p', { class: 'emoji-head', text: 'Emoji' }), grid, none),
  );
  const button = (e) =>
    h('button', { type: 'button', class: 'emoji-btn', title: e.name, 'aria-label': e.name, dataset: { emoji: e.emoji }, text: e.emoji });
  const byEmoji = new Map(EMOJI.map((e) => [e.emoji, e]));
  const recent = recentEmoji();
  recentGrid.append(...recent.map((e) => button(byEmoji.get(e) ?? { emoji: e, name: e })));
  recentHead.hidden = recentGrid.hidden = recent.length === 0;
  grid.append(...EMOJI.map(button));
  function filter() {
    const q = search.value.trim();
    const shown = new Set(searchEmoji(q).map((e) => e.emoji));
    for (const b of grid.children) b.hidden = !shown.has(b.dataset.emoji);
    none.hidden = shown.size > 0;
    recentHead.hidden = recentGrid.hidden = !!q || recent.length === 0;
  }
  search.addEventListener('input', filter);
  el.addEventListener('click', (e) => {
    const b = e.target.closest('.emoji-btn');
    if (!b) return;
    close(true);
    noteEmoji(b.dataset.emoji);
    onPick(b.dataset.emoji);
  });
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    } else if (e.key === 'Enter' && e.target === search) {
      e.preventDefault();
      [...grid.children].find((b) => !b.hidden)?.click();
    }
  });
  function outside(e) {
    if (!el.contains(e.target) && e.target !== anchor && !anchor.contains(e.target)) close(false);
  }
  function close(focusAnchor) {
    if (!el.isConnected) return;
    el.remove();
    document.removeEventListener('pointerdown', outside, true);
    if (openPicker?.el === el) openPicker = null;
    if (focusAnchor && anchor.isConnected) anchor.focus();
  }
  document.body.append(el);
  // Beside the anchor, above it when there is room, inside the window.
  const a = anchor.getBoundingClientRect();
  const box = el.getBoundingClientRect();
  const top = a.top - box.height - 6 >= 8 ? a.top - box.height - 6 : Math.min(a.bottom + 6, window.innerHeight - box.height - 8);
  const left = Math.max(8, Math.min(a.left, window.innerWidth - box.width - 8));
  el.style.setProperty('top', `${Math.max(8, top)}px`);
  el.style.setProperty('left', `${left}px`);
  document.addEventListener('pointerdown', outside, true);
  search.focus();
  openPicker = { el, close };
  return openPicker;
}

// ---- mentions ----

const MENTION = /(^|[^\p{L}\p{N}_.-])@([a-z0-9][a-z0-9_.-]{0,31})/giu;
const MENTION_ALL = /(^|[^\p{L}\p{N}_])@(everyone|here)(?![\p{L}\p{N}_])/u;

/**
 * The mentions in `text` (protocol.md, "Sending … mentions"): each
 * `@username` of one of `people` ([{id, username}]) as `{user, start,
 * end}` in UTF-8 byte offsets, and `@everyone` or `@here` when `all` may
 * be used. Returns `{mentions, mention_all}`.
 */
export function mentionsIn(text, people, { all = false } = {}) {
  const byName = new Map(people.filter((p) => p?.username).map((p) => [p.username.toLowerCase(), p.id]));
  const mentions = [];
  for (const m of text.matchAll(MENTION)) {
    let name = m[2].toLowerCase();
    // A sentence may end right after the name.
    while (name && !byName.has(name) && /[_.-]$/.test(name)) name = name.slice(0, -1);
    const user = byName.get(name);
    if (!user) continue;
    const start = m.index + m[1].length;
    const end = start + 1 + name.length;
    mentions.push({ user, start: byteOffset(text, start), end: byteOffset(text, end) });
    if (mentions.length >= 50) break;
  }
  const everyone = all ? MENTION_ALL.exec(text)?.[2]?.toLowerCase() : null;
  return { mentions, mention_all: everyone ?? null };
}

/**
 * "@" autocomplete for a text box: typing `@` and the start of a name
 * lists matching `people()` ([{id, username, name}]), and `@everyone` /
 * `@here` when `allowAll()`. Arrow keys move, Enter or Tab (or a click)
 * chooses, Escape closes. Choosing writes `@username `. Its key handler
 * must run before the box's own (create it first).
 */
export function mentionAutocomplete(textarea, { people, allowAll = () => false }) {
  const list = h('ul', { class: 'mention-list', role: 'listbox', id: uid('mentions'), 'aria-label': 'People to mention', hidden: true });
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', list.id);
  let items = [];
  let active = 0;
  let range = null;

  function query() {
    const pos = textarea.selectionStart;
    if (pos !== textarea.selectionEnd) return null;
    const m = /(^|[\s(])@([\p{L}\p{N}_.-]{0,32})$/u.exec(textarea.value.slice(0, pos));
    return m ? { start: pos - m[2].length - 1, end: pos, q: m[2].toLowerCase() } : null;
  }
  function close() {
    if (list.hidden) return;
    list.hidden = true;
    list.replaceChildren();
    items = [];
    textarea.removeAttribute('aria-activedescendant');
  }
  function update() {
    range = query();
    if (!range) return close();
    const q = range.q;
    const starts = (s) => !!s && s.toLowerCase().split(/\s+/).some((w) => w.startsWith(q));
    items = people()
      .filter((p) => p.username && (p.username.startsWith(q) || starts(p.name)))
      .slice(0, 8);
    if (allowAll()) {
      for (const k of ['everyone', 'here']) if (k.startsWith(q)) items.push({ all: k, username: k, name: k === 'everyone' ? 'Notify everyone' : 'Notify everyone online' });
    }
    if (!items.length) return close();
    active = Math.min(active, items.length - 1);
    list.replaceChildren(
      ...items.map((p, i) => {
        const li = h(
          'li',
          { role: 'option', id: `${list.id}-${i}`, class: 'mention-option', 'aria-selected': String(i === active), dataset: { username: p.username } },
          p.all ? null : avatar(p.id, p.name || p.username, { size: 'sm' }),
          h('span', { class: 'mention-name', text: p.all ? `@${p.username}` : p.name || p.username }),
          p.all ? h('span', { class: 'mention-user muted', text: p.name }) : h('span', { class: 'mention-user muted', text: `@${p.username}` }),
        );
        // Chosen without taking focus from the text box.
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          choose(i);
        });
        return li;
      }),
    );
    list.hidden = false;
    textarea.setAttribute('aria-activedescendant', `${list.id}-${active}`);
  }
  function move(by) {
    active = (active + by + items.length) % items.length;
    for (const [i, li] of [...list.children].entries()) li.setAttribute('aria-selected', String(i === active));
    textarea.setAttribute('aria-activedescendant', `${list.id}-${active}`);
    list.children[active]?.scrollIntoView({ block: 'nearest' });
  }
  function choose(i) {
    const p = items[i];
    if (!p || !range) return;
    const v = textarea.value;
    const insert = `@${p.username} `;
    textarea.value = v.slice(0, range.start) + insert + v.slice(range.end);
    const caret = range.start + insert.length;
    textarea.setSelectionRange(caret, caret);
    close();
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }
  textarea.addEventListener('input', update);
  textarea.addEventListener('click', update);
  textarea.addEventListener('blur', () => setTimeout(close, 150));
  textarea.addEventListener('keydown', (e) => {
    if (list.hidden || e.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') move(e.key === 'ArrowDown' ? 1 : -1);
    else if (e.key === 'Enter' || e.key === 'Tab') choose(active);
    else if (e.key === 'Escape') close();
    else return;
    e.preventDefault();
    e.stopImmediatePropagation();
  });
  return { list, close, isOpen: () => !list.hidden };
}
