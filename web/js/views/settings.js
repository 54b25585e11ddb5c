// Settings: appearance, notifications, privacy (presence, read receipts,
// who can add me to groups), blocked users (unblock), device sessions
// (this one marked, revoke others), sign out.

import { h, uid } from '../dom.js';
import { fullTime, listTime } from '../format.js';
import * as notify from '../notify.js';
import * as theme from '../theme.js';
import { avatar } from './common.js';
import { modal } from './dialogs.js';

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

export function settingsDialog({ api, store, sync, onLogout }) {
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
        const unblock = h('button', {
          type: 'button',
          class: 'btn small',
          text: 'Unblock',
          'aria-label': `Unblock ${b.user.username}`,
        });
        unblock.addEventListener('click', async () => {
          unblock.disabled = true;
          try {
            await sync.unblock(b.user.id);
            blockStatus.textContent = `Unblocked ${b.user.username}.`;
          } catch (e) {
            blockStatus.textContent = e.message;
            unblock.disabled = false;
          }
        });
        return h(
          'li',
          { class: 'blocked-user', 'data-user': b.user.id },
          avatar(b.user.id, b.user.username, { size: 'sm' }),
          h(
            'div',
            { class: 'session-main' },
            h('span', { class: 'session-name', text: b.user.username }),
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
    h('p', {}, 'Signed in as ', h('strong', { text: store.me?.username ?? '' }), '.'),
    logout,
    logoutStatus,
  );

  const m = modal({
    title: 'Settings',
    content: [appearance, notifications, privacySection, blockedSection, devices, account],
    className: 'settings',
  });
  m.dialog.addEventListener('close', offBlocks);
  return m;
}
