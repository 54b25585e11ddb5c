// Everything the client keeps in localStorage, under `natter.` keys:
//
//   natter.session            the device session (tokens, user, device)
//   natter.cursor.<device>    this device's position in its user's log
//   natter.outbox.<device>    messages written but not yet acknowledged
//   natter.theme              light / dark / system (kept across logins)
//   natter.notify.dismissed   the user said "not now" to notifications
//
// A cursor and an outbox belong to one device session: a cursor is
// meaningless for another account, so logging out drops both.

const SESSION = 'natter.session';
const PREFIX = 'natter.';
const KEEP_ON_LOGOUT = new Set(['natter.theme']);

function read(key) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : JSON.parse(raw);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the app keeps working for this page's life.
  }
}

/** The stored session, or null. */
export function loadSession() {
  const s = read(SESSION);
  return s && s.access_token && s.refresh_token && s.device ? s : null;
}

/** Stores a session answer from register, login or refresh. */
export function saveSession(s) {
  write(SESSION, s);
}

/** Turns an `AuthSession` answer into what is stored. */
export function sessionFrom(answer) {
  return {
    user: answer.user,
    username: answer.username,
    device: answer.device,
    access_token: answer.access_token,
    refresh_token: answer.refresh_token,
    // Refresh a little early (a fifth of the lifetime, at most 30 s):
    // clocks and networks are not exact.
    access_expires_at:
      Date.now() + answer.access_expires_in * 1000 - Math.min(30000, answer.access_expires_in * 200),
  };
}

/** Forgets the session, its cursor and outbox (logout, session gone). */
export function clearSession() {
  const doomed = [];
  for (let i = 0; i < localStorage.length; i += 1) {
    const key = localStorage.key(i);
    if (key?.startsWith(PREFIX) && !KEEP_ON_LOGOUT.has(key)) doomed.push(key);
  }
  for (const key of doomed) localStorage.removeItem(key);
}

/** Whether a storage event is about the session. */
export function isSessionKey(key) {
  return key === SESSION || key === null;
}

/** This device's stored cursor, or null. */
export function loadCursor(device) {
  const c = read(`${PREFIX}cursor.${device}`);
  return typeof c === 'string' && /^\d{1,20}$/.test(c) ? c : null;
}

/** Stores the cursor. It never moves back except after a resync. */
export function saveCursor(device, cursor) {
  write(`${PREFIX}cursor.${device}`, cursor);
}

/** The outbox entries stored for this device. */
export function loadOutbox(device) {
  const list = read(`${PREFIX}outbox.${device}`);
  return Array.isArray(list) ? list.filter((e) => e && e.conv && e.client_id && e.text) : [];
}

/** Stores the outbox. */
export function saveOutbox(device, entries) {
  write(`${PREFIX}outbox.${device}`, entries);
}

/** A small preference. */
export function pref(name) {
  return read(PREFIX + name);
}

/** Sets a small preference. */
export function setPref(name, value) {
  write(PREFIX + name, value);
}
