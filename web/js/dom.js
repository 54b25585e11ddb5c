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

/** A unique id for `aria-*` references. */
let nextId = 0;
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
