"""Who may see the inspector: the holder of ``[inspector] token``, and nobody else.

The token arrives as ``Authorization: Bearer`` (scripts) or once as ``?token=`` (a
browser): that answer sets an HttpOnly, SameSite=Strict cookie and redirects to the same
URL without the token, so it leaves the address bar, the history and any Referer. The
cookie holds a value derived from the token, never the token itself. A form that changes
something (replay) also carries a CSRF value derived from the token: SameSite=Strict
already keeps other sites' requests cookie-less, the form value makes that explicit.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from typing import Literal
from urllib.parse import urlencode

from aiohttp import web

COOKIE = "bot_inspector"
PATH = "/inspect"

Credential = Literal["bearer", "cookie"]


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class Access:
    def __init__(self, token: str) -> None:
        self._token = token
        self._session = _derive(token, "inspector session")
        self.csrf = _derive(token, "inspector csrf")

    def credential(self, request: web.Request) -> Credential | None:
        """How the request proved it holds the token, if it did."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self._token):
            return "bearer"
        cookie = request.cookies.get(COOKIE, "")
        if cookie and _same(cookie, self._session):
            return "cookie"
        return None

    def csrf_ok(self, given: str) -> bool:
        return _same(given, self.csrf)

    def login(self, request: web.Request) -> web.Response | None:
        """Answer a ``?token=`` visit: the cookie and a token-free URL; ``None`` if absent."""
        given = request.query.get("token")
        if given is None:
            return None
        if not _same(given, self._token):
            return unauthorized()
        rest = [(k, v) for k, v in request.query.items() if k != "token"]
        clean = request.path + (f"?{urlencode(rest)}" if rest else "")
        if request.headers.get("Sec-Fetch-Site") == "cross-site":
            # A link clicked in another site (chat): browsers withhold SameSite=Strict
            # cookies for the whole redirect chain, so move on from our own page instead.
            response = web.Response(
                text=f'<meta http-equiv="refresh" content="0;url={html.escape(clean)}">',
                content_type="text/html",
            )
        else:
            response = web.Response(status=303, headers={"Location": clean})
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        response.set_cookie(
            COOKIE,
            self._session,
            path=PATH,
            httponly=True,
            samesite="Strict",
            secure=secure,
        )
        return response


def unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401: the inspector needs its token: open /inspect?token=TOKEN once "
        "(it sets a cookie), or send Authorization: Bearer TOKEN\n",
        headers={"WWW-Authenticate": 'Bearer realm="inspector"'},
    )
