// Modal dialogs (native <dialog>: focus stays inside, Escape closes, focus
// returns to the opener): new chat (with the user directory), new group,
// new channel, group (and channel) info; for messages: forward, the
// pinned messages, the versions of an edited message. (One file for the
// dialogs: they share `modal`, the form helpers and the member rows, hence
// its length.)
//
// People are shown by their display name (else their username), with the
// @username beside it where telling them apart matters (the member list,
// the people found).

import { ApiError } from '../api.js';
import { h, renderMarkdown, setText, uid } from '../dom.js';
import { clock, fullTime, messageSummary, plural, presenceText } from '../format.js';
import { icon } from '../icons.js';
import { avatar, avatarEditor, iconButton, menuButton, updateAvatar } from './common.js';

/**
 * Opens a modal. `content` is a node (or nodes); returns `{dialog, close}`.
 * The dialog removes itself when closed.
 */
export function modal({ title, content, className = '' }) {
  const heading = h('h2', { id: uid('dlg-title'), text: title });
  const close = iconButton(icon('close'), 'Close', { class: 'icon-btn dialog-close' });
  const dialog = h(
    'dialog',
    { class: `dialog ${className}`, 'aria-labelledby': heading.id },
    h('header', { class: 'dialog-head' }, heading, close),
    h('div', { class: 'dialog-body' }, content),
  );
  const opener = document.activeElement;
  close.addEventListener('click', () => dialog.close());
  // A click on the backdrop (the dialog element itself, outside its box) closes.
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) {
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) dialog.close();
    }
  });
  dialog.addEventListener('close', () => {
    const lost = !document.activeElement || document.activeElement === document.body || dialog.contains(document.activeElement);
    dialog.remove();
    if (!lost) return;
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
    else {
      // The opener went (a member's row after removing them): focus stays
      // in the dialog below, if there is one.
      [...document.querySelectorAll('dialog[open]')].at(-1)?.querySelector('.dialog-close')?.focus();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

function field(label, input, hint) {
  input.id ||= uid('f');
  const hintEl = hint ? h('p', { class: 'hint', id: uid('hint'), text: hint }) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id, text: label }), input, hintEl);
}

function describe(e) {
  if (e instanceof ApiError) return e.message.charAt(0).toUpperCase() + e.message.slice(1);
  return e?.message ?? 'Something went wrong.';
}

/** Usernames from free text: `@bob, carol dave` → `['bob','carol','dave']`. */
export function parseNames(text) {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((s) => s.trim().replace(/^@/, '').toLowerCase())
        .filter(Boolean),
    ),
  ];
}

async function resolveNames(api, store, names) {
  const users = [];
  for (const name of names) {
    try {
      users.push(await api.userByName(name));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'not_found') throw new Error(`There is no user called “${name}”.`);
      throw e;
    }
  }
  store.addUsers(users);
  return users;
}

/** A form inside a modal, with an error line and a busy state. */
function formDialog({ title, fields, submitText, onSubmit }) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn primary', text: submitText });
  const cancel = h('button', { type: 'button', class: 'btn ghost', text: 'Cancel' });
  const form = h('form', { class: 'dialog-form', novalidate: true }, fields, error, h('div', { class: 'dialog-actions' }, cancel, submit));
  const m = modal({ title, content: form });
  cancel.addEventListener('click', () => m.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      // What to do next (open a conversation) runs once the dialog is
      // closed, so focus can move to it.
      const next = await onSubmit();
      m.close();
      next?.();
    } catch (err) {
      error.textContent = describe(err);
      submit.disabled = false;
    }
  });
  return m;
}

/**
 * Asks before doing something that cannot be undone from here. `run` is
 * async: the dialog stays open while it runs, and shows its error (the
 * server's message) if it fails; it closes once it has succeeded.
 */
export function confirmDialog({ title, text, confirmText, run }) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const ok = h('button', { type: 'submit', class: 'btn danger', text: confirmText });
  const cancel = h('button', { type: 'button', class: 'btn ghost', text: 'Cancel' });
  const form = h(
    'form',
    { class: 'dialog-form', novalidate: true },
    h('p', { class: 'confirm-text', text }),
    error,
    h('div', { class: 'dialog-actions' }, cancel, ok),
  );
  const m = modal({ title, content: form, className: 'confirm' });
  cancel.addEventListener('click', () => m.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    ok.disabled = true;
    try {
      await run();
      m.close();
    } catch (err) {
      error.textContent = describe(err);
      ok.disabled = false;
      cancel.focus();
    }
  });
  cancel.focus();
  return m;
}

// Why a message is reported (protocol.md, "Reporting messages").
export const REPORT_REASONS = [
  ['spam', 'Spam'],
  ['abuse', 'Abuse or harassment'],
  ['other', 'Something else'],
];
export const reasonName = (r) => REPORT_REASONS.find(([v]) => v === r)?.[1] ?? r;

/**
 * Reports someone else's message: a reason and an optional note. Once the
 * server has it, the dialog says who will look at it (the group's or the
 * channel's moderators; in a direct conversation, the server's admins).
 */
export function reportDialog({ api, convId, seq, senderName, text, group, channel = false }) {
  const name = uid('reason');
  const radios = REPORT_REASONS.map(([value, label], i) => {
    const input = h('input', { type: 'radio', name, id: uid(name), value });
    if (i === 0) input.checked = true;
    return h('label', { for: input.id, class: 'radio' }, input, h('span', { class: 'radio-label', text: label }));
  });
  const note = h('textarea', { rows: 3, maxlength: 500, class: 'report-note' });
  const quote = h('blockquote', { class: 'report-quote' }, h('p', { class: 'report-sender', text: senderName }), h('p', { text }));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const done = h('p', { class: 'report-done', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'btn primary', text: 'Report' });
  const cancel = h('button', { type: 'button', class: 'btn ghost', text: 'Cancel' });
  const fields = h(
    'div',
    { class: 'report-fields' },
    quote,
    h('fieldset', { class: 'radios' }, h('legend', { text: 'Reason' }), ...radios),
    field('Note (optional)', note, 'What the moderators should know, 500 characters at most.'),
    error,
  );
  const form = h('form', { class: 'dialog-form report-form', novalidate: true }, fields, done, h('div', { class: 'dialog-actions' }, cancel, submit));
  const m = modal({ title: 'Report message', content: form, className: 'report-dialog' });
  cancel.addEventListener('click', () => m.close());
  let sent = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sent) {
      m.close();
      return;
    }
    setText(error, '');
    submit.disabled = true;
    try {
      const reason = form.querySelector('input[type=radio]:checked')?.value ?? 'other';
      await api.report(convId, seq, reason, note.value.trim());
      sent = true;
      fields.hidden = true;
      cancel.hidden = true;
      setText(
        done,
        channel
          ? 'Reported. The channel’s moderators will look at it.'
          : group
            ? 'Reported. The group’s moderators will look at it.'
            : 'Reported. The server’s admins will look at it.',
      );
      setText(submit, 'Close');
      submit.focus();
    } catch (err) {
      setText(error, describe(err));
    } finally {
      submit.disabled = false;
    }
  });
  radios[0].querySelector('input').focus();
  return m;
}

