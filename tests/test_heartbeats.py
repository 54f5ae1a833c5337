"""Heartbeats: a silent source is reported once, on the fake clock, and the report turns
to recovered (an edit and a reply, never a new post) when the source speaks again; ping
URLs for cron jobs; Alertmanager's Watchdog as the heartbeat; one alarm among instances."""

from __future__ import annotations

import json
import sqlite3
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.config.settings import ConfigError, Settings, load_config
from bot.intake.web import STORE
from bot.pipeline.heartbeats import Heartbeats
from bot.store import DeliveryRecord, open_store
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
from tests.fakes.slack import FakeSlack
from tests.processes import BotProcess, free_port, write_config
from tests.senders import ALERTMANAGER_TOKEN, bearer

TEN_MINUTES = 600.0


def watched_github(tmp_path, slack_url: str) -> dict:
    config = base_config(tmp_path, slack_url)
    config["sources"]["github"].update(heartbeat="10m", heartbeat_to="eng")
    return config


async def post_issue(bot, number: int) -> None:
    body = issue_body(number)
    headers = github_headers(body, "issues", f"d{number}")
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200


def roots(fake: FakeSlack) -> list[str]:
    return [p.body["text"] for p in fake.posts() if "thread_ts" not in p.body]


async def test_silence_is_reported_once_and_recovery_edits_the_alarm(
    tmp_path, make_bot, fake_slack
):
    clock = FakeClock(start=1_700_000_000.0)  # 22:13 UTC
    bot = await make_bot(watched_github(tmp_path, fake_slack.url), clock)
    await post_issue(bot, 1)
    await posts_on(fake_slack, 1, clock)

    # Not silent long enough yet: 5 s short of ten minutes after the issue came, however
    # much fake time passed while its post was awaited.
    await let_time_pass(clock, TEN_MINUTES - 5 - clock.monotonic(), step=15)
    assert len(fake_slack.posts()) == 1

    await let_time_pass(clock, 10, step=1)
    [issue, alarm] = await posts_on(fake_slack, 2, clock)
    assert alarm.body["text"] == "🔥 No events from github for 10 min (last at 22:13 UTC)"

    await let_time_pass(clock, TEN_MINUTES * 3, step=60)  # still silent: no second alarm
    assert roots(fake_slack) == [issue.body["text"], alarm.body["text"]]

    await post_issue(bot, 2)
    [update] = await eventually(lambda: _updates(fake_slack), clock=clock)
    await posts_on(fake_slack, 4, clock)  # issue 2 and the recovery's reply
    assert update.body["ts"] == alarm_ts(fake_slack, alarm)
    assert update.body["text"].startswith("✅ Recovered: github is heard from again")
    replies = [p for p in fake_slack.posts() if p.body.get("thread_ts")]
    assert [r.body["thread_ts"] for r in replies] == [alarm_ts(fake_slack, alarm)]
    assert len(roots(fake_slack)) == 3  # issue 1, the alarm, issue 2: no post for recovery


async def _updates(fake: FakeSlack):
    return fake.posts("chat.update")


def alarm_ts(fake: FakeSlack, alarm) -> str:
    """The ts the fake Slack gave the alarm when it was posted."""
    return next(ts for (_, ts), versions in fake.messages.items() if versions[0] == alarm.body)


async def test_a_source_never_heard_from_is_reported_too(tmp_path, make_bot, fake_slack):
    clock = FakeClock(start=1_700_000_000.0)
    await make_bot(watched_github(tmp_path, fake_slack.url), clock)
    [alarm] = await posts_on(fake_slack, 1, clock, step=30, timeout=30)
    assert alarm.body["text"] == (
        "🔥 No events from github for 10 min (nothing since watching began at 22:13 UTC)"
    )


