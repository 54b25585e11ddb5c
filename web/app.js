// natter's web client: the entry point. Shows the login screen or the
// chat, and moves between them (login, logout, session gone).
//
// Modules: js/api.js (HTTP), js/live.js (WebSocket), js/sync.js (keeps the
// store in step: cursor, outbox, receipts), js/store.js (state),
// js/views/* (DOM), plus small helpers. No framework, no build step.

import { Api, SessionGone } from './js/api.js';
import { h } from './js/dom.js';
import * as storage from './js/storage.js';
import { Store } from './js/store.js';
import { Sync } from './js/sync.js';
import * as theme from './js/theme.js';
import { loginView } from './js/views/login.js';
import { shellView } from './js/views/shell.js';

const root = document.getElementById('app');
let session = null; // {api, store, sync, shell}
let bootTimer = null;

theme.init();

function teardown() {
  clearTimeout(bootTimer);
  if (!session) return;
  session.sync.stop();
  session.shell?.destroy();
  session = null;
}

function showLogin(message) {
  teardown();
  document.title = 'natter';
  const api = new Api();
  // Opened with an invite link: the address stays, so the join page
  // follows the sign-in.
  if (!message && /^#\/join\//.test(location.hash)) message = 'Sign in or create an account to open the invite link.';
  root.replaceChildren(loginView({ api, message, onSession: () => startChat() }));
}

/** The session is over (revoked elsewhere, expired, logged out in another tab). */
function ended(e) {
  if (session?.loggingOut) return; // `logout` shows its own message
  storage.clearSession();
  showLogin(e?.message ?? 'Your session has ended. Please sign in again.');
}

async function logout() {
  const s = session;
  if (!s) return;
  // The server closes this device's socket as it revokes the session;
  // that is expected here, not "your session has ended".
  s.loggingOut = true;
  try {
    await s.api.logout();
  } catch (e) {
    if (!(e instanceof SessionGone)) {
      s.loggingOut = false;
      throw new Error(`Could not sign out: ${e.message}`);
    }
  }
  storage.clearSession();
  showLogin('You have signed out.');
}

async function startChat(attempt = 0) {
  teardown();
  const api = new Api({ onGone: (e) => ended(e) });
  const store = new Store(null);
  const current = { api, store, sync: null, shell: null };
  current.sync = new Sync({
    api,
    store,
    onGone: (e) => ended(e),
    onMessage: (conv, ev) => current.shell?.message(conv, ev),
  });
  session = current;
  root.replaceChildren(h('div', { class: 'boot', role: 'status' }, h('p', { text: 'Loading your conversations…' })));
  try {
    await current.sync.start();
  } catch (e) {
    if (session !== current) return;
    if (e instanceof SessionGone) return; // `ended` shows the login
    // The server is unreachable: say so, and try again with backoff.
    const wait = Math.min(30000, 1000 * 2 ** attempt);
    const retry = h('button', { type: 'button', class: 'btn primary', text: 'Retry now' });
    retry.addEventListener('click', () => startChat(0));
    root.replaceChildren(
      h(
        'div',
        { class: 'boot', role: 'alert' },
        h('p', { text: `Cannot load natter: ${e.message}` }),
        h('p', { class: 'muted', text: 'Retrying…' }),
        retry,
      ),
    );
    current.sync.stop();
    bootTimer = setTimeout(() => startChat(attempt + 1), wait);
    return;
  }
  if (session !== current) return;
  current.shell = shellView({ api, store, sync: current.sync, onLogout: logout });
  root.replaceChildren(current.shell.el);
}

// Another tab signed out, or signed in as someone else.
window.addEventListener('storage', (e) => {
  if (!storage.isSessionKey(e.key)) return;
  const stored = storage.loadSession();
  if (!stored && session) ended(new SessionGone());
  else if (stored && (!session || stored.device !== session.api.session?.device)) startChat();
});

if (storage.loadSession()) startChat();
else showLogin();
