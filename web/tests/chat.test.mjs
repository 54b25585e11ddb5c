// Browser tests of natter's web client: Debian's Chromium driven by
// playwright-core, two (and more) browser contexts as different users,
// against a real server.
//
// Run through the Rust runner, which starts the server and can restart it:
//
//   npm ci --prefix web/tests && apt-get install -y chromium   # once
//   cargo test -p natter-test-support --test browser
//
// Environment: NATTER_URL (the server, required), NATTER_CHROMIUM (default
// /usr/bin/chromium), NATTER_CONTROL=stdio (the runner answers
// `NATTER-CONTROL stop|start` lines; without it the restart test is
// skipped), NATTER_SCREENSHOTS=<folder> (save screenshots of the main
// screens, light and dark).
//
// No sleeps: every wait is Playwright's auto-waiting (`waitFor`,
// `waitForFunction`) with a timeout that only bounds failures.
//
// One file on purpose: one suite against one server that the Rust runner
// starts and restarts; a test per thing a person does.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const BASE = process.env.NATTER_URL;
if (!BASE) throw new Error('set NATTER_URL to a running natter server (the Rust runner does)');
const CHROMIUM = process.env.NATTER_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = process.env.NATTER_SCREENSHOTS;
const WAIT = 15000; // a bound for failures; passing tests never wait it
const PASSWORD = 'correct horse battery';
const RUN = Math.random().toString(36).slice(2, 7);
const name = (who) => `${who}_${RUN}`;

// ---------- the runner's control channel ----------

const answers = [];
let lines = null;
if (process.env.NATTER_CONTROL === 'stdio') {
  lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => answers.shift()?.(line));
}

/** Asks the runner to `stop` or `start` the server, and waits until it has. */
async function control(cmd) {
  const answer = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${cmd}`)), 60000);
    answers.push((line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
  process.stdout.write(`NATTER-CONTROL ${cmd}\n`);
  assert.equal(await answer, `done ${cmd}`);
}

// ---------- helpers ----------

let browser;
const dialogs = []; // alert()/confirm() seen anywhere: must stay empty
const pageErrors = [];
const refreshes = []; // status of every POST /v1/auth/refresh the pages made

/**
 * A browser page in a context of its own (its own storage: another user
 * or another device). `hiddenTab` lets the test hide the tab
 * (`window.__setHidden(true)`) and records notifications in
 * `window.__notes` instead of showing them.
 */
async function newPage({ hiddenTab = false, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, ...options });
  if (hiddenTab) {
    await context.addInitScript(() => {
      let hidden = false;
      Object.defineProperty(Document.prototype, 'visibilityState', {
        configurable: true,
        get: () => (hidden ? 'hidden' : 'visible'),
      });
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
      window.__setHidden = (h) => {
        hidden = h;
        document.dispatchEvent(new Event('visibilitychange'));
      };
      window.__notes = [];
      window.Notification = class {
        static permission = 'granted';
        static requestPermission() {
          return Promise.resolve('granted');
        }
        constructor(title, options) {
          window.__notes.push({ title, body: options?.body });
        }
        close() {}
      };
    });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    // The page's Content-Security-Policy must not have to block anything.
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.url().endsWith('/v1/auth/refresh')) refreshes.push(r.status());
  });
  return page;
}

async function rawHttp(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * A user driven over plain HTTP, for a third member and for checking the
 * server's state. Access tokens are short-lived in this suite: it
 * refreshes on `token_expired`, as the client does.
 */
class ApiUser {
  static async register(username) {
    const r = await rawHttp('POST', '/v1/auth/register', { body: { username, password: PASSWORD } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return new ApiUser(r.body);
  }

  static async login(username) {
    const r = await rawHttp('POST', '/v1/auth/login', { body: { username, password: PASSWORD } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return new ApiUser(r.body);
  }

  constructor(session) {
    this.session = session;
    this.id = session.user;
    this.username = session.username;
  }

  async call(method, path, body) {
    const token = this.session.access_token;
    let r = await rawHttp(method, path, { token, body });
    if (r.status === 401 && r.body?.error?.code === 'token_expired') {
      // One refresh at a time: calls made at once (several senders) all
      // wait for it, since a refresh token works only once.
      if (this.session.access_token === token) {
        this.refreshing ??= (async () => {
          const fresh = await rawHttp('POST', '/v1/auth/refresh', { body: { refresh_token: this.session.refresh_token } });
          assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
          this.session = fresh.body;
        })().finally(() => {
          this.refreshing = null;
        });
        await this.refreshing;
      }
      r = await rawHttp(method, path, { token: this.session.access_token, body });
    }
    return r;
  }

  async send(conv, text) {
    const r = await this.call('POST', `/v1/conversations/${conv}/messages`, {
      client_id: `${this.username}-${Math.random().toString(36).slice(2)}`,
      text,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  }

  /** Every event of a conversation. */
  async history(conv) {
    const events = [];
    let before;
    for (;;) {
      const q = before ? `?before=${before}&limit=200` : '?limit=200';
      const r = await this.call('GET', `/v1/conversations/${conv}/events${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      events.unshift(...r.body.events);
      if (!r.body.more) return events;
      before = r.body.events[0].seq;
    }
  }
}

/** The session a page keeps in localStorage. */
async function sessionOf(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('natter.session')));
}

async function register(page, username) {
  await page.goto(BASE);
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await online(page);
}

async function signIn(page, username) {
  await page.goto(BASE);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await online(page);
}

async function online(page) {
  await page.locator('.connection[data-state="online"]').waitFor();
}

const convItem = (page, title) => page.locator(`.conv-item[data-title="${title}"]`);
const messages = (page) => page.locator('.messages .msg');
const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
/** The message rows whose whole text is `text`. */
const message = (page, text) =>
  page.locator('.messages .msg').filter({ has: page.locator('.text', { hasText: exactly(text) }) });

async function openConv(page, title) {
  await convItem(page, title).click();
  await page.locator('.chat-title', { hasText: title }).waitFor();
}

async function send(page, text) {
  const box = page.getByRole('textbox', { name: 'Message', exact: true });
  await box.fill(text);
  await box.press('Enter');
  await message(page, text).last().waitFor();
}

/** Waits until `count` elements of the message list show exactly `text`. */
async function waitForCount(page, text, count) {
  await page.waitForFunction(
    ([t, n]) => [...document.querySelectorAll('.messages .msg .text')].filter((e) => e.textContent === t).length === n,
    [text, count],
    { timeout: WAIT },
  );
}

async function status(page, text) {
  return message(page, text).last().getAttribute('data-status');
}

async function waitForStatus(page, text, wanted) {
  const list = Array.isArray(wanted) ? wanted : [wanted];
  await page.waitForFunction(
    ([t, l]) => {
      const m = [...document.querySelectorAll('.messages .msg.mine')].filter(
        (e) => e.querySelector('.text')?.textContent === t,
      );
      return m.length > 0 && l.includes(m[m.length - 1].dataset.status);
    },
    [text, list],
    { timeout: WAIT },
  );
}

// axe-core, pinned in package.json, put into the page by the test driver
// (not as a <script>: the page's policy allows only its own scripts).
let axeSource = null;
function axeCore() {
  try {
    axeSource ??= readFileSync(new URL('./node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
  } catch (e) {
    throw new Error(`axe-core is not installed (${e.code}): run npm ci --prefix web/tests`);
  }
  return axeSource;
}

/**
 * Runs axe-core on the page as it is now. Prints every violation found
 * (with the elements), and returns the serious and critical ones.
 */
async function axe(page, screen) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeCore());
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of violations) {
    const where = v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` (${n.failureSummary.split('\n').slice(1).join(' ').trim()})` : ''}`);
    console.log(`[axe] ${screen}: ${v.impact} ${v.id}: ${v.help}; ${v.nodes.length} element(s): ${where.join('; ')}`);
  }
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${screen}: ${v.id}`);
}

async function screenshot(page, file) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, file) });
}

// ---------- the suite ----------

const users = { alice: name('alice'), bob: name('bob'), carol: name('carol') };
let alice; // a page
let bob; // a page whose tab the test can hide
let carol; // an ApiUser
let aliceApi; // alice's own API session, for checks of the server's state
let directId;
let groupId;
let firstAliceToken; // expires during the suite (access tokens live 3 s here)

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // A wheel step scrolls at once, so a test can say where rows must be.
      '--disable-smooth-scrolling',
      // A microphone that needs no permission and plays a tone: voice messages.
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
    ],
  });
  alice = await newPage();
  bob = await newPage({ hiddenTab: true });
});

after(async () => {
  await browser?.close();
  lines?.close();
  process.stdin.destroy();
});

