// Client state: conversations and their loaded history, users, presence,
// typing, connection state. Views subscribe to topics and re-render; all
// notifications of one turn of the event loop are batched into one render.
//
// This file is long because a conversation's state (history, marks,
// roles, settings and the rich state of its messages) lives in one class,
// so that every change to it goes through the methods below.
//
// Topics: `convs` (the list: order, previews, unread, my settings of
// each), `conv:<id>` (a conversation's messages or ticks), `thread:<id>`
// (a thread's replies or read marks), `presence`,
// `typing`, `users` (names and profiles), `me`, `connection`, `outbox`,
// `blocks`, `notice`.

/**
 * What a conversation adds to the badge, as the server counts
 * `unread_total`: its unread messages, at least 1 when I marked it
 * unread, nothing when I muted it and hid its badge.
 */
export function badgeOf(unread, settings) {
  if (settings?.muted && settings?.hide_badge) return 0;
  return settings?.marked_unread ? Math.max(1, unread ?? 0) : (unread ?? 0);
}

/**
 * My own settings of a conversation (protocol.md, `PUT
 * /v1/conversations/{id}/settings`), the same on all my devices.
 */
export function convSettings(s) {
  return {
    muted: !!s?.muted,
    hide_badge: !!s?.hide_badge,
    archived: !!s?.archived,
    pinned_at: s?.pinned_at ?? null,
    marked_unread: !!s?.marked_unread,
  };
}

/** One conversation as this client knows it. */
export class Conv {
  constructor(info) {
    this.id = info.id;
    this.kind = info.kind ?? 'group';
    this.name = info.name ?? null;
    // Group settings (protocol.md, `PATCH /v1/conversations/{id}`): the
    // description (null when none) and what people who join later may
    // read, `{visible: 'joined' | 'all' | 'days', days}`.
    this.description = null;
    // A group's or channel's picture (an avatar id), null when none.
    this.avatar = null;
    this.history = { visible: 'joined' };
    // The first seq I may read in history (protocol.md, "History
    // visibility"): older events than my log brought are paged over HTTP
    // down to it. 0 while unknown.
    this.visibleFrom = 0;
    this.creator = info.creator ?? null;
    this.createdAt = info.created_at ?? Date.now();
    this.memberCount = info.member_count ?? 0;
    this.peer = info.peer ?? null;
    this.lastSeq = 0; // newest seq applied from HTTP or the log
    this.lastMessage = null;
    this.lastActivity = this.createdAt;
    this.readSeq = 0; // my read watermark
    this.deliveredSeq = 0; // my delivered watermark
    this.unread = 0;
    // Unread messages from others that mention me (or everyone), as the
    // server counts `unread_mentions`; the list's "@" badge.
    this.unreadMentions = 0;
    this.peerMarks = { delivered: 0, read: 0 }; // direct: the other person's watermarks
    this.memberMarks = new Map(); // group: others' watermarks, as far as known
    this.joins = new Map(); // group: user → the seq that made them a member, from loaded history
    this.events = []; // loaded history: ascending seq, no duplicates
    // Messages loaded apart from `events` (a thread's replies, a quoted
    // original, pins): seq → event. Live changes apply to them too.
    this.side = new Map();
    // Bumped by each pin or unpin, so that an open pin list reads itself again.
    this.pinsTick = 0;
    this.loaded = false; // events hold the newest page and everything since
    this.loading = null; // the promise of the first page
    this.hasMore = true; // older history exists on the server
    this.loadingOlder = false;
    this.loadError = null; // the first page failed (not retried until `synced`)
    this.olderError = null; // an older page failed
    this.members = null; // Map id → username, once fetched
    this.roles = new Map(); // group: id → role, as far as known (with `members`)
    // My role (protocol.md, "Roles and permissions"): `owner`, `admin`,
    // `moderator` or `member`; in a channel `subscriber` instead of
    // `member` (until the server says, a channel's newcomer only reads).
    this.role = this.kind === 'channel' ? 'subscriber' : 'member';
    // A channel's views (protocol.md, `GET …/views`): seq → how many
    // members have read that message, or null when the server gave no
    // count for it; refreshed by the chat view while the channel is open.
    this.views = new Map();
    this.stale = false; // placeholder waiting for its ConversationInfo
    // My settings of it: muted (and its badge hidden), archived, pinned,
    // marked unread. `settingsTick` is the store's tick when a change of
    // them was last applied, so that an older ConversationInfo does not
    // undo it.
    this.settings = convSettings(null);
    this.settingsTs = 0; // the `ts` of the last SettingsChange applied
    this.settingsTick = 0;
    // A message request to me (protocol.md, "Message requests"): shown
    // apart until I accept it or write in it.
    this.request = false;
    // The `members_added` event that made me a member, when I was added
    // after the group was created: history before it is never shown to me
    // (protocol.md, "Member visibility of history"). Null when unknown or
    // when I was a member from the start.
    this.joined = null;
    this.update(info);
  }

