// Files to and from the server (protocol.md, "Uploads", "Downloads").
//
// Uploads speak tus 1.0: `POST /v1/uploads` makes one, then `PATCH`es
// append chunks of a few MiB (XMLHttpRequest, for progress). A chunk
// whose connection breaks is resumed from the server's offset (`HEAD`);
// cancelling aborts the request in flight and deletes the upload. A
// finished upload is read back (`GET /v1/uploads/{id}`) for what the
// server found in it: its kind, type, size in pixels, placeholder.
//
// Downloads go through signed URLs (`GET /v1/uploads/{id}/url`), which
// work for an hour without a token: each is kept until shortly before it
// expires, so a picture shown twice is asked for once.

import { ApiError, errorOf, networkError } from './api.js';
import { fileSize } from './format.js';

// Small enough that cancelling stops at once and a broken connection
// loses little; large enough that a 100 MiB video is 25 requests.
export const CHUNK = 4 * 1024 * 1024;
// Tries of one chunk over broken connections before giving up.
const CHUNK_TRIES = 4;
// A signed URL is used until this long before it expires.
const URL_MARGIN_MS = 5 * 60 * 1000;

/** A cancelled upload (not an error to show). */
export class Cancelled extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'Cancelled';
  }
}

/** `Upload-Metadata`: `key base64(UTF-8 value)` pairs. */
function metadata(fields) {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => {
      const bytes = new TextEncoder().encode(String(v));
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      return `${k} ${btoa(bin)}`;
    })
    .join(',');
}

/**
 * One request with XMLHttpRequest: `{status, headers(name), json}`.
 * `onProgress(sentBytes)` follows the body's upload; `track(xhr)` lets
 * the caller abort it. An error answer throws its `ApiError`; an
 * aborted one `Cancelled`; a broken connection the `network` error.
 */
function xhr(method, url, { token, headers = {}, body, onProgress, track }) {
  return new Promise((resolve, reject) => {
    const req = new XMLHttpRequest();
    req.open(method, url);
    req.setRequestHeader('Authorization', `Bearer ${token}`);
    req.setRequestHeader('Tus-Resumable', '1.0.0');
    for (const [k, v] of Object.entries(headers)) req.setRequestHeader(k, v);
    if (onProgress) req.upload.onprogress = (e) => onProgress(e.loaded);
    req.onload = () => {
      if (req.status >= 200 && req.status < 300) {
        let json = null;
        try {
          json = req.responseText ? JSON.parse(req.responseText) : null;
        } catch {
          // A body that is not JSON (a 204 has none).
        }
        resolve({ status: req.status, header: (name) => req.getResponseHeader(name), json });
      } else reject(errorOf(req.status, req.statusText, req.responseText, req.getResponseHeader('Retry-After')));
    };
    req.onerror = () => reject(networkError());
    req.onabort = () => reject(new Cancelled());
    track?.(req);
    req.send(body ?? null);
  });
}

/**
 * Sends one file as a tus upload. `onProgress(sent, total)` follows it;
 * `meta` adds upload metadata (`voice`, `duration`). Call `start()` once;
 * `cancel()` stops it at any time and deletes what reached the server.
 */
export class Upload {
  constructor(api, file, { name, type, meta = {}, onProgress = () => {} } = {}) {
    this.api = api;
    this.file = file;
    this.name = name ?? file.name ?? 'file';
    this.type = type ?? file.type ?? '';
    this.meta = meta;
    this.onProgress = onProgress;
    this.id = null;
    this.request = null;
    this.cancelled = false;
    this.done = null;
  }

  /** Uploads the file; resolves with its `UploadInfo` once complete. */
  start() {
    this.done ??= this.#run();
    return this.done;
  }

  /** Stops the upload and deletes it from the server (quietly if it is gone already). */
  async cancel() {
    if (this.cancelled) return;
    this.cancelled = true;
    this.request?.abort();
    if (this.id) await this.api.deleteUpload(this.id).catch(() => {});
  }

