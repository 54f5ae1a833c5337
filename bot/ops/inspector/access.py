"""Who may see the inspector: the holder of ``[inspector] token``, and nobody else.

The token arrives as ``Authorization: Bearer`` (scripts) or once as ``?token=`` (a
browser): that answer sets an HttpOnly, SameSite=Strict cookie and redirects to the same
URL without the token, so it leaves the address bar, the history and any Referer. The
cookie holds when it was issued and a value derived from the token and that time, never
the token itself, and stops working after ``[inspector] session`` (12 h). Wrong tokens
cost their client address: past a few, that address is refused (429) for a while, so the
token cannot be guessed at network speed. A form that changes
something (replay) also carries a CSRF value derived from the token: SameSite=Strict
already keeps other sites' requests cookie-less, the form value makes that explicit.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import math
from collections import OrderedDict
from collections.abc import Iterable
from typing import Literal, Protocol
from urllib.parse import urlencode

from aiohttp import web

from bot.core.pacing import TokenBucket

COOKIE = "bot_inspector"
PATH = "/inspect"

Credential = Literal["bearer", "cookie"]


def _derive(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


FAILURES_ALLOWED = 5
"""Wrong tokens an address may present at once before it must wait."""
FAILURES_PER_SECOND = 0.1
"""How fast an address earns another try afterwards (one every ten seconds)."""
ADDRESSES_KEPT = 10_000


class Access:
    def __init__(self, token: str, session_seconds: float, proxied: ProxyCheck) -> None:
        self._token = token
        self._session_seconds = session_seconds
        self._proxied = proxied
        self.csrf = _derive(token, "inspector csrf")
        self._failures: OrderedDict[str, TokenBucket] = OrderedDict()

    def credential(self, request: web.Request, now: float) -> Credential | None:
        """How the request proved it holds the token, if it did."""
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(given.strip(), self._token):
            return "bearer"
        cookie = request.cookies.get(COOKIE, "")
        if cookie and self._session_ok(cookie, now):
            return "cookie"
        return None

    def throttled(self, request: web.Request, now: float) -> web.Response | None:
        """429 for an address that presented too many wrong tokens lately."""
        bucket = self._failures.get(self._address(request))
        if bucket is None or (wait := bucket.delay(now)) <= 0:
            return None
        return web.Response(
            status=429,
            text="429: too many wrong inspector tokens from this address; wait and retry\n",
            headers={"Retry-After": str(math.ceil(wait))},
        )

    def failed(self, request: web.Request, now: float) -> None:
        """A wrong token was presented (a bearer or ``?token=``): it costs its address."""
        address = self._address(request)
        bucket = self._failures.pop(address, None) or TokenBucket(
            FAILURES_PER_SECOND, FAILURES_ALLOWED, FAILURES_ALLOWED, now
        )
        bucket.take(now)
        self._failures[address] = bucket
        if len(self._failures) > ADDRESSES_KEPT:
            self._failures.popitem(last=False)

    def presented_wrong_bearer(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and not _same(given.strip(), self._token)

    def csrf_ok(self, given: str) -> bool:
        return _same(given, self.csrf)

    def _session(self, issued: int) -> str:
        return f"{issued}.{_derive(self._token, f'inspector session {issued}')}"

    def _session_ok(self, cookie: str, now: float) -> bool:
        issued, _, _ = cookie.partition(".")
        if not issued.isdigit() or not 0 <= now - int(issued) < self._session_seconds:
            return False
        return _same(cookie, self._session(int(issued)))

    def _address(self, request: web.Request) -> str:
        forwarded = request.headers.getall("X-Forwarded-For", [])
        return str(self._proxied.client(request.remote, forwarded))

    def _https(self, request: web.Request) -> bool:
        """TLS here, or ``X-Forwarded-Proto: https`` from a trusted proxy (anyone else's
        is ignored: a forged one would mark the cookie Secure over plain HTTP)."""
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip()
        return request.secure or (forwarded == "https" and self._proxied.from_proxy(request.remote))

    def login(self, request: web.Request, now: float) -> web.Response | None:
        """Answer a ``?token=`` visit: the cookie and a token-free URL; ``None`` if absent."""
        given = request.query.get("token")
        if given is None:
            return None
        if not _same(given, self._token):
            self.failed(request, now)
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
        response.set_cookie(
            COOKIE,
            self._session(int(now)),
            path=PATH,
            max_age=int(self._session_seconds),
            httponly=True,
            samesite="Strict",
            secure=self._https(request),
        )
        return response


class ProxyCheck(Protocol):
    """What the inspector asks of the intake's view of proxies (``IngressPolicy``)."""

    def client(self, peer: str | None, forwarded_for: Iterable[str]) -> object:
        """The client's address (through trusted proxies only)."""

    def from_proxy(self, peer: str | None) -> bool:
        """Whether ``peer`` is a proxy whose ``X-Forwarded-*`` headers are believed."""


def unauthorized() -> web.Response:
    return web.Response(
        status=401,
        text="401: the inspector needs its token: open /inspect?token=TOKEN once "
        "(it sets a cookie), or send Authorization: Bearer TOKEN\n",
        headers={"WWW-Authenticate": 'Bearer realm="inspector"'},
    )
