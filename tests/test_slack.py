"""Slack delivery: Block Kit within limits, escaping, and what each failure leads to."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from bot.chat.slack.adapter import MAX_BLOCK_CHARS, blocks_for, classify
from bot.intake.web import STORE
from bot.render.renderer import Field, Message
from tests.conftest import base_config, eventually, post_issue


@pytest.mark.parametrize(
    ("status", "body", "headers", "retryable", "retry_after"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}, True, 7.0),
        (200, {"ok": False, "error": "ratelimited"}, {}, True, 1.0),
        (500, {"ok": False, "error": "internal_error"}, {}, True, None),
        (503, "<html>down</html>", {}, True, None),
        (200, {"ok": False, "error": "channel_not_found"}, {}, False, None),
        (200, {"ok": False, "error": "not_in_channel"}, {}, False, None),
        (200, {"ok": False, "error": "invalid_auth"}, {}, False, None),
        (200, {"ok": False, "error": "msg_blocks_too_long"}, {}, False, None),
        (200, {"ok": False, "error": "fatal_error"}, {}, True, None),
    ],
)
def test_failure_classification(status, body, headers, retryable, retry_after):
    error = classify(status, body, headers)
    assert error.retryable is retryable
    assert error.retry_after == retry_after


def test_huge_messages_are_cut_below_slacks_real_limit():
    message = Message(
        title="T" * 5000,
        url="https://example.com",
        text="x" * 50_000,
        fields=[Field(name=f"f{i}", value="v" * 5000) for i in range(30)],
        footer="f" * 5000,
    )
    blocks = blocks_for(message)
    size = len(json.dumps(blocks))
    assert size < MAX_BLOCK_CHARS + 2000
    assert len(blocks[1]["fields"]) == 10
    assert all(len(f["text"]) <= 2000 for f in blocks[1]["fields"])
    assert len(blocks[0]["text"]["text"]) <= 3000
    assert blocks[0]["text"]["text"].endswith("…")


def test_the_context_line_ends_with_when_the_event_happened():
    message = Message(title="t", footer="GitHub · acme/web", timestamp=1_700_000_000)
    [context] = [b for b in blocks_for(message) if b["type"] == "context"]
    assert context["elements"][0]["text"] == (
        "GitHub · acme/web · <!date^1700000000^{date_short_pretty} {time}|2023-11-14 22:13 UTC>"
    )


async def test_hostile_titles_ping_nobody(tmp_path, fake_slack, make_bot):
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    await post_issue(bot, "@everyone <!channel> <@U123> & `code`", "hostile")
    [post] = await fake_slack.wait_for(1)
    seen = json.dumps(post.body)
    assert "<!channel>" not in seen and "<!here>" not in seen and "<@U123>" not in seen
    assert "&lt;!channel&gt;" in seen and "&lt;!here&gt;" in seen and "&amp;" in seen


async def test_long_hostile_titles_stay_literal_and_within_limits(tmp_path, fake_slack, make_bot):
    hostile = "@everyone <!here> <@U123> <#C1|x> `rm -rf` *bold* שלום مرحبا 🔥👩‍👩‍👧 "
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    await post_issue(bot, hostile + "x" * 10_000, "hostile-long")
    [post] = await fake_slack.wait_for(1)
    [attachment] = post.body["attachments"]
    heading = attachment["blocks"][0]["text"]["text"]
    title = heading.split("|", 1)[1].split(">*", 1)[0]
    assert title.endswith("…") and len(title) <= 250
    assert "&lt;!here&gt; &lt;@U123&gt; &lt;#C1|x&gt;" in title
    assert "@everyone" in title  # plain text on Slack: only <!everyone> would ping
    assert "שלום مرحبا 🔥👩‍👩‍👧" in title
    assert len(post.body["text"]) <= 3000
    # No special command but the event's time (<!date^...>, which pings nobody).
    assert re.findall(r"<!(?!date\^)", json.dumps(post.body, ensure_ascii=False)) == []


async def test_429_waits_for_retry_after_then_delivers(tmp_path, fake_slack, make_bot, clock):
    fake_slack.fail_next(status=429, error="ratelimited", headers={"Retry-After": "1"})
    fake_slack.clock = clock.monotonic
    bot = await make_bot(base_config(tmp_path, fake_slack.url), clock)
    await post_issue(bot, "rate limited", "rl")

    async def refusals():
        return [c for c in fake_slack.calls if c.method.endswith(":failed")]

    [refused] = await eventually(refusals)
    await clock.advance(0.9)
    await asyncio.sleep(0.3)  # real time for a send that should not happen
    assert fake_slack.posts() == []  # not before the second Slack asked for

    async def posted():
        return fake_slack.posts()

    [post] = await eventually(posted, clock=clock, step=0.05)
    assert post.at - refused.at >= 0.95

    async def sent():
        [delivery] = await bot.app[STORE].deliveries_for("1")
        return delivery.state == "sent"

    assert await eventually(sent)


async def test_server_errors_are_retried_with_backoff(tmp_path, fake_slack, make_bot, clock):
    fake_slack.fail_next(times=2, status=500, error="internal_error")
    config = base_config(tmp_path, fake_slack.url, delivery={"retry_base": "0.05s"})
    bot = await make_bot(config, clock)
    await post_issue(bot, "flaky", "flaky")

    async def posted():
        return fake_slack.posts()

    await eventually(posted, clock=clock, step=0.25)
    assert len(fake_slack.calls) == 3


async def test_permanent_error_is_dead_with_its_reason_and_not_retried(
    tmp_path, fake_slack, make_bot
):
    fake_slack.fail_next(error="channel_not_found")
    bot = await make_bot(base_config(tmp_path, fake_slack.url))
    await post_issue(bot, "lost channel", "lost")
    dead = await eventually(bot.app[STORE].dead_letters)
    assert dead[0]["error"] == "slack error: channel_not_found"
    assert dead[0]["id"] == "1.0/eng"
    await asyncio.sleep(0.3)
    assert len(fake_slack.calls) == 1


async def test_without_a_token_deliveries_are_dead_as_not_configured(tmp_path, make_bot):
    bot = await make_bot(base_config(tmp_path))
    await post_issue(bot, "nowhere", "nowhere")
    dead = await eventually(bot.app[STORE].dead_letters)
    assert dead[0]["error"] == "slack not configured"
