"""Silence from the message, against the real Prometheus Alertmanager, in Slack and in
Discord: an alert posted through it shows Silence buttons; a signed click makes the
silence there with the clicker as createdBy; Unsilence expires it; Alertmanager's own
resolved webhook, stamped before the clicks, then ends the same conversation."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config.settings import Settings
from tests.actions import Clicks
from tests.alertmanager import alertmanager, api, binary
from tests.conftest import eventually
from tests.processes import free_port

TOKEN = "am-webhook-token"
SILENCES = ["silence_1h", "silence_4h", "silence_24h", "mute_1h"]


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def test_silence_unsilence_and_the_resolved_webhook_in_a_real_alertmanager(
    tmp_path, clicks: Clicks, aiohttp_client
):
    binary()  # skips, saying why, where Alertmanager is not installed
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hooks/prometheus"
    async with alertmanager(tmp_path, hook, TOKEN) as am:
        config: dict[str, Any] = clicks.config(tmp_path)
        config["sources"]["prometheus"] = {
            "provider": "alertmanager",
            "token": TOKEN,
            "api_url": am,
        }
        config["people"] = {clicks.user: "alice@acme.com"}
        # The bot's own grouping (on by default for Alertmanager) would hold each alert a
        # second of real time, and a poll more; it has its tests on fake time
        # (test_storms, test_conversations). Here each alert goes as it comes.
        config["routes"][0]["group_wait"] = "0s"
        bot = await aiohttp_client(TestServer(build_app(Settings(**config)), port=port))

        labels = {"alertname": "DiskFull", "instance": "db1", "severity": "critical"}
        began = time.time() - 120
        alert = {"labels": labels, "annotations": {"summary": "97%"}, "startsAt": stamp(began)}
        await api(am, "POST", "/alerts", [alert])

        await clicks.posted()
        assert list(clicks.buttons()) == SILENCES

        await clicks.press(bot, clicks.buttons()["silence_1h"])

        async def silenced() -> list[dict[str, Any]]:
            found = await api(am, "GET", "/silences")
            return [s for s in found if s["status"]["state"] == "active"]

        [silence] = await eventually(silenced)
        assert silence["createdBy"] == "alice@acme.com"
        assert {m["name"]: m["value"] for m in silence["matchers"]} == labels
        assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])
        assert clicks.link() in silence["comment"]
        await eventually(lambda: _edited(clicks, 1))
        assert list(clicks.buttons()) == ["unsilence"]  # nothing but Unsilence
        assert f"Silenced for 1h by @alice via {clicks.via}" in clicks.text()

        await clicks.press(bot, clicks.buttons()["unsilence"])

        async def expired() -> bool:
            [again] = await api(am, "GET", "/silences")
            return bool(again["status"]["state"] == "expired")

        assert await eventually(expired)
        await eventually(lambda: _edited(clicks, 2))
        assert list(clicks.buttons()) == SILENCES

        # Prometheus stamps the moment the alert ended, which Alertmanager sends on at its
        # next flush: here before both clicks, as when a click lands inside group_interval.
        await api(am, "POST", "/alerts", [{**alert, "endsAt": stamp(began + 60)}])

        await eventually(lambda: _edited(clicks, 3))
        assert clicks.buttons() == {}  # resolved: nothing left to do
        assert "Resolved" in clicks.text()
        assert clicks.messages() == 1  # the same conversation, not a new message
        replies = await eventually(lambda: _replied(clicks, 3))
        assert f"Silenced for 1h by @alice via {clicks.via}" in replies[0]
        assert f"Unsilenced by @alice via {clicks.via}" in replies[1]
        assert len(replies) == 3 and "resolved" in replies[2].lower()


async def _edited(clicks: Clicks, count: int) -> bool:
    return len(clicks.versions()) > count


async def _replied(clicks: Clicks, count: int) -> list[str]:
    replies = clicks.replies()
    return replies if len(replies) >= count else []
