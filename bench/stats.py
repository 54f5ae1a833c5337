"""Percentiles of one run and medians across runs."""

from __future__ import annotations

import math
import statistics
from typing import Any


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the value below which ``fraction`` of samples fall."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50": round(percentile(ordered, 0.50), 2),
        "p90": round(percentile(ordered, 0.90), 2),
        "p99": round(percentile(ordered, 0.99), 2),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key, the median of numbers across runs (nested dicts too), any of flags;
    others from run 1."""
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run.get(key) for run in runs]
        if isinstance(first, bool):
            merged[key] = any(values)  # a warning raised by any run stands
        elif first is None:
            merged[key] = first
        elif isinstance(first, int | float) and all(isinstance(v, int | float) for v in values):
            # Not rounded past what a run reports: a median ratio of 0.496 is no 0.50.
            merged[key] = round(statistics.median(v for v in values if v is not None), 3)
        elif isinstance(first, dict) and all(isinstance(v, dict) for v in values):
            merged[key] = median_of(values)  # type: ignore[arg-type]
        else:
            merged[key] = first
    return merged
