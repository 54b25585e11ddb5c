// The live connection: a WebSocket to /v1/ws (docs/protocol.md §6), or,
// where WebSockets are blocked, Server-Sent Events from /v1/events (§7)
// with sends, receipts and typing over HTTP (§3).
//
// It authenticates with `hello {token, cursor}`, hands every frame to the
// sync engine, keeps itself alive with application pings (a browser cannot
// see the server's WebSocket pings), and reconnects with exponential
// backoff and jitter, resuming from the cursor the engine reports. It
// knows nothing of conversations.
//
// Fallback: when two WebSockets in a row fail or close before `welcome`
// while plain HTTP still reaches the server (so it is the WebSocket that
// is blocked, not the server that is down), it switches to SSE. The SSE
// stream is read with `fetch` (same origin, bearer header, real status
// codes) and turned into the same frames the socket gives; `send()` posts
// `send` / `receipt` / `typing` frames over HTTP and reports the answer as
// a `sent` or `error` frame. The engine cannot tell the difference. Once
// SSE has been used for WS_RETRY_MS, the next reconnect tries a WebSocket
// again (one more failure goes straight back to SSE).
//
// States: `connecting` (socket opening or backlog loading), `online`
// (synced: what follows is live), `offline` (waiting to retry, or the
// browser says it has no network).

import { ApiError, GONE_CODES, SessionGone } from './api.js';

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 30000;
const PING_EVERY_MS = 20000;
const FALLBACK_AFTER = 2; // WebSockets in a row that fail before `welcome`
const WS_RETRY_MS = 5 * 60 * 1000;

export class Live {
  /**
   * `api`: for fresh tokens. `cursor()`: where to resume. `onFrame(frame)`:
   * every frame after `welcome`, in order. `onState(state)`: connection
   * state changes. `onResync(cursor)`: the cursor cannot be served; reload
   * state, then resolve (the connection waits for it). `onTransport(t)`:
   * switched between `websocket` and `sse`.
   */
  constructor({ api, cursor, onFrame, onState, onResync, onGone, onTransport, url }) {
    this.api = api;
    this.onTransport = onTransport;
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
    this.sse = null; // the open SSE stream: {ctrl}
    this.transport = 'websocket'; // or 'sse'
    this.wsFailures = 0;
    this.sseSince = 0;
    this.sending = Promise.resolve(); // HTTP sends, one at a time, in order
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
    this.sse?.ctrl.abort();
    this.sse = null;
    this.ready = false;
    this.#setState('offline');
  }

  /** Reconnects at once (network back, tab visible again), skipping the wait. */
  connectNow() {
    if (this.stopped || this.ws || this.sse) return;
    clearTimeout(this.retryTimer);
    this.delay = BACKOFF_START_MS;
    this.#connect();
  }

  /**
   * Sends a frame if the connection is ready; false otherwise. Over SSE it
   * goes as an HTTP request, whose answer comes back as a frame.
   */
  send(frame) {
    if (!this.ready) return false;
    if (this.sse) {
      if (frame.type === 'send') this.sending = this.sending.then(() => this.#post(frame));
      else this.#post(frame);
      return true;
    }
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  #setTransport(transport) {
    if (this.transport === transport) return;
    this.transport = transport;
    this.onTransport?.(transport);
  }

  async #connect() {
    if (this.stopped || this.ws || this.sse) return;
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
    if (this.stopped || attempt !== this.attempt || this.ws || this.sse) return;
    if (this.transport === 'sse' && Date.now() - this.sseSince >= WS_RETRY_MS) {
      // Try a WebSocket again now and then; one failure brings SSE back.
      this.wsFailures = FALLBACK_AFTER - 1;
      this.#setTransport('websocket');
    }
    if (this.transport === 'sse') return this.#openSse(token);
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
        this.wsFailures = 0;
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

  async #closed(ws, close, why) {
    if (ws !== this.ws) return;
    const welcomed = this.ready;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pingTimer);
    clearTimeout(this.watchdog);
    if (this.stopped) return;
    const err = this.lastError?.code;
    if (this.pendingResync !== undefined || err === 'token_expired' || GONE_CODES.has(err)) {
      return this.#recover(this.lastError);
    }
    if (close.code === 1008 && close.reason === 'session revoked') {
      return this.#gone(new SessionGone('session_revoked'));
    }
    if (!welcomed && why !== 'offline' && ++this.wsFailures >= FALLBACK_AFTER && (await this.#httpWorks())) {
      // The server answers HTTP but no WebSocket gets through (a proxy
      // that blocks them): Server-Sent Events from now on.
      if (this.stopped || this.ws || this.sse) return;
      this.wsFailures = 0;
      this.sseSince = Date.now();
      this.delay = BACKOFF_START_MS;
      this.#setTransport('sse');
      return this.#connect();
    }
    // Anything else (server restarting, network lost, 1013 try again):
    // back off and resume from the cursor.
    this.#retryLater();
  }

