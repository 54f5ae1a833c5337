"""Quiet hours and scheduled digests per route: lesser events wait, on the fake clock, and
are posted as one digest when the quiet hours end; ``why`` says where each one went."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.commands import Caller
from bot.config.settings import RouteConfig, Settings
from bot.intake.web import COMMANDS, STORE
from bot.pipeline.quiet import hold_for
from tests.conftest import (
    base_config,
    eventually,
    fixture_bytes,
    github_headers,
    issue_body,
    let_time_pass,
    posts_on,
)
from tests.fakes.clock import FakeClock
from tests.senders import ALERTMANAGER_TOKEN, bearer


def at(text: str) -> float:
    """An ISO time (UTC unless it says otherwise) as epoch seconds."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


NIGHT = RouteConfig(to=["eng"], quiet_hours="22:00-08:00")
BERLIN = RouteConfig(to=["eng"], quiet_hours="22:00-08:00", timezone="Europe/Berlin")


@pytest.mark.parametrize(
    ("route", "severity", "now", "until"),
    [
        (NIGHT, "info", "2024-03-05T23:30", "2024-03-06T08:00"),  # wraps past midnight
        (NIGHT, "error", "2024-03-06T03:00", "2024-03-06T08:00"),
        (NIGHT, "info", "2024-03-06T07:59:59", "2024-03-06T08:00"),
        (NIGHT, "info", "2024-03-06T08:00", None),  # the quiet hours are over
        (NIGHT, "info", "2024-03-06T21:59", None),
        (NIGHT, "critical", "2024-03-06T23:00", None),  # critical is not below critical
        (
            RouteConfig(to=["eng"], quiet_hours="22:00-08:00", quiet_below="warning"),
            "warning",
            "2024-03-06T23:00",
            None,
        ),
        # 07:30 UTC is 08:30 in Berlin (CET, UTC+1): over there; 22:30 UTC is 23:30 there.
        (BERLIN, "info", "2024-03-06T07:30", None),
        (BERLIN, "info", "2024-03-06T22:30", "2024-03-07T08:00+01:00"),
        # The night the clocks go forward (31 March 2024): it still ends at 08:00 local.
        (BERLIN, "info", "2024-03-30T23:00", "2024-03-31T08:00+02:00"),
        (
            RouteConfig(to=["eng"], quiet_hours="01:00-05:00"),
            "info",
            "2024-03-06T04:00",
            "2024-03-06T05:00",
        ),
        (
            RouteConfig(to=["eng"], digest="hourly"),
            "critical",
            "2024-03-06T14:20",
            "2024-03-06T15:00",
        ),
        (
            RouteConfig(to=["eng"], digest="daily 09:00"),
            "info",
            "2024-03-06T09:00",
            "2024-03-07T09:00",
        ),
        (
            RouteConfig(to=["eng"], digest="daily 09:00"),
            "info",
            "2024-03-06T08:59",
            "2024-03-06T09:00",
        ),
    ],
)
def test_what_waits_and_until_when(route, severity, now, until):
    hold = hold_for(route, severity, at(now))
    assert (hold.until if hold else None) == (at(until) if until else None)


def test_the_reason_names_the_quiet_hours_and_the_digest():
    hold = hold_for(BERLIN, "info", at("2024-03-06T22:30"))
    assert hold is not None
    assert (
        hold.why == "held for quiet hours (22:00-08:00 Europe/Berlin), posted in the 08:00 digest"
    )
    daily = hold_for(RouteConfig(to=["eng"], digest="daily 09:00"), "info", at("2024-03-06T10:00"))
    assert daily is not None and daily.why == "held for the daily 09:00 digest, posted at 09:00"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"quiet_hours": "22-08"}, "bad time of day '22'"),
        ({"quiet_hours": "22:00"}, "use HH:MM-HH:MM"),
        ({"quiet_hours": "08:00-08:00"}, "starts and ends at the same time"),
        ({"quiet_hours": "22:00-08:00", "timezone": "Europe/Berln"}, "not a known zone"),
        ({"quiet_hours": "22:00-08:00", "quiet_below": "critcal"}, "quiet_below 'critcal'"),
        ({"quiet_below": "error"}, "quiet_below needs quiet_hours"),
        ({"timezone": "UTC"}, "timezone applies to quiet_hours or digest"),
        ({"digest": "weekly"}, 'use "daily 09:00" or "hourly"'),
        ({"digest": "hourly", "quiet_hours": "22:00-08:00"}, "do not combine"),
    ],
)
def test_bad_route_keys_say_what_to_write(tmp_path, keys, expected):
    config = base_config(tmp_path)
    config["routes"] = [{"to": ["eng"], **keys}]
    with pytest.raises(ValueError, match=expected):
        Settings(**config)