// The user directory in the new chat dialog: how long after the last key
// it is asked, and how many people it shows.
const SEARCH_DELAY_MS = 250;
const SEARCH_LIMIT = 10;
// The longest query the directory takes.
const SEARCH_MAX = 64;

/**
 * Starts (or opens) a direct conversation. Typing searches the user
 * directory (display names and usernames that start with it, a moment
 * after the last key; the combobox pattern: arrow keys move in the people
 * found, Enter or a click takes one). Enter with nobody chosen takes the
 * text as an exact username, which finds people who are not in the
 * directory too.
 */
export function newChatDialog({ api, store, sync, open }) {
  const listId = uid('people');
  const input = h('input', {
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    placeholder: 'Bob, or bob_smith',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
  });
  const found = h('ul', { id: listId, role: 'listbox', class: 'people-found', 'aria-label': 'People found', hidden: true });
  const status = h('p', { class: 'muted people-status', role: 'status' });
  let people = []; // the people found for `query`
  let query = '';
  let active = -1; // the option chosen with the arrow keys
  let timer = 0;
  let asked = 0; // answers to older queries are dropped
  let chosen = null; // clicked

  const m = formDialog({
    title: 'New chat',
    fields: [field('Name or username', input, 'Search by name, or type someone’s exact username.'), found, status],
    submitText: 'Start chat',
    onSubmit: async () => {
      const user = chosen ?? pick();
      chosen = null;
      if (user) {
        const info = await api.createDirect(user.id);
        store.upsert(info);
        return () => open(info.id);
      }
      const text = input.value.trim().replace(/^@/, '');
      if (!text) throw new Error('Enter a name or a username.');
      if (/\s/.test(text)) throw new Error('Choose someone from the list, or enter an exact username.');
      const [name] = parseNames(text);
      if (name === store.me.username) throw new Error('That is you. Enter someone else’s username.');
      const [found1] = await resolveNames(api, store, [name]);
      const info = await api.createDirect(found1.id);
      store.upsert(info);
      return () => open(info.id);
    },
  });
  const form = m.dialog.querySelector('form');

  /** Who Enter takes: the option chosen, or someone found whose username is the text. */
  function pick() {
    if (active >= 0) return people[active] ?? null;
    const text = input.value.trim().replace(/^@/, '').toLowerCase();
    return people.find((u) => u.username.toLowerCase() === text) ?? null;
  }

  function render() {
    found.replaceChildren(
      ...people.map((u, i) => {
        const shown = u.display_name || u.username;
        const li = h(
          'li',
          { id: `${listId}-${i}`, role: 'option', class: 'person', 'aria-selected': String(i === active), dataset: { user: u.id } },
          avatar(u.id, shown, { size: 'sm' }),
          h('span', { class: 'person-main' }, h('span', { class: 'person-name', text: shown }), h('span', { class: 'muted person-handle', text: `@${u.username}` })),
        );
        // The text box keeps focus (and the keyboard) while one is clicked.
        li.addEventListener('pointerdown', (e) => e.preventDefault());
        li.addEventListener('click', () => {
          chosen = u;
          form.requestSubmit();
        });
        return li;
      }),
    );
    const shownList = people.length > 0;
    found.hidden = !shownList;
    input.setAttribute('aria-expanded', String(shownList));
    if (active >= 0 && shownList) {
      input.setAttribute('aria-activedescendant', `${listId}-${active}`);
      found.children[active]?.scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  }

  async function search() {
    timer = 0;
    const q = input.value.trim().replace(/^@/, '');
    const n = ++asked;
    if (!q || q.length > SEARCH_MAX) {
      people = [];
      query = q;
      active = -1;
      setText(status, '');
      render();
      return;
    }
    try {
      const users = await sync.searchUsers(q, SEARCH_LIMIT + 1);
      if (n !== asked) return;
      people = users.filter((u) => u.id !== store.me.id).slice(0, SEARCH_LIMIT);
      query = q;
      active = -1;
      setText(
        status,
        people.length === 0
          ? 'Nobody found by that name. An exact username still works.'
          : people.length === 1
            ? '1 person found. Use the arrow keys to choose.'
            : `${people.length} people found. Use the arrow keys to choose.`,
      );
      render();
    } catch (e) {
      if (n !== asked) return;
      people = [];
      active = -1;
      setText(status, describe(e));
      render();
    }
  }

  input.addEventListener('input', () => {
    chosen = null;
    active = -1;
    clearTimeout(timer);
    // What was found for an older text no longer applies to this one.
    if (!input.value.trim().replace(/^@/, '').toLowerCase().startsWith(query.toLowerCase()) || !query) {
      people = [];
      render();
    } else render();
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  input.addEventListener('keydown', (e) => {
    if (people.length === 0) return;
    if (e.key === 'ArrowDown') active = (active + 1) % people.length;
    else if (e.key === 'ArrowUp') active = active <= 0 ? people.length - 1 : active - 1;
    else if (e.key === 'Home' && active >= 0) active = 0;
    else if (e.key === 'End' && active >= 0) active = people.length - 1;
    else return;
    e.preventDefault();
    render();
  });
  m.dialog.addEventListener('close', () => {
    clearTimeout(timer);
    asked += 1;
  });
  input.focus();
}

/** Creates a group with a name and members. */
export function newGroupDialog({ api, store, open }) {
  const name = h('input', { autocomplete: 'off', required: true, maxlength: 128, placeholder: 'Book club' });
  const members = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'bob, carol' });
  formDialog({
    title: 'New group',
    fields: [field('Group name', name), field('Members', members, 'Usernames, separated by commas or spaces.')],
    submitText: 'Create group',
    onSubmit: async () => {
      const n = name.value.trim();
      if (!n) throw new Error('Give the group a name.');
      const names = parseNames(members.value).filter((x) => x !== store.me.username);
      const users = await resolveNames(api, store, names);
      const info = await api.createGroup(
        n,
        users.map((u) => u.id),
      );
      store.upsert(info);
      return () => open(info.id);
    },
  });
  name.focus();
}

/**
 * Creates a broadcast channel: a name and an optional description. I own
 * it; subscribers join with the invite links made in its info panel.
 */
export function newChannelDialog({ api, store, open }) {
  const name = h('input', { autocomplete: 'off', required: true, maxlength: 128, placeholder: 'Release notes' });
  const description = h('textarea', { rows: 3, class: 'group-description-input' });
  formDialog({
    title: 'New channel',
    fields: [
      h('p', {
        class: 'muted dialog-intro',
        text: 'A channel is for posting to many people: you and the admins you choose post, subscribers read.',
      }),
      field('Channel name', name),
      field('Description (optional)', description, 'What the channel is about. Subscribers see it.'),
    ],
    submitText: 'Create channel',
    onSubmit: async () => {
      const n = name.value.trim();
      if (!n) throw new Error('Give the channel a name.');
      const info = await api.createChannel(n, description.value.trim());
      store.upsert(info);
      return () => open(info.id);
    },
  });
  name.focus();
}

// ---- group info ----

/** Roles, highest first (protocol.md, "Roles and permissions"). */
const RANK = { owner: 3, admin: 2, moderator: 1, member: 0, subscriber: -1 };
const ROLE_NAME = { owner: 'Owner', admin: 'Admin', moderator: 'Moderator', member: 'Member', subscriber: 'Subscriber' };
/** The roles the owner may give: a channel has subscribers where a group has members. */
const GIVEN_ROLES = { group: ['admin', 'moderator', 'member'], channel: ['admin', 'moderator', 'subscriber'] };
/** "a member", "the owner", "a subscriber". */
const roleText = (role) => (role === 'member' || role === 'subscriber' ? `a ${role}` : `the ${role}`);
// Members per page of the panel's list.
const MEMBER_PAGE = 50;

/** What my role lets me do in a group: the matrix and the rank rule. */
export function groupPowers(myRole) {
  const rank = RANK[myRole] ?? 0;
  const manages = myRole === 'owner' || myRole === 'admin';
  return {
    add: manages,
    bans: manages,
    /** Read and resolve the group's reports: moderators and above. */
    reports: rank >= RANK.moderator,
    /** Create, list and revoke invite links. */
    invites: manages,
    /** Rename, describe, and set what new members can read. */
    settings: manages,
    /** Remove or ban this member: a role below mine. */
    moderate: (role) => manages && rank > (RANK[role] ?? 0),
    /** Change their role or hand them the group: the owner only. */
    own: (role) => myRole === 'owner' && role !== 'owner',
    /** See who the members are: everyone but a channel's subscribers. */
    members: myRole !== 'subscriber',
  };
}

/** What people who join later may read, in words. */
export function historyText(history) {
  if (history?.visible === 'all') return 'all history';
  if (history?.visible === 'days') return history.days === 1 ? 'the last day before they join' : `the last ${history.days} days before they join`;
  return 'only from when they join';
}

/**
 * The settings form of the group info panel: name, description (several
 * lines) and what new members can read. Only what changed is sent; the
 * server's refusal is shown with its message. Until the user edits it,
 * it follows changes made elsewhere.
 */
function groupSettingsForm({ api, store, convId, headingId, channel = false }) {
  const noun = channel ? 'channel' : 'group';
  const nameInput = h('input', { autocomplete: 'off', maxlength: 128 });
  const descInput = h('textarea', { rows: 3, class: 'group-description-input' });
  const group = uid('history');
  const choice = (value, label) => {
    const input = h('input', { type: 'radio', name: group, id: uid(group), value });
    return { input, label: h('label', { for: input.id, class: 'radio' }, input, h('span', { class: 'radio-label', text: label })) };
  };
  const joined = choice('joined', 'Since they join');
  const all = choice('all', 'All history');
  const days = choice('days', 'The last days before they join');
  const daysInput = h('input', {
    type: 'number',
    min: 1,
    max: 3650,
    step: 1,
    inputmode: 'numeric',
    class: 'days-input',
    'aria-label': 'Number of days',
  });
  const fieldset = h(
    'fieldset',
    { class: 'radios' },
    h('legend', { text: channel ? 'New subscribers can read' : 'New members can read' }),
    joined.label,
    all.label,
    h('div', { class: 'days-choice' }, days.label, daysInput),
  );
  const error = h('p', { class: 'form-error', role: 'alert' });
  const saved = h('p', { class: 'muted saved', role: 'status' });
  const save = h('button', { type: 'submit', class: 'btn primary', text: 'Save' });
  const el = h(
    'form',
    { class: 'settings-form', novalidate: true },
    h('h3', { id: headingId, text: 'Settings' }),
    field(channel ? 'Channel name' : 'Group name', nameInput),
    field('Description', descInput, `Everyone in the ${noun} sees it.`),
    fieldset,
    error,
    h('div', { class: 'dialog-actions' }, saved, save),
  );
  let edited = false;
  let edits = 0; // changes made in the form, counted
  const chosen = () => [joined, all, days].find((x) => x.input.checked)?.input.value ?? 'joined';
  el.addEventListener('input', (e) => {
    edited = true;
    edits += 1;
    setText(saved, '');
    if (e.target === daysInput) days.input.checked = true;
  });
  daysInput.addEventListener('focus', () => {
    days.input.checked = true;
  });

  function fill(c) {
    nameInput.value = c.name ?? '';
    descInput.value = c.description ?? '';
    const h0 = c.history ?? { visible: 'joined' };
    for (const x of [joined, all, days]) x.input.checked = x.input.value === h0.visible;
    daysInput.value = h0.visible === 'days' ? String(h0.days) : '';
  }

  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = store.convs.get(convId);
    if (!c) return;
    setText(error, '');
    setText(saved, '');
    const changes = {};
    if (nameInput.value.trim() !== (c.name ?? '')) changes.name = nameInput.value;
    if (descInput.value.trim() !== (c.description ?? '')) changes.description = descInput.value;
    const visible = chosen();
    const history = visible === 'days' ? { visible, days: Number(daysInput.value.trim() || 0) } : { visible };
    const was = c.history ?? { visible: 'joined' };
    if (history.visible !== was.visible || (visible === 'days' && history.days !== was.days)) changes.history = history;
    if (Object.keys(changes).length === 0) {
      setText(saved, 'Nothing to save.');
      return;
    }
    save.disabled = true;
    const before = edits;
    try {
      store.upsert(await api.updateGroup(convId, changes));
      // What was typed while it was being saved stays in the form.
      if (edits === before) {
        edited = false;
        fill(store.convs.get(convId) ?? c);
      }
      setText(saved, 'Saved.');
    } catch (err) {
      setText(error, describe(err));
    } finally {
      save.disabled = false;
    }
  });

  return {
    el,
    /** Shows the group's settings, unless the user is editing them. */
    refresh(c) {
      if (!edited) fill(c);
    },
  };
}

