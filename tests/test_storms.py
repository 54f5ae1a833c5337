"""Storms: a burst on one route becomes one digest message, edited as the burst grows."""

from __future__ import annotations

import asyncio
import copy
import json

from bot.commands import Caller
from bot.config.settings import RouteConfig
from bot.intake.web import COMMANDS, STORE
from bot.pipeline.grouping import Grouping, digest_message, grouping_for
from bot.providers.alerting import STORM_GROUP_WAIT
from tests.chats import Chat, SlackChat
from tests.conftest import (
    base_config,
    dumps,
    eventually,
    fixture_bytes,
    github_headers,
    issue_body,
    let_time_pass,
)
from tests.senders import ALERTMANAGER_TOKEN, bearer


def alerts(first: int, count: int, status: str = "firing") -> bytes:
    """One Alertmanager notification carrying ``count`` alerts that differ by host."""
    payload = json.loads(fixture_bytes("alertmanager/firing__two_alerts.json"))
    template = payload["alerts"][0]
    payload["status"] = status
    payload["alerts"] = [
        {
            **copy.deepcopy(template),
            "status": status,
            "labels": {**template["labels"], "host": f"node-{n:04}"},
            "fingerprint": f"{n:016x}",
        }
        for n in range(first, first + count)
    ]
    return dumps(payload)


def chat_config(tmp_path, chat: Chat, rooms: tuple[str, ...], **sections) -> dict:
    config = base_config(tmp_path, **sections)
    config.update(chat.config())
    config["targets"] = {room: chat.target(room) for room in rooms}
    return config


def storm_config(tmp_path, chat: Chat, **route) -> dict:
    config = chat_config(
        tmp_path,
        chat,
        ("ops", "eng"),
        routes=[
            {"match": {"source": "prometheus"}, "to": ["ops"], **route},
            {"to": ["eng"]},
        ],
    )
    config["sources"]["prometheus"] = {
        "provider": "alertmanager",
        "token": ALERTMANAGER_TOKEN,
        "group": False,  # one event per alert: the storm reaches the bot as it happens
    }
    return config


def test_alerting_providers_group_by_default_and_others_do_not():
    route = RouteConfig(to=["ops"])
    assert grouping_for(route, "alertmanager") == Grouping(STORM_GROUP_WAIT, 30.0)
    assert grouping_for(route, "github") is None
    assert grouping_for(route, "pagerduty") is None
    assert grouping_for(RouteConfig(to=["ops"], group_wait="0s"), "alertmanager") is None
    explicit = RouteConfig(to=["ops"], group_wait="10s", group_interval="1m")
    assert grouping_for(explicit, "github") == Grouping(10.0, 60.0)


def test_a_conversation_is_one_line_showing_its_latest_state():
    lines = {
        "a": {
            "title": "DiskFull on a",
            "url": None,
            "color": "#E01E5A",
            "status": "resolved",
            "type": "alert.resolved",
            "at": 2.0,
        },
        "b": {
            "title": "DiskFull on b",
            "url": "https://x/b",
            "color": "#8B0000",
            "status": "open",
            "type": "alert.firing",
            "at": 1.0,
        },
    }
    message = digest_message(lines, "slack", 3.0)
    assert message.title == "2 alerts: 1 resolved, 1 firing"
    assert message.text.splitlines() == [
        "• DiskFull on a (resolved)",
        "• <https://x/b|DiskFull on b> (firing)",
    ]
    assert message.color == "#8B0000"  # the worst of what is still firing