  /**
   * After a connection ended: resync (`pendingResync`), refresh an expired
   * token, give up on a session that has ended, or back off and retry.
   * `err` is the server's error object, if it sent one.
   */
  async #recover(err) {
    const code = err?.code;
    if (code === 'resync_required' && err.cursor !== undefined) this.pendingResync = err.cursor;
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
    if (code === 'token_expired') {
      // The token expired between fetching it and using it: refresh, retry.
      try {
        await this.api.refresh(this.helloToken);
      } catch (e) {
        if (e instanceof SessionGone) return this.#gone(e);
        return this.#retryLater();
      }
      return this.#connect();
    }
    if (GONE_CODES.has(code)) return this.#gone(new SessionGone(code));
    this.#retryLater(err?.retry_after);
  }

  /** Whether plain HTTP reaches the server (it does when only WebSockets are blocked). */
  async #httpWorks() {
    try {
      await this.api.limits();
      return true;
    } catch {
      return false;
    }
  }

  // ---- Server-Sent Events ----

  async #openSse(token) {
    const conn = { ctrl: new AbortController() };
    this.sse = conn;
    this.ready = false;
    this.helloToken = token;
    this.#armWatchdog();
    const cursor = this.cursor();
    let res;
    try {
      res = await fetch(`/v1/events${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: conn.ctrl.signal,
      });
    } catch {
      return this.#sseEnded(conn);
    }
    if (conn !== this.sse) return;
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        // Not the server's error format (a proxy's page): back off.
      }
      const retry = Number(res.headers.get('Retry-After')) || undefined;
      return this.#sseEnded(conn, body?.error ?? { code: 'unavailable', retry_after: retry });
    }
    // Authenticated: sends are accepted (over HTTP) from now on.
    this.ready = true;
    this.delay = BACKOFF_START_MS;
    this.#armWatchdog();
    try {
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let type = 'message';
      let data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done || conn !== this.sse) break;
        this.#armWatchdog();
        buf += value;
        const lines = buf.split('\n');
        buf = lines.pop();
        for (let line of lines) {
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            // A blank line ends an event.
            if (data.length > 0 && conn === this.sse) this.#sseEvent(conn, type, data.join('\n'));
            type = 'message';
            data = [];
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let val = colon < 0 ? '' : line.slice(colon + 1);
            if (val.startsWith(' ')) val = val.slice(1);
            if (field === 'event') type = val;
            else if (field === 'data') data.push(val);
          }
          // `: ping` comments only keep the watchdog quiet.
        }
      }
    } catch {
      // Aborted, or the network went: handled below.
    }
    this.#sseEnded(conn);
  }

  /** One SSE event, turned into the frame the WebSocket would have sent. */
  #sseEvent(conn, type, data) {
    let body;
    try {
      body = JSON.parse(data);
    } catch {
      return;
    }
    switch (type) {
      case 'event':
      case 'receipt':
      case 'membership': // a channel subscription began or ended (a log entry)
      case 'settings': // my settings of a conversation changed (a log entry)
      case 'report': // a new report for me to handle (a log entry)
      case 'personal': // a change for my devices alone: hidden, my reaction, a thread read (a log entry)
      case 'synced':
        this.onFrame({ ...body, type });
        if (type === 'synced') this.#setState('online');
        break;
      case 'presence_snapshot':
      case 'presence':
      case 'typing':
        this.onFrame({ ...body, type });
        break;
      case 'resync':
        // The stream ends after it; do not let anything else in first.
        this.pendingResync = body.cursor;
        conn.ctrl.abort();
        break;
      case 'revoked':
        conn.ctrl.abort();
        this.#sseEnded(conn, { code: 'session_revoked' });
        break;
      default:
      // Unknown SSE event types are ignored (protocol.md §1, versioning).
    }
  }

  #sseEnded(conn, err) {
    if (conn !== this.sse) return;
    this.sse = null;
    this.ready = false;
    clearTimeout(this.watchdog);
    conn.ctrl.abort();
    if (this.stopped) return;
    this.#recover(err);
  }

  /** A `send`, `receipt` or `typing` frame, over HTTP (the SSE transport). */
  async #post(frame) {
    const { conv } = frame;
    try {
      switch (frame.type) {
        case 'send': {
          const sent = await this.api.send(conv, frame.client_id, frame.text, frame);
          this.onFrame({ ...sent, type: 'sent' });
          break;
        }
        case 'receipt':
          await this.api.postReceipt(conv, frame.kind, frame.seq);
          break;
        case 'typing':
          await this.api.typing(conv, frame.active);
          break;
        default:
        // `ping`: the stream's own keep-alives do its job.
      }
    } catch (e) {
      if (e instanceof SessionGone || this.stopped) return; // the app signs out
      const retryable = !(e instanceof ApiError) || e.retryable;
      if (frame.type === 'send') {
        // A network failure is an unknown outcome: the engine resends it
        // later under the same client id.
        const code = !retryable ? e.code : e.code === 'rate_limited' ? 'rate_limited' : 'unavailable';
        const error = { code, message: e.message, retry_after: e.retryAfter };
        this.onFrame({ type: 'error', conv, client_id: frame.client_id, error });
      } else if (frame.type === 'receipt' && retryable) {
        // Watermarks are absolute: sending one again is harmless.
        setTimeout(() => this.send(frame), (e.retryAfter ?? 0) * 1000 || 3000);
      }
    }
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
    if (this.sse) {
      this.#sseEnded(this.sse);
      return;
    }
    const ws = this.ws;
    if (!ws) {
      if (why === 'offline') this.#setState('offline');
      return;
    }
    this.#closeSocket(4000, why);
    // The socket's close event may come late or never when the network is
    // gone; treat it as closed now.
    this.#closed(ws, { code: 4000, reason: why }, why);
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