// How long a new invite link works: the choices of the form.
const EXPIRY = [
  ['never', 'Never', null],
  ['hour', '1 hour', 3600],
  ['day', '1 day', 86400],
  ['week', '7 days', 7 * 86400],
];

/** An invite link's uses and expiry, in words. */
export function inviteMeta(inv, now = Date.now()) {
  const uses = inv.max_uses ? `${inv.uses} / ${inv.max_uses} uses` : plural(inv.uses, 'use');
  let expiry = 'never expires';
  if (inv.expires_at) expiry = inv.expires_at <= now ? `expired ${fullTime(inv.expires_at)}` : `expires ${fullTime(inv.expires_at)}`;
  const usedUp = inv.max_uses && inv.uses >= inv.max_uses;
  return { text: `${uses} · ${expiry}${usedUp ? ' · used up' : ''}`, usable: !usedUp && !(inv.expires_at && inv.expires_at <= now) };
}

/**
 * The invite links section of the group info panel (owners and admins):
 * a form to make a link (expiry, maximum uses), and each link as an
 * address of this client with Copy, its uses and expiry, and Revoke.
 * The server's refusals are shown with its message.
 */
function inviteLinksSection({ api, convId, linkOf }) {
  const headingId = uid('invites');
  const expiry = h('select', {}, ...EXPIRY.map(([value, label]) => h('option', { value, text: label })));
  const maxUses = h('input', { type: 'number', min: 1, max: 100000, step: 1, inputmode: 'numeric', placeholder: 'No limit' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const create = h('button', { type: 'submit', class: 'btn primary', text: 'Create link' });
  const form = h(
    'form',
    { class: 'invite-form', novalidate: true },
    field('Expires after', expiry),
    field('Maximum uses', maxUses, 'Empty: no limit.'),
    error,
    h('div', { class: 'dialog-actions' }, create),
  );
  const status = h('p', { class: 'muted invite-status', role: 'status' });
  const empty = h('p', { class: 'muted', text: 'No invite links yet.', hidden: true });
  const list = h('ul', { class: 'invite-list', role: 'list', 'aria-label': 'Invite links' });
  const el = h(
    'section',
    { class: 'group-section invite-links', 'aria-labelledby': headingId },
    h('h3', { id: headingId, text: 'Invite links' }),
    form,
    status,
    empty,
    list,
  );
  let invites = null;
  let loading = null;
  let again = false; // asked again while a read was under way

  function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        invites = (await api.invites(convId)).invites ?? [];
        render();
      } catch (e) {
        setText(error, describe(e));
      } finally {
        loading = null;
        if (again) {
          again = false;
          load();
        }
      }
    })();
    return loading;
  }

  function row(inv) {
    const url = linkOf(inv.token);
    const meta = inviteMeta(inv);
    const copy = h('button', { type: 'button', class: 'btn small', text: 'Copy', 'aria-label': `Copy link ${url}` });
    const revoke = h('button', { type: 'button', class: 'btn small danger', text: 'Revoke', 'aria-label': `Revoke link ${url}` });
    const link = h('span', { class: 'invite-url', text: url });
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(url);
        setText(status, 'Link copied.');
      } catch {
        // No clipboard here: select the address, for the user to copy.
        getSelection()?.selectAllChildren(link);
        setText(status, 'Copying is not allowed here: the link is selected, copy it with Ctrl+C.');
      }
    });
    revoke.addEventListener('click', () =>
      confirmDialog({
        title: 'Revoke this link?',
        text: 'Nobody can join with it any more. People who joined with it stay in the group.',
        confirmText: 'Revoke',
        run: async () => {
          await api.revokeInvite(convId, inv.token);
          setText(status, 'Link revoked.');
          await load();
        },
      }),
    );
    return h(
      'li',
      { class: `invite${meta.usable ? '' : ' unusable'}`, dataset: { token: inv.token } },
      link,
      copy,
      revoke,
      h('span', { class: 'muted invite-meta', text: meta.text }),
    );
  }

  function render() {
    if (!invites) return;
    empty.hidden = invites.length > 0;
    list.replaceChildren(...invites.map(row));
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setText(error, '');
    setText(status, '');
    const body = {};
    const secs = EXPIRY.find(([value]) => value === expiry.value)?.[2];
    if (secs) body.expires_in_secs = secs;
    const max = maxUses.value.trim();
    if (max) {
      const n = Number(max);
      if (!Number.isInteger(n) || n < 1) {
        setText(error, 'Maximum uses is a whole number, 1 or more (or empty for no limit).');
        return;
      }
      body.max_uses = n;
    }
    create.disabled = true;
    try {
      const inv = await api.createInvite(convId, body);
      maxUses.value = '';
      expiry.value = 'never';
      setText(status, 'Link created.');
      invites = [inv, ...(invites ?? []).filter((x) => x.token !== inv.token)];
      render();
    } catch (err) {
      setText(error, describe(err));
    } finally {
      create.disabled = false;
    }
  });

  load();
  return { el, reload: () => load() };
}

