"""Several real bot processes on one PostgreSQL database, as a scaled-out deploy runs them.

Each test starts ``python -m bot serve`` (and ``work``) subprocesses on a fresh schema,
posts signed webhooks to them over HTTP and counts what reaches a fake Slack.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bot.store import open_store
from tests.conftest import eventually, github_headers, issue_body
from tests.fakes.slack import FakeSlack
from tests.processes import ROOT, BotProcess, write_config
from tests.test_conversations import pr_merged, pr_opened

pytestmark = pytest.mark.slow

CHANNELS = 200


def channels(count: int) -> str:
    """``count`` channels, each with the route for one repository (acme/rNNN -> CNNN)."""
    return "\n".join(
        f'[targets.c{n:03d}]\nslack = "C{n:03d}"\n'
        f'[[routes]]\nmatch = {{ repo = "acme/r{n:03d}" }}\nto = ["c{n:03d}"]'
        for n in range(count)
    )


def title(number: int) -> str:
    return f"issue {number}"


async def post_events(
    bots: list[BotProcess], numbers: range, channel_count: int = CHANNELS
) -> list[str]:
    """Send each event to the bots in turn, 32 at a time; returns the ids they answered."""
    slots = asyncio.Semaphore(32)

    async def send(session: aiohttp.ClientSession, number: int) -> str:
        bot = bots[number % len(bots)]
        body = issue_body(number, repo=f"acme/r{number % channel_count:03d}", title=title(number))
        async with (
            slots,
            session.post(
                f"{bot.url}/hooks/github",
                data=body,
                headers=github_headers(body, "issues", f"delivery-{number}"),
            ) as response,
        ):
            answer = await response.json()
            assert (response.status, answer["status"]) == (200, "accepted"), answer
            return str(answer["id"])

    async with aiohttp.ClientSession() as session:
        return await asyncio.gather(*(send(session, n) for n in numbers))


def posted_titles(fake: FakeSlack) -> Counter[str]:
    """How many times each issue reached Slack (its title is the card's)."""
    return Counter(call.title.rsplit(": ", 1)[-1] for call in fake.posts())


def delivered_by(bot: BotProcess) -> int:
    """Deliveries this process made, from its JSON log."""
    return bot.logged_messages().count("delivered")


async def start(bots: list[BotProcess]) -> None:
    await asyncio.gather(*(bot.start() for bot in bots))


def stop(bots: list[BotProcess]) -> None:
    for bot in bots:
        if bot.process is not None and bot.process.poll() is None:
            bot.terminate()


async def settle(url: str, expected: int, timeout: float = 120, *, stragglers: float = 2.0) -> None:
    """Wait until the store records ``expected`` deliveries as sent, then ``stragglers``
    seconds for second copies.

    A delivery claimed twice (by two instances running at once) waits in a lane behind
    the first copy; lanes post once a second, so a second copy of anything reaches Slack
    within the extra two seconds. With one instance at a time there is no second claimer.
    """
    deadline = asyncio.get_running_loop().time() + timeout
    store = await open_store(url)  # one connection for every look, not one a look
    try:
        while (sent := (await store.counts()).get("deliveries_sent", 0)) < expected:
            assert asyncio.get_running_loop().time() < deadline, f"only {sent} of {expected} sent"
            await asyncio.sleep(0.2)
    finally:
        await store.close()
    await asyncio.sleep(stragglers)


def processes(tmp_path: Path, config: Path, *commands: str, **env: str) -> list[BotProcess]:
    return [
        BotProcess(config, tmp_path / f"bot{n}.log", env=env, command=command)
        for n, command in enumerate(commands)
    ]


async def test_two_instances_deliver_500_events_exactly_once(tmp_path, postgres_url, slack):
    fake, port = slack
    config = write_config(tmp_path, port, routing=channels(CHANNELS), store=postgres_url)
    bots = processes(tmp_path, config, "serve", "serve")
    try:
        await start(bots)
        ids = await post_events(bots, range(500))
        await settle(postgres_url, 500)
    finally:
        stop(bots)

    assert len(set(ids)) == 500
    assert posted_titles(fake) == Counter({title(n): 1 for n in range(500)})
    shares = [delivered_by(bot) for bot in bots]
    assert sum(shares) == 500 and min(shares) > 0, shares


async def test_a_killed_instances_work_is_finished_by_a_worker(tmp_path, postgres_url, slack):
    fake, port = slack
    count, channel_count = 150, 30  # five posts a channel: paced, so the kill lands mid-run
    config = write_config(tmp_path, port, routing=channels(channel_count), store=postgres_url)
    web, worker = processes(tmp_path, config, "serve", "work", BOT_STORE__LEASE="1s")
    try:
        await start([web, worker])
        await post_events([web], range(count), channel_count)
        await fake.wait_for(count // 4, timeout=60)

        # The web process gives way to its own intake while the burst comes in (the worker
        # has no intake): the kill must find it delivering too.
        async def web_delivered() -> int:
            return delivered_by(web)

        await eventually(web_delivered, timeout=30)
        web.kill()
        at_kill = len(fake.posts())
        await settle(postgres_url, count, timeout=90)
    finally:
        stop([web, worker])

    assert at_kill < count, "the kill came after the end: nothing was in flight"
    found = posted_titles(fake)
    assert set(found) == {title(n) for n in range(count)}
    # A post Slack took whose answer died with the web process is sent again: at most its
    # sends in flight, never its queued work (that waits for the lease to run out instead).
    assert sum(found.values()) - count <= 32
    # The worker never saw an HTTP request: NOTIFY told it of the work, the lease freed it.
    assert delivered_by(web) > 0 and delivered_by(worker) > 0


async def test_instances_share_each_channels_pace(tmp_path, postgres_url, slack):
    fake, port = slack
    fake.limit_channels(per_second=1.0, burst=6)  # Slack's pace, one post of slack for jitter
    config = write_config(tmp_path, port, routing=channels(1), store=postgres_url)
    # Posts wait in the lane far longer than a lease: renewing it keeps them from going twice.
    bots = processes(tmp_path, config, "serve", "serve", BOT_STORE__LEASE="1s")
    try:
        await start(bots)
        await post_events(bots, range(8), channel_count=1)
        await settle(postgres_url, 8, timeout=30)
    finally:
        stop(bots)

    # Each instance alone would burst five posts into the channel: two would be refused.
    assert fake.rate_limited == []
    assert posted_titles(fake) == Counter({title(n): 1 for n in range(8)})


async def test_a_mute_from_the_command_line_is_obeyed_by_every_instance(
    tmp_path, postgres_url, slack
):
    fake, port = slack
    config = write_config(tmp_path, port, routing=channels(1), store=postgres_url)
    bots = processes(tmp_path, config, "serve", "serve")
    try:
        await start(bots)
        mute = ["mute", "repo=acme/*", "in", "c000", "because", "maintenance"]
        muted = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), *mute],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert muted.returncode == 0, muted.stderr
        await post_events(bots, range(20), channel_count=1)
        store = await open_store(postgres_url)
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while (await store.counts()).get("deliveries_muted", 0) < 20:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.1)
        finally:
            await store.close()
    finally:
        stop(bots)

    [announcement] = fake.posts()  # the mute is announced in the channel; nothing else
    assert "maintenance" in FakeSlack.text_of(announcement), announcement.body
    assert posted_titles(fake).keys().isdisjoint(title(n) for n in range(20))


