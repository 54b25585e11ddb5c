// The HTTP API client: bearer tokens, refresh on `token_expired` (one at
// a time, across tabs too), the server's error format, and one method per
// endpoint the client uses. See docs/protocol.md §2–3.

import * as storage from './storage.js';

/** An error answer from the server (or the network), with its stable code. */
export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = extra.retry_after;
    this.cursor = extra.cursor;
  }

  /** Worth retrying unchanged later (protocol.md §9). */
  get retryable() {
    return ['internal', 'unavailable', 'rate_limited', 'storage_full', 'request_timeout', 'network'].includes(this.code);
  }
}

/** The device session has ended (logged out, revoked, or unknown): log in. */
export class SessionGone extends Error {
  constructor(code = 'session_revoked') {
    super('Your session has ended. Please sign in again.');
    this.name = 'SessionGone';
    this.code = code;
  }
}

/** Codes that mean the session is over for good. */
export const GONE_CODES = new Set(['session_revoked', 'token_invalid', 'refresh_reused', 'unauthorized']);

async function errorFrom(res) {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // Nothing readable: fall back to the status.
  }
  return errorOf(res.status, res.statusText, text, res.headers.get('Retry-After'));
}

/**
 * The error of an answer that is not a success, from its status and body
 * (the server's `{error: {code, message}}`, or a proxy's page).
 */
export function errorOf(status, statusText, bodyText, retryAfter) {
  let body = null;
  try {
    body = JSON.parse(bodyText);
  } catch {
    // A proxy's error page, or nothing: fall back to the status.
  }
  const e = body?.error;
  if (e && typeof e.code === 'string') {
    return new ApiError(status, e.code, e.message || e.code, e);
  }
  const retry = Number(retryAfter) || undefined;
  const code = status === 429 ? 'rate_limited' : status >= 500 ? 'unavailable' : 'http_error';
  return new ApiError(status, code, `The server answered ${status} ${statusText ?? ''}`.trim(), {
    retry_after: retry,
  });
}

export function networkError() {
  return new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
}

const enc = encodeURIComponent;

/** The rich fields of a message to send, only those that are set. */
export function richFields(x) {
  const out = {};
  if (x?.reply_to) out.reply_to = x.reply_to;
  if (x?.thread) out.thread = x.thread;
  if (x?.thread && x.also_in_conversation) out.also_in_conversation = true;
  if (x?.mentions?.length) out.mentions = x.mentions;
  if (x?.mention_all) out.mention_all = x.mention_all;
  if (x?.forward) out.forward = x.forward;
  if (x?.attachments?.length) out.attachments = x.attachments;
  return out;
}

/** An API client bound to the stored session. */
export class Api {
  /** `onGone(error)` is called once when the session ends. */
  constructor({ onGone = () => {} } = {}) {
    this.onGone = onGone;
    this.session = storage.loadSession();
    this.refreshing = null;
    this.gone = false;
  }

  // ---- accounts (no token) ----

  /** `POST /v1/auth/register`. Stores and returns the new session. */
  register(username, password, deviceName) {
    return this.#open('/v1/auth/register', username, password, deviceName);
  }

  /** `POST /v1/auth/login`. */
  login(username, password, deviceName) {
    return this.#open('/v1/auth/login', username, password, deviceName);
  }

