"""Prometheus metrics, one registry per app so tests and instances do not share counts.

Counters and histograms are updated where things happen; the gauges describe the store
(what is waiting, what is dead), so ``/metrics`` reads them from it at every scrape and
every instance sharing a store reports the same backlog.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from bot.store import Backlog

# A ``_created`` sample per labelled series (the time it first counted) doubles every
# scrape, and Prometheus' text format has no use for it: counters are read with rate().
disable_created_metrics()  # type: ignore[no-untyped-call]


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
            "Delivery attempts by target and outcome (delivered, skipped, retried, dead)",
            ["target", "outcome"],
            registry=self.registry,
        )
        self.actions = Counter(
            "bot_actions_total",
            "Button clicks by source, action and outcome (ok, failed, refused, stale, duplicate)",
            ["source", "action", "outcome"],
            registry=self.registry,
        )
        self.commands_refused = Counter(
            "bot_commands_refused_total",
            "Chat commands and button clicks refused for where they came from, by platform, reason",
            ["platform", "reason"],
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

        self.queue_depth = Gauge(
            "bot_queue_depth",
            "Work waiting in the store: requests to normalize (inbox), messages to post (outbox)",
            ["queue"],
            registry=self.registry,
        )
        self.oldest_age = Gauge(
            "bot_oldest_undelivered_age_seconds",
            "Age of the oldest request or message still waiting (0 when nothing waits)",
            registry=self.registry,
        )
        self.dead_letters = Gauge(
            "bot_dead_letters",
            "Dead letters in the store waiting for a replay: deliveries and unreadable requests",
            ["kind"],
            registry=self.registry,
        )
        self._request_counts: dict[tuple[str, str], Any] = {}

    def count_request(self, source: str, outcome: str) -> None:
        """One webhook answered. ``labels()`` validates and takes a lock on every call, and
        the intake counts every request, so each pair's counter is looked up once."""
        counter = self._request_counts.get((source, outcome))
        if counter is None:
            counter = self._request_counts[source, outcome] = self.requests.labels(source, outcome)
        counter.inc()

    def observe_backlog(self, backlog: Backlog, now: float) -> None:
        self.queue_depth.labels("inbox").set(backlog.inbox_pending)
        self.queue_depth.labels("outbox").set(backlog.deliveries_pending)
        oldest = backlog.oldest_pending_at
        self.oldest_age.set(0.0 if oldest is None else max(0.0, now - oldest))
        self.dead_letters.labels("delivery").set(backlog.dead_deliveries)
        self.dead_letters.labels("request").set(backlog.dead_requests)

    def render(self) -> bytes:
        return generate_latest(self.registry)
