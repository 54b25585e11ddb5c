// Light and dark themes: follow the system (prefers-color-scheme) unless
// the user picked one. The choice is kept across logins.

import * as storage from './storage.js';

const media = window.matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set();

/** `system`, `light` or `dark`. */
export function preference() {
  const p = storage.pref('theme');
  return p === 'light' || p === 'dark' ? p : 'system';
}

/** The theme in effect: `light` or `dark`. */
export function resolved() {
  const p = preference();
  if (p !== 'system') return p;
  return media.matches ? 'dark' : 'light';
}

function apply() {
  const theme = resolved();
  document.documentElement.dataset.theme = theme;
  for (const fn of listeners) fn(theme);
}

/** Sets the preference. */
export function set(p) {
  storage.setPref('theme', p);
  apply();
}

/** Switches between light and dark. */
export function toggle() {
  set(resolved() === 'dark' ? 'light' : 'dark');
}

/** Calls `fn(theme)` on every change; returns an unsubscribe. */
export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Applies the theme and follows the system's changes. */
export function init() {
  apply();
  media.addEventListener('change', apply);
  window.addEventListener('storage', (e) => {
    if (e.key === 'natter.theme') apply();
  });
}
