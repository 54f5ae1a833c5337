"""The contract every provider module fulfils, and the request it reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bot.config import SourceConfig
from bot.errors import PayloadError
from bot.events import Event


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as received (or as stored in the inbox): lower-case headers and raw bytes."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The JSON body; GitHub's form-encoded ``payload=`` is accepted too."""
        content_type = (self.header("content-type") or "").split(";")[0].strip().lower()
        raw = self.body
        if content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(raw.decode("utf-8"), strict_parsing=True)
            except (UnicodeDecodeError, ValueError) as exc:
                raise PayloadError(f"form body cannot be decoded: {exc}") from None
            if "payload" not in form:
                raise PayloadError("form body has no 'payload' field")
            raw = form["payload"][0].encode("utf-8")
        try:
            return json.loads(raw)
        except UnicodeDecodeError as exc:
            raise PayloadError(f"body is not UTF-8: {exc}") from None
        except json.JSONDecodeError as exc:
            raise PayloadError(f"body is not JSON: {exc}") from None
        except RecursionError:
            raise PayloadError("body is not JSON: nested too deeply") from None


Verifier = Callable[[SourceConfig, WebhookRequest, float], None]
"""Raise ``VerificationError`` unless the request comes from the configured sender."""

DeliveryId = Callable[[WebhookRequest, Any], str]
"""The sender's id for this delivery, used to drop redeliveries; ``Any`` is the parsed body."""

Normalizer = Callable[[str, SourceConfig, WebhookRequest, Any], list[Event]]
"""Turn one request into zero or more events; an empty list means known but ignored."""

Signer = Callable[[SourceConfig, bytes, float], dict[str, str]]
"""The headers that make ``verify`` accept ``body`` from this source at ``now``.

The inverse of ``Verifier``, used by ``simulate`` to send samples as the sender would:
it lives next to ``verify`` so the two cannot drift apart.
"""


@dataclass(frozen=True)
class Provider:
    """A webhook sender we understand."""

    name: str
    verify: Verifier
    delivery_id: DeliveryId
    normalize: Normalizer
    kept_headers: tuple[str, ...]
    """Headers stored in the inbox (never signatures or credentials)."""
    supported_events: tuple[str, ...] = ()
    sign: Signer | None = None


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
