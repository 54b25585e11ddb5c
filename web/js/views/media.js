// Attachments as a person sees them (protocol.md, "Attachments"): pictures
// sized by their width and height, a BlurHash placeholder painted first,
// then the thumbnail (else the picture itself; a GIF always animates);
// videos and audio with the browser's controls; voice messages as a
// compact player with their length; other files as cards with a download
// button. Also the picture viewer (full size, previous and next, Escape
// or a click closes it) and a conversation's gallery of media and files.
//
// Every byte comes through signed URLs (`GET /v1/uploads/{id}/url`),
// asked for when an attachment comes near the screen. File names are
// text and attribute values only, never markup.

import { paint } from '../blurhash.js';
import { h, setText, uid } from '../dom.js';
import { dayLabel, duration, durationWords, fileSize } from '../format.js';
import { icon } from '../icons.js';
import { download, signedUrl } from '../uploads.js';
import { iconButton } from './common.js';
import { modal } from './dialogs.js';

// The largest box a single picture or video takes in the timeline (the
// server's thumbnails are 320 px on their longer side).
const BOX = 320;
const MIN_SIDE = 64;
// Attachments are loaded when they come this close to the screen.
const NEAR = '600px';
// Items of a gallery asked for at a time.
const GALLERY_PAGE = 60;

// My own pictures and recordings while they are sent, and until the
// server's copy shows: upload id → object URL. Nothing is fetched for
// them, and nothing flashes when the echo replaces the local row.
const previews = new Map();

/** Shows `url` (an object URL of my file) for upload `id` instead of fetching it. */
export function keepPreview(id, url) {
  if (id && url) previews.set(id, url);
}

/** Forgets the local previews (signing out). */
export function forgetPreviews() {
  for (const url of previews.values()) URL.revokeObjectURL(url);
  previews.clear();
}

// ---- loading when near the screen ----

const waiting = new WeakMap();
let observer = null;

/** Calls `fn` once, when `el` comes near the screen. */
function whenNear(el, fn) {
  if (!('IntersectionObserver' in window)) {
    fn();
    return;
  }
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        if (!e.target.isConnected) {
          // Its row left the page (the timeline keeps only rows near the screen).
          observer.unobserve(e.target);
          waiting.delete(e.target);
          continue;
        }
        if (!e.isIntersecting) continue;
        observer.unobserve(e.target);
        const run = waiting.get(e.target);
        waiting.delete(e.target);
        run?.();
      }
    },
    { rootMargin: NEAR },
  );
  waiting.set(el, fn);
  observer.observe(el);
}

/** The signed URLs of an attachment, or its local preview. */
async function sources(api, att) {
  const local = previews.get(att.upload);
  if (local) return { url: local, thumbnail_url: null, local: true };
  return signedUrl(api, att.upload);
}

// ---- sizes and names ----

/** The box a picture of `w × h` takes, within `max` on each side. */
export function fit(w, h, max = BOX) {
  if (!(w > 0 && h > 0)) return null;
  const scale = Math.min(1, max / w, max / h);
  return { width: Math.max(MIN_SIDE, Math.round(w * scale)), height: Math.max(MIN_SIDE, Math.round(h * scale)) };
}

/** What kind of file it is, in a word: the extension, else the type's subtype. */
export function typeLabel(att) {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(att.name ?? '')?.[1];
  if (ext) return ext.toUpperCase();
  const sub = String(att.mime ?? '').split('/')[1];
  return sub ? sub.replace(/^x-/, '').toUpperCase() : 'File';
}

const nameOf = (att) => att.name || (att.kind === 'image' ? 'Picture' : att.kind === 'video' ? 'Video' : att.voice ? 'Voice message' : 'File');

// ---- the timeline ----

/**
 * Fills `box` with the attachments of a message (rebuilt only when they
 * change). `list` holds the message's attachments, or, while my files
 * are being sent, local ones (`local: true`, with progress and a
 * cancel). `ctx`: `{api, openImage(att)}`.
 */
