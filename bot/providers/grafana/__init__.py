"""Grafana unified alerting's webhook contact point (payload ``version: "1"``).

The body is Alertmanager's with Grafana's extras (``silenceURL``, ``dashboardURL``,
``panelURL``, ``valueString`` per alert; ``title``, ``state``, ``message`` on top), read
by ``alerting`` and shown by ``templates/grafana/alert.j2``. Grafana 12+ can sign the
body with HMAC-SHA256 (``X-Grafana-Alerting-Signature``, optionally over
``"{timestamp}:{body}"`` with a timestamp header); older versions send a bearer token
or basic auth. Both can be required at once.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from bot.config.source import SignatureHeaderSource
from bot.core.text import shorten
from bot.providers import alerting
from bot.providers.base import WebhookRequest, text
from bot.providers.signing import (
    check_credentials,
    check_signature_header,
    credential_headers,
    encode_signature,
    signed_content,
)

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"


class GrafanaSource(alerting.AlertingSource, SignatureHeaderSource, alerting.SilenceApi):
    """``[sources.<name>]`` with ``provider = "grafana"``: an HMAC secret (in
    ``signature_header``, X-Grafana-Alerting-Signature by default), a token or basic auth.
    With ``api_url`` (``https://grafana.example.com/api/alertmanager/grafana``) and a
    service account ``api_token`` its alerts can be silenced from chat."""

    signature_default: ClassVar[str | None] = SIGNATURE_HEADER
    provider: Literal["grafana"]


def verify(source: GrafanaSource, request: WebhookRequest, now: float) -> None:
    if source.secrets:
        check_signature_header(
            source,
            request,
            now,
            header=source.signature_header or SIGNATURE_HEADER,
            timestamp_header=source.timestamp_header,
        )
    check_credentials(source, request)


def sign(source: GrafanaSource, body: bytes, now: float) -> dict[str, str]:
    headers = credential_headers(source)
    if source.secrets:
        timestamp = str(int(now)) if source.timestamp_header else None
        signature = encode_signature(source.secrets[0], signed_content(body, timestamp), "hex")
        headers[source.signature_header or SIGNATURE_HEADER] = signature
        if source.timestamp_header and timestamp:
            headers[source.timestamp_header] = timestamp
    return headers


def extras(body: dict[str, Any]) -> alerting.SenderExtras:
    """Grafana's own ``title``, ``message`` (both templated in Grafana) and ``state``.

    Our title names the alerts, so Grafana's is used only when they have no
    ``alertname``; its message (by default a long listing of every label) only when the
    annotations give no summary or description.
    """
    message = text(body.get("message")).strip()
    return alerting.SenderExtras(
        title=" ".join(text(body.get("title")).split()),
        text=shorten(message, 600),
        labels={"state": text(body.get("state"))} if body.get("state") else {},
    )


PROVIDER = alerting.provider("grafana", GrafanaSource, frozenset({"1"}), verify, sign, extras)
