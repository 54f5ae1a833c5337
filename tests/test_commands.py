"""The command core against the real pipeline: signed GitHub webhooks reach a fake Slack
(or do not) while mutes and reroutes are set, lifted and expire.

Commands here go straight to the core; ``test_slack_commands`` and
``test_discord_commands`` send them through the front ends.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.commands import Caller, CommandCore
from bot.commands.core import Reply, answered
from bot.intake.web import COMMANDS, STORE
from tests.conftest import base_config, eventually, fixture_bytes, github_headers, posts_on

TEAM = "T0FAKE"
"""The fake Slack's workspace (its auth.test answer): commands are bound to it."""
ADMIN_U1 = {"admins": ["U1"]}
"""Routing, replay and test need an admin: U1 (alice, in #eng) is one."""
IN_ENG = Caller("slack", "U1", "alice", "CENG", "eng", workspace=TEAM)
IN_OPS = Caller("slack", "U2", "bob", "COPS", "ops", workspace=TEAM)


def pull_request(action: str = "opened", **changes: Any) -> bytes:
    payload = json.loads(fixture_bytes("github/pull_request__opened.json"))
    payload["action"] = action
    payload["pull_request"].update(changes)
    return json.dumps(payload).encode()


class Bot:
    """A running bot and what a test does with it."""

    def __init__(self, client: Any, slack: Any) -> None:
        self.client = client
        self.slack = slack
        self.sent = 0

    @property
    def core(self) -> CommandCore:
        return self.client.server.app[COMMANDS]

    @property
    def store(self) -> Any:
        return self.client.server.app[STORE]

    async def command(self, text: str, caller: Caller = IN_ENG) -> str:
        reply = await self.core.run(text, caller)
        return reply.text + "\n" + reply.table_text()

    async def hook(self, body: bytes, event: str = "pull_request") -> str:
        """Send a signed webhook and wait until it is normalized; return its event id."""
        self.sent += 1
        headers = github_headers(body, event, f"delivery-{self.sent}")
        response = await self.client.post("/hooks/github", data=body, headers=headers)
        inbox = int((await response.json())["id"])

        async def normalized() -> Any:
            return await self.store.events_of(inbox)

        [record] = await eventually(normalized)
        return str(record.id)

    async def outcome(self, event_id: str) -> str:
        return str((await self.store.get_event(event_id)).outcome)

    def texts(self) -> list[str]:
        return [self.slack.text_of(call) for call in self.slack.posts()]


async def start(
    make_bot: Any, tmp_path: Any, fake_slack: Any, clock: Any = None, **sections: Any
) -> Bot:
    """A bot posting to ``fake_slack``; on ``clock`` (a ``FakeClock``) when given one."""
    config = base_config(tmp_path, fake_slack.url, **sections)
    return Bot(await make_bot(config, clock), fake_slack)


async def test_mute_keeps_events_back_and_unmute_posts_one_digest(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack)

    reply = await bot.command("mute github for 2h because deploy window")
    assert "Muted m1" in reply and "2h" in reply
    [announcement] = await fake_slack.wait_for(1)
    assert announcement.body["channel"] == "#eng"
    assert "Mute m1" in bot.slack.text_of(announcement)
    assert "deploy window" in bot.slack.text_of(announcement)

    muted = await bot.hook(pull_request())
    assert await bot.outcome(muted) == "muted"
    assert "muted (kept, not posted) 1" in await bot.command("status")
    why = await bot.command(f"why {muted}")
    assert "muted by m1 because deploy window" in why
    assert "m1" in await bot.command("list") and "deploy window" in await bot.command("list")

    reply = await bot.command("unmute m1")
    assert "while muted: 1 alert, 1 still firing" in reply
    posts = await fake_slack.wait_for(2)
    assert "while muted: 1 alert, 1 still firing" in bot.slack.text_of(posts[1])
    assert "#2 Update the README" in bot.slack.text_of(posts[1])

    posted = await bot.hook(pull_request("reopened"))
    assert await bot.outcome(posted) == "routed"
    posts = await fake_slack.wait_for(3)
    assert "#2 Update the README" in bot.slack.text_of(posts[2])
    assert len(fake_slack.posts()) == 3
    assert "No mutes" in await bot.command("list")


async def test_replay_posts_a_muted_event(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands=ADMIN_U1)
    await bot.command("mute github")
    muted = await bot.hook(pull_request())
    await fake_slack.wait_for(1)  # the announcement only

    assert "Queued" in await bot.command(f"replay {muted}/eng")

    posts = await fake_slack.wait_for(2)
    assert "#2 Update the README" in bot.slack.text_of(posts[1])


async def test_a_mute_covers_only_its_own_channel(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack)
    await bot.command("mute github for 1h", IN_OPS)

    event = await bot.hook(pull_request())

    assert await bot.outcome(event) == "routed"
    await fake_slack.wait_for(2)  # the announcement in #ops, then the event in #eng
    assert {call.body["channel"] for call in fake_slack.posts()} == {"COPS", "#eng"}


async def test_mute_matches_a_target_written_as_channel_id(tmp_path, fake_slack, make_bot):
    targets = {"eng": {"slack": "CENG"}}
    bot = await start(make_bot, tmp_path, fake_slack, targets=targets)
    await bot.command(
        "mute repo=Codertocat/*", Caller("slack", "U1", "alice", "CENG", "eng", workspace=TEAM)
    )

    assert await bot.outcome(await bot.hook(pull_request())) == "muted"


