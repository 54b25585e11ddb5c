// Searching messages (docs/protocol.md, "Search"): a dialog opened with
// Ctrl-K (⌘K on a Mac) or the search button in the sidebar's header.
//
// The text box asks `GET /v1/search` a moment after the last key, and an
// answer to an older text or older filters is dropped. What is found is
// grouped by conversation (its picture and name, then each message with
// its sender, time and the snippet the server cut, the matches in <mark>),
// in the server's order: the best first. "Show more results" asks for the
// next page. The text box is a combobox: the arrow keys move through the
// results, Enter opens one, Escape closes the dialog.
//
// Filters narrow the search: the conversation open behind the dialog,
// one sender (found among the people I know and in the directory, or by
// an exact username), a range of days, messages with a file or a link,
// those that mention me, replies in threads.
//
// Opening a result closes the dialog and opens its conversation at the
// message by the message's own address (`#/c/<conv>/<seq>`, as a copied
// link does): history is loaded back to it, it is scrolled to and
// highlighted; a reply in a thread opens the thread at it. The text and
// the filters stay for the next opening.
//
// Snippets are text from other people: they are put in as text nodes
// around <mark> elements, never as markup.

import { ApiError } from '../api.js';
import { byteRangesToIndexes, h, setText, uid } from '../dom.js';
import { fullTime, listTime } from '../format.js';
import { icon } from '../icons.js';
import { avatar, convAvatar, convTitle, iconButton, updateAvatar } from './common.js';
import { modal } from './dialogs.js';

// How long after the last key the server is asked (search as you type,
// without a request for every key).
const SEARCH_DELAY_MS = 250;
// Results asked for at a time.
const PAGE = 20;
// The server takes queries of 1 to 256 characters.
const MAX_QUERY = 256;
// People offered in the sender filter at a time.
const PEOPLE_MAX = 8;

/** The search shortcut as the keyboard shows it: ⌘K on Apple systems, else Ctrl+K. */
export const SHORTCUT = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘K' : 'Ctrl+K';

/** Whether a key press is the search shortcut (Ctrl-K, or ⌘K). */
export function isSearchKey(e) {
  return (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k';
}

/** Local midnight of a date input's `yyyy-mm-dd`, `days` later, in ms; null when empty. */
function dayStart(value, days = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value ?? '');
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days).getTime() : null;
}

