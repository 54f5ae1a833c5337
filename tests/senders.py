"""Headers as each sender builds them: signatures and credentials, computed the sender's way.

Tests sign bodies here rather than reaching into ``bot.providers.signing``, so a mistake
in our verifier cannot be mirrored by the same mistake in the test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

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
