"""PagerDuty v3 webhook subscriptions: ``X-PagerDuty-Signature``, ``event_type`` dispatch.

Every incident event carries the incident id, which is the ``thread_key``: a trigger,
its acknowledgement and its resolution are one conversation, and ``status`` says where
the incident stands, so later states update the first message instead of adding new
ones. The handler table is keyed by PagerDuty's ``event_type``; the supported events are
derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from bot.config.source import ApiKeys, SourceBase
from bot.core.errors import VerificationError
from bot.core.events import PRIORITY_SEVERITY, Event
from bot.providers.base import (
    Provider,
    WebhookRequest,
    content_digest,
    dig,
    http_url,
    moment,
    text,
)
from bot.providers.signing import hmac_sha256_hex, matches_any


class PagerDutySource(SourceBase, ApiKeys):
    """``[sources.<name>]`` with ``provider = "pagerduty"``: PagerDuty v3 signs every
    delivery with the subscription's secret, and can do nothing else. With ``api_token``
    (a REST API key) its incidents can be acknowledged and resolved from chat."""

    credentials: ClassVar[frozenset[str]] = frozenset({"secret"})
    signature_default: ClassVar[str | None] = "X-PagerDuty-Signature"
    provider: Literal["pagerduty"]
    api_url: str = "https://api.pagerduty.com"
    from_email: str = ""
    """PagerDuty's ``From`` for clickers missing from ``[people]``."""


Handler = Callable[[dict[str, Any]], dict[str, Any]]
"""``event`` (the envelope's inner object) -> Event fields."""

# What each state-changing event means for the conversation.
STATUS_BY_EVENT = {
    "incident.triggered": "open",
    "incident.unacknowledged": "open",
    "incident.reopened": "open",
    "incident.acknowledged": "acknowledged",
    "incident.resolved": "resolved",
}
# Other incident events leave the state as it is; the incident's own status says which.
STATUS_BY_INCIDENT = {"triggered": "open", "acknowledged": "acknowledged", "resolved": "resolved"}

# Priority wins where the account uses priorities; urgency is always there. Incidents
# with neither page someone, so they default to error.
URGENCY_SEVERITY = {"high": "error", "low": "warning"}
DEFAULT_SEVERITY = "error"


def verify(source: PagerDutySource, request: WebhookRequest, now: float) -> None:
    if not source.secrets:
        return  # allow_unsigned (config validation guarantees that)
    header = request.header("x-pagerduty-signature")
    if not header:
        raise VerificationError(
            "missing X-PagerDuty-Signature (copy the webhook subscription's signing secret "
            "into this source's secret)",
            code="missing_signature",
        )
    # One v1= entry per active secret: PagerDuty rotates without downtime this way.
    presented = [
        part.strip().removeprefix("v1=")
        for part in header.split(",")
        if part.strip().startswith("v1=")
    ]
    if matches_any(presented, source.secrets, lambda secret: hmac_sha256_hex(secret, request.body)):
        return
    raise VerificationError(
        "X-PagerDuty-Signature does not match the configured secret", code="bad_signature"
    )


def sign(source: PagerDutySource, body: bytes, now: float) -> dict[str, str]:
    if not source.secrets:
        return {}
    return {"X-PagerDuty-Signature": "v1=" + hmac_sha256_hex(source.secrets[0], body)}


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """The event id: the same on every retry of one delivery."""
    event_id = dig(payload, "event.id")
    if isinstance(event_id, str) and event_id:
        return event_id
    return request.header("x-webhook-id") or content_digest(request.body)


def normalize(
    source_name: str, source: PagerDutySource, request: WebhookRequest, payload: Any
) -> list[Event]:
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        return []
    handler = HANDLERS.get(str(event.get("event_type")))
    if handler is None:
        return []
    fields = handler(event)
    return [
        Event(
            source=source_name,
            provider="pagerduty",
            event=str(event["event_type"]),
            actor=text(dig(event, "agent.summary")) or None,
            occurred_at=moment(event.get("occurred_at")),
            payload=payload,
            **fields,
        )
    ]


