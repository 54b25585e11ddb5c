// Settings: my profile (display name, about), appearance, notifications,
// privacy (presence, read receipts, who can add me to groups, whether the
// user directory lists me), blocked users (unblock), device sessions (this
// one marked, revoke others), for server admins Administration (all
// reports, suspending accounts), sign out.

import { ApiError } from '../api.js';
import { h, setText, uid } from '../dom.js';
import { fullTime, listTime } from '../format.js';
import * as notify from '../notify.js';
import * as theme from '../theme.js';
import { avatar, avatarEditor } from './common.js';
import { confirmDialog, modal, reportsSection } from './dialogs.js';

// What the server takes (protocol.md, `PATCH /v1/me/profile`); it checks
// the rest, and its refusal is shown as it says it.
const ABOUT_MAX = 280;

function radios(name, legend, options, value, onChange) {
  const group = h('fieldset', { class: 'radios' }, h('legend', { text: legend }));
  for (const [v, label, hint] of options) {
    const id = uid(name);
    const input = h('input', { type: 'radio', name, id, value: v });
    input.checked = v === value;
    input.addEventListener('change', () => input.checked && onChange(v));
    group.append(
      h('label', { for: id, class: 'radio' }, input, h('span', {}, h('span', { class: 'radio-label', text: label }), hint ? h('span', { class: 'hint', text: hint }) : null)),
    );
  }
  return group;
}

function section(title, ...children) {
  const id = uid('section');
  return h('section', { class: 'settings-section', 'aria-labelledby': id }, h('h3', { id, text: title }), ...children);
}

/**
 * My profile: the display name others see instead of my username, and a
 * few words about me. Only what changed is sent; an emptied field removes
 * it. The server's refusal (too long, control characters) is shown with
 * its message, next to the field it is about.
 */
function profileSection({ store, sync }) {
  const me = store.me;
  // My picture: chosen, uploaded and saved at once (not with the form).
  const pic = avatarEditor({
    api: sync.api,
    label: 'profile picture',
    show: () => ({ id: store.me.id, name: store.me.display_name || store.me.username, image: store.me.avatar }),
    save: (upload) => sync.setAvatar(upload),
  });
  const shownName = h('span', { class: 'profile-name' });
  const handle = h('span', { class: 'muted profile-handle', text: `@${me.username}` });
  const nameInput = h('input', { autocomplete: 'nickname', class: 'profile-display-name' });
  const nameHint = h('p', { class: 'hint', id: uid('hint'), text: 'What others see instead of your username. Up to 64 characters; empty to go by your username.' });
  nameInput.setAttribute('aria-describedby', nameHint.id);
  nameInput.id = uid('display-name');
  const aboutInput = h('textarea', { rows: 3, class: 'profile-about' });
  aboutInput.id = uid('about');
  const aboutHint = h('p', { class: 'hint', id: uid('hint') });
  aboutInput.setAttribute('aria-describedby', aboutHint.id);
  const error = h('p', { class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'muted profile-status', role: 'status' });
  const save = h('button', { type: 'submit', class: 'btn primary small', text: 'Save profile' });
  const form = h(
    'form',
    { class: 'profile-form', novalidate: true },
    h('div', { class: 'profile-head' }, h('div', { class: 'profile-who' }, shownName, handle)),
    h('div', { class: 'field' }, h('label', { for: nameInput.id, text: 'Display name' }), nameInput, nameHint),
    h('div', { class: 'field' }, h('label', { for: aboutInput.id, text: 'About' }), aboutInput, aboutHint),
    error,
    h('div', { class: 'dialog-actions' }, status, save),
  );
  function fill() {
    const m = store.me;
    nameInput.value = m.display_name ?? '';
    aboutInput.value = m.about ?? '';
    show();
  }
  function show() {
    const m = store.me;
    setText(shownName, m.display_name || m.username);
    pic.refresh();
    const left = ABOUT_MAX - [...aboutInput.value.trim()].length;
    setText(aboutHint, left >= 0 ? `A few words about you, for people who chat with you. ${left} characters left.` : `${-left} characters too many (${ABOUT_MAX} at most).`);
  }
  let edits = 0; // changes typed, counted
  form.addEventListener('input', () => {
    edits += 1;
    setText(status, '');
    show();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const m = store.me;
    const changes = {};
    if (nameInput.value.trim() !== (m.display_name ?? '')) changes.display_name = nameInput.value.trim();
    if (aboutInput.value.trim() !== (m.about ?? '')) changes.about = aboutInput.value.trim();
    setText(error, '');
    if (Object.keys(changes).length === 0) {
      setText(status, 'Nothing to save.');
      return;
    }
    save.disabled = true;
    setText(status, 'Saving…');
    nameInput.removeAttribute('aria-invalid');
    aboutInput.removeAttribute('aria-invalid');
    const before = edits;
    try {
      await sync.setProfile(changes);
      // What was typed while it was being saved stays in the form.
      if (edits === before) fill();
      else show();
      setText(status, 'Saved.');
    } catch (err) {
      setText(status, '');
      const text = err instanceof ApiError ? err.message.charAt(0).toUpperCase() + err.message.slice(1) : err.message;
      setText(error, `Not saved: ${text}`);
      // Point at the field the server speaks of.
      const bad = /about/i.test(err.message) ? aboutInput : /display.?name/i.test(err.message) ? nameInput : null;
      if (bad) {
        bad.setAttribute('aria-invalid', 'true');
        bad.focus();
      }
    } finally {
      save.disabled = false;
    }
  });
  fill();
  return section('Profile', pic.el, form);
}