  #check() {
    if (this.cancelled) throw new Cancelled();
  }

  #call(method, url, options = {}) {
    this.#check();
    return this.api.authorized((token) =>
      xhr(method, url, {
        ...options,
        token,
        track: (r) => {
          this.request = r;
        },
      }),
    );
  }

  async #run() {
    const length = this.file.size;
    const created = await this.#call('POST', '/v1/uploads', {
      headers: {
        'Upload-Length': String(length),
        'Upload-Metadata': metadata({ filename: this.name, filetype: this.type, ...this.meta }),
      },
    });
    this.id = created.json?.id ?? created.header('Location')?.split('/').pop();
    // Cancelled while it was being made: it goes now.
    if (this.cancelled) {
      await this.api.deleteUpload(this.id).catch(() => {});
      throw new Cancelled();
    }
    const url = `/v1/uploads/${encodeURIComponent(this.id)}`;
    let offset = 0;
    let broken = 0;
    this.onProgress(0, length);
    while (offset < length) {
      const end = Math.min(length, offset + CHUNK);
      const from = offset;
      try {
        const answer = await this.#call('PATCH', url, {
          headers: { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(from) },
          body: this.file.slice(from, end),
          onProgress: (sent) => this.onProgress(Math.min(end, from + sent), length),
        });
        offset = Number(answer.header('Upload-Offset')) || end;
        broken = 0;
      } catch (e) {
        this.#check();
        const resumable = e instanceof ApiError && (e.code === 'network' || e.code === 'offset_mismatch' || e.code === 'unavailable');
        if (!resumable || ++broken >= CHUNK_TRIES) throw e;
        // Where the server is: the bytes that arrived are kept.
        const head = await this.#call('HEAD', url);
        offset = Number(head.header('Upload-Offset')) || 0;
      }
      this.onProgress(offset, length);
    }
    this.#check();
    return this.api.upload(this.id);
  }
}

/** Why a file was not sent, as a person needs it. */
export function uploadErrorText(name, e) {
  if (!(e instanceof ApiError)) return `${name} was not sent: ${e?.message ?? 'error'}.`;
  if (e.code === 'file_too_large') {
    const max = /(\d{4,})/.exec(e.message)?.[1];
    return `${name} is too large to send${max ? ` (${fileSize(Number(max))} at most)` : ''}.`;
  }
  if (e.code === 'quota_exceeded') return `${name} was not sent: your storage on this server is full.`;
  if (e.code === 'unsupported_media') {
    const why = /type the upload claimed/.test(e.message)
      ? 'its content is not what its type says'
      : /executable/.test(e.message)
        ? 'programs cannot be sent'
        : e.message;
    return `${name} cannot be sent: ${why}.`;
  }
  if (e.code === 'network') return `${name} was not sent: cannot reach the server.`;
  return `${name} was not sent: ${e.message}.`;
}

// ---- signed URLs ----

const urls = new Map(); // upload id → {at: expires_at, answer} or {pending}

/**
 * The signed URLs of an upload: `{url, thumbnail_url?, expires_at}`,
 * cached until shortly before they expire. A refusal (`404` for someone
 * who may not see it) is thrown, and asked again next time.
 */
export function signedUrl(api, id) {
  const kept = urls.get(id);
  if (kept?.pending) return kept.pending;
  if (kept && kept.answer.expires_at - URL_MARGIN_MS > Date.now()) return Promise.resolve(kept.answer);
  const pending = api.uploadUrl(id).then(
    (answer) => {
      urls.set(id, { answer });
      return answer;
    },
    (e) => {
      urls.delete(id);
      throw e;
    },
  );
  urls.set(id, { pending });
  return pending;
}

/** Forgets every signed URL (signing out). */
export function forgetUrls() {
  urls.clear();
}

/**
 * Downloads an attachment under its own name: the browser saves the
 * signed URL's bytes (the server says to save files that are not
 * pictures, audio or video).
 */
export async function download(api, attachment) {
  const { url } = await signedUrl(api, attachment.upload);
  const a = document.createElement('a');
  a.href = url;
  a.download = attachment.name || 'file';
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
