// The live connection: a WebSocket to /v1/ws (docs/protocol.md §6).
//
// It authenticates with `hello {token, cursor}`, hands every frame to the
// sync engine, keeps itself alive with application pings (a browser cannot
// see the server's WebSocket pings), and reconnects with exponential
// backoff and jitter, resuming from the cursor the engine reports. It
// knows nothing of conversations.
//
// States: `connecting` (socket opening or backlog loading), `online`
// (synced: what follows is live), `offline` (waiting to retry, or the
// browser says it has no network).

import { ApiError, GONE_CODES, SessionGone } from './api.js';

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 30000;
const PING_EVERY_MS = 20000;

export class Live {
  /**
   * `api`: for fresh tokens. `cursor()`: where to resume. `onFrame(frame)`:
   * every frame after `welcome`, in order. `onState(state)`: connection
   * state changes. `onResync(cursor)`: the cursor cannot be served; reload
   * state, then resolve (the connection waits for it).
   */
  constructor({ api, cursor, onFrame, onState, onResync, onGone, url }) {
    this.api = api;
    this.cursor = cursor;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onResync = onResync;
    this.onGone = onGone;
    this.url = url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/ws`;
    this.state = 'offline';
    this.ws = null;
    this.ready = false; // welcome received: sends are accepted
    this.stopped = true;
    this.delay = BACKOFF_START_MS;
    this.retryTimer = null;
    this.pingTimer = null;
    this.watchdog = null;
    this.heartbeatMs = 25000;
    this.attempt = 0;
    this.onOnline = () => this.connectNow();
    this.onOffline = () => this.#drop('offline');
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && this.state === 'offline') this.connectNow();
    };
  }

  /** Starts connecting, and keeps connected until `stop()`. */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    document.addEventListener('visibilitychange', this.onVisible);
    this.#connect();
  }

  /** Closes for good (logout, session gone). */
  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    document.removeEventListener('visibilitychange', this.onVisible);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.watchdog);
    this.#closeSocket(1000, 'bye');
    this.ws = null;
    this.ready = false;
    this.#setState('offline');
  }

  /** Reconnects at once (network back, tab visible again), skipping the wait. */
  connectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.delay = BACKOFF_START_MS;
    this.#connect();
  }

  /** Sends a frame if the socket is authenticated; false otherwise. */
  send(frame) {
    if (!this.ready || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  async #connect() {
    if (this.stopped || this.ws) return;
    if (navigator.onLine === false) {
      this.#setState('offline');
      return; // the `online` event brings us back
    }
    this.#setState('connecting');
    const attempt = ++this.attempt;
    let token;
    try {
      token = await this.api.token();
    } catch (e) {
      if (e instanceof SessionGone) return this.#gone(e);
      return this.#retryLater(e instanceof ApiError ? e.retryAfter : undefined);
    }
    if (this.stopped || attempt !== this.attempt) return;
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      return this.#retryLater();
    }
    this.ws = ws;
    this.ready = false;
    this.lastError = null;
    this.helloToken = token;
    ws.onopen = () => {
      const hello = { type: 'hello', token };
      const cursor = this.cursor();
      if (cursor) hello.cursor = cursor;
      ws.send(JSON.stringify(hello));
      this.#armWatchdog();
    };
    ws.onmessage = (m) => this.#message(ws, m);
    ws.onclose = (c) => this.#closed(ws, c);
    ws.onerror = () => {
      // `close` follows with the details.
    };
  }

  #message(ws, m) {
    if (ws !== this.ws) return;
    this.#armWatchdog();
    let frame;
    try {
      frame = JSON.parse(m.data);
    } catch {
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.ready = true;
        this.delay = BACKOFF_START_MS;
        this.heartbeatMs = Math.max(5, Number(frame.heartbeat_secs) || 25) * 1000;
        this.#startPings();
        this.onFrame(frame);
        break;
      case 'synced':
        this.onFrame(frame);
        this.#setState('online');
        break;
      case 'pong':
        break;
      case 'resync':
        this.pendingResync = frame.cursor;
        break;
      case 'error':
        if (!frame.client_id && !frame.conv) this.lastError = frame.error;
        this.onFrame(frame);
        break;
      default:
        this.onFrame(frame);
    }
  }

  async #closed(ws, close) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pingTimer);
    clearTimeout(this.watchdog);
    if (this.stopped) return;
    const err = this.lastError?.code;
    if (this.pendingResync !== undefined) {
      const cursor = this.pendingResync;
      this.pendingResync = undefined;
      this.#setState('connecting');
      try {
        await this.onResync(cursor);
      } catch (e) {
        if (e instanceof SessionGone) return this.#gone(e);
        return this.#retryLater();
      }
      return this.#connect();
    }
    if (err === 'token_expired') {
      // The token expired between fetching it and `hello`: refresh, retry.
      try {
        await this.api.refresh(this.helloToken);
      } catch (e) {
        if (e instanceof SessionGone) return this.#gone(e);
        return this.#retryLater();
      }
      return this.#connect();
    }
    if (GONE_CODES.has(err) || (close.code === 1008 && close.reason === 'session revoked')) {
      return this.#gone(new SessionGone(err ?? 'session_revoked'));
    }
    // Anything else (server restarting, network lost, 1013 try again):
    // back off and resume from the cursor.
    this.#retryLater();
  }

  #retryLater(retryAfterSecs) {
    if (this.stopped) return;
    this.#setState('offline');
    clearTimeout(this.retryTimer);
    // Full jitter between half and all of the current delay, so clients
    // dropped together by a restart do not come back in lockstep.
    const wait = retryAfterSecs
      ? retryAfterSecs * 1000
      : this.delay / 2 + Math.random() * (this.delay / 2);
    this.delay = Math.min(this.delay * 2, BACKOFF_CAP_MS);
    this.retryTimer = setTimeout(() => this.#connect(), wait);
  }

  #gone(e) {
    this.stop();
    this.onGone(e);
  }

  #startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), Math.min(PING_EVERY_MS, this.heartbeatMs));
  }

  // Nothing heard for twice the heartbeat: the socket is dead even if the
  // browser has not noticed (a laptop that slept, a dropped Wi-Fi).
  #armWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.#drop('timeout'), this.heartbeatMs * 2);
  }

  #drop(why) {
    const ws = this.ws;
    if (!ws) {
      if (why === 'offline') this.#setState('offline');
      return;
    }
    this.#closeSocket(4000, why);
    // The socket's close event may come late or never when the network is
    // gone; treat it as closed now.
    this.#closed(ws, { code: 4000, reason: why });
  }

  #closeSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    try {
      ws.close(code, reason);
    } catch {
      // Already closing.
    }
  }
}
