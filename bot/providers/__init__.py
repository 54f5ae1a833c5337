"""The provider registry: adding a provider is its folder and one line here (see
CONTRIBUTING.md). The config's ``provider`` key, and the order known providers are
listed in, come from here."""

from __future__ import annotations

from typing import Any

from bot.providers import (
    alertmanager,
    datadog,
    generic,
    github,
    gitlab,
    grafana,
    heartbeat,
    pagerduty,
    sentry,
    stripe,
)
from bot.providers.base import Provider, WebhookRequest

PROVIDERS: dict[str, Provider[Any]] = {
    "github": github.PROVIDER,
    "gitlab": gitlab.PROVIDER,
    "stripe": stripe.PROVIDER,
    "pagerduty": pagerduty.PROVIDER,
    "sentry": sentry.PROVIDER,
    "alertmanager": alertmanager.PROVIDER,
    "grafana": grafana.PROVIDER,
    "datadog": datadog.PROVIDER,
    "generic": generic.PROVIDER,
    "heartbeat": heartbeat.PROVIDER,
}

__all__ = ["PROVIDERS", "Provider", "WebhookRequest"]
