"""Prometheus Alertmanager's webhook receiver (payload ``version: "4"``).

Alertmanager signs nothing: its ``http_config`` sends ``Authorization: Bearer <token>``
or HTTP basic auth, checked here in constant time. It sends no delivery id either, so
the id is a hash of the notification's content (see ``alerting.notification_id``).
"""

from __future__ import annotations

from typing import Any

from bot.config import SourceConfig
from bot.events import Event
from bot.providers import alerting
from bot.providers.base import Provider, WebhookRequest
from bot.providers.signing import check_credentials, credential_headers

# Payload versions we read. A body of another version, or one rewritten by a custom
# ``payload`` template (Alertmanager 0.32+), is accepted and recorded as ignored: point
# such a receiver at a `generic` source and map its fields instead.
VERSIONS = frozenset({"4"})


def verify(source: SourceConfig, request: WebhookRequest, now: float) -> None:
    check_credentials(source, request)


def sign(source: SourceConfig, body: bytes, now: float) -> dict[str, str]:
    return credential_headers(source)


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    return alerting.notification_id(payload, request.body)


def normalize(
    source_name: str, source: SourceConfig, request: WebhookRequest, payload: Any
) -> list[Event]:
    if not isinstance(payload, dict) or str(payload.get("version")) not in VERSIONS:
        return []
    return alerting.normalize(
        "alertmanager", source_name, payload, group=source.group, extras=_no_extras
    )


def _no_extras(body: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {}


PROVIDER = Provider(
    name="alertmanager",
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("content-type", "user-agent"),
    supported_events=tuple(event for event, _ in alerting.STATUS_MAP.values()),
    sign=sign,
)
