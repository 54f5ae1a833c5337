"""A fake Slack Web API in its own process that notes when each marked message arrives.

``python -m bench.fake_slack PORT [--down]``. Every ``chat.*`` call is searched for the
bench's markers (``bm-000042``, ``ba-000042``); the first arrival of each is kept
(``time.monotonic()``, comparable with the load generator's send times).
``GET /stats`` returns the counts and arrivals, and ``shown``: for each message whose
headline counts alerts ("... 9998 alerts firing"), the latest count, so the storm counts
what chat shows rather than what the bot says it did. ``--down`` answers every call with
503, as Slack does in an outage.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from typing import Any

from aiohttp import web

from bench import runtime

MARKER = re.compile(rb"b[ma]-\d{6}")
ALERTS = re.compile(r"\b(\d+) alerts?\b")
STATS = web.AppKey("stats", dict)


async def api(request: web.Request) -> web.Response:
    stats = request.app[STATS]
    body = await request.read()
    if stats["down"]:
        stats["refused"] += 1
        return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
    now = time.monotonic()
    method = request.match_info["method"]
    stats["calls"][method] = stats["calls"].get(method, 0) + 1
    first = stats["first"]
    for marker in MARKER.findall(body):
        first.setdefault(marker.decode(), now)
    message = _json(body)
    if method == "chat.update" and "ts" in message:  # an edit keeps its message's ts
        ts = str(message["ts"])
    else:
        stats["ts"] += 1
        ts = f"{1_700_000_000 + stats['ts'] // 1_000_000}.{stats['ts'] % 1_000_000:06d}"
    if method in ("chat.postMessage", "chat.update"):
        counts = [int(n) for n in ALERTS.findall(str(message.get("text", "")))]
        if counts:  # a digest's headline: the alerts it shows now
            stats["shown"][ts] = max(counts)
    return web.json_response({"ok": True, "channel": _channel(body), "ts": ts})


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body)
    except ValueError:  # a form-encoded call
        return {}
    return found if isinstance(found, dict) else {}


def _channel(body: bytes) -> str:
    found = re.search(rb'"channel":\s*"([^"]*)"', body)
    return found.group(1).decode() if found else "C0"


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS])


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--down", action="store_true")
    args = parser.parse_args()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[STATS] = {"down": args.down, "refused": 0, "calls": {}, "first": {}, "shown": {}, "ts": 0}
    app.router.add_post("/api/{method}", api)
    app.router.add_get("/stats", stats)
    app.router.add_get("/healthz", healthz)
    loop = runtime.loop_factory()()
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
