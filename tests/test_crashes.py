"""kill -9 in each crash window: nothing accepted is lost, and the one duplicate the design
allows (a post Slack made whose answer the bot never heard) happens only there.

The windows are hit with real faults, not hooks in the bot: a log pipe nobody drains
freezes the process right after it stored and answered a request; a database lock held by the test
keeps a request from being stored; a slow user template keeps normalize busy; a fake
Slack that holds its answer leaves a post made but unconfirmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import github_headers, issue_body
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess, write_config

pytestmark = pytest.mark.slow


def rows(tmp_path: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the bot's database the way an operator would, from outside the process."""
    with sqlite3.connect(tmp_path / "bot.db") as db:
        return db.execute(sql, args).fetchall()


@contextlib.contextmanager
def store_locked(tmp_path: Path) -> Iterator[None]:
    """Another process holds the database's write lock: the bot can store nothing."""
    lock = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


async def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)
    return result


async def send(bot: BotProcess, body: bytes, delivery: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{bot.url}/hooks/github",
            data=body,
            headers=github_headers(body, "issues", delivery),
        ) as response,
    ):
        return response.status, await response.json()


async def settled(tmp_path: Path, fake: FakeSlack, posts: int) -> None:
    """The one delivery is sent, and a moment later Slack holds exactly ``posts`` posts."""
    sent = "SELECT id FROM deliveries WHERE state = 'sent'"
    await until(lambda: len(rows(tmp_path, sent)) == 1)
    await asyncio.sleep(0.5)  # anything sent twice would arrive by now
    assert len(fake.posts()) == posts


async def test_killed_after_storing_before_processing_a_retry_is_a_duplicate(tmp_path, slack):
    fake, port = slack
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start(stallable=True)
    assert bot.log_pipe is not None
    # Start-up's chat check logs once Slack answered: a line written after the stall
    # would freeze the bot before it stored anything.
    await until(lambda: "posting to Slack as" in (tmp_path / "bot.log").read_text())
    # The bot freezes at its next log write: the "accepted" line, written at the end of
    # the event loop's pass that answered, before the normalizer's turn.
    bot.log_pipe.stall()
    body = issue_body(1)
    request = asyncio.create_task(send(bot, body, "d-1"))

    await until(lambda: rows(tmp_path, "SELECT id FROM inbox WHERE delivery_id = 'd-1'"))
    await asyncio.sleep(0.3)
    assert rows(tmp_path, "SELECT state, lease_until FROM inbox") == [("new", None)]
    bot.kill()
    with contextlib.suppress(aiohttp.ClientError):
        await request  # the kill came after the commit: before the answer left, or after

    await bot.start()
    status, answer = await send(bot, body, "d-1")  # a sender that timed out sends again
    assert (status, answer["status"]) == (200, "duplicate")
    await settled(tmp_path, fake, posts=1)
    bot.terminate()


async def test_killed_before_storing_the_retry_is_accepted(tmp_path, slack):
    fake, port = slack
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    body = issue_body(2)
    with store_locked(tmp_path):  # nothing can be stored, so nothing can be acknowledged
        request = asyncio.create_task(send(bot, body, "d-2"))
        await asyncio.sleep(0.5)
        assert not request.done()
        bot.kill()
    with pytest.raises(aiohttp.ClientError):
        await request
    assert rows(tmp_path, "SELECT id FROM inbox") == []

    await bot.start()
    status, answer = await send(bot, body, "d-2")
    assert (status, answer["status"]) == (200, "accepted")
    await settled(tmp_path, fake, posts=1)
    bot.terminate()


SLOW_TEMPLATE = """{% extends "default.j2" %}
{% block text %}{% for i in range(100000) %}{% for j in range(100) %}{% endfor %}{% endfor %}
{{ event.text }}{% endblock %}
"""


async def test_killed_during_normalize_the_request_is_normalized_again_once(tmp_path, slack):
    fake, port = slack
    templates = tmp_path / "templates" / "github"
    templates.mkdir(parents=True)
    (templates / "issues.j2").write_text(SLOW_TEMPLATE)
    config = write_config(tmp_path, port, f'[templates]\ndir = "{tmp_path / "templates"}"')
    bot = BotProcess(config, tmp_path / "bot.log")
    await bot.start()
    status, _ = await send(bot, issue_body(3), "d-3")
    assert status == 200

    claimed = "SELECT id FROM inbox WHERE state = 'new' AND lease_until IS NOT NULL"
    await until(lambda: rows(tmp_path, claimed))
    bot.kill()
    assert rows(tmp_path, claimed)  # it died holding the request, mid-normalize
    assert rows(tmp_path, "SELECT id FROM deliveries") == []

    await bot.start()
    await settled(tmp_path, fake, posts=1)
    assert rows(tmp_path, "SELECT state, attempts FROM inbox") == [("done", 2)]
    bot.terminate()