/**
 * The reports section of the group info panel (moderators and above):
 * the open reports, newest first (resolved ones too with "Show
 * resolved"), each with the message as it was, who wrote it, who
 * reported it, why, and a Resolve button with an optional note. Names
 * follow as they become known; server text only ever goes in as text.
 */
export function reportsSection({ api, store, convId, title = 'Reports', admin = false }) {
  const headingId = uid('reports');
  const showResolved = h('input', { type: 'checkbox', id: uid('resolved') });
  const toggle = h('label', { for: showResolved.id, class: 'check' }, showResolved, h('span', { text: 'Show resolved' }));
  const error = h('p', { class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'muted report-status', role: 'status' });
  const empty = h('p', { class: 'muted report-empty', hidden: true });
  const list = h('ul', { class: 'report-list', role: 'list', 'aria-label': 'Reports' });
  const el = h(
    'section',
    { class: 'group-section reports', 'aria-labelledby': headingId },
    h('div', { class: 'report-head' }, h(admin ? 'h4' : 'h3', { id: headingId, text: title }), toggle),
    error,
    status,
    empty,
    list,
  );
  let reports = null;
  let loading = null;
  let again = false;
  const rowsById = new Map(); // `${id}:${resolved}` → <li>
  const name = (id) => (id === store.me.id ? 'you' : (store.name(id) ?? '…'));

  function load() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = (async () => {
      try {
        const all = showResolved.checked;
        reports = (admin ? await api.adminReports({ all }) : await api.reports(convId, { all })).reports ?? [];
        setText(error, '');
        render();
        // What arrived live is now in the queue.
        store.seenReports(admin ? null : convId);
      } catch (e) {
        setText(error, describe(e));
      } finally {
        loading = null;
        if (again) {
          again = false;
          load();
        }
      }
    })();
    return loading;
  }

  function row(r) {
    const sender = h('p', { class: 'report-sender' });
    const quote = h('blockquote', { class: 'report-quote' }, sender, h('p', { class: 'report-text', text: r.text }));
    const meta = h('p', { class: 'muted report-meta' });
    const where = admin ? h('p', { class: 'muted report-where' }) : null;
    const li = h('li', { class: `report${r.resolved_at ? ' resolved' : ''}`, dataset: { report: r.id } }, where, quote, meta);
    if (r.note) li.append(h('p', { class: 'report-note-text', text: `Note: ${r.note}` }));
    const outcome = h('p', { class: 'muted report-outcome', hidden: !r.resolved_at });
    li.append(outcome);
    if (!r.resolved_at) {
      const note = h('input', { autocomplete: 'off', maxlength: 500, placeholder: 'Note (optional)', 'aria-label': 'Resolution note (optional)' });
      const resolve = h('button', { type: 'submit', class: 'btn small primary', text: 'Resolve' });
      const form = h('form', { class: 'report-resolve', novalidate: true }, note, resolve);
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        setText(error, '');
        setText(status, '');
        resolve.disabled = true;
        try {
          await api.resolveReport(r.id, note.value.trim());
          setText(status, 'Report resolved.');
          await load();
        } catch (err) {
          setText(error, describe(err));
          resolve.disabled = false;
        }
      });
      li.append(form);
    }
    li.names = () => {
      setText(sender, name(r.sender) === 'you' ? 'You' : name(r.sender));
      setText(meta, `Reported by ${name(r.reporter)} · ${reasonName(r.reason)} · ${fullTime(r.created_at)}`);
      if (where) {
        const c = store.convs.get(r.conv);
        setText(where, c ? `In ${c.title(store)}` : 'In a conversation you are not in');
      }
      // A message deleted since it was reported has no text left.
      if (!r.text) setText(quote.lastChild, '(deleted)');
      if (r.resolved_at) {
        setText(outcome, `Resolved by ${name(r.resolved_by)} · ${fullTime(r.resolved_at)}${r.resolution ? ` · ${r.resolution}` : ''}`);
      }
      const resolveBtn = li.querySelector('.report-resolve button');
      resolveBtn?.setAttribute('aria-label', `Resolve the report on ${name(r.sender)}’s message`);
    };
    return li;
  }

  function render() {
    if (!reports) return;
    setText(empty, showResolved.checked ? 'No reports.' : 'No open reports.');
    empty.hidden = reports.length > 0;
    const keep = new Set();
    const out = reports.map((r) => {
      const key = `${r.id}:${r.resolved_at ? 1 : 0}`;
      keep.add(key);
      let li = rowsById.get(key);
      if (!li) {
        li = row(r);
        rowsById.set(key, li);
      }
      li.names();
      return li;
    });
    for (const key of [...rowsById.keys()]) if (!keep.has(key)) rowsById.delete(key);
    // Keyed: a note being typed survives a reload.
    let cursor = list.firstChild;
    for (const li of out) {
      if (li !== cursor) list.insertBefore(li, cursor);
      else cursor = cursor.nextSibling;
    }
    while (cursor) {
      const nextEl = cursor.nextSibling;
      cursor.remove();
      cursor = nextEl;
    }
  }

  showResolved.addEventListener('change', () => {
    setText(status, '');
    load();
  });
  load();
  // A new report for this queue arrived: read it again while it is shown.
  let tick = store.reportTick;
  let mounted = false;
  const off = store.on(['reports'], () => {
    if (!el.isConnected) {
      if (mounted) off();
      return;
    }
    mounted = true;
    if (store.reportTick === tick) return;
    tick = store.reportTick;
    if (admin ? store.newAdminReports : store.newReports.has(convId)) load();
  });
  return { el, reload: () => load(), names: () => render(), off };
}

