"""Any sender that POSTs JSON, wired by config instead of code.

Verification, in order of preference:

- **Standard Webhooks** (the default with a ``secret``): ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature: v1,<base64>`` (several, space-separated),
  HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed by the base64 after ``whsec_``.
- **A custom HMAC header** (``signature_header``, with ``signature_prefix``,
  ``signature_encoding`` hex or base64, and ``timestamp_header``), as many senders do.
- **A static token** (``token`` in ``token_header``) or HTTP basic auth.

What the body means comes from ``[sources.<name>.fields]`` (see ``bot.core.expressions``); a
field left out falls back to the body's own ``title``/``summary``/``message`` keys.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from bot.core.errors import PayloadError, VerificationError
from bot.core.events import Event, Status, severity_of
from bot.core.expressions import ExpressionError, FieldExpression, compile_field
from bot.providers.base import Provider, WebhookRequest, content_digest, http_url, moment
from bot.providers.generic.config import FieldsConfig, GenericSource
from bot.providers.signing import (
    check_credentials,
    check_signature_header,
    check_timestamp,
    credential_headers,
    encode_signature,
    hmac_sha256,
    matches_any,
    signed_content,
)

# Without a mapping, the first of these body keys that holds text is used (Standard
# Webhooks payloads carry `type` and `timestamp`).
EVENT_KEYS = ("type", "event_type", "event")
TITLE_KEYS = ("title", "summary", "subject", "name", "message", "text", "description")
TEXT_KEYS = ("text", "message", "description", "body", "details")
TIME_KEYS = ("timestamp", "occurred_at", "created_at", "time")

# Status words senders use -> ours; anything else leaves the status unset.
STATUS_WORDS: dict[str, Status] = {
    **dict.fromkeys(("open", "firing", "triggered", "active", "started", "alerting"), "open"),
    **dict.fromkeys(("problem", "pending", "running", "in_progress"), "open"),
    **dict.fromkeys(("acknowledged", "ack", "acked"), "acknowledged"),
    **dict.fromkeys(("resolved", "ok", "closed", "recovered", "fixed", "done"), "resolved"),
}


# -- verification ---------------------------------------------------------------------


def verify(source: GenericSource, request: WebhookRequest, now: float) -> None:
    if source.signature_header:
        check_signature_header(
            source,
            request,
            now,
            header=source.signature_header,
            timestamp_header=source.timestamp_header,
            prefix=source.signature_prefix,
            encoding=source.signature_encoding,
        )
    elif source.secrets:
        _check_standard_webhooks(source, request, now)
    check_credentials(source, request)


def _standard_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (validated when the config loads)."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def _standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac_sha256(_standard_key(secret), signed)).decode()


def _check_standard_webhooks(source: GenericSource, request: WebhookRequest, now: float) -> None:
    message_id = request.header("webhook-id")
    timestamp = request.header("webhook-timestamp")
    signatures = request.header("webhook-signature")
    if not (message_id and timestamp and signatures):
        raise VerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature (Standard Webhooks; "
            "for another scheme set signature_header or token on this source)",
            code="missing_signature",
        )
    presented = [
        value
        for version, _, value in (s.partition(",") for s in signatures.split())
        if version == "v1"
    ]
    if not matches_any(
        presented,
        source.secrets,
        lambda secret: _standard_signature(secret, message_id, timestamp, request.body),
    ):
        raise VerificationError(
            "webhook-signature does not match the configured secret", code="bad_signature"
        )
    check_timestamp(timestamp, now, source.tolerance)


def sign(source: GenericSource, body: bytes, now: float) -> dict[str, str]:
    headers = credential_headers(source)
    if not source.secrets:
        return headers
    timestamp = str(int(now))
    if source.signature_header:
        stamp = timestamp if source.timestamp_header else None
        signature = encode_signature(
            source.secrets[0], signed_content(body, stamp), source.signature_encoding
        )
        headers[source.signature_header] = source.signature_prefix + signature
        if source.timestamp_header:
            headers[source.timestamp_header] = timestamp
        return headers
    message_id = f"msg_{uuid.uuid4().hex}"
    signature = _standard_signature(source.secrets[0], message_id, timestamp, body)
    return headers | {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": f"v1,{signature}",
    }


def delivery_id(request: WebhookRequest, payload: Any) -> str:
    """``webhook-id`` (the same on every retry) when the sender gives one."""
    return request.header("webhook-id") or content_digest(request.body)


# -- normalizing ----------------------------------------------------------------------


def normalize(
    source_name: str, source: GenericSource, request: WebhookRequest, payload: Any
) -> list[Event]:
    fields = source.fields or FieldsConfig()
    read = _reader(fields, payload)
    title = read("title") or _first_text(payload, TITLE_KEYS) or f"{source_name} webhook"
    text = read("text")
    if fields.text is None:
        text = _first_text(payload, tuple(k for k in TEXT_KEYS if _text_at(payload, k) != title))
    status = read("status")
    event = read("event") if fields.event is not None else _first_text(payload, EVENT_KEYS)
    when = read("occurred_at") or _first_text(payload, TIME_KEYS)
    thread = read("thread_key")
    labels = {name: read(f"labels.{name}") for name in fields.labels}
    return [
        Event(
            source=source_name,
            provider="generic",
            event=" ".join(event.split()) or "webhook",
            title=title,
            text=text,
            severity=severity_of(read("severity"), "info"),
            status=STATUS_WORDS.get(status.lower()),
            url=http_url(read("url")),
            actor=read("actor") or None,
            thread_key=f"{source_name}:{thread}" if thread else None,
            labels={name: value for name, value in labels.items() if value},
            occurred_at=moment(when or request.header("webhook-timestamp")),
            payload=payload,
        )
    ]


def _reader(fields: FieldsConfig, payload: Any) -> Callable[[str], str]:
    expressions = fields.expressions()

    def read(name: str) -> str:
        source = expressions.get(name)
        if source is None:
            return ""
        try:
            return _compiled(source).render(payload)
        except ExpressionError as exc:
            raise PayloadError(f"fields.{name}: {exc}") from None

    return read


@lru_cache(maxsize=512)
def _compiled(source: str) -> FieldExpression:
    return compile_field(source)


def _text_at(payload: Any, key: str) -> str:
    value = payload.get(key) if isinstance(payload, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _first_text(payload: Any, keys: tuple[str, ...]) -> str:
    return next((found for key in keys if (found := _text_at(payload, key))), "")


PROVIDER = Provider(
    name="generic",
    config=GenericSource,
    verify=verify,
    delivery_id=delivery_id,
    normalize=normalize,
    kept_headers=("content-type", "webhook-id", "webhook-timestamp", "user-agent"),
    supported_events=(),
    sign=sign,
    id_from_body=False,
)