def _incident_change(describe: Callable[[dict[str, Any], str], str]) -> Handler:
    """A handler for events whose ``data`` is the incident itself."""

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        incident = event["data"]
        event_type = str(event.get("event_type"))
        status = STATUS_BY_EVENT.get(event_type) or STATUS_BY_INCIDENT.get(
            str(incident.get("status"))
        )
        priority = text(dig(incident, "priority.summary"))
        urgency = text(incident.get("urgency"))
        labels = {
            "service": text(dig(incident, "service.summary")),
            "urgency": urgency,
            "priority": priority,
            "escalation_policy": text(dig(incident, "escalation_policy.summary")),
            "teams": ",".join(_names(incident.get("teams"))),
        }
        return {
            "title": f"Incident #{incident.get('number', '?')}: {text(incident.get('title'))}",
            "text": describe(event, text(dig(event, "agent.summary"))),
            "url": http_url(incident.get("html_url")),
            "status": status,
            "severity": PRIORITY_SEVERITY.get(priority)
            or URGENCY_SEVERITY.get(urgency, DEFAULT_SEVERITY),
            "thread_key": f"pagerduty:{incident.get('id')}",
            "labels": {k: v for k, v in labels.items() if v},
        }

    return handler


def _by(agent: str) -> str:
    return f" by {agent}" if agent else ""


def _assignees(event: dict[str, Any]) -> str:
    return ", ".join(_names(dig(event, "data.assignees"))) or "nobody"


def _annotated(event: dict[str, Any]) -> dict[str, Any]:
    """A note on an incident: ``data`` is the note, ``data.incident`` a reference."""
    note = event["data"]
    incident = note.get("incident") if isinstance(note.get("incident"), dict) else {}
    agent = text(dig(event, "agent.summary"))
    return {
        "title": f"Note on incident: {text(incident.get('summary'))}",
        "text": f"{agent or 'Someone'} wrote: {text(note.get('content'))}",
        "url": http_url(incident.get("html_url")),
        "thread_key": f"pagerduty:{incident.get('id')}",
        "severity": "info",
    }


HANDLERS: dict[str, Handler] = {
    "incident.triggered": _incident_change(lambda e, agent: "Triggered"),
    "incident.acknowledged": _incident_change(lambda e, agent: f"Acknowledged{_by(agent)}"),
    "incident.unacknowledged": _incident_change(lambda e, agent: f"Unacknowledged{_by(agent)}"),
    "incident.resolved": _incident_change(lambda e, agent: f"Resolved{_by(agent)}"),
    "incident.reopened": _incident_change(lambda e, agent: f"Reopened{_by(agent)}"),
    "incident.reassigned": _incident_change(
        lambda e, agent: f"Reassigned to {_assignees(e)}{_by(agent)}"
    ),
    "incident.delegated": _incident_change(
        lambda e, agent: (
            f"Delegated to {text(dig(e, 'data.escalation_policy.summary'))}{_by(agent)}"
        )
    ),
    "incident.escalated": _incident_change(
        lambda e, agent: f"Escalated to {_assignees(e)}{_by(agent)}"
    ),
    "incident.priority_updated": _incident_change(
        lambda e, agent: (
            f"Priority set to {text(dig(e, 'data.priority.summary')) or 'none'}{_by(agent)}"
        )
    ),
    "incident.annotated": _annotated,
}

# Accepted and recorded as ignored, on purpose: service.* (configuration changes, not
# incidents), incident.responder.*, incident.conference_bridge_updated,
# incident.status_update_published, incident.workflow.* and whatever PagerDuty adds
# later. Route them through a `generic` source if a channel wants them.


def _names(references: Any) -> list[str]:
    if not isinstance(references, list):
        return []
    return [text(r.get("summary")) for r in references if isinstance(r, dict) and r.get("summary")]


PROVIDER = Provider(
    name="pagerduty",
    config=PagerDutySource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("content-type", "x-webhook-id", "x-webhook-subscription"),
    supported_events=tuple(HANDLERS),
    sign=sign,
)
