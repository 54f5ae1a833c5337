"""Refuse a request whose header values are not UTF-8, before any handler reads them.

aiohttp decodes header bytes with ``surrogateescape``, so ``sha256=\\xff\\xfe`` arrives as
a string that no ``.encode()`` accepts: every verifier, the inspector's token check and
slack-bolt would each raise on it. One check here answers 400 for all of them.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler


def _not_utf8(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@web.middleware
async def refuse_undecodable_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """400 naming the first header whose value is not valid UTF-8."""
    for name, value in request.headers.items():
        if _not_utf8(value):
            return web.json_response(
                {
                    "status": "error",
                    "error": f"header {name} is not valid UTF-8: send its value as ASCII",
                },
                status=400,
            )
    return await handler(request)