/** Today as a date input's value. */
function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function describe(e) {
  const text = e instanceof ApiError || e?.message ? e.message : 'Something went wrong.';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The snippet of a result as nodes: text, with the `highlights` (UTF-8
 * byte ranges of the snippet, `[[start, end]]`) in <mark> elements.
 */
export function snippetNodes(snippet, highlights) {
  const text = String(snippet ?? '');
  const ranges = byteRangesToIndexes(
    text,
    (highlights ?? []).filter((r) => Array.isArray(r) && r.length === 2).map(([start, end]) => ({ start, end })),
  );
  const out = [];
  let at = 0;
  for (const r of ranges) {
    if (r.start > at) out.push(document.createTextNode(text.slice(at, r.start)));
    out.push(h('mark', { text: text.slice(r.start, r.end) }));
    at = r.end;
  }
  if (at < text.length) out.push(document.createTextNode(text.slice(at)));
  return out;
}

/**
 * The search of this session. `open(conv, seq)` shows a message in its
 * conversation. Returns `{show(convId)}`: opens the dialog (with the
 * conversation open behind it, for the "In …" filter), or gives focus
 * back to its text box when it is open already.
 */
export function messageSearch({ api, store, sync, open }) {
  // Kept from one opening to the next.
  const kept = { text: '', conv: null, here: false, from: null, since: '', until: '', has: null, mentions: false, threads: false };
  let current = null;
  return {
    show(convId) {
      if (current) {
        current.focus();
        return;
      }
      current = searchDialog({ api, store, sync, open, kept, convId });
      current.dialog.addEventListener('close', () => {
        current = null;
      });
    },
    /** Whether the dialog is open. */
    isOpen: () => !!current,
  };
}

function searchDialog({ api, store, sync, open, kept, convId }) {
  const listId = uid('results');
  const input = h('input', {
    type: 'text',
    class: 'search-input',
    role: 'combobox',
    'aria-label': 'Search messages',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    autocomplete: 'off',
    spellcheck: 'false',
    enterkeyhint: 'search',
    maxlength: String(MAX_QUERY),
    placeholder: 'Search messages',
  });
  const box = h('div', { class: 'search-box' }, icon('search'), input);

  // ---- filters ----
  const here = convId ? store.convs.get(convId) : null;
  if (kept.conv !== convId) kept.here = false;
  kept.conv = convId;
  const toggle = (text, pressed, extra = {}) => h('button', { type: 'button', class: 'chip search-toggle', 'aria-pressed': String(pressed), text, ...extra });
  const hereTitle = here ? convTitle(here, store) : '';
  const hereToggle = here ? toggle(`In ${hereTitle}`, kept.here, { title: `Only messages in ${hereTitle}`, dataset: { filter: 'conv' } }) : null;
  const fileToggle = toggle('Has a file', kept.has === 'file', { dataset: { filter: 'file' } });
  const linkToggle = toggle('Has a link', kept.has === 'link', { dataset: { filter: 'link' } });
  const mentionsToggle = toggle('Mentions me', kept.mentions, { dataset: { filter: 'mentions' } });
  const threadsToggle = toggle('In threads', kept.threads, { dataset: { filter: 'threads' } });
  const toggles = h('div', { class: 'search-toggles' }, hereToggle, fileToggle, linkToggle, mentionsToggle, threadsToggle);

  const from = peoplePicker({ api, store, sync, chosen: kept.from, onChange: (person) => {
    kept.from = person;
    renderClear();
    search();
  } });
  const sinceInput = h('input', { type: 'date', class: 'search-date', id: uid('since'), max: today(), value: kept.since });
  const untilInput = h('input', { type: 'date', class: 'search-date', id: uid('until'), max: today(), value: kept.until });
  const clear = h('button', { type: 'button', class: 'btn small ghost search-clear', text: 'Clear filters' });
  const filters = h(
    'div',
    { class: 'search-filters', role: 'group', 'aria-label': 'Filters' },
    toggles,
    h(
      'div',
      { class: 'search-fields' },
      from.el,
      h('div', { class: 'search-field' }, h('label', { for: sinceInput.id, text: 'Since' }), sinceInput),
      h('div', { class: 'search-field' }, h('label', { for: untilInput.id, text: 'Until' }), untilInput),
      clear,
    ),
  );

  // ---- results ----
  const status = h('p', { class: 'muted search-status', role: 'status' });
  const error = h('p', { class: 'form-error search-error', role: 'alert' });
  const results = h('div', { id: listId, class: 'search-results', role: 'listbox', 'aria-label': 'Messages found', hidden: true });
  const more = h('button', { type: 'button', class: 'btn small search-more', text: 'Show more results', hidden: true });
  const scroll = h('div', { class: 'search-scroll' }, status, error, results, more);

  const m = modal({ title: 'Search messages', content: [box, filters, scroll], className: 'search-dialog' });

  let hits = []; // the results shown, in the server's order
  let order = []; // the same, as shown (grouped by conversation)
  let next = null; // the cursor of the next page
  let shownFor = null; // the request (its parameters) the results answer
  let active = -1; // the result chosen with the arrow keys
  let asked = 0; // answers to older requests are dropped
  let busy = false;
  let timer = 0;

  /** The text as it is sent: leading spaces go, a trailing one stays (no prefix match then). */
  const text = () => input.value.replace(/^\s+/, '');

  function anyFilter() {
    return (here && kept.here) || !!kept.from || !!kept.since || !!kept.until || !!kept.has || kept.mentions || kept.threads;
  }

  /** The request for the text and filters as they are, or an error to show. */
  function request() {
    const q = text();
    if (!q.trim()) return null;
    const params = { q, limit: PAGE };
    if (here && kept.here) params.conv = convId;
    if (kept.from) params.from = kept.from.id;
    const since = dayStart(kept.since);
    const until = dayStart(kept.until, 1);
    if (since !== null && until !== null && since >= until) return { error: 'The “Since” day is after the “Until” day.' };
    // Whole days: from the first moment of "since" (`after` is at or
    // after) to the last of "until" (`before` is before).
    if (since !== null) params.after = since;
    if (until !== null) params.before = until;
    if (kept.has) params.has = kept.has;
    if (kept.mentions) params.mentions_me = true;
    if (kept.threads) params.in_thread = true;
    return { params, key: JSON.stringify(params) };
  }

  function reset() {
    hits = [];
    next = null;
    shownFor = null;
    active = -1;
  }

  async function search({ page = false } = {}) {
    clearTimeout(timer);
    timer = 0;
    const want = request();
    const n = ++asked;
    setText(error, '');
    if (!want || want.error) {
      busy = false;
      reset();
      render();
      if (want?.error) setText(error, want.error);
      setText(status, want ? '' : 'Find messages in all your conversations.');
      scroll.dataset.state = want ? 'error' : 'hint';
      return;
    }
    const params = page && shownFor === want.key && next ? { ...want.params, cursor: next } : want.params;
    busy = true;
    setText(status, page ? 'Loading more results…' : 'Searching…');
    more.disabled = true;
    let answer;
    try {
      answer = await api.search(params);
    } catch (e) {
      if (n !== asked) return;
      busy = false;
      more.disabled = false;
      setText(status, '');
      setText(error, `Could not search: ${describe(e).replace(/^./, (c) => c.toLowerCase())}`);
      if (!page) {
        reset();
        render();
      }
      return;
    }
    if (n !== asked) return;
    busy = false;
    more.disabled = false;
    const found = Array.isArray(answer?.results) ? answer.results.filter((r) => r && r.conv && r.seq) : [];
    let firstNew = null;
    if (page && shownFor === want.key) {
      const seen = new Set(hits.map(keyOf));
      const fresh = found.filter((r) => !seen.has(keyOf(r)));
      hits = hits.concat(fresh);
      firstNew = fresh[0] ?? null;
    } else {
      hits = found;
      active = -1;
    }
    next = answer?.next || null;
    shownFor = want.key;
    render();
    if (firstNew) {
      // The first of the new results is where the reader goes on from.
      active = order.indexOf(firstNew);
      input.focus();
      renderActive();
    }
    const count = hits.length;
    scroll.dataset.state = count ? 'results' : 'empty';
    setText(
      status,
      count === 0
        ? `No messages match “${want.params.q.trim()}”.${anyFilter() ? ' Try fewer filters.' : ''}`
        : `${count === 1 ? '1 message' : `${count} messages`} found${next ? ', more below' : ''}.`,
    );
  }

  function searchSoon() {
    clearTimeout(timer);
    timer = setTimeout(() => search(), SEARCH_DELAY_MS);
  }

  const keyOf = (r) => `${r.conv}:${r.seq}`;

  // ---- rendering ----

  function groupTitle(id) {
    const conv = store.convs.get(id);
    if (!conv) {
      // Not in the pages of the list loaded so far: it is fetched.
      sync.ensure(id);
      return { title: 'Conversation', peer: id, image: null };
    }
    return { title: convTitle(conv, store), peer: conv.kind === 'direct' ? conv.peerId() : id, image: convAvatar(conv, store) };
  }

  function senderName(r) {
    if (r.sender === store.me.id) return 'You';
    return store.name(r.sender) ?? '…';
  }

  function render() {
    const groups = new Map();
    for (const r of hits) {
      if (!groups.has(r.conv)) groups.set(r.conv, []);
      groups.get(r.conv).push(r);
    }
    order = [...groups.values()].flat();
    results.replaceChildren(
      ...[...groups].map(([id, list]) => {
        const g = groupTitle(id);
        const headId = uid('search-conv');
        return h(
          'div',
          { class: 'search-group', role: 'group', 'aria-labelledby': headId, dataset: { conv: id } },
          h('div', { class: 'search-group-head' }, avatar(g.peer, g.title, { size: 'sm', image: g.image }), h('span', { class: 'search-group-title', id: headId, text: g.title })),
          ...list.map((r) => hitRow(r)),
        );
      }),
    );
    results.hidden = hits.length === 0;
    more.hidden = !next;
    if (active >= order.length) active = -1;
    renderActive();
  }

  function hitRow(r) {
    const time = h('time', { class: 'search-hit-time', text: listTime(r.ts), title: fullTime(r.ts), datetime: new Date(r.ts).toISOString() });
    const row = h(
      'div',
      { class: 'search-hit', role: 'option', id: `${listId}-${r.conv}-${r.seq}`, 'aria-selected': 'false', dataset: { conv: r.conv, seq: String(r.seq) } },
      h(
        'div',
        { class: 'search-hit-meta' },
        h('span', { class: 'search-hit-sender', dataset: { user: r.sender ?? '' }, text: senderName(r) }),
        r.thread ? h('span', { class: 'search-hit-thread' }, icon('thread', 'icon small-icon'), h('span', { text: 'in a thread' })) : null,
        time,
      ),
      h('div', { class: 'search-hit-snippet' }, snippetNodes(r.snippet, r.highlights)),
    );
    // The text box keeps focus (and the keyboard) while one is clicked.
    row.addEventListener('pointerdown', (e) => e.preventDefault());
    row.addEventListener('click', () => openHit(r));
    return row;
  }

  function renderActive() {
    for (const [i, r] of order.entries()) {
      const row = results.querySelector(`[id="${listId}-${r.conv}-${r.seq}"]`);
      row?.setAttribute('aria-selected', String(i === active));
    }
    input.setAttribute('aria-expanded', String(order.length > 0));
    const r = order[active];
    if (r) {
      input.setAttribute('aria-activedescendant', `${listId}-${r.conv}-${r.seq}`);
      document.getElementById(`${listId}-${r.conv}-${r.seq}`)?.scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  }

  /** Names arrive after the results (people and conversations fetched on the way): put them in. */
  function refreshNames() {
    for (const g of results.children) {
      const t = groupTitle(g.dataset.conv);
      const head = g.querySelector('.search-group-title');
      setText(head, t.title);
      updateAvatar(g.querySelector('.avatar'), t.peer, t.title, t.image);
    }
    for (const s of results.querySelectorAll('.search-hit-sender')) {
      setText(s, senderName({ sender: s.dataset.user }));
    }
  }
  const off = store.on(['users', 'convs'], refreshNames);

  function openHit(r) {
    if (!r) return;
    kept.text = input.value;
    m.close();
    open(r.conv, r.seq);
  }

  // ---- events ----

  input.addEventListener('input', () => {
    kept.text = input.value;
    // What was found for another text no longer applies.
    if (!text().trim()) search();
    else searchSoon();
  });
  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!order.length) return;
      const by = e.key === 'ArrowDown' ? 1 : -1;
      active = active < 0 ? (by > 0 ? 0 : order.length - 1) : (active + by + order.length) % order.length;
      renderActive();
    } else if (e.key === 'Enter') {
      const current = request();
      // Results of the text as it is now: Enter opens the one chosen (or
      // the first); else it searches at once.
      if (!busy && !timer && current?.key && current.key === shownFor && order.length) openHit(order[Math.max(0, active)]);
      else search();
    } else return;
    e.preventDefault();
  });

  for (const b of [hereToggle, fileToggle, linkToggle, mentionsToggle, threadsToggle]) {
    b?.addEventListener('click', () => {
      const on = b.getAttribute('aria-pressed') !== 'true';
      const which = b.dataset.filter;
      if (which === 'conv') kept.here = on;
      else if (which === 'file' || which === 'link') kept.has = on ? which : null;
      else if (which === 'mentions') kept.mentions = on;
      else if (which === 'threads') kept.threads = on;
      renderFilters();
      search();
    });
  }
  for (const [el, field] of [
    [sinceInput, 'since'],
    [untilInput, 'until'],
  ]) {
    el.addEventListener('change', () => {
      kept[field] = el.value;
      renderClear();
      search();
    });
  }
  clear.addEventListener('click', () => {
    Object.assign(kept, { here: false, from: null, since: '', until: '', has: null, mentions: false, threads: false });
    from.set(null);
    sinceInput.value = '';
    untilInput.value = '';
    renderFilters();
    input.focus();
    search();
  });
  more.addEventListener('click', () => search({ page: true }));

  function renderFilters() {
    hereToggle?.setAttribute('aria-pressed', String(kept.here));
    fileToggle.setAttribute('aria-pressed', String(kept.has === 'file'));
    linkToggle.setAttribute('aria-pressed', String(kept.has === 'link'));
    mentionsToggle.setAttribute('aria-pressed', String(kept.mentions));
    threadsToggle.setAttribute('aria-pressed', String(kept.threads));
    renderClear();
  }
  function renderClear() {
    clear.hidden = !anyFilter();
  }

  m.dialog.addEventListener('close', () => {
    clearTimeout(timer);
    asked += 1;
    off();
    from.destroy();
  });

  input.value = kept.text;
  renderFilters();
  input.focus();
  input.select();
  search();

  return {
    dialog: m.dialog,
    focus() {
      input.focus();
      input.select();
    },
  };
}

