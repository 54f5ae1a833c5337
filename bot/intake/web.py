"""HTTP routes: the webhook intake (verify -> persist -> ack), health and metrics.

The intake answers only after the raw request is durable, and does nothing else on
the request path: normalizing, routing and posting happen in the background workers.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_exceptions import HTTPRequestEntityTooLarge

from bot.chat.checks import Checkup
from bot.commands import CommandCore
from bot.commands.actions import ActionCore
from bot.config.settings import Settings, SourceConfig
from bot.core.clock import Clock
from bot.core.errors import PayloadError, VerificationError
from bot.intake.budget import BodyBudget
from bot.intake.challenge import challenge_value
from bot.intake.ingress import Address, IngressPolicy, Refusal
from bot.ops.metrics import Metrics
from bot.ops.startup import hook_paths
from bot.pipeline.workers import Pipeline
from bot.providers import PROVIDERS, Provider, WebhookRequest
from bot.store import Store

log = logging.getLogger("bot.intake")

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
PIPELINE = web.AppKey("pipeline", Pipeline)
INGRESS = web.AppKey("ingress", IngressPolicy)
COMMANDS = web.AppKey("commands", CommandCore)
ACTIONS = web.AppKey("actions", ActionCore)
CLOCK = web.AppKey("clock", Clock)
BUDGET = web.AppKey("body_budget", BodyBudget)
CHECKUP = web.AppKey("checkup", Checkup)


def _error(status: int, message: str, **extra: str) -> web.Response:
    return web.json_response({"status": "error", "error": message, **extra}, status=status)


async def receive_hook(request: web.Request) -> web.StreamResponse:
    """``POST /hooks/{source}``, counted while in flight so background work gives way."""
    intake = request.app[PIPELINE].intake
    intake.arrived()
    try:
        return await _receive(request)
    finally:
        intake.answered()


async def _receive(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    settings = request.app[SETTINGS]
    metrics = request.app[METRICS]
    name = request.match_info["source"]
    source = settings.sources.get(name)
    if source is None:
        return _error(404, f"unknown source {name!r}")
    ingress = request.app[INGRESS]
    client = _client(request) if ingress.guards(name, source) else None
    if (refused := await _admit(request, name, source, client)) is not None:
        return refused
    limit = settings.server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        metrics.count_request(name, "too_large")
        return _error(413, f"body larger than {limit} bytes")
    provider = PROVIDERS[source.provider]
    now = request.app[CLOCK].now()
    if source.presented_in and not any(request.headers.get(h) for h in source.presented_in):
        # No credential header: the verifier's own words, without reading the body (a
        # ping URL may still carry its token as ?token=).
        bodiless = WebhookRequest(headers=request.headers, body=b"", query=dict(request.query))
        try:
            provider.verify(source, bodiless, now)
        except VerificationError as exc:
            ingress.failed(name, client, time.monotonic())
            await _reject(request, name, exc.reason, exc.code, now, client)
            return await _hang_up(request, _error(401, exc.reason))
    size = request.content_length if request.content_length is not None else limit
    budget = request.app[BUDGET]
    if not budget.reserve(size):
        metrics.count_request(name, "over_budget")
        busy = _error(
            503,
            "too many request bodies in flight ([server] body_budget_bytes); retry shortly",
        )
        busy.headers["Retry-After"] = "1"
        return await _hang_up(request, busy)
    try:
        return await _verify_and_store(request, name, source, client, started)
    finally:
        budget.release(size)


async def _verify_and_store(
    request: web.Request,
    name: str,
    source: SourceConfig,
    client: Address | None,
    started: float,
) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    metrics = request.app[METRICS]
    ingress = request.app[INGRESS]
    limit = settings.server.max_body_bytes
    try:
        body = await _read_body(request, settings.server.read_timeout)
    except HTTPRequestEntityTooLarge:
        metrics.count_request(name, "too_large")
        return _error(413, f"body larger than {limit} bytes")
    except TimeoutError:
        return await _cut_off(request, name)
    hook = WebhookRequest(
        headers=request.headers,  # case-insensitive already
        body=body,
        query=dict(request.query),
    )
    provider = PROVIDERS[source.provider]
    now = request.app[CLOCK].now()
    try:
        provider.verify(source, hook, now)
    except VerificationError as exc:
        ingress.failed(name, client, time.monotonic())
        await _reject(request, name, exc.reason, exc.code, now, client)
        return _error(401, exc.reason)
    if (over := ingress.verified(name, time.monotonic())) is not None:
        return _rate_limited(request, name, over)
    try:
        payload = _payload_at_intake(provider, source, hook)
    except PayloadError as exc:
        metrics.count_request(name, "bad_payload")
        log.warning("refused", extra={"source": name, "outcome": "bad_payload", "reason": str(exc)})
        return _error(400, str(exc))
    if (echo := challenge_value(source.challenge_at, hook.query, payload)) is not None:
        return _challenge_answer(name, echo)
    delivery_id = provider.delivery_id(hook, payload)
    kept = {h: v for h in provider.kept_headers if (v := hook.header(h)) is not None}
    store = request.app[STORE]
    try:
        inbox_id, duplicate = await store.accept(
            name, delivery_id, kept, body, now, by_body=not provider.ping
        )
    except Exception as exc:  # locked, full or unreachable: not stored, so the sender retries
        metrics.count_request(name, "unavailable")
        log.error("store unavailable", extra={"source": name, "error": type(exc).__name__})
        return _error(503, f"could not store the request ({type(exc).__name__}); retry later")
    outcome = "duplicate" if duplicate else "accepted"
    if not duplicate:
        request.app[PIPELINE].inbox_wake.nudge()
    metrics.count_request(name, outcome)
    took = time.perf_counter() - started
    metrics.ack_seconds.observe(took)
    log.info(
        outcome,
        extra={
            "inbox": inbox_id,
            "source": name,
            "delivery_id": delivery_id,
            "outcome": outcome,
            "latency_ms": round(took * 1000, 2),
        },
    )
    answer = orjson.dumps({"status": outcome, "id": str(inbox_id)})
    return web.Response(body=answer, content_type="application/json")


def _payload_at_intake(provider: Provider[Any], source: SourceConfig, hook: WebhookRequest) -> Any:
    """The parsed body when the intake reads it (an id or a challenge in the body);
    otherwise ``None`` once the body is known to be JSON (a 400 now beats a dead letter
    later), and the normalizer builds it off the request path."""
    if provider.ping:
        return None  # a ping's body (none, or a job's output) is not read
    if provider.id_from_body or (source.challenge_at or "").startswith("body:"):
        return hook.json()
    hook.check_json()
    return None


async def _read_body(request: web.Request, timeout: float) -> bytes:
    """Most bodies arrive with their headers; only one still arriving needs a timer."""
    if request.content.is_eof():
        return await request.read()
    async with asyncio.timeout(timeout):
        return await request.read()


async def _reject(
    request: web.Request,
    source: str,
    reason: str,
    code: str,
    now: float,
    client: Address | None = None,
) -> None:
    """Count a refused request where operators will see it: status, metrics, logs. The
    metric is labelled with the short ``code``; the sentence goes to the log and the store
    (``status``, the inspector)."""
    request.app[METRICS].rejected.labels(source, code).inc()
    request.app[METRICS].count_request(source, "rejected")
    log.warning(
        "rejected",
        extra={
            "source": source,
            "outcome": "rejected",
            "reason": reason,
            "code": code,
            "peer": request.remote,
            "client": client,
        },
    )
    await request.app[STORE].count_rejection(source, reason, now)


def _client(request: web.Request) -> Address | None:
    return request.app[INGRESS].client(
        request.remote, request.headers.getall("X-Forwarded-For", [])
    )


async def _admit(
    request: web.Request, name: str, source: SourceConfig, client: Address | None
) -> web.Response | None:
    """Allowlist and rate limits, before the body is read: ``None`` lets the request in."""
    ingress = request.app[INGRESS]
    if not ingress.guards(name, source):
        return None
    refusal = ingress.admit(name, source, client, time.monotonic())
    if refusal is None:
        return None
    if refusal.status == 429:
        return _rate_limited(request, name, refusal)
    await _reject(request, name, refusal.reason, refusal.code, request.app[CLOCK].now(), client)
    return _error(refusal.status, refusal.reason)


def _rate_limited(request: web.Request, name: str, refusal: Refusal) -> web.Response:
    request.app[METRICS].count_request(name, "rate_limited")
    if refusal.first:
        log.warning(
            "rate limited",
            extra={"source": name, "outcome": "rate_limited", "reason": refusal.reason},
        )
    return web.json_response(
        {"status": "error", "error": refusal.reason},
        status=refusal.status,
        headers={"Retry-After": str(refusal.retry_after)},
    )


async def _cut_off(request: web.Request, name: str) -> web.StreamResponse:
    """A body still arriving after ``read_timeout``: answer 408 and drop the connection."""
    timeout = request.app[SETTINGS].server.read_timeout
    request.app[METRICS].count_request(name, "too_slow")
    log.warning(
        "body too slow", extra={"source": name, "outcome": "too_slow", "peer": request.remote}
    )
    return await _hang_up(
        request, _error(408, f"body not received within read_timeout ({timeout:g}s)")
    )


async def _hang_up(request: web.Request, response: web.Response) -> web.StreamResponse:
    """Answer and close the connection without reading what is left of the body.

    aiohttp would otherwise keep reading ("lingering") for up to ten more seconds, which
    is what a slow or oversized client wants.
    """
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response


def _challenge_answer(name: str, value: str) -> web.Response:
    log.info("challenge answered", extra={"source": name})
    # Echoing a sender's value is safe as plain text the browser may not re-interpret.
    return web.Response(
        text=value, content_type="text/plain", headers={"X-Content-Type-Options": "nosniff"}
    )


async def answer_query_challenge(request: web.Request) -> web.StreamResponse:
    """``GET /hooks/{source}``: a URL-confirmation handshake, never an event; or a
    ping of a ping URL (``provider = "heartbeat"``), taken like a POST."""
    name = request.match_info["source"]
    source = request.app[SETTINGS].sources.get(name)
    if source is None:
        return _error(404, f"unknown source {name!r}")
    if PROVIDERS[source.provider].ping:
        return await receive_hook(request)
    client = _client(request) if request.app[INGRESS].guards(name, source) else None
    if (refused := await _admit(request, name, source, client)) is not None:
        return refused
    echo = challenge_value(source.challenge_at, request.query, None)
    if echo is None:
        raise web.HTTPMethodNotAllowed("GET", ["POST"])
    return _challenge_answer(name, echo)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except Exception as exc:
        return _error(503, f"store unreachable: {type(exc).__name__}")
    return web.json_response({"status": "ready"})


async def metrics_endpoint(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].server.metrics_token
    if token and not _bearer_is(request, token):
        return web.Response(
            status=401,
            text="401: /metrics needs Authorization: Bearer <[server] metrics_token>\n",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    metrics = request.app[METRICS]
    try:
        metrics.observe_backlog(await request.app[STORE].backlog(), request.app[CLOCK].now())
    except Exception as exc:  # counters are still worth serving; /readyz reports the store
        log.warning("backlog unreadable", extra={"error": f"{type(exc).__name__}: {exc}"})
    body = metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


def _bearer_is(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    )


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log without query strings (they may carry tokens)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "http",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status,
                "ms": round(time * 1000, 2),
                "peer": request.remote,
            },
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bot")
    except PackageNotFoundError:  # a checkout run without installing it
        return "unknown"


async def index(request: web.Request) -> web.Response:
    """``GET /``: what this is and where to point senders, for whoever opens the URL."""
    settings = request.app[SETTINGS]
    links = {"health": "/healthz", "ready": "/readyz", "metrics": "/metrics"}
    if settings.inspector.token:
        links["inspector"] = "/inspect"
    return web.json_response(
        {
            "name": "bot",
            "version": _version(),
            "hooks": hook_paths(settings),
            "links": links,
        }
    )


def add_routes(app: web.Application) -> None:
    app[BUDGET] = BodyBudget(app[SETTINGS].server.body_budget_bytes)
    app.router.add_get("/", index)
    app.router.add_post("/hooks/{source}", receive_hook)
    app.router.add_get("/hooks/{source}", answer_query_challenge, allow_head=False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