  async #open(path, username, password, deviceName) {
    const body = { username, password };
    if (deviceName) body.device_name = deviceName;
    const answer = await this.#raw('POST', path, body, null);
    const session = storage.sessionFrom(answer);
    storage.clearSession();
    storage.saveSession(session);
    this.session = session;
    this.gone = false;
    return session;
  }

  /** `POST /v1/auth/logout`: ends this device session on the server. */
  async logout() {
    try {
      await this.request('POST', '/v1/auth/logout');
    } finally {
      this.session = null;
    }
  }

  // ---- tokens ----

  /** A current access token, refreshed first when it is about to expire. */
  async token() {
    const s = this.#current();
    if (Date.now() < s.access_expires_at) return s.access_token;
    return (await this.refresh(s.access_token)).access_token;
  }

  #current() {
    // Another tab of the same session may have refreshed: prefer storage.
    const stored = storage.loadSession();
    if (stored && this.session && stored.device === this.session.device) this.session = stored;
    if (!this.session) throw this.#ended('session_revoked');
    return this.session;
  }

  /**
   * `POST /v1/auth/refresh`, serialised: one refresh at a time in this tab
   * (a promise) and across tabs (a Web Lock), because presenting a spent
   * refresh token revokes the session. `stale` is the access token that
   * failed; if storage already holds another one, another tab refreshed.
   */
  refresh(stale) {
    if (!this.refreshing) {
      const run = () => this.#refresh(stale);
      const locked = navigator.locks?.request ? navigator.locks.request('natter.refresh', run) : run();
      this.refreshing = locked.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async #refresh(stale) {
    const s = this.#current();
    if (s.access_token !== stale && Date.now() < s.access_expires_at) return s;
    let res;
    try {
      res = await fetch('/v1/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: s.refresh_token }),
      });
    } catch {
      throw networkError();
    }
    if (!res.ok) {
      const e = await errorFrom(res);
      // At this endpoint every 401 (token_expired included) means: log in.
      if (res.status === 401) throw this.#ended(e.code);
      throw e;
    }
    const session = storage.sessionFrom(await res.json());
    storage.saveSession(session);
    this.session = session;
    return session;
  }

  #ended(code) {
    const e = new SessionGone(code);
    if (!this.gone) {
      this.gone = true;
      queueMicrotask(() => this.onGone(e));
    }
    return e;
  }

  // ---- requests ----

  async #raw(method, path, body, token) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw networkError();
    }
    if (!res.ok) throw await errorFrom(res);
    return res.status === 204 ? null : res.json();
  }

  /**
   * An authenticated request. On `token_expired` it refreshes and retries
   * once; a session that has ended raises `SessionGone` (and `onGone`).
   */
  request(method, path, body) {
    return this.authorized((token) => this.#raw(method, path, body, token));
  }

  /**
   * Runs `run(token)` with a current access token, as `request` does (a
   * refresh and one retry on `token_expired`): for requests that are not
   * plain JSON, such as the uploads' chunks. `run` throws `ApiError`s.
   */
  async authorized(run) {
    let token = await this.token();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await run(token);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 401) throw e;
        if (e.code === 'token_expired' && attempt === 0) {
          token = (await this.refresh(token)).access_token;
          continue;
        }
        if (GONE_CODES.has(e.code) || e.code === 'token_expired') throw this.#ended(e.code);
        throw e;
      }
    }
  }

  // ---- endpoints ----

  /** `GET /v1/limits`: what the server accepts (no session needed). */
  limits() {
    return this.#raw('GET', '/v1/limits');
  }

  /** `GET /v1/me`: who I am and the newest position (my cursor's head). */
  me() {
    return this.request('GET', '/v1/me');
  }

  /** `GET /v1/sessions`. */
  sessions() {
    return this.request('GET', '/v1/sessions');
  }

  /** `DELETE /v1/sessions/{device}`. */
  revokeSession(device) {
    return this.request('DELETE', `/v1/sessions/${enc(device)}`);
  }

  /** `GET /v1/users?username=`. */
  userByName(username) {
    return this.request('GET', `/v1/users?username=${enc(username)}`);
  }

  /** `GET /v1/users/{id}`. */
  user(id) {
    return this.request('GET', `/v1/users/${enc(id)}`);
  }

  /**
   * `GET /v1/users/search?q=`: the user directory, by username or display
   * name prefix (people who are not discoverable, or blocked me, are left out).
   */
  searchUsers(q, limit) {
    const query = new URLSearchParams({ q });
    if (limit !== undefined) query.set('limit', String(limit));
    return this.request('GET', `/v1/users/search?${query}`);
  }

  /**
   * `PATCH /v1/me/profile`: my `display_name` and `about` (only those
   * given; an empty string removes one). Answers `Me`.
   */
  setProfile(changes) {
    return this.request('PATCH', '/v1/me/profile', changes);
  }

  /**
   * `GET /v1/conversations`: one page, newest activity first (`next` when
   * there may be more). `archived` and `pinned` (booleans) filter it.
   */
  conversations({ limit, before, archived, pinned } = {}) {
    const q = new URLSearchParams();
    if (limit !== undefined) q.set('limit', String(limit));
    if (before !== undefined) q.set('before', before);
    if (archived !== undefined) q.set('archived', String(archived));
    if (pinned !== undefined) q.set('pinned', String(pinned));
    const qs = q.toString();
    return this.request('GET', `/v1/conversations${qs ? `?${qs}` : ''}`);
  }

  /** `GET /v1/conversations/{id}`. */
  conversation(id) {
    return this.request('GET', `/v1/conversations/${enc(id)}`);
  }

  /**
   * `PATCH /v1/conversations/{id}`: a group's `name`, `description` and
   * `history` (what people who join later may read); only those given.
   */
  updateGroup(id, changes) {
    return this.request('PATCH', `/v1/conversations/${enc(id)}`, changes);
  }

  /** `POST /v1/conversations` (direct). */
  createDirect(user) {
    return this.request('POST', '/v1/conversations', { kind: 'direct', user });
  }

  /** `POST /v1/conversations` (group). */
  createGroup(name, members) {
    return this.request('POST', '/v1/conversations', { kind: 'group', name, members });
  }

  /**
   * `POST /v1/conversations` (channel): a broadcast channel I own, with an
   * optional description. Subscribers join with invite links.
   */
  createChannel(name, description) {
    const body = { kind: 'channel', name };
    if (description) body.description = description;
    return this.request('POST', '/v1/conversations', body);
  }

  /** `GET /v1/conversations/{id}/members`: one page in join order (`next` when there may be more). */
  members(id, { limit, after } = {}) {
    const q = new URLSearchParams();
    if (limit !== undefined) q.set('limit', String(limit));
    if (after !== undefined) q.set('after', after);
    const qs = q.toString();
    return this.request('GET', `/v1/conversations/${enc(id)}/members${qs ? `?${qs}` : ''}`);
  }

  /** `DELETE /v1/conversations/{id}/members/{user}`: removes a member. */
  removeMember(id, user) {
    return this.request('DELETE', `/v1/conversations/${enc(id)}/members/${enc(user)}`);
  }

  /**
   * `PUT /v1/conversations/{id}/members/{user}/role`: `admin`, `moderator`
   * or `member` in a group; `admin`, `moderator` or `subscriber` in a channel.
   */
  setRole(id, user, role) {
    return this.request('PUT', `/v1/conversations/${enc(id)}/members/${enc(user)}/role`, { role });
  }

  /** `POST /v1/conversations/{id}/owner`: hands the group to another member. */
  transferOwnership(id, user) {
    return this.request('POST', `/v1/conversations/${enc(id)}/owner`, { user });
  }

  /** `GET /v1/conversations/{id}/bans`: most recent first. */
  bans(id) {
    return this.request('GET', `/v1/conversations/${enc(id)}/bans`);
  }

  /** `PUT /v1/conversations/{id}/bans/{user}`: bans (and removes) a user. */
  ban(id, user) {
    return this.request('PUT', `/v1/conversations/${enc(id)}/bans/${enc(user)}`);
  }

  /** `DELETE /v1/conversations/{id}/bans/{user}`: lifts a ban. */
  unban(id, user) {
    return this.request('DELETE', `/v1/conversations/${enc(id)}/bans/${enc(user)}`);
  }

  /**
   * `POST /v1/conversations/{id}/invites`: a new invite link (owners and
   * admins). `options`: `expires_in_secs`, `max_uses`, both optional.
   */
  createInvite(id, options = {}) {
    return this.request('POST', `/v1/conversations/${enc(id)}/invites`, options);
  }

  /** `GET /v1/conversations/{id}/invites`: the links not revoked, newest first. */
  invites(id) {
    return this.request('GET', `/v1/conversations/${enc(id)}/invites`);
  }

  /** `DELETE /v1/conversations/{id}/invites/{token}`: revokes a link. */
  revokeInvite(id, token) {
    return this.request('DELETE', `/v1/conversations/${enc(id)}/invites/${enc(token)}`);
  }

  /** `GET /v1/invites/{token}`: what a link leads to, without joining. */
  invitePreview(token) {
    return this.request('GET', `/v1/invites/${enc(token)}`);
  }

  /** `POST /v1/invites/{token}/join`: joins; answers the group's ConversationInfo. */
  joinInvite(token) {
    return this.request('POST', `/v1/invites/${enc(token)}/join`);
  }

  /** `POST /v1/conversations/{id}/members`. */
  addMembers(id, users) {
    return this.request('POST', `/v1/conversations/${enc(id)}/members`, { users });
  }

  /** `GET /v1/conversations/{id}/events` with `before` / `after` / `limit`. */
  history(id, { before, after, limit } = {}) {
    const q = new URLSearchParams();
    if (before !== undefined) q.set('before', String(before));
    if (after !== undefined) q.set('after', String(after));
    if (limit !== undefined) q.set('limit', String(limit));
    const qs = q.toString();
    return this.request('GET', `/v1/conversations/${enc(id)}/events${qs ? `?${qs}` : ''}`);
  }

  /**
   * `GET /v1/search`: messages I may read that match `q` (whole words,
   * the last one also as a prefix unless `q` ends with a space), best
   * first. Filters: `conv`, `from` (a user id), `after` (at or after) /
   * `before` (ms),
   * `has` (`file` | `link`), `mentions_me`, `in_thread`; `limit`, `cursor`
   * (the previous page's `next`). Answers `{results, next?}`.
   */
  search({ q, conv, from, after, before, has, mentions_me: mentionsMe, in_thread: inThread, limit, cursor }) {
    const query = new URLSearchParams({ q });
    if (conv) query.set('conv', conv);
    if (from) query.set('from', from);
    if (after !== undefined && after !== null) query.set('after', String(after));
    if (before !== undefined && before !== null) query.set('before', String(before));
    if (has) query.set('has', has);
    if (mentionsMe) query.set('mentions_me', 'true');
    if (inThread) query.set('in_thread', 'true');
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor) query.set('cursor', cursor);
    return this.request('GET', `/v1/search?${query}`);
  }

  /** `GET /v1/conversations/{id}/receipts?seq=`: delivered / read by N of M. */
  receipts(id, seq) {
    return this.request('GET', `/v1/conversations/${enc(id)}/receipts?seq=${seq}`);
  }

  /**
   * `PUT /v1/conversations/{id}/settings`: my own settings for it (any of
   * `muted`, `hide_badge`, `archived`, `pinned`, `marked_unread`).
   * Answers the `SettingsChange`, which also reaches all my devices.
   */
  setConvSettings(id, changes) {
    return this.request('PUT', `/v1/conversations/${enc(id)}/settings`, changes);
  }

  /**
   * `GET /v1/conversations/{id}/views?from=&to=`: how many members have
   * read each message of `from..to` (`to - from` below 500), as
   * `{views: [{seq, views}]}`.
   */
  views(id, from, to) {
    return this.request('GET', `/v1/conversations/${enc(id)}/views?from=${from}&to=${to}`);
  }

  /**
   * `POST /v1/conversations/{id}/messages` (the HTTP send). `extra`: the
   * rich fields (`reply_to`, `thread`, `also_in_conversation`, `mentions`,
   * `mention_all`, `forward`), each only when set.
   */
  send(id, clientId, text, extra = {}) {
    return this.request('POST', `/v1/conversations/${enc(id)}/messages`, { client_id: clientId, text, ...richFields(extra) });
  }

  // ---- rich messages (protocol.md, "Rich messages") ----

  /** `PATCH …/messages/{seq}`: new text (and mentions) for my message; answers it as it now is. */
  editMessage(id, seq, { text, mentions, mention_all: all }) {
    const body = { text };
    if (mentions?.length) body.mentions = mentions;
    if (all) body.mention_all = all;
    return this.request('PATCH', `/v1/conversations/${enc(id)}/messages/${enc(seq)}`, body);
  }

  /** `GET …/messages/{seq}`: one message as history shows it. */
  message(id, seq) {
    return this.request('GET', `/v1/conversations/${enc(id)}/messages/${enc(seq)}`);
  }

  /** `GET …/messages/{seq}/edits`: `{versions: [{text, at}]}`, the original first. */
  edits(id, seq) {
    return this.request('GET', `/v1/conversations/${enc(id)}/messages/${enc(seq)}/edits`);
  }

  /** `POST …/messages/{seq}/hide`: deletes a message for me, on all my devices. */
  hide(id, seq) {
    return this.request('POST', `/v1/conversations/${enc(id)}/messages/${enc(seq)}/hide`);
  }

  /** `PUT` (add) or `DELETE` (take back) my reaction: answers `{seq, emoji, count, me}`. */
  react(id, seq, emoji, on) {
    return this.request(on ? 'PUT' : 'DELETE', `/v1/conversations/${enc(id)}/messages/${enc(seq)}/reactions/${enc(emoji)}`);
  }

  /** `GET …/reactions/{emoji}`: who reacted with it, `{users, more}`. */
  reactors(id, seq, emoji, { after, limit } = {}) {
    const q = new URLSearchParams();
    if (after) q.set('after', after);
    if (limit) q.set('limit', String(limit));
    const qs = q.toString();
    return this.request('GET', `/v1/conversations/${enc(id)}/messages/${enc(seq)}/reactions/${enc(emoji)}${qs ? `?${qs}` : ''}`);
  }

  /** `GET …/pins`: `{pins: [{message, by, at}]}`, the latest pinned first. */
  pins(id) {
    return this.request('GET', `/v1/conversations/${enc(id)}/pins`);
  }

  /** `PUT` (pin) or `DELETE` (unpin) `…/pins/{seq}`: the event, or null when nothing changed. */
  pin(id, seq, on) {
    return this.request(on ? 'PUT' : 'DELETE', `/v1/conversations/${enc(id)}/pins/${enc(seq)}`);
  }

  /** `GET …/threads/{root}?after=&limit=`: `{root, events, more}`. */
  thread(id, root, { after, limit } = {}) {
    const q = new URLSearchParams();
    if (after) q.set('after', String(after));
    if (limit) q.set('limit', String(limit));
    const qs = q.toString();
    return this.request('GET', `/v1/conversations/${enc(id)}/threads/${enc(root)}${qs ? `?${qs}` : ''}`);
  }

  /** `PUT …/threads/{root}/read`: marks the thread read up to reply `seq`. */
  threadRead(id, root, seq) {
    return this.request('PUT', `/v1/conversations/${enc(id)}/threads/${enc(root)}/read`, { seq });
  }

  /** `POST /v1/conversations/{id}/receipts` (the HTTP receipt). */
  postReceipt(id, kind, seq) {
    return this.request('POST', `/v1/conversations/${enc(id)}/receipts`, { kind, seq });
  }

  /** `POST /v1/conversations/{id}/typing` (the HTTP typing indicator). */
  typing(id, active) {
    return this.request('POST', `/v1/conversations/${enc(id)}/typing`, { active });
  }

  // ---- files (protocol.md, "Uploads", "Attachments", "Downloads") ----

  /** `GET /v1/uploads/{id}`: an upload as the server has it (`UploadInfo`). */
  upload(id) {
    return this.request('GET', `/v1/uploads/${enc(id)}`);
  }

  /** `DELETE /v1/uploads/{id}`: cancels an upload (its bytes go too). */
  deleteUpload(id) {
    return this.request('DELETE', `/v1/uploads/${enc(id)}`);
  }

  /** `GET /v1/uploads/{id}/url`: `{url, expires_at, thumbnail_url?}`, signed and relative. */
  uploadUrl(id) {
    return this.request('GET', `/v1/uploads/${enc(id)}/url`);
  }

  /**
   * `GET /v1/conversations/{id}/media`: attachments, newest first, as
   * `{items: [{seq, sender, ts, attachment}], next}`; `kind` filters.
   */
  convMedia(id, { kind, before, limit } = {}) {
    const q = new URLSearchParams();
    if (kind) q.set('kind', kind);
    if (before !== undefined) q.set('before', String(before));
    if (limit !== undefined) q.set('limit', String(limit));
    const qs = q.toString();
    return this.request('GET', `/v1/conversations/${enc(id)}/media${qs ? `?${qs}` : ''}`);
  }

  /** `PUT /v1/me/avatar`: one of my complete image uploads becomes my picture; answers `{avatar}`. */
  setAvatar(upload) {
    return this.request('PUT', '/v1/me/avatar', { upload });
  }

  /** `DELETE /v1/me/avatar`. */
  removeAvatar() {
    return this.request('DELETE', '/v1/me/avatar');
  }

  /** `PUT /v1/conversations/{id}/avatar`: a group's picture (who may rename it may); answers `{avatar}`. */
  setGroupAvatar(id, upload) {
    return this.request('PUT', `/v1/conversations/${enc(id)}/avatar`, { upload });
  }

  /** `DELETE /v1/conversations/{id}/avatar`. */
  removeGroupAvatar(id) {
    return this.request('DELETE', `/v1/conversations/${enc(id)}/avatar`);
  }

  /** `POST /v1/conversations/{id}/accept`: takes a message request. */
  accept(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/accept`);
  }

  /**
   * `POST /v1/conversations/{id}/leave`: leaves a group or a channel (or
   * declines an invitation). Answers the `member_left` event, or for a
   * channel's subscriber the `MembershipChange` only they get.
   */
  leave(id) {
    return this.request('POST', `/v1/conversations/${enc(id)}/leave`);
  }

  /**
   * `POST /v1/conversations/{id}/reports`: reports someone else's message
   * (`reason`: spam, abuse or other; `note` optional). Reporting it again
   * answers the first report.
   */
  report(id, seq, reason, note) {
    const body = { seq, reason };
    if (note) body.note = note;
    return this.request('POST', `/v1/conversations/${enc(id)}/reports`, body);
  }

  /** `GET /v1/conversations/{id}/reports` (moderators and above): newest first, open ones unless `all`. */
  reports(id, { all = false } = {}) {
    return this.request('GET', `/v1/conversations/${enc(id)}/reports${all ? '?all=true' : ''}`);
  }

  /**
   * `DELETE /v1/conversations/{id}/messages/{seq}`: deletes a message for
   * everyone (my own within the server's window; moderators and above
   * others' of a lower role). Answers the `message_deleted` event.
   */
  deleteMessage(id, seq) {
    return this.request('DELETE', `/v1/conversations/${enc(id)}/messages/${enc(seq)}`);
  }

  /** `GET /v1/admin/reports` (server admins): every report, open ones unless `all`. */
  adminReports({ all = false } = {}) {
    return this.request('GET', `/v1/admin/reports${all ? '?all=true' : ''}`);
  }

  /** `PUT /v1/admin/suspensions/{user}` (server admins): answers `{user, suspended_at}`. */
  suspend(user) {
    return this.request('PUT', `/v1/admin/suspensions/${enc(user)}`);
  }

  /** `DELETE /v1/admin/suspensions/{user}` (server admins). */
  unsuspend(user) {
    return this.request('DELETE', `/v1/admin/suspensions/${enc(user)}`);
  }

  /** `POST /v1/reports/{id}/resolve` with an optional note. */
  resolveReport(reportId, note) {
    return this.request('POST', `/v1/reports/${enc(reportId)}/resolve`, note ? { note } : {});
  }

  /** `GET /v1/blocks`: the users I have blocked, most recent first. */
  blocks() {
    return this.request('GET', '/v1/blocks');
  }

  /** `PUT /v1/blocks/{user}`. */
  block(user) {
    return this.request('PUT', `/v1/blocks/${enc(user)}`);
  }

  /** `DELETE /v1/blocks/{user}`. */
  unblock(user) {
    return this.request('DELETE', `/v1/blocks/${enc(user)}`);
  }

  /** `GET /v1/me/privacy`. */
  privacy() {
    return this.request('GET', '/v1/me/privacy');
  }

  /** `PUT /v1/me/privacy`. */
  setPrivacy(privacy) {
    return this.request('PUT', '/v1/me/privacy', privacy);
  }

  /** `GET /v1/presence`. */
  presence() {
    return this.request('GET', '/v1/presence');
  }
}
