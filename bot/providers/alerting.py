"""The notification body Prometheus Alertmanager sends, which Grafana's webhook copies.

One body is one flush of one alert group: ``status``, ``groupKey``, the labels and
annotations the alerts share, and ``alerts[]``. A source turns it into one event per
group (``group = true``: one message listing the alerts, updated as the group changes)
or one event per alert. What a sender adds on top (Grafana's dashboard and silence
links) is shown by its template, from the payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, field_validator

from bot.config.source import SourceBase, api_credential
from bot.core.events import Event, Severity, severity_of, severity_rank
from bot.core.times import parse_time
from bot.providers.base import (
    Provider,
    Signer,
    Verifier,
    WebhookRequest,
    content_digest,
    http_url,
)

# status -> (our event type, conversation status). Top-level ``status`` is "firing" while
# any alert of the group fires; an alert's own status says the same of that alert.
STATUS_MAP = {
    "firing": ("alert.firing", "open"),
    "resolved": ("alert.resolved", "resolved"),
}

STORM_GROUP_WAIT = 1.0
"""Alerts come in storms: by default a route gathers a second of them into one digest.
(PagerDuty does not: each incident is a page someone acts on, and PagerDuty already
groups alerts into incidents.)"""

# Alerts without a ``severity`` label (or with a word we do not know) are warnings:
# someone wrote a rule for them, but nobody said it pages.
DEFAULT_SEVERITY: Severity = "warning"


@dataclass(frozen=True)
class SenderExtras:
    """What a sender adds to Alertmanager's body, used where the body itself is silent."""

    title: str = ""
    """The group's title when its alerts carry no ``alertname``."""
    text: str = ""
    """The group's text when its annotations have no summary or description."""
    labels: dict[str, str] = field(default_factory=dict)


class AlertingSource(SourceBase):
    """A source of Alertmanager-shaped bodies."""

    group: bool = True
    """One message per notification group (listing its alerts), or one per alert when
    false."""


class SilenceApi(BaseModel):
    """Where silences are made: Alertmanager's API v2 (``api_url``), reached with a
    bearer ``api_token`` or ``api_username``/``api_password``, or neither on a trusted
    network. Grafana's is the same API under ``/api/alertmanager/grafana``."""

    api_url: str = ""
    api_token: str = ""
    api_username: str = ""
    api_password: str = ""

    _api_credentials = field_validator("api_token", "api_username", "api_password")(api_credential)

    @property
    def api_configured(self) -> bool:
        return bool(self.api_url)


A = TypeVar("A", bound=AlertingSource)


def _no_extras(body: dict[str, Any]) -> SenderExtras:
    return SenderExtras()


def provider(
    name: str,
    config: type[A],
    versions: frozenset[str],
    verify: Verifier[A],
    sign: Signer[A],
    extras: Callable[[dict[str, Any]], SenderExtras] = _no_extras,
) -> Provider[A]:
    """A provider for a sender of Alertmanager-shaped bodies of the given ``version``s.

    Bodies of other versions, or rewritten by a custom payload template, are accepted and
    recorded as ignored: a `generic` source with field mappings reads those.
    """

    def delivery_id(request: WebhookRequest, payload: Any) -> str:
        return notification_id(payload, request.body)

    def normalize_request(
        source_name: str, source: A, request: WebhookRequest, payload: Any
    ) -> list[Event]:
        if not isinstance(payload, dict) or str(payload.get("version")) not in versions:
            return []
        return normalize(name, source_name, payload, source.group, extras(payload))

    return Provider(
        name=name,
        config=config,
        verify=verify,
        delivery_id=delivery_id,
        normalize=normalize_request,
        kept_headers=("content-type", "user-agent"),
        supported_events=tuple(event for event, _ in STATUS_MAP.values()),
        sign=sign,
        group_wait=STORM_GROUP_WAIT,
    )


def alerts_of(body: Any) -> list[dict[str, Any]] | None:
    """The alerts of an Alertmanager-shaped body, or None when the body is not one."""
    if not isinstance(body, dict) or _status(body) is None:
        return None
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        return None
    return [a for a in alerts if isinstance(a, dict)]


def notification_id(body: Any, raw: bytes) -> str:
    """A delivery id from content: Alertmanager sends no id header.

    The same group is sent again every ``group_interval`` while it changes and every
    ``repeat_interval`` while it fires, and an HA pair sends each notification twice;
    identical (groupKey, status, alerts) is one delivery.
    """
    alerts = alerts_of(body)
    if alerts is None or not isinstance(body, dict):
        return content_digest(raw)
    parts = sorted(f"{_fingerprint(a)}:{a.get('startsAt')}:{a.get('endsAt')}" for a in alerts)
    key = "|".join([str(body.get("groupKey")), str(body.get("status")), *parts])
    return content_digest(key.encode())