async def why(bot, event_id: str) -> str:
    caller = Caller("slack", "U1", "a", "C", "eng", workspace="T0FAKE")  # the fake's team
    reply = await bot.app[COMMANDS].run(f"why {event_id}", caller)
    return reply.text + "\n" + reply.table_text()


async def event_ids(bot, inbox: int) -> list[str]:
    async def normalized():
        return await bot.app[STORE].events_of(inbox)

    return [record.id for record in await eventually(normalized)]


async def test_the_night_is_one_digest_at_eight_and_critical_goes_at_once(
    tmp_path, make_bot, fake_slack
):
    clock = FakeClock(start=at("2024-03-06T07:55"))
    config = base_config(tmp_path, fake_slack.url)
    config["sources"]["prometheus"] = {"provider": "alertmanager", "token": ALERTMANAGER_TOKEN}
    config["routes"] = [{"to": ["eng"], "quiet_hours": "22:00-08:00"}]
    bot = await make_bot(config, clock)
    held = []
    for number in range(3):
        body = issue_body(number)
        response = await bot.post(
            "/hooks/github", data=body, headers=github_headers(body, "issues", f"d{number}")
        )
        held += await event_ids(bot, int((await response.json())["id"]))
    page = fixture_bytes("alertmanager/firing__two_alerts.json")  # severity: critical
    response = await bot.post("/hooks/prometheus", data=page, headers=bearer(ALERTMANAGER_TOKEN))
    [critical] = await posts_on(fake_slack, 1, clock, step=0.25)
    assert "High CPU Temperature" in critical.title

    # Any of the three ids: the request, its event, the event's delivery to eng.
    for some_id in (held[0].split(".")[0], held[0], f"{held[0]}/eng"):
        said = await why(bot, some_id)
        assert "held for quiet hours (22:00-08:00), posted in the 08:00 digest" in said, some_id
    await let_time_pass(clock, 4 * 60, step=30)  # 07:59: still quiet
    assert len(fake_slack.posts()) == 1

    await let_time_pass(clock, 90, step=15)
    [_, digest] = await posts_on(fake_slack, 2, clock)
    assert digest.body["text"] == "3 events open"
    listed = json.dumps(digest.body)
    assert all(f"Issue #{n}: issue {n}" in listed for n in range(3))  # nothing dropped
    assert "posted in digest" in await why(bot, held[2])
    await let_time_pass(clock, 120, step=30)
    assert len(fake_slack.posts()) == 2  # one digest, not one post per held event


async def test_an_hourly_digest_collects_the_hour(tmp_path, make_bot, fake_slack):
    clock = FakeClock(start=at("2024-03-06T14:58"))
    config = base_config(tmp_path, fake_slack.url)
    config["routes"] = [{"to": ["eng"], "digest": "hourly"}]
    bot = await make_bot(config, clock)
    for number in range(2):
        body = issue_body(number)
        headers = github_headers(body, "issues", f"d{number}")
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    await let_time_pass(clock, 60, step=5)
    assert fake_slack.posts() == []
    [digest] = await posts_on(fake_slack, 1, clock, step=5)
    assert digest.body["text"] == "2 events open"
