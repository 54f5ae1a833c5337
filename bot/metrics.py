"""Prometheus metrics, one registry per app so tests and instances do not share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bot_requests_total",
            "Webhook requests by source and answer",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "bot_requests_rejected_total",
            "Webhook requests refused, by source and reason",
            ["source", "reason"],
            registry=self.registry,
        )
        self.events = Counter(
            "bot_events_total",
            "Normalized events by source and outcome (routed, unrouted, ignored, muted)",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "bot_deliveries_total",
            "Delivery attempts by target and outcome (delivered, retried, dead)",
            ["target", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "bot_ack_seconds",
            "Time from request start to the 2xx, durable write included",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.end_to_end_seconds = Histogram(
            "bot_end_to_end_seconds",
            "Time from webhook received to message accepted by the chat platform",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
