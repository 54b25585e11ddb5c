// Sign in and create account. Errors are the server's own messages
// (weak password, username taken, rate limited, …), shown in an alert.

import { ApiError } from '../api.js';
import { h, uid } from '../dom.js';
import { deviceName } from '../format.js';

function sentence(s) {
  const t = String(s ?? '').trim();
  return t ? t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.') : '';
}

/** Explains an error for the login form. */
function explain(e, mode) {
  if (!(e instanceof ApiError)) return 'Something went wrong. Please try again.';
  if (e.code === 'network') return e.message;
  if (e.code === 'invalid_credentials') return 'Wrong username or password.';
  // The server says why ("this account is suspended …"): as it says it.
  if (e.code === 'account_suspended') return sentence(e.message);
  if (e.code === 'rate_limited' && e.retryAfter) {
    return `Too many attempts. Try again in ${e.retryAfter} s.`;
  }
  if (e.code === 'username_taken' && mode === 'register') {
    return 'That username is taken. Choose another, or sign in.';
  }
  return sentence(e.message);
}

/**
 * The login screen. `onSession()` is called once signed in; `message` is
 * shown first (for example "your session has ended").
 */
export function loginView({ api, onSession, message }) {
  let mode = 'login';
  const formId = uid('auth-form');
  const tabLogin = h('button', {
    type: 'button',
    role: 'tab',
    id: uid('tab'),
    'aria-controls': formId,
    class: 'tab',
    text: 'Sign in',
  });
  const tabRegister = h('button', {
    type: 'button',
    role: 'tab',
    id: uid('tab'),
    'aria-controls': formId,
    class: 'tab',
    text: 'Create account',
  });
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Account' }, tabLogin, tabRegister);

  const username = h('input', {
    id: uid('username'),
    name: 'username',
    autocomplete: 'username',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
    maxlength: 64,
  });
  const password = h('input', {
    id: uid('password'),
    name: 'password',
    type: 'password',
    required: true,
    maxlength: 1024,
  });
  const device = h('input', { id: uid('device'), name: 'device', maxlength: 64, value: deviceName() });
  const usernameHint = h('p', { class: 'hint', id: uid('hint') });
  const passwordHint = h('p', { class: 'hint', id: uid('hint') });
  username.setAttribute('aria-describedby', usernameHint.id);
  password.setAttribute('aria-describedby', passwordHint.id);
  const error = h('p', { class: 'form-error', role: 'alert' });
  const notice = h('p', { class: 'notice', role: 'status', text: message ?? '' });
  const submit = h('button', { type: 'submit', class: 'btn primary wide' });

  const form = h(
    'form',
    { class: 'auth-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: username.id, text: 'Username' }), username, usernameHint),
    h('div', { class: 'field' }, h('label', { for: password.id, text: 'Password' }), password, passwordHint),
    h(
      'details',
      { class: 'more' },
      h('summary', { text: 'Device name' }),
      h(
        'div',
        { class: 'field' },
        h('label', { for: device.id, class: 'sr-only', text: 'Device name' }),
        device,
        h('p', { class: 'hint', text: 'Shown in your list of signed-in devices.' }),
      ),
    ),
    error,
    submit,
  );

  // The tabs' panel (a role a <form> may not take).
  const panel = h('div', { id: formId, role: 'tabpanel' }, form);

  function setMode(m) {
    mode = m;
    const login = m === 'login';
    tabLogin.setAttribute('aria-selected', String(login));
    tabRegister.setAttribute('aria-selected', String(!login));
    tabLogin.tabIndex = login ? 0 : -1;
    tabRegister.tabIndex = login ? -1 : 0;
    panel.setAttribute('aria-labelledby', (login ? tabLogin : tabRegister).id);
    password.autocomplete = login ? 'current-password' : 'new-password';
    submit.textContent = login ? 'Sign in' : 'Create account';
    usernameHint.textContent = login ? '' : '3 to 32 characters: letters, digits, _ . and -';
    passwordHint.textContent = login ? '' : 'At least 10 characters, not your username, not a common password.';
    error.textContent = '';
  }

  tabLogin.addEventListener('click', () => setMode('login'));
  tabRegister.addEventListener('click', () => setMode('register'));
  tabs.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const next = mode === 'login' ? tabRegister : tabLogin;
      setMode(mode === 'login' ? 'register' : 'login');
      next.focus();
      e.preventDefault();
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!username.value.trim() || !password.value) {
      error.textContent = 'Enter a username and a password.';
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const name = username.value.trim();
      const dev = device.value.trim() || undefined;
      if (mode === 'login') await api.login(name, password.value, dev);
      else await api.register(name, password.value, dev);
      onSession();
    } catch (err) {
      error.textContent = explain(err, mode);
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      if (err?.code === 'weak_password') password.focus();
      else if (err?.code === 'invalid_username' || err?.code === 'username_taken') username.focus();
    }
  });

  setMode('login');
  const el = h(
    'main',
    { class: 'login' },
    h(
      'div',
      { class: 'login-card' },
      h(
        'div',
        { class: 'brand' },
        h('img', { src: '/assets/icon.svg', alt: '', width: 48, height: 48 }),
        h('h1', { text: 'natter' }),
      ),
      h('p', { class: 'tagline', text: 'Chat that never loses a message.' }),
      notice,
      tabs,
      panel,
    ),
  );
  queueMicrotask(() => username.focus());
  return el;
}
