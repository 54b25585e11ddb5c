// The outbox: messages the user wrote that the server has not yet
// acknowledged, persisted in localStorage before any network I/O, so that
// a reload, a lost connection or a server restart loses nothing. Each
// entry keeps its `client_id` for life: every retry, after any number of
// reconnects, sends the same id and text, so the server stores the
// message exactly once (docs/protocol.md §4, "Idempotent sending").

import * as storage from './storage.js';

/** A random UUID, also where `crypto.randomUUID` is missing (plain http). */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox {
  constructor(device) {
    this.device = device;
    /** `{conv, client_id, text, created, state: 'pending'|'failed', error?, extra?, media?}` */
    this.entries = storage.loadOutbox(device);
  }

  #save() {
    storage.saveOutbox(this.device, this.entries);
  }

  /**
   * A new pending message, stored before it is sent. `extra`: its rich
   * fields (`reply_to`, `thread`, `also_in_conversation`, `mentions`,
   * `mention_all`, `attachments`), sent with every retry. `clientId`: the
   * id it was shown under already (a message of files, while they were
   * uploaded); `media`: its attachments as the message will carry them,
   * to show it until the server's copy arrives.
   */
  add(conv, text, extra, { clientId, media } = {}) {
    const entry = { conv, client_id: clientId ?? uuid(), text, created: Date.now(), state: 'pending' };
    if (extra && Object.keys(extra).length) entry.extra = extra;
    if (media?.length) entry.media = media;
    this.entries.push(entry);
    this.#save();
    return entry;
  }

  /** The entry with this client id, if any. */
  get(clientId) {
    return this.entries.find((e) => e.client_id === clientId);
  }

  /** Drops an entry (acknowledged, echoed, or deleted by the user). */
  remove(clientId) {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.client_id !== clientId);
    if (this.entries.length !== before) this.#save();
    return this.entries.length !== before;
  }

  /** Marks an entry failed (not retried by itself): `error` is `{code, message}`. */
  fail(clientId, error) {
    const e = this.get(clientId);
    if (!e) return;
    e.state = 'failed';
    e.error = { code: error.code, message: error.message };
    this.#save();
  }

  /** Puts a failed entry back in line, with the same client id. */
  retry(clientId) {
    const e = this.get(clientId);
    if (!e) return null;
    e.state = 'pending';
    delete e.error;
    this.#save();
    return e;
  }

  /** Entries waiting to be sent, oldest first. */
  pending() {
    return this.entries.filter((e) => e.state === 'pending');
  }

  /** Entries of one conversation, oldest first. */
  forConv(conv) {
    return this.entries.filter((e) => e.conv === conv);
  }
}
