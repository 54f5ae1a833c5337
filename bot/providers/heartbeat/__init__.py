"""Ping URLs for cron jobs: ``provider = "heartbeat"`` sources are dead man's switches.

A job that should run every night ends with ``curl -fsS https://<host>/hooks/<name>``
(``GET`` or ``POST``, any body or none) carrying the source's token, in the token header
or as ``?token=``; when no ping arrives for ``heartbeat``, ``heartbeat_to`` hears of it
(see ``bot.pipeline.heartbeats``). Pings themselves are never posted.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from bot.config.source import SourceBase
from bot.core.errors import VerificationError
from bot.core.events import Event
from bot.providers.base import Provider, WebhookRequest
from bot.providers.signing import check_credentials, credential_headers

PING = "heartbeat.ping"


class HeartbeatSource(SourceBase):
    """``[sources.<name>]`` with ``provider = "heartbeat"``: a token, and the silence
    that is worth a message."""

    credentials: ClassVar[frozenset[str]] = frozenset({"token"})
    provider: Literal["heartbeat"]

    @model_validator(mode="after")
    def _needs_heartbeat(self) -> HeartbeatSource:
        if self.heartbeat is None:
            raise ValueError(
                'a heartbeat source needs heartbeat = "25h" (the longest silence that is '
                'fine) and heartbeat_to = "<target>"'
            )
        return self


def verify(source: HeartbeatSource, request: WebhookRequest, now: float) -> None:
    if not source.tokens:
        return  # allow_unsigned (config validation guarantees that)
    if request.header(source.token_header) is None and "token" in request.query:
        presented = request.query["token"].encode()
        if any(hmac.compare_digest(presented, t.encode()) for t in source.tokens):
            return
        raise VerificationError("token query parameter does not match", code="bad_token")
    try:
        check_credentials(source, request)
    except VerificationError as exc:
        raise VerificationError(
            f"{exc.reason} (or give ?token=<the source's token>)", code=exc.code
        ) from None


def sign(source: HeartbeatSource, body: bytes, now: float) -> dict[str, str]:
    return credential_headers(source)


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """Every ping is one of its own: a job that runs twice pinged twice."""
    return f"ping:{uuid.uuid4()}"


def normalize(
    source_name: str, source: HeartbeatSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    return [
        Event(source=source_name, provider="heartbeat", event=PING, title=f"{source_name} pinged")
    ]


PROVIDER = Provider(
    name="heartbeat",
    config=HeartbeatSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("user-agent", "content-type"),
    supported_events=(PING,),
    sign=sign,
    id_from_body=False,
    ping=True,
)
