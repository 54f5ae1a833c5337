"""The targets of the benchmark and the table that shows them."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}

# (scenario, metric, comparison, bound); a bound that is a string names another metric.
TARGETS: list[tuple[str, str, str, Any]] = [
    ("ingest", "ratio", ">=", 0.45),
    ("ingest", "errors", "==", 0),
    ("ack", "p99_ms", "<=", 20),
    ("ack", "errors", "==", 0),
    ("e2e", "p50_ms", "<=", 25),
    ("e2e", "p99_ms", "<=", 150),
    ("e2e", "delivered", "==", "sent"),
    ("storm", "ack_p99_ms", "<=", 50),
    ("storm", "represented", "==", "alerts"),
    ("memory", "peak_rss_mb", "<=", 200),
    ("memory", "errors", "==", 0),
    ("outbox", "peak_rss_mb", "<=", 250),
    ("outbox", "outbox", "==", "deliveries"),
    ("outbox", "errors", "==", 0),
    ("drain", "drain_eps", ">=", 3000),
    ("drain", "left", "==", 0),
    ("sustained", "max_backlog_s", "<=", 1),
    ("sustained", "p99_ms", "<=", 20),
    ("sustained", "errors", "==", 0),
]

# What the table shows per scenario, in order.
COLUMNS: dict[str, list[str]] = {
    "plan": ["events", "push_ms", "alert_ms", "pushes_per_cpu_s"],
    "baseline": [
        "rps",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "cpu_ms_per_request",
        "server_busy",
        "client_busy",
    ],
    "ingest": [
        "rps",
        "ratio",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "cpu_ms_per_request",
        "server_busy",
        "client_busy",
        "peak_rss_mb",
    ],
    "ack": [
        "rate",
        "rps",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "cpu_ms_per_request",
        "client_busy",
    ],
    "e2e": ["rate", "channels", "sent", "delivered", "p50_ms", "p99_ms", "max_ms", "client_busy"],
    "storm": [
        "alerts",
        "requests",
        "ack_p50_ms",
        "ack_p99_ms",
        "represented",
        "all_represented_s",
        "chat_posts",
        "chat_updates",
        "errors",
        "client_busy",
    ],
    "memory": ["queued", "seed_rps", "normalized", "peak_rss_mb", "end_rss_mb", "errors"],
    "outbox": [
        "deliveries",
        "multiply_s",
        "start_s",
        "outbox",
        "metrics_max_ms",
        "retried",
        "peak_rss_mb",
        "end_rss_mb",
    ],
    "drain": ["queued", "backlog", "drain_s", "drain_eps", "left", "errors"],
    "sustained": ["rate", "rps", "p50_ms", "p99_ms", "errors", "max_backlog", "max_backlog_s"],
}


def check_targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for scenario, metric, comparison, bound in TARGETS:
        result = results.get(scenario)
        if result is None or "skipped" in result:
            continue
        value = result.get(metric)
        limit = result.get(bound) if isinstance(bound, str) else bound
        met = (
            value is not None
            and limit is not None
            and not (isinstance(value, float) and math.isnan(value))
            and _OPS[comparison](value, limit)
        )
        checks.append(
            {
                "scenario": scenario,
                "metric": metric,
                "target": f"{comparison} {bound}",
                "value": value,
                "met": met,
            }
        )
    return checks


def render_table(
    results: dict[str, dict[str, Any]], checks: list[dict[str, Any]], repeat: int
) -> str:
    lines = [f"{'median of ' + str(repeat) + ' runs' if repeat > 1 else 'one run'}:"]
    for scenario, result in results.items():
        if "skipped" in result:
            lines.append(f"  {scenario:<9} skipped: {result['skipped']}")
            continue
        cells = [f"{key}={_show(result.get(key))}" for key in COLUMNS.get(scenario, result)]
        load = f"load {_show(result.get('load_before'))} -> {_show(result.get('load_after'))}"
        lines.append(f"  {scenario:<9} " + "  ".join(cells) + f"  ({load})")
    if "ratio" in results.get("ingest", {}):
        ingest, baseline = results["ingest"], results.get("baseline", {})
        lines.append(
            f"\ningest/baseline throughput ratio: {ingest['ratio']:.3f}"
            f"  (server CPU per request: bot {_show(ingest.get('cpu_ms_per_request'))} ms,"
            f" baseline {_show(baseline.get('cpu_ms_per_request'))} ms;"
            f" baseline server busy {_show(baseline.get('server_busy'))} of a core)"
        )
    lines += saturation_warnings(results)
    if checks:
        lines.append("\ntargets:")
        for check in checks:
            mark = "ok  " if check["met"] else "MISS"
            lines.append(
                f"  {mark} {check['scenario']}.{check['metric']} {check['target']}"
                f" (got {_show(check['value'])})"
            )
    return "\n".join(lines)


def saturation_warnings(results: dict[str, dict[str, Any]]) -> list[str]:
    """A line for each scenario whose client, not its server, set the pace."""
    lines = []
    for scenario, result in results.items():
        if result.get("client_saturated"):
            lines.append(
                f"WARNING {scenario}: the client was saturated (a core at"
                f" {_show(result.get('client_busy'))}) while the server used"
                f" {_show(result.get('server_busy'))} of one: the rate is the client's, not the"
                " server's (use --client wrk, or fewer connections)"
            )
        elif "server_busy" not in result and (result.get("client_busy") or 0) >= 0.9:
            lines.append(
                f"WARNING {scenario}: the Python client used"
                f" {_show(result.get('client_busy'))} of a core: its latencies may include"
                " its own queueing (lower the rate or the concurrency)"
            )
    return ["", *lines] if lines else []


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return str(value)