async def test_a_thousand_alerts_in_seconds_are_one_digest_and_a_few_edits(
    tmp_path, poster, make_bot, clock
):
    chat = poster  # where a change cannot be an edit (Teams), each is a new card
    bot = await make_bot(storm_config(tmp_path, chat, group_wait="1s", group_interval="1s"), clock)
    for batch in range(100):  # 1,000 alerts over three (fake) seconds
        body = alerts(batch * 10, 10)
        response = await bot.post(
            "/hooks/prometheus", data=body, headers=bearer(ALERTMANAGER_TOKEN)
        )
        assert response.status == 200
        await clock.advance(0.03)
    store = bot.app[STORE]

    async def all_shown():
        counts = await store.counts()
        return counts.get("deliveries_sent") == 1000 and counts.get("deliveries_pending", 0) == 0

    async def all_normalized():
        counts = await store.counts()
        waiting = counts.get("deliveries_pending", 0)
        return counts.get("deliveries_sent", 0) + waiting == 1000

    # Fake time stands still while the bot normalizes (real work, slower on a busy
    # machine), so that work never looks to the bot like a longer storm with more edits.
    await eventually(all_normalized, timeout=60)
    await eventually(all_shown, timeout=60, clock=clock, step=0.25)

    posts, edits = chat.posts(), chat.edits()
    if chat.edits_in_place:
        assert len(posts) == 1
    else:
        assert edits == []
    # changed at most once per group_interval while the storm lasted
    assert len(posts) + len(edits) <= 11
    final = (edits or posts)[-1]
    # every alert is counted in the digest, whose title names the alert once
    assert final == "High CPU Temperature · 1000 alerts firing"
    shown = [d for inbox in range(1, 101) for d in await store.deliveries_for(str(inbox))]
    assert len(shown) == 1000
    assert {d.ref["action"] for d in shown} == {"grouped"}
    assert len({d.ref["digest"] for d in shown}) == 1  # all of them in that one message


async def test_alerts_arriving_while_the_digest_is_posted_are_in_its_next_edit(
    tmp_path, fake_slack, make_bot, clock
):
    """The lane is full of the alerts its digest shows while Slack answers the post, so
    it turns the next alerts away: they come back for the digest's next edit, not after
    the lane's backlog (20 messages at a message a second) as if each were a post."""
    chat = SlackChat(fake_slack)
    chat.use_clock(clock)
    config = storm_config(tmp_path, chat, group_wait="1s", group_interval="2s")
    bot = await make_bot(config, clock)
    auth = bearer(ALERTMANAGER_TOKEN)
    fake_slack.hold()  # Slack posts the digest; the bot hears so only on release()
    assert (await bot.post("/hooks/prometheus", data=alerts(0, 25), headers=auth)).status == 200
    await let_time_pass(clock, 1.5)
    [digest] = chat.posts("ops")  # of the first 20 or more: some may still be on their way
    assert digest.startswith("High CPU Temperature · 2") and digest.endswith(" alerts firing")
    assert (await bot.post("/hooks/prometheus", data=alerts(25, 10), headers=auth)).status == 200
    await let_time_pass(clock, 1.5)  # their group_wait is over while the post is in flight

    fake_slack.release()
    await let_time_pass(clock, 4)  # the digest's group_interval, a poll and a turn
    assert chat.edits() == ["High CPU Temperature · 35 alerts firing"]


async def test_every_alert_waiting_for_the_next_edit_is_in_it(
    tmp_path, fake_slack, make_bot, clock
):
    """Alerts that waited for the digest's next edit all come due at that moment, more
    than a lane holds: the edit shows every one of them, not those that made it into the
    lane first (the others had waited one more group_interval each)."""
    chat = SlackChat(fake_slack)
    chat.use_clock(clock)
    config = storm_config(tmp_path, chat, group_wait="0.5s", group_interval="3s")
    bot = await make_bot(config, clock)
    auth = bearer(ALERTMANAGER_TOKEN)
    assert (await bot.post("/hooks/prometheus", data=alerts(0, 5), headers=auth)).status == 200
    await let_time_pass(clock, 2)  # group_wait and a poll
    assert chat.posts("ops") == ["High CPU Temperature · 5 alerts firing"]
    assert (await bot.post("/hooks/prometheus", data=alerts(5, 45), headers=auth)).status == 200

    await let_time_pass(clock, 3.5)  # the edit comes due, with the 45 waiting for it
    assert chat.edits() == ["High CPU Temperature · 50 alerts firing"]


