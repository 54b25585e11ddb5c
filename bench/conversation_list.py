#!/usr/bin/env python3
"""Measures the conversation list of a user someone put in thousands of
groups (issue: unsolicited groups): the size and time of the first page,
of paging through everything, of one conversation by id, and of the
request filter.

    python3 bench/conversation_list.py [--url http://127.0.0.1:7878] [--groups 3000]

Run it against a fresh `natter serve` (release build) whose
`limits.group_creates_per_hour` lets one user make that many groups (the
default, 100, is there to stop exactly this). It registers two users with
random names, so it can run again on the same server.
"""

import argparse
import concurrent.futures
import json
import secrets
import statistics
import time
import urllib.request

PASSWORD = "correct horse battery staple"


def call(url, method="GET", body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else None, len(raw)


def register(base, name):
    s, _ = call(f"{base}/v1/auth/register", "POST", {"username": name, "password": PASSWORD})
    return s["access_token"], s["user"]


def timed(n, f):
    """Runs f n times; returns (median ms, last result)."""
    times, out = [], None
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:7878")
    ap.add_argument("--groups", type=int, default=3000)
    args = ap.parse_args()
    base = args.url
    tag = secrets.token_hex(3)
    victim, victim_id = register(base, f"victim{tag}")
    spammer, _ = register(base, f"spam{tag}")
    # The victim admits nobody: every group is an invitation.
    call(f"{base}/v1/me/privacy", "PUT",
         {"presence": "everyone", "read_receipts": True, "group_adds": "nobody"}, victim)

    def make(i):
        g, _ = call(f"{base}/v1/conversations", "POST",
                    {"kind": "group", "name": f"spam {i}", "members": [victim_id]}, spammer)
        return g["id"]

    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(make, range(args.groups)))
    made = time.perf_counter() - t

    first_ms, (first, first_bytes) = timed(20, lambda: call(f"{base}/v1/conversations", token=victim))

    def everything():
        seen, before, pages, size = [], None, 0, 0
        while True:
            q = "limit=500" + (f"&before={before}" if before else "")
            page, n = call(f"{base}/v1/conversations?{q}", token=victim)
            pages, size = pages + 1, size + n
            seen += [c["id"] for c in page["conversations"]]
            before = page.get("next")
            if not before:
                return seen, pages, size

    all_ms, (seen, pages, all_bytes) = timed(3, everything)
    one_ms, _ = timed(50, lambda: call(f"{base}/v1/conversations/{ids[len(ids) // 2]}", token=victim))
    req_ms, _ = timed(20, lambda: call(f"{base}/v1/conversations?request=false", token=victim))
    me_ms, _ = timed(50, lambda: call(f"{base}/v1/me", token=victim))

    result = {
        "groups": args.groups,
        "created_per_s": round(args.groups / made),
        "first_page": {"conversations": len(first["conversations"]), "bytes": first_bytes,
                       "ms_median": round(first_ms, 1), "unread_total": first["unread_total"]},
        "whole_list": {"conversations": len(seen), "distinct": len(set(seen)), "pages": pages,
                       "bytes": all_bytes, "ms_median": round(all_ms, 1)},
        "one_conversation_ms_median": round(one_ms, 2),
        "request_false_page_ms_median": round(req_ms, 1),
        "me_ms_median": round(me_ms, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