async def test_another_instance_edits_the_message_the_first_one_posted(
    tmp_path, postgres_url, slack
):
    fake, port = slack
    config = write_config(tmp_path, port, store=postgres_url)
    first, second = processes(tmp_path, config, "serve", "serve")
    try:
        await start([first])
        # One instance at a time, each holding its claims for a 30 s lease: nothing is
        # claimed twice, so no second copy to wait for; each log is read once it exited.
        await post_to(first, pr_opened())
        await settle(postgres_url, 1, stragglers=0)
        first.terminate()  # the second instance knows the message only from the database
        await start([second])
        await post_to(second, pr_merged())
        await fake.wait_for(1, method="chat.update", timeout=30)
        await settle(postgres_url, 2, stragglers=0)
    finally:
        stop([first, second])

    [(message, versions)] = fake.messages.items()
    assert len(versions) == 2 and "Merged by Codertocat" in json.dumps(versions[-1])
    assert len(fake.replies[message]) == 1  # the merge, replied in the message's thread
    assert delivered_by(first) == 1 and delivered_by(second) == 1


async def post_to(bot: BotProcess, request: tuple[str, bytes, dict[str, str]]) -> None:
    path, body, headers = request
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{bot.url}{path}", data=body, headers=headers) as response,
    ):
        assert (await response.json())["status"] == "accepted"