/**
 * The group info panel: the group's name, member count and my role; its
 * members (a page at a time) with role badges and presence; the actions
 * my role allows on each; adding members and the bans for owners and
 * admins. It stays current as membership and roles change.
 *
 * For a broadcast channel it is "Channel info": the staff (owner, admins,
 * moderators) see the members as in a group, with the channel's roles
 * (admin, moderator, subscriber); a subscriber, whom the server does not
 * show the others, sees how many subscribe. Everyone gets "Leave channel"
 * (`leave(convId)`, after a confirmation).
 */
export function groupInfoDialog({ api, store, convId, linkOf, leave }) {
  const conv = store.convs.get(convId);
  if (!conv) return;
  const channel = conv.kind === 'channel';
  const noun = channel ? 'channel' : 'group';
  const summary = h('p', { class: 'group-summary', role: 'status' });
  const error = h('p', { class: 'form-error group-error', role: 'alert' });
  const list = h('ul', { class: 'member-list', role: 'list', 'aria-label': 'Members' });
  const leaveButton = h('button', { type: 'button', class: 'btn danger leave-channel', text: 'Leave channel' });
  const leaveRow = h('div', { class: 'dialog-actions leave-actions', hidden: !channel || !leave }, leaveButton);
  leaveButton.addEventListener('click', () => {
    const c = current();
    if (!c) return;
    confirmDialog({
      title: 'Leave channel?',
      text: `You will leave “${c.name ?? 'this channel'}” and stop getting its posts. An invite link brings you back.`,
      confirmText: 'Leave channel',
      run: () => leave(convId),
    });
  });
  const more = h('button', { type: 'button', class: 'btn small show-more', text: 'Show more', hidden: true });
  const addSection = h('div');
  const bansSection = h('section', { class: 'group-section', hidden: true, 'aria-labelledby': uid('bans') });
  const name = h('p', { class: 'dialog-sub' });
  const about = h('p', { class: 'group-description', hidden: true });
  const reads = h('p', { class: 'muted group-history' });
  const settingsSection = h('section', { class: 'group-section group-settings', hidden: true, 'aria-labelledby': uid('settings') });
  const invitesSlot = h('div');
  const reportsSlot = h('div');
  // The group's picture: who may rename the group may change it.
  const picture = avatar(convId, conv.name ?? '', { size: 'lg' });
  const pictureEditor = avatarEditor({
    api,
    label: `${noun} picture`,
    show: () => ({ id: convId, name: store.convs.get(convId)?.name ?? '', image: store.convs.get(convId)?.avatar ?? null }),
    save: async (upload) => {
      const c = store.convs.get(convId);
      const answer = upload ? await api.setGroupAvatar(convId, upload) : await api.removeGroupAvatar(convId);
      if (c) {
        c.avatar = (upload && answer?.avatar) || null;
        store.emit('convs', `conv:${convId}`);
      }
    },
  });
  const pictureSlot = h('div', { class: 'group-picture' });
  const m = modal({
    title: channel ? 'Channel info' : 'Group info',
    content: [
      pictureSlot,
      name,
      about,
      reads,
      summary,
      error,
      list,
      more,
      addSection,
      reportsSlot,
      invitesSlot,
      settingsSection,
      bansSection,
      leaveRow,
    ],
    className: 'group-dialog',
  });

  // The members loaded so far, in join order: id → {id, username, role}.
  const rows = new Map();
  let next = null; // the server's `next`: more members after these
  let loading = false;
  let loadFailed = null;
  let asked = false; // the first page was asked for
  let bans = null; // [BanInfo], once loaded
  const elements = new Map(); // member id → its <li>

  const current = () => store.convs.get(convId);

  async function loadPage() {
    if (loading) return;
    asked = true;
    loading = true;
    loadFailed = null;
    more.disabled = true;
    render();
    try {
      const page = await api.members(convId, { limit: MEMBER_PAGE, after: next ?? undefined });
      store.addUsers(page.members);
      for (const mem of page.members) rows.set(mem.id, { id: mem.id, username: mem.username, role: mem.role });
      const mine = page.members.find((x) => x.id === store.me.id);
      if (mine && current()) current().role = mine.role;
      next = page.next ?? null;
    } catch (e) {
      loadFailed = e;
    } finally {
      loading = false;
      more.disabled = false;
      render();
    }
  }
  more.addEventListener('click', () => loadPage());

  async function loadBans() {
    try {
      const answer = await api.bans(convId);
      bans = answer.bans;
      store.addUsers(bans.map((b) => b.user));
    } catch (e) {
      bans = null;
      if (e?.code !== 'forbidden') setText(error, describe(e));
    }
    render();
  }

  /** Runs an action on the server; its refusal is shown with the server's message. */
  async function act(run) {
    setText(error, '');
    try {
      await run();
    } catch (e) {
      setText(error, describe(e));
    }
  }

  function memberItems(mem) {
    const c = current();
    if (!c || mem.id === store.me.id) return [];
    const may = groupPowers(c.role);
    const who = store.name(mem.id) ?? mem.username ?? 'this member';
    const out = [];
    if (may.own(mem.role)) {
      for (const role of GIVEN_ROLES[noun]) {
        if (role === mem.role) continue;
        out.push({
          label: `Make ${role}`,
          onSelect: () => act(() => api.setRole(convId, mem.id, role)),
        });
      }
      out.push({
        label: 'Transfer ownership',
        onSelect: () =>
          confirmDialog({
            title: 'Transfer ownership?',
            text: `${who} will own “${c.name ?? `this ${noun}`}”, and you will become an admin. Only they can make you the owner again.`,
            confirmText: 'Transfer ownership',
            run: () => api.transferOwnership(convId, mem.id),
          }),
      });
    }
    if (may.moderate(mem.role)) {
      out.push({
        label: 'Remove',
        danger: true,
        onSelect: () =>
          confirmDialog({
            title: `Remove ${who}?`,
            text: channel
              ? `${who} will leave “${c.name ?? 'this channel'}” at once. They can join again with an invite link.`
              : `${who} will leave “${c.name ?? 'this group'}” at once. They can be added again later.`,
            confirmText: 'Remove',
            run: async () => {
              await api.removeMember(convId, mem.id);
              departed(mem.id, false);
            },
          }),
      });
      out.push({
        label: 'Ban',
        danger: true,
        onSelect: () =>
          confirmDialog({
            title: `Ban ${who}?`,
            text: channel
              ? `${who} will be removed from “${c.name ?? 'this channel'}”, and cannot join again until the ban is lifted.`
              : `${who} will be removed from “${c.name ?? 'this group'}”, and nobody can add them again until the ban is lifted.`,
            confirmText: 'Ban',
            run: async () => {
              await api.ban(convId, mem.id);
              departed(mem.id, true);
            },
          }),
      });
    }
    return out;
  }

  /**
   * A member I removed or banned. In a group the event that follows
   * updates the panel; a channel's subscriber goes silently (no event),
   * so the panel drops them itself and reads the count again.
   */
  function departed(id, banned) {
    if (!channel) return;
    rows.delete(id);
    if (banned && bans) loadBans();
    refreshCount();
    render();
  }

  function memberRow(id) {
    const nameEl = h('span', { class: 'member-main' }, h('span', { class: 'member-name' }), h('span', { class: 'muted member-handle' }));
    const role = h('span', { class: 'tag member-role' });
    const presence = h('span', { class: 'muted member-presence' });
    const li = h('li', { class: 'member', dataset: { user: id } }, avatar(id, '', { size: 'sm', dot: true }), nameEl, role, presence);
    const menu = menuButton(icon('more'), 'Actions', () => memberItems(rows.get(id) ?? { id }), {
      className: 'icon-btn member-menu',
    });
    menu.el.classList.add('member-actions');
    li.append(menu.el);
    li.menu = menu;
    return li;
  }

  function updateRow(li, mem) {
    const me = mem.id === store.me.id;
    const user = store.user(mem.id);
    const handle = mem.username ?? user?.username ?? null;
    // Their display name, and their @username under it.
    const username = user?.display_name || handle || '…';
    const [av, main, role, presence] = li.children;
    updateAvatar(av, mem.id, username, mem.avatar ?? user?.avatar ?? null);
    setText(main.firstChild, me ? `${username} (you)` : username);
    setText(main.lastChild, handle ? `@${handle}` : '');
    // Badges for the roles that stand out: not for members or subscribers.
    role.hidden = mem.role === 'member' || mem.role === 'subscriber' || !ROLE_NAME[mem.role];
    setText(role, ROLE_NAME[mem.role] ?? '');
    const p = me ? null : store.presenceOf(mem.id);
    av.querySelector('.presence-dot').hidden = !(me ? store.connection === 'online' : p?.online);
    setText(presence, me ? '' : presenceText(p));
    const actions = memberItems(mem).length > 0;
    li.menu.el.hidden = !actions;
    li.menu.button.setAttribute('aria-label', `Actions for ${username}`);
    li.menu.button.title = `Actions for ${username}`;
    if (!actions) li.menu.close();
  }

  function render() {
    const c = current();
    if (!c) return;
    const editable = groupPowers(c.role).settings;
    const pic = editable ? pictureEditor.el : picture;
    if (pictureSlot.firstChild !== pic) pictureSlot.replaceChildren(pic);
    if (editable) pictureEditor.refresh();
    else updateAvatar(picture, convId, c.name ?? '', c.avatar);
    setText(name, c.name ?? '');
    setText(about, c.description ?? '');
    about.hidden = !c.description;
    setText(reads, `New ${channel ? 'subscribers' : 'members'} can read ${historyText(c.history)}.`);
    reads.hidden = groupPowers(c.role).settings;
    const count = plural(c.memberCount, channel ? 'subscriber' : 'member');
    setText(summary, `${count} · You are ${roleText(c.role)}`);
    // A channel's subscriber may not list the others: the count says it.
    const seeMembers = groupPowers(c.role).members;
    list.hidden = !seeMembers;
    if (seeMembers && !asked) loadPage();
    const shownRows = seeMembers ? [...rows.values()] : [];
    if (loadFailed && shownRows.length === 0 && seeMembers) setText(summary, `Could not load the members: ${describe(loadFailed)}`);
    // Keyed: an open menu or focus survives a re-render.
    const keep = new Set(shownRows.map((r) => r.id));
    for (const [id, li] of elements) {
      if (!keep.has(id)) {
        li.remove();
        elements.delete(id);
      }
    }
    let cursor = list.firstChild;
    for (const mem of shownRows) {
      let li = elements.get(mem.id);
      if (!li) {
        li = memberRow(mem.id);
        elements.set(mem.id, li);
      }
      updateRow(li, mem);
      if (li !== cursor) list.insertBefore(li, cursor);
      else cursor = cursor.nextSibling;
    }
    more.hidden = !seeMembers || (!next && !loadFailed);
    setText(more, loadFailed ? 'Try again' : loading ? 'Loading…' : 'Show more');
    renderAdd(c);
    renderReports(c);
    renderInvites(c);
    renderSettings(c);
    renderBans(c);
  }

  // Reports: moderators and above.
  let reportsPart = null;
  function renderReports(c) {
    if (!groupPowers(c.role).reports) {
      reportsSlot.replaceChildren();
      reportsPart = null;
      return;
    }
    if (reportsPart) {
      reportsPart.names();
      return;
    }
    reportsPart = reportsSection({ api, store, convId });
    reportsSlot.replaceChildren(reportsPart.el);
  }

  // Invite links: owners and admins.
  let invitesPart = null;
  function renderInvites(c) {
    const may = groupPowers(c.role).invites && !!linkOf;
    if (!may) {
      invitesSlot.replaceChildren();
      invitesPart = null;
      return;
    }
    if (invitesPart) return;
    invitesPart = inviteLinksSection({ api, convId, linkOf });
    invitesSlot.replaceChildren(invitesPart.el);
  }

  // The group's settings: owners and admins.
  let settingsForm = null;
  function renderSettings(c) {
    const may = groupPowers(c.role).settings;
    settingsSection.hidden = !may;
    if (!may) {
      settingsSection.replaceChildren();
      settingsForm = null;
      return;
    }
    if (!settingsForm) {
      settingsForm = groupSettingsForm({ api, store, convId, headingId: settingsSection.getAttribute('aria-labelledby'), channel });
    }
    if (!settingsForm.el.isConnected) settingsSection.replaceChildren(settingsForm.el);
    settingsForm.refresh(c);
  }

  // Adding members: owners and admins.
  let addForm = null;
  function renderAdd(c) {
    const may = groupPowers(c.role).add;
    if (!may) {
      addSection.replaceChildren();
      addForm = null;
      return;
    }
    if (addForm) return;
    const input = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'dave' });
    const addError = h('p', { class: 'form-error', role: 'alert' });
    const add = h('button', { type: 'submit', class: 'btn primary', text: 'Add' });
    addForm = h(
      'form',
      { class: 'add-members', novalidate: true },
      field(channel ? 'Add subscribers' : 'Add members', input, 'Usernames, separated by commas or spaces.'),
      addError,
      add,
    );
    addForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      addError.textContent = '';
      add.disabled = true;
      try {
        const users = await resolveNames(api, store, parseNames(input.value));
        if (users.length === 0) throw new Error('Enter at least one username.');
        store.upsert(await api.addMembers(convId, users.map((u) => u.id)));
        input.value = '';
      } catch (err) {
        addError.textContent = describe(err);
      } finally {
        add.disabled = false;
      }
    });
    addSection.replaceChildren(addForm);
  }

  // The bans: owners and admins.
  const bansHeading = h('h3', { id: bansSection.getAttribute('aria-labelledby'), text: 'Banned' });
  const bansList = h('ul', { class: 'member-list', role: 'list' });
  const bansEmpty = h('p', { class: 'muted', text: 'Nobody is banned.' });
  bansSection.append(bansHeading, bansEmpty, bansList);
  let bansAsked = false;
  function renderBans(c) {
    const may = groupPowers(c.role).bans;
    bansSection.hidden = !may || !bans;
    if (!may) {
      bans = null;
      bansAsked = false;
      return;
    }
    if (!bansAsked) {
      bansAsked = true;
      loadBans();
      return;
    }
    if (!bans) return;
    bansEmpty.hidden = bans.length > 0;
    bansList.replaceChildren(
      ...bans.map((b) => {
        const username = b.user.display_name || b.user.username || store.name(b.user.id) || '…';
        const unban = h('button', { type: 'button', class: 'btn small', text: 'Unban', 'aria-label': `Unban ${username}` });
        unban.addEventListener('click', () => {
          unban.disabled = true;
          act(() => api.unban(convId, b.user.id)).finally(() => {
            unban.disabled = false;
          });
        });
        const by = b.by === store.me.id ? 'you' : (store.name(b.by) ?? '…');
        return h(
          'li',
          { class: 'ban-row', dataset: { user: b.user.id } },
          avatar(b.user.id, username, { size: 'sm' }),
          h('span', { class: 'member-name', text: username }),
          h('span', { class: 'muted member-presence', text: `banned by ${by}` }),
          unban,
        );
      }),
    );
  }

  // Live: membership and role changes, presence, names.
  const offMembers = store.onMembers((id, change) => {
    if (id !== convId) return;
    // Someone joined with a link: its use is counted.
    if (change.type === 'added' && change.link) invitesPart?.reload();
    if (change.type === 'gone') rows.delete(change.user);
    else if (change.type === 'added' && change.truncated) {
      // More joined than the event names: read the list again.
      rows.clear();
      next = null;
      loadPage();
      return;
    } else if (change.type === 'added' && !next) {
      for (const u of change.users) {
        if (!rows.has(u)) rows.set(u, { id: u, username: store.users.get(u)?.username ?? null, role: channel ? 'subscriber' : 'member' });
      }
    } else if (change.type === 'role') {
      const r = rows.get(change.user);
      if (r) r.role = change.role;
    } else if (change.type === 'bans' && bans) {
      loadBans();
      return;
    }
    render();
  });
  const offStore = store.on(['convs', 'conv', 'presence', 'users', 'connection'], () => {
    if (!current()) {
      // I left, or was removed: nothing here to show any more.
      m.close();
      return;
    }
    for (const r of rows.values()) r.username ??= store.users.get(r.id)?.username ?? null;
    render();
  });
  m.dialog.addEventListener('close', () => {
    offMembers();
    offStore();
  });
  // Subscribers come and go without an event: the count is read again.
  function refreshCount() {
    api
      .conversation(convId)
      .then((info) => {
        if (store.convs.has(convId)) store.upsert(info);
      })
      .catch(() => {});
  }
  render();
  if (channel) refreshCount();
}

