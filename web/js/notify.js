// Browser notifications and the title badge.
//
// Permission is asked only when the user clicks "Enable" (in a banner or in
// settings), never on page load. A notification is shown only while the
// tab is hidden; the unread total always shows in the document title.

import * as storage from './storage.js';

/** Whether this browser has the Notification API. */
export function supported() {
  return 'Notification' in window;
}

/** `default`, `granted`, `denied` or `unsupported`. */
export function permission() {
  return supported() ? Notification.permission : 'unsupported';
}

/** Whether to offer notifications (not yet asked, not dismissed). */
export function shouldOffer() {
  return permission() === 'default' && !storage.pref('notify.dismissed');
}

/** The user said "not now". */
export function dismissOffer() {
  storage.setPref('notify.dismissed', true);
}

/** Asks for permission (call from a click). */
export async function ask() {
  if (!supported()) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

/** Shows a notification if allowed and the tab is hidden. */
export function show({ title, body, tag, onClick }) {
  if (permission() !== 'granted' || document.visibilityState === 'visible') return;
  try {
    const n = new Notification(title, { body, tag, icon: '/assets/icon.svg' });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
  } catch {
    // Some mobile browsers allow notifications from service workers only.
  }
}

/** The title with the unread total: `(3) natter`. */
export function setBadge(total) {
  const title = total > 0 ? `(${total > 99 ? '99+' : total}) natter` : 'natter';
  if (document.title !== title) document.title = title;
}