/**
 * Administration, for server admins only (`Me.admin`): every open report
 * on the server (resolve with a note), and suspending or lifting the
 * suspension of an account by username, after a confirmation. The
 * server's refusals are shown as it says them.
 */
function adminSection({ api, store }) {
  const reports = reportsSection({ api, store, title: 'All reports', admin: true });
  const input = h('input', { autocomplete: 'off', spellcheck: 'false', class: 'suspend-username', id: uid('suspend-user') });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const status = h('p', { class: 'muted suspend-status', role: 'status' });
  const suspend = h('button', { type: 'submit', class: 'btn danger small', text: 'Suspend' });
  const unsuspend = h('button', { type: 'button', class: 'btn small', text: 'Lift suspension' });
  const headingId = uid('suspend');
  const form = h(
    'form',
    { class: 'suspend-form', novalidate: true, 'aria-labelledby': headingId },
    h('h4', { id: headingId, text: 'Suspend an account' }),
    h('p', { class: 'hint', text: 'A suspended account is signed out everywhere at once and cannot sign in until the suspension is lifted.' }),
    h('label', { for: input.id, text: 'Username' }),
    h('div', { class: 'suspend-row' }, input, suspend, unsuspend),
    error,
    status,
  );
  async function act(lift) {
    setText(error, '');
    setText(status, '');
    const name = input.value.trim().replace(/^@/, '');
    if (!name) {
      setText(error, 'Enter a username.');
      input.focus();
      return;
    }
    let user;
    try {
      user = await api.userByName(name);
    } catch (e) {
      setText(error, e instanceof ApiError && e.status === 404 ? `There is no user @${name}.` : e.message);
      return;
    }
    const shown = user.display_name ? `${user.display_name} (@${user.username})` : `@${user.username}`;
    confirmDialog({
      title: lift ? 'Lift the suspension?' : 'Suspend this account?',
      text: lift
        ? `${shown} will be able to sign in again.`
        : `${shown} will be signed out on every device and cannot sign in until you lift the suspension.`,
      confirmText: lift ? 'Lift suspension' : 'Suspend',
      run: async () => {
        if (lift) await api.unsuspend(user.id);
        else await api.suspend(user.id);
        setText(status, lift ? `Lifted the suspension of @${user.username}.` : `Suspended @${user.username}.`);
      },
    });
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    act(false);
  });
  unsuspend.addEventListener('click', () => act(true));
  const el = section('Administration', reports.el, form);
  el.classList.add('admin-section');
  return el;
}

