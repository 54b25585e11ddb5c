// Sending files from the composer: a paperclip (the file picker, several
// at once), files dropped on the conversation and pictures pasted into
// the text box go to a tray above it (a preview of each picture, the name
// and size of other files, a button to take each out). Send uploads them
// (protocol.md, "Uploads": tus, two files at a time), with a progress bar
// and a cancel button on each in the timeline, then sends one message
// with all of them and the text as its caption. A file the server refuses
// is said why, in words; the others still go.
//
// Voice messages: with nothing typed, a microphone replaces the send
// button. A click starts recording (the time runs; Cancel or Send), a
// long press records until it is let go, then sends. The recording is an
// `audio/webm` upload that declares itself a voice note and its length.

import { h, setText } from '../dom.js';
import { duration, fileSize } from '../format.js';
import { icon } from '../icons.js';
import { uuid } from '../outbox.js';
import { Cancelled, Upload, uploadErrorText } from '../uploads.js';
import { iconButton } from './common.js';
import { keepPreview } from './media.js';

// The server's limit of attachments on one message.
export const MAX_FILES = 10;
// Files uploading at once, over all messages.
const PARALLEL = 2;
// A press on the microphone longer than this records until it is let go.
const HOLD_MS = 600;
// Recordings shorter than this are dropped (a tap by mistake).
const MIN_VOICE_MS = 500;
// Object URLs of local pictures are made only up to this size.
const PREVIEW_MAX_BYTES = 50 * 1024 * 1024;

/** What the server would call this file, from its type (it decides from the content). */
function guessKind(file) {
  const t = file.type || '';
  if (/^image\/(png|jpeg|gif|webp)$/.test(t)) return 'image';
  if (t.startsWith('video/')) return 'video';
  if (t.startsWith('audio/')) return 'audio';
  return 'file';
}

// ---- the upload queue ----

const queue = [];
let running = 0;

function enqueue(run) {
  return new Promise((resolve, reject) => {
    queue.push({ run, resolve, reject });
    pump();
  });
}

function pump() {
  while (running < PARALLEL && queue.length) {
    const { run, resolve, reject } = queue.shift();
    running += 1;
    run()
      .then(resolve, reject)
      .finally(() => {
        running -= 1;
        pump();
      });
  }
}

/**
 * The composer's files and voice messages. `current()` is the open
 * conversation's id; `sendMessage(conv, caption, extra, {clientId,
 * media})` sends the message once its files are up; `error(conv, text)`
 * shows a refusal; `restore(conv, caption)` gives a caption back when no
 * file could be sent; `changed(conv)` re-renders; `focus()` puts the
 * focus back in the text box (after a recording).
 */