async def test_killed_after_slack_posted_before_marked_sent_posts_twice(tmp_path, slack):
    """The documented duplicate: Slack has no idempotency key for chat.postMessage."""
    fake, port = slack
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log")
    await bot.start()
    fake.hold()  # Slack posts the message but the answer (the ts) never reaches the bot
    status, _ = await send(bot, issue_body(4), "d-4")
    assert status == 200
    await fake.wait_for(1)
    bot.kill()
    fake.release()
    assert rows(tmp_path, "SELECT state FROM deliveries") == [("pending",)]

    await bot.start()
    await settled(tmp_path, fake, posts=2)
    first, second = fake.posts()
    assert first.title == second.title == "Issue #4: issue 4"
    bot.terminate()


async def test_a_store_that_cannot_commit_answers_503_and_stores_nothing(tmp_path, slack):
    """A locked store (another process holding it past the busy timeout) is not a 500."""
    fake, port = slack
    wait = {"BOT_STORE__BUSY_TIMEOUT": "0.2s"}  # not the default 5 s: the lock outlasts either
    bot = BotProcess(write_config(tmp_path, port), tmp_path / "bot.log", env=wait)
    await bot.start()
    with store_locked(tmp_path):
        status, answer = await send(bot, issue_body(5), "d-5")
    assert status == 503
    assert "retry later" in answer["error"]
    status, answer = await send(bot, issue_body(5), "d-5")
    assert (status, answer["status"]) == (200, "accepted")  # the sender's retry
    await settled(tmp_path, fake, posts=1)
    bot.terminate()


CHANNELS = 6
SIX_CHANNELS = "\n".join(
    f'[targets.c{n}]\nslack = "#c{n}"\n[[routes]]\nmatch = {{ repo = "acme/r{n}" }}\nto = ["c{n}"]'
    for n in range(CHANNELS)
)


async def test_killed_three_times_under_load_nothing_is_lost(tmp_path, slack):
    """Senders that retry until they get a 2xx (as Stripe does) against a bot killed with
    -9 three times at random moments mid-traffic: every event arrives; the only repeats
    are posts Slack made whose answer died with the process."""
    fake, port = slack
    fake.delay = 0.05  # a post takes a moment, so some are in flight at each kill
    bot = BotProcess(write_config(tmp_path, port, routing=SIX_CHANNELS), tmp_path / "bot.log")
    await bot.start()
    events, kills = 60, 3
    refused = 0

    async def sender(numbers: range) -> None:
        nonlocal refused
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            for n in numbers:
                body = issue_body(n, repo=f"acme/r{n % CHANNELS}")
                headers = github_headers(body, "issues", f"d-{n}")
                while True:
                    try:
                        async with session.post(
                            f"{bot.url}/hooks/github", data=body, headers=headers
                        ) as response:
                            if response.status == 200:
                                break
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                    refused += 1
                    await asyncio.sleep(0.2)
                await asyncio.sleep(0.25)

    senders = [asyncio.create_task(sender(range(k, events, 4))) for k in range(4)]
    chance = random.Random(6)
    for _ in range(kills):
        await asyncio.sleep(chance.uniform(0.2, 0.6))
        bot.kill()
        await bot.start()
    await asyncio.gather(*senders)

    expected = {f"Issue #{n}: issue {n}" for n in range(events)}
    await until(lambda: expected <= {p.title for p in fake.posts()}, timeout=60)
    unsent = "SELECT count(*) FROM deliveries WHERE state != 'sent'"
    await until(lambda: rows(tmp_path, unsent) == [(0,)])
    await asyncio.sleep(0.5)
    posts = [p.title for p in fake.posts()]
    duplicated = len(posts) - len(set(posts))
    assert set(posts) == expected, "lost or unexpected messages"
    assert refused > 0  # the kills did land mid-traffic
    assert duplicated <= kills * CHANNELS  # at most the posts in flight at each kill
    assert rows(tmp_path, "SELECT count(*) FROM inbox") == [(events,)]  # retries deduplicated
    bot.terminate()