// ---- messages (protocol.md, "Rich messages") ----

/**
 * Forwards a message: pick one of my conversations (a filter narrows the
 * list); the copy is sent there (`forward`), marked "Forwarded". A
 * refusal is shown in the dialog.
 */
export function forwardDialog({ store, sync, fromConv, seq, text }) {
  const filter = h('input', { type: 'search', class: 'forward-filter', 'aria-label': 'Find a conversation', placeholder: 'Find a conversation' });
  const list = h('ul', { class: 'forward-list', role: 'list' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const quote = h('blockquote', { class: 'report-quote' }, h('p', { text }));
  const m = modal({ title: 'Forward message', content: [quote, filter, list, error], className: 'forward-dialog' });
  const title = (c) => c.title(store);
  function render() {
    const q = filter.value.trim().toLowerCase();
    const convs = store.sorted().filter((c) => !c.stale && !c.request && c.canPost && !store.blocked(c.peerId()) && (!q || title(c).toLowerCase().includes(q)));
    list.replaceChildren(
      ...convs.map((c) => {
        const b = h('button', { type: 'button', class: 'forward-to', dataset: { conv: c.id } }, avatar(c.kind === 'direct' ? c.peerId() : c.id, title(c), { size: 'sm' }), h('span', { text: title(c) }));
        b.addEventListener('click', async () => {
          setText(error, '');
          for (const x of list.querySelectorAll('button')) x.disabled = true;
          try {
            await sync.forward(c.id, fromConv, seq);
            m.close();
            store.setNotice(`Forwarded to ${title(c)}`);
          } catch (e) {
            setText(error, describe(e));
            for (const x of list.querySelectorAll('button')) x.disabled = false;
          }
        });
        return h('li', null, b);
      }),
    );
    if (!convs.length) list.append(h('li', { class: 'muted', text: 'No conversation found.' }));
  }
  filter.addEventListener('input', render);
  render();
  filter.focus();
  return m;
}

/** A message in a list of its own (pins, versions): who, when, the text. */
function messageCard(store, ev, extra) {
  const who = ev.sender === store.me.id ? 'You' : (store.name(ev.sender) ?? '…');
  return h(
    'div',
    { class: 'message-card' },
    h('p', { class: 'card-meta' }, h('span', { class: 'card-sender', text: who }), ' ', h('time', { class: 'time', title: fullTime(ev.ts), text: clock(ev.ts) })),
    // Files say what they are (the pictures themselves are in the timeline).
    ev.attachments?.length ? h('p', { class: 'muted card-files', text: messageSummary('', ev.attachments) }) : null,
    h('div', { class: 'text' }, renderMarkdown(ev.text ?? '', { mentions: ev.mentions, mentionAll: ev.mention_all, nameOf: (id) => store.name(id), me: store.me.id })),
    extra,
  );
}

/**
 * The pinned messages of a conversation, the latest pinned first: each
 * with who pinned it, "Show" (the message in the timeline) and, for those
 * who may, "Unpin". Pins and unpins elsewhere show at once.
 */
export function pinsDialog({ store, sync, convId, canPin, jump }) {
  const status = h('p', { class: 'muted pins-status', role: 'status', text: 'Loading…' });
  const list = h('ul', { class: 'pins-list', role: 'list', 'aria-label': 'Pinned messages' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const m = modal({ title: 'Pinned messages', content: [status, list, error], className: 'pins-dialog' });
  let tick = -1;
  let seq = 0;
  async function load() {
    const mine = ++seq;
    try {
      // A pinned message I deleted for myself stays out of my list.
      const pins = (await sync.pins(convId)).filter((p) => p.message?.kind === 'message');
      if (mine !== seq) return;
      setText(status, pins.length ? '' : 'No pinned messages yet.');
      list.replaceChildren(
        ...pins.map((p) => {
          const ev = p.message;
          const by = p.by === store.me.id ? 'you' : (store.name(p.by) ?? '…');
          const show = h('button', { type: 'button', class: 'btn small', text: 'Show' });
          show.addEventListener('click', () => {
            m.close();
            jump(ev.seq);
          });
          const actions = h('div', { class: 'card-actions' }, h('span', { class: 'muted', text: `Pinned by ${by}` }), show);
          if (canPin) {
            const unpin = h('button', { type: 'button', class: 'btn small ghost', text: 'Unpin' });
            unpin.addEventListener('click', async () => {
              unpin.disabled = true;
              try {
                await sync.pin(convId, ev.seq, false);
              } catch (e) {
                setText(error, describe(e));
                unpin.disabled = false;
              }
            });
            actions.append(unpin);
          }
          return h('li', { class: 'pin-item', dataset: { seq: String(ev.seq) } }, messageCard(store, ev, actions));
        }),
      );
    } catch (e) {
      if (mine === seq) setText(status, describe(e));
    }
  }
  const off = store.on(['conv', 'users'], () => {
    const c = store.convs.get(convId);
    if (c && c.pinsTick !== tick) {
      tick = c.pinsTick;
      load();
    }
  });
  tick = store.convs.get(convId)?.pinsTick ?? 0;
  m.dialog.addEventListener('close', () => off());
  load();
  return m;
}

/** The versions of an edited message, the original first (`GET …/edits`). */
export function editHistoryDialog({ api, convId, seq }) {
  const list = h('ol', { class: 'edits-list' });
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const m = modal({ title: 'Edit history', content: [status, list], className: 'edits-dialog' });
  api
    .edits(convId, seq)
    .then(({ versions }) => {
      setText(status, '');
      list.replaceChildren(
        ...versions.map((v, i) =>
          h(
            'li',
            { class: 'edit-version' },
            h('p', { class: 'card-meta', text: `${i === 0 ? 'Original' : i === versions.length - 1 ? 'Current' : 'Edited'} · ${fullTime(v.at)}` }),
            h('div', { class: 'text' }, renderMarkdown(v.text)),
          ),
        ),
      );
    })
    .catch((e) => setText(status, describe(e)));
  return m;
}
