// Modal dialogs (native <dialog>: focus stays inside, Escape closes, focus
// returns to the opener): new chat, new group, group info.

import { ApiError } from '../api.js';
import { h, uid } from '../dom.js';
import { presenceText } from '../format.js';
import { icon } from '../icons.js';
import { avatar, iconButton } from './common.js';

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
    if (lost && opener instanceof HTMLElement && opener.isConnected) opener.focus();
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

/** Starts (or opens) the direct conversation with a username. */
export function newChatDialog({ api, store, open }) {
  const input = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, placeholder: 'bob' });
  formDialog({
    title: 'New chat',
    fields: field('Username', input, 'The person you want to talk to.'),
    submitText: 'Start chat',
    onSubmit: async () => {
      const [name] = parseNames(input.value);
      if (!name) throw new Error('Enter a username.');
      if (name === store.me.username) throw new Error('That is you. Enter someone else’s username.');
      const [user] = await resolveNames(api, store, [name]);
      const info = await api.createDirect(user.id);
      store.upsert(info);
      return () => open(info.id);
    },
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

/** A group's members (with presence), and adding members for its creator. */
export function groupInfoDialog({ api, store, sync, convId }) {
  const conv = store.convs.get(convId);
  if (!conv) return;
  const list = h('ul', { class: 'member-list', role: 'list' });
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading members…' });
  const content = [h('p', { class: 'dialog-sub', text: conv.name ?? '' }), status, list];
  let addInput = null;
  if (conv.creator === store.me.id) {
    addInput = h('input', { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', placeholder: 'dave' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    const add = h('button', { type: 'submit', class: 'btn primary', text: 'Add' });
    const form = h('form', { class: 'add-members', novalidate: true }, field('Add members', addInput, 'Usernames, separated by commas or spaces.'), error, add);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = '';
      add.disabled = true;
      try {
        const users = await resolveNames(api, store, parseNames(addInput.value));
        if (users.length === 0) throw new Error('Enter at least one username.');
        store.upsert(await api.addMembers(convId, users.map((u) => u.id)));
        addInput.value = '';
        await fill();
      } catch (err) {
        error.textContent = describe(err);
      } finally {
        add.disabled = false;
      }
    });
    content.push(form);
  }
  modal({ title: 'Group info', content, className: 'group-dialog' });

  async function fill() {
    try {
      await sync.loadMembers(convId);
    } catch (e) {
      status.textContent = describe(e);
      return;
    }
    const c = store.convs.get(convId);
    status.textContent = `${c.members.size} members`;
    list.replaceChildren(
      ...[...c.members].map(([id, username]) => {
        const p = store.presenceOf(id);
        const me = id === store.me.id;
        return h(
          'li',
          { class: 'member' },
          avatar(id, username, { size: 'sm' }),
          h('span', { class: 'member-name', text: me ? `${username} (you)` : username }),
          id === c.creator ? h('span', { class: 'tag', text: 'creator' }) : null,
          h('span', { class: 'muted member-presence', text: me ? '' : presenceText(p) }),
        );
      }),
    );
  }
  fill();
}
