"""The provider registry: adding a provider is one module and one line here."""

from __future__ import annotations

from bot.providers import (
    alertmanager,
    datadog,
    generic,
    github,
    grafana,
    pagerduty,
    stripe,
)
from bot.providers.base import Provider, WebhookRequest

PROVIDERS: dict[str, Provider] = {
    "github": github.PROVIDER,
    "alertmanager": alertmanager.PROVIDER,
    "pagerduty": pagerduty.PROVIDER,
    "stripe": stripe.PROVIDER,
    "grafana": grafana.PROVIDER,
    "datadog": datadog.PROVIDER,
    "generic": generic.PROVIDER,
}

__all__ = ["PROVIDERS", "Provider", "WebhookRequest"]