export function renderAttachments(box, list, ctx) {
  const sig = list.map((a) => (a.local ? `l:${a.key}:${a.state}` : `${a.upload}:${a.width ?? ''}:${a.blurhash ?? ''}:${a.thumbnail ? 1 : 0}:${a.duration_ms ?? ''}`)).join('|');
  if (box.dataset.sig === sig) {
    for (const a of list) if (a.local) a.refresh?.();
    return;
  }
  box.dataset.sig = sig;
  const visual = list.filter((a) => a.kind === 'image' || a.kind === 'video');
  box.classList.toggle('grid', visual.length > 1);
  box.replaceChildren(...list.map((a) => tile(a, { ...ctx, many: visual.length > 1 })));
}

function tile(att, ctx) {
  let el;
  // A voice message whatever the server found in it (a recording is WebM).
  if (att.voice) el = voiceTile(att, ctx);
  // My own picture or video too large to preview while it is sent.
  else if (att.local && !att.preview) el = fileCard(att, ctx);
  else if (att.kind === 'image') el = imageTile(att, ctx);
  else if (att.kind === 'video') el = videoTile(att, ctx);
  else if (att.kind === 'audio') el = audioTile(att, ctx);
  else el = fileCard(att, ctx);
  if (att.local) uploading(el, att);
  el.dataset.upload = att.upload ?? '';
  el.dataset.kind = att.voice ? 'voice' : att.kind;
  return el;
}

/** The size of a picture or video's box, as CSS custom properties. */
function sizeBox(el, att, many) {
  const box = many ? null : fit(att.width, att.height);
  if (box) {
    el.style.setProperty('--w', `${box.width}px`);
    el.style.setProperty('--ratio', String(box.width / box.height));
    el.classList.add('sized');
  }
  return box;
}

function imageTile(att, ctx) {
  const name = nameOf(att);
  const img = h('img', { class: 'att-img', alt: name, decoding: 'async', draggable: 'false' });
  const el = h('button', { type: 'button', class: 'att att-image', title: name, 'aria-label': `Open picture ${name}` });
  const box = sizeBox(el, att, ctx.many);
  if (box) {
    img.width = box.width;
    img.height = box.height;
  }
  if (att.blurhash) {
    const canvas = h('canvas', { class: 'att-blur', 'aria-hidden': 'true' });
    if (paint(canvas, att.blurhash)) el.append(canvas);
  }
  el.append(img);
  if (att.animated) el.append(h('span', { class: 'att-badge', 'aria-hidden': 'true', text: 'GIF' }));
  img.addEventListener('load', () => {
    // Without its size from the server: sized now, from the picture.
    if (!el.classList.contains('sized') && sizeBox(el, { width: img.naturalWidth, height: img.naturalHeight }, ctx.many)) {
      img.removeAttribute('width');
      img.removeAttribute('height');
    }
    el.classList.add('loaded');
  });
  img.addEventListener('error', () => {
    el.classList.add('broken');
    el.append(h('span', { class: 'att-missing', text: 'Picture not available' }));
  });
  if (att.local) img.src = att.preview ?? '';
  else {
    el.addEventListener('click', () => ctx.openImage?.(att));
    whenNear(el, async () => {
      try {
        const s = await sources(ctx.api, att);
        // A GIF animates from the original; a still picture shows its
        // thumbnail (the viewer shows the original).
        img.src = !att.animated && s.thumbnail_url ? s.thumbnail_url : s.url;
      } catch {
        img.dispatchEvent(new Event('error'));
      }
    });
  }
  return el;
}

function videoTile(att, ctx) {
  const name = nameOf(att);
  const video = h('video', { class: 'att-video-el', controls: true, preload: 'metadata', playsinline: true, 'aria-label': `Video ${name}` });
  const el = h('div', { class: 'att att-video' }, video);
  const box = sizeBox(el, att, ctx.many);
  if (box) {
    video.width = box.width;
    video.height = box.height;
  }
  if (att.duration_ms) el.append(h('span', { class: 'att-badge', text: duration(att.duration_ms), 'aria-hidden': 'true' }));
  if (att.local) {
    if (att.preview) video.src = att.preview;
  } else {
    whenNear(el, async () => {
      try {
        const s = await sources(ctx.api, att);
        if (s.thumbnail_url) video.poster = s.thumbnail_url;
        video.src = s.url;
      } catch {
        el.classList.add('broken');
      }
    });
  }
  return el;
}

