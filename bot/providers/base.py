"""The contract every provider module fulfils, and the request it reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import msgspec
import orjson

from bot.config.source import SourceBase
from bot.core.errors import PayloadError
from bot.core.events import Event
from bot.core.times import parse_time


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as received (or as stored in the inbox): headers looked up in any case,
    and the raw bytes."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def check_json(self) -> None:
        """Raise ``PayloadError`` as ``json`` would, without building the payload.

        Where the intake needs nothing from the body, building it (hundreds of objects for a
        push) is work the normalizer repeats anyway; checking the syntax costs a quarter of
        that. Anything the quick check refuses takes the full path, which reads what it can
        (UTF-16, NaN, a form body, an array) and names the problem in its error.
        """
        if self._content_type() != "application/x-www-form-urlencoded":
            try:
                _SYNTAX.decode(self.body)
            except (msgspec.MsgspecError, RecursionError):
                pass
            else:
                if self.body.isascii():
                    return
                try:  # the quick check leaves the bytes inside strings unread
                    self.body.decode("utf-8")
                    return
                except UnicodeDecodeError:
                    pass
        self.json()

    def _content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The JSON body; GitHub's form-encoded ``payload=`` is accepted too.

        orjson parses several times faster than ``json`` (the intake parses every body);
        bodies it refuses (UTF-16, NaN, lone surrogates) fall back to the standard library.
        """
        raw = self.body
        if self._content_type() == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(raw.decode("utf-8"), strict_parsing=True)
            except (UnicodeDecodeError, ValueError) as exc:
                raise PayloadError(f"form body cannot be decoded: {exc}") from None
            if "payload" not in form:
                raise PayloadError("form body has no 'payload' field")
            raw = form["payload"][0].encode("utf-8")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library names the problem, and reads what orjson refuses
        try:
            return json.loads(raw)
        except UnicodeDecodeError as exc:
            raise PayloadError(f"body is not UTF-8: {exc}") from None
        except json.JSONDecodeError as exc:
            raise PayloadError(f"body is not JSON: {exc}") from None
        except RecursionError:
            raise PayloadError("body is not JSON: nested too deeply") from None


class _AnyObject(msgspec.Struct):
    """A JSON object whose members are all skipped: msgspec checks their syntax only."""


_SYNTAX = msgspec.json.Decoder(_AnyObject)


S = TypeVar("S", bound=SourceBase)
"""A provider's own source model."""

Verifier = Callable[[S, WebhookRequest, float], None]
"""Raise ``VerificationError`` unless the request comes from the configured sender."""

DeliveryId = Callable[[WebhookRequest, Any], str]
"""The sender's id for this delivery, used to drop redeliveries; ``Any`` is the parsed body."""

Normalizer = Callable[[str, S, WebhookRequest, Any], list[Event]]
"""Turn one request into zero or more events; an empty list means known but ignored."""

Signer = Callable[[S, bytes, float], dict[str, str]]
"""The headers that make ``verify`` accept ``body`` from this source at ``now``.

The inverse of ``Verifier``, used by ``simulate`` to send samples as the sender would:
it lives next to ``verify`` so the two cannot drift apart.
"""


@dataclass(frozen=True)
class Provider(Generic[S]):
    """A webhook sender we understand: everything about it but its templates."""

    name: str
    config: type[S]
    """Its ``[sources.<name>]`` model: the credentials it checks, the keys it reads."""
    verify: Verifier[S]
    delivery_id: DeliveryId
    normalize: Normalizer[S]
    kept_headers: tuple[str, ...]
    """Headers stored in the inbox (never signatures or credentials)."""
    supported_events: tuple[str, ...] = ()
    sign: Signer[S] = field(kw_only=True)
    id_from_body: bool = field(default=True, kw_only=True)
    """``delivery_id`` reads the parsed body. When it does not, the intake only checks
    that the body is JSON and passes ``None``; the normalizer builds the payload later."""
    ping: bool = field(default=False, kw_only=True)
    """A ping URL (cron jobs): ``GET`` works as well as ``POST`` and the body is not
    read, so ``curl`` with no body, or with a job's log, is a ping alike."""
    group_wait: float = field(default=0.0, kw_only=True)
    """How long a route waits to gather a burst into one digest when it does not say
    (``group_wait``): senders whose events come in storms set it, others post each event."""
    ignored_by_default: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    """Events it makes and renders that no route posts unless it names them: event (or
    a glob such as ``invoiceitem.*``) -> why it is noise for most channels. A route whose
    ``event`` lists the event, or the entry as written here, posts it; ``explain`` and
    ``why`` give the reason for the rest."""

    def ignored_entry(self, event: str) -> str | None:
        """The ``ignored_by_default`` entry covering ``event`` (itself, or its glob)."""
        if event in self.ignored_by_default:
            return event
        for pattern in self.ignored_by_default:
            if "*" in pattern and fnmatchcase(event, pattern):
                return pattern
        return None


def content_digest(body: bytes) -> str:
    """A delivery id for senders that send none: identical bodies are one delivery."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def dig(data: Any, path: str, default: Any = None) -> Any:
    """``dig(payload, "pull_request.user.login")``, tolerant of missing keys and nulls."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
        if current is None:
            return default
    return current


def text(value: Any) -> str:
    """A payload value as display text: ``None`` is empty, numbers are written out."""
    return value if isinstance(value, str) else "" if value is None else str(value)


def http_url(value: Any) -> str | None:
    """A payload value that is a web link, else None (never ``javascript:`` and the like)."""
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def moment(value: Any) -> datetime:
    """When something happened (see ``parse_time``); anything unreadable is now, so a bad
    timestamp never loses an event."""
    return parse_time(value) or datetime.now(UTC)


def mapping(value: Any) -> dict[str, Any]:
    """A payload value that should be an object: itself, or ``{}`` when it is not."""
    return value if isinstance(value, dict) else {}


def mappings(value: Any) -> list[dict[str, Any]]:
    """A payload value that should be a list of objects: the objects in it, if any."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
