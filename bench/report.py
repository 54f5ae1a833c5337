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
    ("ingest", "ratio", ">=", 0.5),
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
]

# What the table shows per scenario, in order.
COLUMNS: dict[str, list[str]] = {
    "baseline": [
        "rps",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "cpu_ms_per_request",
        "client_cpu_ms_per_request",
    ],
    "ingest": [
        "rps",
        "ratio",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "cpu_ms_per_request",
        "client_cpu_ms_per_request",
        "peak_rss_mb",
    ],
    "ack": ["rate", "rps", "p50_ms", "p99_ms", "max_ms", "errors", "cpu_ms_per_request"],
    "e2e": ["rate", "channels", "sent", "delivered", "p50_ms", "p99_ms", "max_ms"],
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
    ],
    "memory": ["queued", "seed_rps", "normalized", "peak_rss_mb", "end_rss_mb", "errors"],
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
        lines.append(f"  {scenario:<9} " + "  ".join(cells))
    if "ratio" in results.get("ingest", {}):
        lines.append(f"\ningest/baseline throughput ratio: {results['ingest']['ratio']:.3f}")
    if checks:
        lines.append("\ntargets:")
        for check in checks:
            mark = "ok  " if check["met"] else "MISS"
            lines.append(
                f"  {mark} {check['scenario']}.{check['metric']} {check['target']}"
                f" (got {_show(check['value'])})"
            )
    return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    return str(value)
