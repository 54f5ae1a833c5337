"""Measured values as one short line a person reads at a glance: ``A=2.47e9, B=0``.

Alerting senders attach the numbers their rule compared: Grafana 11+ as a ``values``
mapping, older Grafana only as ``valueString``, a debugging dump
(``[ var='A' labels={...} value=2.473545728e+09 ]``) nobody should have to parse by eye.
Both become the same line; anything else shows as nothing rather than as raw text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_READING = re.compile(
    r"\[\s*(?:var='(?P<var>[^']*)'\s*)?(?:metric='(?P<metric>[^']*)'\s*)?"
    r".*?value=(?P<value>[^\s\]]+)\s*\]"
)


def compact_number(value: Any) -> str:
    """A number in at most a few digits: ``2473545728`` -> ``2.47e9``, ``0.5`` -> ``0.5``,
    ``14151.331895`` -> ``14151.3``. Text that is not a number is kept as it is."""
    if isinstance(value, bool):
        return str(value).lower()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return str(value)
    if number == int(number) and abs(number) < 1e6:
        return str(int(number))
    if 1e-3 <= abs(number) < 1e6:
        return f"{number:.6g}"
    mantissa, _, exponent = f"{number:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def readings(values: Any) -> str:
    """``name=value`` pairs, numbers made compact, from a mapping or Grafana's
    ``valueString``; empty when there is nothing to read."""
    if isinstance(values, Mapping):
        pairs = [(str(name), value) for name, value in values.items()]
    elif isinstance(values, str):
        pairs = [
            (match["var"] or match["metric"] or "", match["value"])
            for match in _READING.finditer(values)
        ]
    else:
        return ""
    return ", ".join(
        f"{name}={compact_number(value)}" if name else compact_number(value)
        for name, value in pairs
    )