def normalize(
    provider: str, source_name: str, body: Any, group: bool, extras: SenderExtras
) -> list[Event]:
    """One event for the group, or one per alert; ``[]`` for bodies of another shape."""
    alerts = alerts_of(body)
    if not alerts or not isinstance(body, dict):
        return []
    if group:
        return [_group_event(provider, source_name, body, alerts, extras)]
    return [_alert_event(provider, source_name, body, alert, extras) for alert in alerts]


def _group_event(
    provider: str,
    source_name: str,
    body: dict[str, Any],
    alerts: list[dict[str, Any]],
    extras: SenderExtras,
) -> Event:
    status = str(body["status"])
    event_type, conversation = STATUS_MAP[status]
    common = _strings(body.get("commonLabels"))
    annotations = _strings(body.get("commonAnnotations"))
    firing = [a for a in alerts if a.get("status") == "firing"]
    if len(alerts) == 1:
        annotations = {**annotations, **_strings(alerts[0].get("annotations"))}
    group_labels = _strings(body.get("groupLabels"))
    names = dict.fromkeys(n for a in alerts if (n := _strings(a.get("labels")).get("alertname")))
    name = (
        common.get("alertname")
        or group_labels.get("alertname")
        or ", ".join(list(names)[:3]) + ("…" if len(names) > 3 else "")
    )
    scope = ", ".join(v for k, v in sorted(group_labels.items()) if k != "alertname" and v)
    count = f":{len(firing)}" if status == "firing" else ""
    fields: dict[str, Any] = {
        "event": event_type,
        "status": conversation,
        "severity": _severity([common] if "severity" in common else _labels_of(firing or alerts)),
        "title": (f"[{status.upper()}{count}] {name}" + (f" ({scope})" if scope else ""))
        if name
        else extras.title or f"[{status.upper()}{count}] alerts",
        "text": annotations.get("summary") or annotations.get("description") or extras.text,
        "url": http_url(body.get("externalURL")),
        "labels": {**extras.labels, **common},
        "matchers": common,
        "thread_key": f"{provider}:{source_name}:{_digest(str(body.get('groupKey')))}",
        "occurred_at": _latest_change(alerts),
    }
    return Event(source=source_name, provider=provider, payload=body, **fields)


def _alert_event(
    provider: str,
    source_name: str,
    body: dict[str, Any],
    alert: dict[str, Any],
    extras: SenderExtras,
) -> Event:
    status = _status(alert) or str(body["status"])
    event_type, conversation = STATUS_MAP[status]
    labels = _strings(alert.get("labels"))
    annotations = _strings(alert.get("annotations"))
    name = labels.get("alertname", "alert")
    summary = annotations.get("summary")
    fields: dict[str, Any] = {
        "event": event_type,
        "status": conversation,
        "severity": _severity([labels]),
        "title": f"[{str(status).upper()}] {name}" + (f": {summary}" if summary else ""),
        "text": annotations.get("description", ""),
        "url": http_url(alert.get("generatorURL")) or http_url(body.get("externalURL")),
        "labels": {**extras.labels, **labels},
        "matchers": labels,
        "thread_key": f"{provider}:{source_name}:{_fingerprint(alert)}",
        "occurred_at": _latest_change([alert]),
    }
    # The template lists payload.alerts: here, just this one, in its group's context.
    payload = {**body, "alerts": [alert], "truncatedAlerts": 0}
    return Event(source=source_name, provider=provider, payload=payload, **fields)


def _status(item: dict[str, Any]) -> str | None:
    status = item.get("status")
    return status if isinstance(status, str) and status in STATUS_MAP else None


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float)}


def _labels_of(alerts: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [_strings(a.get("labels")) for a in alerts]


def _severity(label_sets: list[dict[str, str]]) -> str:
    """The highest severity among the alerts' ``severity`` labels."""
    found = [severity_of(s.get("severity", ""), DEFAULT_SEVERITY) for s in label_sets]
    return max(found or [DEFAULT_SEVERITY], key=severity_rank)


def _fingerprint(alert: dict[str, Any]) -> str:
    fingerprint = alert.get("fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        return fingerprint
    # Senders older than Alertmanager 0.19 send none; the label set is what it hashes.
    return _digest(json.dumps(_strings(alert.get("labels")), sort_keys=True))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _moment(value: Any) -> datetime | None:
    moment = parse_time(value, unix=False)  # Alertmanager writes RFC 3339 only
    # Go's zero time (0001-01-01) marks "not ended yet".
    return moment if moment is not None and moment.year > 1 else None


def _latest_change(alerts: list[dict[str, Any]]) -> datetime:
    """When the group last changed: the latest start of a firing alert or end of a resolved one."""
    moments = [
        (_moment(a.get("endsAt")) if a.get("status") == "resolved" else None)
        or _moment(a.get("startsAt"))
        for a in alerts
    ]
    known = [m for m in moments if m is not None]
    return max(known) if known else datetime.now(UTC)
