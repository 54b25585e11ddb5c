// Building DOM without HTML strings. Every string given here becomes a
// text node or an attribute value, never markup: message text, usernames
// and group names come from other people and must not be able to inject
// elements or scripts (the page's Content-Security-Policy is the second
// line of defence, not the first).

/**
 * Creates an element.
 *
 * `props` keys: `class`, `text` (textContent), `dataset` (an object),
 * `on<event>` (a listener), anything else an attribute (`true` sets an
 * empty attribute, `false`/`null`/`undefined` skips it). Children are
 * nodes or strings (strings become text nodes); arrays are flattened.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** Applies `h`-style props to an existing element. */
export function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
}

/** Appends children: nodes as they are, anything else as text. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Sets `el`'s text if it changed (keeps screen readers and layout calm). */
export function setText(el, text) {
  const value = text ?? '';
  if (el.textContent !== value) el.textContent = value;
}

/** Toggles an attribute: present with `value` when `on`, absent otherwise. */
export function toggleAttr(el, name, on, value = '') {
  if (on) {
    if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
  } else if (el.hasAttribute(name)) el.removeAttribute(name);
}

/**
 * Keyed reconciliation of a list: makes `parent`'s children exactly the
 * elements for `items`, in order, reusing the element of each key.
 * `create(item)` makes a new element; `update(el, item)` refreshes one.
 * Elements are moved only when out of place, so focus and scroll survive.
 */
export function reconcile(parent, items, keyOf, create, update, cache) {
  const keep = new Set();
  let cursor = parent.firstChild;
  for (const item of items) {
    const key = keyOf(item);
    keep.add(key);
    let el = cache.get(key);
    if (!el) {
      el = create(item);
      cache.set(key, el);
    }
    update(el, item);
    if (el !== cursor) parent.insertBefore(el, cursor);
    else cursor = cursor.nextSibling;
  }
  for (const [key, el] of cache) {
    if (!keep.has(key)) {
      el.remove();
      cache.delete(key);
    }
  }
}

// Literal addresses in message text become links: only these schemes
// (never `javascript:` or `data:`), only what the sender wrote out in
// full (no "[text](url)" that could show one address and open another).
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"]+/gi;
const LINK_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * Message text as nodes: text nodes, and `<a>` elements for the http,
 * https and mailto addresses in it. The link's text is the address as
 * written (or, for an address whose host the browser rewrites, such as an
 * international name, the address it really opens), its title the full
 * address; it opens in a new tab with no access to this page
 * (`noopener noreferrer`).
 */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(LINK)) {
    // Punctuation that ends a sentence is not part of the address; a
    // closing bracket is, when the address opened it.
    let raw = m[0].replace(/[.,;:!?'*]+$/, '');
    while (/[)\]}]$/.test(raw) && count(raw, raw.at(-1)) > count(raw, OPENER[raw.at(-1)])) {
      raw = raw.slice(0, -1).replace(/[.,;:!?'*]+$/, '');
    }
    const url = safeUrl(raw);
    if (!url) continue;
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    const rewritten = url.protocol !== 'mailto:' && !raw.toLowerCase().includes(url.host);
    out.push(
      h('a', {
        href: url.href,
        target: '_blank',
        rel: 'noopener noreferrer',
        title: url.href,
        text: rewritten ? url.href : raw,
      }),
    );
    last = m.index + raw.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

const OPENER = { ')': '(', ']': '[', '}': '{' };

function count(s, ch) {
  return s.split(ch).length - 1;
}

function safeUrl(raw) {
  try {
    const url = new URL(raw);
    return LINK_SCHEMES.has(url.protocol) ? url : null;
  } catch {
    return null;
  }
}

/** A unique id for `aria-*` references. */
let nextId = 0;
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
