"""The inspector at ``/inspect``: "why didn't my alert show up in #ops?" in one look.

Server-rendered from the store with its own autoescaping Jinja2 environment (the message
renderer's sandbox formats chat text, this one writes HTML), plus a few lines of plain
JavaScript; no build step. Mounted only when ``[inspector] token`` is set.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.intake.web import CHECKUP, CLOCK, INGRESS, PIPELINE, SETTINGS, STORE
from bot.ops.gallery.event import NoSuchEvent, event_gallery
from bot.ops.inspector.access import Access, unauthorized
from bot.ops.inspector.page import Query, gather
from bot.pipeline.replay import ReplayError, replay

log = logging.getLogger("bot.inspector")


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _web_url(url: object) -> str:
    """Only http(s) links become hrefs: a payload's ``javascript:`` URL stays text."""
    text = str(url or "")
    return text if text.startswith(("https://", "http://")) else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, web_url=_web_url)
    return env


class Inspector:
    def __init__(self, access: Access) -> None:
        self.access = access
        self.template = _environment().get_template("page.html.j2")

    def _unauthorized(self, request: web.Request, now: float) -> web.Response | None:
        """401 without a valid credential; a wrong bearer token costs its address."""
        if self.access.credential(request, now) is not None:
            return None
        if self.access.presented_wrong_bearer(request):
            self.access.failed(request, now)
        return unauthorized()

    async def page(self, request: web.Request) -> web.Response:
        now = request.app[CLOCK].now()
        if (throttled := self.access.throttled(request, now)) is not None:
            return throttled
        login = self.access.login(request, now)
        if login is not None:
            return login
        if (refused := self._unauthorized(request, now)) is not None:
            return refused
        query = Query.parse(request.query)
        context = await gather(request.app[STORE], request.app[SETTINGS], query)
        nonce = secrets.token_urlsafe(16)
        html = self.template.render(
            **context,
            checkup=request.app[CHECKUP],
            csrf=self.access.csrf,
            nonce=nonce,
            notice=request.query.get("notice", "")[:500],
        )
        return web.Response(text=html, content_type="text/html", headers=_headers(nonce))

    async def preview(self, request: web.Request) -> web.Response:
        """``/inspect/preview/<event id>``: the event as each chat platform shows it."""
        now = request.app[CLOCK].now()
        if refused := self.access.throttled(request, now) or self._unauthorized(request, now):
            return refused
        ident = request.match_info["event"]
        store = request.app[STORE]
        event = await store.get_event(ident)
        item = await store.get_inbox(event.inbox_id) if event is not None else None
        if event is None or item is None:
            return _not_found(
                f"no event {ident!r} in the store (it may be past [store] retention_days)"
            )
        try:
            gallery = await event_gallery(request.app[SETTINGS], item, ident)
        except NoSuchEvent as exc:
            return _not_found(str(exc))
        html = gallery.html(f"Event {ident}: {event.title}", back="/inspect")
        return web.Response(
            text=html, content_type="text/html", headers=_headers(secrets.token_urlsafe(16))
        )

    async def replay(self, request: web.Request) -> web.Response:
        now = request.app[CLOCK].now()
        if refused := self.access.throttled(request, now) or self._unauthorized(request, now):
            return refused
        credential = self.access.credential(request, now)
        form = await request.post()
        if credential == "cookie" and not self.access.csrf_ok(str(form.get("csrf", ""))):
            return web.Response(status=403, text="403: stale or missing form token; reload\n")
        ident = str(form.get("id", ""))
        try:
            replayed = await replay(request.app[STORE], ident, request.app[CLOCK].now())
        except ReplayError as exc:
            notice = f"Not replayed: {exc}"
        else:
            pipeline = request.app[PIPELINE]
            wake = pipeline.inbox_wake if replayed.stage == "inbox" else pipeline.outbox_wake
            wake.nudge()
            notice = f"Queued {replayed.what}."
            log.info("replayed", extra={"id": ident, "what": replayed.what, "by": "inspector"})
        back = Query.parse(form).url(notice=notice)
        return web.Response(status=303, headers={"Location": back})


def _not_found(why: str) -> web.Response:
    return web.Response(status=404, text=f"404: {why}; the inspector lists the events there are\n")


def _headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def add_inspector(app: web.Application, token: str, session_seconds: float) -> None:
    inspector = Inspector(Access(token, session_seconds, app[INGRESS]))
    app.router.add_get("/inspect", inspector.page)
    app.router.add_post("/inspect/replay", inspector.replay)
    app.router.add_get("/inspect/preview/{event}", inspector.preview)
