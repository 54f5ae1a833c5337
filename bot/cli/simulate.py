"""``python -m bot simulate``: send a realistic, correctly signed sample to a running bot.

The first message in chat should not wait for a provider to be wired up. A provider's
``samples.toml`` names its samples by the normalized event they produce, so ``simulate
github pull_request.opened`` shows what a route on ``pull_request.opened`` posts; each is a
body from its ``samples/`` folder (real public examples, kept as published, see
``bot/providers/SAMPLES.md``), the headers the sender adds and the values written into the
body. Each request is signed by the provider's own ``sign``, the inverse of its ``verify``,
with the source's configured secret or token: a 401 means the running bot uses another
config.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from bot.config.settings import ServerConfig, Settings
from bot.providers import PROVIDERS

SAMPLES = resources.files("bot") / "providers"


class SimulateError(Exception):
    """The sample cannot be sent; the message names the cause and the fix."""


@dataclass(frozen=True)
class SampleRequest:
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Sample:
    """One entry of a provider's ``samples.toml``: what ``simulate`` sends for an event."""

    body: str
    """A file in the provider's ``samples/`` folder, the body as published."""
    headers: dict[str, str]
    """What the sender sends besides its signature (``X-GitHub-Event``...)."""
    set: dict[str, Any]
    """Dotted path in the body (``alerts.0.startsAt``) -> the value written there."""


def bodies(provider: str) -> Traversable:
    """The folder of a provider's example bodies, ``bot/providers/<provider>/samples``."""
    return SAMPLES / provider / "samples"


@cache
def samples(provider: str) -> dict[str, Sample]:
    """A provider's samples by the event they produce; none without a ``samples.toml``."""
    index = SAMPLES / provider / "samples.toml"
    if not index.is_file():
        return {}
    entries = tomllib.loads(index.read_text("utf-8"))
    return {
        event: Sample(entry["body"], entry.get("headers", {}), entry.get("set", {}))
        for event, entry in entries.items()
    }


def sample_events(provider: str) -> list[str]:
    """The events ``simulate`` can send for a provider, sorted."""
    return sorted(samples(provider))


def build(settings: Settings, source_name: str, event: str, now: float) -> SampleRequest:
    """The sample for ``event``, fresh (new ids, current times) and signed for the source."""
    source = settings.sources.get(source_name)
    if source is None:
        known = ", ".join(sorted(settings.sources)) or "none"
        raise SimulateError(f"no source {source_name!r} in the config (known: {known})")
    events = sample_events(source.provider)
    if event not in events:
        offer = ", ".join(events) or "none yet"
        raise SimulateError(
            f"no {source.provider} sample {event!r} (samples: {offer}; "
            "python -m bot simulate --list shows them all)"
        )
    request = fresh(source.provider, event, now)
    signature = PROVIDERS[source.provider].sign(source, request.body, now)
    return SampleRequest({**request.headers, **signature}, request.body)


def fresh(
    provider: str, event: str, now: float, fill: dict[str, Any] | None = None
) -> SampleRequest:
    """A provider's sample for ``event``, unsigned, with new ids and current times.

    ``fill`` replaces the placeholders' values (the golden-file tests pin them, so their
    output does not change from one run to the next)."""
    return request_for(provider, samples(provider)[event], now, fill)


def request_for(
    provider: str, sample: Sample, now: float, fill: dict[str, Any] | None = None
) -> SampleRequest:
    """The request ``sample`` describes (a body of the provider's, its headers and what
    is written into it), unsigned; ``fresh`` for a sample no ``samples.toml`` names."""
    fill = fill if fill is not None else _placeholders(now)
    payload = json.loads((bodies(provider) / sample.body).read_bytes())
    for path, value in sample.set.items():
        _write(payload, path, _filled(value, fill))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "chatops-bot-simulate",
        **_filled(sample.headers, fill),
    }
    return SampleRequest(headers, json.dumps(payload).encode())


def _write(payload: Any, path: str, value: Any) -> None:
    """``payload`` at the dotted ``path`` set to ``value``; the path must exist, so a typo
    in ``samples.toml`` fails instead of adding a field no sender sends."""
    *parents, last = path.split(".")
    for key in parents:
        payload = payload[int(key)] if isinstance(payload, list) else payload[key]
    if isinstance(payload, list):
        payload[int(last)] = value
    elif last in payload:
        payload[last] = value
    else:
        raise KeyError(f"samples.toml: no {path!r} in the body")