export function settingsDialog({ api, store, sync, onLogout }) {
  const profile = profileSection({ store, sync });

  // Appearance
  const appearance = section(
    'Appearance',
    radios(
      'theme',
      'Theme',
      [
        ['system', 'Same as system'],
        ['light', 'Light'],
        ['dark', 'Dark'],
      ],
      theme.preference(),
      (v) => theme.set(v),
    ),
  );

  // Notifications
  const notifyText = h('p', { class: 'muted' });
  const notifyButton = h('button', { type: 'button', class: 'btn small', text: 'Enable notifications' });
  function renderNotify() {
    const p = notify.permission();
    notifyText.textContent = {
      granted: 'On: you are notified of new messages while natter is in the background.',
      denied: 'Blocked. Allow notifications for this site in your browser’s settings.',
      default: 'Off.',
      unsupported: 'This browser does not support notifications.',
    }[p];
    notifyButton.hidden = p !== 'default';
  }
  notifyButton.addEventListener('click', async () => {
    await notify.ask();
    renderNotify();
  });
  renderNotify();
  const notifications = section('Notifications', notifyText, notifyButton);

  // Privacy
  const privacyStatus = h('p', { class: 'save-status', role: 'status' });
  const privacyBody = h('div', { class: 'privacy' }, h('p', { class: 'muted', text: 'Loading…' }));
  let privacy = null;
  async function savePrivacy(change) {
    const next = { ...privacy, ...change };
    privacyStatus.textContent = 'Saving…';
    try {
      privacy = await api.setPrivacy(next);
      privacyStatus.textContent = 'Saved.';
    } catch (e) {
      privacyStatus.textContent = `Not saved: ${e.message}`;
    }
  }
  api
    .privacy()
    .then((p) => {
      privacy = p;
      const receipts = h('input', { type: 'checkbox', id: uid('receipts') });
      receipts.checked = p.read_receipts;
      receipts.addEventListener('change', () => savePrivacy({ read_receipts: receipts.checked }));
      const discoverable = h('input', { type: 'checkbox', id: uid('discoverable') });
      discoverable.checked = p.discoverable !== false;
      discoverable.addEventListener('change', () => savePrivacy({ discoverable: discoverable.checked }));
      privacyBody.replaceChildren(
        radios(
          'presence',
          'Who can see when I am online and when I was last seen',
          [
            ['everyone', 'Everyone I chat with', 'People in your direct chats and small groups.'],
            ['contacts', 'My contacts', 'Only people you have a direct chat with.'],
            ['nobody', 'Nobody'],
          ],
          p.presence,
          (v) => savePrivacy({ presence: v }),
        ),
        radios(
          'group_adds',
          'Who can add me to groups',
          [
            ['everyone', 'Everyone'],
            ['contacts', 'My contacts', 'People you have a direct chat with that both of you have taken.'],
            ['nobody', 'Nobody', 'You are invited instead, and can accept or leave.'],
          ],
          p.group_adds ?? 'everyone',
          (v) => savePrivacy({ group_adds: v }),
        ),
        h(
          'label',
          { class: 'check', for: receipts.id },
          receipts,
          h(
            'span',
            {},
            h('span', { class: 'radio-label', text: 'Send read receipts' }),
            h('span', { class: 'hint', text: 'When off, others do not see when you read their messages, and you do not see theirs.' }),
          ),
        ),
        h(
          'label',
          { class: 'check', for: discoverable.id },
          discoverable,
          h(
            'span',
            {},
            h('span', { class: 'radio-label', text: 'Let people find me by name' }),
            h('span', { class: 'hint', text: 'When off, searching for people does not show you. Someone who knows your exact username can still start a chat.' }),
          ),
        ),
      );
    })
    .catch((e) => privacyBody.replaceChildren(h('p', { class: 'form-error', text: e.message })));
  const privacySection = section('Privacy', privacyBody, privacyStatus);

  // Blocked users
  const blockList = h('ul', { class: 'block-list', role: 'list' });
  const blockStatus = h('p', { class: 'save-status', role: 'status' });
  const blockEmpty = h('p', { class: 'muted block-empty', text: 'Loading…' });
  function renderBlocks() {
    const blocks = store.blocks ? [...store.blocks.values()] : null;
    if (blocks) blockEmpty.textContent = 'You have not blocked anyone.';
    blockEmpty.hidden = blocks !== null && blocks.length > 0;
    blockList.replaceChildren(
      ...(blocks ?? []).map((b) => {
        const shown = b.user.display_name || b.user.username;
        const unblock = h('button', {
          type: 'button',
          class: 'btn small',
          text: 'Unblock',
          'aria-label': `Unblock ${shown}`,
        });
        unblock.addEventListener('click', async () => {
          unblock.disabled = true;
          try {
            await sync.unblock(b.user.id);
            blockStatus.textContent = `Unblocked ${shown}.`;
          } catch (e) {
            blockStatus.textContent = e.message;
            unblock.disabled = false;
          }
        });
        return h(
          'li',
          { class: 'blocked-user', 'data-user': b.user.id },
          avatar(b.user.id, shown, { size: 'sm' }),
          h(
            'div',
            { class: 'session-main' },
            h('span', { class: 'session-name', text: shown }),
            b.user.display_name ? h('span', { class: 'muted session-when', text: `@${b.user.username}` }) : null,
            h('span', { class: 'muted session-when', text: `Blocked ${listTime(b.blocked_at)}`, title: fullTime(b.blocked_at) }),
          ),
          unblock,
        );
      }),
    );
  }
  const offBlocks = store.on(['blocks'], () => {
    // Keep focus in the list when the focused row goes.
    const had = blockList.contains(document.activeElement);
    renderBlocks();
    if (had) (blockList.querySelector('button') ?? blockStatus.closest('dialog')?.querySelector('.dialog-close'))?.focus();
  });
  renderBlocks();
  sync.loadBlocks().catch((e) => {
    blockStatus.textContent = e.message;
  });
  const blockedSection = section(
    'Blocked users',
    h('p', { class: 'hint section-hint', text: 'Blocked users cannot message you or add you to groups, and neither of you sees the other online.' }),
    blockEmpty,
    blockList,
    blockStatus,
  );

  // Devices
  const sessionList = h('ul', { class: 'session-list', role: 'list' });
  const sessionStatus = h('p', { class: 'save-status', role: 'status' });
  const revokeOthers = h('button', { type: 'button', class: 'btn small danger', text: 'Sign out all other devices' });
  async function loadSessions() {
    try {
      const { sessions } = await api.sessions();
      revokeOthers.hidden = !sessions.some((s) => !s.current);
      sessionList.replaceChildren(
        ...sessions.map((s) => {
          const revoke = s.current
            ? h('span', { class: 'tag current', text: 'This device' })
            : h('button', { type: 'button', class: 'btn small ghost', text: 'Sign out', 'aria-label': `Sign out ${s.name}` });
          if (!s.current) {
            revoke.addEventListener('click', async () => {
              revoke.disabled = true;
              try {
                await api.revokeSession(s.device);
                sessionStatus.textContent = `Signed out ${s.name}.`;
              } catch (e) {
                sessionStatus.textContent = e.message;
              }
              loadSessions();
            });
          }
          return h(
            'li',
            { class: `session${s.current ? ' current' : ''}`, 'data-device': s.device },
            h(
              'div',
              { class: 'session-main' },
              h('span', { class: 'session-name', text: s.name }),
              h('span', {
                class: 'muted session-when',
                text: `Signed in ${listTime(s.created_at)} · active ${listTime(s.last_active_at)}`,
                title: `Signed in ${fullTime(s.created_at)}; last active ${fullTime(s.last_active_at)}`,
              }),
            ),
            revoke,
          );
        }),
      );
    } catch (e) {
      sessionStatus.textContent = e.message;
    }
  }
  revokeOthers.addEventListener('click', async () => {
    revokeOthers.disabled = true;
    try {
      const { sessions } = await api.sessions();
      for (const s of sessions) if (!s.current) await api.revokeSession(s.device);
      sessionStatus.textContent = 'Every other device is signed out.';
    } catch (e) {
      sessionStatus.textContent = e.message;
    }
    revokeOthers.disabled = false;
    loadSessions();
  });
  loadSessions();
  const devices = section('Devices', sessionList, revokeOthers, sessionStatus);

  // Account
  const logout = h('button', { type: 'button', class: 'btn danger logout', text: 'Sign out' });
  const logoutStatus = h('p', { class: 'form-error', role: 'alert' });
  logout.addEventListener('click', async () => {
    logout.disabled = true;
    try {
      await onLogout();
    } catch (e) {
      logoutStatus.textContent = e.message;
      logout.disabled = false;
    }
  });
  const account = section(
    'Account',
    h('p', {}, 'Signed in as ', h('strong', { text: `@${store.me?.username ?? ''}` }), '.'),
    logout,
    logoutStatus,
  );

  const m = modal({
    title: 'Settings',
    content: [profile, appearance, notifications, privacySection, blockedSection, devices, store.me?.admin ? adminSection({ api, store }) : null, account].filter(Boolean),
    className: 'settings',
  });
  m.dialog.addEventListener('close', offBlocks);
  return m;
}