async def test_a_cron_job_pings_by_get_or_post_and_pings_are_never_posted(
    tmp_path, make_bot, fake_slack
):
    clock = FakeClock(start=1_700_000_000.0)
    config = base_config(tmp_path, fake_slack.url)
    config["sources"]["backup"] = {
        "provider": "heartbeat",
        "token": "cron-token",
        "heartbeat": "30s",
        "heartbeat_to": "eng",
    }
    bot = await make_bot(config, clock)
    assert (await bot.get("/hooks/backup?token=cron-token")).status == 200
    again = await bot.post("/hooks/backup", headers=bearer("cron-token"))
    assert again.status == 200
    assert (await again.json())["status"] == "accepted"  # the same (empty) body: a new ping
    assert (
        await bot.post("/hooks/backup", data=b"backup done\n", headers=bearer("cron-token"))
    ).status == 200
    wrong = await bot.get("/hooks/backup?token=guess")
    assert wrong.status == 401
    assert "cron-token" not in await wrong.text()
    assert (await bot.get("/hooks/backup")).status == 401

    store = bot.app[STORE]

    async def pinged():
        [switch] = await store.heartbeats() or [None]
        return switch is not None and switch.last_at is not None

    await eventually(pinged, clock=clock)
    await let_time_pass(clock, 20, step=1)
    assert fake_slack.posts() == []  # pings are signs of life, not messages
    [alarm] = await posts_on(fake_slack, 1, clock, step=1)
    assert alarm.body["text"].startswith("🔥 No events from backup for 30 s (last at ")


async def test_the_watchdog_alert_is_the_heartbeat_and_is_not_posted(
    tmp_path, make_bot, fake_slack
):
    clock = FakeClock(start=1_700_000_000.0)
    config = base_config(tmp_path, fake_slack.url)
    config["sources"] = {
        "prometheus": {
            "provider": "alertmanager",
            "token": ALERTMANAGER_TOKEN,
            "heartbeat": "5m",
            "heartbeat_to": "eng",
            "heartbeat_event": "alert.firing",
            "heartbeat_labels": {"alertname": "Watchdog"},
        }
    }
    bot = await make_bot(config, clock)
    watchdog = json.loads(fixture_bytes("alertmanager/firing__two_alerts.json"))
    # Alertmanager's always-firing alert: the fixture's group, named as Watchdog is.
    for labels in (watchdog["groupLabels"], watchdog["commonLabels"]):
        labels["alertname"] = "Watchdog"
    for alert in watchdog["alerts"]:
        alert["labels"]["alertname"] = "Watchdog"
    headers = bearer(ALERTMANAGER_TOKEN)
    for minute in range(3):  # every 4 minutes, as repeat_interval would
        watchdog["alerts"][0]["startsAt"] = f"2023-11-14T22:{13 + 4 * minute}:00Z"
        response = await bot.post("/hooks/prometheus", data=json.dumps(watchdog), headers=headers)
        assert response.status == 200
        await let_time_pass(clock, 240, step=40)
    assert fake_slack.posts() == []  # neither the Watchdog nor an alarm

    [alarm] = await posts_on(fake_slack, 1, clock, step=5)
    assert alarm.body["text"].startswith("🔥 No events from prometheus for 5 min")

    real = json.loads(fixture_bytes("alertmanager/firing__two_alerts.json"))
    assert (
        await bot.post("/hooks/prometheus", data=json.dumps(real), headers=headers)
    ).status == 200
    [_, posted] = await posts_on(fake_slack, 2, clock)
    assert "High CPU Temperature" in posted.title  # other alerts are posted as ever
    assert fake_slack.posts("chat.update") == []  # and are no sign of life


KINDS = ("silent", "recovered")


def queued(kind: str, alarm_at: float) -> DeliveryRecord:
    """A heartbeat message as the watch makes it: its id is made of the alarm's time."""
    event_id = f"heartbeat:cron:{round(alarm_at * 1000)}.{kind}"
    return DeliveryRecord(
        id=f"{event_id}/eng",
        event_id=event_id,
        target="eng",
        platform="slack",
        address="C0ENG",
        message={"headline": kind},
        thread_key="heartbeat:cron",
        status="open" if kind == "silent" else "resolved",
        source="cron",
        event_type=f"heartbeat.{kind}",
    )


