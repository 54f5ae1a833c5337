"""Silence from the message, against the real Prometheus Alertmanager: an alert posted
through it shows Silence buttons; a signed Slack click makes the silence there with the
clicker as createdBy; Unsilence expires it."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config.settings import Settings
from tests.actions import buttons_of, slack_click
from tests.alertmanager import alertmanager, api, binary
from tests.conftest import eventually
from tests.processes import free_port
from tests.test_slack_commands import slack_config

TOKEN = "am-webhook-token"


async def test_silence_and_unsilence_from_slack_in_a_real_alertmanager(
    tmp_path, fake_slack, aiohttp_client
):
    binary()  # skips, saying why, where Alertmanager is not installed
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hooks/prometheus"
    async with alertmanager(tmp_path, hook, TOKEN) as am:
        config: dict[str, Any] = slack_config(tmp_path, fake_slack.url)
        config["sources"]["prometheus"] = {
            "provider": "alertmanager",
            "token": TOKEN,
            "api_url": am,
        }
        config["people"] = {"U1": "alice@acme.com"}
        bot = await aiohttp_client(TestServer(build_app(Settings(**config)), port=port))

        labels = {"alertname": "DiskFull", "instance": "db1", "severity": "critical"}
        await api(am, "POST", "/alerts", [{"labels": labels, "annotations": {"summary": "97%"}}])

        [post] = await fake_slack.wait_for(1, timeout=30)
        shown = buttons_of(post)
        assert list(shown) == ["silence_1h", "silence_4h", "silence_24h", "mute_1h"]

        await slack_click(bot, shown["silence_1h"])

        async def silenced() -> list[dict[str, Any]]:
            found = await api(am, "GET", "/silences")
            return [s for s in found if s["status"]["state"] == "active"]

        [silence] = await eventually(silenced)
        assert silence["createdBy"] == "alice@acme.com"
        assert {m["name"]: m["value"] for m in silence["matchers"]} == labels
        assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])
        assert "https://slack.com/archives/CENG/p1700000000000001" in silence["comment"]
        [update] = await fake_slack.wait_for(1, "chat.update")
        assert list(buttons_of(update)) == ["unsilence"]  # nothing but Unsilence
        assert "Silenced for 1h by @alice via Slack" in str(update.body)

        await slack_click(bot, buttons_of(update)["unsilence"])

        async def expired() -> bool:
            [again] = await api(am, "GET", "/silences")
            return bool(again["status"]["state"] == "expired")

        assert await eventually(expired)
        [_, back] = await fake_slack.wait_for(2, "chat.update")
        assert list(buttons_of(back)) == ["silence_1h", "silence_4h", "silence_24h", "mute_1h"]