describe('natter web client', () => {
  test('registration shows the server’s errors, then signs in', async () => {
    await alice.goto(BASE);
    await alice.getByRole('tab', { name: 'Create account' }).click();
    await alice.getByLabel('Username').fill(users.alice);
    await alice.getByLabel('Password').fill('zzzzzzzzzzzz');
    await alice.getByRole('button', { name: 'Create account' }).click();
    await alice.getByRole('alert').filter({ hasText: 'A password cannot be one repeated character.' }).waitFor();
    await alice.getByLabel('Password').fill(PASSWORD);
    await alice.getByRole('button', { name: 'Create account' }).click();
    await online(alice);
    await alice.locator('.me-name', { hasText: users.alice }).waitFor();
    firstAliceToken = (await sessionOf(alice)).access_token;
    aliceApi = await ApiUser.login(users.alice);

    // The same name again is refused with the server's reason.
    await bob.goto(BASE);
    await bob.getByRole('tab', { name: 'Create account' }).click();
    await bob.getByLabel('Username').fill(users.alice);
    await bob.getByLabel('Password').fill(PASSWORD);
    await bob.getByRole('button', { name: 'Create account' }).click();
    await bob.getByRole('alert').filter({ hasText: 'That username is taken' }).waitFor();
    await register(bob, users.bob);
  });

  test('a direct conversation: messages, ticks to read, typing, unread badge', async () => {
    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.getByRole('dialog').getByLabel('Username').fill(users.bob);
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await alice.locator('.chat-title', { hasText: users.bob }).waitFor();
    directId = new URL(alice.url()).hash.split('/')[2];
    assert.match(directId, /^[0-9a-f-]{36}$/);

    await send(alice, 'Hi bob');
    await waitForStatus(alice, 'Hi bob', ['sent', 'delivered']);

    // Bob has the conversation in his list with an unread badge, and the
    // total in the title; his client reports delivery.
    await convItem(bob, users.alice).locator('.badge', { hasText: '1' }).waitFor();
    await bob.waitForFunction(() => document.title === '(1) natter');
    await waitForStatus(alice, 'Hi bob', 'delivered');

    // Opening it reads it: the badge goes, Alice's ticks turn to read.
    await openConv(bob, users.alice);
    await message(bob, 'Hi bob').waitFor();
    await convItem(bob, users.alice).locator('.badge').waitFor({ state: 'hidden' });
    await bob.waitForFunction(() => document.title === 'natter');
    await waitForStatus(alice, 'Hi bob', 'read');
    assert.equal(await message(alice, 'Hi bob').locator('.ticks').getAttribute('aria-label'), 'Read');

    // Presence in the header.
    await alice.locator('.chat-subtitle', { hasText: 'online' }).waitFor();

    // Typing shows on the other side, and goes when the text is cleared.
    const box = bob.getByRole('textbox', { name: 'Message', exact: true });
    await box.pressSequentially('Hel');
    await alice.locator('.typing-line', { hasText: `${users.bob} is typing…` }).waitFor();
    await alice.locator('.conv-item .conv-preview.typing').waitFor();
    await box.fill('');
    await alice.locator('.typing-line', { hasText: 'typing' }).waitFor({ state: 'hidden' });

    await send(bob, 'Hello alice');
    await message(alice, 'Hello alice').waitFor();
    await waitForStatus(bob, 'Hello alice', 'read');
    assert.equal(await messages(alice).count(), 2);
  });

  test('a hidden tab notifies and keeps the message unread until shown', async () => {
    await bob.evaluate(() => window.__setHidden(true));
    await send(alice, 'Are you there?');
    await bob.waitForFunction(() => window.__notes.length === 1);
    const [note] = await bob.evaluate(() => window.__notes);
    assert.deepEqual(note, { title: users.alice, body: 'Are you there?' });
    // On screen but not seen: unread, in the title too, and not read.
    await message(bob, 'Are you there?').waitFor();
    await bob.waitForFunction(() => document.title === '(1) natter');
    await waitForStatus(alice, 'Are you there?', 'delivered');
    await bob.evaluate(() => window.__setHidden(false));
    await bob.waitForFunction(() => document.title === 'natter');
    await waitForStatus(alice, 'Are you there?', 'read');
  });

  test('a group of three, with history paged backwards', async () => {
    carol = await ApiUser.register(users.carol);

    await alice.getByRole('button', { name: 'New group' }).click();
    const dlg = alice.getByRole('dialog');
    await dlg.getByLabel('Group name').fill('Book club');
    await dlg.getByLabel('Members').fill(`${users.bob}, @${users.carol}`);
    await alice.getByRole('button', { name: 'Create group' }).click();
    await alice.locator('.chat-title', { hasText: 'Book club' }).waitFor();
    await alice.locator('.chat-subtitle', { hasText: '3 members' }).waitFor();
    groupId = new URL(alice.url()).hash.split('/')[2];
    await send(alice, 'Meeting Friday');

    for (let i = 1; i <= 60; i += 1) await carol.send(groupId, `carol says ${i}`);

    // Bob: the group with 61 unread. It opens at the first of them, under
    // a "New messages" divider at the top of the view (older pages are
    // fetched until it is loaded), with the senders' names; the messages
    // stay unread until he has scrolled down to the newest.
    await convItem(bob, 'Book club').locator('.badge', { hasText: '61' }).waitFor();
    await bob.waitForFunction(() => document.title === '(61) natter');
    await openConv(bob, 'Book club');
    await message(bob, 'Meeting Friday').waitFor();
    await bob.waitForFunction(() => {
      const d = document.querySelector('.messages .new-divider');
      const next = d?.nextElementSibling;
      const view = document.querySelector('.scroller').getBoundingClientRect();
      const at = d?.getBoundingClientRect();
      return next?.querySelector('.text')?.textContent === 'Meeting Friday' && at.top >= view.top && at.top < view.top + 60;
    });
    assert.equal(await bob.locator('.messages .new-divider').count(), 1);
    await bob.locator('.msg.first .sender', { hasText: users.carol }).first().waitFor();
    assert.equal(await convItem(bob, 'Book club').locator('.badge').textContent(), '61 unread');
    await bob.getByRole('button', { name: 'Jump to latest messages' }).click();
    await message(bob, 'carol says 60').waitFor();
    assert.equal(await message(bob, 'carol says 60').locator('.sender').textContent(), '');
    await convItem(bob, 'Book club').locator('.badge').waitFor({ state: 'hidden' });
    await message(bob, 'carol says 1').waitFor();
    await bob.locator('.messages .system', { hasText: `${users.alice} created the group “Book club”` }).waitFor();
    await bob.locator('.history-status', { hasText: 'beginning of the conversation' }).waitFor();
    await waitForCount(bob, 'carol says 1', 1);
    assert.equal(await messages(bob).count(), 61);

    // Alice asks who read her message: Bob did, Carol did not.
    const mine = message(alice, 'Meeting Friday');
    await mine.locator('.receipt-btn').click();
    await mine.locator('.receipt-pop', { hasText: 'Read by 1 of 2' }).waitFor();
    assert.equal(await status(alice, 'Meeting Friday'), 'sent');
    // Carol reads everything (over the API): read by all, the ticks say so.
    const { last_seq: last } = (await carol.call('GET', `/v1/conversations/${groupId}`)).body;
    const read = await carol.call('POST', `/v1/conversations/${groupId}/receipts`, { kind: 'read', seq: last });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    await waitForStatus(alice, 'Meeting Friday', 'read');

    // The creator adds a member; everyone sees it.
    const dave = await ApiUser.register(name('dave'));
    await alice.getByRole('button', { name: 'Group info' }).click();
    const info = alice.getByRole('dialog', { name: 'Group info' });
    await info.locator('.member').nth(2).waitFor();
    await info.getByLabel('Add members').fill(dave.username);
    await info.getByRole('button', { name: 'Add' }).click();
    await info.locator('.member-name', { hasText: dave.username }).waitFor();
    assert.equal(await info.locator('.member').count(), 4);
    await alice.keyboard.press('Escape');
    await alice.locator('.chat-subtitle', { hasText: '4 members' }).waitFor();
    const added = `${users.alice} added ${dave.username}`;
    await bob.locator('.messages .system', { hasText: added }).waitFor();
    assert.equal((await dave.call('GET', `/v1/conversations/${groupId}`)).body.member_count, 4);
  });

  test('a reload keeps the session and the history; a resync reloads state', async () => {
    await bob.reload();
    await online(bob);
    await convItem(bob, users.alice).waitFor();
    await convItem(bob, 'Book club').waitFor();
    await openConv(bob, users.alice);
    await message(bob, 'Hi bob').waitFor();
    await message(bob, 'Are you there?').waitFor();
    assert.equal(await messages(bob).count(), 3);
    // The presence of the others comes back with the new connection.
    await bob.locator('.chat-subtitle', { hasText: 'online' }).waitFor();

    // A cursor the server cannot serve (a restored backup, say): the
    // client reloads its state and continues from the server's cursor.
    const device = (await sessionOf(bob)).device;
    let resync = null;
    bob.on('websocket', (ws) =>
      ws.on('framereceived', ({ payload }) => {
        if (String(payload).includes('"type":"resync"')) resync = JSON.parse(payload);
      }),
    );
    await bob.evaluate((d) => localStorage.setItem(`natter.cursor.${d}`, '"99999999"'), device);
    await bob.reload();
    await online(bob);
    assert.ok(resync, 'the server asked for a resync');
    await bob.waitForFunction((d) => {
      const c = JSON.parse(localStorage.getItem(`natter.cursor.${d}`));
      return c !== '99999999' && Number(c) > 0;
    }, device);
    await message(bob, 'Hello alice').waitFor();
    await openConv(alice, users.bob);
    await send(alice, 'after the resync');
    await message(bob, 'after the resync').waitFor();
    await waitForStatus(alice, 'after the resync', 'read');
  });

  test('offline: a message waits in the outbox and is delivered once', async () => {
    const text = 'written while offline';
    // Alice is online, and Bob sees it, until his own connection drops:
    // then nobody's presence reaches him, so it shows as unknown.
    const aliceDot = convItem(bob, users.alice).locator('.presence-dot');
    await bob.locator('.chat-subtitle', { hasText: exactly('online') }).waitFor();
    await aliceDot.waitFor({ state: 'visible' });
    await bob.context().setOffline(true);
    await bob.locator('.connection[data-state="offline"]').waitFor();
    await bob.locator('.chat-subtitle', { hasText: 'presence unknown while you are offline' }).waitFor();
    assert.equal(await aliceDot.isVisible(), false, 'no green dot while offline');
    assert.equal(await bob.locator('.chat-head .presence-dot').isVisible(), false);
    await send(bob, text);
    assert.equal(await status(bob, text), 'pending');
    const outbox = () =>
      bob.evaluate(() =>
        Object.entries(localStorage)
          .filter(([k]) => k.startsWith('natter.outbox.'))
          .flatMap(([, v]) => JSON.parse(v)),
      );
    assert.deepEqual(
      (await outbox()).map((e) => e.text),
      [text],
    );

    await bob.context().setOffline(false);
    await online(bob);
    await bob.locator('.chat-subtitle', { hasText: exactly('online') }).waitFor();
    await aliceDot.waitFor({ state: 'visible' });
    await waitForStatus(bob, text, ['sent', 'delivered', 'read']);
    await message(alice, text).waitFor();
    await waitForStatus(bob, text, 'read');
    await waitForCount(alice, text, 1);
    await waitForCount(bob, text, 1);
    const events = await aliceApi.history(directId);
    assert.equal(events.filter((e) => e.text === text).length, 1);
    assert.deepEqual(await outbox(), []);
  });

  test('a server restart loses nothing', async (t) => {
    if (!lines) {
      t.skip('needs the Rust runner (NATTER_CONTROL=stdio) to restart the server');
      return;
    }
    await send(alice, 'before the restart');
    await message(bob, 'before the restart').waitFor();

    await control('stop');
    await alice.locator('.connection:not([data-state="online"])').waitFor();
    await bob.locator('.connection:not([data-state="online"])').waitFor();
    const text = 'written while the server was down';
    await send(alice, text);
    assert.equal(await status(alice, text), 'pending');
    await control('start');

    await online(alice);
    await online(bob);
    await message(bob, text).waitFor();
    await waitForStatus(alice, text, 'read');
    await waitForCount(bob, text, 1);

    await alice.reload();
    await online(alice);
    await openConv(alice, users.bob);
    await message(alice, text).waitFor();
    const expected = [
      'Hi bob',
      'Hello alice',
      'Are you there?',
      'after the resync',
      'written while offline',
      'before the restart',
      text,
    ];
    for (const m of expected) await waitForCount(alice, m, 1);
    const events = await aliceApi.history(directId);
    assert.deepEqual(
      events.filter((e) => e.kind === 'message').map((e) => e.text),
      expected,
    );
  });

  test('addresses in messages are links that open what they show, and nothing else is', async () => {
    const text = 'see https://example.com/a?b=1&c=(2), javascript:alert(1) or mailto:kim@example.com. <a href="javascript:alert(2)">x</a>';
    await send(alice, text);
    await waitForCount(bob, text, 1);
    const links = await message(bob, text)
      .locator('.text a')
      .evaluateAll((as) => as.map((a) => [a.textContent, a.href, a.target, a.rel, a.title]));
    assert.deepEqual(links, [
      ['https://example.com/a?b=1&c=(2)', 'https://example.com/a?b=1&c=(2)', '_blank', 'noopener noreferrer', 'https://example.com/a?b=1&c=(2)'],
      ['mailto:kim@example.com', 'mailto:kim@example.com', '_blank', 'noopener noreferrer', 'mailto:kim@example.com'],
    ]);
    // Around the links, the text is exactly what was written.
    assert.equal(await message(bob, text).locator('.text').textContent(), text);
    // An international address opens its real host, and says so.
    const box = alice.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('https://bücher.example/x');
    await box.press('Enter');
    const [shown, href] = await bob
      .locator('.messages .msg .text a[href^="https://xn--"]')
      .evaluate((a) => [a.textContent, a.href]);
    assert.equal(shown, 'https://xn--bcher-kva.example/x');
    assert.equal(href, shown);
  });

  test('message text is shown as text, never as markup', async () => {
    const bad = ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '<b>bold</b> & "quotes"'];
    for (const text of bad) await send(alice, text);
    for (const text of bad) await waitForCount(bob, text, 1);
    for (const page of [alice, bob]) {
      const texts = await page.locator('.messages .msg .text').evaluateAll((els) => els.map((e) => e.textContent));
      for (const text of bad) assert.ok(texts.includes(text), `${text} shown as text`);
      const markup = page.locator('.messages img, .messages script, .messages b, .conv-list img, .conv-list script, .conv-list b');
      assert.equal(await markup.count(), 0);
    }
    assert.equal(await convItem(alice, users.bob).locator('.conv-preview').textContent(), `You: ${bad[2]}`);
    assert.deepEqual(dialogs, []);
  });

  test('a refused message shows why; Retry resends the same client id; Delete drops it', async () => {
    // An outbox entry the server refuses every time: longer than its limit
    // (the composer checks the default limit, but a server may set a
    // smaller one).
    const clientId = `too-long-${RUN}`;
    const { device } = await sessionOf(alice);
    await alice.evaluate(
      ([d, conv, cid]) =>
        localStorage.setItem(
          `natter.outbox.${d}`,
          JSON.stringify([{ conv, client_id: cid, text: 'x'.repeat(17000), created: Date.now(), state: 'pending' }]),
        ),
      [device, directId, clientId],
    );
    const socket = alice.waitForEvent('websocket');
    await alice.reload();
    const ws = await socket;
    await online(alice);
    const row = alice.locator(`.messages .msg[data-client-id="${clientId}"]`);
    await row.locator('.failed', { hasText: 'Not sent' }).waitFor();
    assert.equal(await row.getAttribute('data-status'), 'failed');

    const resent = ws.waitForEvent('framesent', { predicate: (f) => String(f.payload).includes('"type":"send"') });
    const refused = ws.waitForEvent('framereceived', { predicate: (f) => String(f.payload).includes('message_too_long') });
    await row.getByRole('button', { name: 'Retry' }).click();
    assert.equal(JSON.parse((await resent).payload).client_id, clientId);
    await refused;
    await row.locator('.failed').waitFor();
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await alice.evaluate((d) => localStorage.getItem(`natter.outbox.${d}`), device), '[]');
    const events = await aliceApi.history(directId);
    assert.equal(events.filter((e) => e.client_id === clientId).length, 0);
  });

  test('the composer checks the server’s message limit before sending', async () => {
    // The runner's server allows 12 KiB (the client's own default is 16).
    const box = alice.getByRole('textbox', { name: 'Message', exact: true });
    const before = await messages(alice).count();
    await box.fill('y'.repeat(12 * 1024 + 1));
    await box.press('Enter');
    await alice.locator('.composer-error', { hasText: 'too long (12 KB at most)' }).waitFor();
    assert.equal(await messages(alice).count(), before, 'nothing was sent');
    const longest = `${RUN}-`.padEnd(12 * 1024, 'z');
    await send(alice, longest);
    await waitForCount(bob, longest, 1);
    assert.equal(await alice.locator('.composer-error').textContent(), '');
  });

  test('WebSockets blocked: Server-Sent Events and HTTP instead', async () => {
    // A network whose proxy lets no WebSocket through: the client falls
    // back to SSE for receiving and HTTP for sending, receipts and typing.
    const eve = await newPage();
    const blocked = [];
    await eve.context().routeWebSocket('**/v1/ws', (ws) => {
      blocked.push(ws.url());
      ws.close();
    });
    const streams = [];
    eve.on('request', (r) => {
      if (new URL(r.url()).pathname === '/v1/events') streams.push(r.url());
    });
    const sse = '.connection[data-state="online"][data-transport="sse"]';
    await register(eve, name('eve'));
    await eve.locator(sse).waitFor();
    assert.ok(blocked.length >= 2, 'two WebSockets were tried first');
    assert.equal(streams.length, 1);
    assert.ok(!streams[0].includes('access_token'), 'the token goes in a header, not the URL');

    // Alice's message arrives live; Eve's delivered and read receipts
    // (HTTP) turn her ticks.
    await alice.getByRole('button', { name: 'New chat' }).click();
    await alice.getByRole('dialog').getByLabel('Username').fill(name('eve'));
    await alice.getByRole('button', { name: 'Start chat' }).click();
    await alice.locator('.chat-title', { hasText: name('eve') }).waitFor();
    const convId = new URL(alice.url()).hash.split('/')[2];
    await send(alice, 'Can you hear me?');
    await convItem(eve, users.alice).locator('.badge', { hasText: '1' }).waitFor();
    await waitForStatus(alice, 'Can you hear me?', 'delivered');
    await openConv(eve, users.alice);
    await message(eve, 'Can you hear me?').waitFor();
    await waitForStatus(alice, 'Can you hear me?', 'read');

    // Presence both ways (the open stream keeps Eve online), typing both
    // ways (HTTP out, the stream in).
    await alice.locator('.chat-subtitle', { hasText: 'online' }).waitFor();
    await eve.locator('.chat-subtitle', { hasText: 'online' }).waitFor();
    const eveBox = eve.getByRole('textbox', { name: 'Message', exact: true });
    await eveBox.pressSequentially('Lou');
    await alice.locator('.typing-line', { hasText: `${name('eve')} is typing…` }).waitFor();
    await eveBox.fill('');
    await alice.locator('.typing-line', { hasText: 'typing' }).waitFor({ state: 'hidden' });
    const aliceBox = alice.getByRole('textbox', { name: 'Message', exact: true });
    await aliceBox.pressSequentially('Hm');
    await eve.locator('.typing-line', { hasText: `${users.alice} is typing…` }).waitFor();
    await aliceBox.fill('');
    await eve.locator('.typing-line', { hasText: 'typing' }).waitFor({ state: 'hidden' });

    // Sending over HTTP: received once, read by Alice.
    await send(eve, 'Loud and clear');
    await message(alice, 'Loud and clear').waitFor();
    await waitForStatus(eve, 'Loud and clear', 'read');

    // Offline until the access token has expired (they live 3 s here) and
    // back: the outbox waits, the stream resumes from the cursor with a
    // fresh token, and the message is stored once.
    await eve.context().setOffline(true);
    await eve.locator('.connection[data-state="offline"]').waitFor();
    await send(eve, 'sent after a reconnect');
    assert.equal(await status(eve, 'sent after a reconnect'), 'pending');
    const expired = () => JSON.parse(localStorage.getItem('natter.session')).access_expires_at < Date.now();
    await eve.waitForFunction(expired, null, { polling: 100 });
    const refreshed = eve.waitForResponse((r) => r.url().endsWith('/v1/auth/refresh'));
    await eve.context().setOffline(false);
    assert.equal((await refreshed).status(), 200);
    await eve.locator(sse).waitFor();
    await message(alice, 'sent after a reconnect').waitFor();
    await waitForStatus(eve, 'sent after a reconnect', 'read');
    assert.ok(streams.length >= 2, 'the stream was opened again');
    for (const text of ['Can you hear me?', 'Loud and clear', 'sent after a reconnect']) {
      await waitForCount(alice, text, 1);
      await waitForCount(eve, text, 1);
    }
    const events = await aliceApi.history(convId);
    assert.deepEqual(
      events.filter((e) => e.kind === 'message').map((e) => e.text),
      ['Can you hear me?', 'Loud and clear', 'sent after a reconnect'],
    );

    // A channel subscription made on another device arrives as a
    // `membership` event on the stream: listed, then gone when she leaves.
    const pia = await ApiUser.register(name('pia'));
    const eveApi = await ApiUser.login(name('eve'));
    const news = `Stream news ${RUN}`;
    const channel = (await pia.call('POST', '/v1/conversations', { kind: 'channel', name: news })).body;
    const link = (await pia.call('POST', `/v1/conversations/${channel.id}/invites`, {})).body;
    assert.equal((await eveApi.call('POST', `/v1/invites/${link.token}/join`)).status, 200);
    await convItem(eve, news).locator('.conv-kind').waitFor();
    await pia.send(channel.id, 'Streamed post');
    await convItem(eve, news).locator('.conv-preview', { hasText: exactly('Streamed post') }).waitFor();
    assert.equal((await eveApi.call('POST', `/v1/conversations/${channel.id}/leave`)).status, 200);
    await convItem(eve, news).waitFor({ state: 'detached' });
    await eve.locator(sse).waitFor();
    await eve.context().close();
    await openConv(alice, users.bob);
  });

  test('settings: privacy, devices, sign out', async () => {
    // A second device for bob.
    const bob2 = await newPage();
    await bob2.goto(BASE);
    await bob2.getByLabel('Username').fill(users.bob);
    await bob2.getByLabel('Password').fill(PASSWORD);
    await bob2.getByRole('button', { name: 'Sign in' }).click();
    await online(bob2);

    await bob.getByRole('button', { name: 'Settings' }).click();
    const settings = bob.getByRole('dialog', { name: 'Settings' });
    await settings.locator('.session').nth(1).waitFor();
    assert.equal(await settings.locator('.session').count(), 2);
    await settings.locator('.session.current .tag', { hasText: 'This device' }).waitFor();

    // Hide presence: Alice no longer sees Bob online; show it again.
    await alice.locator('.chat-subtitle', { hasText: 'online' }).waitFor();
    await settings.getByRole('group', { name: /when I am online/ }).getByLabel('Nobody').check();
    await settings.locator('.save-status', { hasText: 'Saved.' }).waitFor();
    await alice.locator('.chat-subtitle', { hasText: 'online' }).waitFor({ state: 'detached' });
    assert.equal(await alice.locator('.chat-subtitle').textContent(), '');
    await settings.getByLabel('Everyone I chat with').check();
    await alice.locator('.chat-subtitle', { hasText: 'online' }).waitFor();
    await settings.getByLabel('Send read receipts').uncheck();
    await settings.locator('.save-status', { hasText: 'Saved.' }).waitFor();

    // Signing out the other device sends it back to the login screen.
    await settings.getByRole('button', { name: 'Sign out all other devices' }).click();
    await settings.locator('.save-status', { hasText: 'Every other device is signed out.' }).waitFor();
    await bob2.locator('.notice', { hasText: 'session has ended' }).waitFor();
    await bob2.getByRole('tab', { name: 'Sign in' }).waitFor();
    assert.equal(await bob2.evaluate(() => localStorage.getItem('natter.session')), null);
    await bob2.context().close();

    // Escape closes the dialog; the settings come back from the server.
    await bob.keyboard.press('Escape');
    await settings.waitFor({ state: 'detached' });
    await bob.getByRole('button', { name: 'Settings' }).click();
    await settings.getByLabel('Everyone I chat with').waitFor();
    assert.equal(await settings.getByLabel('Send read receipts').isChecked(), false);
    assert.equal(await settings.getByLabel('Everyone I chat with').isChecked(), true);
    await settings.getByLabel('Send read receipts').check();
    await settings.locator('.save-status', { hasText: 'Saved.' }).waitFor();

    // Signing out really ends the session; Alice sees Bob's last seen.
    const { refresh_token: refresh } = await sessionOf(bob);
    await settings.getByRole('button', { name: 'Sign out', exact: true }).click();
    await bob.locator('.notice', { hasText: 'You have signed out.' }).waitFor();
    assert.deepEqual(await bob.evaluate(() => Object.keys(localStorage).filter((k) => k !== 'natter.theme')), []);
    const r = await rawHttp('POST', '/v1/auth/refresh', { body: { refresh_token: refresh } });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'session_revoked');
    await alice.locator('.chat-subtitle', { hasText: 'last seen just now' }).waitFor();
  });

  test('an expired access token is refreshed and the request retried', async () => {
    // The token from registration has expired by now (3 s lifetime); make
    // the client believe it is still good, so the server has to say so.
    // (It has, unless this machine is very fast: then this waits for it.)
    await alice.waitForFunction(
      async (token) => (await fetch('/v1/me', { headers: { Authorization: `Bearer ${token}` } })).status === 401,
      firstAliceToken,
      { polling: 100 },
    );
    const expired = [];
    const listener = (r) => {
      if (r.status() === 401 && r.url().includes('/v1/sessions')) expired.push(r.url());
    };
    alice.on('response', listener);
    await alice.evaluate((token) => {
      const s = JSON.parse(localStorage.getItem('natter.session'));
      localStorage.setItem(
        'natter.session',
        JSON.stringify({ ...s, access_token: token, access_expires_at: Date.now() + 3600000 }),
      );
    }, firstAliceToken);
    await alice.getByRole('button', { name: 'Settings' }).click();
    const settings = alice.getByRole('dialog', { name: 'Settings' });
    await settings.locator('.session.current').waitFor();
    alice.off('response', listener);
    assert.equal(expired.length, 1, 'one request met token_expired and was retried');
    assert.notEqual((await sessionOf(alice)).access_token, firstAliceToken);
    await alice.keyboard.press('Escape');
    await settings.waitFor({ state: 'detached' });
  });

  test('keyboard: dialogs open, take focus, and close with Escape', async () => {
    await alice.getByRole('button', { name: 'New chat' }).focus();
    await alice.keyboard.press('Enter');
    const dlg = alice.getByRole('dialog', { name: 'New chat' });
    await dlg.waitFor();
    assert.equal(await alice.evaluate(() => document.activeElement?.closest('dialog') !== null), true);
    await alice.keyboard.type(users.carol);
    await alice.keyboard.press('Enter');
    await alice.locator('.chat-title', { hasText: users.carol }).waitFor();
    // The composer has focus: type and send with Enter.
    await alice.keyboard.type('Hi carol');
    await alice.keyboard.press('Enter');
    await message(alice, 'Hi carol').waitFor();
    await waitForStatus(alice, 'Hi carol', ['sent', 'delivered', 'read']);
    const dm = (await carol.call('GET', '/v1/conversations')).body.conversations.find((c) => c.kind === 'direct');
    assert.equal(dm.last_message.text, 'Hi carol');
    await alice.getByRole('button', { name: 'Settings' }).click();
    await alice.getByRole('dialog', { name: 'Settings' }).waitFor();
    await alice.keyboard.press('Escape');
    await alice.getByRole('dialog').waitFor({ state: 'detached' });
    assert.equal(await alice.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Settings');
  });

  test('themes: a toggle, or follow the system', async () => {
    const theme = () => alice.evaluate(() => document.documentElement.dataset.theme);
    assert.equal(await theme(), 'light');
    await alice.getByRole('button', { name: 'Switch to dark theme' }).click();
    assert.equal(await theme(), 'dark');
    await alice.getByRole('button', { name: 'Switch to light theme' }).click();
    assert.equal(await theme(), 'light');
    await alice.getByRole('button', { name: 'Settings' }).click();
    const settings = alice.getByRole('dialog', { name: 'Settings' });
    await settings.getByLabel('Same as system').check();
    await alice.emulateMedia({ colorScheme: 'dark' });
    await alice.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await alice.emulateMedia({ colorScheme: 'light' });
    await alice.waitForFunction(() => document.documentElement.dataset.theme === 'light');
    await alice.keyboard.press('Escape');
  });

  test('a member added later is told that earlier history is not theirs to see', async () => {
    const olga = await ApiUser.register(name('olga'));
    const pat = await ApiUser.register(name('pat'));
    const liam = await ApiUser.register(name('liam'));
    const group = async (title, members) => {
      const r = await olga.call('POST', '/v1/conversations', { kind: 'group', name: title, members });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id;
    };
    const add = async (conv, user) => {
      const r = await olga.call('POST', `/v1/conversations/${conv}/members`, { users: [user] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    // Added before signing in: the list learns it from the history.
    const earlier = `Plans ${RUN}`;
    const plans = await group(earlier, [pat.id]);
    await olga.send(plans, 'said before liam was added');
    await add(plans, liam.id);
    const page = await newPage();
    await signIn(page, liam.username);
    const preview = (title) => convItem(page, title).locator('.conv-preview');
    await preview(earlier).filter({ hasText: exactly(`${olga.username} added you`) }).waitFor();
    await openConv(page, earlier);
    await page.locator('.messages .system', { hasText: `${olga.username} added you` }).waitFor();
    await page.locator('.history-status', { hasText: 'earlier messages are not visible to you' }).waitFor();
    assert.equal(await page.locator('.history-status', { hasText: 'beginning of the conversation' }).count(), 0);
    assert.equal(await messages(page).count(), 0);

    // Added while signed in: the live event says so at once.
    const later = `Trip ${RUN}`;
    const trip = await group(later, [pat.id]);
    await olga.send(trip, 'also before liam');
    await add(trip, liam.id);
    await preview(later).filter({ hasText: exactly(`${olga.username} added you`) }).waitFor();
    // A group liam was in from the start still says it was created.
    const own = `Start ${RUN}`;
    await group(own, [liam.id]);
    await preview(own).filter({ hasText: exactly('Group created') }).waitFor();
    await openConv(page, own);
    await page.locator('.history-status', { hasText: 'beginning of the conversation' }).waitFor();
    await page.context().close();
  });

  test('message requests: shown apart, blocked, unblocked in settings, accepted', async () => {
    const mia = await newPage();
    const noah = await newPage();
    const miaName = name('mia');
    const noahName = name('noah');
    await register(mia, miaName);
    await register(noah, noahName);
    const miaApi = await ApiUser.login(miaName);

    // Noah writes to Mia, whom he has never talked to.
    await noah.getByRole('button', { name: 'New chat' }).click();
    await noah.getByRole('dialog').getByLabel('Username').fill(miaName);
    await noah.getByRole('button', { name: 'Start chat' }).click();
    await noah.locator('.chat-title', { hasText: miaName }).waitFor();
    const conv = new URL(noah.url()).hash.split('/')[2];
    await send(noah, 'Hi, noah here');

    // Mia sees it under "Message requests", not among her chats.
    const requests = mia.getByRole('region', { name: /^Message requests/ });
    await requests.locator('.conv-item', { hasText: noahName }).waitFor();
    await requests.getByRole('heading', { name: 'Message requests (1)' }).waitFor();
    assert.equal(await mia.locator('.conv-list:not(.request-list) .conv-item').count(), 0);
    await openConv(mia, noahName);
    await message(mia, 'Hi, noah here').waitFor();
    const bar = mia.getByRole('region', { name: 'Message request', exact: true });
    await bar.getByText(`${noahName} wants to message you.`).waitFor();

    // She blocks him: the composer gives way to Unblock, and his next
    // message is refused with the reason.
    await bar.getByRole('button', { name: 'Block' }).click();
    const blocked = mia.getByRole('region', { name: 'Blocked', exact: true });
    await blocked.getByText(`You blocked ${noahName}.`).waitFor();
    await bar.waitFor({ state: 'hidden' });
    assert.equal(await mia.getByRole('textbox', { name: 'Message', exact: true }).isVisible(), false);
    const box = noah.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('still there?');
    await box.press('Enter');
    const refused = message(noah, 'still there?');
    await refused.locator('.failed', { hasText: `Not sent: ${miaName} is not accepting your messages (blocked).` }).waitFor();
    assert.equal(await refused.getAttribute('data-status'), 'failed');
    assert.equal((await miaApi.history(conv)).filter((e) => e.text === 'still there?').length, 0);

    // The block is listed in her settings, and lifted there.
    await mia.getByRole('button', { name: 'Settings' }).click();
    const settings = mia.getByRole('dialog', { name: 'Settings' });
    const row = settings.locator('.blocked-user', { hasText: noahName });
    await row.waitFor();
    await row.getByRole('button', { name: `Unblock ${noahName}` }).click();
    await settings.getByText(`Unblocked ${noahName}.`).waitFor();
    await settings.getByText('You have not blocked anyone.').waitFor();
    assert.equal((await miaApi.call('GET', '/v1/blocks')).body.blocks.length, 0);
    await mia.keyboard.press('Escape');
    await settings.waitFor({ state: 'detached' });

    // Still a request; Noah's Retry now goes through.
    await bar.getByText(`${noahName} wants to message you.`).waitFor();
    await refused.getByRole('button', { name: 'Retry' }).click();
    await message(mia, 'still there?').waitFor();
    await waitForStatus(noah, 'still there?', 'read');

    // Accept: an ordinary chat, on the server too, and after a reload.
    await bar.getByRole('button', { name: 'Accept' }).click();
    await bar.waitFor({ state: 'hidden' });
    await requests.waitFor({ state: 'hidden' });
    await mia.locator('.conv-list:not(.request-list) .conv-item', { hasText: noahName }).waitFor();
    assert.equal((await miaApi.call('GET', `/v1/conversations/${conv}`)).body.request, false);
    assert.equal(await mia.getByRole('textbox', { name: 'Message', exact: true }).isVisible(), true);
    await mia.reload();
    await online(mia);
    await openConv(mia, noahName);
    await message(mia, 'still there?').waitFor();
    assert.equal(await requests.isVisible(), false);
    assert.equal(await bar.isVisible(), false);

    // Block and unblock from the conversation's menu.
    await mia.getByRole('button', { name: 'More options' }).click();
    await mia.getByRole('menuitem', { name: `Block ${noahName}` }).click();
    await blocked.getByText(`You blocked ${noahName}.`).waitFor();
    assert.deepEqual(
      (await miaApi.call('GET', '/v1/blocks')).body.blocks.map((b) => b.user.username),
      [noahName],
    );
    await mia.getByRole('button', { name: 'More options' }).click();
    await mia.getByRole('menuitem', { name: `Unblock ${noahName}` }).click();
    await blocked.waitFor({ state: 'hidden' });
    await mia.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    await send(mia, 'welcome, noah');
    await message(noah, 'welcome, noah').waitFor();
    await mia.context().close();
    await noah.context().close();
  });

  test('leaving a group: the others see who left, the leaver loses it on every device, the owner is told why not', async () => {
    const gwenName = name('gwen');
    const halName = name('hugo');
    const gwen = await newPage();
    const hal = await newPage();
    await register(gwen, gwenName);
    await register(hal, halName);
    const halPhone = await newPage(); // Hal's second device
    await signIn(halPhone, halName);
    const gwenApi = await ApiUser.login(gwenName);
    const halApi = await ApiUser.login(halName);
    const ivy = await ApiUser.register(name('iris'));
    const title = `Knitting ${RUN}`;
    const group = (
      await gwenApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [halApi.id, ivy.id] })
    ).body;
    await ivy.send(group.id, 'Wool or cotton?');

    await openConv(gwen, title);
    await message(gwen, 'Wool or cotton?').waitFor();
    await gwen.locator('.chat-subtitle', { hasText: /^3 members/ }).waitFor();
    await openConv(hal, title);
    await message(hal, 'Wool or cotton?').waitFor();
    await convItem(halPhone, title).waitFor();

    // Hal leaves from the conversation's menu, after confirming.
    await hal.getByRole('button', { name: 'More options' }).click();
    await hal.getByRole('menuitem', { name: 'Leave group' }).click();
    const confirm = hal.getByRole('dialog', { name: 'Leave group?' });
    await confirm.getByText(`You will leave “${title}”`).waitFor();
    await confirm.getByRole('button', { name: 'Leave group' }).click();
    await confirm.waitFor({ state: 'detached' });
    // Gone from his list and closed, here and on his other device.
    await convItem(hal, title).waitFor({ state: 'detached' });
    await hal.getByRole('heading', { name: 'Welcome to natter' }).waitFor();
    assert.equal(new URL(hal.url()).hash, '#/');
    await convItem(halPhone, title).waitFor({ state: 'detached' });

    // The others see that he left, and the count drops.
    await gwen.locator('.messages .system', { hasText: exactly(`${halName} left`) }).waitFor();
    await gwen.locator('.chat-subtitle', { hasText: /^2 members/ }).waitFor();
    const members = (await gwenApi.call('GET', `/v1/conversations/${group.id}/members`)).body.members;
    assert.deepEqual(members.map((m) => m.username).sort(), [gwenName, ivy.username].sort());
    assert.equal((await halApi.call('GET', `/v1/conversations/${group.id}`)).status, 403);

    // Still gone after a reload.
    await hal.reload();
    await online(hal);
    await hal.getByText('No conversations yet.').waitFor();
    assert.equal(await convItem(hal, title).count(), 0);

    // The owner may not leave while others remain: the server's reason
    // is shown, and nothing changes.
    await gwen.getByRole('button', { name: 'More options' }).click();
    await gwen.getByRole('menuitem', { name: 'Leave group' }).click();
    const refuse = gwen.getByRole('dialog', { name: 'Leave group?' });
    await refuse.getByRole('button', { name: 'Leave group' }).click();
    await refuse.getByRole('alert').filter({ hasText: /owner cannot leave while others remain/ }).waitFor();
    await refuse.getByRole('button', { name: 'Cancel' }).click();
    await refuse.waitFor({ state: 'detached' });
    await convItem(gwen, title).waitFor();
    assert.equal((await gwenApi.call('GET', `/v1/conversations/${group.id}`)).status, 200);
    for (const p of [gwen, hal, halPhone]) await p.context().close();
  });

  test('group roles: the owner promotes an admin, who removes a member; bans; ownership handed over, then the old owner leaves', async () => {
    const [oliveName, adamName, miaName] = [name('olive'), name('adam'), name('mina')];
    const olive = await newPage();
    const adam = await newPage();
    const mia = await newPage();
    await register(olive, oliveName);
    await register(adam, adamName);
    await register(mia, miaName);
    const oliveApi = await ApiUser.login(oliveName);
    const adamApi = await ApiUser.login(adamName);
    const miaApi = await ApiUser.login(miaName);
    const bart = await ApiUser.register(name('bart'));
    const title = `Club ${RUN}`;
    const group = (
      await oliveApi.call('POST', '/v1/conversations', {
        kind: 'group',
        name: title,
        members: [adamApi.id, miaApi.id, bart.id],
      })
    ).body;
    await bart.send(group.id, 'Hello club');
    for (const p of [olive, adam, mia]) {
      await openConv(p, title);
      await message(p, 'Hello club').waitFor();
    }
    const panelOf = (p) => p.getByRole('dialog', { name: 'Group info' });
    const row = (panel, id) => panel.locator(`.member[data-user="${id}"]`);
    const badge = (panel, id, text) => row(panel, id).locator('.member-role', { hasText: exactly(text) });
    const system = (p, text) => p.locator('.messages .system', { hasText: exactly(text) });
    const openInfo = async (p) => {
      await p.getByRole('button', { name: 'More options' }).click();
      await p.getByRole('menuitem', { name: 'Group info' }).click();
      await panelOf(p).waitFor();
    };
    const choose = async (p, who, action) => {
      await panelOf(p).getByRole('button', { name: `Actions for ${who}` }).click();
      await p.getByRole('menuitem', { name: action }).click();
    };

    // The owner's panel: the group, the count, her role, everyone with
    // their badge and presence.
    await openInfo(olive);
    const info = panelOf(olive);
    await info.locator('.dialog-sub', { hasText: exactly(title) }).waitFor();
    await info.locator('.group-summary', { hasText: exactly('4 members · You are the owner') }).waitFor();
    await row(info, bart.id).waitFor();
    assert.equal(await info.locator('.member').count(), 4);
    await badge(info, oliveApi.id, 'Owner').waitFor();
    assert.equal(await row(info, adamApi.id).locator('.member-role').isVisible(), false);
    await row(info, adamApi.id).locator('.presence-dot').waitFor();
    await row(info, adamApi.id).locator('.member-presence', { hasText: 'online' }).waitFor();
    await info.getByRole('region', { name: 'Banned' }).getByText('Nobody is banned.').waitFor();

    // She makes Adam an admin: the badge changes, everyone is told.
    await choose(olive, adamName, 'Make admin');
    await badge(info, adamApi.id, 'Admin').waitFor();
    await system(mia, `${oliveName} made ${adamName} admin`).waitFor();
    await system(adam, `${oliveName} made you admin`).waitFor();

    // The admin may remove and ban members, not change roles, and cannot
    // act on the owner.
    await openInfo(adam);
    const adamInfo = panelOf(adam);
    await adamInfo.locator('.group-summary', { hasText: exactly('4 members · You are the admin') }).waitFor();
    await row(adamInfo, oliveApi.id).waitFor();
    assert.equal(await adamInfo.getByRole('button', { name: `Actions for ${oliveName}` }).count(), 0);
    await adamInfo.getByRole('button', { name: `Actions for ${miaName}` }).click();
    await adam.getByRole('menuitem').first().waitFor();
    assert.deepEqual(await adam.getByRole('menuitem').allTextContents(), ['Remove', 'Ban']);
    await adam.getByRole('menuitem', { name: 'Remove' }).click();
    const remove = adam.getByRole('dialog', { name: `Remove ${miaName}?` });
    await remove.getByRole('button', { name: 'Remove' }).click();
    await remove.waitFor({ state: 'detached' });
    await row(adamInfo, miaApi.id).waitFor({ state: 'detached' });
    await adamInfo.locator('.group-summary', { hasText: exactly('3 members · You are the admin') }).waitFor();
    // Mia's open browser loses the group at once, and she is told.
    await convItem(mia, title).waitFor({ state: 'detached' });
    await mia.getByRole('heading', { name: 'Welcome to natter' }).waitFor();
    await mia.locator('.toast', { hasText: `You were removed from ${title}` }).waitFor();
    await mia.getByRole('button', { name: 'Dismiss' }).click();
    await mia.locator('.toast').waitFor({ state: 'hidden' });
    await system(olive, `${adamName} removed ${miaName}`).waitFor();
    await row(info, miaApi.id).waitFor({ state: 'detached' });
    assert.equal((await miaApi.call('GET', `/v1/conversations/${group.id}`)).status, 403);
    await adam.keyboard.press('Escape');
    await adamInfo.waitFor({ state: 'detached' });

    // The owner bans Bart: he is out, and listed as banned.
    await choose(olive, bart.username, 'Ban');
    const ban = olive.getByRole('dialog', { name: `Ban ${bart.username}?` });
    await ban.getByRole('button', { name: 'Ban' }).click();
    await ban.waitFor({ state: 'detached' });
    await row(info, bart.id).waitFor({ state: 'detached' });
    const banned = info.getByRole('region', { name: 'Banned' });
    await banned.locator('.ban-row', { hasText: bart.username }).waitFor();
    await system(adam, `${oliveName} banned ${bart.username}`).waitFor();

    // He cannot be added back: the server's refusal is shown.
    await info.getByLabel('Add members').fill(bart.username);
    await info.getByRole('button', { name: 'Add', exact: true }).click();
    await info.getByRole('alert').filter({ hasText: 'A user you named is banned from this group' }).waitFor();
    assert.equal(await info.locator('.member').count(), 2);

    // Unbanned, he can be.
    await banned.getByRole('button', { name: `Unban ${bart.username}` }).click();
    await banned.getByText('Nobody is banned.').waitFor();
    await system(adam, `${oliveName} unbanned ${bart.username}`).waitFor();
    await info.getByLabel('Add members').fill(bart.username);
    await info.getByRole('button', { name: 'Add', exact: true }).click();
    await row(info, bart.id).waitFor();
    await info.locator('.group-summary', { hasText: exactly('3 members · You are the owner') }).waitFor();

    // She hands the group to Adam, after confirming, and becomes an admin.
    await choose(olive, adamName, 'Transfer ownership');
    const transfer = olive.getByRole('dialog', { name: 'Transfer ownership?' });
    await transfer.getByText(`${adamName} will own “${title}”`).waitFor();
    await transfer.getByRole('button', { name: 'Transfer ownership' }).click();
    await transfer.waitFor({ state: 'detached' });
    await badge(info, adamApi.id, 'Owner').waitFor();
    await badge(info, oliveApi.id, 'Admin').waitFor();
    await info.locator('.group-summary', { hasText: exactly('3 members · You are the admin') }).waitFor();
    assert.equal(await info.getByRole('button', { name: `Actions for ${adamName}` }).count(), 0);
    await system(olive, `You made ${adamName} the owner`).waitFor();
    await system(adam, `${oliveName} made you the owner`).waitFor();

    // Now she may leave.
    await olive.keyboard.press('Escape');
    await info.waitFor({ state: 'detached' });
    await olive.getByRole('button', { name: 'More options' }).click();
    await olive.getByRole('menuitem', { name: 'Leave group' }).click();
    const leave = olive.getByRole('dialog', { name: 'Leave group?' });
    await leave.getByRole('button', { name: 'Leave group' }).click();
    await leave.waitFor({ state: 'detached' });
    await convItem(olive, title).waitFor({ state: 'detached' });
    await system(adam, `${oliveName} left`).waitFor();
    const members = (await adamApi.call('GET', `/v1/conversations/${group.id}/members`)).body.members;
    assert.deepEqual(
      members.map((x) => [x.username, x.role]),
      [
        [adamName, 'owner'],
        [bart.username, 'member'],
      ],
    );
    for (const p of [olive, adam, mia]) await p.context().close();
  });

  test('the group info panel lists a big group a page at a time', async () => {
    const ownerName = name('quinn');
    const page = await newPage();
    await register(page, ownerName);
    const owner = await ApiUser.login(ownerName);
    // 55 others: more than one page of the panel (50).
    const others = [];
    for (let i = 0; i < 55; i += 5) {
      others.push(...(await Promise.all(Array.from({ length: 5 }, (_, k) => ApiUser.register(name(`crowd${i + k}`))))));
    }
    const title = `Crowd ${RUN}`;
    const r = await owner.call('POST', '/v1/conversations', { kind: 'group', name: title, members: others.map((u) => u.id) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await openConv(page, title);
    await page.getByRole('button', { name: 'Group info' }).click();
    const info = page.getByRole('dialog', { name: 'Group info' });
    await info.locator('.group-summary', { hasText: exactly('56 members · You are the owner') }).waitFor();
    await info.locator('.member').nth(49).waitFor();
    assert.equal(await info.locator('.member').count(), 50);
    await info.getByRole('button', { name: 'Show more' }).click();
    await info.locator('.member').nth(55).waitFor();
    await info.getByRole('button', { name: 'Show more' }).waitFor({ state: 'hidden' });
    assert.equal(await info.locator('.member').count(), 56);
    // Everyone once, whichever page they came in.
    const shown = await info.locator('.member').evaluateAll((els) => els.map((e) => e.dataset.user));
    assert.deepEqual([...shown].sort(), [owner.id, ...others.map((u) => u.id)].sort());
    await page.context().close();
  });

  test('group settings: the owner renames, describes and opens the history; every member sees it at once', async () => {
    const [ownerName, memberName] = [name('greta'), name('hanno')];
    const owner = await newPage();
    const member = await newPage();
    await register(owner, ownerName);
    await register(member, memberName);
    const ownerApi = await ApiUser.login(ownerName);
    const memberApi = await ApiUser.login(memberName);
    const title = `Reading ${RUN}`;
    const group = (await ownerApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [memberApi.id] })).body;
    await ownerApi.send(group.id, 'Welcome');
    for (const p of [owner, member]) {
      await openConv(p, title);
      await message(p, 'Welcome').waitFor();
    }
    const panelOf = (p) => p.getByRole('dialog', { name: 'Group info' });
    const system = (p, text) => p.locator('.messages .system', { hasText: exactly(text) });

    // A member's panel shows the settings, and no form to change them.
    await member.getByRole('button', { name: 'Group info' }).click();
    const seen = panelOf(member);
    await seen.locator('.group-history', { hasText: exactly('New members can read only from when they join.') }).waitFor();
    assert.equal(await seen.getByRole('region', { name: 'Settings' }).count(), 0);

    // The owner renames the group.
    await owner.getByRole('button', { name: 'Group info' }).click();
    const panel = panelOf(owner);
    const settings = panel.getByRole('region', { name: 'Settings' });
    const saved = settings.getByRole('status').filter({ hasText: 'Saved.' });
    const renamed = `Readers ${RUN}`;
    await settings.getByLabel('Group name').fill(renamed);
    await settings.getByRole('button', { name: 'Save' }).click();
    await saved.waitFor();
    await system(owner, `You renamed the group to ${renamed}`).waitFor();
    await system(member, `${ownerName} renamed the group to ${renamed}`).waitFor();
    for (const p of [owner, member]) {
      await p.locator('.chat-title', { hasText: exactly(renamed) }).waitFor();
      await convItem(p, renamed).waitFor();
      await panelOf(p).locator('.dialog-sub', { hasText: exactly(renamed) }).waitFor();
    }
    assert.equal(await convItem(member, title).count(), 0);

    // A description of two lines: the first under the title, all of it in
    // the panel, for everyone.
    await settings.getByLabel('Description').fill('We read.\nThen we talk.');
    await settings.getByRole('button', { name: 'Save' }).click();
    await system(member, `${ownerName} changed the description`).waitFor();
    await member.locator('.chat-description', { hasText: 'We read.' }).waitFor();
    await seen.locator('.group-description', { hasText: 'Then we talk.' }).waitFor();
    assert.equal(await seen.locator('.group-description').innerText(), 'We read.\nThen we talk.');
    await panel.locator('.group-description', { hasText: 'Then we talk.' }).waitFor();

    // What new members can read: the last 30 days, then all history.
    await settings.getByLabel('Number of days').fill('30');
    assert.equal(await settings.getByLabel('The last days before they join').isChecked(), true);
    await settings.getByRole('button', { name: 'Save' }).click();
    await system(member, `${ownerName} changed what new members can read`).waitFor();
    await seen.locator('.group-history', { hasText: exactly('New members can read the last 30 days before they join.') }).waitFor();
    await settings.getByLabel('All history').check();
    await settings.getByRole('button', { name: 'Save' }).click();
    await seen.locator('.group-history', { hasText: exactly('New members can read all history.') }).waitFor();
    const info = (await memberApi.call('GET', `/v1/conversations/${group.id}`)).body;
    assert.deepEqual([info.name, info.description, info.history], [renamed, 'We read.\nThen we talk.', { visible: 'all' }]);

    // The server's refusal is shown with its message, and nothing changes.
    await settings.getByLabel('Group name').fill(`Bad \u202e name`);
    await settings.getByRole('button', { name: 'Save' }).click();
    await settings.getByRole('alert').filter({ hasText: 'Group names have 1 to 128 characters' }).waitFor();
    assert.equal((await memberApi.call('GET', `/v1/conversations/${group.id}`)).body.name, renamed);
    await member.locator('.chat-title', { hasText: exactly(renamed) }).waitFor();

    // The description shows on a reload too (from the conversation list).
    await member.reload();
    await online(member);
    await openConv(member, renamed);
    await member.locator('.chat-description', { hasText: 'We read.' }).waitFor();
    for (const p of [owner, member]) await p.context().close();
  });

  test('invite links: a link for one use is previewed and joined, then used up; a revoked link no longer works', async () => {
    const [ownerName, joinerName, lateName] = [name('inez'), name('joost'), name('kai')];
    const owner = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
    const joiner = await newPage();
    await register(owner, ownerName);
    await register(joiner, joinerName);
    const ownerApi = await ApiUser.login(ownerName);
    const title = `Hikers ${RUN}`;
    const created = await ownerApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const group = created.body;
    const described = await ownerApi.call('PATCH', `/v1/conversations/${group.id}`, { description: 'We walk.\nOn Sundays.' });
    assert.equal(described.status, 200, JSON.stringify(described.body));
    await ownerApi.send(group.id, 'Trail at nine');
    await openConv(owner, title);
    await message(owner, 'Trail at nine').waitFor();
    const system = (p, text) => p.locator('.messages .system', { hasText: exactly(text) });
    const gone = 'No such invite link, or it expired, was revoked or was used up';

    // The owner makes a link for one use; the server's refusal of a bad
    // limit is shown with its message.
    await owner.getByRole('button', { name: 'Group info' }).click();
    const panel = owner.getByRole('dialog', { name: 'Group info' });
    const links = panel.getByRole('region', { name: 'Invite links' });
    await links.getByText('No invite links yet.').waitFor();
    await links.getByLabel('Maximum uses').fill('100001');
    await links.getByRole('button', { name: 'Create link' }).click();
    await links.getByRole('alert').filter({ hasText: /max_uses is 1 to 100000/i }).waitFor();
    assert.equal(await links.locator('.invite').count(), 0);
    await links.getByLabel('Maximum uses').fill('1');
    await links.getByRole('button', { name: 'Create link' }).click();
    const first = links.locator('.invite').first();
    await first.locator('.invite-meta', { hasText: exactly('0 / 1 uses · never expires') }).waitFor();
    const url = await first.locator('.invite-url').innerText();
    assert.match(url, new RegExp(`^${new URL(BASE).origin.replace(/[.]/g, '\\.')}/#/join/[A-Za-z0-9_-]{22}$`));
    await first.getByRole('button', { name: 'Copy' }).click();
    await links.getByRole('status').filter({ hasText: 'Link copied.' }).waitFor();
    assert.equal(await owner.evaluate(() => navigator.clipboard.readText()), url);

    // A second user opens it: the preview, then Join lands them in the group.
    await joiner.goto(url);
    const joinPage = joiner.getByRole('region', { name: title });
    await joinPage.getByText('You are invited to join this group.').waitFor();
    await joinPage.locator('.join-description', { hasText: 'On Sundays.' }).waitFor();
    await joinPage.getByText(exactly('1 member')).waitFor();
    await joinPage.getByRole('button', { name: 'Join' }).click();
    await joiner.locator('.chat-title', { hasText: exactly(title) }).waitFor();
    assert.equal(new URL(joiner.url()).hash, `#/c/${group.id}`);
    await system(joiner, 'You joined with a link').waitFor();
    await convItem(joiner, title).waitFor();
    await send(joiner, 'Hello hikers');

    // The owner sees who joined, and the use counted.
    await system(owner, `${joinerName} joined with a link`).waitFor();
    await message(owner, 'Hello hikers').waitFor();
    await first.locator('.invite-meta', { hasText: exactly('1 / 1 uses · never expires · used up') }).waitFor();
    await panel.locator('.group-summary', { hasText: /^2 members/ }).waitFor();
    await panel.locator('.member', { hasText: joinerName }).waitFor();

    // A third user, signed out, opens the used-up link: after signing up,
    // the join page says it no longer works.
    const late = await newPage();
    await late.goto(url);
    await late.getByText('Sign in or create an account to open the invite link.').waitFor();
    await late.getByRole('tab', { name: 'Create account' }).click();
    await late.getByLabel('Username').fill(lateName);
    await late.getByLabel('Password').fill(PASSWORD);
    await late.getByRole('button', { name: 'Create account' }).click();
    const lateJoin = late.getByRole('region', { name: 'This invite link does not work' });
    await lateJoin.getByRole('alert').filter({ hasText: exactly(gone) }).waitFor();
    assert.equal(await lateJoin.getByRole('button', { name: 'Join' }).count(), 0);
    assert.equal(await convItem(late, title).count(), 0);

    // A link for a day, revoked after asking: it goes from the list and
    // no longer works.
    await links.getByLabel('Expires after').selectOption({ label: '1 day' });
    await links.getByRole('button', { name: 'Create link' }).click();
    const second = links.locator('.invite').first();
    await second.locator('.invite-meta', { hasText: /^0 uses · expires / }).waitFor();
    const revokedUrl = await second.locator('.invite-url').innerText();
    assert.notEqual(revokedUrl, url);
    // A member opening it: Open instead of Join.
    await joiner.goto(revokedUrl);
    await joinPage.getByText('You are a member of this group.').waitFor();
    await joinPage.getByText(exactly('2 members')).waitFor();
    await joinPage.getByRole('button', { name: 'Open' }).click();
    await joiner.locator('.chat-title', { hasText: exactly(title) }).waitFor();
    await late.goto(revokedUrl);
    const lateInvited = late.getByRole('region', { name: title });
    await lateInvited.getByRole('button', { name: 'Join' }).waitFor();
    await second.getByRole('button', { name: 'Revoke' }).click();
    const confirm = owner.getByRole('dialog', { name: 'Revoke this link?' });
    await confirm.getByRole('button', { name: 'Revoke' }).click();
    await confirm.waitFor({ state: 'detached' });
    await links.locator('.invite').filter({ hasText: revokedUrl }).waitFor({ state: 'detached' });
    assert.equal(await links.locator('.invite').count(), 1);
    await lateInvited.getByRole('button', { name: 'Join' }).click();
    await lateJoin.getByRole('alert').filter({ hasText: exactly(gone) }).waitFor();
    await late.reload();
    await lateJoin.getByRole('alert').filter({ hasText: exactly(gone) }).waitFor();
    const members = (await ownerApi.call('GET', `/v1/conversations/${group.id}/members`)).body.members;
    assert.deepEqual(members.map((m) => m.username).sort(), [joinerName, ownerName].sort());
    for (const p of [owner, joiner, late]) await p.context().close();
  });

  test('broadcast channels: made in the UI and shared by link; a subscriber reads live but cannot post, his read counts as a view, he leaves, rejoins and is removed', async () => {
    const [ownerName, readerName] = [name('nadia'), name('otto')];
    const owner = await newPage();
    const reader = await newPage({ hiddenTab: true });
    await register(owner, ownerName);
    await register(reader, readerName);
    const readerPhone = await newPage(); // the reader's second device
    await signIn(readerPhone, readerName);
    const ownerApi = await ApiUser.login(ownerName);
    const title = `Release notes ${RUN}`;
    const found = [];

    // The owner makes a channel from the sidebar: marked as one in the
    // list and the header.
    await owner.getByRole('button', { name: 'New channel' }).click();
    const create = owner.getByRole('dialog', { name: 'New channel' });
    await create.getByLabel('Channel name').fill(title);
    await create.getByLabel('Description (optional)').fill('What shipped.\nAnd when.');
    found.push(...(await axe(owner, 'new channel dialog')));
    await create.getByRole('button', { name: 'Create channel' }).click();
    await create.waitFor({ state: 'detached' });
    await owner.locator('.chat-title', { hasText: exactly(title) }).waitFor();
    await owner.locator('.chat-subtitle', { hasText: exactly('Channel · 1 subscriber') }).waitFor();
    await owner.locator('.chat-description', { hasText: 'What shipped.' }).waitFor();
    await owner.locator('.messages .system', { hasText: exactly(`You created the channel “${title}”`) }).waitFor();
    await convItem(owner, title).locator('.conv-kind').waitFor();
    await convItem(owner, title).locator('.conv-preview', { hasText: exactly('No posts yet') }).waitFor();
    const channelId = new URL(owner.url()).hash.split('/')[2];

    // An invite link from the channel's info panel.
    await owner.getByRole('button', { name: 'Channel info' }).click();
    let panel = owner.getByRole('dialog', { name: 'Channel info' });
    await panel.locator('.group-summary', { hasText: exactly('1 subscriber · You are the owner') }).waitFor();
    await panel.locator('.member', { hasText: `${ownerName} (you)` }).waitFor();
    const links = panel.getByRole('region', { name: 'Invite links' });
    await links.getByText('No invite links yet.').waitFor();
    await links.getByRole('button', { name: 'Create link' }).click();
    const url = await links.locator('.invite-url').first().innerText();
    await owner.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });

    // The reader opens it (the join page says it is a channel) and joins:
    // the channel opens with a notice where the composer would be, and no
    // text box at all.
    await reader.goto(url);
    const invited = reader.getByRole('region', { name: title });
    await invited.getByText('You are invited to join this channel.').waitFor();
    await invited.getByText(exactly('1 subscriber')).waitFor();
    await invited.getByRole('button', { name: 'Join' }).click();
    await reader.locator('.chat-title', { hasText: exactly(title) }).waitFor();
    assert.equal(new URL(reader.url()).hash, `#/c/${channelId}`);
    await reader.locator('.chat-subtitle', { hasText: exactly('Channel · 2 subscribers') }).waitFor();
    await reader.getByText('Only admins can post in this channel.').waitFor();
    await reader.getByText('This is the beginning of the conversation.').waitFor();
    assert.equal(await reader.getByRole('textbox').count(), 0);
    assert.equal(await reader.locator('textarea').count(), 0);
    await convItem(reader, title).locator('.conv-kind').waitFor();
    // His other device hears of it from the membership entry in his log.
    await convItem(readerPhone, title).waitFor();

    // He looks away; the owner posts: it arrives live on both his devices,
    // unread for now.
    await reader.evaluate(() => window.__setHidden(true));
    await send(owner, 'Version 2 is out');
    await message(reader, 'Version 2 is out').waitFor();
    await convItem(readerPhone, title).locator('.conv-preview', { hasText: exactly('Version 2 is out') }).waitFor();
    const phoneBadge = convItem(readerPhone, title).locator('.badge');
    await phoneBadge.filter({ hasText: '1' }).waitFor();
    // The owner's post has views (at most the owner's own so far), and no
    // per-reader ticks.
    const post = message(owner, 'Version 2 is out');
    await post.locator('.views').waitFor();
    assert.ok(Number(await post.getAttribute('data-views')) <= 1);
    assert.equal(await post.locator('.receipt-btn').count(), 0);

    // He reads it (his other device sees his read come back from the
    // server), and the owner's next post brings the counts again: he is a
    // view.
    await reader.evaluate(() => window.__setHidden(false));
    await phoneBadge.waitFor({ state: 'hidden' });
    await send(owner, 'Changelog to follow');
    await post.locator('.views-count', { hasText: exactly('2') }).waitFor();
    assert.equal(await post.locator('.views').getAttribute('title'), '2 views');
    await message(reader, 'Changelog to follow').waitFor();
    await message(reader, 'Version 2 is out').locator('.views').waitFor();
    const views = await ownerApi.call('GET', `/v1/conversations/${channelId}/views?from=1&to=10`);
    assert.equal(views.status, 200, JSON.stringify(views.body));
    assert.equal(views.body.views.length, 2, 'one count for each post, none for the created event');
    assert.equal(views.body.views[0].views, 2, 'the server counts the same');
    found.push(...(await axe(owner, 'channel, as its owner, with views')));

    // Staff see the members; the roles to give are admin, moderator and
    // subscriber. A moderator posts: his composer comes and goes with it.
    await owner.getByRole('button', { name: 'Channel info' }).click();
    panel = owner.getByRole('dialog', { name: 'Channel info' });
    await panel.locator('.member', { hasText: readerName }).waitFor();
    await panel.getByRole('button', { name: `Actions for ${readerName}` }).click();
    const roles = await owner.getByRole('menuitem').allInnerTexts();
    assert.deepEqual(roles.filter((r) => r.startsWith('Make')), ['Make admin', 'Make moderator']);
    found.push(...(await axe(owner, 'channel info, as its owner, with a member’s actions')));
    await owner.getByRole('menuitem', { name: 'Make moderator' }).click();
    await reader.getByRole('textbox', { name: 'Message', exact: true }).waitFor();
    await panel.locator('.member', { hasText: readerName }).locator('.member-role', { hasText: 'Moderator' }).waitFor();
    await panel.getByRole('button', { name: `Actions for ${readerName}` }).click();
    await owner.getByRole('menuitem', { name: 'Make subscriber' }).click();
    await reader.getByText('Only admins can post in this channel.').waitFor();
    assert.equal(await reader.locator('textarea').count(), 0);
    await owner.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });

    // His info panel: no member list (the server shows a subscriber none),
    // the count, and Leave channel.
    found.push(...(await axe(reader, 'channel, as a subscriber')));
    await reader.getByRole('button', { name: 'Channel info' }).click();
    const mine = reader.getByRole('dialog', { name: 'Channel info' });
    await mine.locator('.group-summary', { hasText: exactly('2 subscribers · You are a subscriber') }).waitFor();
    assert.equal(await mine.locator('.member').count(), 0);
    assert.equal(await mine.getByRole('region', { name: 'Invite links' }).count(), 0);
    found.push(...(await axe(reader, 'channel info, as a subscriber')));
    await mine.getByRole('button', { name: 'Leave channel' }).click();
    const confirm = reader.getByRole('dialog', { name: 'Leave channel?' });
    await confirm.getByText(`You will leave “${title}”`).waitFor();
    await confirm.getByRole('button', { name: 'Leave channel' }).click();
    await confirm.waitFor({ state: 'detached' });
    await mine.waitFor({ state: 'detached' });
    // Gone from his list and closed, here and on his other device.
    await convItem(reader, title).waitFor({ state: 'detached' });
    await reader.getByRole('heading', { name: 'Welcome to natter' }).waitFor();
    assert.equal(new URL(reader.url()).hash, '#/');
    await convItem(readerPhone, title).waitFor({ state: 'detached' });
    // The owner's panel reads the count again: nobody was told he went.
    await owner.getByRole('button', { name: 'Channel info' }).click();
    await panel.locator('.group-summary', { hasText: exactly('1 subscriber · You are the owner') }).waitFor();
    await owner.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });

    // He joins again with the same link, and the owner removes him: he
    // is told, and it goes from both his devices; the panel follows.
    await reader.goto(url);
    await reader.getByRole('region', { name: title }).getByRole('button', { name: 'Join' }).click();
    await reader.getByText('Only admins can post in this channel.').waitFor();
    await convItem(readerPhone, title).waitFor();
    await owner.getByRole('button', { name: 'Channel info' }).click();
    await panel.locator('.group-summary', { hasText: exactly('2 subscribers · You are the owner') }).waitFor();
    await panel.getByRole('button', { name: `Actions for ${readerName}` }).click();
    await owner.getByRole('menuitem', { name: 'Remove' }).click();
    const remove = owner.getByRole('dialog', { name: `Remove ${readerName}?` });
    await remove.getByRole('button', { name: 'Remove' }).click();
    await remove.waitFor({ state: 'detached' });
    await panel.locator('.member', { hasText: readerName }).waitFor({ state: 'detached' });
    await panel.locator('.group-summary', { hasText: exactly('1 subscriber · You are the owner') }).waitFor();
    await reader.getByText(`You were removed from ${title}`).waitFor();
    await convItem(reader, title).waitFor({ state: 'detached' });
    await convItem(readerPhone, title).waitFor({ state: 'detached' });
    assert.deepEqual(found, [], 'no serious or critical violations (each is printed above)');
    for (const p of [owner, reader, readerPhone]) await p.context().close();
  });

  test('reports: a member reports a message; the group’s moderator sees it in the panel and resolves it', async () => {
    const [reporterName, modName] = [name('rhea'), name('stan')];
    const owner = await ApiUser.register(name('wim'));
    const sender = await ApiUser.register(name('ulf'));
    const reporter = await newPage();
    const mod = await newPage();
    await register(reporter, reporterName);
    await register(mod, modName);
    const reporterApi = await ApiUser.login(reporterName);
    const modApi = await ApiUser.login(modName);
    const title = `Market ${RUN}`;
    const created = await owner.call('POST', '/v1/conversations', {
      kind: 'group',
      name: title,
      members: [sender.id, reporterApi.id, modApi.id],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const group = created.body;
    const promoted = await owner.call('PUT', `/v1/conversations/${group.id}/members/${modApi.id}/role`, { role: 'moderator' });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    await sender.send(group.id, 'Cheap watches, click here');
    await reporterApi.send(group.id, 'Anyone selling bikes?');

    // The member reports someone else's message (never their own).
    await openConv(reporter, title);
    const spam = message(reporter, 'Cheap watches, click here');
    await spam.hover();
    assert.equal(await message(reporter, 'Anyone selling bikes?').getByRole('button', { name: /^Report message/ }).count(), 0);
    await spam.getByRole('button', { name: `Report message from ${sender.username}…` }).click();
    const dialog = reporter.getByRole('dialog', { name: 'Report message' });
    await dialog.locator('.report-quote', { hasText: 'Cheap watches, click here' }).waitFor();
    await dialog.getByRole('radio', { name: 'Spam' }).check();
    await dialog.getByLabel('Note (optional)').fill('Posted in every group');
    await dialog.getByRole('button', { name: 'Report', exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: 'Reported. The group’s moderators will look at it.' }).waitFor();
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    await dialog.waitFor({ state: 'detached' });

    // A plain member has no Reports section in the panel.
    await reporter.getByRole('button', { name: 'Group info' }).click();
    const memberPanel = reporter.getByRole('dialog', { name: 'Group info' });
    await memberPanel.locator('.member').nth(3).waitFor();
    assert.equal(await memberPanel.getByRole('region', { name: 'Reports' }).count(), 0);
    await reporter.keyboard.press('Escape');

    // The moderator sees it: the message, who wrote it, who reported it, why.
    await openConv(mod, title);
    await mod.getByRole('button', { name: 'Group info' }).click();
    const panel = mod.getByRole('dialog', { name: 'Group info' });
    const reports = panel.getByRole('region', { name: 'Reports' });
    const open = reports.locator('.report');
    await open.first().waitFor();
    assert.equal(await open.count(), 1);
    await open.locator('.report-text', { hasText: exactly('Cheap watches, click here') }).waitFor();
    await open.locator('.report-sender', { hasText: exactly(sender.username) }).waitFor();
    await open.locator('.report-meta', { hasText: new RegExp(`^Reported by ${reporterName} · Spam · `) }).waitFor();
    await open.getByText('Note: Posted in every group').waitFor();

    // Resolved with a note: it leaves the open list, and shows with "Show resolved".
    await open.getByLabel('Resolution note (optional)').fill('Removed the seller');
    await open.getByRole('button', { name: `Resolve the report on ${sender.username}’s message` }).click();
    await reports.getByRole('status').filter({ hasText: 'Report resolved.' }).waitFor();
    await reports.getByText('No open reports.').waitFor();
    assert.equal(await reports.locator('.report').count(), 0);
    await reports.getByLabel('Show resolved').check();
    const done = reports.locator('.report.resolved');
    await done.locator('.report-outcome', { hasText: new RegExp(`^Resolved by you · .* · Removed the seller$`) }).waitFor();
    assert.equal(await reports.getByRole('button', { name: /^Resolve/ }).count(), 0);
    const listed = await modApi.call('GET', `/v1/conversations/${group.id}/reports`);
    assert.deepEqual(listed.body.reports, []);
    await reporter.context().close();
    await mod.context().close();
  });

  test('delete for everyone: my own message and, as the owner, a member’s; live tombstones that stay after a reload', async () => {
    const [aliceName, bobName] = [name('adele'), name('boris')];
    const alice = await newPage();
    const bob = await newPage();
    await register(alice, aliceName);
    await register(bob, bobName);
    const aliceApi = await ApiUser.login(aliceName);
    const bobApi = await ApiUser.login(bobName);
    const title = `Cleanup ${RUN}`;
    const created = await aliceApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [bobApi.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const group = created.body;
    await aliceApi.send(group.id, 'Welcome, Boris');
    const oops = await bobApi.send(group.id, 'Oops, wrong chat');
    const rude = await bobApi.send(group.id, 'Something regrettable');
    await openConv(alice, title);
    await openConv(bob, title);
    await message(alice, 'Something regrettable').waitFor();
    await message(bob, 'Something regrettable').waitFor();

    // A member may not delete others' messages: no such button for Bob on Alice's.
    assert.equal(await message(bob, 'Welcome, Boris').getByRole('button', { name: /Delete/ }).count(), 0);

    // Bob deletes his own, after confirming; Alice sees the tombstone live.
    const mine = message(bob, 'Oops, wrong chat');
    await mine.hover();
    await mine.getByRole('button', { name: 'Delete for everyone…' }).click();
    const confirm = bob.getByRole('dialog', { name: 'Delete for everyone?' });
    await confirm.getByText('This deletes your message for everyone in the conversation.', { exact: false }).waitFor();
    await confirm.getByRole('button', { name: 'Delete for everyone', exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    const tomb = (page, seq) => page.locator(`.messages .msg.deleted[data-seq="${seq}"]`);
    await tomb(bob, oops.seq).getByText('This message was deleted').waitFor();
    await tomb(alice, oops.seq).getByText('This message was deleted').waitFor();
    await message(alice, 'Oops, wrong chat').waitFor({ state: 'detached' });
    // No bubble for the deletion itself, and no actions on a tombstone.
    assert.equal(await alice.locator('.messages .msg').count(), 3);
    assert.equal(await tomb(alice, oops.seq).getByRole('button').count(), 0);

    // Alice, the owner, deletes Bob's other message; Bob sees it go.
    const other = message(alice, 'Something regrettable');
    await other.hover();
    await other.getByRole('button', { name: `Delete message from ${bobName} for everyone…` }).click();
    const confirm2 = alice.getByRole('dialog', { name: 'Delete for everyone?' });
    await confirm2.getByRole('button', { name: 'Delete for everyone', exact: true }).click();
    await confirm2.waitFor({ state: 'detached' });
    await tomb(bob, rude.seq).getByText('This message was deleted').waitFor();
    await tomb(alice, rude.seq).getByText('This message was deleted').waitFor();
    // It was the last message: the list says so, without its text.
    await convItem(alice, title).locator('.conv-preview', { hasText: exactly('Message deleted') }).waitFor();
    await convItem(bob, title).locator('.conv-preview', { hasText: exactly('Message deleted') }).waitFor();
    assert.deepEqual(await axe(alice, 'chat with deleted messages'), []);
    await screenshot(alice, 'deleted-messages.png');

    // After a reload the tombstones are read from history; the texts are gone.
    for (const page of [alice, bob]) {
      await page.reload();
      await online(page);
      await openConv(page, title);
      await tomb(page, oops.seq).getByText('This message was deleted').waitFor();
      await tomb(page, rude.seq).getByText('This message was deleted').waitFor();
      await message(page, 'Welcome, Boris').waitFor();
      await convItem(page, title).locator('.conv-preview', { hasText: exactly('Message deleted') }).waitFor();
      const text = await page.locator('body').innerText();
      assert.ok(!text.includes('Oops, wrong chat') && !text.includes('Something regrettable'), text);
    }
    // The server has them as tombstones, with who deleted each.
    const events = await aliceApi.history(group.id);
    const at = (seq) => events.find((e) => e.seq === seq);
    assert.equal(at(oops.seq).kind, 'deleted');
    assert.equal(at(oops.seq).by, bobApi.id);
    assert.equal(at(rude.seq).by, aliceApi.id);
    await alice.context().close();
    await bob.context().close();
  });

  test('report notices: the owner with the group open sees a new report at once, and the open queue takes the next one', async () => {
    const ownerName = name('orla');
    const owner = await newPage();
    await register(owner, ownerName);
    const ownerApi = await ApiUser.login(ownerName);
    const writer = await ApiUser.register(name('wade'));
    const reporter = await ApiUser.register(name('rory'));
    const title = `Watch ${RUN}`;
    const created = await ownerApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [writer.id, reporter.id] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const group = created.body;
    const first = await writer.send(group.id, 'Buy followers now');
    const second = await writer.send(group.id, 'Really, buy them');
    await openConv(owner, title);
    await message(owner, 'Really, buy them').waitFor();
    const info = owner.locator('.chat-head .group-info');
    assert.equal(await info.getAttribute('aria-label'), 'Group info');

    // A report arrives: a count on the button that opens the queue, and a notice.
    const r1 = await reporter.call('POST', `/v1/conversations/${group.id}/reports`, { seq: first.seq, reason: 'spam' });
    assert.equal(r1.status, 201, JSON.stringify(r1.body));
    await owner.getByRole('button', { name: 'Group info (1 new report)' }).waitFor();
    await owner.locator('.info-count[data-count="1"]').waitFor();
    await owner.locator('.toast-text', { hasText: `New report in ${title}` }).waitFor();
    assert.deepEqual(await axe(owner, 'chat with a report notice'), []);

    // Opening the queue shows it and clears the count.
    await info.click();
    const panel = owner.getByRole('dialog', { name: 'Group info' });
    const reports = panel.getByRole('region', { name: 'Reports' });
    await reports.locator('.report-text', { hasText: exactly('Buy followers now') }).waitFor();
    await owner.locator('.info-count').waitFor({ state: 'hidden' });
    assert.equal(await info.getAttribute('aria-label'), 'Group info');

    // With the queue open, the next report joins it without a reload.
    const r2 = await reporter.call('POST', `/v1/conversations/${group.id}/reports`, { seq: second.seq, reason: 'abuse' });
    assert.equal(r2.status, 201, JSON.stringify(r2.body));
    await reports.locator('.report-text', { hasText: exactly('Really, buy them') }).waitFor();
    assert.equal(await reports.locator('.report').count(), 2);
    assert.deepEqual(await axe(owner, 'report queue'), []);
    await owner.keyboard.press('Escape');
    await owner.locator('.info-count').waitFor({ state: 'hidden' });

    // Not a server admin: no Administration in Settings.
    await owner.getByRole('button', { name: 'Settings' }).click();
    const settings = owner.getByRole('dialog', { name: 'Settings' });
    await settings.getByRole('region', { name: 'Account' }).waitFor();
    assert.equal(await settings.getByRole('region', { name: 'Administration' }).count(), 0);
    await owner.context().close();
  });

  // The runner cannot promote a server admin yet (that is `natter admin
  // promote` on the data folder): `Me.admin` is set in the page's copy of
  // `GET /v1/me`, so the screen is checked, and the real server answers
  // (and refuses) everything it is asked.
  test('administration in Settings for a server admin: all reports, suspending and lifting a suspension by username', async () => {
    const adminName = name('ada');
    const target = await ApiUser.register(name('tobin'));
    const other = await ApiUser.register(name('wilhelmina'));
    // A report in a conversation the admin is not in.
    const group = (await target.call('POST', '/v1/conversations', { kind: 'group', name: `Far ${RUN}`, members: [other.id] })).body;
    const spam = await other.send(group.id, 'Spam from afar');
    const reported = await target.call('POST', `/v1/conversations/${group.id}/reports`, { seq: spam.seq, reason: 'spam' });
    assert.equal(reported.status, 201, JSON.stringify(reported.body));
    const page = await newPage();
    await register(page, adminName);
    // Made an admin on the server's machine, as `natter admin promote` does.
    await control(`promote ${adminName}`);
    await page.reload();
    await page.getByRole('button', { name: 'Settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    const admin = settings.getByRole('region', { name: 'Administration' });
    const all = admin.getByRole('region', { name: 'All reports' });
    // Other tests' reports are there too: this one is found by its text.
    const item = all.locator('li').filter({ has: page.locator('.report-text', { hasText: exactly('Spam from afar') }) });
    await item.locator('.report-where', { hasText: exactly('In a conversation you are not in') }).waitFor();
    await admin.getByRole('form', { name: 'Suspend an account' }).waitFor();
    assert.deepEqual(await axe(page, 'settings, administration'), []);

    // Nobody by that name: said before anything is asked.
    await admin.getByLabel('Username').fill(`nobody_${RUN}`);
    await admin.getByRole('button', { name: 'Suspend', exact: true }).click();
    await admin.getByRole('alert').filter({ hasText: `There is no user @nobody_${RUN}.` }).waitFor();

    // A real user: confirmed first, then suspended: they can no longer sign in.
    await admin.getByLabel('Username').fill(target.username);
    await admin.getByRole('button', { name: 'Suspend', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend this account?' });
    await confirm.getByText(`@${target.username} will be signed out on every device`, { exact: false }).waitFor();
    await confirm.getByRole('button', { name: 'Suspend', exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    await admin.getByRole('status').filter({ hasText: `Suspended @${target.username}.` }).waitFor();
    const refused = await rawHttp('POST', '/v1/auth/login', { body: { username: target.username, password: PASSWORD } });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'account_suspended');

    // Lifted: they sign in again.
    await admin.getByRole('button', { name: 'Lift suspension' }).click();
    const lift = page.getByRole('dialog', { name: 'Lift the suspension?' });
    await lift.getByRole('button', { name: 'Lift suspension' }).click();
    await lift.waitFor({ state: 'detached' });
    await admin.getByRole('status').filter({ hasText: `Lifted the suspension of @${target.username}.` }).waitFor();
    await ApiUser.login(target.username);
    await page.context().close();
  });

  test('signing in to a suspended account shows the server’s message', async () => {
    const page = await newPage();
    const user = await ApiUser.register(name('yara'));
    const adminName = name('sysop');
    const admin = await ApiUser.register(adminName);
    await control(`promote ${adminName}`);
    const suspended = await admin.call('PUT', `/v1/admin/suspensions/${user.id}`);
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    await page.goto(BASE);
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /suspended/i }).waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.context().close();
  });

  test('a newcomer to a group that shares all history scrolls back to messages from before they joined', async () => {
    const owner = await ApiUser.register(name('irma'));
    const newName = name('noor');
    const title = `Archive ${RUN}`;
    const group = (await owner.call('POST', '/v1/conversations', { kind: 'group', name: title })).body;
    const all = await owner.call('PATCH', `/v1/conversations/${group.id}`, { history: { visible: 'all' } });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    // More than one page of history (50) before the newcomer joins.
    for (let i = 1; i <= 70; i += 10) {
      await Promise.all(Array.from({ length: 10 }, (_, k) => owner.send(group.id, `before ${i + k}`)));
    }
    const page = await newPage();
    const pages = []; // `before` of every history page the client asked for
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === `/v1/conversations/${group.id}/events` && u.searchParams.has('before')) {
        pages.push(Number(u.searchParams.get('before')));
      }
    });
    await register(page, newName);
    const newcomer = await ApiUser.login(newName);
    const added = await owner.call('POST', `/v1/conversations/${group.id}/members`, { users: [newcomer.id] });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    await owner.send(group.id, 'after you joined');
    const info = (await newcomer.call('GET', `/v1/conversations/${group.id}`)).body;
    assert.equal(info.visible_from, 1);

    // The unread message is the one after joining: the older ones were
    // never missed.
    await convItem(page, title).locator('.conv-preview', { hasText: 'after you joined' }).waitFor();
    await openConv(page, title);
    await message(page, 'after you joined').waitFor();
    await page.locator('.messages .system', { hasText: exactly(`${owner.username} added you`) }).waitFor();
    const divider = page.locator('.messages .new-divider');
    await divider.waitFor();
    assert.equal(
      await page.evaluate(() => {
        const d = document.querySelector('.messages .new-divider');
        return d.nextElementSibling?.querySelector('.text')?.textContent;
      }),
      'after you joined',
    );

    // Scrolling back pages the history from before they joined, down to
    // its beginning.
    await page.locator('.scroller').hover();
    const begin = page.locator('.history-status', { hasText: 'This is the beginning of the conversation.' });
    for (let steps = 0; !(await begin.isVisible()); steps += 1) {
      assert.ok(steps < 50, 'the beginning is reached');
      await page.mouse.wheel(0, -3000);
      await page.waitForFunction(() => document.querySelector('.history-status .spinner').hidden);
    }
    await message(page, 'before 1').waitFor();
    await page.locator('.messages .system', { hasText: exactly(`${owner.username} created the group “${title}”`) }).waitFor();
    await page.locator('.messages .system', { hasText: exactly(`${owner.username} changed what new members can read`) }).waitFor();
    assert.equal(await messages(page).count(), 71);
    assert.ok(pages.length >= 1, 'older history came over GET …/events?before=');
    assert.equal(await page.locator('.history-status', { hasText: 'not visible to you' }).count(), 0);
    await page.context().close();
  });

  test('membership events that name only 100 people: the member count, the panel and the ticks come from the member list', async () => {
    const ownerName = name('vera');
    const page = await newPage();
    await register(page, ownerName);
    const owner = await ApiUser.login(ownerName);
    const crowd = [];
    for (let i = 0; i < 102; i += 17) {
      crowd.push(...(await Promise.all(Array.from({ length: 17 }, (_, k) => ApiUser.register(name(`many${i + k}`))))));
    }
    const panelOf = () => page.getByRole('dialog', { name: 'Group info' });
    const summary = (text) => panelOf().locator('.group-summary', { hasText: exactly(text) });

    // Created with 102 others: the `created` event names 100 of them.
    const big = `Hall ${RUN}`;
    const hall = (await owner.call('POST', '/v1/conversations', { kind: 'group', name: big, members: crowd.map((u) => u.id) })).body;
    const first = (await owner.history(hall.id))[0];
    assert.deepEqual([first.members.length, first.member_count], [100, 103]);
    await openConv(page, big);
    await page.locator('.chat-subtitle', { hasText: /^103 members/ }).waitFor();
    await page.getByRole('button', { name: 'Group info' }).click();
    await summary('103 members · You are the owner').waitFor();
    await page.keyboard.press('Escape');
    await panelOf().waitFor({ state: 'detached' });
    // Read by all 102: the tick says so.
    await send(page, 'Hello everyone');
    await waitForStatus(page, 'Hello everyone', ['sent', 'delivered']);
    const seq = Number(await message(page, 'Hello everyone').getAttribute('data-seq'));
    await Promise.all(crowd.map((u) => u.call('POST', `/v1/conversations/${hall.id}/receipts`, { kind: 'read', seq })));
    await waitForStatus(page, 'Hello everyone', 'read');

    // 101 added at once to a group of two: `members_added` names 100.
    const small = `Room ${RUN}`;
    const room = (await owner.call('POST', '/v1/conversations', { kind: 'group', name: small, members: [crowd[0].id] })).body;
    await openConv(page, small);
    await send(page, 'Before the crowd');
    await waitForStatus(page, 'Before the crowd', ['sent', 'delivered', 'read']);
    const before = Number(await message(page, 'Before the crowd').getAttribute('data-seq'));
    await crowd[0].call('POST', `/v1/conversations/${room.id}/receipts`, { kind: 'read', seq: before });
    await waitForStatus(page, 'Before the crowd', 'read');
    await page.getByRole('button', { name: 'Group info' }).click();
    await summary('2 members · You are the owner').waitFor();
    const added = await owner.call('POST', `/v1/conversations/${room.id}/members`, { users: crowd.slice(1).map((u) => u.id) });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const event = (await owner.history(room.id)).find((e) => e.kind === 'members_added');
    assert.deepEqual([event.users.length, event.count], [100, 101]);
    await summary('103 members · You are the owner').waitFor();
    await page.locator('.chat-subtitle', { hasText: /^103 members/ }).waitFor();
    // The panel lists everyone, a page at a time.
    const more = panelOf().getByRole('button', { name: 'Show more' });
    while ((await panelOf().locator('.member').count()) < 103) {
      await more.click();
      await page.waitForFunction(() => !document.querySelector('dialog .show-more')?.disabled);
    }
    assert.equal(await panelOf().locator('.member').count(), 103);
    await page.keyboard.press('Escape');
    // The newcomers joined after the message: it stays read, and a new
    // one counts all 102 of them.
    await send(page, 'After the crowd');
    assert.equal(await status(page, 'Before the crowd'), 'read');
    // Its seq is known once the server has it.
    await waitForStatus(page, 'After the crowd', ['sent', 'delivered', 'read']);
    const after = Number(await message(page, 'After the crowd').getAttribute('data-seq'));
    await Promise.all(crowd.slice(0, 101).map((u) => u.call('POST', `/v1/conversations/${room.id}/receipts`, { kind: 'read', seq: after })));
    await crowd[101].call('POST', `/v1/conversations/${room.id}/receipts`, { kind: 'read', seq: after });
    await waitForStatus(page, 'After the crowd', 'read');
    assert.equal(await status(page, 'Before the crowd'), 'read');
    await page.context().close();
  });

  test('group invitations: "who can add me to groups" in settings; an invitation accepted, another left', async () => {
    const page = await newPage();
    const jayName = name('jay');
    await register(page, jayName);
    const jay = await ApiUser.login(jayName);
    const kim = await ApiUser.register(name('kim'));

    // Jay lets nobody add him to groups at once.
    await page.getByRole('button', { name: 'Settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    const adds = settings.getByRole('group', { name: 'Who can add me to groups' });
    assert.equal(await adds.getByLabel('Everyone', { exact: true }).isChecked(), true);
    await adds.getByLabel('Nobody').check();
    await settings.locator('.save-status', { hasText: 'Saved.' }).waitFor();
    const privacy = (await jay.call('GET', '/v1/me/privacy')).body;
    assert.equal(privacy.group_adds, 'nobody');
    assert.equal(privacy.presence, 'everyone', 'the other settings are kept');
    await page.keyboard.press('Escape');
    await settings.waitFor({ state: 'detached' });

    // Kim puts him in two groups: both are invitations, listed apart.
    const makeGroup = async (title) =>
      (await kim.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [jay.id] })).body.id;
    const yes = `Choir ${RUN}`;
    const no = `Spam ${RUN}`;
    const choir = await makeGroup(yes);
    await kim.send(choir, 'Rehearsal on Tuesday');
    const spam = await makeGroup(no);
    const requests = page.getByRole('region', { name: /^Message requests/ });
    await requests.locator('.conv-item', { hasText: yes }).waitFor();
    await requests.locator('.conv-item', { hasText: no }).locator('.conv-preview', { hasText: `${kim.username} added you to this group` }).waitFor();
    assert.equal(await page.locator('.conv-list:not(.request-list) .conv-item').count(), 0);

    // Accept one: it becomes an ordinary group, on the server too.
    await openConv(page, yes);
    await message(page, 'Rehearsal on Tuesday').waitFor();
    const bar = page.getByRole('region', { name: 'Message request', exact: true });
    await bar.getByText(`${kim.username} added you to this group.`).waitFor();
    assert.equal(await bar.getByRole('button', { name: 'Block' }).isVisible(), false);
    await bar.getByRole('button', { name: 'Accept' }).click();
    await bar.waitFor({ state: 'hidden' });
    await page.locator('.conv-list:not(.request-list) .conv-item', { hasText: yes }).waitFor();
    assert.equal((await jay.call('GET', `/v1/conversations/${choir}`)).body.request, false);
    await send(page, 'Count me in');

    // Leave the other: it is gone, and Kim sees that he left.
    await openConv(page, no);
    await bar.getByText(`${kim.username} added you to this group.`).waitFor();
    await bar.getByRole('button', { name: 'Leave' }).click();
    await convItem(page, no).waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Welcome to natter' }).waitFor();
    await requests.waitFor({ state: 'hidden' });
    const left = (await kim.history(spam)).filter((e) => e.kind === 'member_left');
    assert.deepEqual(left.map((e) => e.user), [jay.id]);
    const list = (await jay.call('GET', '/v1/conversations')).body.conversations.map((c) => c.id);
    assert.deepEqual(list, [choir]);

    // The setting comes back from the server.
    await page.reload();
    await online(page);
    await page.getByRole('button', { name: 'Settings' }).click();
    await adds.getByLabel('Nobody').waitFor();
    assert.equal(await adds.getByLabel('Nobody').isChecked(), true);
    await page.context().close();
  });

  test('the chat list comes in pages as it is scrolled; the badge counts them all; a live event brings one up', async () => {
    const lena = await ApiUser.register(name('lena'));
    const max = await ApiUser.register(name('max'));
    const create = async (title) => {
      const r = await max.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [lena.id] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.id;
    };
    // Ten older groups with an unread message each, then fifty newer,
    // quiet ones: the first page (50) holds only the newer.
    const older = [];
    for (let i = 0; i < 10; i += 1) {
      const id = await create(`Old ${i} ${RUN}`);
      await max.send(id, `old ${i}`);
      older.push(id);
    }
    await Promise.all(Array.from({ length: 50 }, (_, i) => create(`New ${i} ${RUN}`)));
    const titles = [...Array.from({ length: 10 }, (_, i) => `Old ${i} ${RUN}`), ...Array.from({ length: 50 }, (_, i) => `New ${i} ${RUN}`)];

    const page = await newPage();
    await signIn(page, lena.username);
    const items = page.locator('.conv-nav .conv-item');
    await convItem(page, `New 0 ${RUN}`).waitFor();
    assert.equal(await items.count(), 50);
    assert.equal(await convItem(page, `Old 9 ${RUN}`).count(), 0);
    // The badge counts the unread messages of every page.
    await page.waitForFunction(() => document.title === '(10) natter');

    // A message in a group not loaded yet: it comes to the top.
    await max.send(older[0], 'back on top');
    await items.first().filter({ hasText: 'back on top' }).waitFor();
    assert.equal(await items.first().getAttribute('data-title'), `Old 0 ${RUN}`);
    await page.waitForFunction(() => document.title === '(11) natter');

    // Scrolling to the end loads the rest, showing that it is loading.
    await page.evaluate(() => {
      window.__sawMore = false;
      const more = document.querySelector('.list-more');
      new MutationObserver(() => {
        if (!more.hidden && /Loading more conversations/.test(more.textContent)) window.__sawMore = true;
      }).observe(more, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.locator('.conv-nav').hover();
    await page.mouse.wheel(0, 100000);
    await convItem(page, `Old 9 ${RUN}`).waitFor();
    await page.locator('.list-more').waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => window.__sawMore), true, 'loading was shown');
    const shown = await items.evaluateAll((els) => els.map((e) => e.dataset.title));
    assert.deepEqual([...shown].sort(), [...titles].sort(), 'every conversation once');
    await page.waitForFunction(() => document.title === '(11) natter');

    // One from the second page opens and is read: the badge follows.
    await page.mouse.wheel(0, 100000);
    await openConv(page, `Old 5 ${RUN}`);
    await message(page, 'old 5').waitFor();
    await page.waitForFunction(() => document.title === '(10) natter');
    await page.context().close();
  });

  test('group ticks count the members a message was sent to: adding someone keeps them at read', async () => {
    const page = await newPage();
    const gusName = name('gus');
    await register(page, gusName);
    const gus = await ApiUser.login(gusName);
    const hal = await ApiUser.register(name('hal'));
    const ivy = await ApiUser.register(name('ivy'));
    const jo = await ApiUser.register(name('jo'));
    const title = `Ticks ${RUN}`;
    const group = (await gus.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [hal.id, ivy.id] })).body;
    const readAll = async (user) => {
      const { last_seq: seq } = (await user.call('GET', `/v1/conversations/${group.id}`)).body;
      const r = await user.call('POST', `/v1/conversations/${group.id}/receipts`, { kind: 'read', seq });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const popover = async (text) => {
      const row = message(page, text);
      const btn = row.locator('.receipt-btn');
      if ((await btn.getAttribute('aria-expanded')) === 'true') await btn.click();
      await btn.click();
      await row.locator('.receipt-pop:not(:has-text("Loading"))').waitFor();
      const shown = await row.locator('.receipt-pop').textContent();
      await btn.click();
      return shown;
    };

    await openConv(page, title);
    await send(page, 'Ready?');
    // The others read up to what the server has: wait until it has it.
    await waitForStatus(page, 'Ready?', ['sent', 'delivered', 'read']);
    await readAll(hal);
    await readAll(ivy);
    await waitForStatus(page, 'Ready?', 'read');
    assert.match(await popover('Ready?'), /^Read by 2 of 2/);

    // Jo joins after it was sent: it stays read, here and in "read by".
    const r = await gus.call('POST', `/v1/conversations/${group.id}/members`, { users: [jo.id] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await page.locator('.messages .system', { hasText: `You added ${jo.username}` }).waitFor();
    await page.locator('.chat-subtitle', { hasText: '4 members' }).waitFor();
    assert.equal(await status(page, 'Ready?'), 'read');
    assert.match(await popover('Ready?'), /^Read by 2 of 2/);

    // A message sent after Jo joined counts Jo: read when all three have.
    await send(page, 'Welcome, jo');
    await waitForStatus(page, 'Welcome, jo', ['sent', 'delivered', 'read']);
    const { last_seq: welcome } = (await jo.call('GET', `/v1/conversations/${group.id}`)).body;
    const got = await jo.call('POST', `/v1/conversations/${group.id}/receipts`, { kind: 'delivered', seq: welcome });
    assert.equal(got.status, 200, JSON.stringify(got.body));
    await readAll(hal);
    await readAll(ivy);
    await waitForStatus(page, 'Welcome, jo', 'delivered');
    assert.match(await popover('Welcome, jo'), /^Read by 2 of 3/);
    assert.equal(await status(page, 'Welcome, jo'), 'delivered');
    await readAll(jo);
    await waitForStatus(page, 'Welcome, jo', 'read');

    // After a reload, from the server's state alone: the same ticks.
    await page.reload();
    await online(page);
    await openConv(page, title);
    await waitForStatus(page, 'Welcome, jo', 'read');
    await waitForStatus(page, 'Ready?', 'read');
    assert.match(await popover('Ready?'), /^Read by 2 of 2/);
    assert.match(await popover('Welcome, jo'), /^Read by 3 of 3/);
    await page.context().close();
  });

  // A conversation of 2,000 messages (sent over HTTP, 16 at a time), read
  // by `long.page`'s user, for the two tests below.
  const long = { page: null, newest: null };

  test('scrolling back through 2,000 messages keeps the place, shows loading, and reaches the beginning', async () => {
    const sam = await ApiUser.register(name('sam'));
    const tess = await ApiUser.register(name('tess'));
    const dm = (await sam.call('POST', '/v1/conversations', { kind: 'direct', user: tess.id })).body;
    let next = 1;
    const senders = Array.from({ length: 16 }, async () => {
      while (next <= 2000) {
        const i = next;
        next += 1;
        await sam.send(dm.id, `line ${i}`);
      }
    });
    await Promise.all(senders);
    const info = (await tess.call('GET', `/v1/conversations/${dm.id}`)).body;
    long.newest = info.last_message.text;
    const read = await tess.call('POST', `/v1/conversations/${dm.id}/receipts`, { kind: 'read', seq: info.last_seq });
    assert.equal(read.status, 200, JSON.stringify(read.body));

    const page = await newPage();
    long.page = page;
    await signIn(page, tess.username);
    await openConv(page, sam.username);
    await message(page, long.newest).waitFor();
    await page.evaluate(() => {
      window.__sawLoading = false;
      const status = document.querySelector('.history-status');
      new MutationObserver(() => {
        if (/Loading older messages/.test(status.textContent) && !status.querySelector('.spinner').hidden) {
          window.__sawLoading = true;
        }
      }).observe(status, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.locator('.scroller').hover();

    // Wheel up, a step at a time. After each step the first message row on
    // screen must have moved by exactly the distance scrolled, and stay
    // there while older messages are fetched and mounted above it.
    const probe = () =>
      page.evaluate(() => {
        const sc = document.querySelector('.scroller');
        const top = sc.getBoundingClientRect().top;
        const row = [...document.querySelectorAll('.messages li.msg')].find((li) => li.getBoundingClientRect().top >= top);
        return {
          key: row.dataset.key,
          y: row.getBoundingClientRect().top,
          scrollTop: sc.scrollTop,
          rows: document.querySelectorAll('.messages li').length,
          begin: /beginning of the conversation/.test(document.querySelector('.history-status').textContent),
        };
      });
    const rowAt = ([key, y]) => {
      const li = document.querySelector(`.messages li[data-key="${CSS.escape(key)}"]`);
      return li !== null && Math.abs(li.getBoundingClientRect().top - y) <= 1;
    };
    const idle = () => document.querySelector('.history-status .spinner').hidden;
    let steps = 0;
    let most = 0;
    for (let at = await probe(); !at.begin; at = await probe()) {
      steps += 1;
      assert.ok(steps < 400, 'the beginning is reached');
      most = Math.max(most, at.rows);
      const by = Math.min(1500, at.scrollTop);
      await page.mouse.wheel(0, -1500);
      await page.waitForFunction(rowAt, [at.key, at.y + by]);
      await page.waitForFunction(idle);
      assert.ok(await page.evaluate(rowAt, [at.key, at.y + by]), `row ${at.key} kept its place`);
    }
    await page.locator('.messages .system', { hasText: `${sam.username} started the conversation` }).waitFor();
    await message(page, 'line 1').waitFor();
    assert.equal(await page.evaluate(() => window.__sawLoading), true, 'loading was shown');
    assert.ok(most <= 300, `at most 300 rows were mounted (saw ${most})`);
  });

  test('a long conversation keeps only the rows near the screen in the page', async () => {
    const page = long.page;
    // At the beginning, with all 2,000 loaded: a bounded number of rows,
    // and of elements in the whole page.
    const size = () =>
      page.evaluate(() => ({
        rows: document.querySelectorAll('.messages li').length,
        elements: document.querySelectorAll('*').length,
      }));
    let { rows, elements } = await size();
    assert.ok(rows <= 300 && elements <= 3000, `${rows} rows, ${elements} elements at the beginning`);
    // And back to the newest.
    await page.getByRole('button', { name: 'Jump to latest messages' }).click();
    await message(page, long.newest).waitFor();
    await page.waitForFunction(() => {
      const sc = document.querySelector('.scroller');
      return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 2;
    });
    ({ rows, elements } = await size());
    assert.ok(rows <= 300 && elements <= 3000, `${rows} rows, ${elements} elements at the newest`);
    assert.equal(await page.locator('.jump').isVisible(), false);
    await page.context().close();
  });

  test('profiles and the directory: a display name set in settings shows wherever the person does; people are found by name, unless they opt out', async () => {
    const [petraName, raviName, solName] = [name('petra'), name('ravi'), name('sol')];
    const petra = await newPage();
    const ravi = await newPage();
    await register(petra, petraName);
    await register(ravi, raviName);
    const petraApi = await ApiUser.login(petraName);
    const raviApi = await ApiUser.login(raviName);
    const sol = await ApiUser.register(solName);
    const found = [];

    // A direct chat and a group, both listed on Ravi's side before Petra
    // has a display name.
    const dm = (await petraApi.call('POST', '/v1/conversations', { kind: 'direct', user: raviApi.id })).body;
    await petraApi.send(dm.id, 'Hello from petra');
    const title = `Choir ${RUN}`;
    const group = (await petraApi.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [raviApi.id, sol.id] })).body;
    await petraApi.send(group.id, 'Rehearsal at seven');
    await convItem(ravi, petraName).locator('.conv-preview', { hasText: 'Hello from petra' }).waitFor();
    await convItem(ravi, title).waitFor();

    // Petra opens her profile in settings: a display name the server
    // refuses shows its reason next to the field; then a good one, and an
    // about text.
    await petra.getByRole('button', { name: 'Settings' }).click();
    const settings = petra.getByRole('dialog', { name: 'Settings' });
    const profile = settings.getByRole('region', { name: 'Profile' });
    await profile.getByText(`@${petraName}`).waitFor();
    await profile.getByLabel('Display name').fill('P'.repeat(65));
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('alert').filter({ hasText: /^Not saved: A display name has 1 to 64 characters/ }).waitFor();
    assert.equal(await profile.getByLabel('Display name').getAttribute('aria-invalid'), 'true');
    assert.equal((await petraApi.call('GET', '/v1/me')).body.display_name, undefined, 'nothing changed');
    await profile.getByLabel('Display name').fill('Petra Lindqvist');
    await profile.getByLabel('About').fill('Sings alto.\nMostly on key.');
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByRole('status').filter({ hasText: exactly('Saved.') }).waitFor();
    assert.equal(await profile.locator('.form-error').textContent(), '');
    await profile.locator('.profile-name', { hasText: exactly('Petra Lindqvist') }).waitFor();
    const me = (await petraApi.call('GET', '/v1/me')).body;
    assert.equal(me.display_name, 'Petra Lindqvist');
    assert.equal(me.about, 'Sings alto.\nMostly on key.');
    // Her own name in the sidebar follows.
    await petra.locator('.me-name', { hasText: exactly('Petra Lindqvist') }).waitFor();
    found.push(...(await axe(petra, 'settings with the profile')));
    await petra.keyboard.press('Escape');
    await settings.waitFor({ state: 'detached' });

    // Ravi opens the direct chat: its details are read again, so the list
    // and the header show her display name, with her @username and about.
    await convItem(ravi, petraName).click();
    await ravi.locator('.chat-title', { hasText: exactly('Petra Lindqvist') }).waitFor();
    await ravi.locator('.chat-description', { hasText: exactly(`@${petraName} · Sings alto.`) }).waitFor();
    await convItem(ravi, 'Petra Lindqvist').waitFor();
    await message(ravi, 'Hello from petra').waitFor();

    // In the group: her messages carry her display name, in the preview
    // and the panel too; the panel keeps the @username beside it.
    await openConv(ravi, title);
    await message(ravi, 'Rehearsal at seven').locator('.sender', { hasText: exactly('Petra Lindqvist') }).waitFor();
    await convItem(ravi, title).locator('.conv-preview', { hasText: exactly('Petra Lindqvist: Rehearsal at seven') }).waitFor();
    await ravi.getByRole('button', { name: 'Group info' }).click();
    const info = ravi.getByRole('dialog', { name: 'Group info' });
    const row = info.locator(`.member[data-user="${petraApi.id}"]`);
    await row.locator('.member-name', { hasText: exactly('Petra Lindqvist') }).waitFor();
    await row.locator('.member-handle', { hasText: exactly(`@${petraName}`) }).waitFor();
    await info.locator(`.member[data-user="${raviApi.id}"] .member-name`, { hasText: exactly(`${raviName} (you)`) }).waitFor();
    await ravi.keyboard.press('Escape');
    await info.waitFor({ state: 'detached' });

    // The directory: Sol, whom Ravi has no chat with, is found by the
    // start of her display name as Ravi types, and chosen with the keyboard.
    assert.equal((await sol.call('PATCH', '/v1/me/profile', { display_name: 'Solveig Berg' })).status, 200);
    await ravi.getByRole('button', { name: 'New chat' }).click();
    let dialog = ravi.getByRole('dialog', { name: 'New chat' });
    const box = dialog.getByRole('combobox', { name: 'Name or username' });
    await box.pressSequentially('solv');
    const option = dialog.getByRole('option', { name: `Solveig Berg @${solName}` });
    await option.waitFor();
    assert.equal(await dialog.getByRole('option').count(), 1);
    assert.equal(await box.getAttribute('aria-expanded'), 'true');
    found.push(...(await axe(ravi, 'new chat with people found')));
    await box.press('ArrowDown');
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    assert.equal(await box.getAttribute('aria-activedescendant'), await option.getAttribute('id'));
    await box.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    await ravi.locator('.chat-title', { hasText: exactly('Solveig Berg') }).waitFor();
    const solChat = new URL(ravi.url()).hash.split('/')[2];
    const solConvs = (await sol.call('GET', '/v1/conversations')).body.conversations;
    assert.ok(solConvs.some((c) => c.id === solChat && c.kind === 'direct' && c.peer.id === raviApi.id));

    // A click on someone found works too (Petra, by her display name).
    await ravi.getByRole('button', { name: 'New chat' }).click();
    dialog = ravi.getByRole('dialog', { name: 'New chat' });
    await dialog.getByRole('combobox', { name: 'Name or username' }).pressSequentially('Petra L');
    await dialog.getByRole('option', { name: `Petra Lindqvist @${petraName}` }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(new URL(ravi.url()).hash, `#/c/${dm.id}`);
    await ravi.locator('.chat-title', { hasText: exactly('Petra Lindqvist') }).waitFor();

    // Petra leaves the directory: she is no longer found by name, but her
    // exact username still starts a chat.
    await petra.getByRole('button', { name: 'Settings' }).click();
    const privacy = petra.getByRole('dialog', { name: 'Settings' });
    const discoverable = privacy.getByRole('checkbox', { name: /Let people find me by name/ });
    assert.equal(await discoverable.isChecked(), true);
    await discoverable.uncheck();
    await privacy.locator('.save-status', { hasText: 'Saved.' }).waitFor();
    assert.equal((await petraApi.call('GET', '/v1/me/privacy')).body.discoverable, false);
    await petra.keyboard.press('Escape');
    await privacy.waitFor({ state: 'detached' });
    await ravi.getByRole('button', { name: 'New chat' }).click();
    dialog = ravi.getByRole('dialog', { name: 'New chat' });
    const again = dialog.getByRole('combobox', { name: 'Name or username' });
    await again.pressSequentially('Petra');
    await dialog.getByRole('status').filter({ hasText: 'Nobody found by that name' }).waitFor();
    assert.equal(await dialog.getByRole('option').count(), 0);
    assert.equal(await again.getAttribute('aria-expanded'), 'false');
    await again.fill(petraName);
    await again.press('Enter');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(new URL(ravi.url()).hash, `#/c/${dm.id}`);
    assert.deepEqual(found, [], 'no serious or critical violations (each is printed above)');
    for (const p of [petra, ravi]) await p.context().close();
  });

  test('conversation settings follow the user to every device: pin, mute (and hide the badge), archive, mark as unread', async () => {
    const umaName = name('uma');
    const uma = await ApiUser.register(umaName);
    const vic = await ApiUser.register(name('vic'));
    const [alpha, beta, gamma] = [`Alpha ${RUN}`, `Beta ${RUN}`, `Gamma ${RUN}`];
    const ids = {};
    for (const title of [alpha, beta, gamma]) {
      const r = await vic.call('POST', '/v1/conversations', { kind: 'group', name: title, members: [uma.id] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[title] = r.body.id;
    }
    // Two devices of Uma's: a laptop, and a phone whose tab can be hidden.
    const laptop = await newPage();
    const phone = await newPage({ hiddenTab: true });
    await signIn(laptop, umaName);
    await signIn(phone, umaName);
    const chats = (page) => page.locator('.conv-list:not(.request-list):not(.archive-list) .conv-item');
    const order = (page) => chats(page).evaluateAll((els) => els.map((e) => e.dataset.title));
    const found = [];
    for (const page of [laptop, phone]) {
      await convItem(page, alpha).waitFor();
      assert.deepEqual(await order(page), [gamma, beta, alpha], 'newest first');
    }
    const options = (title) => laptop.getByRole('button', { name: `Options for ${title}` });

    // Pinned on the laptop, with the keyboard: it goes to the top on both
    // devices, with a pin.
    await options(alpha).focus();
    await laptop.keyboard.press('Enter');
    await laptop.getByRole('menuitem', { name: 'Pin', exact: true }).waitFor();
    found.push(...(await axe(laptop, 'a conversation’s menu in the list')));
    assert.equal(await laptop.evaluate(() => document.activeElement?.textContent), 'Pin');
    await laptop.keyboard.press('Enter');
    await phone.waitForFunction((t) => document.querySelector('.conv-list .conv-item')?.dataset.title === t, alpha);
    assert.deepEqual(await order(phone), [alpha, gamma, beta]);
    await convItem(phone, alpha).locator('.conv-pinned').waitFor();
    assert.equal(await convItem(phone, alpha).getAttribute('data-pinned'), 'true');
    assert.deepEqual(await order(laptop), [alpha, gamma, beta]);
    assert.equal(await laptop.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Options for ${alpha}`, 'focus stays with the row');

    // Muted with its badge hidden: the phone shows it muted; its new
    // message is counted grey and left out of the title, and raises no
    // notification, while another conversation's does.
    await options(beta).click();
    await laptop.getByRole('menuitem', { name: 'Mute and hide the badge' }).click();
    await convItem(phone, beta).locator('.conv-muted').waitFor();
    assert.equal(await convItem(phone, beta).getAttribute('data-muted'), 'true');
    await phone.evaluate(() => window.__setHidden(true));
    await vic.send(ids[beta], 'beta news');
    await vic.send(ids[gamma], 'gamma news');
    await phone.waitForFunction(() => window.__notes.length === 1);
    assert.deepEqual((await phone.evaluate(() => window.__notes)).map((n) => n.body), ['gamma news']);
    await convItem(phone, beta).locator('.badge.muted', { hasText: '1' }).waitFor();
    await convItem(phone, gamma).locator('.badge:not(.muted)', { hasText: '1' }).waitFor();
    await phone.waitForFunction(() => document.title === '(1) natter');
    await laptop.waitForFunction(() => document.title === '(1) natter');
    await phone.evaluate(() => window.__setHidden(false));

    // Archived: it leaves the list on the phone for "Archived (1)".
    await options(gamma).click();
    await laptop.getByRole('menuitem', { name: 'Archive', exact: true }).click();
    await chats(phone).filter({ hasText: gamma }).waitFor({ state: 'detached' });
    const archived = phone.getByRole('button', { name: 'Archived (1)' });
    await archived.click();
    const view = phone.getByRole('region', { name: 'Archived' });
    await view.locator(`.conv-item[data-title="${gamma}"]`).waitFor();
    assert.equal(await phone.locator('.main-list').isVisible(), false, 'in place of the list');
    found.push(...(await axe(phone, 'archived chats')));
    await view.getByRole('button', { name: 'Back to chats' }).click();
    await archived.waitFor();
    assert.deepEqual(await order(phone), [alpha, beta]);
    // Still unread, and still counted.
    await phone.waitForFunction(() => document.title === '(1) natter');

    // Marked unread on the laptop: a dot on the phone, counted in the
    // title; opening it there clears the mark on both.
    await options(alpha).click();
    await laptop.getByRole('menuitem', { name: 'Mark as unread' }).click();
    await convItem(phone, alpha).locator('.badge.dot').waitFor();
    await phone.waitForFunction(() => document.title === '(2) natter');
    await convItem(laptop, alpha).locator('.badge.dot').waitFor();
    await openConv(phone, alpha);
    await convItem(phone, alpha).locator('.badge').waitFor({ state: 'hidden' });
    await convItem(laptop, alpha).locator('.badge').waitFor({ state: 'hidden' });
    assert.equal(await convItem(laptop, alpha).getAttribute('data-marked'), 'false');
    await phone.waitForFunction(() => document.title === '(1) natter');
    const listed = (await uma.call('GET', `/v1/conversations/${ids[alpha]}`)).body.settings;
    assert.equal(listed.marked_unread, false);
    assert.ok(listed.pinned_at > 0);

    // The server keeps it all: a reload shows the same list.
    await phone.reload();
    await online(phone);
    await convItem(phone, beta).locator('.conv-muted').waitFor();
    assert.deepEqual(await order(phone), [alpha, beta]);
    await phone.getByRole('button', { name: 'Archived (1)' }).waitFor();
    assert.equal((await uma.call('GET', '/v1/conversations?archived=true')).body.conversations[0].id, ids[gamma]);

    // Unarchived and unmuted from the phone's own menus.
    await phone.getByRole('button', { name: 'Archived (1)' }).click();
    await phone.getByRole('button', { name: `Options for ${gamma}` }).click();
    await phone.getByRole('menuitem', { name: 'Unarchive' }).click();
    await phone.getByText('No archived chats.').waitFor();
    await convItem(laptop, gamma).waitFor();
    await laptop.getByRole('button', { name: /^Archived/ }).waitFor({ state: 'hidden' });
    await phone.getByRole('button', { name: 'Back to chats' }).click();
    await phone.getByRole('button', { name: `Options for ${beta}` }).click();
    await phone.getByRole('menuitem', { name: 'Unmute' }).click();
    await convItem(laptop, beta).locator('.conv-muted').waitFor({ state: 'hidden' });
    await laptop.waitForFunction(() => document.title === '(2) natter');
    assert.deepEqual(found, [], 'no serious or critical violations (each is printed above)');
    for (const p of [laptop, phone]) await p.context().close();
  });

  // ---------- rich messages ----------

  const rich = {};

  /** A message row's toolbar button (the toolbar comes to the row the pointer is on). */
  async function rowButton(page, row, label) {
    await row.hover();
    const b = row.locator('.msg-actions').getByRole('button', { name: label, exact: true });
    await b.waitFor();
    return b;
  }

  /** Opens a message row's menu and chooses an entry. */
  async function menuChoose(page, row, entry) {
    await (await rowButton(page, row, 'More actions')).click();
    await page.getByRole('menuitem', { name: entry, exact: true }).click();
  }

  test('rich messages: formatting renders as elements; markup in a message stays inert text', async () => {
    rich.aName = name('rita');
    rich.bName = name('rick');
    rich.a = await newPage();
    rich.b = await newPage();
    await register(rich.a, rich.aName);
    await register(rich.b, rich.bName);
    rich.aApi = await ApiUser.login(rich.aName);
    rich.bApi = await ApiUser.login(rich.bName);
    const dm = (await rich.aApi.call('POST', '/v1/conversations', { kind: 'direct', user: rich.bApi.id })).body;
    assert.equal((await rich.bApi.call('POST', `/v1/conversations/${dm.id}/accept`)).status, 200);
    rich.dm = dm.id;
    const { a, b } = rich;
    await openConv(a, rich.bName);
    await openConv(b, rich.aName);
    const text = '**bold** _italic_ ~~gone~~ `co*de*` [the site](https://example.org/x) \\*plain\\* <script>window.__x=1</script> <img src=x onerror="window.__x=2">\n> quoted\n- one\n- two';
    const box = a.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill(text);
    await box.press('Enter');
    const row = b.locator('.messages .msg', { has: b.locator('.text strong', { hasText: 'bold' }) });
    await row.waitFor();
    const t = row.locator('.text');
    assert.equal(await t.locator('strong').textContent(), 'bold');
    assert.equal(await t.locator('em').first().textContent(), 'italic');
    assert.equal(await t.locator('s').textContent(), 'gone');
    assert.equal(await t.locator('code').textContent(), 'co*de*');
    assert.deepEqual(await t.locator('a').evaluate((el) => [el.textContent, el.href, el.title, el.target, el.rel]), [
      'the site',
      'https://example.org/x',
      'https://example.org/x',
      '_blank',
      'noopener noreferrer',
    ]);
    assert.equal(await t.locator('blockquote').textContent(), 'quoted');
    assert.deepEqual(await t.locator('ul li').allTextContents(), ['one', 'two']);
    // The markup is text: no element was made of it, nothing ran.
    const whole = await t.textContent();
    assert.ok(whole.includes('*plain*') && whole.includes('<script>window.__x=1</script>') && whole.includes('<img src=x onerror="window.__x=2">'), whole);
    for (const page of [a, b]) {
      assert.equal(await page.locator('.messages script, .messages img, .conv-list img, .conv-list script').count(), 0);
      assert.equal(await page.evaluate(() => window.__x), undefined);
    }
    // The composer says what formatting it takes.
    await a.getByRole('textbox', { name: 'Message', exact: true }).focus();
    await a.locator('.format-hint', { hasText: '**bold**' }).waitFor();
  });

  test('rich messages: a reply quotes its original, and the quote follows an edit; edits by the menu and the Up arrow show “(edited)” live', async () => {
    const { a, b } = rich;
    await send(b, 'Which book first?');
    const original = message(a, 'Which book first?');
    await original.waitFor();
    await (await rowButton(a, original, 'Reply')).click();
    await a.locator('.reply-bar', { hasText: `Replying to ${rich.bName}` }).waitFor();
    await send(a, 'Dune');
    for (const page of [a, b]) await message(page, 'Dune').locator('.quote', { hasText: 'Which book first?' }).waitFor();
    assert.equal(await a.locator('.reply-bar').isVisible(), false);
    // A click on the quote shows the original; so does the message's link.
    const seq = await original.getAttribute('data-seq');
    await message(b, 'Dune').locator('.quote').click();
    await b.locator(`.messages .msg.flash[data-seq="${seq}"]`).waitFor();
    await a.evaluate(([conv, n]) => {
      location.hash = `#/c/${conv}/${n}`;
    }, [rich.dm, seq]);
    await a.locator(`.messages .msg.flash[data-seq="${seq}"]`).waitFor();
    await a.waitForFunction((conv) => location.hash === `#/c/${conv}`, rich.dm);

    // Rick edits his question from its menu; both see it, Rita's quote follows.
    await menuChoose(b, message(b, 'Which book first?'), 'Edit');
    const edit = b.getByRole('textbox', { name: 'Edit message' });
    await edit.fill('Which book do we read first?');
    await edit.press('Enter');
    await message(a, 'Which book do we read first?').locator('.edited', { hasText: '(edited)' }).waitFor();
    await message(a, 'Dune').locator('.quote', { hasText: 'Which book do we read first?' }).waitFor();
    await message(b, 'Dune').locator('.quote', { hasText: 'Which book do we read first?' }).waitFor();

    // Rita edits her last message with the Up arrow in the empty composer.
    const box = a.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('');
    await box.press('ArrowUp');
    const mine = a.getByRole('textbox', { name: 'Edit message' });
    assert.equal(await mine.inputValue(), 'Dune');
    await mine.fill('Dune, of course');
    await mine.press('Enter');
    await message(b, 'Dune, of course').locator('.edited').waitFor();
    await message(a, 'Dune, of course').locator('.edited').waitFor();
    const title = await message(b, 'Dune, of course').locator('.edited').getAttribute('title');
    assert.match(title, /^Edited /);
    const history = await rich.aApi.history(rich.dm);
    assert.equal(history.filter((e) => e.kind === 'message_edited').length, 2);
  });

  test('rich messages: reactions show with their counts on both sides, mine highlighted, and are taken back', async () => {
    const { a, b } = rich;
    await send(b, 'Pizza tonight?');
    const row = message(a, 'Pizza tonight?');
    await (await rowButton(a, row, 'Add reaction')).click();
    const picker = a.getByRole('dialog', { name: 'Choose a reaction' });
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('thumbs up');
    await picker.getByRole('button', { name: 'thumbs up', exact: true }).click();
    await picker.waitFor({ state: 'detached' });
    const chip = (page) => message(page, 'Pizza tonight?').locator('.reaction[data-emoji="👍"]');
    await chip(b).and(b.locator('[data-count="1"]')).waitFor();
    await chip(a).and(a.locator('[aria-pressed="true"]')).waitFor();
    assert.equal(await chip(b).getAttribute('aria-pressed'), 'false');
    // Rick adds his: 2 on both sides; then takes it back.
    await chip(b).click();
    await chip(a).and(a.locator('[data-count="2"]')).waitFor();
    await chip(b).and(b.locator('[aria-pressed="true"][data-count="2"]')).waitFor();
    await chip(b).click();
    await chip(a).and(a.locator('[data-count="1"]')).waitFor();
    await chip(b).and(b.locator('[aria-pressed="false"][data-count="1"]')).waitFor();
    // Who reacted, on hover.
    await chip(b).hover();
    await chip(b).and(b.locator(`[data-who="${rich.aName}"]`)).waitFor();
    // The picker and the message menu pass axe.
    await (await rowButton(b, message(b, 'Pizza tonight?'), 'Add reaction')).click();
    assert.deepEqual(await axe(b, 'the reaction picker'), []);
    await b.keyboard.press('Escape');
    await (await rowButton(b, message(b, 'Pizza tonight?'), 'More actions')).click();
    await b.getByRole('menuitem', { name: 'Reply', exact: true }).waitFor();
    assert.deepEqual(await axe(b, 'a message’s menu'), []);
    await b.keyboard.press('Escape');
    // The picker remembers it among the recent ones.
    await (await rowButton(a, message(a, 'Dune, of course'), 'Add reaction')).click();
    await picker.getByRole('group', { name: 'Recently used' }).getByRole('button', { name: 'thumbs up', exact: true }).waitFor();
    await a.keyboard.press('Escape');
    await picker.waitFor({ state: 'detached' });
  });

  test('rich messages: delete for me goes from my other device and stays for the other person; delete for everyone leaves a tombstone', async () => {
    const { a, b } = rich;
    rich.a2 = await newPage();
    await signIn(rich.a2, rich.aName);
    await openConv(rich.a2, rich.bName);
    await send(a, 'note to self, sorry');
    await message(rich.a2, 'note to self, sorry').waitFor();
    await message(b, 'note to self, sorry').waitFor();
    await menuChoose(a, message(a, 'note to self, sorry'), 'Delete for me…');
    const confirm = a.getByRole('dialog', { name: 'Delete for me?' });
    await confirm.getByRole('button', { name: 'Delete for me', exact: true }).click();
    await message(a, 'note to self, sorry').waitFor({ state: 'detached' });
    await message(rich.a2, 'note to self, sorry').waitFor({ state: 'detached' });
    // Rick still has it.
    await message(b, 'Pizza tonight?').waitFor();
    assert.equal(await message(b, 'note to self, sorry').count(), 1);
    // Gone after a reload too (history says `hidden` to me).
    await rich.a2.reload();
    await online(rich.a2);
    await openConv(rich.a2, rich.bName);
    await message(rich.a2, 'Pizza tonight?').waitFor();
    assert.equal(await message(rich.a2, 'note to self, sorry').count(), 0);

    await send(a, 'a regrettable message');
    await menuChoose(a, message(a, 'a regrettable message'), 'Delete for everyone…');
    await a.getByRole('dialog', { name: 'Delete for everyone?' }).getByRole('button', { name: 'Delete for everyone', exact: true }).click();
    await b.locator('.messages .msg.deleted', { hasText: 'This message was deleted' }).waitFor();
    await message(b, 'a regrettable message').waitFor({ state: 'detached' });
  });

  test('rich messages: a message forwarded into another conversation says “Forwarded”', async () => {
    const { a, b } = rich;
    const group = (await rich.aApi.call('POST', '/v1/conversations', { kind: 'group', name: `Rich ${RUN}`, members: [rich.bApi.id] })).body;
    rich.group = group.id;
    rich.groupTitle = `Rich ${RUN}`;
    await convItem(a, rich.groupTitle).waitFor();
    await menuChoose(a, message(a, 'Pizza tonight?'), 'Forward…');
    const dlg = a.getByRole('dialog', { name: 'Forward message' });
    await dlg.getByRole('searchbox', { name: 'Find a conversation' }).fill(`Rich ${RUN}`);
    await dlg.locator('.forward-to', { hasText: rich.groupTitle }).click();
    await dlg.waitFor({ state: 'detached' });
    await openConv(b, rich.groupTitle);
    await message(b, 'Pizza tonight?').locator('.forwarded', { hasText: 'Forwarded' }).waitFor();
    const events = await rich.bApi.history(group.id);
    const copy = events.find((e) => e.kind === 'message' && e.text === 'Pizza tonight?');
    assert.equal(copy.forwarded, true);
    assert.equal(copy.sender, rich.aApi.id);
  });

  test('rich messages: a reply in a thread shows under its root as “1 reply”; the other person opens the thread and follows it live', async () => {
    const { a, b } = rich;
    await openConv(a, rich.groupTitle);
    await send(b, 'Where shall we meet?');
    const root = message(a, 'Where shall we meet?');
    await menuChoose(a, root, 'Reply in thread');
    const panel = a.locator('.thread-panel');
    await panel.locator('.thread-root', { hasText: 'Where shall we meet?' }).waitFor();
    const box = a.getByRole('textbox', { name: 'Reply in thread' });
    await box.fill('The library, at six');
    await box.press('Enter');
    await panel.locator('.thread-msg', { hasText: 'The library, at six' }).and(a.locator('[data-status="sent"]')).waitFor();
    // Rick: the root says so, with one unread reply; the reply is not in the timeline.
    const line = message(b, 'Where shall we meet?').locator('.thread-line');
    await line.locator('.thread-count', { hasText: '1 reply' }).waitFor();
    await line.locator('.thread-unread', { hasText: '1' }).waitFor();
    assert.equal(await message(b, 'The library, at six').count(), 0);
    await line.click();
    const bPanel = b.locator('.thread-panel');
    await bPanel.locator('.thread-msg', { hasText: 'The library, at six' }).waitFor();
    // Opened, it is read: the count goes.
    await line.locator('.thread-unread').waitFor({ state: 'detached' });
    // Rita's next reply reaches his open panel live.
    await box.fill('Bring the book');
    await box.press('Enter');
    await bPanel.locator('.thread-msg', { hasText: 'Bring the book' }).waitFor();
    await message(a, 'Where shall we meet?').locator('.thread-count', { hasText: '2 replies' }).waitFor();
    // Replies have their own menu: Rita edits hers there, Rick sees it.
    const reply = panel.locator('.thread-msg', { hasText: 'The library, at six' });
    await reply.hover();
    await reply.getByRole('button', { name: 'More actions' }).click();
    await a.getByRole('menuitem', { name: 'Edit', exact: true }).click();
    const edit = panel.getByRole('textbox', { name: 'Edit message' });
    await edit.fill('The library, at seven');
    await edit.press('Enter');
    await bPanel.locator('.thread-msg', { hasText: 'The library, at seven' }).locator('.edited').waitFor();
    // Deleted for everyone, a reply leaves its tombstone in the thread, not in the timeline.
    const doomed = await panel.locator('.thread-msg', { hasText: 'Bring the book' }).getAttribute('data-seq');
    assert.equal((await rich.aApi.call('DELETE', `/v1/conversations/${rich.group}/messages/${doomed}`)).status, 200);
    await bPanel.locator(`.thread-msg.deleted[data-seq="${doomed}"]`, { hasText: 'This message was deleted' }).waitFor();
    assert.equal(await b.locator('.messages .msg.deleted').count(), 0);
    // A reply also sent to the conversation shows in the timeline too.
    const bBox = b.getByRole('textbox', { name: 'Reply in thread' });
    await bBox.fill('See you there');
    await b.getByLabel('Also send to conversation').check();
    await bBox.press('Enter');
    await message(a, 'See you there').locator('.thread-ref', { hasText: 'Replied in a thread' }).waitFor();
    assert.deepEqual(await axe(b, 'a chat with rich messages and a thread open'), []);
    await screenshot(b, 'rich-messages-thread.png');
    await b.getByRole('button', { name: 'Close thread' }).click();
    await bPanel.waitFor({ state: 'hidden' });
  });

  test('rich messages: “@” lists the members; the mention is highlighted and the other person’s list shows “@”', async () => {
    const { a, b } = rich;
    // Rick looks at another conversation.
    await openConv(b, rich.aName);
    const box = a.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('');
    await box.pressSequentially(`Hi @${rich.bName.slice(0, 3)}`);
    const option = a.getByRole('option', { name: new RegExp(rich.bName) });
    await option.waitFor();
    await box.press('Enter');
    assert.equal(await box.inputValue(), `Hi @${rich.bName} `);
    await box.pressSequentially('are you coming?');
    await box.press('Enter');
    await convItem(b, rich.groupTitle).locator('.conv-mention').waitFor();
    await openConv(b, rich.groupTitle);
    const chip = b.locator('.messages .msg .mention.to-me');
    await chip.waitFor();
    assert.equal(await chip.textContent(), `@${rich.bName}`);
    await convItem(b, rich.groupTitle).locator('.conv-mention').waitFor({ state: 'hidden' });
    const events = await rich.aApi.history(rich.group);
    const sent = events.findLast((e) => e.kind === 'message' && e.text.startsWith('Hi @'));
    assert.deepEqual(sent.mentions, [{ user: rich.bApi.id, start: 3, end: 4 + rich.bName.length }]);
  });

  test('rich messages: a message pinned from its menu is in the pinned list of the other person, live', async () => {
    const { a, b } = rich;
    await send(a, 'Rules: be kind');
    await message(b, 'Rules: be kind').waitFor();
    await b.getByRole('button', { name: 'Pinned messages' }).click();
    const dlg = b.getByRole('dialog', { name: 'Pinned messages' });
    await dlg.getByText('No pinned messages yet.').waitFor();
    // A long press (touch) on the message opens its menu.
    const rules = message(a, 'Rules: be kind');
    const box = await rules.locator('.bubble').boundingBox();
    const at = { pointerType: 'touch', isPrimary: true, clientX: box.x + 10, clientY: box.y + 10 };
    await rules.locator('.text').dispatchEvent('pointerdown', at);
    await a.getByRole('menuitem', { name: 'Pin', exact: true }).click();
    await rules.locator('.text').dispatchEvent('pointerup', at);
    await dlg.locator('.pin-item', { hasText: 'Rules: be kind' }).waitFor();
    await dlg.locator('.pin-item', { hasText: `Pinned by ${rich.aName}` }).waitFor();
    await message(b, 'Rules: be kind').locator('.pin-mark').waitFor();
    await menuChoose(a, message(a, 'Rules: be kind'), 'Unpin');
    await dlg.getByText('No pinned messages yet.').waitFor();
    await b.keyboard.press('Escape');
  });

  test('rich messages: a device that was offline catches up with edits, deletions and reactions', async () => {
    const { a } = rich;
    const b2 = await newPage();
    await signIn(b2, rich.bName);
    await openConv(b2, rich.aName);
    await openConv(a, rich.bName);
    await send(a, 'first draft');
    await send(a, 'to be deleted');
    await message(b2, 'to be deleted').waitFor();
    await b2.context().setOffline(true);
    await b2.locator('.connection[data-state="offline"]').waitFor();
    await menuChoose(a, message(a, 'first draft'), 'Edit');
    const edit = a.getByRole('textbox', { name: 'Edit message' });
    await edit.fill('final text');
    await edit.press('Enter');
    await message(a, 'final text').locator('.edited').waitFor();
    await menuChoose(a, message(a, 'to be deleted'), 'Delete for everyone…');
    await a.getByRole('dialog', { name: 'Delete for everyone?' }).getByRole('button', { name: 'Delete for everyone', exact: true }).click();
    await message(a, 'to be deleted').waitFor({ state: 'detached' });
    await (await rowButton(a, message(a, 'final text'), 'Add reaction')).click();
    const picker = a.getByRole('dialog', { name: 'Choose a reaction' });
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('party popper');
    await picker.getByRole('button', { name: 'party popper', exact: true }).click();
    await message(a, 'final text').locator('.reaction[data-emoji="🎉"][data-count="1"]').waitFor();

    await b2.context().setOffline(false);
    await online(b2);
    await message(b2, 'final text').locator('.edited').waitFor();
    await message(b2, 'final text').locator('.reaction[data-emoji="🎉"][data-count="1"]').waitFor();
    await message(b2, 'first draft').waitFor({ state: 'detached' });
    await message(b2, 'to be deleted').waitFor({ state: 'detached' });
    // Closed (the page navigated away) while Rita edits again, reacts and
    // deletes; opened again, it shows the final state.
    await send(a, 'also to be deleted');
    await message(b2, 'also to be deleted').waitFor();
    await b2.goto('about:blank');
    await menuChoose(a, message(a, 'final text'), 'Edit');
    await edit.fill('the final text');
    await edit.press('Enter');
    await message(a, 'the final text').locator('.edited').waitFor();
    await (await rowButton(a, message(a, 'the final text'), 'Add reaction')).click();
    await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('thumbs up');
    await picker.getByRole('button', { name: 'thumbs up', exact: true }).click();
    await message(a, 'the final text').locator('.reaction[data-emoji="👍"][data-count="1"]').waitFor();
    await menuChoose(a, message(a, 'also to be deleted'), 'Delete for everyone…');
    await a.getByRole('dialog', { name: 'Delete for everyone?' }).getByRole('button', { name: 'Delete for everyone', exact: true }).click();
    await message(a, 'also to be deleted').waitFor({ state: 'detached' });
    await b2.goto(BASE);
    await online(b2);
    await openConv(b2, rich.aName);
    const final = message(b2, 'the final text');
    await final.locator('.reaction[data-emoji="🎉"][data-count="1"]').waitFor();
    await final.locator('.reaction[data-emoji="👍"][data-count="1"]').waitFor();
    await final.locator('.edited').waitFor();
    assert.equal(await message(b2, 'to be deleted').count(), 0);
    assert.equal(await message(b2, 'also to be deleted').count(), 0);
    assert.equal(await message(b2, 'final text').count(), 0);
    for (const page of [b2, rich.a, rich.b, rich.a2]) await page.context().close();
  });

  // ---------- files, pictures, voice messages ----------

  // Two people of their own in a direct conversation, and the files they send.
  const media = {};

  /** A real PNG of `w × h` (a gradient and a disc), drawn in `page`. */
  async function makePng(page, w = 640, h = 400) {
    const b64 = await page.evaluate(
      async ([width, height]) => {
        const c = new OffscreenCanvas(width, height);
        const g = c.getContext('2d');
        const grad = g.createLinearGradient(0, 0, width, height);
        grad.addColorStop(0, '#e2553b');
        grad.addColorStop(1, '#3b6ee2');
        g.fillStyle = grad;
        g.fillRect(0, 0, width, height);
        g.fillStyle = '#ffffff';
        g.beginPath();
        g.arc(width / 2, height / 2, height / 4, 0, 2 * Math.PI);
        g.fill();
        const bytes = new Uint8Array(await (await c.convertToBlob({ type: 'image/png' })).arrayBuffer());
        let s = '';
        for (const x of bytes) s += String.fromCharCode(x);
        return btoa(s);
      },
      [w, h],
    );
    return Buffer.from(b64, 'base64');
  }

  /**
   * Holds every `PATCH` of an upload in `page` until the returned
   * `release()` (so a test can see a file on its way up, or cancel it).
   */
  async function holdUploads(page) {
    const held = [];
    let waiting = null;
    const handler = (route) => {
      if (route.request().method() !== 'PATCH') return route.fallback();
      held.push(route);
      waiting?.();
      return undefined;
    };
    await page.route('**/v1/uploads/*', handler);
    return {
      /** Waits until a PATCH is held. */
      async first() {
        if (!held.length) await new Promise((resolve) => (waiting = resolve));
      },
      async release() {
        await page.unroute('**/v1/uploads/*', handler);
        for (const r of held.splice(0)) await r.continue().catch(() => {}); // aborted meanwhile
      },
    };
  }

  test('files: a picture and a PDF from the paperclip go up with progress in one message with its caption; the other person sees them live, opens the picture, downloads the file, and nobody else may', async () => {
    media.aName = name('maya');
    media.bName = name('milo');
    media.a = await newPage();
    media.b = await newPage();
    await register(media.a, media.aName);
    await register(media.b, media.bName);
    media.aApi = await ApiUser.login(media.aName);
    const dm = (await media.aApi.call('POST', '/v1/conversations', { kind: 'direct', user: (await media.aApi.call('GET', `/v1/users?username=${media.bName}`)).body.id })).body;
    media.dm = dm.id;
    const { a, b } = media;
    await openConv(a, media.bName);
    await openConv(b, media.aName);

    const png = await makePng(a);
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    media.png = png;
    const chooser = a.waitForEvent('filechooser');
    await a.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles([
      { name: 'sunset.png', mimeType: 'image/png', buffer: png },
      { name: 'minutes.pdf', mimeType: 'application/pdf', buffer: pdf },
    ]);
    // The tray: a preview of the picture, the name and size of the file.
    const tray = a.getByRole('list', { name: 'Files to send' });
    await tray.getByRole('img', { name: 'sunset.png' }).waitFor();
    await tray.locator('.tray-item', { hasText: 'minutes.pdf' }).locator('.tray-size', { hasText: `${pdf.length} bytes` }).waitFor();
    assert.equal(await a.getByRole('button', { name: 'Send', exact: true }).isVisible(), true, 'files to send: Send, not the microphone');
    const violations = await axe(a, 'files to send');

    // Sent with a caption: each file shows its progress on the way up.
    const hold = await holdUploads(a);
    const box = a.getByRole('textbox', { name: 'Message', exact: true });
    await box.fill('The **plan** for Saturday');
    await box.press('Enter');
    await hold.first();
    const row = a.locator('.messages .msg.mine.has-media').last();
    await row.getByRole('progressbar', { name: 'Uploading sunset.png' }).waitFor();
    await row.getByRole('button', { name: 'Cancel sending minutes.pdf' }).waitFor();
    assert.equal(await row.getAttribute('data-status'), 'pending');
    assert.equal(await tray.isVisible(), false);
    await hold.release();
    await waitForStatus(a, 'The plan for Saturday', ['sent', 'delivered', 'read']);
    await row.locator('.att-progress').first().waitFor({ state: 'detached' });

    // Bob: one message, the picture (sized, a signed /v1/media URL, the
    // file name as its text alternative), the file card, the caption
    // formatted; the list says what it is.
    const got = b.locator('.messages .msg.theirs.has-media', { has: b.locator('.text strong', { hasText: 'plan' }) });
    const pic = got.getByRole('button', { name: 'Open picture sunset.png' });
    await pic.locator('img[alt="sunset.png"]').waitFor();
    // Its box has the picture's shape before a pixel arrives, and the
    // BlurHash placeholder is painted in it; then the thumbnail shows.
    assert.equal(await pic.evaluate((el) => el.classList.contains('sized')), true);
    const size = await pic.boundingBox();
    assert.ok(Math.abs(size.width / size.height - 640 / 400) < 0.05, `the picture keeps its shape: ${size.width}×${size.height}`);
    const painted = await pic.locator('canvas.att-blur').evaluate((c) => {
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return { w: c.width, opaque: px[3] === 255, colour: px[0] + px[1] + px[2] > 0 };
    });
    assert.deepEqual(painted, { w: 32, opaque: true, colour: true });
    await b.waitForFunction(() => document.querySelector('.msg.theirs .att-image')?.classList.contains('loaded'));
    const src = await pic.locator('img').getAttribute('src');
    assert.match(src, /^\/v1\/media\/[^/?]+\/thumbnail\?u=[^&]+&exp=\d+&sig=[0-9a-f]+$/);
    assert.ok(await pic.locator('img').evaluate((img) => img.naturalWidth === 320 && img.naturalHeight === 200), 'the 320 px thumbnail');
    violations.push(...(await axe(b, 'a message with a picture and a file')));
    await screenshot(b, 'files-light.png');
    const card = got.locator('.att-file', { hasText: 'minutes.pdf' });
    await card.locator('.file-meta', { hasText: `${pdf.length} bytes · PDF` }).waitFor();
    assert.equal(await convItem(b, media.aName).locator('.conv-preview').textContent(), '2 attachments · The **plan** for Saturday');
    assert.equal(await got.locator('.text').textContent(), 'The plan for Saturday');

    // The picture opens in the viewer, which Escape closes.
    await pic.click();
    const viewer = b.getByRole('dialog', { name: 'sunset.png' });
    await viewer.getByRole('img', { name: 'sunset.png' }).waitFor();
    await b.waitForFunction(() => document.querySelector('dialog.viewer .viewer-media')?.complete && document.querySelector('dialog.viewer .viewer-media').naturalWidth === 640);
    await viewer.getByRole('button', { name: 'Download' }).waitFor();
    await b.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    assert.equal(await b.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Open picture sunset.png');

    // The file downloads under its name, with the bytes that were sent.
    const download = b.waitForEvent('download');
    await card.getByRole('button', { name: 'Download minutes.pdf' }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'minutes.pdf');
    assert.deepEqual(readFileSync(await file.path()), pdf);

    // Carol is not in this conversation: no URL for its files.
    const upload = await pic.getAttribute('data-upload');
    const theirs = await carol.call('GET', `/v1/uploads/${upload}/url`);
    assert.equal(theirs.status, 404, JSON.stringify(theirs.body));
    assert.equal((await media.aApi.call('GET', `/v1/uploads/${upload}/url`)).status, 200);
    assert.deepEqual(violations, []);
  });

  test('files: cancelling a file on its way up sends nothing and deletes the upload; a pasted picture and a dropped file go to the tray; a file the server refuses says why', async () => {
    const { a, b } = media;
    const before = await a.locator('.messages .msg').count();
    const chooser = a.waitForEvent('filechooser');
    await a.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles([{ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(300000, 7) }]);
    const hold = await holdUploads(a);
    // (Access tokens expire every few seconds here: an answer may be a
    // 401 that the client refreshes and retries.)
    const created = a.waitForResponse((r) => r.url().endsWith('/v1/uploads') && r.request().method() === 'POST' && r.status() === 201);
    await a.getByRole('button', { name: 'Send', exact: true }).click();
    const id = (await (await created).json()).id;
    await hold.first();
    const deleted = a.waitForResponse((r) => r.url().endsWith(`/v1/uploads/${id}`) && r.request().method() === 'DELETE' && r.status() !== 401);
    await a.getByRole('button', { name: 'Cancel sending big.bin' }).click();
    assert.equal((await deleted).status(), 204);
    await a.locator('.messages .msg.mine.has-media .att-upload').waitFor({ state: 'detached' });
    await hold.release();
    assert.equal(await a.locator('.messages .msg').count(), before);
    assert.equal((await media.aApi.call('GET', `/v1/uploads/${id}`)).status, 404);
    const events = await media.aApi.history(media.dm);
    assert.equal(events.filter((e) => e.attachments?.some((x) => x.name === 'big.bin')).length, 0);

    // A picture pasted into the text box, a file dropped on the conversation.
    const png = await makePng(a, 120, 90);
    await a.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      document.querySelector('.composer-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, png.toString('base64'));
    const tray = a.getByRole('list', { name: 'Files to send' });
    await tray.getByRole('img', { name: 'pasted.png' }).waitFor();
    const drop = await a.evaluateHandle(() => {
      const data = new DataTransfer();
      data.items.add(new File(['one,two\n1,2\n'], 'table.csv', { type: 'text/csv' }));
      data.items.add(new File(['not a picture at all'], 'fake.png', { type: 'image/png' }));
      return data;
    });
    await a.dispatchEvent('.chat-pane', 'dragenter', { dataTransfer: drop });
    await a.locator('.chat-pane.dropping').waitFor();
    await a.dispatchEvent('.chat-pane', 'drop', { dataTransfer: drop });
    await a.locator('.chat-pane.dropping').waitFor({ state: 'detached' });
    await tray.locator('.tray-item', { hasText: 'table.csv' }).waitFor();
    assert.deepEqual(await tray.locator('.tray-name').allTextContents(), ['pasted.png', 'table.csv', 'fake.png']);
    // Taken out again, then sent: the one the server refuses says why,
    // the others go.
    await tray.getByRole('button', { name: 'Remove table.csv' }).click();
    assert.deepEqual(await tray.locator('.tray-name').allTextContents(), ['pasted.png', 'fake.png']);
    await a.getByRole('button', { name: 'Send', exact: true }).click();
    await a.getByRole('alert').filter({ hasText: 'fake.png cannot be sent: its content is not what its type says.' }).waitFor();
    const got = b.locator('.messages .msg.theirs.has-media').last();
    await got.getByRole('button', { name: 'Open picture pasted.png' }).waitFor();
    assert.equal(await got.locator('.att').count(), 1);
  });

  test('voice messages: recorded from the microphone (a click, then Send; or held down and let go) they arrive as voice messages with their length, and play', async () => {
    const { a, b } = media;
    const mic = a.getByRole('button', { name: 'Record a voice message' });
    // Only while nothing is typed.
    await a.getByRole('textbox', { name: 'Message', exact: true }).fill('x');
    await mic.waitFor({ state: 'hidden' });
    await a.getByRole('textbox', { name: 'Message', exact: true }).fill('');
    await mic.click();
    const recorder = a.getByRole('group', { name: 'Recording a voice message' });
    await recorder.getByRole('timer').filter({ hasText: '0:01' }).waitFor();
    assert.equal(await a.getByRole('textbox', { name: 'Message', exact: true }).isVisible(), false);
    await recorder.getByRole('button', { name: 'Send voice message' }).click();
    await recorder.waitFor({ state: 'hidden' });

    const voice = b.locator('.messages .msg.theirs .att-voice').last();
    await voice.waitFor();
    const ms = Number(await voice.getAttribute('data-duration'));
    assert.ok(ms >= 1000 && ms < 10000, `its length: ${ms} ms`);
    assert.match(await voice.getAttribute('aria-label'), /^Voice message, \d+ seconds?$/);
    await convItem(b, media.aName).locator('.conv-preview', { hasText: /^Voice message \(0:0\d\)$/ }).waitFor();
    const events = await media.aApi.history(media.dm);
    const sent = events.filter((e) => e.attachments?.[0]?.voice).at(-1).attachments[0];
    assert.equal(sent.kind, 'audio');
    assert.equal(sent.mime, 'audio/webm');
    assert.equal(sent.duration_ms, ms);
    // It plays, and pauses.
    await voice.getByRole('button', { name: 'Play voice message' }).click();
    await voice.getByRole('button', { name: 'Pause voice message' }).click();
    await voice.getByRole('button', { name: 'Play voice message' }).waitFor();

    // Held down: it records until let go, then sends.
    const before = await b.locator('.messages .msg.theirs .att-voice').count();
    await mic.hover();
    await a.mouse.down();
    await recorder.getByRole('timer').filter({ hasText: '0:01' }).waitFor();
    await a.mouse.up();
    await recorder.waitFor({ state: 'hidden' });
    await b.locator('.messages .msg.theirs .att-voice').nth(before).waitFor();
    // Cancelled: nothing is sent.
    await mic.click();
    await recorder.getByRole('button', { name: 'Cancel recording' }).click();
    await recorder.waitFor({ state: 'hidden' });
    assert.equal(await a.locator('.messages .msg.mine .att-voice').count(), before + 1);
  });

  test('the media of a conversation: pictures in a grid that opens the viewer (arrow keys go through them), files in a list', async () => {
    const { b } = media;
    await b.getByRole('button', { name: 'More options' }).click();
    await b.getByRole('menuitem', { name: 'Media and files' }).click();
    const gallery = b.getByRole('dialog', { name: `Media and files · ${media.aName}` });
    const grid = gallery.getByRole('tabpanel');
    await grid.getByRole('button', { name: 'Open picture sunset.png' }).waitFor();
    // Newest first.
    assert.deepEqual(await grid.locator('.gallery-item').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))), ['Open picture pasted.png', 'Open picture sunset.png']);
    const violations = await axe(b, 'the media of a conversation');
    await gallery.getByRole('tab', { name: 'Files' }).click();
    await grid.locator('.att-file', { hasText: 'minutes.pdf' }).waitFor();
    await grid.locator('.gallery-from', { hasText: media.aName }).first().waitFor();
    await gallery.getByRole('tab', { name: 'Voice and audio' }).click();
    await grid.locator('.att-voice').first().waitFor();
    await gallery.getByRole('tab', { name: 'Media' }).click();
    await grid.getByRole('button', { name: 'Open picture sunset.png' }).click();
    const viewer = b.getByRole('dialog', { name: 'sunset.png' });
    await viewer.locator('.viewer-count', { hasText: '2 of 2' }).waitFor();
    violations.push(...(await axe(b, 'the picture viewer')));
    await b.keyboard.press('ArrowLeft');
    await b.getByRole('dialog', { name: 'pasted.png' }).locator('.viewer-count', { hasText: '1 of 2' }).waitFor();
    await b.getByRole('dialog', { name: 'pasted.png' }).getByRole('img', { name: 'pasted.png' }).waitFor();
    await b.getByRole('button', { name: 'Close viewer' }).click();
    await b.locator('dialog.viewer').waitFor({ state: 'detached' });
    await b.keyboard.press('Escape');
    await gallery.waitFor({ state: 'detached' });
    assert.deepEqual(violations, []);
  });

  test('avatars: my picture from settings shows in the other person’s list and header; a group’s picture, set in its panel, shows to its members at once, and beside messages in the group', async () => {
    const { a, b } = media;
    await a.getByRole('button', { name: 'Settings' }).click();
    const settings = a.getByRole('dialog', { name: 'Settings' });
    const chooser = a.waitForEvent('filechooser');
    await settings.getByRole('button', { name: 'Choose a profile picture…' }).click();
    await (await chooser).setFiles({ name: 'me.png', mimeType: 'image/png', buffer: await makePng(a, 300, 200) });
    await settings.getByText('New profile picture saved.').waitFor();
    await settings.getByRole('button', { name: 'Remove profile picture' }).waitFor();
    const violations = await axe(a, 'settings with a profile picture');
    await a.keyboard.press('Escape');
    // My own, in the sidebar.
    await a.locator('.sidebar .avatar.has-image img[src^="/v1/avatars/"]').first().waitFor();
    const { avatar } = (await media.aApi.call('GET', '/v1/me')).body;
    assert.ok(avatar);

    // The other person reads profiles when they load: a reload.
    await b.reload();
    await online(b);
    const face = `img.avatar-img[src="/v1/avatars/${avatar}?size=small"]`;
    await convItem(b, media.aName).locator(face).waitFor();
    await openConv(b, media.aName);
    await b.locator(`.chat-head ${face}`).waitFor();
    assert.equal(await b.locator(`.chat-head ${face}`).evaluate((img) => img.complete && img.naturalWidth), 64);

    // A group: its picture, set in the panel, reaches the members live.
    const bId = (await media.aApi.call('GET', `/v1/users?username=${media.bName}`)).body.id;
    const group = (await media.aApi.call('POST', '/v1/conversations', { kind: 'group', name: `Pictures ${RUN}`, members: [bId] })).body;
    await openConv(a, `Pictures ${RUN}`);
    await a.getByRole('button', { name: 'Group info' }).click();
    const info = a.getByRole('dialog', { name: 'Group info' });
    const groupChooser = a.waitForEvent('filechooser');
    await info.getByRole('button', { name: 'Choose a group picture…' }).click();
    await (await groupChooser).setFiles({ name: 'club.png', mimeType: 'image/png', buffer: await makePng(a, 200, 200) });
    await info.getByText('New group picture saved.').waitFor();
    await a.keyboard.press('Escape');
    const groupAvatar = (await media.aApi.call('GET', `/v1/conversations/${group.id}`)).body.avatar;
    assert.ok(groupAvatar);
    await convItem(b, `Pictures ${RUN}`).locator(`img.avatar-img[src="/v1/avatars/${groupAvatar}?size=small"]`).waitFor();
    await openConv(b, `Pictures ${RUN}`);
    await b.locator('.messages .system', { hasText: `${media.aName} changed the group picture` }).waitFor();
    await b.locator(`.chat-head img.avatar-img[src="/v1/avatars/${groupAvatar}?size=small"]`).waitFor();
    // Beside the sender's messages in the group.
    await send(a, 'Nice picture?');
    await message(b, 'Nice picture?').locator(`.msg-avatar ${face}`).waitFor();
    // Removed: initials again, for everyone.
    await a.getByRole('button', { name: 'Group info' }).click();
    await info.getByRole('button', { name: 'Remove group picture' }).click();
    await info.getByText('Group picture removed.').waitFor();
    await a.keyboard.press('Escape');
    await b.locator('.messages .system', { hasText: `${media.aName} removed the group picture` }).waitFor();
    await convItem(b, `Pictures ${RUN}`).locator('.avatar:not(.has-image) .initials', { hasText: 'P' }).waitFor();
    assert.deepEqual(violations, []);
  });

  // ---------- searching messages ----------

  test('search: Ctrl-K finds messages as they are typed (case, accents and Chinese or Japanese too) and opens one at its place; filters narrow it; deleted messages and other people’s conversations are never found', async () => {
    // Bob signed out in the settings test.
    await signIn(bob, users.bob);
    const dinnerText = 'Dinner at the Café Müller on Friday?';
    const dinner = await aliceApi.send(directId, dinnerText);
    await aliceApi.send(directId, '東京タワーの写真を送ります');
    await aliceApi.send(directId, 'The menu: https://example.com/cafe-menu');
    const terrace = 'The café terrace, or inside?';
    const reply = await aliceApi.call('POST', `/v1/conversations/${directId}/messages`, { client_id: `terrace-${RUN}`, text: terrace, thread: dinner.seq });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    // A message deleted for everyone is found until it is deleted.
    const secret = await aliceApi.send(directId, 'A café secret, soon deleted');
    assert.equal((await aliceApi.call('GET', '/v1/search?q=secret')).body.results.length, 1);
    assert.equal((await aliceApi.call('DELETE', `/v1/conversations/${directId}/messages/${secret.seq}`)).status, 200);
    for (let i = 1; i <= 21; i += 1) await aliceApi.send(groupId, `Chapter ${i} of the saga`);
    // A file, through the paperclip.
    await openConv(alice, users.bob);
    const chooser = alice.waitForEvent('filechooser');
    await alice.getByRole('button', { name: 'Attach files' }).click();
    await (await chooser).setFiles([{ name: 'plan.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') }]);
    const composer = alice.getByRole('textbox', { name: 'Message', exact: true });
    await composer.fill('Floor plan of the café');
    await composer.press('Enter');
    await waitForStatus(alice, 'Floor plan of the café', ['sent', 'delivered', 'read']);
    await openConv(bob, users.alice);
    await send(bob, 'Only if the café still has crème brûlée');

    // Bob, in another conversation, presses Ctrl-K and types the start of a word.
    await openConv(bob, 'Book club');
    await bob.keyboard.press('Control+KeyK');
    const dlg = bob.getByRole('dialog', { name: 'Search messages' });
    const box = dlg.getByRole('combobox', { name: 'Search messages' });
    await box.waitFor();
    assert.equal(await box.evaluate((el) => el === document.activeElement), true, 'the text box has focus');
    await box.pressSequentially('caf');
    // Found in the conversation with Alice (its group's name), whole
    // words marked, the deleted message not among them.
    const hits = dlg.getByRole('option');
    const hit = (text) => hits.filter({ has: bob.locator('.search-hit-snippet', { hasText: exactly(text) }) });
    const snippets = () => dlg.locator('.search-hit-snippet').allTextContents();
    const fromAlice = dlg.getByRole('group', { name: users.alice });
    await fromAlice.getByRole('option').filter({ hasText: dinnerText }).locator('mark', { hasText: exactly('Café') }).waitFor();
    const found = [dinnerText, 'The menu: https://example.com/cafe-menu', terrace, 'Floor plan of the café', 'Only if the café still has crème brûlée'];
    await dlg.locator('.search-status', { hasText: '5 messages found.' }).waitFor();
    assert.deepEqual((await snippets()).sort(), [...found].sort());
    assert.equal(await fromAlice.getByRole('option').count(), 5);
    assert.deepEqual(await hit('The menu: https://example.com/cafe-menu').locator('mark').allTextContents(), ['cafe']);
    assert.equal(await hit(terrace).locator('.search-hit-thread').textContent(), 'in a thread');
    assert.equal(await hit('Only if the café still has crème brûlée').locator('.search-hit-sender').textContent(), 'You');
    const violations = await axe(bob, 'the message search with results');

    // More words narrow it; accents and case do not matter; a Japanese
    // phrase is found by its characters.
    await box.fill('CAFE mül');
    await dlg.locator('.search-status', { hasText: '1 message found.' }).waitFor();
    assert.deepEqual(await hit(dinnerText).locator('mark').allTextContents(), ['Café', 'Müller']);
    await box.fill('京タ');
    await hit('東京タワーの写真を送ります').locator('mark', { hasText: exactly('京タ') }).waitFor();
    // Quotes, stars, minus signs and OR are plain text, never errors.
    await box.fill('"café müller"');
    await dlg.locator('.search-status', { hasText: '1 message found.' }).waitFor();
    await box.fill('café OR -müller*');
    await dlg.locator('.search-status', { hasText: 'No messages match “café OR -müller*”.' }).waitFor();
    await box.fill('"*');
    await dlg.locator('.search-status', { hasText: 'No messages match' }).waitFor();
    assert.equal(await dlg.locator('.search-error').textContent(), '');

    // The arrow keys choose, Enter opens: the conversation with Alice,
    // loaded back to the message, which is on screen and highlighted.
    await box.fill('café mül');
    await hit(dinnerText).waitFor();
    await box.press('ArrowDown');
    assert.equal(await hit(dinnerText).getAttribute('aria-selected'), 'true');
    await box.press('Enter');
    await dlg.waitFor({ state: 'detached' });
    await bob.locator('.chat-title', { hasText: users.alice }).waitFor();
    const row = message(bob, dinnerText);
    await row.and(bob.locator('.flash')).waitFor();
    assert.ok(
      await row.evaluate((el) => {
        const r = el.getBoundingClientRect();
        const view = document.querySelector('.scroller').getBoundingClientRect();
        return r.top >= view.top && r.bottom <= view.bottom;
      }),
      'the message is on screen',
    );

    // Filters: with a file; from someone; replies in threads, which open
    // in the thread panel at the reply. The text stays from last time.
    await bob.getByRole('button', { name: 'Search messages' }).click();
    assert.equal(await box.inputValue(), 'café mül');
    await box.fill('caf');
    await dlg.locator('.search-status', { hasText: '5 messages found.' }).waitFor();
    await dlg.getByRole('button', { name: 'Has a file' }).click();
    await dlg.locator('.search-status', { hasText: '1 message found.' }).waitFor();
    assert.deepEqual(await snippets(), ['Floor plan of the café']);
    await dlg.getByRole('button', { name: 'Has a file' }).click();
    const from = dlg.getByRole('combobox', { name: 'From' });
    await from.pressSequentially(users.alice.slice(0, 6));
    await dlg.getByRole('listbox', { name: 'People' }).getByRole('option', { name: new RegExp(users.alice) }).click();
    await dlg.locator('.search-from-chip', { hasText: users.alice }).waitFor();
    await dlg.locator('.search-status', { hasText: '4 messages found.' }).waitFor();
    assert.deepEqual((await snippets()).sort(), found.filter((t) => !t.startsWith('Only')).sort());
    await dlg.getByRole('button', { name: `From ${users.alice}: any sender instead` }).click();
    await dlg.locator('.search-status', { hasText: '5 messages found.' }).waitFor();
    await dlg.getByRole('button', { name: 'In threads' }).click();
    await dlg.locator('.search-status', { hasText: '1 message found.' }).waitFor();
    await box.press('Enter');
    await dlg.waitFor({ state: 'detached' });
    const panel = bob.locator('.thread-panel');
    await panel.locator('.thread-root', { hasText: dinnerText }).waitFor();
    await panel.locator('.thread-msg.flash', { hasText: terrace }).waitFor();

    // A day range that ends before today finds nothing, and says so.
    await bob.keyboard.press('Control+KeyK');
    await dlg.getByRole('button', { name: 'Clear filters' }).click();
    await dlg.locator('.search-status', { hasText: '5 messages found.' }).waitFor();
    const d = new Date(Date.now() - 24 * 3600 * 1000);
    await dlg.getByLabel('Until').fill(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`);
    await dlg.locator('.search-status', { hasText: 'No messages match “caf”. Try fewer filters.' }).waitFor();
    await dlg.getByRole('button', { name: 'Clear filters' }).click();

    // Twenty at a time: more on request.
    await box.fill('saga');
    await dlg.locator('.search-status', { hasText: '20 messages found, more below.' }).waitFor();
    await dlg.getByRole('button', { name: 'Show more results' }).click();
    await dlg.locator('.search-status', { hasText: '21 messages found.' }).waitFor();
    assert.equal(await dlg.getByRole('group', { name: 'Book club' }).getByRole('option').count(), 21);
    assert.equal(await dlg.getByRole('button', { name: 'Show more results' }).isVisible(), false);

    // The deleted message is never found.
    await box.fill('secret');
    await dlg.locator('.search-status', { hasText: 'No messages match “secret”.' }).waitFor();
    await bob.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });

    // Carol is not in the conversation: her search never shows it, and
    // asking for it by id is refused.
    const theirs = await carol.call('GET', '/v1/search?q=caf');
    assert.equal(theirs.status, 200, JSON.stringify(theirs.body));
    assert.deepEqual(theirs.body.results.filter((r) => r.conv === directId), []);
    assert.equal((await carol.call('GET', '/v1/search?q=m%C3%BCller')).body.results.length, 0);
    const refused = await carol.call('GET', `/v1/search?q=caf&conv=${directId}`);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'not_member');
    assert.deepEqual(violations, []);
  });

  test('accessibility: axe-core finds nothing serious on the main screens, light and dark', async () => {
    const ann = name('ann');
    const ben = await ApiUser.register(name('ben'));
    const cy = await ApiUser.register(name('cy'));
    const dee = await ApiUser.register(name('dee'));
    // A group Ann is not in, and an invite link to it: the join page.
    const walk = (await ben.call('POST', '/v1/conversations', { kind: 'group', name: `Walk ${RUN}`, members: [cy.id] })).body;
    await ben.call('PATCH', `/v1/conversations/${walk.id}`, { description: 'Sundays, rain or shine.' });
    const walkLink = await ben.call('POST', `/v1/conversations/${walk.id}/invites`, { max_uses: 5 });
    assert.equal(walkLink.status, 201, JSON.stringify(walkLink.body));
    const found = [];
    for (const scheme of ['light', 'dark']) {
      const page = await newPage({ colorScheme: scheme });
      await page.goto(BASE);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      found.push(...(await axe(page, `login (${scheme})`)));
      if (scheme === 'light') await register(page, ann);
      else await signIn(page, ann);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme);
      const annApi = await ApiUser.login(ann);
      if (scheme === 'light') {
        // A direct chat both ways, a group, and a request to Ann.
        const dm = (await annApi.call('POST', '/v1/conversations', { kind: 'direct', user: ben.id })).body;
        await annApi.send(dm.id, 'Lunch today?');
        await ben.send(dm.id, 'Sure, at noon');
        const group = (
          await annApi.call('POST', '/v1/conversations', { kind: 'group', name: `Axe ${RUN}`, members: [ben.id, cy.id] })
        ).body;
        const described = await annApi.call('PATCH', `/v1/conversations/${group.id}`, { description: 'Where we talk.\nAbout axes.' });
        assert.equal(described.status, 200, JSON.stringify(described.body));
        const hello = await cy.send(group.id, 'Hello group');
        await annApi.send(group.id, 'Hi all');
        // A report for the panel's Reports section.
        const reported = await ben.call('POST', `/v1/conversations/${group.id}/reports`, { seq: hello.seq, reason: 'other', note: 'Just checking' });
        assert.equal(reported.status, 201, JSON.stringify(reported.body));
        const req = (await dee.call('POST', '/v1/conversations', { kind: 'direct', user: annApi.id })).body;
        await dee.send(req.id, 'Hi, may I ask something?');
        // And a group invitation: Ann lets nobody add her at once.
        const privacy = { presence: 'everyone', read_receipts: true, group_adds: 'nobody' };
        assert.equal((await annApi.call('PUT', '/v1/me/privacy', privacy)).status, 200);
        await dee.call('POST', '/v1/conversations', { kind: 'group', name: `Invite ${RUN}`, members: [annApi.id] });
      }
      const notNow = page.getByRole('button', { name: 'Not now' });
      await notNow.waitFor();
      await convItem(page, ben.username).locator('.conv-preview', { hasText: 'Sure, at noon' }).waitFor();
      await convItem(page, dee.username).waitFor();
      await convItem(page, `Invite ${RUN}`).waitFor();
      found.push(...(await axe(page, `chat list with the notification offer (${scheme})`)));
      await notNow.click();

      await openConv(page, ben.username);
      await message(page, 'Sure, at noon').waitFor();
      found.push(...(await axe(page, `direct conversation (${scheme})`)));
      await page.getByRole('button', { name: 'More options' }).click();
      await page.getByRole('menuitem').first().waitFor();
      found.push(...(await axe(page, `conversation menu (${scheme})`)));
      await page.keyboard.press('Escape');

      await openConv(page, `Axe ${RUN}`);
      const mine = message(page, 'Hi all');
      await mine.locator('.receipt-btn').click();
      await mine.locator('.receipt-pop', { hasText: 'Read by' }).waitFor();
      await page.locator('.chat-description', { hasText: 'Where we talk.' }).waitFor();
      found.push(...(await axe(page, `group conversation with "read by" (${scheme})`)));
      const theirs = message(page, 'Hello group');
      await theirs.hover();
      await theirs.getByRole('button', { name: `Report message from ${cy.username}…` }).click();
      const report = page.getByRole('dialog', { name: 'Report message' });
      await report.getByRole('radio', { name: 'Abuse or harassment' }).check();
      found.push(...(await axe(page, `report a message (${scheme})`)));
      await report.getByRole('button', { name: 'Report', exact: true }).click();
      await report.getByRole('status').filter({ hasText: 'Reported.' }).waitFor();
      found.push(...(await axe(page, `report a message, sent (${scheme})`)));
      await page.keyboard.press('Escape');
      await report.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'More options' }).click();
      await page.getByRole('menuitem', { name: 'Leave group' }).click();
      const leave = page.getByRole('dialog', { name: 'Leave group?' });
      await leave.getByRole('button', { name: 'Leave group' }).click();
      await leave.getByRole('alert').filter({ hasText: /owner cannot leave/ }).waitFor();
      found.push(...(await axe(page, `leave group, refused (${scheme})`)));
      await page.keyboard.press('Escape');
      await leave.waitFor({ state: 'detached' });

      await page.getByRole('button', { name: 'More options' }).click();
      await page.getByRole('menuitem', { name: 'Group info' }).click();
      const info = page.getByRole('dialog', { name: 'Group info' });
      await info.locator('.member').nth(2).waitFor();
      await info.getByRole('region', { name: 'Banned' }).getByText('Nobody is banned.').waitFor();
      await info.getByRole('region', { name: 'Settings' }).getByLabel('Description').waitFor();
      await info.locator('.group-description', { hasText: 'About axes.' }).waitFor();
      await info.getByRole('region', { name: 'Reports' }).locator('.report', { hasText: 'Hello group' }).first().waitFor();
      const links = info.getByRole('region', { name: 'Invite links' });
      const made = await links.locator('.invite').count();
      await links.getByLabel('Expires after').selectOption({ label: '7 days' });
      await links.getByLabel('Maximum uses').fill('10');
      await links.getByRole('button', { name: 'Create link' }).click();
      await links.locator('.invite').nth(made).waitFor();
      await info.getByRole('button', { name: `Actions for ${cy.username}` }).click();
      await page.getByRole('menuitem', { name: 'Transfer ownership' }).waitFor();
      found.push(...(await axe(page, `group info with a member's actions (${scheme})`)));
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await info.waitFor({ state: 'detached' });

      await openConv(page, `Invite ${RUN}`);
      await page.getByRole('region', { name: 'Message request', exact: true }).getByRole('button', { name: 'Leave' }).waitFor();
      found.push(...(await axe(page, `group invitation (${scheme})`)));

      await openConv(page, dee.username);
      await page.getByRole('region', { name: 'Message request', exact: true }).waitFor();
      found.push(...(await axe(page, `message request (${scheme})`)));

      await page.getByRole('button', { name: 'Settings' }).click();
      const settings = page.getByRole('dialog', { name: 'Settings' });
      await settings.locator('.session.current').waitFor();
      await settings.getByLabel('Send read receipts').waitFor();
      await settings.getByText('You have not blocked anyone.').waitFor();
      found.push(...(await axe(page, `settings (${scheme})`)));
      await page.keyboard.press('Escape');
      await settings.waitFor({ state: 'detached' });

      await page.goto(`${BASE}/#/join/${walkLink.body.token}`);
      await page.getByRole('region', { name: `Walk ${RUN}` }).getByRole('button', { name: 'Join' }).waitFor();
      found.push(...(await axe(page, `join page (${scheme})`)));
      await page.goto(`${BASE}/#/join/${'x'.repeat(22)}`);
      await page.getByRole('region', { name: 'This invite link does not work' }).getByRole('alert').filter({ hasText: 'No such invite link' }).waitFor();
      found.push(...(await axe(page, `join page, a link that does not work (${scheme})`)));
      await page.context().close();
    }
    assert.deepEqual(found, [], 'no serious or critical violations (each is printed above)');
  });

  test('screenshots of the main screens, light and dark', async (t) => {
    if (!SHOTS) {
      t.skip('set NATTER_SCREENSHOTS=<folder> to save them');
      return;
    }
    // Three people with a believable conversation, written over the API.
    // (Plain names: the runner's server is new for every run.)
    const dana = await ApiUser.register('dana');
    const erin = await ApiUser.register('erin');
    const frank = await ApiUser.register('frank');
    const dm = (await dana.call('POST', '/v1/conversations', { kind: 'direct', user: erin.id })).body;
    const hike = (
      await erin.call('POST', '/v1/conversations', {
        kind: 'group',
        name: 'Weekend hike',
        members: [dana.id, frank.id],
      })
    ).body;
    await erin.send(hike.id, 'Saturday looks sunny. Anyone up for the ridge trail?');
    await frank.send(hike.id, 'In! I can drive, 3 seats left.');
    await erin.send(dm.id, 'Hey! Did you get the tickets for Friday?');
    await dana.send(dm.id, 'Yes, two seats in row F.');
    await erin.send(dm.id, 'Amazing. Dinner before the show?');
    await dana.send(dm.id, 'Sure, the ramen place at 6?\nI will book a table.');
    await erin.send(dm.id, 'Perfect, see you there!');
    await frank.send(hike.id, 'Bring water and sunscreen.');

    for (const scheme of ['light', 'dark']) {
      const page = await newPage({ colorScheme: scheme });
      await page.goto(BASE);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await screenshot(page, `login-${scheme}.png`);

      // Erin online in another browser, so Dana sees her presence.
      const erinPage = await newPage({ colorScheme: scheme });
      await erinPage.goto(BASE);
      await erinPage.getByLabel('Username').fill('erin');
      await erinPage.getByLabel('Password').fill(PASSWORD);
      await erinPage.getByRole('button', { name: 'Sign in' }).click();
      await online(erinPage);

      await page.getByLabel('Username').fill('dana');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await online(page);
      const notNow = page.getByRole('button', { name: 'Not now' });
      if (await notNow.isVisible()) await notNow.click();
      await openConv(page, 'erin');
      await message(page, 'Perfect, see you there!').waitFor();
      await openConv(erinPage, 'dana');
      await waitForStatus(page, 'Sure, the ramen place at 6?\nI will book a table.', 'read');
      await erinPage.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('See');
      await page.locator('.typing-line', { hasText: 'is typing' }).waitFor();
      await page.locator('.chat-subtitle', { hasText: 'online' }).waitFor();
      await page.locator('.composer-input').blur();
      await screenshot(page, `chat-${scheme}.png`);

      await page.getByRole('button', { name: 'Settings' }).click();
      await page.getByRole('dialog').locator('.session.current').waitFor();
      await page.getByRole('dialog').getByLabel('Send read receipts').waitFor();
      await screenshot(page, `settings-${scheme}.png`);
      await page.keyboard.press('Escape');

      await page.setViewportSize({ width: 390, height: 800 });
      await screenshot(page, `phone-chat-${scheme}.png`);
      await page.getByRole('button', { name: 'Back to conversations' }).click();
      await screenshot(page, `phone-list-${scheme}.png`);
      await erinPage.context().close();
      await page.context().close();
    }
  });

  test('no page errors; tokens were refreshed, never reused', () => {
    assert.deepEqual(pageErrors, []);
    assert.ok(refreshes.length > 0, 'access tokens were refreshed');
    assert.deepEqual(
      refreshes.filter((s) => s !== 200),
      [],
    );
    assert.deepEqual(dialogs, []);
  });
});
