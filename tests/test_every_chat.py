"""What holds on every chat platform alike (the ``chat`` fixture runs each scenario on
each one): payload text pings nobody and shows as typed; a rate-limit answer holds the
post as long as the platform says; a mute typed in a channel keeps events out of that
channel only, and its end posts one digest there."""

from __future__ import annotations

import pytest

from bot.commands import Caller
from bot.intake.web import COMMANDS
from tests.chats import Chat, posted
from tests.conftest import base_config, eventually, let_time_pass, post_issue

HOSTILE = (
    "@everyone @here <!channel> <!here> <@U0123> <@&123> <#1> @alice_smith & <b>x</b> "
    "<at>Bob</at> **bold** [link](https://evil.example)"
)


def config(tmp_path, chat: Chat, rooms: tuple[str, ...]) -> dict:
    settings = base_config(tmp_path, **chat.config())
    settings["targets"] = {room: chat.target(room) for room in rooms}
    settings["routes"] = [{"to": list(rooms)}]
    return settings


async def test_payload_text_pings_nobody_and_shows_as_typed(tmp_path, poster, make_bot):
    if poster.name == "recorder":
        pytest.skip("the recorder is no chat: nobody is there to notify")
    bot = await make_bot(config(tmp_path, poster, ("eng",)))
    await post_issue(bot, HOSTILE, "hostile")
    await poster.wait_for(1)
    assert poster.mentions("eng") == []
    [shown] = poster.shown("eng")
    assert HOSTILE in shown.replace("\u2060", "").replace("\u200b", "")


async def test_a_rate_limit_answer_holds_the_post_as_long_as_the_platform_says(
    tmp_path, poster, make_bot, clock
):
    poster.rate_limit_next(5)
    bot = await make_bot(config(tmp_path, poster, ("eng",)), clock)
    await post_issue(bot, "rate limited", "d1")

    async def tried() -> list[str]:
        return poster.calls()

    await eventually(tried)  # the first try met the 429
    started = clock.monotonic()
    await let_time_pass(clock, 4.5, step=1.5)
    assert poster.calls() == ["post:failed"]  # not before the platform said it may go
    await posted(poster.posts, 1, 10, clock, step=0.5)
    assert clock.monotonic() - started >= 4.5
    assert poster.calls() == ["post:failed", "post"]


async def test_a_mute_keeps_its_channel_quiet_and_its_end_posts_a_digest(tmp_path, chat, make_bot):
    if chat.name == "recorder":
        pytest.skip("the recorder has no command front end, so no workspace to bind")
    bot = await make_bot(config(tmp_path, chat, ("ops", "eng")))
    core = bot.app[COMMANDS]
    reply = await core.run("mute github for 2h because deploy", chat.caller("eng"))
    assert reply.ok and "Muted m1" in reply.text, reply.text
    await chat.wait_for(1)  # the announcement, in the muted channel
    await post_issue(bot, "during the deploy", "d1")

    def issue_in(room: str) -> list[str]:
        return [text for text in chat.shown(room) if "during the deploy" in text]

    async def shown_in_ops() -> list[str]:
        return issue_in("ops")

    assert await eventually(shown_in_ops)
    [announcement] = chat.shown("eng")
    assert "Mute m1" in announcement and issue_in("eng") == []

    unmuted = await core.run("unmute m1", chat.caller("eng"))
    assert "while muted: 1" in unmuted.text, unmuted.text
    posts = await chat.wait_for(3)
    assert len(posts) == 3 and "Mute m1" in chat.shown("eng")[-1]
    [told] = issue_in("eng")  # in the digest, not posted late as itself
    assert "while muted" in told


async def test_test_posts_a_test_message_to_any_target(tmp_path, poster, make_bot):
    bot = await make_bot(config(tmp_path, poster, ("eng",)))
    reply = await bot.app[COMMANDS].run("test eng", Caller("cli", "ops"))
    assert reply.ok, reply.text
    await poster.wait_for(1)
    [shown] = poster.shown("eng")
    assert "test message" in shown.lower()
