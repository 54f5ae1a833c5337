"""Prometheus Alertmanager's webhook receiver (payload ``version: "4"``).

Alertmanager signs nothing: its ``http_config`` sends ``Authorization: Bearer <token>``
or HTTP basic auth, checked here in constant time. It sends no delivery id either, so
the id is a hash of the notification's content (see ``alerting.notification_id``).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from bot.providers import alerting
from bot.providers.base import WebhookRequest
from bot.providers.signing import check_credentials, credential_headers


class AlertmanagerSource(alerting.AlertingSource, alerting.SilenceApi):
    """``[sources.<name>]`` with ``provider = "alertmanager"``: a token or basic auth.
    With ``api_url`` its alerts can be silenced from chat (API v2)."""

    credentials: ClassVar[frozenset[str]] = frozenset({"token", "basic"})
    provider: Literal["alertmanager"]


def verify(source: AlertmanagerSource, request: WebhookRequest, now: float) -> None:
    check_credentials(source, request)


def sign(source: AlertmanagerSource, body: bytes, now: float) -> dict[str, str]:
    return credential_headers(source)


PROVIDER = alerting.provider("alertmanager", AlertmanagerSource, frozenset({"4"}), verify, sign)
