"""Locust load test for natter's HTTP JSON API (/v1).

Simulates users that have no socket and do everything over HTTP
(docs/protocol.md, sections 3, 4, 8 and 9): each user registers, opens a
direct conversation with a partner and creates a small group, then loops over
weighted tasks:

  * send a message            POST /v1/conversations/{id}/messages
                               (fresh client_id; now and then the same
                               client_id is sent again, which must be
                               answered 200 with duplicate=true and the
                               original id/seq)
  * list conversations        GET  /v1/conversations
  * read history pages        GET  /v1/conversations/{id}/events?limit=50
                               and ?before=<oldest seq>&limit=50
  * long-poll the user's log  GET  /v1/sync?cursor=..&wait=5
  * mark read                 POST /v1/conversations/{id}/receipts
                               {"kind":"read","seq":N}

Requests are named with templates ("/v1/conversations/[id]/messages") so the
statistics aggregate over conversations.

THE TARGET SERVER MUST BE CONFIGURED FOR LOAD TESTS. By default it allows 60
register/login attempts per client address per 300 s (every simulated user
comes from one address) and hashes passwords with a deliberately expensive
Argon2id. Run it with bench/locust/server.toml, which sets

    [auth]
    login_attempts_per_address = 1000000
    argon2_memory_kib = 1024
    argon2_iterations = 1

for example:

    natter serve --listen 127.0.0.1:7985 --data-dir /tmp/loadtest \
        --config bench/locust/server.toml

If the server answers 429 rate_limited anyway, users wait the Retry-After
seconds and try again; each 429 is reported as a failure so a misconfigured
server is visible in the statistics.

Run (headless, 50 users, 10 spawned per second, 30 s):

    locust -f bench/locust/locustfile.py --headless -u 50 -r 10 -t 30s \
        --host http://127.0.0.1:7985

Tuning through the environment:

    NATTER_PARTNERS      partner accounts registered once per process (20)
    NATTER_WAIT_MIN/MAX  think time between tasks, seconds (0.5 / 1.5)
    NATTER_RETRY_RATIO   share of sends retried with the same client_id (0.1)
    NATTER_POLL_WAIT     long-poll wait, seconds (5)
    NATTER_PASSWORD      password of every account ("bench password 1234")
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
import uuid
from collections import deque

import gevent
from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = os.environ.get("NATTER_PASSWORD", "bench password 1234")
PARTNERS = int(os.environ.get("NATTER_PARTNERS", "20"))
WAIT_MIN = float(os.environ.get("NATTER_WAIT_MIN", "0.5"))
WAIT_MAX = float(os.environ.get("NATTER_WAIT_MAX", "1.5"))
RETRY_RATIO = float(os.environ.get("NATTER_RETRY_RATIO", "0.1"))
POLL_WAIT = int(os.environ.get("NATTER_POLL_WAIT", "5"))

# Usernames: 3-32 chars of [a-z0-9_.-]. A per-process tag keeps runs (and
# Locust worker processes) from colliding on an existing server.
RUN_TAG = uuid.uuid4().hex[:8]
_serial = itertools.count(1)

# Refresh the access token this many seconds before it expires.
REFRESH_MARGIN = 60
# Give up on an auth call after this many 429 answers in a row.
MAX_RATE_LIMITED = 5

log = logging.getLogger("natter")

# Module-level tallies printed when Locust quits.
TALLY = {"duplicates_verified": 0, "rate_limited": 0, "refreshes": 0}


def new_username(kind: str) -> str:
    return f"lc{RUN_TAG}{kind}{next(_serial)}"


def error_code(resp) -> str:
    """The error.code of a natter error body, or a description."""
    try:
        return resp.json()["error"]["code"]
    except Exception:  # noqa: BLE001 - non-JSON body, connection error, ...
        return f"HTTP {resp.status_code}"


def retry_after(resp) -> float:
    """Seconds to wait after a 429: error.retry_after or Retry-After, >= 1."""
    try:
        return max(1.0, float(resp.json()["error"]["retry_after"]))
    except Exception:  # noqa: BLE001
        pass
    try:
        return max(1.0, float(resp.headers.get("Retry-After") or 1))
    except (TypeError, ValueError):
        return 1.0


class Pool:
    """Accounts shared by every simulated user in this process."""

    lock = Semaphore()
    # Pre-registered, passive partner accounts (ids).
    partners: list[str] = []
    # Ids of recently registered active users, to put into groups so that
    # users see each other's messages in their long-polls.
    active: deque[str] = deque(maxlen=200)


class NatterUser(FastHttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)
    # Long-polls hold a request open for POLL_WAIT seconds.
    network_timeout = POLL_WAIT + 15.0
    connection_timeout = 10.0

    # ---------------------------------------------------------------- setup

    def on_start(self) -> None:
        self.convs: list[str] = []
        self.last_seq: dict[str, int] = {}
        self.read_seq: dict[str, int] = {}
        self.cursor = ""
        self.sent = 0
        self.ensure_partners()
        session = self.auth_call(
            "/v1/auth/register",
            {"username": new_username("u"), "password": PASSWORD, "device_name": "locust"},
            "/v1/auth/register",
            ok=(201,),
        )
        if session is None:
            raise StopUser()
        self.adopt(session)

        partner = random.choice(Pool.partners)
        direct = self.api(
            "POST", "/v1/conversations", "/v1/conversations [direct]",
            body={"kind": "direct", "user": partner}, ok=(200, 201),
            check=lambda d: None if d.get("kind") == "direct" else "not a direct conversation",
        )
        members = random.sample(Pool.partners, min(2, len(Pool.partners)))
        others = [u for u in list(Pool.active)[-20:] if u != self.user_id]
        members += random.sample(others, min(2, len(others)))
        group = self.api(
            "POST", "/v1/conversations", "/v1/conversations [group]",
            body={"kind": "group", "name": f"locust group {self.username}", "members": members},
            ok=(201,),
            check=lambda d: None if d.get("member_count") == len(set(members)) + 1 else "wrong member_count",
        )
        for conv in (direct, group):
            if conv is not None:
                self.learn_conv(conv)
        if not self.convs:
            raise StopUser()
        Pool.active.append(self.user_id)

    def ensure_partners(self) -> None:
        """The first user of the process registers the partner pool."""
        with Pool.lock:
            while len(Pool.partners) < PARTNERS:
                s = self.auth_call(
                    "/v1/auth/register",
                    {"username": new_username("p"), "password": PASSWORD, "device_name": "locust partner"},
                    "/v1/auth/register",
                    ok=(201,),
                )
                if s is None:
                    raise StopUser()
                Pool.partners.append(s["user"])

    def adopt(self, session: dict) -> None:
        self.user_id = session["user"]
        self.username = session["username"]
        self.access = session["access_token"]
        self.refresh_token = session["refresh_token"]
        self.refresh_at = time.monotonic() + session["access_expires_in"] - REFRESH_MARGIN

    def learn_conv(self, info: dict) -> None:
        cid = info["id"]
        if cid not in self.last_seq:
            self.convs.append(cid)
        self.last_seq[cid] = max(self.last_seq.get(cid, 0), info.get("last_seq", 0))
        self.read_seq[cid] = max(self.read_seq.get(cid, 0), info.get("read_seq", 0))

    # ------------------------------------------------------------- helpers

    def auth_call(self, path: str, body: dict, name: str, ok=(200,)) -> dict | None:
        """An unauthenticated auth endpoint, backing off on 429."""
        for _ in range(MAX_RATE_LIMITED):
            wait = 0.0
            with self.client.post(path, json=body, name=name, catch_response=True) as r:
                if r.status_code in ok:
                    r.success()
                    return r.json()
                if r.status_code == 429:
                    wait = retry_after(r)
                    TALLY["rate_limited"] += 1
                    # One constant message, so Locust's error report
                    # aggregates them.
                    r.failure(
                        "429 rate_limited, backing off for Retry-After "
                        "(run the server with bench/locust/server.toml)"
                    )
                else:
                    r.failure(f"{r.status_code} {error_code(r)}")
                    return None
            # Honour Retry-After, plus 1 s: the server rounds the seconds left
            # in its window down, so coming back after exactly retry_after
            # can be a fraction of a second early. Jitter so that users do
            # not return in lockstep.
            gevent.sleep((wait + 1.0) * random.uniform(1.0, 1.2))
        return None

    def ensure_token(self) -> None:
        if time.monotonic() < self.refresh_at:
            return
        s = self.auth_call(
            "/v1/auth/refresh", {"refresh_token": self.refresh_token}, "/v1/auth/refresh"
        )
        if s is None:
            # Refresh refused: log in again (a new device session).
            s = self.auth_call(
                "/v1/auth/login",
                {"username": self.username, "password": PASSWORD, "device_name": "locust"},
                "/v1/auth/login",
            )
        if s is None:
            raise StopUser()
        TALLY["refreshes"] += 1
        self.adopt(s)

    def api(self, method, path, name, body=None, ok=(200,), check=None):
        """An authenticated request. Returns the decoded body, or None on
        failure (already reported to Locust). `check(body)` returns an
        error message to fail a 2xx answer with, or None."""
        self.ensure_token()
        with self.client.request(
            method, path, name=name, json=body, catch_response=True,
            headers={"Authorization": f"Bearer {self.access}"},
        ) as r:
            if r.status_code not in ok:
                r.failure(f"{r.status_code} {error_code(r)}")
                if r.status_code == 401 and error_code(r) == "token_expired":
                    self.refresh_at = 0.0  # refresh before the next request
                return None
            try:
                data = r.json() if r.text else {}
            except ValueError:
                r.failure("response is not JSON")
                return None
            problem = check(data) if check else None
            if problem:
                r.failure(problem)
                return None
            r.success()
            return data

    def pick_conv(self) -> str:
        return random.choice(self.convs)

    # --------------------------------------------------------------- tasks

    @task(10)
    def send_message(self) -> None:
        conv = self.pick_conv()
        self.sent += 1
        client_id = str(uuid.uuid4())
        body = {"client_id": client_id, "text": f"{self.username} #{self.sent} at {time.time():.3f}"}
        path = f"/v1/conversations/{conv}/messages"
        first = self.api(
            "POST", path, "/v1/conversations/[id]/messages", body=body, ok=(201,),
            check=lambda d: None
            if d.get("client_id") == client_id and d.get("duplicate") is False and d.get("conv") == conv
            else f"unexpected Sent {d}",
        )
        if first is None:
            return
        self.last_seq[conv] = max(self.last_seq.get(conv, 0), first["seq"])
        if random.random() < RETRY_RATIO:
            # A client that lost the answer retries with the same client_id
            # and text: 200, duplicate=true, the original id/seq/ts.
            def same(d):
                if d.get("duplicate") is not True:
                    return f"retry not flagged duplicate: {d}"
                if (d.get("id"), d.get("seq"), d.get("ts")) != (first["id"], first["seq"], first["ts"]):
                    return f"retry answered a different message: {d} vs {first}"
                return None

            if self.api(
                "POST", path, "/v1/conversations/[id]/messages [retry]", body=body, ok=(200,), check=same
            ) is not None:
                TALLY["duplicates_verified"] += 1

    @task(3)
    def list_conversations(self) -> None:
        def complete(d):
            if not isinstance(d.get("conversations"), list) or "unread_total" not in d:
                return "not a ConversationList"
            listed = {c["id"] for c in d["conversations"]}
            missing = [c for c in self.convs if c not in listed]
            return f"conversations missing from the list: {missing}" if missing else None

        data = self.api("GET", "/v1/conversations", "/v1/conversations", check=complete)
        if data is None:
            return
        for c in data["conversations"]:
            # Groups other users added us to become targets too.
            self.learn_conv(c)

    @task(3)
    def read_history(self) -> None:
        conv = self.pick_conv()

        def ascending(d):
            seqs = [e["seq"] for e in d.get("events", [])]
            if "more" not in d:
                return "no 'more' field"
            return None if seqs == sorted(set(seqs)) else f"events not ascending: {seqs}"

        page = self.api(
            "GET", f"/v1/conversations/{conv}/events?limit=50",
            "/v1/conversations/[id]/events?limit=50", check=ascending,
        )
        if page is None or not page["events"]:
            return
        newest = page["events"][-1]["seq"]
        self.last_seq[conv] = max(self.last_seq.get(conv, 0), newest)
        # Page backwards. With more=true, from the oldest event shown (the
        # next page up); otherwise, as a client that holds only the newest
        # message locally, from that message: short conversations (all of
        # them, in a 30 s run) still exercise the ?before= path.
        before = page["events"][0]["seq"] if page["more"] else newest
        self.api(
            "GET", f"/v1/conversations/{conv}/events?before={before}&limit=50",
            "/v1/conversations/[id]/events?before=[seq]&limit=50",
            check=lambda d: ascending(d)
            or (None if all(e["seq"] < before for e in d["events"]) else "event not before the cursor"),
        )

    @task(4)
    def long_poll(self) -> None:
        # Poll once with wait; drain further pages at once while more=true.
        wait = POLL_WAIT
        for _ in range(4):
            before = self.cursor

            def sane(d):
                if "deliveries" not in d or "cursor" not in d:
                    return f"not a SyncPage: {d}"
                if int(d["cursor"] or 0) < int(before or 0):
                    return f"cursor went backwards: {before} -> {d['cursor']}"
                return None

            page = self.api(
                "GET", f"/v1/sync?cursor={self.cursor}&wait={wait}&limit=100",
                f"/v1/sync?wait={wait}" if wait else "/v1/sync?wait=0", check=sane,
            )
            if page is None:
                return
            for d in page["deliveries"]:
                ev = d.get("event")
                if ev is not None:
                    conv = ev["conv"]
                    if conv not in self.last_seq and ev.get("kind") in ("created", "members_added"):
                        self.convs.append(conv)
                        self.last_seq[conv] = 0
                    if conv in self.last_seq:
                        self.last_seq[conv] = max(self.last_seq[conv], ev["seq"])
            self.cursor = page["cursor"]
            if not page["more"]:
                return
            wait = 0

    @task(3)
    def mark_read(self) -> None:
        unread = [c for c in self.convs if self.last_seq.get(c, 0) > self.read_seq.get(c, 0)]
        if not unread:
            return
        conv = random.choice(unread)
        seq = self.last_seq[conv]
        data = self.api(
            "POST", f"/v1/conversations/{conv}/receipts", "/v1/conversations/[id]/receipts",
            body={"kind": "read", "seq": seq},
            check=lambda d: None
            if d.get("read", -1) >= seq and d.get("delivered", -1) >= d.get("read", 0)
            else f"watermarks did not move to {seq}: {d}",
        )
        if data is not None:
            self.read_seq[conv] = data["read"]


@events.quitting.add_listener
def _report(environment, **_kwargs) -> None:
    log.info(
        "natter: %d idempotent retries verified duplicate=true, %d 429 answers, %d token refreshes",
        TALLY["duplicates_verified"], TALLY["rate_limited"], TALLY["refreshes"],
    )