  /** Merges a `ConversationInfo` from the server. */
  update(info) {
    if (info.kind) this.kind = info.kind;
    // A ConversationInfo read before events this device has applied since
    // (a fetch that raced a live `group_updated`, say) is older than what
    // those events set: it must not undo them.
    const older = info.last_seq !== undefined && info.last_seq < this.lastSeq;
    // A conversation known only from a live event (a placeholder) has no
    // name yet: an older answer still gives it one.
    if (info.name !== undefined && (!older || this.name === null)) this.name = info.name;
    // A whole ConversationInfo (it always has `read_seq`) leaves the
    // description out when there is none.
    if ((info.description !== undefined || info.read_seq !== undefined) && !older) {
      this.description = info.description || null;
      // A group's picture, absent when there is none (as the description).
      this.avatar = info.avatar || null;
    }
    if (info.history && !older) this.history = info.history;
    if (info.visible_from !== undefined) this.visibleFrom = info.visible_from;
    if (info.creator) this.creator = info.creator;
    if (info.created_at) this.createdAt = info.created_at;
    if (info.member_count !== undefined && !older) this.memberCount = info.member_count;
    if (info.peer) this.peer = info.peer;
    if (info.last_seq !== undefined) this.lastSeq = Math.max(this.lastSeq, info.last_seq);
    // A copy read before a deletion this device applied must not bring the text back.
    const deletedHere = info.last_message && this.lastMessage?.kind === 'deleted' && info.last_message.seq === this.lastMessage.seq;
    if (info.last_message && !deletedHere && (!this.lastMessage || info.last_message.seq >= this.lastMessage.seq)) {
      this.lastMessage = info.last_message;
    }
    if (info.read_seq !== undefined) {
      this.readSeq = Math.max(this.readSeq, info.read_seq);
      this.deliveredSeq = Math.max(this.deliveredSeq, this.readSeq);
    }
    // An answer read before my newer reads here counts what was unread
    // then: what this device counted since is newer. One read before
    // messages that arrived here since misses them: those counted here
    // stay.
    const readAhead = info.read_seq !== undefined && info.read_seq < this.readSeq;
    if (info.unread !== undefined && !readAhead) this.unread = older ? Math.max(this.unread, info.unread) : info.unread;
    if (info.unread_mentions !== undefined && !readAhead) this.unreadMentions = info.unread_mentions;
    if (info.request !== undefined) this.request = !!info.request;
    if (info.role && !older) this.role = info.role;
    if (info.peer_receipt) this.#peer(info.peer_receipt);
    if (info.settings) this.settings = convSettings(info.settings);
    this.lastActivity = Math.max(this.lastActivity, this.createdAt, this.lastMessage?.ts ?? 0);
  }

