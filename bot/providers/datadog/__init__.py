"""Datadog's Webhooks integration: a token in a custom header, ``alert_transition`` dispatch.

Datadog signs nothing. The webhook's *Custom Headers* carry our token (checked in
constant time by ``signing.check_credentials``); its *Payload* is a template of
``$VARIABLES``. The default payload names the transition only inside the title
(``[Triggered] ...``), so the recommended payload (README) adds ``alert_transition``,
``alert_cycle_key`` (the same from trigger to recovery: the ``thread_key``),
``alert_priority``, ``link``, ``tags`` and ``hostname``; both are read.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, NamedTuple

from bot.config.source import SourceBase
from bot.core.events import PRIORITY_SEVERITY, Event
from bot.core.text import shorten
from bot.providers import alerting
from bot.providers.base import Provider, WebhookRequest, content_digest, http_url, moment, text
from bot.providers.signing import check_credentials, credential_headers


class DatadogSource(SourceBase):
    """``[sources.<name>]`` with ``provider = "datadog"``: Datadog's webhooks integration
    signs nothing; it sends custom headers (a token) or basic auth."""

    credentials: ClassVar[frozenset[str]] = frozenset({"token", "basic"})
    provider: Literal["datadog"]


class Transition(NamedTuple):
    event: str
    status: str
    severity: str


# $ALERT_TRANSITION (lower-cased) -> our event. "Null" and anything Datadog adds later are
# accepted and recorded as ignored.
TRANSITIONS = {
    "triggered": Transition("alert.firing", "open", "error"),
    "re-triggered": Transition("alert.firing", "open", "error"),
    "renotify": Transition("alert.firing", "open", "error"),
    "warn": Transition("alert.warning", "open", "warning"),
    "re-warn": Transition("alert.warning", "open", "warning"),
    "no data": Transition("alert.no_data", "open", "warning"),
    "re-no data": Transition("alert.no_data", "open", "warning"),
    "recovered": Transition("alert.resolved", "resolved", "info"),
}

# "[Triggered on {host:a}] ...", "[P1] [Re-Triggered] ...": the default payload's only clue.
_TITLE_TRANSITION = re.compile(
    r"\[(Re-Triggered|Triggered|Re-Warn|Warn|Re-No Data|No Data|Recovered|Renotify)\b"
)
_NOISE = re.compile(r"^%%%\s*$|@webhook-\S+", re.MULTILINE)


def verify(source: DatadogSource, request: WebhookRequest, now: float) -> None:
    check_credentials(source, request)


def sign(source: DatadogSource, body: bytes, now: float) -> dict[str, str]:
    return credential_headers(source)


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """``$ID``, the id of the notification event, when the payload carries it."""
    event_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(event_id, str | int) and not isinstance(event_id, bool) and str(event_id):
        return f"datadog:{event_id}"
    return content_digest(request.body)


def normalize(
    source_name: str, source: DatadogSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    if not isinstance(payload, dict):
        return []
    transition = TRANSITIONS.get(_transition_name(payload))
    if transition is None:
        return []
    priority = text(payload.get("alert_priority") or payload.get("priority")).upper()
    severity = transition.severity
    if transition.status != "resolved":  # a monitor's priority says how bad it is
        severity = PRIORITY_SEVERITY.get(priority, severity)
    cycle = text(payload.get("alert_cycle_key") or payload.get("aggreg_key"))
    labels = {
        **_tags(payload.get("tags")),
        "host": text(payload.get("hostname")),
        "priority": priority,
        "monitor_id": text(payload.get("alert_id")),
        "metric": text(payload.get("alert_metric")),
    }
    return [
        Event(
            source=source_name,
            provider="datadog",
            event=transition.event,
            status=transition.status,
            severity=severity,
            title=text(payload.get("alert_title") or payload.get("title")) or "Datadog alert",
            text=_message(payload.get("body") or payload.get("text")),
            url=http_url(payload.get("link")),
            labels={k: v for k, v in labels.items() if v},
            thread_key=f"datadog:{cycle}" if cycle else None,
            occurred_at=moment(payload.get("date") or payload.get("last_updated")),
            payload=payload,
        )
    ]


def _transition_name(payload: dict[str, Any]) -> str:
    given = text(payload.get("alert_transition")).strip().lower()
    if given:
        return given
    found = _TITLE_TRANSITION.search(text(payload.get("title")))
    return found.group(1).lower() if found else ""


def _tags(value: Any) -> dict[str, str]:
    """``"env:prod, role:web"`` (or a list of such) -> ``{"env": "prod", "role": "web"}``."""
    items = value if isinstance(value, list) else text(value).split(",")
    pairs = (str(item).strip().partition(":") for item in items)
    return {key: rest for key, sep, rest in pairs if sep and key and rest}


def _message(value: Any, limit: int = 600) -> str:
    """``$EVENT_MSG`` without Datadog's ``%%%`` markers and ``@webhook-...`` mentions."""
    message = _NOISE.sub("", text(value)).strip()
    return shorten(message, limit)


PROVIDER = Provider(
    name="datadog",
    config=DatadogSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("content-type",),
    supported_events=tuple(dict.fromkeys(t.event for t in TRANSITIONS.values())),
    sign=sign,
    group_wait=alerting.STORM_GROUP_WAIT,
)
