"""Sentry integration-platform webhooks: ``Sentry-Hook-Signature``, ``Sentry-Hook-Resource``
+ ``action`` dispatch.

Sentry signs each body with the integration's client secret (HMAC-SHA256, hex, no
prefix). ``Sentry-Hook-Timestamp`` is sent but not signed, so it proves nothing and is
not checked. One conversation per issue (created, issue alerts, assigned, resolved,
archived) and one per metric alert incident (critical, warning, resolved).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from bot.config.source import SourceBase
from bot.core.errors import VerificationError
from bot.core.events import Event, Severity, severity_of
from bot.providers.base import (
    Provider,
    WebhookRequest,
    content_digest,
    dig,
    http_url,
    mapping,
    moment,
    text,
)
from bot.providers.signing import hmac_sha256_hex, matches_any


class SentrySource(SourceBase):
    """``[sources.<name>]`` with ``provider = "sentry"``: the integration's *Client Secret*
    is the source's ``secret``; Sentry signs with it and can do nothing else."""

    credentials: ClassVar[frozenset[str]] = frozenset({"secret"})
    provider: Literal["sentry"]


Handler = Callable[[str, dict[str, Any]], dict[str, Any] | None]
"""(action, payload) -> Event fields (``None`` when not worth a message)."""


def verify(source: SentrySource, request: WebhookRequest, now: float) -> None:
    if not source.secrets:
        return  # allow_unsigned (config validation guarantees that)
    presented = request.header("sentry-hook-signature")
    if not presented:
        raise VerificationError(
            "missing Sentry-Hook-Signature (set the integration's Client Secret as secret)",
            code="missing_signature",
        )
    if matches_any([presented.lower()], source.secrets, lambda s: hmac_sha256_hex(s, request.body)):
        return
    raise VerificationError(
        "Sentry-Hook-Signature does not match the configured secret", code="bad_signature"
    )


def sign(source: SentrySource, body: bytes, now: float) -> dict[str, str]:
    if not source.secrets:
        return {}
    return {"Sentry-Hook-Signature": hmac_sha256_hex(source.secrets[0], body)}


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    return request.header("request-id") or content_digest(request.body)


def normalize(
    source_name: str, source: SentrySource, request: WebhookRequest, payload: Any
) -> list[Event]:
    if not isinstance(payload, dict):
        return []
    resource = request.header("sentry-hook-resource") or ""
    action = text(payload.get("action"))
    handler = HANDLERS.get(f"{resource}.{action}") or HANDLERS.get(resource)
    if handler is None:
        return []
    fields = handler(action, mapping(payload.get("data")))
    if fields is None:
        return []
    fields["url"] = http_url(fields.get("url"))  # payload values are not trusted to be links
    actor = mapping(payload.get("actor"))
    return [
        Event(
            source=source_name,
            provider="sentry",
            actor=text(actor.get("name")) if actor.get("type") == "user" else None,
            labels={k: str(v) for k, v in fields.pop("labels", {}).items() if v},
            payload=payload,
            **fields,
        )
    ]


def _level(value: Any) -> Severity:
    """Sentry's levels (``fatal``, ``error``, ``warning``, ``info``, ``debug``) -> ours."""
    return severity_of(text(value), "error")


def _counts(issue: dict[str, Any]) -> str:
    events, users = text(issue.get("count")) or "?", text(issue.get("userCount")) or "0"
    culprit = text(issue.get("culprit"))
    return f"{events} events, {users} users" + (f" · {culprit}" if culprit else "")


# -- issues ---------------------------------------------------------------------------

_ISSUE_STATUS = {
    "created": "open",
    "unresolved": "open",
    "resolved": "resolved",
    "ignored": "resolved",
    "archived": "resolved",
    "assigned": None,
}
"""``issue`` actions -> the conversation's status; archiving (once called ignoring) ends
it like a resolve, and an assignment is a reply under it."""


def _issue_key(issue_id: Any) -> str:
    return f"sentry:issue:{issue_id}"