  #peer(r) {
    this.peerMarks = {
      delivered: Math.max(this.peerMarks.delivered, r.delivered, r.read),
      read: Math.max(this.peerMarks.read, r.read),
    };
  }

  /** A receipt (watermarks) of another member. */
  peerReceipt(r) {
    if (this.kind === 'direct') {
      if (this.peer && r.user === this.peer.id) this.#peer(r);
      return;
    }
    const old = this.memberMarks.get(r.user) ?? { delivered: 0, read: 0 };
    this.memberMarks.set(r.user, {
      delivered: Math.max(old.delivered, r.delivered, r.read),
      read: Math.max(old.read, r.read),
    });
  }

  /**
   * The ticks of my message `seq`: `read` when every member it counts for
   * read it, `delivered` when it reached all of them, else `sent`.
   *
   * In a group a message counts for the members other than its sender
   * (me) who were members when it was sent, as for the server's "read by
   * N of M" (`GET …/receipts?seq=`): someone added later never makes it
   * go back to "sent". A member's join is known from loaded history
   * (`created`, `members_added`); one whose join is not loaded joined
   * before all of it, so before any message shown. Until the members are
   * known it says `sent`.
   */
  tickOf(seq, me) {
    if (this.kind === 'direct') {
      if (this.peerMarks.read >= seq) return 'read';
      if (this.peerMarks.delivered >= seq) return 'delivered';
      return 'sent';
    }
    if (!this.members) return 'sent';
    let total = 0;
    let delivered = 0;
    let read = 0;
    for (const id of this.members.keys()) {
      if (id === me || (this.joins.get(id) ?? 0) > seq) continue;
      total += 1;
      const m = this.memberMarks.get(id);
      if (m?.delivered >= seq) delivered += 1;
      if (m?.read >= seq) read += 1;
    }
    if (total === 0) return 'sent';
    if (read === total) return 'read';
    if (delivered === total) return 'delivered';
    return 'sent';
  }

  /** The newest seq in loaded history (0 when none). */
  get loadedSeq() {
    return this.events.length ? this.events[this.events.length - 1].seq : 0;
  }

  /** Notes the event that added me (or my joining with a link), if `ev` is it. */
  noteJoin(ev, me) {
    const added = ev.kind === 'members_added' && (ev.users ?? []).includes(me);
    const link = ev.kind === 'member_joined' && ev.sender === me;
    if ((added || link) && ev.seq > 1) {
      if (!this.joined || ev.seq < this.joined.seq) this.joined = { seq: ev.seq, by: ev.sender, ts: ev.ts, link };
    }
  }

  /** Applies a `group_updated` event: only the fields that changed are in it. */
  applySettings(ev) {
    if (ev.name !== undefined) this.name = ev.name;
    if (ev.description !== undefined) this.description = ev.description || null;
    if (ev.avatar !== undefined) this.avatar = ev.avatar || null;
    if (ev.history) this.history = ev.history;
  }

  /** Records when members joined, from a `created`, `members_added` or `member_joined` event. */
  #noteMembers(ev) {
    const joined =
      ev.kind === 'created'
        ? (ev.members ?? [])
        : ev.kind === 'members_added'
          ? (ev.users ?? [])
          : ev.kind === 'member_joined'
            ? [ev.user ?? ev.sender]
            : [];
    for (const u of joined) {
      const was = this.joins.get(u);
      if (was === undefined || ev.seq < was) this.joins.set(u, ev.seq);
    }
  }

  /** Merges events into loaded history. Returns the first seq after a gap, if any. */
  insert(events) {
    let gapAt = null;
    for (const ev of events) {
      this.#noteMembers(ev);
      const last = this.loadedSeq;
      if (ev.seq > last) {
        if (this.loaded && last > 0 && ev.seq > last + 1) gapAt = gapAt ?? last;
        this.events.push(ev);
      } else {
        const i = lowerBound(this.events, ev.seq);
        if (this.events[i]?.seq !== ev.seq) this.events.splice(i, 0, ev);
        // What is left of a deleted message (or one I hid) replaces the copy loaded before.
        else if (ev.kind === 'deleted' || ev.kind === 'hidden') this.events[i] = ev;
      }
    }
    return gapAt;
  }

  /**
   * Applies a `message_deleted` event: the loaded copy of the message at
   * `target` (and the list's preview, when it is the last message)
   * becomes a `deleted` tombstone. Returns the message it replaced, if
   * it was loaded.
   */
  applyDeletion(ev) {
    const tomb = (m) => ({
      conv: this.id,
      seq: ev.target,
      ts: m?.ts ?? ev.ts,
      sender: m?.sender ?? null,
      kind: 'deleted',
      id: ev.id,
      by: ev.sender,
      at: ev.ts,
      // A thread reply's tombstone stays in its thread (as history shows it).
      ...(m?.thread ? { thread: m.thread, also_in_conversation: !!m.also_in_conversation, thread_replies: m.thread_replies } : {}),
    });
    let was = null;
    const i = lowerBound(this.events, ev.target);
    if (this.events[i]?.seq === ev.target) {
      was = this.events[i];
      if (was.kind !== 'deleted') this.events[i] = tomb(was);
    }
    if (this.lastMessage?.seq === ev.target && this.lastMessage.kind !== 'deleted') {
      this.lastMessage = tomb(this.lastMessage);
    }
    const side = this.side.get(ev.target);
    if (side && side.kind !== 'deleted') this.side.set(ev.target, tomb(side));
    // Replies keep their quote, which now says it was deleted.
    this.#quotes(ev.target, (q) => {
      q.deleted = true;
      delete q.snippet;
    });
    return was;
  }

  // ---- rich messages (protocol.md, "Rich messages") ----

  /** The message at `seq` as loaded here (history, or loaded apart), or null. */
  message(seq) {
    const i = lowerBound(this.events, seq);
    if (this.events[i]?.seq === seq) return this.events[i];
    return this.side.get(seq) ?? null;
  }

  /** Whether loaded history holds the event at `seq`. */
  has(seq) {
    return this.events[lowerBound(this.events, seq)]?.seq === seq;
  }

  /** Every loaded copy of the message at `seq` (history's and one loaded apart). */
  #copies(seq) {
    const out = [];
    const i = lowerBound(this.events, seq);
    if (this.events[i]?.seq === seq) out.push(this.events[i]);
    const s = this.side.get(seq);
    if (s && !out.includes(s)) out.push(s);
    if (this.lastMessage?.seq === seq && !out.includes(this.lastMessage)) out.push(this.lastMessage);
    return out.filter((m) => m.kind === 'message');
  }

  /** Every loaded message (history's and those loaded apart). */
  *#allMessages() {
    for (const e of this.events) if (e.kind === 'message') yield e;
    for (const e of this.side.values()) if (e.kind === 'message' && !this.has(e.seq)) yield e;
  }

  /** Keeps messages loaded apart (a thread page, a quoted original, pins). */
  keep(events) {
    for (const ev of events) {
      if (!ev?.seq) continue;
      if (this.has(ev.seq)) {
        // The answer is as new as what history loaded (or newer), but a
        // message deleted or hidden here does not come back.
        const i = lowerBound(this.events, ev.seq);
        if (this.events[i].kind === 'message' || ev.kind !== 'message') this.events[i] = ev;
        continue;
      }
      this.side.set(ev.seq, ev);
    }
  }

  /**
   * Applies an event that changes an earlier message: an edit, a reaction,
   * reaction counts, a pin, a reply in a thread (to its root's summary).
   * Called once per event, for events new to this device: history already
   * shows their effect. `me`: my id.
   */
  applyRich(ev, me) {
    switch (ev.kind) {
      case 'message_edited':
        for (const m of this.#copies(ev.target)) {
          m.text = ev.text;
          m.edited_at = ev.edited_at;
          if (ev.mentions?.length) m.mentions = ev.mentions;
          else delete m.mentions;
          if (ev.mention_all) m.mention_all = ev.mention_all;
          else delete m.mention_all;
        }
        this.#quotes(ev.target, (q) => {
          q.snippet = [...ev.text].slice(0, 120).join('');
        });
        return true;
      case 'reaction_added':
      case 'reaction_removed':
        for (const m of this.#copies(ev.target)) {
          setReaction(m, ev.emoji, ev.count, ev.sender === me ? ev.kind === 'reaction_added' : undefined);
        }
        return true;
      case 'reaction_counts':
        for (const t of ev.messages ?? []) {
          for (const m of this.#copies(t.target)) {
            // `me` is not in these counts: mine stay as I know them.
            const mine = new Set((m.reactions ?? []).filter((r) => r.me).map((r) => r.emoji));
            m.reactions = (t.reactions ?? []).filter((r) => r.count > 0).map((r) => ({ emoji: r.emoji, count: r.count, me: mine.has(r.emoji) }));
          }
        }
        return true;
      case 'message_pinned':
      case 'message_unpinned':
        for (const m of this.#copies(ev.target)) m.pinned = ev.kind === 'message_pinned';
        this.pinsTick += 1;
        return true;
      case 'message':
        if (ev.thread) this.#threadReply(ev, me);
        return !!ev.thread;
      default:
        return false;
    }
  }

  /** A reply in a thread: its root's summary follows (count, last reply, who, unread). */
  #threadReply(ev, me) {
    for (const root of this.#copies(ev.thread)) {
      const s = root.thread_summary ?? { replies: 0, last_seq: 0, last_at: 0, participants: [], unread: 0 };
      if (ev.seq <= s.last_seq) continue;
      root.thread_summary = {
        replies: ev.thread_replies ?? s.replies + 1,
        last_seq: ev.seq,
        last_at: ev.ts,
        participants: [ev.sender, ...s.participants.filter((u) => u !== ev.sender)].slice(0, 5),
        unread: ev.sender === me ? (s.unread ?? 0) : (s.unread ?? 0) + 1,
      };
    }
  }

  /** The loaded replies of the thread at `root`, in seq order. */
  threadReplies(root) {
    const out = [];
    for (const m of this.events) if (m.thread === root && (m.kind === 'message' || m.kind === 'deleted')) out.push(m);
    for (const m of this.side.values()) {
      if (m.thread === root && (m.kind === 'message' || m.kind === 'deleted') && !this.has(m.seq)) out.push(m);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** I read a thread up to `seq` (here or on another device). */
  threadRead(root, seq, me) {
    for (const m of this.#copies(root)) {
      const s = m.thread_summary;
      if (!s) continue;
      if (seq >= s.last_seq) s.unread = 0;
      else {
        // Count what is loaded after the mark, as far as it is known.
        let n = 0;
        for (const r of this.#allMessages()) if (r.thread === root && r.seq > seq && r.sender !== me) n += 1;
        s.unread = Math.min(s.unread ?? 0, n);
      }
    }
  }

  /** A message I deleted for myself (on any of my devices): it goes from every view. */
  hide(seq, id) {
    const i = lowerBound(this.events, seq);
    const stub = (m) => ({ conv: this.id, seq, ts: m?.ts ?? 0, sender: m?.sender ?? null, kind: 'hidden', id: id ?? m?.id });
    if (this.events[i]?.seq === seq) this.events[i] = stub(this.events[i]);
    if (this.side.has(seq)) this.side.set(seq, stub(this.side.get(seq)));
    if (this.lastMessage?.seq === seq) this.lastMessage = stub(this.lastMessage);
  }

  /** My reaction's answer (`ReactionState`), or a `personal` reaction change. */
  setMyReaction(seq, emoji, count, me) {
    for (const m of this.#copies(seq)) setReaction(m, emoji, count, me);
  }

  /** Calls `fn(reply_to)` for each loaded reply quoting the message at `seq`. */
  #quotes(seq, fn) {
    for (const m of this.#allMessages()) if (m.reply_to?.seq === seq) fn(m.reply_to);
    if (this.lastMessage?.reply_to?.seq === seq) fn(this.lastMessage.reply_to);
  }

  /** The conversation's display name. */
  title(store) {
    if (this.kind === 'direct') return store?.name(this.peerId()) ?? this.peer?.display_name ?? this.peer?.username ?? '…';
    return this.name ?? (this.kind === 'channel' ? 'Channel' : 'Group');
  }

  /** When I pinned it (ms), or 0 when it is not pinned. */
  get pinnedAt() {
    return this.settings.pinned_at ?? 0;
  }

  /** What it adds to the badge (see `badgeOf`). */
  badgeCount() {
    return badgeOf(this.unread, this.settings);
  }

  /**
   * Whether I may post here: everywhere, except in a broadcast channel,
   * where its owner, admins and moderators post and subscribers read.
   */
  get canPost() {
    return this.kind !== 'channel' || ['owner', 'admin', 'moderator'].includes(this.role);
  }

  /** The other person in a direct conversation. */
  peerId() {
    return this.peer?.id ?? null;
  }

  /** Messages from others after my read watermark, if history covers them. */
  countUnread(me) {
    const first = this.events[0]?.seq ?? Infinity;
    if (this.readSeq >= this.lastSeq) return 0;
    if (!this.loaded || first > this.readSeq + 1) return null;
    return this.events.filter((e) => e.seq > this.readSeq && e.kind === 'message' && e.sender !== me && !threadOnly(e)).length;
  }
}

/**
 * A reply in a thread that is not also shown in the conversation's
 * timeline (or what is left of one that was deleted).
 */
export function threadOnly(ev) {
  return (ev?.kind === 'message' || ev?.kind === 'deleted') && !!ev.thread && !ev.also_in_conversation;
}

/** Sets one emoji's count on a message (gone at 0); `me` when known. */
function setReaction(m, emoji, count, me) {
  const list = m.reactions ? [...m.reactions] : [];
  const i = list.findIndex((r) => r.emoji === emoji);
  if (count <= 0) {
    if (i >= 0) list.splice(i, 1);
  } else if (i >= 0) list[i] = { ...list[i], count, ...(me === undefined ? {} : { me }) };
  else list.push({ emoji, count, me: !!me });
  if (list.length) m.reactions = list;
  else delete m.reactions;
}

/** Where the loading of one list's pages is. */
function newPages() {
  return { next: null, loading: false, error: null };
}

function lowerBound(events, seq) {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Store {
  constructor(me) {
    this.me = me; // {id, username, device, display_name, about}
    this.convs = new Map();
    // What I know of people: id → {id, username, display_name, about}
    // (display_name and about null when not set). There is no event for
    // a change of profile: they are read again when shown.
    this.users = new Map();
    this.presence = new Map(); // id → {online, last_seen}
    this.typing = new Map(); // conv → Map(user → timer)
    this.acked = new Map(); // client_id → acknowledged message not yet echoed
    this.connection = 'connecting';
    this.transport = 'websocket'; // or 'sse' (WebSockets blocked)
    this.synced = false;
    // My block list (protocol.md, "Blocking"): id → {user, blocked_at};
    // null until first read from the server.
    this.blocks = null;
    // Conversations I left while this page was open: not shown again
    // unless I am added back.
    this.gone = new Set();
    // The conversation list comes in pages (protocol.md, `GET
    // /v1/conversations`): `next` asks for the page after those loaded.
    // `main`: the chats neither pinned nor archived (the pinned ones are
    // all read at start); `archived`: those I archived, apart.
    this.pages = { main: newPages(), archived: newPages() };
    // Counts applied changes of my conversation settings (see `Conv.settingsTick`).
    this.tick = 0;
    // Unread messages in conversations not loaded yet: the server's
    // `unread_total` less what the loaded ones count.
    this.unreadElsewhere = 0;
    // A short message for the user (`{text}`), e.g. that they were removed
    // from a group; null when there is none.
    this.notice = null;
    // Reports that arrived live and have not been looked at yet
    // (protocol.md, "Reporting messages"): per conversation for its
    // moderators (conv id → count), and for the server's admins in all.
    this.newReports = new Map();
    this.newAdminReports = 0;
    // Bumped with every report entry, so an open queue reads itself again.
    this.reportTick = 0;
    this.memberListeners = new Set();
    this.listeners = new Map();
    this.dirty = new Set();
    this.resolveUsers = () => {};
    if (me?.id) this.addUsers([me]);
  }

  // ---- subscriptions ----

  /** Calls `fn(topics)` after changes to any of `topics`; returns an unsubscribe. */
  on(topics, fn) {
    const entry = { topics: new Set(topics), fn };
    const key = Symbol('listener');
    this.listeners.set(key, entry);
    return () => this.listeners.delete(key);
  }

  /** Marks topics changed; listeners run once, in a microtask. */
  emit(...topics) {
    const first = this.dirty.size === 0;
    for (const t of topics) this.dirty.add(t);
    if (first) queueMicrotask(() => this.flush());
  }

  /** Runs listeners for what changed. */
  flush() {
    const dirty = this.dirty;
    this.dirty = new Set();
    for (const { topics, fn } of [...this.listeners.values()]) {
      const hit = [...dirty].filter((t) => topics.has(t) || topics.has(t.split(':')[0]));
      if (hit.length) fn(new Set(hit));
    }
  }

  /**
   * Calls `fn(convId, change)` for each membership change of a group that
   * arrives: `{type: 'added', users}`, `{type: 'gone', user}` (left,
   * removed or banned), `{type: 'role', user, role}`, `{type: 'bans'}` (a
   * ban placed or lifted). Returns an unsubscribe.
   */
  onMembers(fn) {
    this.memberListeners.add(fn);
    return () => this.memberListeners.delete(fn);
  }

  /** Tells the `onMembers` listeners of a change. */
  memberChange(convId, change) {
    for (const fn of [...this.memberListeners]) fn(convId, change);
  }

  /** Shows a short notice (`null` clears it). */
  /**
   * A new report to handle arrived (a `report` log entry): counted for the
   * group's queue when I moderate it, and for the admins' "All reports"
   * when I am a server admin; a short notice says so.
   */
  noteReport(r) {
    if (!r?.conv) return;
    const conv = this.convs.get(r.conv);
    const moderating = conv && conv.kind !== 'direct' && ['owner', 'admin', 'moderator'].includes(conv.role);
    if (moderating) this.newReports.set(r.conv, (this.newReports.get(r.conv) ?? 0) + 1);
    if (this.me?.admin) this.newAdminReports += 1;
    this.reportTick += 1;
    const where = conv && conv.kind !== 'direct' ? ` in ${conv.title(this)}` : '';
    this.setNotice(`New report${where}: a message was reported`);
    this.emit('reports', `conv:${r.conv}`);
  }

  /** The group's queue (or, with no conv, the admins' view) was read: nothing new there. */
  seenReports(convId) {
    if (convId) {
      if (!this.newReports.has(convId)) return;
      this.newReports.delete(convId);
      this.emit('reports', `conv:${convId}`);
    } else if (this.newAdminReports) {
      this.newAdminReports = 0;
      this.emit('reports');
    }
  }

  setNotice(text) {
    this.notice = text ? { text } : null;
    this.emit('notice');
  }

  // ---- users ----

  /** What I know of a user, or null (then asked for in the background). */
  user(id) {
    if (!id) return null;
    const u = this.users.get(id);
    if (u === undefined) this.resolveUsers([id]);
    return u ?? null;
  }

  /** A username by id, or null (then asked for in the background). */
  username(id) {
    return this.user(id)?.username ?? null;
  }

  /**
   * What to call someone: their display name, else their username; null
   * while unknown (then asked for in the background).
   */
  name(id) {
    const u = this.user(id);
    return u ? u.display_name || u.username : null;
  }

  /**
   * Records people from `UserInfo`s, `MemberInfo`s (no `about` in them:
   * it is kept) or `Me`. Each says the display name as it is now: absent
   * means none.
   */
  addUsers(list) {
    let changed = false;
    for (const u of list) {
      if (!u?.id || !u.username) continue;
      const old = this.users.get(u.id);
      const member = 'role' in u;
      const next = {
        id: u.id,
        username: u.username,
        display_name: u.display_name || null,
        about: member ? (old?.about ?? null) : u.about || null,
        avatar: u.avatar || null,
      };
      if (old && old.username === next.username && old.display_name === next.display_name && old.about === next.about && old.avatar === next.avatar) continue;
      this.users.set(u.id, next);
      changed = true;
    }
    if (changed) this.emit('users', 'convs');
  }

  // ---- conversations ----

  /** Replaces every conversation with the server's list. */
  setConversations(list) {
    this.convs.clear();
    for (const info of list) this.upsert(info);
    this.emit('convs');
  }

  /**
   * Adds or updates one conversation from a `ConversationInfo`. `since`:
   * the store's `tick` when it was asked for; settings changed after that
   * are newer than the ones it holds, which are then left out.
   */
  upsert(info, { since } = {}) {
    this.gone.delete(info.id);
    let conv = this.convs.get(info.id);
    if (conv && since !== undefined && conv.settingsTick > since && info.settings) {
      info = { ...info };
      delete info.settings;
    }
    if (conv) conv.update(info);
    else {
      conv = new Conv(info);
      this.convs.set(conv.id, conv);
    }
    conv.stale = false;
    if (info.peer) this.addUsers([info.peer]);
    this.emit('convs', `conv:${conv.id}`);
    return conv;
  }

  /**
   * Drops a conversation I left (from any of my devices): it leaves the
   * list, its typing indicators go, and a view showing it closes.
   */
  remove(id) {
    const map = this.typing.get(id);
    if (map) for (const t of map.values()) clearTimeout(t);
    this.typing.delete(id);
    const had = this.convs.delete(id);
    this.gone.add(id);
    if (had) this.emit('convs', `conv:${id}`, 'typing');
    return had;
  }

  /**
   * A change of my settings of a conversation (a `SettingsChange`, from
   * `PUT …/settings` or a `settings` entry of my log): replaces them.
   * One older than those applied already is ignored. Returns the
   * conversation, or null when it is not loaded.
   */
  applySettings(change) {
    const conv = this.convs.get(change.conv);
    if (!conv) return null;
    if ((change.ts ?? 0) < (conv.settingsTs ?? 0)) return conv;
    conv.settings = convSettings(change);
    conv.settingsTs = change.ts ?? 0;
    this.tick += 1;
    conv.settingsTick = this.tick;
    this.emit('convs', `conv:${conv.id}`);
    return conv;
  }

  /**
   * Conversations: the pinned ones first (the latest pinned on top), then
   * the newest activity first.
   */
  sorted() {
    return [...this.convs.values()].sort((a, b) => b.pinnedAt - a.pinnedAt || b.lastActivity - a.lastActivity);
  }

  /** The badge's count over the loaded conversations (`Conv.badgeCount`). */
  unreadLoaded() {
    let n = 0;
    for (const c of this.convs.values()) n += c.badgeCount();
    return n;
  }

  /** Unread messages over every conversation, loaded or not (the badge). */
  unreadTotal() {
    return this.unreadElsewhere + this.unreadLoaded();
  }

  /** Takes the server's `unread_total`, counted over all pages just now. */
  setUnreadTotal(total) {
    this.unreadElsewhere = Math.max(0, (total ?? 0) - this.unreadLoaded());
    this.emit('convs');
  }

  // ---- blocks ----

  /** Replaces my block list with the server's (`BlockInfo`s). */
  setBlocks(list) {
    this.blocks = new Map(list.map((b) => [b.user.id, b]));
    this.addUsers(list.map((b) => b.user));
    this.emit('blocks', 'convs');
  }

  /** Whether I have blocked this user (as far as this device knows). */
  blocked(id) {
    return !!id && !!this.blocks?.has(id);
  }

  // ---- presence and typing ----

  /**
   * Someone's presence as far as it can be trusted, or null. While my own
   * connection is down, nobody's presence reaches me: what I last heard
   * may be long out of date, so it counts as unknown until the next
   * connection's snapshot (which arrives before it is `online`).
   */
  presenceOf(id) {
    if (this.connection !== 'online') return null;
    return this.presence.get(id) ?? null;
  }

  /** True while presence is unknown because my own connection is down. */
  presenceStale() {
    return this.connection !== 'online';
  }

  /** A presence snapshot (replacing all) or changes. */
  setPresence(list, snapshot) {
    if (snapshot) this.presence.clear();
    for (const p of list) this.presence.set(p.user, { online: !!p.online, last_seen: p.last_seen });
    this.emit('presence');
  }

  /** A `typing` frame. */
  setTyping({ conv, user, active, expires_in_ms: ttl }) {
    if (user === this.me.id) return;
    let map = this.typing.get(conv);
    const old = map?.get(user);
    if (old) clearTimeout(old);
    if (active) {
      if (!map) {
        map = new Map();
        this.typing.set(conv, map);
      }
      // The server sends the stop itself; this bound only covers a lost one.
      map.set(
        user,
        setTimeout(() => this.setTyping({ conv, user, active: false }), (ttl ?? 6000) + 1000),
      );
    } else if (map) {
      map.delete(user);
      if (map.size === 0) this.typing.delete(conv);
    }
    this.emit('typing', `typing:${conv}`);
  }

  /** Who is typing in a conversation (user ids). */
  typingIn(conv) {
    return [...(this.typing.get(conv)?.keys() ?? [])];
  }

  /** Clears typing indicators (the connection dropped: they will not be stopped). */
  clearTyping() {
    for (const map of this.typing.values()) for (const t of map.values()) clearTimeout(t);
    this.typing.clear();
    this.emit('typing');
  }

  /** Forgets everything but who I am (resync, logout). */
  clear() {
    this.clearTyping();
    this.convs.clear();
    this.acked.clear();
    this.pages = { main: newPages(), archived: newPages() };
    this.unreadElsewhere = 0;
    this.emit('convs');
  }
}