export function composerFiles({ api, current, sendMessage, error, restore, changed, focus }) {
  const drafts = new Map(); // conv → [{key, file, name, size, kind, mime, preview}]
  const jobs = new Map(); // conv → [job]

  const input = h('input', { type: 'file', multiple: true, class: 'file-input', tabindex: '-1', 'aria-hidden': 'true', hidden: true });
  const attachButton = iconButton(icon('paperclip'), 'Attach files', { class: 'icon-btn attach-btn' });
  attachButton.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    add([...input.files]);
    input.value = '';
  });
  const tray = h('ul', { class: 'attach-tray', 'aria-label': 'Files to send', hidden: true });

  /** Adds files to the open conversation's tray. */
  function add(files) {
    const conv = current();
    if (!conv || !files.length) return;
    const list = drafts.get(conv) ?? [];
    const room = MAX_FILES - list.length;
    if (files.length > room) error(conv, `At most ${MAX_FILES} files go in one message: ${room > 0 ? `only the first ${room} were added` : 'send these first'}.`);
    for (const file of files.slice(0, Math.max(0, room))) {
      const kind = guessKind(file);
      const preview = (kind === 'image' || kind === 'video' || kind === 'audio') && file.size <= PREVIEW_MAX_BYTES ? URL.createObjectURL(file) : null;
      list.push({ key: uuid(), file, name: file.name || (kind === 'image' ? 'Pasted picture.png' : 'file'), size: file.size, kind, mime: file.type, preview });
    }
    drafts.set(conv, list);
    renderTray();
    changed(conv);
  }

  function removeDraft(conv, key) {
    const list = (drafts.get(conv) ?? []).filter((f) => {
      if (f.key !== key) return true;
      if (f.preview) URL.revokeObjectURL(f.preview);
      return false;
    });
    if (list.length) drafts.set(conv, list);
    else drafts.delete(conv);
    renderTray();
    changed(conv);
  }

  function renderTray() {
    const conv = current();
    const list = (conv && drafts.get(conv)) || [];
    tray.hidden = list.length === 0;
    tray.replaceChildren(
      ...list.map((f) => {
        const remove = iconButton(icon('close'), `Remove ${f.name}`, { class: 'icon-btn tray-remove' });
        remove.addEventListener('click', () => {
          const next = remove.closest('li')?.nextElementSibling ?? remove.closest('li')?.previousElementSibling;
          removeDraft(conv, f.key);
          (next?.querySelector('.tray-remove') ?? attachButton).focus();
        });
        const thumb =
          f.kind === 'image' && f.preview
            ? h('img', { class: 'tray-thumb', src: f.preview, alt: f.name })
            : h('span', { class: 'tray-icon', 'aria-hidden': 'true' }, icon(f.kind === 'image' ? 'image' : f.kind === 'audio' ? 'mic' : 'file'));
        return h(
          'li',
          { class: 'tray-item', dataset: { kind: f.kind } },
          thumb,
          h('span', { class: 'tray-info' }, h('span', { class: 'tray-name', text: f.name, title: f.name }), h('span', { class: 'tray-size', text: fileSize(f.size) })),
          remove,
        );
      }),
    );
  }

  // ---- sending ----

  /**
   * Sends the open tray with `caption` and `extra` (reply, mentions):
   * false when the tray is empty.
   */
  function send(conv, caption, extra) {
    const list = drafts.get(conv);
    if (!list?.length) return false;
    drafts.delete(conv);
    renderTray();
    start(conv, list, caption, extra);
    return true;
  }

  /** Starts a message of files: its row shows at once, then each file's progress. */
  function start(conv, files, caption, extra, meta = {}) {
    const job = { clientId: uuid(), conv, caption, extra, created: Date.now(), files: [] };
    for (const f of files) {
      const item = {
        local: true,
        key: f.key,
        name: f.name,
        size: f.size,
        kind: f.kind,
        mime: f.mime,
        preview: f.preview,
        voice: !!f.voice,
        duration_ms: f.duration_ms,
        state: 'uploading',
        sent: 0,
        total: f.size,
        info: null,
      };
      const upload = new Upload(api, f.file, {
        name: f.name,
        type: f.mime,
        meta: f.meta ?? meta,
        onProgress: (sent, total) => {
          item.sent = sent;
          item.total = total;
          item.refresh?.();
        },
      });
      item.cancel = () => {
        if (item.state !== 'uploading') return;
        item.state = 'cancelled';
        upload.cancel();
        settle(job);
      };
      enqueue(() => (item.state === 'uploading' ? upload.start() : Promise.reject(new Cancelled()))).then(
        (info) => {
          if (item.state !== 'uploading') return;
          item.state = 'done';
          item.info = info;
          item.refresh?.();
          settle(job);
        },
        (e) => {
          if (item.state !== 'uploading') return;
          item.state = e instanceof Cancelled ? 'cancelled' : 'failed';
          item.error = e;
          settle(job);
        },
      );
      job.files.push(item);
    }
    const list = jobs.get(conv) ?? [];
    list.push(job);
    jobs.set(conv, list);
    changed(conv);
    return job;
  }

  /** Once no file of a message is still uploading: the message goes with those that made it. */
  function settle(job) {
    const busy = job.files.some((f) => f.state === 'uploading');
    if (busy) {
      changed(job.conv);
      return;
    }
    const list = (jobs.get(job.conv) ?? []).filter((j) => j !== job);
    if (list.length) jobs.set(job.conv, list);
    else jobs.delete(job.conv);
    const failed = job.files.filter((f) => f.state === 'failed');
    if (failed.length) error(job.conv, failed.map((f) => uploadErrorText(f.name, f.error)).join(' '));
    const done = job.files.filter((f) => f.state === 'done');
    for (const f of job.files) {
      if (f.state === 'done' && f.preview) keepPreview(f.info.id, f.preview);
      else if (f.preview) URL.revokeObjectURL(f.preview);
    }
    if (done.length) {
      const media = done.map((f) => attachmentOf(f.info, f));
      sendMessage(job.conv, job.caption, { ...job.extra, attachments: media.map((m) => m.upload) }, { clientId: job.clientId, media });
    } else if (job.caption) restore(job.conv, job.caption);
    changed(job.conv);
  }

  // ---- voice messages ----

  const canRecord = !!(navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
  const micButton = iconButton(icon('mic'), 'Record a voice message', { class: 'send mic-btn' });
  const elapsed = h('span', { class: 'rec-time', role: 'timer', 'aria-live': 'off', text: '0:00' });
  const recCancel = iconButton(icon('trash'), 'Cancel recording', { class: 'icon-btn rec-cancel' });
  const recSend = iconButton(icon('send'), 'Send voice message', { class: 'send rec-send' });
  const recHint = h('span', { class: 'rec-hint muted' });
  const recorderBar = h(
    'div',
    { class: 'recorder', role: 'group', 'aria-label': 'Recording a voice message', hidden: true },
    h('span', { class: 'rec-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'rec-label', text: 'Recording' }),
    elapsed,
    recHint,
    recCancel,
    recSend,
  );
  micButton.hidden = !canRecord;
  let rec = null; // {conv, recorder, stream, chunks, started, timer, held, pressedAt, stopping}

  async function startRecording(held) {
    const conv = current();
    if (rec || !conv || !canRecord) return;
    rec = { conv, chunks: [], held, pressedAt: Date.now(), starting: true };
    const mine = rec;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      rec = null;
      error(conv, e?.name === 'NotAllowedError' ? 'Voice messages need the microphone: allow it for this site in the browser.' : `Cannot record: ${e?.message ?? 'no microphone'}.`);
      return;
    }
    if (rec !== mine) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    const type = ['audio/webm;codecs=opus', 'audio/webm'].find((t) => MediaRecorder.isTypeSupported?.(t));
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    recorder.addEventListener('dataavailable', (e) => {
      if (e.data?.size) mine.chunks.push(e.data);
    });
    Object.assign(mine, { stream, recorder, started: performance.now(), starting: false });
    recorder.start(250);
    // Whole seconds gone, as a recorder counts them.
    mine.timer = setInterval(() => setText(elapsed, duration(Math.floor((performance.now() - mine.started) / 1000) * 1000)), 250);
    setText(elapsed, '0:00');
    setText(recHint, held ? 'Release to send' : '');
    recorderBar.hidden = false;
    recorderBar.dataset.state = 'recording';
    changed(conv);
    recSend.focus();
    // Let go before the recorder started: it was a long press all the same.
    if (mine.releasedAt) release();
  }

  /** Stops recording; `send`: as a voice message. */
  function stopRecording(send) {
    const r = rec;
    if (!r) return;
    rec = null;
    clearInterval(r.timer);
    const hadFocus = recorderBar.contains(document.activeElement);
    recorderBar.hidden = true;
    delete recorderBar.dataset.state;
    changed(r.conv);
    if (hadFocus) focus();
    if (!r.recorder) return; // never started
    const ms = Math.round(performance.now() - r.started);
    r.recorder.addEventListener('stop', () => {
      for (const t of r.stream.getTracks()) t.stop();
      if (!send) return;
      if (ms < MIN_VOICE_MS) {
        error(r.conv, 'Hold the microphone a little longer to record a voice message.');
        return;
      }
      const blob = new Blob(r.chunks, { type: 'audio/webm' });
      const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ').replaceAll(':', '-');
      const file = new File([blob], `Voice message ${stamp}.webm`, { type: 'audio/webm' });
      start(r.conv, [{ key: uuid(), file, name: file.name, size: file.size, kind: 'audio', mime: 'audio/webm', preview: URL.createObjectURL(blob), voice: true, duration_ms: ms, meta: { voice: '1', duration: String(ms) } }], '', {});
    });
    r.recorder.stop();
  }

  function release() {
    if (!rec) return;
    if (rec.starting) {
      rec.releasedAt = Date.now();
      return;
    }
    if (rec.held && Date.now() - rec.pressedAt >= HOLD_MS) stopRecording(true);
    else {
      // A click: recording goes on until Send or Cancel.
      rec.held = false;
      setText(recHint, '');
    }
  }

  micButton.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    startRecording(true);
    document.addEventListener('pointerup', release, { once: true });
  });
  // The keyboard (Enter, Space) clicks without a pointer.
  micButton.addEventListener('click', (e) => {
    if (e.detail === 0) startRecording(false);
  });
  recCancel.addEventListener('click', () => stopRecording(false));
  recSend.addEventListener('click', () => stopRecording(true));
  recorderBar.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      stopRecording(false);
    }
  });

  // ---- dropping and pasting ----

  /** Files dropped on `el` go to the tray while `accepts()` says the conversation takes them. */
  function dropTarget(el, accepts) {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
    el.addEventListener('dragenter', (e) => {
      if (!hasFiles(e) || !accepts()) return;
      e.preventDefault();
      depth += 1;
      el.classList.add('dropping');
    });
    el.addEventListener('dragover', (e) => {
      if (!hasFiles(e) || !accepts()) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    el.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (!depth) el.classList.remove('dropping');
    });
    el.addEventListener('drop', (e) => {
      depth = 0;
      el.classList.remove('dropping');
      if (!hasFiles(e) || !accepts()) return;
      e.preventDefault();
      add([...e.dataTransfer.files]);
    });
  }

  /** Pictures (and files) pasted into `textarea` go to the tray; text is pasted as usual. */
  function pasteTarget(textarea) {
    textarea.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])];
      if (!files.length) return;
      if (!e.clipboardData.types.includes('text/plain')) e.preventDefault();
      add(files);
    });
  }

  return {
    input,
    tray,
    attachButton,
    micButton,
    recorderBar,
    canRecord,
    add,
    send,
    dropTarget,
    pasteTarget,
    /** Files waiting in the open conversation's tray. */
    hasFiles: (conv) => (drafts.get(conv)?.length ?? 0) > 0,
    /** Recording now (in this conversation, when given). */
    recording: (conv) => !!rec && (!conv || rec.conv === conv),
    /** Messages of files on their way in `conv`: `[{clientId, created, caption, extra, files}]`. */
    jobsFor: (conv) => jobs.get(conv) ?? [],
    /** The open conversation changed: its own tray; a recording elsewhere is dropped. */
    show() {
      if (rec && rec.conv !== current()) stopRecording(false);
      renderTray();
    },
  };
}

/** The attachment a message will carry, from the finished upload (and what the client knows of the file). */
function attachmentOf(info, f) {
  const a = { upload: info.id, kind: info.kind ?? f.kind, mime: info.mime ?? f.mime, size: info.length ?? f.size, name: info.name ?? f.name };
  for (const k of ['width', 'height', 'blurhash', 'thumbnail', 'animated', 'duration_ms', 'voice']) if (info[k] !== undefined) a[k] = info[k];
  if (f.voice) {
    a.voice = true;
    a.duration_ms ??= f.duration_ms;
  }
  return a;
}