def _issue(action: str, data: dict[str, Any]) -> dict[str, Any]:
    issue = mapping(data.get("issue"))
    verb = {"ignored": "archived"}.get(action, action)
    title = text(issue.get("title"))
    if action == "assigned":
        who = dig(data, "assignee.name") or dig(issue, "assignedTo.name") or "someone"
        title = f"{title} assigned to {who}"
    return {
        "event": f"issue.{verb}",
        "severity": _level(issue.get("level")) if action in ("created", "unresolved") else "info",
        "status": _ISSUE_STATUS[action],
        "title": f"[{dig(issue, 'project.slug', '?')}] {text(issue.get('shortId'))} {title}",
        "text": _counts(issue),
        "url": issue.get("web_url") or issue.get("permalink"),
        "thread_key": _issue_key(issue.get("id")),
        "labels": _issue_labels(issue),
        "occurred_at": moment(issue.get("lastSeen")),
    }


def _issue_labels(issue: dict[str, Any]) -> dict[str, Any]:
    return {
        "project": dig(issue, "project.slug", ""),
        "level": text(issue.get("level")),
        "platform": text(issue.get("platform")),
        "culprit": text(issue.get("culprit")),
        "short_id": text(issue.get("shortId")),
    }


def _event_alert(action: str, data: dict[str, Any]) -> dict[str, Any]:
    event = mapping(data.get("event"))
    rule = text(data.get("triggered_rule")) or text(dig(data, "issue_alert.title"))
    culprit = text(event.get("culprit"))
    return {
        "event": "issue_alert.triggered",
        "severity": _level(event.get("level")),
        "status": "open",
        "title": f"{text(event.get('title'))} ({rule})" if rule else text(event.get("title")),
        "text": f"Culprit: {culprit}" if culprit else "",
        "url": event.get("web_url"),
        "thread_key": _issue_key(event.get("issue_id")),
        "labels": {
            "rule": rule,
            "level": text(event.get("level")),
            "platform": text(event.get("platform")),
            "culprit": culprit,
            "release": text(event.get("release")),
        },
        "occurred_at": moment(event.get("datetime") or event.get("timestamp")),
    }


# -- metric alerts --------------------------------------------------------------------

_METRIC = {"critical": ("critical", "open"), "warning": ("warning", "open")}


def _metric_alert(action: str, data: dict[str, Any]) -> dict[str, Any] | None:
    if action not in (*_METRIC, "resolved"):
        return None
    severity, status = _METRIC.get(action, ("info", "resolved"))
    incident = mapping(data.get("metric_alert"))
    rule = mapping(incident.get("alert_rule"))
    return {
        "event": f"metric_alert.{action}",
        "severity": severity,
        "status": status,
        "title": text(data.get("description_title")) or text(rule.get("name")),
        # Sentry's description_text writes its line break as the two characters \n.
        "text": text(data.get("description_text")).replace("\\n", "\n"),
        "url": data.get("web_url"),
        "thread_key": f"sentry:metric_alert:{incident.get('id')}",
        "labels": {
            "alert_rule": text(rule.get("name")),
            "aggregate": text(rule.get("aggregate")),
            "projects": ",".join(text(p) for p in incident.get("projects") or [] if p),
            "environment": text(rule.get("environment")),
        },
        "occurred_at": moment(
            incident.get("date_closed") if action == "resolved" else incident.get("date_detected")
        ),
    }


HANDLERS: dict[str, Handler] = {
    **{f"issue.{action}": _issue for action in _ISSUE_STATUS},
    "event_alert.triggered": _event_alert,
    "metric_alert": _metric_alert,
}

# Accepted and recorded as ignored, on purpose: installation (the integration being
# installed or removed), error (every single event: issue alerts say it once per issue)
# and comment resources.

PROVIDER = Provider(
    name="sentry",
    config=SentrySource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("sentry-hook-resource", "sentry-hook-timestamp", "request-id", "content-type"),
    supported_events=tuple(HANDLERS),
    sign=sign,
    id_from_body=False,
)