function audioTile(att, ctx) {
  const name = nameOf(att);
  const audio = h('audio', { controls: true, preload: 'metadata', 'aria-label': `Audio ${name}` });
  const el = h('div', { class: 'att att-audio' }, h('span', { class: 'att-name', text: name }), audio);
  if (att.local) {
    if (att.preview) audio.src = att.preview;
  } else {
    whenNear(el, async () => {
      try {
        audio.src = (await sources(ctx.api, att)).url;
      } catch {
        el.classList.add('broken');
      }
    });
  }
  return el;
}

/**
 * A voice message: play and pause, how far it has played, and its length
 * (from the attachment: a recording in the browser has none in its file).
 */
function voiceTile(att, ctx) {
  const total = att.duration_ms ?? 0;
  const audio = h('audio', { preload: 'none' });
  const play = iconButton(icon('play'), 'Play voice message', { class: 'icon-btn voice-play' });
  const bar = h('span', { class: 'voice-bar' }, h('span', { class: 'voice-fill' }));
  const track = h('span', { class: 'voice-track', 'aria-hidden': 'true' }, bar);
  const time = h('span', { class: 'voice-time', text: duration(total) });
  const el = h(
    'div',
    { class: 'att att-voice', role: 'group', 'aria-label': total ? `Voice message, ${durationWords(total)}` : 'Voice message' },
    play,
    track,
    time,
    audio,
  );
  if (total) el.dataset.duration = String(total);
  const length = () => (total ? total / 1000 : Number.isFinite(audio.duration) ? audio.duration : 0);
  const show = () => {
    const t = audio.currentTime;
    const d = length();
    el.style.setProperty('--played', String(d ? Math.min(1, t / d) : 0));
    setText(time, audio.paused && !t ? duration(d * 1000) : duration(t * 1000));
  };
  const setPlaying = (on) => {
    play.replaceChildren(icon(on ? 'pause' : 'play'));
    const label = on ? 'Pause voice message' : 'Play voice message';
    play.setAttribute('aria-label', label);
    play.title = label;
    el.classList.toggle('playing', on);
  };
  audio.addEventListener('timeupdate', show);
  audio.addEventListener('play', () => setPlaying(true));
  audio.addEventListener('pause', () => setPlaying(false));
  audio.addEventListener('ended', () => {
    setPlaying(false);
    audio.currentTime = 0;
    show();
  });
  play.addEventListener('click', async () => {
    if (!audio.paused) {
      audio.pause();
      return;
    }
    try {
      if (!audio.src) audio.src = att.local ? (att.preview ?? '') : (await sources(ctx.api, att)).url;
      await audio.play();
    } catch {
      el.classList.add('broken');
    }
  });
  // A click on the track seeks there.
  track.addEventListener('click', (e) => {
    const r = track.getBoundingClientRect();
    const d = length();
    if (!audio.src || !d || !r.width) return;
    audio.currentTime = Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * d;
    show();
  });
  return el;
}

/** A file to download: an icon, its name, size and type, and a button. */
export function fileCard(att, ctx) {
  const name = nameOf(att);
  const meta = `${fileSize(att.size)} · ${typeLabel(att)}`;
  const el = h(
    'div',
    { class: 'att att-file' },
    h('span', { class: 'file-icon', 'aria-hidden': 'true' }, icon('file'), h('span', { class: 'file-ext', text: typeLabel(att).slice(0, 4) })),
    h('span', { class: 'file-info' }, h('span', { class: 'file-name', text: name, title: name }), h('span', { class: 'file-meta', text: meta })),
  );
  if (!att.local) {
    const get = iconButton(icon('download'), `Download ${name}`, { class: 'icon-btn file-download' });
    const error = h('span', { class: 'file-error', role: 'alert' });
    get.addEventListener('click', async () => {
      setText(error, '');
      get.disabled = true;
      try {
        await download(ctx.api, att);
      } catch (e) {
        setText(error, e.status === 404 ? 'This file is no longer available.' : `Could not download: ${e.message}`);
      } finally {
        get.disabled = false;
      }
    });
    el.append(get);
    el.querySelector('.file-info').append(error);
  }
  return el;
}

