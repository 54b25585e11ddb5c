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
// (never `javascript:` or `data:`).
const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"]+/gi;
const LINK_AT = /(?:https?:\/\/|mailto:)[^\s<>"]+/iy;
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
    const raw = trimLink(m[0]);
    const url = safeUrl(raw);
    if (!url) continue;
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    out.push(linkNode(url, raw));
    last = m.index + raw.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/** Punctuation that ends a sentence is not part of an address; a closing bracket is, when the address opened it. */
function trimLink(found) {
  let raw = found.replace(/[.,;:!?'*_~]+$/, '');
  while (/[)\]}]$/.test(raw) && count(raw, raw.at(-1)) > count(raw, OPENER[raw.at(-1)])) {
    raw = raw.slice(0, -1).replace(/[.,;:!?'*_~]+$/, '');
  }
  return raw;
}

/** An `<a>` to `url` showing `shown` (or the real address when the browser rewrites its host). */
function linkNode(url, shown, label) {
  const rewritten = url.protocol !== 'mailto:' && !shown.toLowerCase().includes(url.host);
  const a = h('a', { href: url.href, target: '_blank', rel: 'noopener noreferrer', title: url.href });
  if (label) append(a, label);
  else a.textContent = rewritten ? url.href : shown;
  return a;
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

// ---- message formatting (protocol.md, "Rich messages", "Formatting") ----
//
// A small markdown subset, built as elements with text nodes: nothing of
// the text is ever parsed as HTML. Blocks are lines: ``` fences, "> "
// quotes, "- ", "* " and "1. " list items; the rest is text whose line
// breaks stay (the bubble keeps white space). Inline: **bold**, *italic*
// or _italic_, ~~strike~~, `code`, [label](http…) links, bare addresses,
// backslash escapes. Mentions come from the message's `mentions` (UTF-8
// byte ranges), never from the text.

const ESCAPABLE = new Set(['\\', '*', '_', '~', '`', '[', ']', '(', ')', '>', '#', '-']);
const WORD = /[\p{L}\p{N}_]/u;

/**
 * UTF-8 byte ranges of `text` as UTF-16 indexes: `[{start, end, ...rest}]`
 * for the ranges that fall on character boundaries inside the text
 * (others are dropped), sorted, without overlaps.
 */
export function byteRangesToIndexes(text, ranges) {
  if (!ranges?.length) return [];
  const at = new Map(); // byte offset → UTF-16 index, at each character boundary
  let bytes = 0;
  let i = 0;
  for (const ch of text) {
    at.set(bytes, i);
    const cp = ch.codePointAt(0);
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += ch.length;
  }
  at.set(bytes, i);
  const out = [];
  for (const r of ranges) {
    const start = at.get(r.start);
    const end = at.get(r.end);
    if (start === undefined || end === undefined || end <= start) continue;
    out.push({ ...r, start, end });
  }
  out.sort((a, b) => a.start - b.start);
  return out.filter((r, k) => k === 0 || r.start >= out[k - 1].end);
}

/** The UTF-8 byte offset of UTF-16 index `i` in `text`. */
export function byteOffset(text, i) {
  return new TextEncoder().encode(text.slice(0, i)).length;
}

/**
 * Renders a message's text. `opts`: `mentions` ([{user, start, end}],
 * UTF-8 byte offsets), `mentionAll` ('everyone' | 'here'), `nameOf(id)`
 * (what to call a member), `me` (my id: my mentions stand out). Returns
 * nodes for a container that keeps white space (`pre-wrap`).
 */
export function renderMarkdown(text, opts = {}) {
  const ctx = {
    text,
    mentions: byteRangesToIndexes(text, opts.mentions),
    mentionAll: opts.mentionAll ?? null,
    nameOf: opts.nameOf ?? (() => null),
    me: opts.me ?? null,
  };
  const out = [];
  const lines = [];
  for (let start = 0; start <= text.length; ) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    lines.push({ start, end, line: text.slice(start, end) });
    if (nl < 0) break;
    start = nl + 1;
  }
  let i = 0;
  let plainFrom = null; // start of a run of ordinary lines
  const flushPlain = (until) => {
    if (plainFrom === null) return;
    out.push(...inline(ctx, plainFrom, until));
    plainFrom = null;
  };
  while (i < lines.length) {
    const { line, start } = lines[i];
    if (/^\s*```/.test(line)) {
      // A code block, to the next fence (or the end).
      let j = i + 1;
      while (j < lines.length && !/^\s*```\s*$/.test(lines[j].line)) j += 1;
      if (j > i + 1 || j < lines.length) {
        flushPlain(Math.max(0, start - 1));
        const body = lines.slice(i + 1, j).map((l) => l.line).join('\n');
        out.push(h('pre', { class: 'md-pre' }, h('code', { text: body })));
        i = j + 1;
        continue;
      }
    }
    const quote = /^>[ ]?/.exec(line);
    const item = /^(\s*)([-*]|\d{1,9}\.)[ ]+(?=\S)/.exec(line);
    if (quote || item) {
      flushPlain(Math.max(0, start - 1));
      if (quote) {
        const bq = h('blockquote', { class: 'md-quote' });
        let first = true;
        while (i < lines.length) {
          const q = /^>[ ]?/.exec(lines[i].line);
          if (!q) break;
          if (!first) bq.append('\n');
          append(bq, inline(ctx, lines[i].start + q[0].length, lines[i].end));
          first = false;
          i += 1;
        }
        out.push(bq);
      } else {
        const ordered = /\d/.test(item[2]);
        const list = h(ordered ? 'ol' : 'ul', { class: 'md-list' });
        if (ordered && Number.parseInt(item[2], 10) !== 1) list.setAttribute('start', String(Number.parseInt(item[2], 10)));
        while (i < lines.length) {
          const m = /^(\s*)([-*]|\d{1,9}\.)[ ]+(?=\S)/.exec(lines[i].line);
          if (!m || /\d/.test(m[2]) !== ordered) break;
          list.append(h('li', null, inline(ctx, lines[i].start + m[0].length, lines[i].end)));
          i += 1;
        }
        out.push(list);
      }
      // The line break after a block is the block's own.
      if (i < lines.length) plainFrom = lines[i].start;
      continue;
    }
    if (plainFrom === null) plainFrom = start;
    i += 1;
  }
  flushPlain(text.length);
  return out;
}

/** Inline formatting of `ctx.text[from..to)`, as nodes. */
function inline(ctx, from, to, { links = true } = {}) {
  const { text } = ctx;
  const out = [];
  let buf = '';
  const flush = () => {
    if (buf) out.push(...(links ? linkify(buf) : [document.createTextNode(buf)]));
    buf = '';
  };
  let i = from;
  while (i < to) {
    const ch = text[i];
    const mention = ctx.mentions.find((m) => m.start === i && m.end <= to);
    if (mention) {
      flush();
      out.push(mentionChip(ctx, mention, text.slice(mention.start, mention.end)));
      i = mention.end;
      continue;
    }
    if (ch === '\\' && i + 1 < to && ESCAPABLE.has(text[i + 1])) {
      buf += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === '@' && ctx.mentionAll && text.startsWith(`@${ctx.mentionAll}`, i) && !WORD.test(text[i - 1] ?? '') && !WORD.test(text[i + ctx.mentionAll.length + 1] ?? '')) {
      flush();
      const end = i + ctx.mentionAll.length + 1;
      out.push(h('span', { class: 'mention all', text: text.slice(i, end) }));
      i = end;
      continue;
    }
    // A bare address: whole, so that `_` or `*` in it stay in it.
    if (links && (ch === 'h' || ch === 'H' || ch === 'm' || ch === 'M') && !WORD.test(text[i - 1] ?? '')) {
      LINK_AT.lastIndex = i;
      const m = LINK_AT.exec(text.slice(0, to));
      if (m) {
        const raw = trimLink(m[0]);
        const url = safeUrl(raw);
        if (url) {
          flush();
          out.push(linkNode(url, raw));
          i += raw.length;
          continue;
        }
      }
    }
    if (ch === '`') {
      const close = text.indexOf('`', i + 1);
      if (close > i + 1 && close < to) {
        flush();
        out.push(h('code', { class: 'md-code', text: text.slice(i + 1, close) }));
        i = close + 1;
        continue;
      }
    }
    const span = delimited(ctx, i, to);
    if (span) {
      flush();
      out.push(h(span.tag, null, inline(ctx, span.inner, span.innerEnd, { links })));
      i = span.end;
      continue;
    }
    if (ch === '[' && links) {
      const link = labelledLink(ctx, i, to);
      if (link) {
        flush();
        out.push(link.node);
        i = link.end;
        continue;
      }
    }
    buf += ch;
    i += 1;
  }
  flush();
  return out;
}

/** `**bold**`, `~~strike~~`, `*italic*` or `_italic_` starting at `i`, if closed before `to`. */
function delimited(ctx, i, to) {
  const { text } = ctx;
  const two = text.slice(i, i + 2);
  const marks = two === '**' ? ['**', 'strong'] : two === '~~' ? ['~~', 's'] : text[i] === '*' || text[i] === '_' ? [text[i], 'em'] : null;
  if (!marks) return null;
  const [mark, tag] = marks;
  const inner = i + mark.length;
  if (inner >= to || /\s/.test(text[inner])) return null;
  // `_` inside a word (snake_case) is not emphasis.
  if (mark === '_' && WORD.test(text[i - 1] ?? '')) return null;
  let j = inner + 1;
  while (j <= to - mark.length) {
    if (text[j] === '\\') {
      j += 2;
      continue;
    }
    if (text[j] === '`') {
      const close = text.indexOf('`', j + 1);
      if (close > j && close < to) {
        j = close + 1;
        continue;
      }
    }
    if (text.startsWith(mark, j) && !/\s/.test(text[j - 1])) {
      if (mark === '*' && text[j + 1] === '*') {
        j += 2; // bold inside italic
        continue;
      }
      if (mark === '_' && WORD.test(text[j + 1] ?? '')) {
        j += 1;
        continue;
      }
      return { tag, inner, innerEnd: j, end: j + mark.length };
    }
    if (text[j] === '\n') return null;
    j += 1;
  }
  return null;
}

/** `[label](url)` at `i`: a link when the address is http, https or mailto. */
function labelledLink(ctx, i, to) {
  const { text } = ctx;
  let depth = 0;
  let j = i;
  for (; j < to; j += 1) {
    if (text[j] === '\\') j += 1;
    else if (text[j] === '[') depth += 1;
    else if (text[j] === ']' && --depth === 0) break;
    else if (text[j] === '\n') return null;
  }
  if (j >= to || text[j + 1] !== '(') return null;
  const close = text.indexOf(')', j + 2);
  if (close < 0 || close >= to) return null;
  const href = text.slice(j + 2, close).trim();
  if (!href || /\s/.test(href)) return null;
  const url = safeUrl(href);
  if (!url || j === i + 1) return null;
  return { node: linkNode(url, href, inline(ctx, i + 1, j, { links: false })), end: close + 1 };
}

function mentionChip(ctx, m, raw) {
  const name = ctx.nameOf(m.user);
  const chip = h('span', { class: `mention${m.user === ctx.me ? ' to-me' : ''}`, dataset: { user: m.user }, text: name ? `@${name}` : raw });
  if (name && raw !== `@${name}`) chip.title = raw;
  return chip;
}

/** A unique id for `aria-*` references. */
let nextId = 0;
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}
