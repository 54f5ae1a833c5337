"""What ``serve`` and its planner process say to each other: one JSON object a line.

Parent to child: ``{"inbox": 1}`` (new work in the inbox) and ``{"learn": [address,
channel]}`` (the channel a Discord webhook posts into, for mutes issued in that
channel). Child to parent, after each batch: ``{"outbox": 1, "events": [[source,
outcome, n], ...]}``, the events it counted since its last report.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from typing import IO, Any

import orjson

from bot.ops.metrics import Metrics

log = logging.getLogger("bot.pipeline")

INBOX = orjson.dumps({"inbox": 1}) + b"\n"

Counted = list[tuple[str, str, float]]
"""``(source, outcome, how many)`` for each series of ``bot_events_total`` that grew."""


def learn_line(address: str, channel: str) -> bytes:
    return orjson.dumps({"learn": [address, channel]}) + b"\n"


def report(pipe: IO[bytes], counted: Counted) -> None:
    """Tell the parent that the outbox has new work, and what was counted meanwhile."""
    pipe.write(orjson.dumps({"outbox": 1, "events": counted}) + b"\n")
    pipe.flush()


async def messages(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """Each line the other side wrote, until its end of the pipe closes."""
    async for line in reader:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("the planner link carried a line that is not JSON; ignored")
            continue
        if isinstance(message, dict):
            yield message


async def stdin_reader() -> asyncio.StreamReader:
    """This process's stdin as a stream the event loop reads without blocking."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    return reader


class EventCounts:
    """The child's ``bot_events_total``, read as what grew since the last report."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._sent: dict[tuple[str, str], float] = {}

    def since_last(self) -> Counted:
        grown: Counted = []
        for family in self._metrics.events.collect():
            for sample in family.samples:
                key = (sample.labels["source"], sample.labels["outcome"])
                if delta := sample.value - self._sent.get(key, 0.0):
                    grown.append((*key, delta))
                    self._sent[key] = sample.value
        return grown


def count(metrics: Metrics, counted: Any) -> None:
    """Add a report's counts to this process's ``bot_events_total``."""
    for source, outcome, how_many in counted or ():
        metrics.events.labels(source, outcome).inc(how_many)
