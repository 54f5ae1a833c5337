"""Headers as each sender builds them: signatures and credentials, computed the sender's way.

Tests of a provider's own scheme sign bodies here rather than reaching into
``bot.providers.signing``, so a mistake in our verifier cannot be mirrored by the same
mistake in the test. Tests that run every provider through the same requests take their
``Sender`` from the registry instead (``SENDERS``), so a new provider is in them at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import tomllib
from dataclasses import dataclass
from typing import Any

from bot.cli import simulate
from bot.config.settings import source_config
from bot.providers import PROVIDERS
from tests.processes import ROOT

ALERTMANAGER_TOKEN = "am-token"


def bearer(token: str) -> dict[str, str]:
    """Alertmanager's ``http_config.authorization`` (type Bearer by default)."""
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def basic(username: str, password: str) -> dict[str, str]:
    """Alertmanager's ``http_config.basic_auth``."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}", "Content-Type": "application/json"}


PAGERDUTY_SECRET = "pd_test_secret"


def pagerduty(body: bytes, *secrets: str) -> dict[str, str]:
    """PagerDuty v3: one ``v1=`` HMAC-SHA256 per active signing secret, comma-separated."""
    signatures = [
        "v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest()
        for s in secrets or (PAGERDUTY_SECRET,)
    ]
    return {
        "X-PagerDuty-Signature": ",".join(signatures),
        "X-Webhook-Id": "wh-" + hashlib.sha1(body).hexdigest()[:12],
        "Content-Type": "application/json; charset=utf-8",
    }


STRIPE_SECRET = "whsec_test_secret"


def stripe(body: bytes, timestamp: int, *secrets: str) -> dict[str, str]:
    """Stripe: ``t=<unix>,v1=<hex>`` per secret, HMAC-SHA256 of ``"{t}.{body}"`` keyed by
    the whole ``whsec_...`` string (stripe-python's ``generate_signature_header``)."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"] + [
        "v1=" + hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()
        for s in secrets or (STRIPE_SECRET,)
    ]
    return {"Stripe-Signature": ",".join(parts), "Content-Type": "application/json; charset=utf-8"}


GRAFANA_SECRET = "gf_test_secret"


def grafana(
    body: bytes,
    timestamp: int | None = None,
    secret: str = GRAFANA_SECRET,
    header: str = "X-Grafana-Alerting-Signature",
    timestamp_header: str = "X-Grafana-Alerting-Timestamp",
) -> dict[str, str]:
    """Grafana 12+ (grafana/alerting ``http/hmac.go``): hex HMAC-SHA256 of the body, or of
    ``"{timestamp}:{body}"`` when a timestamp header is configured."""
    signed = body if timestamp is None else f"{timestamp}:".encode() + body
    headers = {
        header: hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    if timestamp is not None:
        headers[timestamp_header] = str(timestamp)
    return headers


GITLAB_TOKEN = "gl-secret-token"


def gitlab(event: str, token: str = GITLAB_TOKEN, uuid: str = "") -> dict[str, str]:
    """GitLab: the webhook's secret token as it is, in ``X-Gitlab-Token``, and the event
    name in ``X-Gitlab-Event`` (``WebHookService#build_headers``)."""
    headers = {"X-Gitlab-Token": token, "X-Gitlab-Event": event, "Content-Type": "application/json"}
    if uuid:
        headers["X-Gitlab-Event-UUID"] = uuid
    return headers


SENTRY_SECRET = "sentry-client-secret"


def sentry(body: bytes, resource: str, secret: str = SENTRY_SECRET, request_id: str = "") -> dict:
    """Sentry: hex HMAC-SHA256 of the body keyed by the client secret (the verification
    snippet of Sentry's integration-platform webhook docs), the resource in
    ``Sentry-Hook-Resource``."""
    headers = {
        "Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Content-Type": "application/json",
    }
    if request_id:
        headers["Request-ID"] = request_id
    return headers


STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def standard_webhooks(
    body: bytes,
    timestamp: int,
    message_id: str = "msg_p5jXN8AQM9LWM0D4loKWxJek",
    secret: str = STANDARD_SECRET,
) -> dict[str, str]:
    """Standard Webhooks (the reference library's ``Webhook.sign``): base64 HMAC-SHA256 of
    ``"{id}.{timestamp}.{body}"``, keyed by the base64-decoded part after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
        "Content-Type": "application/json",
    }


EXAMPLE_SOURCES: dict[str, dict[str, Any]] = {
    table["provider"]: table
    for table in tomllib.loads((ROOT / "config.example.toml").read_text())["sources"].values()
}
"""Each provider's source in the example config, which has one per provider."""

CREDENTIALS = ("secret", "token", "password")


@dataclass(frozen=True)
class Sender:
    """A registered provider's sender: its source in the example config, its first sample
    and its own ``sign`` (the inverse of its ``verify``)."""

    provider: str
    source: dict[str, Any]
    event: str

    @property
    def body(self) -> bytes:
        return simulate.fresh(self.provider, self.event, time.time()).body

    def sign(self, body: bytes, now: float, source: dict[str, Any] | None = None) -> dict[str, str]:
        """The sample's headers (a new delivery id each time) and the signature of ``body``
        at ``now``, for ``source`` (by default the sender's own)."""
        headers = simulate.fresh(self.provider, self.event, now).headers
        return {**headers, **self.signature(body, now, source or self.source)}

    def signature(self, body: bytes, now: float, source: dict[str, Any]) -> dict[str, str]:
        """The headers ``sign`` adds: signature, credential, timestamp."""
        return PROVIDERS[self.provider].sign(source_config(**source), body, now)

    def wrong_source(self) -> dict[str, Any]:
        """Its source with every credential changed."""
        return {k: _wrong(v) if k in CREDENTIALS else v for k, v in self.source.items()}

    def covers_body(self, now: float) -> bool:
        """True when the credential covers the body (HMAC), so a cut body fails the check."""
        return self.signature(b"{}", now, self.source) != self.signature(b"[]", now, self.source)

    def signs_time(self, now: float) -> bool:
        """True when the scheme signs the time, so an hour-old signature is refused."""
        return self.signature(b"{}", now, self.source) != self.signature(
            b"{}", now - 3600, self.source
        )


def _wrong(value: Any) -> Any:
    return [_wrong(v) for v in value] if isinstance(value, list) else f"wrong-{value}"


SENDERS = {
    name: Sender(name, EXAMPLE_SOURCES[name], simulate.sample_events(name)[0]) for name in PROVIDERS
}
"""Every registered provider's sender."""
