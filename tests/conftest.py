"""Shared fixtures: a real bot app, a fake Slack on loopback, signed requests."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import build_app
from bot.chat.registry import registered
from bot.cli import simulate
from bot.config.settings import Settings
from tests.fakes.apis import FakeApi, FakeGrafana, fake_github, fake_pagerduty
from tests.fakes.clock import FakeClock
from tests.fakes.discord import FakeDiscord
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.recorder import Recorder
from tests.fakes.slack import FakeSlack
from tests.fakes.teams import FakeTeams
from tests.fakes.telegram import FakeTelegram
from tests.processes import free_port, kill_leftovers

if TYPE_CHECKING:
    from tests.chats import Chat

GITHUB_SECRET = "It's a Secret to Everybody"
SLACK_TOKEN = "xoxb-test-token"
DISCORD_WEBHOOK_ID = "223344556677889900"
DISCORD_WEBHOOK_TOKEN = "hook-token_SECRET.value"
DISCORD_WEBHOOK = f"https://discord.com/api/webhooks/{DISCORD_WEBHOOK_ID}/{DISCORD_WEBHOOK_TOKEN}"


POSTGRES_URL = os.environ.get("BOT_TEST_POSTGRES_URL", "")


def examples(provider: str) -> Path:
    """The folder of a provider's example bodies, as published (bot/providers/SAMPLES.md)."""
    return Path(str(simulate.bodies(provider)))


def fixture_path(name: str) -> Path:
    """``"github/push.json"``: that example body of that provider."""
    provider, file = name.split("/")
    return examples(provider) / file


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from what the samples render now (review the diff)",
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the project's modules once, before the workers and the hundreds of bot,
    fake-server and benchmark processes the suite starts. With PYTHONDONTWRITEBYTECODE
    set, as on CI machines, no interpreter writes what it compiles, so each of those
    processes compiled every module it imports again: about 0.05-0.09 s of CPU per
    start. Python still checks each cached file against its source."""
    if "PYTEST_XDIST_WORKER" in os.environ:  # the controller compiled already
        return
    root = Path(__file__).resolve().parent.parent
    for package in ("bot", "bench", "tests"):
        compileall.compile_dir(root / package, quiet=1)


def fixture_bytes(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def github_headers(body: bytes, event: str, delivery: str, secret: str = GITHUB_SECRET) -> dict:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
    }


@contextlib.asynccontextmanager
async def on_loopback(app: web.Application) -> AsyncIterator[TestServer]:
    """Serve a fake platform API on 127.0.0.1 for the length of a test."""
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test moves it (``advance``, or ``eventually``)."""
    return FakeClock()


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("/api/"))
        yield fake


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("/api/v10"))
        yield fake


@contextlib.asynccontextmanager
async def serving(fake: FakeApi) -> AsyncIterator[FakeApi]:
    """A fake provider API on loopback; answers still held back are let go at the end."""
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        try:
            yield fake
        finally:
            fake.release()


@pytest.fixture
async def pagerduty_api() -> AsyncIterator[FakeApi]:
    async with serving(fake_pagerduty()) as fake:
        yield fake


@pytest.fixture
async def github_api() -> AsyncIterator[FakeApi]:
    async with serving(fake_github()) as fake:
        yield fake


GRAFANA_TOKEN = "glsa_grafana-service-account-token"


@pytest.fixture
async def grafana_api() -> AsyncIterator[FakeGrafana]:
    fake = FakeGrafana(GRAFANA_TOKEN)
    async with serving(fake):
        yield fake


@pytest.fixture(params=["slack", "discord", "telegram", "mattermost"])
def clicks(request: pytest.FixtureRequest) -> Any:
    """The one conversation's message and clicks on it, in Slack, Discord, Telegram and
    Mattermost (its bot account's posts)."""
    # Imported here: tests/actions.py imports test modules.
    from tests.actions import DiscordClicks, MattermostClicks, SlackClicks, TelegramClicks

    if request.param == "slack":
        return SlackClicks(request.getfixturevalue("fake_slack"))
    if request.param == "telegram":
        return TelegramClicks(request.getfixturevalue("fake_telegram"))
    if request.param == "mattermost":
        return MattermostClicks(request.getfixturevalue("fake_mattermost"))
    return DiscordClicks(request.getfixturevalue("fake_discord"))


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake


@pytest.fixture
async def fake_mattermost() -> AsyncIterator[FakeMattermost]:
    fake = FakeMattermost()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake


@pytest.fixture
async def fake_teams() -> AsyncIterator[FakeTeams]:
    fake = FakeTeams()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url("")).rstrip("/")
        yield fake


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A third chat platform, registered for the test: see tests/fakes/recorder.py."""
    made = Recorder()
    with registered(made.platform()):
        yield made


CHATS = ["slack", "discord", "mattermost", "telegram", "recorder"]
"""Platforms that edit and thread: every conversation and storm scenario runs on each
(the storms that need no edit of a deleted message on ``poster``'s Teams too)."""


def chat_view(request: pytest.FixtureRequest, name: str, clock: FakeClock) -> Chat:
    # Imported here: tests/chats.py uses this module's helpers.
    from tests.chats import (
        DiscordChat,
        MattermostChat,
        RecorderChat,
        SlackChat,
        TeamsChat,
        TelegramChat,
    )

    views: dict[str, Callable[[], Chat]] = {
        "slack": lambda: SlackChat(request.getfixturevalue("fake_slack")),
        "discord": lambda: DiscordChat(request.getfixturevalue("fake_discord")),
        "mattermost": lambda: MattermostChat(request.getfixturevalue("fake_mattermost")),
        "telegram": lambda: TelegramChat(request.getfixturevalue("fake_telegram")),
        "teams": lambda: TeamsChat(request.getfixturevalue("fake_teams")),
        "recorder": lambda: RecorderChat(request.getfixturevalue("recorder")),
    }
    made = views[name]()
    made.use_clock(clock)
    return made


@pytest.fixture(params=CHATS)
def chat(request: pytest.FixtureRequest, clock: FakeClock) -> Chat:
    """Each platform in turn (tests/chats.py): a scenario written once runs on every one.
    Its fake counts in the test's fake time, as a bot given ``clock`` does."""
    return chat_view(request, request.param, clock)


@pytest.fixture(params=[*CHATS, "teams"])
def poster(request: pytest.FixtureRequest, clock: FakeClock) -> Chat:
    """Every platform, those that can only post (a Teams webhook) too."""
    return chat_view(request, request.param, clock)


def discord_section(fake: FakeDiscord, bot_token: str = "") -> dict[str, str]:
    """``[discord]`` pointing at the fake (its webhooks' hosts give way to this api_url)."""
    return {"api_url": fake.url, "bot_token": bot_token}


def with_search_path(url: str, schema: str) -> str:
    """``url`` with its tables in ``schema`` (asyncpg sends unknown query keys as settings)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": schema})) if q)
    return urlunsplit(parts._replace(query=query))


@contextlib.asynccontextmanager
async def fake_slack_on_port() -> AsyncIterator[tuple[FakeSlack, int]]:
    """A fake Slack on a free port of its own, for bot processes configured to reach it
    (it may start after them: Slack being down is a scenario)."""
    fake = FakeSlack()
    port = free_port()
    server = TestServer(fake.app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield fake, port
    finally:
        fake.release()
        await server.close()


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, int]]:
    async with fake_slack_on_port() as fake_and_port:
        yield fake_and_port


@contextlib.asynccontextmanager
async def fresh_schema(server_url: str) -> AsyncIterator[str]:
    """A new, empty schema on ``server_url``, dropped afterwards; yields its store URL."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield with_search_path(server_url, schema)
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


_WORKER_DATABASES: dict[str, str] = {}


async def worker_database(server_url: str) -> str:
    """``server_url``, or under pytest-xdist a database of this worker's own beside it
    (made on first use). NOTIFY reaches every listener of a database whatever its
    schema, so workers sharing one would wake each other's stores."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return server_url
    if server_url not in _WORKER_DATABASES:
        parts = urlsplit(server_url)
        name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"
        conn = await asyncpg.connect(server_url)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                with contextlib.suppress(
                    asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError
                ):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        _WORKER_DATABASES[server_url] = urlunsplit(parts._replace(path=f"/{name}"))
    return _WORKER_DATABASES[server_url]


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh schema on the test server for each test: tests never meet."""
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need a server: set BOT_TEST_POSTGRES_URL "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    async with fresh_schema(await worker_database(POSTGRES_URL)) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each backend in turn: SQLite always, PostgreSQL when the test server is configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def base_config(tmp_path: Path, slack_url: str | None = None, **sections: Any) -> dict[str, Any]:
    """A config as a dict (what a TOML file holds): one GitHub source, one Slack target."""
    config: dict[str, Any] = {
        "store": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "slack": {"bot_token": SLACK_TOKEN if slack_url else "", "api_url": slack_url or ""},
        "sources": {"github": {"provider": "github", "secret": GITHUB_SECRET}},
        "targets": {"eng": {"slack": "#eng"}},
        "routes": [{"to": ["eng"]}],
    }
    for key, value in sections.items():
        config[key] = value
    return config


@pytest.fixture
def make_bot(
    aiohttp_client: Callable[..., Any],
) -> Callable[..., Any]:
    """Start a bot from a config dict; pass ``clock`` (a ``FakeClock``) to time it by hand."""

    async def make(
        config: dict[str, Any], clock: FakeClock | None = None
    ) -> TestClient[web.Request, web.Application]:
        settings = Settings(**config)
        app = build_app(settings, clock)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(app)
        return client

    return make


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def issue_body(number: int, repo: str = "a/b", title: str | None = None) -> bytes:
    """A GitHub ``issues.opened`` payload, numbered so each message can be told apart."""
    return dumps(
        {
            "action": "opened",
            "issue": {
                "number": number,
                "title": title or f"issue {number}",
                "labels": [],
                "html_url": f"https://github.com/{repo}/issues/{number}",
            },
            "repository": {"full_name": repo},
            "sender": {"login": "mona"},
        }
    )


REAL_POLL = 0.02
"""Real seconds between checks when only real work (no timer) is awaited."""

FAKE_STEP_PAUSE = 0.02
"""Real seconds after each step of fake time: enough for a loopback request or a store
write a woken timer started to land before the clock moves on, even on a loaded machine
(at 2 ms, a provider's timeout on the fake clock fired before its answer came, and a sign
of life was stored after its source's alarm, under four workers), and no more."""


LAST_STEP_PAUSE = 0.1
"""Real seconds after the last step of ``let_time_pass``, for a post a timer started in it
to reach the fake platform before the test asserts it never came (a loopback request
takes a few milliseconds)."""


async def eventually(
    check: Callable[[], Any],
    timeout: float = 10.0,
    *,
    clock: FakeClock | None = None,
    step: float = 0.1,
) -> Any:
    """Await ``check()`` until it returns something truthy (work happens in the background),
    and fail the test if it has not after ``timeout`` real seconds.

    With a ``clock``, fake time moves ``step`` seconds between checks: the bot's timers
    (backoff, Retry-After, group_wait, polls) come due while the test waits for them.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            name = getattr(check, "__qualname__", repr(check))
            moved = f" ({clock.monotonic():g}s of fake time)" if clock else ""
            raise AssertionError(f"{name}() still returned {result!r} after {timeout:g}s{moved}")
        if clock is not None:
            await clock.advance(step)
        await asyncio.sleep(FAKE_STEP_PAUSE if clock is not None else REAL_POLL)


async def let_time_pass(clock: FakeClock, seconds: float, step: float = 0.1) -> None:
    """Move fake time ``seconds`` in steps, with real time for the bot to act after each:
    for asserting that something did not happen in that time. The last step is what is
    left, so time moves ``seconds`` exactly, never a rounded step past a deadline."""
    steps, left = divmod(seconds, step)
    for moved in [step] * int(steps) + ([left] if left > 1e-9 else []):
        await clock.advance(moved)
        await asyncio.sleep(FAKE_STEP_PAUSE)
    await asyncio.sleep(LAST_STEP_PAUSE)


async def posts_on(
    fake: FakeSlack,
    count: int,
    clock: FakeClock,
    method: str = "chat.postMessage",
    step: float = 0.05,
    timeout: float = 10.0,
) -> list[Any]:
    """``fake.wait_for(count)`` for a bot on ``clock``: fake time moves until they arrived."""

    async def arrived() -> list[Any]:
        calls = fake.posts(method)
        return calls if len(calls) >= count else []

    calls: list[Any] = await eventually(arrived, timeout, clock=clock, step=step)
    return calls


def issue_with_title(title: str) -> bytes:
    return dumps(
        {
            "action": "opened",
            "issue": {
                "number": 7,
                "title": title,
                "html_url": "https://github.com/a/b/issues/7",
                "body": "body <!here>",
                "labels": [],
            },
            "repository": {"full_name": "a/b"},
            "sender": {"login": "mallory"},
        }
    )


async def post_issue(bot, title: str, delivery: str):
    body = issue_with_title(title)
    return await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", delivery)
    )


@pytest.fixture(autouse=True, scope="session")
def _no_leftover_bot_processes() -> Iterator[None]:
    """A test that fails half-way must not leave `python -m bot` processes running after
    the session (module-scoped fixtures share one process, so this waits for the end)."""
    yield
    kill_leftovers()