async def test_of_two_instances_one_raises_the_alarm_and_one_ends_it(store_url):
    """Raising the alarm and queuing its message are one write: whoever raises it queues
    it, a caller that loses queues nothing, so nothing is posted twice or never."""
    store = await open_store(store_url)

    async def outbox() -> list[str]:
        made = [f"heartbeat:cron:{t}000.{k}" for t in (700, 701, 900, 1500) for k in KINDS]
        return sorted(d.id for d in await store.deliveries_of(made))

    try:
        await store.watch_source("cron", 100.0)
        await store.watch_source("cron", 500.0)  # a second instance starting later
        [switch] = await store.heartbeats()
        assert (switch.watched_since, switch.last_at, switch.alarm_at) == (100.0, None, None)
        assert await store.raise_alarm("cron", 100.0, 700.0, queued("silent", 700.0))
        assert not await store.raise_alarm("cron", 100.0, 701.0, queued("silent", 701.0))
        assert await outbox() == ["heartbeat:cron:700000.silent/eng"]
        await store.beat("cron", 800.0)
        await store.beat("cron", 790.0)  # an older request finishing late changes nothing
        [switch] = await store.heartbeats()
        assert (switch.last_at, switch.alarm_at) == (800.0, 700.0)
        assert not await store.raise_alarm("cron", 100.0, 900.0, queued("silent", 900.0))
        assert await store.clear_alarm("cron", 700.0, queued("recovered", 700.0), 800.0)
        assert not await store.clear_alarm("cron", 700.0, queued("recovered", 700.0), 801.0)
        assert await outbox() == [
            "heartbeat:cron:700000.recovered/eng",
            "heartbeat:cron:700000.silent/eng",
        ]
        # Heard from before the alarm could be raised: neither the alarm nor its message.
        assert not await store.raise_alarm("cron", 100.0, 1500.0, queued("silent", 1500.0))
        assert len(await outbox()) == 2
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"heartbeat": "10m"}, "heartbeat and heartbeat_to go together"),
        ({"heartbeat_to": "eng"}, "heartbeat and heartbeat_to go together"),
        ({"heartbeat": "10m", "heartbeat_to": "ops"}, "heartbeat_to names unknown target 'ops'"),
        ({"heartbeat": "soon", "heartbeat_to": "eng"}, "bad duration"),
        (
            {"heartbeat": "1m", "heartbeat_to": "eng", "heartbeat_labels": {"a": "b"}},
            "heartbeat_labels needs heartbeat_event",
        ),
    ],
)
def test_heartbeat_keys_are_checked_with_the_config(tmp_path, keys, expected):
    config = base_config(tmp_path)
    config["sources"]["github"].update(keys)
    with pytest.raises(ValueError, match=expected):
        Settings(**config)


def test_a_heartbeat_source_needs_its_heartbeat(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[sources.nightly]\nprovider = "heartbeat"\ntoken = "t"\n')
    with pytest.raises(ConfigError, match='needs heartbeat = "25h"'):
        load_config(path)


def test_durations_take_seconds(tmp_path):
    config = base_config(tmp_path)
    config["sources"]["github"].update(heartbeat="30s", heartbeat_to="eng")
    assert Settings(**config).sources["github"].heartbeat == 30.0
    assert Heartbeats(Settings(**config), None, lambda: None).watched.keys() == {"github"}  # type: ignore[arg-type]


@pytest.mark.slow
async def test_a_heartbeat_fires_after_a_restart(tmp_path):
    """The ping before the restart is remembered: the alarm says when it was."""
    fake = FakeSlack()
    slack_port = free_port()
    server = TestServer(fake.app, host="127.0.0.1", port=slack_port)
    await server.start_server()
    # Two seconds of silence: fifty times what ping to exit takes (under 40 ms), so the
    # first process never raises the alarm; the second one does, from the stored ping.
    extra = (
        '[sources.nightly]\nprovider = "heartbeat"\ntoken = "cron-token"\n'
        'heartbeat = "2s"\nheartbeat_to = "eng"\n'
    )
    bot = BotProcess(write_config(tmp_path, slack_port, extra), tmp_path / "bot.log")
    try:
        await bot.start()
        ping = f"{bot.url}/hooks/nightly?token=cron-token"
        async with aiohttp.ClientSession() as session, session.get(ping) as response:
            assert response.status == 200
        await eventually(lambda: _pinged(tmp_path), timeout=10)
        bot.terminate()
        assert fake.posts() == []

        await bot.start()
        [alarm] = await fake.wait_for(1, timeout=30)
        assert alarm.body["text"].startswith("🔥 No events from nightly for 2 s (last at ")
        bot.terminate()
    finally:
        await server.close()


async def _pinged(tmp_path) -> bool:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        row = db.execute("SELECT last_at FROM heartbeats WHERE source = 'nightly'").fetchone()
    return row is not None and row[0] is not None and row[0] <= time.time()
