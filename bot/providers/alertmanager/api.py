"""Alertmanager's API v2 for the Silence and Unsilence buttons (Grafana's alerting serves
the same API under ``/api/alertmanager/grafana``, reached with a service account token).

A silence matches the alert group's (or the alert's) labels exactly; ``createdBy`` is
the clicker as ``[people]`` knows them and the comment links back to the message.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp

from bot.core.errors import ActionFailed
from bot.providers.alerting import SilenceApi
from bot.providers.api import call


def _access(source: SilenceApi) -> tuple[dict[str, str], aiohttp.BasicAuth | None]:
    if source.api_token:
        return {"Authorization": f"Bearer {source.api_token}"}, None
    if source.api_username:
        return {}, aiohttp.BasicAuth(source.api_username, source.api_password)
    return {}, None


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def create_silence(
    session: aiohttp.ClientSession,
    provider: str,
    source: SilenceApi,
    labels: dict[str, str],
    created_by: str,
    comment: str,
    starts: float,
    ends: float,
) -> str:
    """A silence of exactly these labels from ``starts`` to ``ends``; returns its id."""
    if not labels:
        raise ActionFailed(f"{provider}: this alert carries no labels to silence it by")
    headers, auth = _access(source)
    answer = await call(
        session,
        provider,
        "POST",
        f"{source.api_url.rstrip('/')}/api/v2/silences",
        headers=headers,
        auth=auth,
        body={
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in sorted(labels.items())
            ],
            "startsAt": _stamp(starts),
            "endsAt": _stamp(ends),
            "createdBy": created_by,
            "comment": comment,
        },
    )
    silence = answer.get("silenceID") if isinstance(answer, dict) else None
    if not silence:
        raise ActionFailed(f"{provider} answered without a silenceID: is api_url its API?")
    return str(silence)


async def expire_silence(
    session: aiohttp.ClientSession, provider: str, source: SilenceApi, silence: str
) -> None:
    headers, auth = _access(source)
    await call(
        session,
        provider,
        "DELETE",
        f"{source.api_url.rstrip('/')}/api/v2/silence/{silence}",
        headers=headers,
        auth=auth,
    )
