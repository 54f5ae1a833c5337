"""The ceiling: a bare aiohttp handler that reads the body and answers 200.

``python -m bench.baseline PORT`` serves it the way ``serve`` serves the bot (same loop,
no access log), so the ratio ingest/baseline measures the bot's own work.
"""

from __future__ import annotations

import sys

from aiohttp import web

from bench import runtime


async def ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b'{"status": "accepted"}', content_type="application/json")


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application(client_max_size=26_214_400)
    app.router.add_post("/hooks/{source}", ok)
    app.router.add_get("/healthz", healthz)
    port = int(sys.argv[1])
    loop = runtime.loop_factory()()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
