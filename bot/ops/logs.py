"""Structured logs: one JSON object per line when ``LOG_FORMAT=json``.

Callers log what happened to an event (``accepted``, ``ignored``, ``delivered``...) with
its ids as fields; secrets never reach a log call, and ``redact`` guards the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from typing import Any, TextIO

import orjson

# orjson writes what ``json.dumps(default=str)`` wrote: dates and dataclasses via str().
_ORJSON_LIKE_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}
_SECRETISH = re.compile(
    r"(xox[abprs]-|xapp-|whsec_|/webhooks/\d+/|/bot\d+:|[?&]sig=)[A-Za-z0-9_.%-]+"
    r"|(/hooks/)[a-z0-9]{26}(?![A-Za-z0-9])"
)
"""Slack tokens, webhook secrets, a Discord webhook's token, a Telegram bot token in an
API URL, a Teams Workflows URL's ``sig=``, a Mattermost incoming webhook's id."""


def redact(text: str) -> str:
    """Hide anything shaped like a token or a secret part of a webhook URL."""
    return _SECRETISH.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)


def milliseconds(seconds: float) -> float:
    """A duration as log lines give it (``latency_ms``): milliseconds, one decimal."""
    return round(max(seconds, 0.0) * 1000, 1)


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def _time(self, created: float) -> str:
        """ISO 8601 in UTC, to the millisecond. The date and time of day are formatted once
        a second, not once a line (the intake writes a line per webhook); ``format`` runs
        under the handler's lock, so the two fields change together."""
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        try:
            return orjson.dumps(entry, default=str, option=_ORJSON_LIKE_JSON).decode()
        except orjson.JSONEncodeError:  # what orjson refuses (ints past 64 bits) json writes
            return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED and v is not None
        )
        line = f"{record.levelname.lower():7} {redact(record.getMessage())}"
        if extras:
            line += f"  {redact(extras)}"
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class LoopBatchedHandler(logging.StreamHandler[TextIO]):
    """Writes the lines logged during one pass of the event loop with one write.

    The intake logs a line per webhook, and a write per line was a system call per
    webhook that also handed the GIL to the store's writer thread, which the event loop
    then had to win back: about a tenth of the bot's CPU under a flood (``python -m
    bench``). Lines logged on the event loop's thread wait for the end of the loop's
    current pass; a warning or worse, and a line logged anywhere else, is written at
    once, after the lines waiting before it. Exit writes what still waits.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._waiting: list[tuple[str, logging.LogRecord]] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self._waiting.append((line, record))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or record.levelno >= logging.WARNING:
            self.flush()
        elif self._flush_on is not loop:  # not yet asked of this loop (or of a closed one)
            self._flush_on = loop
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self.acquire()
        try:
            self._flush_on = None
            if not self._waiting:
                return
            lines, self._waiting = self._waiting, []
            try:
                self.stream.write("".join(line + self.terminator for line, _ in lines))
                self.stream.flush()
            except Exception:
                self.handleError(lines[0][1])
        finally:
            self.release()


def configure(default_level: str = "INFO") -> None:
    """Set up the root logger from ``LOG_FORMAT`` (text|json) and ``LOG_LEVEL``."""
    handler = LoopBatchedHandler(sys.stderr)
    json_wanted = os.environ.get("LOG_FORMAT", "text").lower() == "json"
    handler.setFormatter(JsonFormatter() if json_wanted else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LOG_LEVEL", default_level).upper())
    # Neither format shows the caller, thread or process, so records need not look them
    # up (the logging HOWTO's "Optimization" advice; it matters at a line per webhook).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiosqlite logs every statement with its arguments at DEBUG, target addresses included.
    for noisy in ("aiohttp.access", "slack_sdk", "discord", "asyncio", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