/**
 * The sender filter: a combobox that finds people as it is typed (me, the
 * people this device knows, and the user directory a moment after the
 * last key); the arrow keys move, Enter or a click chooses (Enter with
 * nobody chosen takes the first one found, or, when nobody is, the text
 * as an exact username, which also finds people outside the directory). The person
 * chosen shows as a chip with a button that takes them off.
 * `onChange(person | null)` is told; `person` is `{id, name}`.
 */
function peoplePicker({ api, store, sync, chosen, onChange }) {
  const listId = uid('senders');
  const input = h('input', {
    type: 'text',
    id: uid('from'),
    class: 'search-from-input',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    placeholder: 'Anyone',
  });
  const list = h('ul', { id: listId, class: 'people-found search-people', role: 'listbox', 'aria-label': 'People', hidden: true });
  const note = h('p', { class: 'form-error search-from-error', role: 'alert' });
  const chipName = h('span', { class: 'search-from-name' });
  const chipAvatar = avatar(null, '?', { size: 'xs' });
  const remove = iconButton(icon('close'), 'Any sender', { class: 'icon-btn chip-remove' });
  const chip = h('span', { class: 'chip search-from-chip', hidden: true }, chipAvatar, chipName, remove);
  const label = h('label', { for: input.id, text: 'From' });
  const el = h('div', { class: 'search-field search-from' }, label, h('div', { class: 'search-from-box' }, chip, input, list), note);
  let person = chosen;
  let people = [];
  let active = -1;
  let timer = 0;
  let asked = 0;

  function renderChosen() {
    chip.hidden = !person;
    input.hidden = !!person;
    if (person) {
      setText(chipName, person.name);
      updateAvatar(chipAvatar, person.id, person.name, store.user(person.id)?.avatar ?? null);
      remove.setAttribute('aria-label', `From ${person.name}: any sender instead`);
      remove.title = 'Any sender';
    }
  }

  function renderList() {
    list.replaceChildren(
      ...people.map((u, i) => {
        const li = h(
          'li',
          { id: `${listId}-${i}`, role: 'option', class: 'person', 'aria-selected': String(i === active), dataset: { user: u.id } },
          avatar(u.id, u.name, { size: 'sm', image: u.avatar ?? null }),
          h('span', { class: 'person-main' }, h('span', { class: 'person-name', text: u.name }), h('span', { class: 'muted person-handle', text: `@${u.username}` })),
        );
        li.addEventListener('pointerdown', (e) => e.preventDefault());
        li.addEventListener('click', () => choose(u));
        return li;
      }),
    );
    list.hidden = people.length === 0;
    input.setAttribute('aria-expanded', String(people.length > 0));
    if (active >= 0 && people[active]) {
      input.setAttribute('aria-activedescendant', `${listId}-${active}`);
      list.children[active]?.scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  }

  const shown = (u) => ({ id: u.id, username: u.username, name: u.id === store.me.id ? `${u.display_name || u.username} (you)` : u.display_name || u.username, avatar: u.avatar ?? null });
  const starts = (u, q) => u.username.toLowerCase().startsWith(q) || (u.display_name ?? '').toLowerCase().split(/\s+/).some((w) => w.startsWith(q));

  /** Me and the people this device knows whose name or username starts with `q`. */
  function known(q) {
    const out = [];
    const me = store.users.get(store.me.id) ?? store.me;
    if (me?.username && (starts(me, q) || 'you'.startsWith(q) || 'me' === q)) out.push(shown(me));
    for (const u of store.users.values()) {
      if (u.id !== store.me.id && starts(u, q)) out.push(shown(u));
    }
    return out;
  }

  async function find() {
    timer = 0;
    const q = input.value.trim().replace(/^@/, '').toLowerCase();
    const n = ++asked;
    if (!q) {
      people = [];
      active = -1;
      renderList();
      return;
    }
    people = known(q).slice(0, PEOPLE_MAX);
    renderList();
    try {
      const found = q.length <= 64 ? await sync.searchUsers(q, PEOPLE_MAX) : [];
      if (n !== asked) return;
      const ids = new Set(people.map((p) => p.id));
      people = people.concat(found.filter((u) => !ids.has(u.id)).map(shown)).slice(0, PEOPLE_MAX);
      renderList();
    } catch {
      // The directory did not answer: the people known here are offered.
    }
  }

  function choose(u) {
    // An answer of the directory on its way no longer applies.
    asked += 1;
    clearTimeout(timer);
    timer = 0;
    person = u ? { id: u.id, name: u.name.replace(/ \(you\)$/, '') } : null;
    people = [];
    active = -1;
    input.value = '';
    setText(note, '');
    renderList();
    renderChosen();
    onChange(person);
    if (!person) input.focus();
  }

  /** Enter with nobody chosen: the text as an exact username. */
  async function byUsername() {
    const name = input.value.trim().replace(/^@/, '').toLowerCase();
    if (!name) return;
    const n = ++asked;
    try {
      const u = await api.userByName(name);
      if (n !== asked) return;
      store.addUsers([u]);
      choose(shown(u));
    } catch (e) {
      if (n !== asked) return;
      setText(note, e instanceof ApiError && e.code === 'not_found' ? `Nobody is called ${name}.` : describe(e));
    }
  }

  /** Enter with nobody chosen: the first one found (looked for now if the text is newer), else an exact username. */
  async function enter() {
    if (timer) {
      clearTimeout(timer);
      const n = asked + 1;
      await find();
      if (n !== asked) return;
    }
    const q = input.value.trim().replace(/^@/, '').toLowerCase();
    const exact = people.find((p) => p.username.toLowerCase() === q);
    if (exact ?? people[0]) choose(exact ?? people[0]);
    else byUsername();
  }

  input.addEventListener('input', () => {
    active = -1;
    setText(note, '');
    clearTimeout(timer);
    timer = setTimeout(find, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && people.length) {
      active = e.key === 'ArrowDown' ? (active + 1) % people.length : active <= 0 ? people.length - 1 : active - 1;
      renderList();
    } else if (e.key === 'Enter') {
      if (active >= 0 && people[active]) choose(people[active]);
      else enter();
    } else if (e.key === 'Escape' && !list.hidden) {
      // The list closes; the dialog stays.
      people = [];
      active = -1;
      renderList();
      e.stopPropagation();
    } else return;
    e.preventDefault();
  });
  input.addEventListener('blur', () => {
    people = [];
    active = -1;
    renderList();
  });
  remove.addEventListener('click', () => choose(null));

  renderChosen();
  return {
    el,
    /** Sets the person chosen (without telling `onChange`). */
    set(p) {
      person = p;
      renderChosen();
    },
    destroy() {
      clearTimeout(timer);
      asked += 1;
    },
  };
}