async def test_mute_everywhere_and_reroute_need_an_admin(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands={"admins": ["UBOSS"]})
    boss = Caller("slack", "UBOSS", "boss", "CENG", "eng", workspace=TEAM)

    assert "only admins may mute everywhere" in await bot.command("mute github everywhere")
    assert "only admins may route" in await bot.command("route github to <#CWEB|web>")
    assert "Muted m1" in await bot.command("mute github for 1h")  # this channel: anyone
    assert "Muted m2" in await bot.command("mute github everywhere", boss)
    assert "only admins" in await bot.command("unmute m2")
    assert "not this channel" in await bot.command("unmute m1", IN_OPS)
    assert "Unmuted m1" in await bot.command("unmute m1")
    assert "Unmuted m2" in await bot.command("unmute m2", boss)


async def test_reroute_moves_events_and_unroute_restores_them(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands=ADMIN_U1)

    reply = await bot.command("route github repo=Codertocat/Hello-World to <#CWEB|web>")
    assert "Rerouted r1" in reply and "#web" in reply
    moved = await bot.hook(pull_request())
    [post] = await fake_slack.wait_for(1)
    assert post.body["channel"] == "CWEB"
    in_web = Caller("slack", "U3", "carol", "CWEB", "web", workspace=TEAM)
    assert "rerouted by r1" in await bot.command(f"why {moved}", in_web)  # where it went

    assert "Removed r1" in await bot.command("unroute r1")
    await bot.hook(pull_request("reopened"))
    posts = await fake_slack.wait_for(2)
    assert posts[1].body["channel"] == "#eng"


async def test_a_mute_in_the_new_channel_covers_rerouted_events(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands=ADMIN_U1)
    await bot.command("route github to <#CWEB|web>")
    await bot.command("mute github", Caller("slack", "U3", "carol", "CWEB", "web", workspace=TEAM))

    event = await bot.hook(pull_request())

    assert await bot.outcome(event) == "muted"


async def test_mute_expires_without_a_restart(tmp_path, fake_slack, make_bot, clock):
    bot = await start(make_bot, tmp_path, fake_slack, clock)
    await bot.command("mute github for 1s")
    muted = await bot.hook(pull_request())
    assert await bot.outcome(muted) == "muted"

    posts = await posts_on(fake_slack, 2, clock, step=0.25)  # announcement, expiry digest

    assert "expired" in bot.slack.text_of(posts[1])
    assert "while muted: 1 alert" in bot.slack.text_of(posts[1])
    assert await bot.outcome(await bot.hook(pull_request("reopened"))) == "routed"


async def test_until_resolved_ends_with_the_conversation(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack)
    assert "nothing open matches" in await bot.command("mute github until resolved")
    await bot.hook(pull_request())
    await fake_slack.wait_for(1)

    reply = await bot.command("mute github until resolved because flapping")
    assert "until 1 open conversation(s) resolve" in reply
    await fake_slack.wait_for(2)
    assert await bot.outcome(await bot.hook(pull_request("ready_for_review"))) == "muted"
    resolved = await bot.hook(fixture_bytes("github/pull_request__closed.json"))

    assert await bot.outcome(resolved) == "routed"
    posts = await fake_slack.wait_for(4)
    digest = next(bot.slack.text_of(p) for p in posts if "conversations resolved" in str(p.body))
    assert "while muted: 1 alert, 0 still firing" in digest


async def test_test_posts_through_the_outbox(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands=ADMIN_U1)

    assert "Test message queued for #eng" in await bot.command("test")

    [post] = await fake_slack.wait_for(1)
    assert post.body["channel"] == "#eng"
    assert "Test message" in bot.slack.text_of(post)


async def test_muted_events_are_counted_in_metrics(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack)
    await bot.command("mute github")
    await bot.hook(pull_request())

    metrics = await (await bot.client.get("/metrics")).text()

    assert 'bot_events_total{outcome="muted",source="github"} 1.0' in metrics


async def test_a_reroute_for_a_while_expires(tmp_path, fake_slack, make_bot):
    bot = await start(make_bot, tmp_path, fake_slack, commands=ADMIN_U1)
    assert "for 1s" in await bot.command("route github to <#CWEB|web> for 1s")
    await bot.hook(pull_request())
    [moved] = await fake_slack.wait_for(1)

    async def expired() -> bool:
        return "No mutes or reroutes" in await bot.command("list")

    assert await eventually(expired)
    await bot.hook(pull_request("reopened"))
    posts = await fake_slack.wait_for(2)
    assert (moved.body["channel"], posts[1].body["channel"]) == ("CWEB", "#eng")


async def test_why_names_each_matched_route_once(tmp_path, fake_slack, make_bot):
    targets = {"eng": {"slack": "#eng"}, "ops": {"slack": "#ops"}}
    bot = await start(
        make_bot, tmp_path, fake_slack, targets=targets, routes=[{"to": ["eng", "ops"]}]
    )

    why = await bot.command(f"why {await bot.hook(pull_request())}")

    assert why.count("matched route 1 (every event -> eng, ops) -> eng, ops") == 1


async def test_a_command_that_breaks_still_answers_and_logs_the_trace(caplog):
    """Every chat's front end awaits its command through ``answered``: a bug is an answer
    naming the error, never a silent slash command, and the trace is in the log."""

    async def broken() -> Reply:
        raise KeyError("oops")

    with caplog.at_level(logging.ERROR, logger="bot.commands"):
        reply = await answered(broken(), command="/notify")
    assert reply.text == "the command failed (KeyError); the bot's log says more"
    [record] = caplog.records
    assert record.message == "command failed" and record.exc_info is not None
    assert record.command == "/notify"
