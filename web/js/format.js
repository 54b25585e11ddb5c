// Formatting of times, dates, names and presence for display.

const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDate = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});
const fullDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

const DAY = 24 * 60 * 60 * 1000;

function startOfDay(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Days between `ms` and today (0 today, 1 yesterday), by calendar day. */
function daysAgo(ms, now = Date.now()) {
  return Math.round((startOfDay(now) - startOfDay(ms)) / DAY);
}

/** `14:02`. */
export function clock(ms) {
  return time.format(ms);
}

/** For tooltips: the full date and time. */
export function fullTime(ms) {
  return fullDateTime.format(ms);
}

/** A key that changes with the calendar day, for date separators. */
export function dayKey(ms) {
  return startOfDay(ms);
}

/** `Today`, `Yesterday`, a weekday this week, or a date. */
export function dayLabel(ms, now = Date.now()) {
  const n = daysAgo(ms, now);
  if (n === 0) return 'Today';
  if (n === 1) return 'Yesterday';
  if (n > 1 && n < 7) return weekday.format(ms);
  return longDate.format(ms);
}

/** The time in the conversation list: a clock today, else a short date. */
export function listTime(ms, now = Date.now()) {
  const n = daysAgo(ms, now);
  if (n === 0) return clock(ms);
  if (n === 1) return 'Yesterday';
  if (n > 1 && n < 7) return weekday.format(ms).slice(0, 3);
  return shortDate.format(ms);
}

/** `online`, `last seen today at 14:02`, … or '' when unknown or hidden. */
export function presenceText(p, now = Date.now()) {
  if (!p) return '';
  if (p.online) return 'online';
  if (!p.last_seen) return '';
  const n = daysAgo(p.last_seen, now);
  if (now - p.last_seen < 60 * 1000) return 'last seen just now';
  if (n === 0) return `last seen today at ${clock(p.last_seen)}`;
  if (n === 1) return `last seen yesterday at ${clock(p.last_seen)}`;
  return `last seen ${shortDate.format(p.last_seen)} at ${clock(p.last_seen)}`;
}

/** One or two letters for an avatar. */
export function initials(name) {
  const parts = String(name ?? '?')
    .replace(/^[@#]/, '')
    .split(/[\s._-]+/)
    .filter(Boolean);
  if (parts.length === 0) return '?';
  if (parts.length === 1) return [...parts[0]].slice(0, 2).join('').toUpperCase();
  return ([...parts[0]][0] + [...parts[1]][0]).toUpperCase();
}

/** A stable hue for an avatar, from an id. */
export function hue(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

/** `3 members`. */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** A human list: `alice`, `alice and bob`, `alice, bob and 2 others`. */
export function people(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return names[0];
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others`;
}

/** A guess at a device name from the browser: `Chrome on Linux`. */
export function deviceName() {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

/** A file's size as people say it: `900 bytes`, `340 KB`, `1.2 MB`. */
export function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v < 10 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v)} ${units[u]}`;
}

/** A length of time for a player: `0:07`, `12:30`, `1:02:03`. */
export function duration(ms) {
  const s = Math.max(0, Math.round((Number(ms) || 0) / 1000));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  return hours ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** A spoken length of time: `7 seconds`, `2 minutes 5 seconds`. */
export function durationWords(ms) {
  const s = Math.max(0, Math.round((Number(ms) || 0) / 1000));
  const m = Math.floor(s / 60);
  const parts = [];
  if (m) parts.push(plural(m, 'minute'));
  if (s % 60 || !m) parts.push(plural(s % 60, 'second'));
  return parts.join(' ');
}

/**
 * What a message with attachments is, in a few words, for the list's
 * preview and notifications: `Photo`, `3 photos`, `Voice message (0:07)`,
 * `report.pdf`, `2 files`; with the caption after it when there is one.
 */
export function messageSummary(text, attachments) {
  const list = attachments ?? [];
  if (!list.length) return String(text ?? '').replace(/\s+/g, ' ');
  const caption = String(text ?? '').replace(/\s+/g, ' ').trim();
  let what;
  const kinds = new Set(list.map((a) => (a.voice ? 'voice' : a.kind)));
  const n = list.length;
  if (kinds.size > 1) what = plural(n, 'attachment');
  else if (kinds.has('image')) what = n === 1 ? (list[0].animated ? 'GIF' : 'Photo') : plural(n, 'photo');
  else if (kinds.has('video')) what = n === 1 ? 'Video' : plural(n, 'video');
  else if (kinds.has('voice')) what = n === 1 ? `Voice message${list[0].duration_ms ? ` (${duration(list[0].duration_ms)})` : ''}` : plural(n, 'voice message');
  else if (kinds.has('audio')) what = n === 1 ? (list[0].name || 'Audio') : plural(n, 'audio file');
  else what = n === 1 ? (list[0].name || 'File') : plural(n, 'file');
  return caption ? `${what} · ${caption}` : what;
}
