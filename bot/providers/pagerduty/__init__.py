"""PagerDuty v3 webhook subscriptions: ``X-PagerDuty-Signature``, ``event_type`` dispatch.

Every incident event carries the incident id, which is the ``thread_key``: a trigger,
its acknowledgement and its resolution are one conversation, and ``status`` says where
the incident stands, so later states update the first message instead of adding new
ones. Notes, status updates, responders, conference bridges and workflow runs reply in
the incident's thread. The handler table is keyed by PagerDuty's ``event_type``; the
supported events are derived from it, and an incident event it lacks still gets a
message in words.
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
    handler = handler_for(str(event.get("event_type")), event["data"])
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


def _about_incident(describe: Callable[[dict[str, Any], str], str]) -> Handler:
    """A handler for events whose ``data`` is something of an incident (a note, a status
    update, a responder, a workflow run) and ``data.incident`` a reference to it: a
    reply in the incident's conversation."""

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        data = event["data"]
        incident = data.get("incident") if isinstance(data.get("incident"), dict) else {}
        return {
            "title": f"Note on incident: {text(incident.get('summary'))}"
            if event.get("event_type") == "incident.annotated"
            else f"Incident: {text(incident.get('summary'))}",
            "text": describe(event, text(dig(event, "agent.summary"))),
            "url": http_url(incident.get("html_url")),
            "thread_key": f"pagerduty:{incident.get('id')}",
            "severity": "info",
        }

    return handler


def _service(event: dict[str, Any]) -> dict[str, Any]:
    """A service created, changed or deleted: ``data`` is the service."""
    service = event["data"]
    return {
        "title": text(service.get("summary") or service.get("name")),
        "url": http_url(service.get("html_url")),
        "severity": "info",
    }


def _in_words(event: dict[str, Any], agent: str) -> str:
    """``incident.custom_field_values.updated`` -> ``Custom field values updated by X``."""
    words = str(event.get("event_type")).removeprefix("incident.").replace(".", " ")
    return f"{words.replace('_', ' ').capitalize()}{_by(agent)}"


def _data(path: str) -> Callable[[dict[str, Any], str], str]:
    """What an event says in ``data.<path>`` (a status update's message...)."""
    return lambda event, agent: text(dig(event, f"data.{path}")).strip()


def _bridge(event: dict[str, Any], agent: str) -> str:
    numbers = dig(event, "data.conference_numbers")
    found = [text(dig(event, "data.conference_url"))]
    found += [text(n) for n in numbers if isinstance(n, str)] if isinstance(numbers, list) else []
    return ", ".join(item for item in found if item)


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
    "incident.service_updated": _incident_change(
        lambda e, agent: (
            f"Moved to service {text(dig(e, 'data.service.summary')) or '?'}{_by(agent)}"
        )
    ),
    "incident.annotated": _about_incident(
        lambda e, agent: f"{agent or 'Someone'} wrote: {text(dig(e, 'data.content'))}"
    ),
    "incident.status_update_published": _about_incident(_data("message")),
    "incident.responder.added": _about_incident(lambda e, agent: ""),  # "Please help with <title>"
    "incident.responder.replied": _about_incident(_data("message")),
    "incident.conference_bridge.updated": _about_incident(_bridge),
    "incident.workflow.started": _about_incident(lambda e, agent: ""),
    "incident.workflow.completed": _about_incident(lambda e, agent: ""),
    "service.created": _service,
    "service.updated": _service,
    "service.deleted": _service,
}


def handler_for(event_type: str, data: dict[str, Any]) -> Handler | None:
    """The handler of an ``event_type``. An incident event PagerDuty adds later still
    gets a message in words, when ``data`` is the incident or names it; anything else
    (``pagey.ping``, a resource we do not know) is recorded as ignored."""
    if event_type in HANDLERS:
        return HANDLERS[event_type]
    if not event_type.startswith("incident."):
        return None
    if data.get("type") == "incident":
        return _incident_change(_in_words)
    if isinstance(data.get("incident"), dict):
        return _about_incident(_in_words)
    return None


IGNORED_BY_DEFAULT: dict[str, str] = {
    "service.updated": "a change of a service's settings (escalation policy, urgency "
    "rules, integrations): configuration, not an incident",
}
"""PagerDuty events made and rendered but posted only by a route that names them (see
``Provider.ignored_by_default``)."""


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
    ignored_by_default=IGNORED_BY_DEFAULT,
)
