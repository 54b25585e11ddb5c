// The sync engine: keeps the store in step with the server.
//
// (Long on purpose: every log entry and every write the client makes goes
// through here, so that the cursor, dedup and the outbox stay in one place.)
//
// Start: `GET /v1/me` (who I am, the log head), `GET /v1/conversations`,
// then the live connection from this device's stored cursor (or, on a new
// device, from the head: history comes over HTTP, not by replaying the
// log). Every log entry (`event`, `receipt`, `membership`, `settings`,
// `report`) is applied once: entries at or below the cursor are replays
// and dropped; events are deduplicated by (conv, seq). The cursor is stored after each
// entry is applied. A `membership` entry is my own subscription to a
// broadcast channel beginning or ending (protocol.md, "Broadcast
// channels"): no event of the channel says so. A `settings` entry is a
// change of my own settings of a conversation (mute, archive, pin, the
// unread mark), made on any of my devices. A `personal` entry is a change
// for my devices alone (a message I hid, my reaction in a channel, a
// thread I read). Events that change an earlier message (an edit, a
// reaction, a pin, a reply in a thread) are applied once, to whatever is
// loaded of it; history brings their effect on what is loaded later.
//
// The list is read in three parts: every pinned conversation, the others
// a page at a time, and the archived ones a page at a time (apart).
//
// The live connection is a WebSocket, or Server-Sent Events plus HTTP
// where WebSockets are blocked (live.js); frames look the same either way.
//
// It also owns the outbox (sent after `synced`, again after every
// reconnect, always with the same client id), delivered and read receipts
// (coalesced per conversation), typing (throttled) and resync.

import { ApiError, richFields, SessionGone } from './api.js';
import { Live } from './live.js';
import { Outbox, uuid } from './outbox.js';
import * as storage from './storage.js';
import { badgeOf, threadOnly } from './store.js';

// Events that change an earlier message: they do not move the
// conversation up the list or count as unread (protocol.md, "Rich messages").
const OPERATIONS = new Set([
  'message_deleted',
  'message_edited',
  'reaction_added',
  'reaction_removed',
  'reaction_counts',
  'message_pinned',
  'message_unpinned',
]);

const TYPING_REFRESH_MS = 3000; // the server's indicator lasts 6 s
const TYPING_IDLE_MS = 5000;
const RETRY_SEND_MS = 3000;
// The widest range one `GET …/views` may ask for (`to - from` below 500).
const VIEWS_SPAN = 500;
// Conversations per page of the list; more load as the list is scrolled.
const LIST_PAGE = 50;
// Pinned conversations per request (all of them are read at start).
const PIN_PAGE = 100;
// What each part of the list asks for (`GET /v1/conversations`).
const FILTERS = {
  pinned: { pinned: true, archived: false },
  main: { pinned: false, archived: false },
  archived: { archived: true },
};

export class Sync {
  constructor({ api, store, onGone, onMessage }) {
    this.api = api;
    this.store = store;
    this.onGone = onGone;
    this.onMessage = onMessage ?? (() => {});
    this.cursor = null;
    this.cursorN = 0n;
    this.outbox = null;
    this.inflight = new Set(); // client ids written to the current socket
    this.receipts = new Map(); // `${conv}|${kind}` → seq, waiting for the socket
    this.receiptTimer = null;
    this.typingState = new Map(); // conv → {sentAt, idle}
    this.fetchingConv = new Map();
    this.fetchingUsers = new Set();
    this.live = null;
    this.stopped = false;
    store.resolveUsers = (ids) => this.#resolveUsers(ids);
  }

  /** Loads the account and conversations, then connects. */
  async start() {
    const me = await this.api.me();
    this.#me(me);
    this.outbox = new Outbox(me.device);
    // A new device starts at the head and loads history over HTTP.
    this.#setCursor(storage.loadCursor(me.device) ?? me.head);
    await this.reload();
    // Not pushed to other devices: read at every start (and after a
    // `blocked` error). The app works without it meanwhile.
    this.loadBlocks().catch(() => {});
    this.store.emit('outbox', 'convs');
    this.live = new Live({
      api: this.api,
      cursor: () => this.cursor,
      onFrame: (f) => this.#frame(f),
      onState: (s) => this.#connection(s),
      onResync: (c) => this.#resync(c),
      onGone: (e) => this.#gone(e),
      onTransport: (t) => {
        this.store.transport = t;
        this.store.emit('connection');
      },
    });
    this.live.start();
  }

  /** Stops the connection and timers. */
  stop() {
    this.stopped = true;
    this.live?.stop();
    clearTimeout(this.receiptTimer);
    for (const t of this.typingState.values()) clearTimeout(t.idle);
    this.store.clearTyping();
  }