async def test_a_lone_alert_on_a_grouping_route_is_posted_as_itself(
    tmp_path, poster, make_bot, clock
):
    chat = poster
    bot = await make_bot(storm_config(tmp_path, chat, group_wait="0.2s"), clock)
    response = await bot.post(
        "/hooks/prometheus", data=alerts(1, 1), headers=bearer(ALERTMANAGER_TOKEN)
    )
    assert response.status == 200
    await clock.advance(0.1)
    await asyncio.sleep(0.1)
    assert chat.posts() == []  # group_wait: a burst may still come
    [post] = await chat.wait_for(1, clock=clock)
    assert post in ("🚨 Firing · critical", "High CPU Temperature")  # the alert, no digest

    async def sent():
        [delivery] = await bot.app[STORE].deliveries_for("1")
        return delivery if delivery.state == "sent" else None

    delivery = await eventually(sent, clock=clock)
    assert delivery.ref["action"] == "started"  # its own conversation, as any event


async def test_github_bursts_are_not_grouped_unless_the_route_says_so(
    tmp_path, poster, make_bot, clock
):
    chat = poster
    config = chat_config(
        tmp_path,
        chat,
        ("eng", "ci"),
        routes=[
            {"match": {"repo": "acme/ci"}, "to": ["ci"], "group_wait": "0.3s"},
            {"to": ["eng"]},
        ],
    )
    bot = await make_bot(config, clock)
    for number in range(4):
        for repo in ("acme/web", "acme/ci"):
            body = issue_body(number, repo=repo)
            headers = github_headers(body, "issues", f"{repo}-{number}")
            assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200

    await clock.advance(0.1)
    await asyncio.sleep(0.1)
    assert chat.posts("ci") == []  # group_wait: the rest of the burst may still come
    posts = await chat.wait_for(5, clock=clock)
    await let_time_pass(clock, 0.5)  # time for any message that should not come
    by_channel = {room: chat.posts(room) for room in ("eng", "ci")}
    assert len(by_channel["eng"]) == 4  # each issue its own message
    [digest] = by_channel["ci"]
    assert digest == "4 events open"
    listing = chat.listing("ci")
    assert all(f"Issue #{n}: issue {n}" in listing for n in range(4))
    assert len(posts) == 5


async def test_a_failed_digest_is_retried_for_every_alert_in_it(tmp_path, poster, make_bot, clock):
    chat = poster
    chat.fail_next(times=2, room="ops")
    config = storm_config(tmp_path, chat, group_wait="0.2s")
    config["delivery"] = {"retry_base": "0.05s", "retry_cap": "0.1s"}
    bot = await make_bot(config, clock)
    response = await bot.post(
        "/hooks/prometheus", data=alerts(0, 5), headers=bearer(ALERTMANAGER_TOKEN)
    )
    assert response.status == 200

    [post] = await chat.wait_for(1, clock=clock)
    assert post == "High CPU Temperature · 5 alerts firing"
    store = bot.app[STORE]

    async def all_sent():
        return [d.state for d in await store.deliveries_for("1")] == ["sent"] * 5

    assert await eventually(all_sent, clock=clock)
    why = (await bot.app[COMMANDS].run("why 1.3", Caller("cli", "ops"))).text
    assert "grouped: ops after 0.2s with any burst" in why
    assert "1.3/ops: posted in digest route0:ops@" in why


async def test_a_deleted_digest_is_posted_anew_with_everything_it_showed(
    tmp_path, chat, make_bot, clock
):
    config = storm_config(tmp_path, chat, group_wait="0.2s", group_interval="1s")
    bot = await make_bot(config, clock)
    auth = bearer(ALERTMANAGER_TOKEN)
    assert (await bot.post("/hooks/prometheus", data=alerts(0, 3), headers=auth)).status == 200
    [first] = await chat.wait_for(1, clock=clock)
    assert first == "High CPU Temperature · 3 alerts firing"

    chat.gone_next()  # someone deleted the digest meanwhile
    assert (await bot.post("/hooks/prometheus", data=alerts(3, 3), headers=auth)).status == 200

    posts = await chat.wait_for(2, timeout=15, clock=clock)
    assert chat.calls() == ["post", "update:failed", "post"]
    assert posts[1] == "High CPU Temperature · 6 alerts firing"