/** A file of mine being sent: its progress, and a button that cancels it. */
function uploading(el, att) {
  const name = nameOf(att);
  const bar = h('progress', { class: 'att-progress', max: '100', value: '0', 'aria-label': `Uploading ${name}` });
  const cancel = iconButton(icon('close'), `Cancel sending ${name}`, { class: 'icon-btn att-cancel' });
  cancel.addEventListener('click', () => att.cancel?.());
  const note = h('span', { class: 'att-state' });
  el.classList.add('local');
  el.append(h('span', { class: 'att-upload' }, bar, note, cancel));
  att.refresh = () => {
    const pct = att.total ? Math.floor((100 * att.sent) / att.total) : 0;
    if (bar.value !== pct) bar.value = pct;
    el.dataset.state = att.state;
    const shown = att.state === 'uploading' ? `${pct}%` : att.state === 'done' ? 'Sent' : '';
    setText(note, shown);
    cancel.hidden = att.state !== 'uploading';
  };
  att.refresh();
}

// ---- the viewer ----

/**
 * Opens the picture viewer on `items[index]` (`[{upload, name, kind,
 * width, height, blurhash}]`: pictures and videos): the full picture,
 * its name, "2 of 5", previous and next (also the arrow keys), download,
 * and close (Escape, the button, or a click beside the picture).
 */
export function openViewer({ api, items, index }) {
  if (!items.length) return null;
  let at = Math.max(0, Math.min(items.length - 1, index));
  const title = h('h2', { class: 'viewer-title', id: uid('viewer-title') });
  const count = h('span', { class: 'viewer-count', 'aria-live': 'polite' });
  const save = iconButton(icon('download'), 'Download', { class: 'icon-btn viewer-download' });
  const close = iconButton(icon('close'), 'Close viewer', { class: 'icon-btn viewer-close' });
  const prev = iconButton(icon('left'), 'Previous', { class: 'icon-btn viewer-prev' });
  const next = iconButton(icon('right'), 'Next', { class: 'icon-btn viewer-next' });
  const stage = h('div', { class: 'viewer-stage' });
  const error = h('p', { class: 'viewer-error', role: 'alert' });
  const dialog = h(
    'dialog',
    { class: 'viewer', 'aria-labelledby': title.id },
    h('header', { class: 'viewer-bar' }, h('div', { class: 'viewer-heading' }, title, count), save, close),
    h('div', { class: 'viewer-body' }, prev, stage, next),
    error,
  );
  const opener = document.activeElement;

  function show() {
    const att = items[at];
    const name = nameOf(att);
    setText(title, name);
    setText(count, items.length > 1 ? `${at + 1} of ${items.length}` : '');
    prev.hidden = next.hidden = items.length < 2;
    prev.disabled = at === 0;
    next.disabled = at === items.length - 1;
    setText(error, '');
    dialog.dataset.upload = att.upload;
    let media;
    if (att.kind === 'video') {
      media = h('video', { class: 'viewer-media', controls: true, autoplay: true, playsinline: true, 'aria-label': `Video ${name}` });
    } else {
      media = h('img', { class: 'viewer-media', alt: name });
      const box = fit(att.width, att.height, 4096);
      if (box) {
        media.width = box.width;
        media.height = box.height;
      }
    }
    const layers = [];
    if (att.blurhash && att.kind === 'image') {
      const canvas = h('canvas', { class: 'viewer-blur', 'aria-hidden': 'true' });
      if (paint(canvas, att.blurhash)) layers.push(canvas);
    }
    stage.replaceChildren(...layers, media);
    media.addEventListener('load', () => stage.classList.add('loaded'));
    stage.classList.remove('loaded');
    const want = att;
    sources(api, att)
      .then((s) => {
        if (items[at] !== want) return;
        if (att.kind === 'image' && s.thumbnail_url && !att.animated) {
          // The thumbnail at once (it is cached), the original over it.
          media.src = s.thumbnail_url;
          const full = new Image();
          full.addEventListener('load', () => {
            if (items[at] === want) media.src = s.url;
          });
          full.src = s.url;
        } else media.src = s.url;
      })
      .catch((e) => setText(error, e.status === 404 ? 'This picture is no longer available.' : `Could not load it: ${e.message}`));
  }
  const go = (d) => {
    const to = at + d;
    if (to < 0 || to >= items.length) return;
    at = to;
    show();
  };
  prev.addEventListener('click', () => go(-1));
  next.addEventListener('click', () => go(1));
  close.addEventListener('click', () => dialog.close());
  save.addEventListener('click', () => download(api, items[at]).catch((e) => setText(error, `Could not download: ${e.message}`)));
  dialog.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowLeft') go(-1);
    else if (e.key === 'ArrowRight') go(1);
    else return;
    e.preventDefault();
  });
  // A click beside the picture (not on it, nor on a control) closes.
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog || e.target === stage || e.target.classList.contains('viewer-body')) dialog.close();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  show();
  close.focus();
  return { dialog, close: () => dialog.close() };
}

