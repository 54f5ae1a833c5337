"""Silence and Unsilence under a Grafana alert, through Grafana's own Alertmanager API
(``/api/alertmanager/grafana/api/v2/silences``) with a service account token, clicked in
Slack and in Discord. The alert is Grafana's published webhook sample; the fake Grafana
answers as Grafana's handlers do (202 with the silenceID, 401 ``Invalid API key``, 403
naming the permission needed)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.actions import Clicks
from tests.conftest import GRAFANA_TOKEN, eventually, fixture_bytes
from tests.fakes.apis import GRAFANA_SILENCES, FakeGrafana
from tests.fakes.clock import FakeClock
from tests.senders import GRAFANA_SECRET
from tests.senders import grafana as grafana_headers

SAMPLE = "grafana/firing__values.json"
SILENCES = ["silence_1h", "silence_4h", "silence_24h", "mute_1h"]


async def grafana_bot(
    clicks: Clicks,
    tmp_path: Any,
    api: FakeGrafana,
    make_bot: Any,
    clock: FakeClock,
    token: str = GRAFANA_TOKEN,
) -> Any:
    """A bot with a Grafana source whose silences go to ``api``, the sample's alert up."""
    config = clicks.config(tmp_path)
    config["sources"]["grafana"] = {
        "provider": "grafana",
        "secret": GRAFANA_SECRET,
        "api_url": f"{api.url}/api/alertmanager/grafana",
        "api_token": token,
    }
    config["people"] = {clicks.user: "alice@acme.com"}
    bot = await make_bot(config, clock)
    body = fixture_bytes(SAMPLE)
    response = await bot.post("/hooks/grafana", data=body, headers=grafana_headers(body))
    assert response.status == 200, await response.text()
    # An alert is held group_wait for a burst before it is posted: fake time, moved here.
    await eventually(lambda: _edited(clicks, 0), clock=clock, step=0.25)
    return bot


async def test_silence_and_unsilence_a_grafana_alert(
    tmp_path, clicks, grafana_api, make_bot, clock, caplog
):
    caplog.set_level(logging.DEBUG)
    bot = await grafana_bot(clicks, tmp_path, grafana_api, make_bot, clock)
    assert list(clicks.buttons()) == SILENCES

    await clicks.press(bot, clicks.buttons()["silence_1h"])

    await eventually(lambda: _edited(clicks, 1), clock=clock, step=0.25)
    [create] = grafana_api.calls
    assert (create.method, create.path) == ("POST", GRAFANA_SILENCES)
    assert create.headers["Authorization"] == f"Bearer {GRAFANA_TOKEN}"
    # The alert's own labels: not Grafana's "state", which the body adds and no alert has.
    labels = json.loads(fixture_bytes(SAMPLE))["alerts"][0]["labels"]
    [silence] = grafana_api.silences.values()
    assert {m["name"]: m["value"] for m in silence["matchers"]} == labels
    assert all(m["isEqual"] and not m["isRegex"] for m in silence["matchers"])
    assert silence["createdBy"] == "alice@acme.com"
    assert clicks.link() in silence["comment"]
    assert list(clicks.buttons()) == ["unsilence"]
    assert f"Silenced for 1h by @alice via {clicks.via}" in clicks.text()

    await clicks.press(bot, clicks.buttons()["unsilence"])

    await eventually(lambda: _edited(clicks, 2), clock=clock, step=0.25)
    expire = grafana_api.calls[-1]
    assert (expire.method, expire.path) == (
        "DELETE",
        f"/api/alertmanager/grafana/api/v2/silence/{silence['id']}",
    )
    assert expire.headers["Authorization"] == f"Bearer {GRAFANA_TOKEN}"
    assert silence["status"]["state"] == "expired"
    assert list(clicks.buttons()) == SILENCES
    assert any(r.getMessage() == "action" for r in caplog.records)  # the clicks were logged
    assert GRAFANA_TOKEN not in _logged(caplog)


@pytest.mark.parametrize(("action", "hours"), [("silence_4h", 4), ("silence_24h", 24)])
async def test_the_longer_silences_last_as_long_as_their_buttons_say(
    tmp_path, clicks, grafana_api, make_bot, clock, action, hours
):
    bot = await grafana_bot(clicks, tmp_path, grafana_api, make_bot, clock)

    await clicks.press(bot, clicks.buttons()[action])

    await eventually(lambda: _edited(clicks, 1), clock=clock, step=0.25)
    [silence] = grafana_api.silences.values()
    starts, ends = (datetime.fromisoformat(silence[k]) for k in ("startsAt", "endsAt"))
    assert ends - starts == timedelta(hours=hours)
    assert silence["createdBy"] == "alice@acme.com"
    assert list(clicks.buttons()) == ["unsilence"]
    assert f"Silenced for {hours}h by @alice via {clicks.via}" in clicks.text()


@pytest.mark.parametrize(
    ("problem", "told"),
    [
        (
            "wrong token",
            "Silence 1h failed: Grafana answered 401: Invalid API key; fix: give "
            "[sources.grafana] a valid api_token (the one set is wrong, expired or revoked)",
        ),
        (
            "no permission",
            "Silence 1h failed: Grafana answered 403: You'll need additional permissions to "
            "perform this action. Permissions needed: alert.silences:create; fix: grant the "
            "account behind [sources.grafana]'s api_token this permission",
        ),
    ],
)
async def test_a_refused_token_is_told_to_the_clicker_with_cause_and_fix(
    tmp_path, clicks, grafana_api, make_bot, clock, caplog, problem, told
):
    caplog.set_level(logging.DEBUG)
    token = "glsa_revoked-long-ago" if problem == "wrong token" else GRAFANA_TOKEN
    if problem == "no permission":
        grafana_api.permissions = {"alert.silences:read"}
    bot = await grafana_bot(clicks, tmp_path, grafana_api, make_bot, clock, token)

    await clicks.press(bot, clicks.buttons()["silence_1h"])

    [text] = await eventually(lambda: _told(clicks), clock=clock)
    assert told in text
    assert token not in text
    assert grafana_api.silences == {}
    assert len(clicks.versions()) == 1  # the message still offers Silence
    assert token not in _logged(caplog)
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="silence_1h",outcome="failed",source="grafana"} 1.0' in (
        metrics
    )


def _logged(caplog: Any) -> str:
    """Every log line with its structured fields, as they would be written."""
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


async def _edited(clicks: Clicks, count: int) -> bool:
    return len(clicks.versions()) > count


async def _told(clicks: Clicks) -> list[str]:
    return clicks.told()