  #gone(e) {
    if (this.stopped) return;
    this.stop();
    this.onGone(e);
  }

  /** Takes `Me` (at start, and after a change of my profile). */
  #me(me) {
    const store = this.store;
    store.me = {
      id: me.id,
      username: me.username,
      device: me.device ?? store.me?.device,
      display_name: me.display_name || null,
      about: me.about || null,
      avatar: me.avatar || null,
      // A server admin (protocol.md, "Suspending accounts").
      admin: me.admin === true,
    };
    store.addUsers([store.me]);
    store.emit('me', 'users');
  }

  /**
   * Reloads the conversation list (and drops loaded history): all the
   * pinned conversations, the first page of the others, and the first
   * page of the archived ones.
   */
  async reload() {
    const [pinned, main, archived] = await Promise.all([
      this.#allPinned(),
      this.api.conversations({ limit: LIST_PAGE, ...FILTERS.main }),
      this.api.conversations({ limit: LIST_PAGE, ...FILTERS.archived }),
    ]);
    const store = this.store;
    store.setConversations([...pinned, ...main.conversations, ...archived.conversations]);
    store.pages.main = { next: main.next ?? null, loading: false, error: null };
    store.pages.archived = { next: archived.next ?? null, loading: false, error: null };
    store.setUnreadTotal(main.unread_total);
    this.#listed([...store.convs.values()]);
  }

  /** Every pinned conversation that is not archived (there are few). */
  async #allPinned() {
    const out = [];
    let before;
    for (;;) {
      const page = await this.api.conversations({ limit: PIN_PAGE, before, ...FILTERS.pinned });
      out.push(...page.conversations);
      if (!page.next || page.conversations.length === 0) return out;
      before = page.next;
    }
  }

  /**
   * Loads the next page of the list (`main`) or of the archived
   * conversations (`archived`), if there is one. A conversation already
   * here (it moved up with new activity) is merged, never listed twice.
   */
  async loadMore(which = 'main') {
    const store = this.store;
    const pages = store.pages[which];
    if (!pages?.next || pages.loading) return;
    pages.loading = true;
    pages.error = null;
    store.emit('convs');
    try {
      const page = await this.api.conversations({ limit: LIST_PAGE, before: pages.next, ...FILTERS[which] });
      const added = [];
      for (const info of page.conversations) {
        if (store.gone.has(info.id)) continue;
        const known = store.convs.get(info.id);
        if (known && !known.stale) continue; // what this device has is newer
        added.push(store.upsert(info));
      }
      pages.next = page.next ?? null;
      store.setUnreadTotal(page.unread_total);
      this.#listed(added);
    } catch (e) {
      pages.error = e;
    } finally {
      pages.loading = false;
      store.emit('convs');
    }
  }

  /** The badge's total again, from the server (`unread_total`). */
  async #refreshTotal() {
    try {
      const page = await this.api.conversations({ limit: 1 });
      this.store.setUnreadTotal(page.unread_total);
    } catch {
      // The next page or reload brings it.
    }
  }

  /**
   * Reads a conversation's details again: a channel's subscribers come and
   * go without an event, so its count is read when it is opened.
   */
  refresh(id) {
    if (!this.store.convs.has(id) || this.store.gone.has(id)) return;
    this.#fetchConv(id);
  }

  /** Makes sure a conversation (opened by its address) is loaded. */
  ensure(id) {
    if (this.store.convs.has(id) || this.store.gone.has(id)) return;
    this.#fetchConv(id);
  }

  /** What to do for conversations that just came into the list. */
  #listed(convs) {
    const me = this.store.me.id;
    for (const c of convs) {
      // Whatever this device now shows has been delivered to it.
      if (c.unread > 0) this.#queueReceipt(c.id, 'delivered', c.lastSeq);
      // A group with nothing to show that I did not create: was I added
      // later? Its first visible event says (one small request, only for
      // such groups), so the list does not claim I saw it created.
      if (c.kind === 'group' && !c.lastMessage && c.lastSeq > 1 && c.creator !== me) this.#probeJoin(c);
    }
  }

  async #probeJoin(conv) {
    try {
      const page = await this.api.history(conv.id, { after: 0, limit: 1 });
      for (const ev of page.events) conv.noteJoin(ev, this.store.me.id);
      if (conv.joined) this.store.emit('convs', `conv:${conv.id}`);
    } catch {
      // The list says "Group created" until the history is opened.
    }
  }

  #setCursor(c) {
    this.cursor = c;
    this.cursorN = BigInt(c || '0');
    if (this.store.me?.device) storage.saveCursor(this.store.me.device, this.cursor);
  }

  /** True for an entry past the cursor (not a replay). */
  #advance(c) {
    const n = BigInt(c);
    if (n <= this.cursorN) return false;
    this.pendingCursor = c;
    return true;
  }

  #commitCursor() {
    if (this.pendingCursor) this.#setCursor(this.pendingCursor);
    this.pendingCursor = null;
  }

  #connection(state) {
    this.store.connection = state;
    if (state !== 'online') {
      this.store.synced = false;
      this.inflight.clear();
    }
    if (state === 'offline') this.store.clearTyping();
    this.store.emit('connection');
  }

  async #resync(cursor) {
    // The server cannot serve our cursor: drop state, reload, continue
    // from the cursor it gave (protocol.md §5, rule 5).
    this.store.clear();
    this.#setCursor(cursor);
    await this.reload();
  }

  // ---- frames ----

  #frame(f) {
    switch (f.type) {
      case 'welcome':
        if (f.user !== this.store.me.id) {
          this.#gone(new SessionGone('token_invalid'));
          return;
        }
        this.inflight.clear();
        break;
      case 'event':
        if (!this.#advance(f.cursor)) return;
        this.#event(f.event, this.store.synced);
        this.#commitCursor();
        break;
      case 'receipt':
        if (!this.#advance(f.cursor)) return;
        this.#receipt(f.receipt);
        this.#commitCursor();
        break;
      case 'membership':
        if (!this.#advance(f.cursor)) return;
        if (f.membership) this.#membership(f.membership);
        this.#commitCursor();
        break;
      case 'settings':
        if (!this.#advance(f.cursor)) return;
        if (f.settings) this.#settings(f.settings);
        this.#commitCursor();
        break;
      case 'report':
        // A new report for me to handle (I moderate its group, or I am a
        // server admin): a log entry like the others.
        if (!this.#advance(f.cursor)) return;
        if (f.report) this.store.noteReport(f.report);
        this.#commitCursor();
        break;
      case 'personal':
        // A change for my devices alone (a message I hid, my reaction in a
        // channel, a thread I read): a log entry like the others.
        if (!this.#advance(f.cursor)) return;
        if (f.personal) this.#personal(f.personal);
        this.#commitCursor();
        break;
      case 'synced':
        if (BigInt(f.cursor) > this.cursorN) this.#setCursor(f.cursor);
        this.store.synced = true;
        // Loads that failed while the server was out of reach may try again.
        for (const c of this.store.convs.values()) c.loadError = c.olderError = null;
        this.flushOutbox();
        this.#flushReceipts();
        this.store.emit('connection', 'convs');
        break;
      case 'sent':
        this.#sent(f);
        break;
      case 'error':
        if (f.client_id) this.#sendFailed(f.client_id, f.error);
        break;
      case 'presence_snapshot':
        this.store.setPresence(f.users ?? [], true);
        break;
      case 'presence':
        this.store.setPresence([f], false);
        break;
      case 'typing':
        this.store.setTyping(f);
        break;
      default:
      // Unknown frames are ignored (protocol.md §1, versioning).
    }
  }

  #event(ev, live) {
    const store = this.store;
    const me = store.me.id;
    if (ev.kind === 'member_left' && ev.user === me) {
      // I left, here or on another device: the last event of it I get.
      this.#drop(ev.conv);
      return;
    }
    if ((ev.kind === 'member_removed' || ev.kind === 'member_banned') && ev.user === me) {
      // Someone removed or banned me: the last event of the group I get,
      // as after leaving; I am told why it went.
      const title = store.convs.get(ev.conv)?.name ?? 'a group';
      this.#drop(ev.conv);
      store.setNotice(`You were ${ev.kind === 'member_banned' ? 'banned' : 'removed'} from ${title}`);
      store.memberChange(ev.conv, { type: 'gone', user: me });
      return;
    }
    let conv = store.convs.get(ev.conv);
    if (!conv) {
      // A conversation I was just added to: a placeholder until its info
      // arrives.
      conv = store.upsert({
        id: ev.conv,
        kind: ev.kind === 'created' ? ev.conv_kind : 'group',
        name: ev.name,
        creator: ev.sender,
        created_at: ev.ts,
        // `members` lists at most 100 of them: the count says how many.
        member_count: ev.member_count ?? ev.members?.length ?? 0,
      });
      conv.stale = true;
      this.#fetchConv(ev.conv);
    }
    const fresh = ev.seq > conv.lastSeq;
    if (fresh) conv.lastSeq = ev.seq;
    // Changes to earlier messages, and replies only in a thread, do not
    // bring the conversation up the list.
    const aside = threadOnly(ev);
    if (!OPERATIONS.has(ev.kind) && !aside) conv.lastActivity = Math.max(conv.lastActivity, ev.ts);
    // An event history already brought shows in what it loaded: applied once.
    const known = conv.has(ev.seq);
    if (conv.loaded || conv.loading) {
      const gap = conv.insert([ev]);
      if (gap !== null) this.#fillGap(conv, gap);
    }
    if (!known && conv.applyRich(ev, me)) store.emit(`thread:${conv.id}`);
    const mine = ev.sender === me;
    if (ev.kind === 'message') {
      if (!aside && (!conv.lastMessage || ev.seq >= conv.lastMessage.seq)) conv.lastMessage = ev;
      if (mine) {
        // Writing in a message request takes it, from any of my devices.
        if (conv.request) conv.request = false;
        this.outbox?.remove(ev.client_id);
        store.acked.delete(ev.client_id);
        this.inflight.delete(ev.client_id);
        store.emit('outbox');
      } else {
        store.setTyping({ conv: ev.conv, user: ev.sender, active: false });
        if (fresh && ev.seq > conv.readSeq) {
          const mentioned = !!ev.mention_all || (ev.mentions ?? []).some((m) => m.user === me);
          if (mentioned) conv.unreadMentions += 1;
          // A reply only in a thread is not unread in the conversation
          // (its thread counts it), unless it mentions me.
          if (!aside) conv.unread += 1;
          this.#queueReceipt(conv.id, 'delivered', ev.seq);
          if (live && (!aside || mentioned)) this.onMessage(conv, ev);
        }
      }
    } else if (ev.kind === 'message_deleted') {
      // The message at `target` is now a tombstone, here and in the list's
      // preview. One still unread no longer counts (the server counts
      // messages only); when this device cannot tell, it asks.
      const was = conv.applyDeletion(ev);
      for (const [k, a] of store.acked) if (a.conv === conv.id && a.seq === ev.target) store.acked.delete(k);
      if (fresh && ev.target > conv.readSeq) {
        if (was?.kind === 'message') {
          if (was.sender !== me) conv.unread = Math.max(0, conv.unread - 1);
        } else if (!was) this.#fetchConv(conv.id);
      }
      this.#resolveUsers([ev.sender]);
    } else if (ev.kind === 'members_added') {
      conv.noteJoin(ev, store.me.id);
      const listed = ev.users ?? [];
      // `users` names at most 100 of them; `count` says how many joined.
      // When it names fewer, this device does not know every member: the
      // member list (with when each joined, for ticks) is read again.
      const truncated = (ev.count ?? listed.length) > listed.length;
      if (fresh) conv.memberCount += ev.count ?? listed.length;
      this.#resolveUsers(listed);
      if (conv.members && truncated) {
        if (fresh) this.loadMembers(conv.id).catch(() => {});
      } else if (conv.members) {
        for (const u of listed) {
          conv.members.set(u, store.users.get(u) ?? null);
          conv.roles.set(u, conv.kind === 'channel' ? 'subscriber' : 'member');
        }
      }
      store.memberChange(conv.id, { type: 'added', users: listed, truncated });
    } else if (ev.kind === 'member_joined') {
      // Someone joined with an invite link (me too, on any of my devices).
      conv.noteJoin(ev, store.me.id);
      const user = ev.user ?? ev.sender;
      if (fresh) conv.memberCount += 1;
      this.#resolveUsers([user]);
      if (conv.members) {
        conv.members.set(user, store.users.get(user) ?? null);
        conv.roles.set(user, 'member');
      }
      store.memberChange(conv.id, { type: 'added', users: [user], link: true });
    } else if (ev.kind === 'member_left' || ev.kind === 'member_removed' || ev.kind === 'member_banned') {
      // A ban of someone who is not a member ends no membership: only one
      // whose membership this device knows counts, else the server says.
      const wasMember = ev.kind !== 'member_banned' || conv.members?.has(ev.user);
      if (fresh && wasMember) conv.memberCount = Math.max(0, conv.memberCount - 1);
      else if (fresh && !conv.members) this.#fetchConv(conv.id);
      conv.members?.delete(ev.user);
      conv.roles.delete(ev.user);
      conv.memberMarks.delete(ev.user);
      store.setTyping({ conv: ev.conv, user: ev.user, active: false });
      this.#resolveUsers([ev.user, ev.sender]);
      store.memberChange(conv.id, { type: 'gone', user: ev.user });
      if (ev.kind === 'member_banned') store.memberChange(conv.id, { type: 'bans' });
    } else if (ev.kind === 'member_unbanned') {
      this.#resolveUsers([ev.user, ev.sender]);
      store.memberChange(conv.id, { type: 'bans' });
    } else if (ev.kind === 'group_updated') {
      // Not fresh: the ConversationInfo this device has already holds it.
      if (fresh) conv.applySettings(ev);
      this.#resolveUsers([ev.sender]);
    } else if (ev.kind === 'role_changed' || ev.kind === 'ownership_transferred') {
      // Who has which role from now on.
      const changes =
        ev.kind === 'role_changed'
          ? [[ev.user, ev.role]]
          : [
              [ev.from ?? ev.sender, 'admin'],
              [ev.to, 'owner'],
            ];
      this.#resolveUsers(changes.map(([u]) => u).concat(ev.sender));
      for (const [user, role] of changes) {
        if (!user || !role) continue;
        if (conv.members?.has(user)) conv.roles.set(user, role);
        if (user === me) conv.role = role;
        store.memberChange(conv.id, { type: 'role', user, role });
      }
    }
    store.emit('convs', `conv:${conv.id}`);
  }

  /**
   * My subscription to a channel began or ended, here or on another of my
   * devices (protocol.md, "Broadcast channels"). `joined`: the channel's
   * events follow from `seq + 1` (history before is read over HTTP, so
   * nothing is missing); its ConversationInfo is fetched to list it.
   * `left`, `removed`, `banned`: it goes, as a group does when I leave.
   */
  #membership(m) {
    const store = this.store;
    if (m.user && m.user !== store.me.id) return;
    if (m.change === 'joined') {
      let conv = store.convs.get(m.conv);
      if (!conv) {
        // A placeholder, not listed until its details arrive.
        conv = store.upsert({ id: m.conv, kind: 'channel', created_at: m.ts, last_seq: m.seq });
        conv.stale = true;
        this.#fetchConv(m.conv);
      } else {
        conv.lastSeq = Math.max(conv.lastSeq, m.seq);
      }
      // Where my subscription began: what came before is not "new" to me.
      if (!conv.joined || m.seq >= conv.joined.seq) conv.joined = { seq: m.seq, by: m.by, ts: m.ts, link: m.by === m.user };
      store.emit('convs', `conv:${conv.id}`);
      return;
    }
    if (!['left', 'removed', 'banned'].includes(m.change)) return;
    const title = store.convs.get(m.conv)?.name ?? 'a channel';
    const had = store.convs.has(m.conv);
    this.#drop(m.conv);
    if (m.change !== 'left' && m.by !== store.me.id && had) {
      store.setNotice(`You were ${m.change} from ${title}`);
    }
    store.memberChange(m.conv, { type: 'gone', user: store.me.id });
  }

  /**
   * A change of my settings of a conversation, made here or on another of
   * my devices (protocol.md, `PUT …/settings`): it replaces them. One not
   * loaded here (further down the list, or archived and not paged yet) is
   * fetched, so that it shows where it now belongs, and the badge's total
   * is read again (it counted that conversation as it was).
   */
  #settings(change) {
    const store = this.store;
    if (!change.conv || store.gone.has(change.conv)) return;
    if (store.applySettings(change)) return;
    this.#fetchConv(change.conv).then(() => this.#refreshTotal());
  }

  /**
   * Changes my settings of a conversation (any of `muted`, `hide_badge`,
   * `archived`, `pinned`, `marked_unread`): applied from the server's
   * answer, which my other devices get as a `settings` entry.
   */
  async setSettings(convId, changes) {
    const change = await this.api.setConvSettings(convId, changes);
    this.store.applySettings(change);
    return change;
  }

  /**
   * Reads again the people of a conversation that is being shown
   * (profiles change without an event): a direct conversation's details
   * (its `peer`), a group's member list. Channels show no authors.
   */
  refreshPeople(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv || conv.stale || this.store.gone.has(convId)) return;
    if (conv.kind === 'direct') this.#fetchConv(convId);
    // Not loaded yet: opening it loads them.
    else if (conv.kind === 'group' && conv.members) this.#membersOnOpen(convId);
  }

  /** Changes my profile (`display_name`, `about`); answers `Me`. */
  async setProfile(changes) {
    const me = await this.api.setProfile(changes);
    this.#me(me);
    return me;
  }

  /**
   * Makes one of my complete image uploads my picture (`null`: removes
   * it). Everyone who reads my profile from now on sees it.
   */
  async setAvatar(upload) {
    const store = this.store;
    let avatar = null;
    if (upload) ({ avatar } = await this.api.setAvatar(upload));
    else await this.api.removeAvatar();
    store.me = { ...store.me, avatar: avatar || null };
    store.addUsers([store.me]);
    store.emit('me', 'users', 'convs');
    return avatar;
  }

  /** A group's picture (`null`: removes it); the `group_updated` event tells everyone. */
  async setGroupAvatar(convId, upload) {
    let avatar = null;
    if (upload) ({ avatar } = await this.api.setGroupAvatar(convId, upload));
    else await this.api.removeGroupAvatar(convId);
    const conv = this.store.convs.get(convId);
    if (conv) {
      conv.avatar = avatar || null;
      this.store.emit('convs', `conv:${convId}`);
    }
    return avatar;
  }

  /** Searches the user directory; the people found are remembered. */
  async searchUsers(q, limit) {
    const { users } = await this.api.searchUsers(q, limit);
    this.store.addUsers(users);
    return users;
  }

  #receipt(r) {
    const conv = this.store.convs.get(r.conv);
    if (!conv) return;
    if (r.user === this.store.me.id) {
      // Mine, from this or another device: reading elsewhere clears here.
      conv.deliveredSeq = Math.max(conv.deliveredSeq, r.delivered, r.read);
      if (r.read > conv.readSeq) {
        conv.readSeq = r.read;
        const n = conv.countUnread(this.store.me.id);
        if (n === null) this.#fetchConv(conv.id);
        else conv.unread = n;
        if (r.read >= conv.lastSeq) conv.unreadMentions = 0;
        else if (conv.unreadMentions) this.#fetchConv(conv.id);
      }
    } else {
      conv.peerReceipt(r);
    }
    this.store.emit('convs', `conv:${conv.id}`);
  }

  #fetchConv(id) {
    if (this.fetchingConv.has(id)) return this.fetchingConv.get(id);
    const since = this.store.tick;
    const p = this.api
      .conversation(id)
      .then((info) => {
        // Left meanwhile: an answer from before it does not bring it back.
        if (this.store.gone.has(id)) return;
        const was = this.store.convs.get(id);
        // Its unread messages were counted among those not loaded, less
        // what live events here already added.
        const counted = was?.stale ? was.badgeCount() : was ? null : 0;
        if (counted !== null) {
          const adds = badgeOf(info.unread, info.settings);
          this.store.unreadElsewhere = Math.max(0, this.store.unreadElsewhere - Math.max(0, adds - counted));
        }
        this.store.upsert(info, { since });
      })
      .catch((e) => {
        if (e?.code === 'not_member') this.store.remove(id);
        else {
          // Shown as far as the events tell, rather than not at all.
          const c = this.store.convs.get(id);
          if (c?.stale) {
            c.stale = false;
            this.store.emit('convs');
          }
        }
      })
      .finally(() => this.fetchingConv.delete(id));
    this.fetchingConv.set(id, p);
    return p;
  }

  async #fillGap(conv, after) {
    // Safety net: the server never leaves gaps in one connection's log.
    try {
      for (;;) {
        const page = await this.api.history(conv.id, { after, limit: 200 });
        conv.insert(page.events);
        this.store.emit(`conv:${conv.id}`);
        if (!page.more || page.events.length === 0) break;
        after = page.events[page.events.length - 1].seq;
      }
    } catch {
      // The next reload repairs it.
    }
  }

  /** Asks for people not known yet (names for senders and so on). */
  #resolveUsers(ids) {
    const todo = ids.filter((id) => id && !this.store.users.has(id) && !this.fetchingUsers.has(id));
    for (const id of todo) {
      this.fetchingUsers.add(id);
      this.api
        .user(id)
        .then((u) => this.store.addUsers([u]))
        .catch(() => {})
        .finally(() => this.fetchingUsers.delete(id));
    }
  }

  // ---- history ----

  /** Loads the newest page of a conversation once (and its members). */
  async open(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv) return;
    if (conv.kind === 'group' && !conv.members) this.#membersOnOpen(convId);
    if (conv.loaded || conv.loadError) return;
    if (!conv.loading) {
      conv.loading = (async () => {
        try {
          const page = await this.api.history(convId, { limit: 50 });
          conv.insert(page.events);
          for (const ev of page.events) conv.noteJoin(ev, this.store.me.id);
          conv.hasMore = page.more;
          conv.loaded = true;
          this.#resolveUsers(page.events.map((e) => e.sender));
          if (conv.kind === 'group') this.#loadMemberMarks(conv);
        } catch (e) {
          // Not retried by itself: the next `synced` (or the user) does.
          conv.loadError = e;
        } finally {
          conv.loading = null;
          this.store.emit(`conv:${convId}`);
        }
      })();
    }
    return conv.loading;
  }

  /** Loads the page before the oldest loaded event. */
  async older(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv || !conv.loaded || !conv.hasMore || conv.loadingOlder || conv.olderError) return false;
    const before = conv.events[0]?.seq;
    if (!before) return false;
    conv.loadingOlder = true;
    this.store.emit(`conv:${convId}`);
    try {
      const page = await this.api.history(convId, { before, limit: 50 });
      conv.insert(page.events);
      for (const ev of page.events) conv.noteJoin(ev, this.store.me.id);
      conv.hasMore = page.more;
      this.#resolveUsers(page.events.map((e) => e.sender));
      return page.events.length > 0;
    } catch (e) {
      conv.olderError = e;
      return false;
    } finally {
      conv.loadingOlder = false;
      this.store.emit(`conv:${convId}`);
    }
  }

  /**
   * A group's members' watermarks, for the ticks of my messages: the
   * receipt summary of my newest message lists every other member's.
   * Receipt entries in the log keep them current afterwards.
   */
  async #loadMemberMarks(conv) {
    const me = this.store.me.id;
    const mine = conv.events.findLast((e) => e.kind === 'message' && e.sender === me);
    if (!mine) return;
    try {
      const summary = await this.api.receipts(conv.id, mine.seq);
      for (const m of summary.members) conv.peerReceipt(m);
      this.store.emit(`conv:${conv.id}`);
    } catch {
      // Ticks stay at "sent"; "read by N of M" still asks on demand.
    }
  }

  /** Forgets a failed load so that the next render tries again. */
  retryLoad(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv) return;
    conv.loadError = conv.olderError = null;
    this.store.emit(`conv:${convId}`);
  }

  /**
   * A channel's view counts for its messages in `from..to`, asked a range
   * of at most VIEWS_SPAN seqs at a time. A seq the answer leaves out (not
   * a message, or before what I may read) is recorded as null, so that it
   * is not asked for again and again.
   */
  async loadViews(convId, from, to) {
    const conv = this.store.convs.get(convId);
    if (!conv || from < 1 || to < from) return;
    try {
      for (let lo = from; lo <= to; lo += VIEWS_SPAN) {
        const hi = Math.min(to, lo + VIEWS_SPAN - 1);
        const { views } = await this.api.views(convId, lo, hi);
        const got = new Map((views ?? []).map((v) => [v.seq, v.views]));
        for (const ev of conv.events) {
          if (ev.seq < lo || ev.seq > hi || ev.kind !== 'message') continue;
          conv.views.set(ev.seq, got.get(ev.seq) ?? conv.views.get(ev.seq) ?? null);
        }
      }
    } finally {
      this.store.emit(`conv:${convId}`);
    }
  }

  /** Reads a group's members when it is opened: one read at a time. */
  #membersOnOpen(convId) {
    const key = `members:${convId}`;
    if (this.fetchingConv.has(key)) return;
    const p = this.loadMembers(convId)
      .catch(() => {})
      .finally(() => this.fetchingConv.delete(key));
    this.fetchingConv.set(key, p);
  }

  /** Fetches a group's members (names for senders, the member count). */
  async loadMembers(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv) return;
    // The default page holds a whole group of the default maximum size.
    const { members, next } = await this.api.members(convId);
    this.store.addUsers(members);
    conv.members = new Map(members.map((m) => [m.id, m.username]));
    conv.roles = new Map(members.map((m) => [m.id, m.role]));
    // When each joined (for the ticks), whatever the events told.
    for (const m of members) if (m.joined_seq) conv.joins.set(m.id, m.joined_seq);
    const mine = members.find((m) => m.id === this.store.me.id);
    if (mine?.role) conv.role = mine.role;
    if (!next) conv.memberCount = members.length;
    this.store.emit(`conv:${convId}`, 'convs');
  }

  // ---- sending ----

  /**
   * Writes a message: into the outbox first, then onto the socket.
   * `extra`: its rich fields (a reply, a thread, mentions, attachments);
   * `options`: `{clientId, media}` (see `Outbox.add`).
   */
  send(convId, text, extra, options) {
    const entry = this.outbox.add(convId, text, extra && richFields(extra), options);
    this.#stopTyping(convId, false);
    this.store.emit('outbox', `conv:${convId}`, 'convs');
    this.flushOutbox();
    return entry;
  }

  /** Sends every pending entry not yet written to this socket. */
  flushOutbox() {
    if (!this.store.synced || !this.outbox) return;
    for (const e of this.outbox.pending()) {
      if (this.inflight.has(e.client_id)) continue;
      if (e.extra?.attachments?.length) {
        // The socket's `send` frame carries no attachments: over HTTP,
        // with the same client id on every retry.
        this.inflight.add(e.client_id);
        this.#postMessage(e);
        continue;
      }
      const ok = this.live.send({ type: 'send', conv: e.conv, client_id: e.client_id, text: e.text, ...richFields(e.extra) });
      if (!ok) break;
      this.inflight.add(e.client_id);
    }
  }

  /** Sends an outbox entry with `POST …/messages`; the answer is handled as the socket's would be. */
  async #postMessage(e) {
    try {
      const sent = await this.api.send(e.conv, e.client_id, e.text, e.extra);
      this.#sent({ ...sent, conv: sent.conv ?? e.conv, client_id: sent.client_id ?? e.client_id });
    } catch (err) {
      if (err instanceof SessionGone) return;
      // A network failure is an unknown outcome: sent again later under
      // the same client id.
      const retryable = !(err instanceof ApiError) || err.retryable;
      const code = !retryable ? err.code : err.code === 'rate_limited' ? 'rate_limited' : 'unavailable';
      this.#sendFailed(e.client_id, { code, message: err.message, retry_after: err.retryAfter });
    }
  }

  /** Sends a failed message again, under the same client id. */
  retry(clientId) {
    const e = this.outbox.retry(clientId);
    if (!e) return;
    this.store.emit('outbox', `conv:${e.conv}`);
    this.flushOutbox();
  }

  /** Gives up on an unsent message. */
  discard(clientId) {
    const e = this.outbox.get(clientId);
    if (!e) return;
    this.outbox.remove(clientId);
    this.inflight.delete(clientId);
    this.store.emit('outbox', `conv:${e.conv}`);
  }

  #sent(f) {
    const entry = this.outbox.get(f.client_id);
    this.inflight.delete(f.client_id);
    if (!entry) return; // echoed already
    this.outbox.remove(f.client_id);
    const conv = this.store.convs.get(f.conv);
    if (conv?.request) {
      conv.request = false;
      this.store.emit('convs');
    }
    // Shown as sent until its echo arrives through the log.
    if (!conv?.events.some((e) => e.client_id === f.client_id)) {
      this.store.acked.set(f.client_id, { ...entry, state: 'sent', id: f.id, seq: f.seq, ts: f.ts });
    }
    this.store.emit('outbox', `conv:${f.conv}`);
  }

  #sendFailed(clientId, error) {
    this.inflight.delete(clientId);
    const entry = this.outbox.get(clientId);
    if (!entry) return;
    if (['internal', 'unavailable', 'rate_limited', 'storage_full'].includes(error?.code)) {
      const wait = (error.retry_after ?? 0) * 1000 || RETRY_SEND_MS;
      setTimeout(() => this.flushOutbox(), wait);
      return;
    }
    this.outbox.fail(clientId, error ?? { code: 'internal', message: 'not sent' });
    this.store.emit('outbox', `conv:${entry.conv}`);
    // My block list may have changed on another device.
    if (error?.code === 'blocked') this.loadBlocks().catch(() => {});
  }

  // ---- rich messages (protocol.md, "Rich messages") ----

  /** A `personal` log entry: a message I hid, my reaction in a channel, a thread I read. */
  #personal(p) {
    const conv = this.store.convs.get(p.conv);
    if (!conv) return;
    if (p.change === 'hidden') conv.hide(p.seq, p.id);
    else if (p.change === 'reaction') conv.setMyReaction(p.seq, p.emoji, p.count, !!p.added);
    else if (p.change === 'thread_read') conv.threadRead(p.root, p.seq, this.store.me.id);
    else return;
    this.store.emit(`conv:${conv.id}`, `thread:${conv.id}`, 'convs');
  }

  /** Edits my message: applied from the server's answer (the event follows for everyone). */
  async editMessage(convId, seq, body) {
    const ev = await this.api.editMessage(convId, seq, body);
    const conv = this.store.convs.get(convId);
    if (conv && ev?.kind === 'message') {
      conv.applyRich({ kind: 'message_edited', target: seq, text: ev.text, mentions: ev.mentions, mention_all: ev.mention_all, edited_at: ev.edited_at ?? Date.now() }, this.store.me.id);
      this.store.emit(`conv:${convId}`, `thread:${convId}`, 'convs');
    }
    return ev;
  }

  /** Deletes a message for me: it goes here at once, and from my other devices by the log. */
  async hideMessage(convId, seq) {
    const change = await this.api.hide(convId, seq);
    const conv = this.store.convs.get(convId);
    if (conv) {
      conv.hide(seq, change?.id);
      this.store.emit(`conv:${convId}`, `thread:${convId}`, 'convs');
    }
    return change;
  }

  /** Adds (`on`) or takes back my reaction; the answer's count is applied at once. */
  async react(convId, seq, emoji, on) {
    const state = await this.api.react(convId, seq, emoji, on);
    const conv = this.store.convs.get(convId);
    if (conv && state) {
      conv.setMyReaction(seq, state.emoji ?? emoji, state.count, !!state.me);
      this.store.emit(`conv:${convId}`, `thread:${convId}`);
    }
    return state;
  }

  /** Pins (`on`) or unpins a message. */
  async pin(convId, seq, on) {
    const ev = await this.api.pin(convId, seq, on);
    const conv = this.store.convs.get(convId);
    if (conv) {
      conv.applyRich({ kind: on ? 'message_pinned' : 'message_unpinned', target: seq }, this.store.me.id);
      this.store.emit(`conv:${convId}`, `thread:${convId}`);
    }
    return ev;
  }

  /** Forwards a message into another conversation (over HTTP, with its own client id). */
  async forward(toConv, fromConv, seq) {
    const sent = await this.api.send(toConv, uuid(), '', { forward: { conv: fromConv, seq } });
    this.#fetchConv(toConv);
    return sent;
  }

  /** One message as history shows it, kept with the conversation (a quote, a jump). */
  async fetchMessage(convId, seq) {
    const ev = await this.api.message(convId, seq);
    const conv = this.store.convs.get(convId);
    if (conv && ev) {
      conv.keep([ev]);
      this.#resolveUsers([ev.sender]);
      this.store.emit(`conv:${convId}`, `thread:${convId}`);
    }
    return ev;
  }

  /** A page of a thread (its root and replies after `after`), kept with the conversation. */
  async loadThread(convId, root, after) {
    const page = await this.api.thread(convId, root, { after, limit: 100 });
    const conv = this.store.convs.get(convId);
    if (conv) {
      conv.keep([page.root, ...page.events]);
      this.#resolveUsers([page.root?.sender, ...page.events.map((e) => e.sender)]);
      this.store.emit(`conv:${convId}`, `thread:${convId}`);
    }
    return page;
  }

  /** Marks a thread read up to reply `seq` (my other devices hear of it by the log). */
  async markThreadRead(convId, root, seq) {
    const conv = this.store.convs.get(convId);
    if (conv) {
      conv.threadRead(root, seq, this.store.me.id);
      this.store.emit(`conv:${convId}`, `thread:${convId}`);
    }
    await this.api.threadRead(convId, root, seq);
  }

  /** The pinned messages of a conversation, kept with it. */
  async pins(convId) {
    const { pins } = await this.api.pins(convId);
    const conv = this.store.convs.get(convId);
    if (conv) conv.keep(pins.map((p) => p.message));
    this.#resolveUsers(pins.flatMap((p) => [p.by, p.message?.sender]));
    return pins;
  }

  // ---- requests and blocks ----

  /** Accepts a message request: it becomes an ordinary conversation. */
  async accept(convId) {
    this.store.upsert(await this.api.accept(convId));
  }

  /**
   * Deletes a message for everyone. The tombstone shows at once from the
   * server's answer (the `message_deleted` event, which also comes live
   * and is then applied again, to no effect); a refusal is thrown as it is.
   */
  async deleteMessage(convId, seq) {
    const ev = await this.api.deleteMessage(convId, seq);
    const conv = this.store.convs.get(convId);
    if (conv && ev?.kind === 'message_deleted') {
      conv.applyDeletion(ev);
      for (const [k, a] of this.store.acked) if (a.conv === convId && a.seq === ev.target) this.store.acked.delete(k);
      this.store.emit('convs', `conv:${convId}`);
    }
    return ev;
  }

  /**
   * Leaves a group, or declines an invitation to one. The server's refusal
   * (the creator while others remain) is thrown as it is.
   */
  async leave(convId) {
    await this.api.leave(convId);
    this.#drop(convId);
  }

  /** Forgets a conversation I am no longer in, with its unsent messages. */
  #drop(convId) {
    this.#stopTyping(convId, false);
    for (const e of this.outbox?.forConv(convId) ?? []) {
      this.outbox.remove(e.client_id);
      this.inflight.delete(e.client_id);
    }
    for (const [k, a] of this.store.acked) if (a.conv === convId) this.store.acked.delete(k);
    this.receipts.delete(`${convId}|delivered`);
    this.receipts.delete(`${convId}|read`);
    this.store.remove(convId);
    this.store.emit('outbox');
  }

  /** Reads my block list from the server. */
  async loadBlocks() {
    const { blocks } = await this.api.blocks();
    this.store.setBlocks(blocks);
    return blocks;
  }

  /** Blocks a user. */
  async block(userId) {
    const info = await this.api.block(userId);
    const list = [...(this.store.blocks?.values() ?? [])].filter((b) => b.user.id !== userId);
    this.store.setBlocks([info, ...list]);
  }

  /** Lifts my block of a user. */
  async unblock(userId) {
    await this.api.unblock(userId);
    this.store.setBlocks([...(this.store.blocks?.values() ?? [])].filter((b) => b.user.id !== userId));
  }

  // ---- receipts ----

  /** Marks everything in a conversation read (it is on screen). */
  markRead(convId) {
    const conv = this.store.convs.get(convId);
    if (!conv) return;
    const seq = conv.lastSeq;
    if (conv.unread !== 0 || conv.unreadMentions !== 0 || seq > conv.readSeq) {
      conv.unread = 0;
      conv.unreadMentions = 0;
      this.store.emit('convs');
    }
    if (seq <= conv.readSeq) return;
    conv.readSeq = seq;
    conv.deliveredSeq = Math.max(conv.deliveredSeq, seq);
    this.receipts.delete(`${convId}|delivered`);
    this.#queueReceipt(convId, 'read', seq);
  }

  #queueReceipt(convId, kind, seq) {
    const key = `${convId}|${kind}`;
    if ((this.receipts.get(key) ?? 0) >= seq) return;
    const conv = this.store.convs.get(convId);
    if (kind === 'delivered' && conv && seq <= conv.deliveredSeq) return;
    if (kind === 'delivered' && conv) conv.deliveredSeq = seq;
    this.receipts.set(key, seq);
    // Coalesce a burst (a backlog of messages) into one receipt.
    if (!this.receiptTimer) this.receiptTimer = setTimeout(() => this.#flushReceipts(), 50);
  }

  #flushReceipts() {
    clearTimeout(this.receiptTimer);
    this.receiptTimer = null;
    if (!this.store.synced) return;
    for (const [key, seq] of [...this.receipts]) {
      const [conv, kind] = key.split('|');
      if (!this.live.send({ type: 'receipt', conv, kind, seq })) return;
      this.receipts.delete(key);
    }
  }

  // ---- typing ----

  /** The user typed in a conversation's composer. */
  typing(convId) {
    // Channels show no typing (the server drops it).
    if (this.store.convs.get(convId)?.kind === 'channel') return;
    const t = this.typingState.get(convId) ?? { sentAt: 0, idle: null };
    const now = Date.now();
    if (now - t.sentAt > TYPING_REFRESH_MS) {
      if (this.live?.send({ type: 'typing', conv: convId, active: true })) t.sentAt = now;
    }
    clearTimeout(t.idle);
    t.idle = setTimeout(() => this.#stopTyping(convId, true), TYPING_IDLE_MS);
    this.typingState.set(convId, t);
  }

  /** The composer was emptied or left. */
  stopTyping(convId) {
    this.#stopTyping(convId, true);
  }

  #stopTyping(convId, tell) {
    const t = this.typingState.get(convId);
    if (!t) return;
    clearTimeout(t.idle);
    this.typingState.delete(convId);
    // Sending a message stops the indicator on the server by itself.
    if (tell && t.sentAt) this.live?.send({ type: 'typing', conv: convId, active: false });
  }
}