// ---- a conversation's gallery ----

const TABS = [
  { id: 'media', label: 'Media', kind: null, visual: true, empty: 'No pictures or videos yet.' },
  { id: 'files', label: 'Files', kind: 'file', empty: 'No files yet.' },
  { id: 'audio', label: 'Voice and audio', kind: 'audio', empty: 'No voice messages or audio yet.' },
];

/**
 * The media and files of a conversation (`GET …/media`, newest first, a
 * page at a time as it is scrolled or "Show more" is pressed): pictures
 * and videos in a grid that opens the viewer, files and audio in lists.
 * A server without that endpoint: what is loaded of the history.
 * `loaded()` gives the loaded history's attachments `[{seq, sender, ts,
 * attachment}]`, newest first.
 */
export function galleryDialog({ api, store, convId, title, loaded }) {
  const tabs = h('div', { class: 'tabs gallery-tabs', role: 'tablist', 'aria-label': 'What to show' });
  const panel = h('div', { class: 'gallery-panel', role: 'tabpanel', tabindex: '0', id: uid('gallery-panel') });
  const status = h('p', { class: 'muted gallery-status', role: 'status' });
  const more = h('button', { type: 'button', class: 'btn small gallery-more', text: 'Show more', hidden: true });
  const body = h('div', { class: 'gallery' }, tabs, panel, status, more);
  const dlg = modal({ title: `Media and files${title ? ` · ${title}` : ''}`, content: body, className: 'gallery-dialog' });
  const buttons = TABS.map((t) => {
    const b = h('button', { type: 'button', role: 'tab', class: 'tab', id: uid('tab'), 'aria-controls': panel.id, 'aria-selected': 'false', tabindex: '-1', text: t.label, dataset: { tab: t.id } });
    b.addEventListener('click', () => select(t));
    return b;
  });
  tabs.append(...buttons);
  tabs.addEventListener('keydown', (e) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const to = e.key === 'ArrowRight' ? (i + 1) % buttons.length : e.key === 'ArrowLeft' ? (i - 1 + buttons.length) % buttons.length : -1;
    if (to < 0) return;
    e.preventDefault();
    buttons[to].focus();
    select(TABS[to]);
  });

  let state = null; // {tab, items, next, done, busy, fallback, list}

  function select(tab) {
    for (const b of buttons) {
      const on = b.dataset.tab === tab.id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on) panel.setAttribute('aria-labelledby', b.id);
    }
    const list = h(tab.visual ? 'ul' : 'ul', { class: tab.visual ? 'gallery-grid' : 'gallery-list' });
    panel.replaceChildren(list);
    state = { tab, items: [], next: undefined, done: false, busy: false, fallback: false, list };
    load(state);
  }

  const wanted = (tab, a) => (tab.visual ? a.kind === 'image' || a.kind === 'video' : a.kind === tab.kind);

  async function load(s) {
    if (s.busy || s.done) return;
    s.busy = true;
    more.hidden = true;
    setText(status, 'Loading…');
    let added = 0;
    try {
      // A page of the media tab may hold no picture at all: go on until
      // something shows or the beginning is reached.
      for (let pages = 0; pages < 5 && !added && !s.done; pages += 1) {
        const page = await api.convMedia(convId, { kind: s.tab.kind ?? undefined, before: s.next, limit: GALLERY_PAGE });
        if (state !== s) return;
        const fresh = (page.items ?? []).filter((i) => wanted(s.tab, i.attachment));
        add(s, fresh);
        added += fresh.length;
        s.next = page.next ?? undefined;
        s.done = page.next === undefined || page.next === null;
      }
    } catch (e) {
      if (state !== s) return;
      if (!s.items.length && (e.status === 404 || e.status === 405)) {
        // No such endpoint on this server: what history has loaded.
        s.fallback = true;
        s.done = true;
        add(s, loaded().filter((i) => wanted(s.tab, i.attachment)));
      } else {
        setText(status, `Could not load: ${e.message}`);
        more.hidden = false;
        s.busy = false;
        return;
      }
    }
    s.busy = false;
    setText(status, s.items.length ? (s.fallback ? 'Showing what is loaded of the conversation.' : '') : s.tab.empty);
    more.hidden = s.done;
  }

  function add(s, items) {
    for (const item of items) {
      s.items.push(item);
      s.list.append(s.tab.visual ? gridItem(s, item) : listItem(item));
    }
  }

  function gridItem(s, item) {
    const att = item.attachment;
    const name = nameOf(att);
    const b = h('button', { type: 'button', class: 'gallery-item', 'aria-label': `Open ${att.kind === 'video' ? 'video' : 'picture'} ${name}`, title: name, dataset: { upload: att.upload } });
    if (att.blurhash) {
      const canvas = h('canvas', { class: 'att-blur', 'aria-hidden': 'true' });
      if (paint(canvas, att.blurhash)) b.append(canvas);
    }
    const img = h('img', { alt: name, decoding: 'async' });
    img.addEventListener('load', () => b.classList.add('loaded'));
    if (att.kind === 'video') b.append(h('span', { class: 'gallery-play', 'aria-hidden': 'true' }, icon('play')));
    b.prepend(img);
    whenNear(b, async () => {
      try {
        const src = await sources(api, att);
        if (att.kind === 'image') img.src = src.thumbnail_url ?? src.url;
        else if (src.thumbnail_url) img.src = src.thumbnail_url;
        else img.hidden = true;
      } catch {
        b.classList.add('broken');
      }
    });
    b.addEventListener('click', () => {
      const items2 = s.items.map((i) => i.attachment);
      openViewer({ api, items: items2, index: items2.indexOf(att) });
    });
    return h('li', {}, b);
  }

  function listItem(item) {
    const att = item.attachment;
    const who = item.sender === store.me.id ? 'You' : (store.name(item.sender) ?? '…');
    const when = item.ts ? dayLabel(item.ts) : '';
    const card = att.kind === 'audio' ? tile(att, { api }) : fileCard(att, { api });
    return h('li', { class: 'gallery-row' }, card, h('span', { class: 'muted gallery-from', text: [who, when].filter(Boolean).join(' · ') }));
  }

  more.addEventListener('click', () => state && load(state));
  panel.addEventListener('scroll', () => {
    if (state && !state.done && panel.scrollTop + panel.clientHeight > panel.scrollHeight - 200) load(state);
  });
  select(TABS[0]);
  buttons[0].focus();
  return dlg;
}
