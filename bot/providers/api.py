"""Calling a provider's API for a button: one request, its answer read as a person would.

Every call goes through the process's one aiohttp session and is bounded by the action
core's timeout. A refusal becomes ``ActionFailed`` naming the provider, the status and
the provider's own explanation (``PagerDuty answered 403: ...``); tokens travel only in
headers and appear in no message.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.core.errors import ActionFailed
from bot.core.text import shorten

ANSWER_LIMIT = 200


async def call(
    session: aiohttp.ClientSession,
    provider: str,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: Any = None,
    auth: aiohttp.BasicAuth | None = None,
) -> Any:
    """The JSON (or None) of a 2xx answer; anything else raises ``ActionFailed``."""
    try:
        async with session.request(method, url, headers=headers, json=body, auth=auth) as response:
            text = await response.text()
            if response.status >= 300:
                raise ActionFailed(
                    f"{provider} answered {response.status}: {explain(text)}",
                    http_status=response.status,
                )
    except aiohttp.ClientError as exc:
        raise ActionFailed(
            f"{provider} unreachable ({type(exc).__name__}): check api_url"
        ) from None
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def explain(text: str) -> str:
    """The provider's reason out of an error body: the ``message`` or ``error`` it sends
    (PagerDuty nests it; Alertmanager and GitHub do not), else the body cut short."""
    try:
        data = json.loads(text)
    except ValueError:
        return shorten(text.strip(), ANSWER_LIMIT) or "no reason given"
    if isinstance(data, dict):
        inner = data.get("error")
        if isinstance(inner, dict):
            errors = inner.get("errors")
            detail = (
                f" ({'; '.join(map(str, errors))})" if isinstance(errors, list) and errors else ""
            )
            return shorten(f"{inner.get('message', '')}{detail}".strip(), ANSWER_LIMIT)
        for key in ("message", "error"):
            if isinstance(data.get(key), str):
                return shorten(data[key], ANSWER_LIMIT)
    return shorten(text.strip(), ANSWER_LIMIT)
