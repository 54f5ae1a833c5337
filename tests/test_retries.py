"""Retries: full-jitter backoff, each target's own limits, and per-channel pacing that keeps
a burst near Slack's one message a second without 429s and without holding up others."""

from __future__ import annotations

from bot.intake.web import STORE
from bot.pipeline.deliver import backoff
from tests.conftest import base_config, eventually, github_headers, issue_body


def test_backoff_is_full_jitter_below_an_exponential_cap():
    delays = [backoff(attempt, 2.0, 600.0) for attempt in range(1, 12) for _ in range(50)]
    assert all(0 <= d <= 600 for d in delays)
    early = [backoff(1, 2.0, 600.0) for _ in range(200)]
    assert max(early) <= 4.0 and len({round(d, 3) for d in early}) > 100  # spread, not fixed


async def post_issue(bot, number: int, repo: str = "a/b"):
    body = issue_body(number, repo=repo)
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", f"d-{repo}-{number}")
    )
    assert response.status == 200


async def test_each_target_keeps_its_own_retry_limits(tmp_path, fake_slack, make_bot, clock):
    fake_slack.fail_next(times=10, status=500, channel="#flaky")
    fake_slack.fail_next(times=3, status=500, channel="#eng")
    fake_slack.fail_next(times=1, status=500, channel="#old")
    config = base_config(
        tmp_path,
        fake_slack.url,
        delivery={"retry_base": "0.01s", "retry_cap": "0.05s"},
        targets={
            "eng": {"slack": "#eng"},
            "flaky": {"slack": "#flaky", "max_attempts": 2},
            "old": {"slack": "#old", "max_age": "0s"},
        },
        routes=[{"to": ["eng", "flaky", "old"]}],
    )
    bot = await make_bot(config, clock)
    await post_issue(bot, 1)
    store = bot.app[STORE]

    async def settled():
        states = {d.target: d for d in await store.deliveries_for("1")}
        return states if all(d.state != "pending" for d in states.values()) else None

    states = await eventually(settled, clock=clock, step=0.25)
    assert states["eng"].state == "sent" and states["eng"].attempts == 4
    assert states["flaky"].state == "dead"
    assert states["flaky"].last_error == "gave up after 2 attempts (max_attempts): " + (
        "slack server error 500"
    )
    assert states["old"].state == "dead"
    assert "(max_age)" in (states["old"].last_error or "")
    flaky_calls = [c for c in fake_slack.calls if c.body.get("channel") == "#flaky"]
    assert len(flaky_calls) == 2


async def test_a_burst_to_one_channel_is_paced_without_429s_and_others_pass(
    tmp_path, fake_slack, make_bot, clock
):
    """Slack allows about one post a second per channel; the fake answers 429 above that.

    Both the bot and the fake count fake seconds, moved a tenth at a time."""
    fake_slack.limit_channels(per_second=1.0, burst=5)
    fake_slack.clock = clock.monotonic
    config = base_config(
        tmp_path,
        fake_slack.url,
        targets={"busy": {"slack": "#busy"}, "quiet": {"slack": "#quiet"}},
        routes=[
            {"match": {"repo": "acme/busy"}, "to": ["busy"]},
            {"to": ["quiet"]},
        ],
    )
    bot = await make_bot(config, clock)
    for number in range(12):
        await post_issue(bot, number, "acme/busy")
    for number in range(3):
        await post_issue(bot, number, "acme/quiet")

    def posted_to(channel: str) -> list[float]:
        return [p.at for p in fake_slack.posts() if p.body["channel"] == channel]

    async def unpaced():
        return len(posted_to("#quiet")) == 3 and len(posted_to("#busy")) == 5

    # The burst allowance and the quiet channel go out before any fake time passes (the
    # bot's real work of taking the requests in must not look like seconds of pacing).
    await eventually(unpaced)

    async def all_posted():
        return len(fake_slack.posts()) >= 15 and fake_slack.posts()

    posts = await eventually(all_posted, timeout=30, clock=clock, step=0.1)

    assert fake_slack.rate_limited == []  # not one 429
    busy = [p.at for p in posts if p.body["channel"] == "#busy"]
    quiet = [p.at for p in posts if p.body["channel"] == "#quiet"]
    assert len(busy) == 12 and len(quiet) == 3
    # The quiet channel was not queued behind the burst: all of it went out before the
    # busy channel's sixth post, the first one that had to wait for its turn.
    assert max(quiet) < busy[5]
    # Past the burst of five, the busy channel ran at about one a second.
    paced = busy[5:]
    rate = (len(paced) - 1) / (paced[-1] - paced[0])
    assert 0.8 <= rate <= 1.05