def printed(url: str, request: SampleRequest) -> str:
    """What ``simulate --print`` shows: the request as it would be sent."""
    lines = [f"POST {url}"]
    lines.extend(f"{name}: {value}" for name, value in request.headers.items())
    lines.append("")
    lines.append(json.dumps(json.loads(request.body), indent=2, ensure_ascii=False))
    return "\n".join(lines)


def _placeholders(now: float) -> dict[str, Any]:
    moment = datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")
    return {
        "{uuid}": str(uuid.uuid4()),
        "{now}": moment.replace("+00:00", "Z"),  # to the microsecond: two quick runs differ
        "{now_unix}": int(now),
        "{now_ms}": str(int(now * 1000)),  # Datadog's $DATE, a string of milliseconds
    }


def _filled(value: Any, fill: dict[str, Any]) -> Any:
    """Placeholders replaced: a whole value keeps the fill's type, inside text it is text."""
    if isinstance(value, dict):
        return {k: _filled(v, fill) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, fill) for v in value]
    if isinstance(value, str):
        if value in fill:
            return fill[value]
        for placeholder, filler in fill.items():
            value = value.replace(placeholder, str(filler))
    return value


def hook_url(server: ServerConfig, source_name: str, url: str | None) -> str:
    """``--url`` (a base URL or a full hook URL), or the local bot the config describes."""
    if url is None:
        host = "127.0.0.1" if server.host in ("", "0.0.0.0", "::") else server.host
        host = f"[{host}]" if ":" in host else host
        url = f"{'https' if server.tls_cert else 'http'}://{host}:{server.port}"
    if "/hooks/" in url:
        return url
    return f"{url.rstrip('/')}/hooks/{source_name}"


async def send(url: str, request: SampleRequest, verify_tls: bool = True) -> tuple[int, str]:
    """POST the sample; the bot's status and answer (aiohttp is imported only to send:
    ``--list``, ``--print`` and ``explain`` do without it)."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            async with session.post(
                url, data=request.body, headers=request.headers, ssl=verify_tls
            ) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SimulateError(
                f"{url}: certificate not trusted ({exc.certificate_error}); "
                "for a self-signed certificate add --insecure"
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SimulateError(
                f"no bot answers at {url} ({type(exc).__name__}); start one with "
                "python -m bot serve --config FILE, or point --url at it"
            ) from None


def outcome(status: int, answer: str, source_name: str) -> tuple[bool, str]:
    """``(ok, line to print)`` for the bot's answer, with the fix when it is a refusal."""
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        data = {}
    detail = data.get("error") or answer.strip()[:200]
    if 200 <= status < 300:
        return True, f"{status} {data.get('status', 'ok')}, request id {data.get('id', '?')}"
    hints = {
        401: f"the running bot has another secret for {source_name!r}: "
        "give simulate the same --config and environment as the bot",
        403: "the bot's allow_ips for this source does not include this machine",
        404: f"the running bot has no source {source_name!r}: is it using the same config?",
        429: "the source's rate_limit is exhausted: try again in a moment",
    }
    hint = hints.get(status, "see the bot's log for the reason")
    return False, f"{status} {detail}: {hint}"


def request_id(answer: str) -> int | None:
    """The inbox id in an accepted answer (``{"status": "accepted", "id": "12"}``)."""
    try:
        ident = str(json.loads(answer).get("id"))
    except (json.JSONDecodeError, AttributeError):
        return None
    return int(ident) if ident.isdigit() else None


def listing(settings: Settings) -> str:
    """What ``simulate --list`` prints: configured sources first, then other providers."""
    lines = ["python -m bot simulate SOURCE EVENT sends one of these:"]
    used: set[str] = set()
    for name, source in sorted(settings.sources.items()):
        used.add(source.provider)
        events = ", ".join(sample_events(source.provider)) or "(no samples yet)"
        lines.append(f"  {name} ({source.provider}): {events}")
    others = [p for p in sorted(PROVIDERS) if p not in used and sample_events(p)]
    if others:
        lines.append("other providers (add a source with that provider to send these):")
        lines.extend(f"  {p}: {', '.join(sample_events(p))}" for p in others)
    return "\n".join(lines)
