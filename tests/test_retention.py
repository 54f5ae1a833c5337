"""Retention: finished work is purged in the background; what still waits never is."""

from __future__ import annotations

from bot.intake.web import STORE
from tests.conftest import base_config, eventually, github_headers, issue_body

SECONDS = 1 / 86400  # retention_days is in days


async def test_the_store_is_purged_behind_the_traffic_but_undelivered_work_stays(
    tmp_path, fake_slack, make_bot, clock
):
    fake_slack.fail_next(times=1000, status=500, channel="#stuck")  # Slack keeps failing there
    config = base_config(
        tmp_path,
        fake_slack.url,
        store={"url": f"sqlite:///{tmp_path / 'bot.db'}", "retention_days": 2 * SECONDS},
        delivery={"retry_base": "0.2s", "retry_cap": "0.5s", "max_age": "1h"},
        targets={"eng": {"slack": "#eng"}, "stuck": {"slack": "#stuck"}},
        routes=[{"match": {"repo": "acme/stuck"}, "to": ["stuck"]}, {"to": ["eng"]}],
    )
    bot = await make_bot(config, clock)
    store = bot.app[STORE]

    async def post(number: int, repo: str = "a/b") -> None:
        body = issue_body(number, repo=repo)
        headers = github_headers(body, "issues", f"{repo}-{number}")
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200

    await post(0, "acme/stuck")
    for round_ in range(2):
        for number in range(1, 6):
            await post(round_ * 10 + number)

        async def only_the_stuck_one_is_left():
            counts = await store.counts()
            return counts == {"inbox_done": 1, "deliveries_pending": 1}

        # Delivered, then purged a couple of (fake) seconds later: each round leaves nothing.
        left = await eventually(only_the_stuck_one_is_left, timeout=15, clock=clock, step=1)
        assert left, await store.counts()

    assert len(fake_slack.posts()) == 10
    [stuck] = await store.deliveries_for("1")
    assert (stuck.state, stuck.target) == ("pending", "stuck")  # old, but still trying


async def test_retention_days_zero_keeps_everything(tmp_path, fake_slack, make_bot):
    config = base_config(
        tmp_path,
        fake_slack.url,
        store={"url": f"sqlite:///{tmp_path / 'bot.db'}", "retention_days": 0},
    )
    bot = await make_bot(config)
    body = issue_body(1)
    headers = github_headers(body, "issues", "kept")
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    await fake_slack.wait_for(1)
    assert (await bot.get("/healthz")).status == 200  # the idle purge task does not spin
    assert await bot.app[STORE].get_inbox(1) is not None
