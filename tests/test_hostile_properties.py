"""Property tests: whatever arrives at ``/hooks/{source}``, the answer is never a 500,
nothing unverified is stored, and the bot keeps answering.

Hypothesis makes the requests (random bytes, random and deeply nested JSON, bodies over
the size limit, invalid UTF-8 in headers, wrong content types); a real bot process
answers them over a real socket, one source per provider. Example counts stay modest so
the suite stays fast; ``HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import GITHUB_SECRET, github_headers
from tests.processes import BotProcess, free_port, write_config
from tests.senders import (
    ALERTMANAGER_TOKEN,
    GITLAB_TOKEN,
    GRAFANA_SECRET,
    PAGERDUTY_SECRET,
    SENTRY_SECRET,
    STANDARD_SECRET,
    STRIPE_SECRET,
    bearer,
    gitlab,
    grafana,
    pagerduty,
    sentry,
    standard_webhooks,
    stripe,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]

MAX_BODY = 65_536
EXAMPLES = settings(
    max_examples=2000 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Sign = Callable[[bytes], dict[str, str]]


def _now() -> int:
    return int(time.time())


SOURCES: dict[str, tuple[str, Sign, Sign]] = {
    # name: (config, sign as the sender does, sign with a wrong credential)
    "github": (
        f'provider = "github"\nsecret = "{GITHUB_SECRET}"',
        lambda body: github_headers(body, "issues", f"d-{hash(body)}-{time.time_ns()}"),
        lambda body: github_headers(body, "issues", "forged", secret="guess"),
    ),
    "gitlab": (
        f'provider = "gitlab"\nsecret = "{GITLAB_TOKEN}"',
        lambda body: gitlab("Issue Hook", uuid=f"u-{time.time_ns()}"),
        lambda body: gitlab("Issue Hook", token="guess"),
    ),
    "sentry": (
        f'provider = "sentry"\nsecret = "{SENTRY_SECRET}"',
        lambda body: sentry(body, "issue", request_id=f"r-{time.time_ns()}"),
        lambda body: sentry(body, "issue", secret="guess"),
    ),
    "stripe": (
        f'provider = "stripe"\nsecret = "{STRIPE_SECRET}"',
        lambda body: stripe(body, _now()),
        lambda body: stripe(body, _now(), "whsec_guess"),
    ),
    "pagerduty": (
        f'provider = "pagerduty"\nsecret = "{PAGERDUTY_SECRET}"',
        pagerduty,
        lambda body: pagerduty(body, "guess"),
    ),
    "alertmanager": (
        f'provider = "alertmanager"\ntoken = "{ALERTMANAGER_TOKEN}"',
        lambda body: bearer(ALERTMANAGER_TOKEN),
        lambda body: bearer("guess"),
    ),
    "grafana": (
        f'provider = "grafana"\nsecret = "{GRAFANA_SECRET}"\n'
        'timestamp_header = "X-Grafana-Alerting-Timestamp"',
        lambda body: grafana(body, _now()),
        lambda body: grafana(body, _now(), secret="guess"),
    ),
    "datadog": (
        'provider = "datadog"\ntoken = "dd-token"\ntoken_header = "X-Bot-Token"',
        lambda body: {"X-Bot-Token": "dd-token"},
        lambda body: {"X-Bot-Token": "guess"},
    ),
    "generic": (
        f'provider = "generic"\nsecret = "{STANDARD_SECRET}"',
        lambda body: standard_webhooks(body, _now(), f"msg_{time.time_ns()}"),
        lambda body: standard_webhooks(body, _now(), secret="whsec_" + "A" * 32),
    ),
}


class Bot:
    """One bot process for the module, asked with a plain blocking HTTP client."""

    def __init__(self, process: BotProcess, db: Path) -> None:
        self.process = process
        self.db = db

    def post(self, source: str, body: bytes, headers: dict[str, str | bytes]) -> int:
        return self.exchange(source, body, headers)[0]

    def exchange(
        self, source: str, body: bytes, headers: dict[str, str | bytes]
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.process.port, timeout=10)
        try:
            conn.putrequest("POST", f"/hooks/{source}", skip_accept_encoding=True)
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def healthy(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.process.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def inbox(self, where: str = "1 = 1") -> int:
        with sqlite3.connect(self.db) as db:
            return int(db.execute(f"SELECT count(*) FROM inbox WHERE {where}").fetchone()[0])


@pytest.fixture(scope="session")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    tmp_path = tmp_path_factory.mktemp("hostile")
    sources = "\n".join(f"[sources.{name}]\n{config}" for name, (config, _, _) in SOURCES.items())
    extra = f"[server]\nmax_body_bytes = {MAX_BODY}\n{sources}"
    config = write_config(tmp_path, free_port(), extra).read_text()
    config = config.replace('[sources.github]\nprovider = "github"\n', "", 1)  # ours instead
    config = config.replace(f'secret = "{GITHUB_SECRET}"\n', "", 1)
    (tmp_path / "bot.toml").write_text(config)
    process = BotProcess(tmp_path / "bot.toml", tmp_path / "bot.log")
    asyncio.run(process.start())
    try:
        yield Bot(process, tmp_path / "bot.db")
    finally:
        process.terminate()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "object", "nested", "huge", "not utf-8"]))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "object":  # shaped like a webhook: the keys providers read, wrong types
        keys = ["action", "type", "event", "alerts", "status", "data", "issue", "title"]
        shape = draw(st.dictionaries(st.sampled_from(keys), json_values, max_size=6))
        return json.dumps(shape).encode()
    if kind == "nested":
        depth = draw(st.integers(100, 30_000))
        opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return (opening * depth + "1" + closing * depth).encode()
    if kind == "huge":
        return b'{"a": "' + b"x" * draw(st.integers(MAX_BODY - 100, MAX_BODY * 3)) + b'"}'
    return b'{"title": "' + draw(st.binary(min_size=1, max_size=20)) + b'\xff\xfe"}'


header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,24}", fullmatch=True)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.lists(st.integers(0x20, 0xFF), max_size=40).map(bytes),  # not UTF-8, often
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "garbage/;;;=",
    ]
)


def _with(headers: dict[str, str | bytes], extra: dict[str, str | bytes], kind: str) -> dict:
    merged: dict[str, str | bytes] = {**extra, **headers}
    merged = {k: v for k, v in merged.items() if k.lower() not in ("content-length", "host")}
    if kind:
        merged["Content-Type"] = kind
    return merged


@EXAMPLES
@given(
    source=st.sampled_from([*SOURCES, "nowhere"]),
    body=bodies(),
    extra=st.dictionaries(header_names, header_values, max_size=5),
    kind=content_types,
    forged=st.booleans(),
)
def test_unverified_requests_are_refused_and_never_stored(bot, source, body, extra, kind, forged):
    before = bot.inbox()
    signed = SOURCES[source][2](body) if forged and source in SOURCES else {}
    status = bot.post(source, body, _with(signed, extra, kind))
    # 400: aiohttp's HTTP parser refused a header byte before any handler saw it.
    if source == "nowhere":
        assert status in (400, 404), status
    else:
        assert status in (400, 401, 413), status  # verified before it is parsed or stored
    assert bot.inbox() == before


@EXAMPLES
@given(
    source=st.sampled_from(list(SOURCES)),
    body=bodies(),
    extra=st.dictionaries(header_names, header_values, max_size=3),
    kind=content_types,
)
def test_signed_hostile_bodies_get_a_contract_answer_never_500(bot, source, body, extra, kind):
    signed = SOURCES[source][1](body)
    status = bot.post(source, body, _with(signed, extra, kind))
    assert status in (200, 400, 413), status
    if len(body) > MAX_BODY:
        assert status in (400, 413)  # refused by size (or by the HTTP parser, first)


def test_the_bot_is_still_answering_and_normalized_everything_it_accepted(bot):
    """Runs after the properties: nothing hung the process or the normalize stage."""
    assert bot.healthy()
    status = bot.post("alertmanager", b"{}", bearer(ALERTMANAGER_TOKEN))
    assert status == 200
    deadline = time.monotonic() + 30
    while bot.inbox("state = 'new'") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bot.inbox("state = 'new'") == 0  # each accepted request was normalized or refused


def test_a_body_over_the_limit_is_cut_off_without_a_length(bot):
    """Chunked, with no Content-Length to refuse up front: the read itself is bounded."""
    conn = http.client.HTTPConnection("127.0.0.1", bot.process.port, timeout=10)
    chunks = (b"x" * 16_384 for _ in range(64))  # 1 MiB, sixteen times the limit
    try:
        conn.request("POST", "/hooks/datadog", chunks, {"X-Bot-Token": "dd-token"})
        status = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        status = 413  # the server answered and closed while we were still sending
    finally:
        conn.close()
    assert status == 413


REPLAYABLE = {
    # Schemes that sign a timestamp: a captured request is refused once it is stale.
    "stripe": lambda body, at: stripe(body, at),
    "grafana": lambda body, at: grafana(body, at),
    "generic": lambda body, at: standard_webhooks(body, at, "msg_replayed"),
}


@pytest.mark.parametrize("source", sorted(REPLAYABLE))
def test_a_captured_request_replayed_is_a_duplicate_then_refused_once_stale(bot, source):
    sign = REPLAYABLE[source]
    body = json.dumps({"id": f"evt_replayed_{source}", "type": "ping", "title": "x"}).encode()
    now = _now()
    captured = sign(body, now)

    first = bot.exchange(source, body, captured)
    again = bot.exchange(source, body, captured)  # replayed within the tolerance
    late = bot.exchange(source, body, sign(body, now - 301))  # five minutes and a second

    assert first[0] == 200 and json.loads(first[1])["status"] == "accepted"
    assert again[0] == 200 and json.loads(again[1])["status"] == "duplicate"
    assert late[0] == 401 and b"timestamp" in late[1]
