"""Buttons under a PagerDuty incident in Slack: a signed click acts at PagerDuty, the
message follows, the provider's echo is folded in; refusals and failures are told; the
click is recorded for `why`, the inspector and `people check`. What every platform does
alike (each action, the double and stale clicks, the timeout) is in
test_actions_platforms.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.cli.main import main
from bot.intake.web import STORE
from tests.actions import block_actions, buttons_of, incident, slack_click, with_pagerduty
from tests.conftest import eventually
from tests.fakes.apis import PAGERDUTY_FORBIDDEN
from tests.fakes.slack import FakeSlack
from tests.test_slack_commands import notify, slack_config


def pd_config(tmp_path: Any, slack_url: str, pd_url: str, **sections: Any) -> dict[str, Any]:
    return with_pagerduty(slack_config(tmp_path, slack_url, **sections), pd_url, "U1")


async def first_message(bot: Any, slack: FakeSlack) -> dict[str, dict[str, Any]]:
    await incident(bot, "triggered")
    [post] = await slack.wait_for(1)
    return buttons_of(post)


async def ephemeral(slack: FakeSlack, count: int = 1) -> str:
    calls = await slack.wait_for(count, "chat.postEphemeral")
    assert calls[-1].body["user"] == "U1"
    return str(calls[-1].body["text"])


async def test_acknowledge_from_slack_acts_at_pagerduty_and_the_message_follows(
    tmp_path, fake_slack, pagerduty_api, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pagerduty_api.url))
    shown = await first_message(bot, fake_slack)
    assert list(shown) == ["acknowledge", "resolve", "mute_1h"]

    await slack_click(bot, shown["acknowledge"])

    [update] = await fake_slack.wait_for(1, "chat.update")
    [call] = pagerduty_api.calls
    assert (call.method, call.path) == ("PUT", "/incidents/PFQZPSY")
    assert call.headers["From"] == "alice@acme.com"  # from [people]
    assert call.headers["Authorization"] == "Token token=pd-rest-key"
    assert call.body == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    assert list(buttons_of(update)) == ["resolve", "mute_1h"]  # no second Acknowledge
    assert "Acknowledged by @alice via Slack" in json.dumps(update.body["attachments"])
    [_, reply] = await fake_slack.wait_for(2)  # and a line in its thread
    assert reply.body["thread_ts"]
    assert "Acknowledged by @alice via Slack" in reply.body["text"]

    await incident(bot, "acknowledged")  # PagerDuty's own webhook for the same change
    store = bot.app[STORE]

    async def folded() -> bool:
        rows = await store.deliveries_for("2.0/eng")
        return bool(rows) and rows[0].ref.get("action") == "skipped"

    assert await eventually(folded)
    assert len(fake_slack.posts()) == 2  # the message and one reply: no second reply
    assert len(fake_slack.posts("chat.update")) == 1


@pytest.mark.parametrize(
    ("status", "body", "told"),
    [
        (
            403,
            PAGERDUTY_FORBIDDEN,
            "Acknowledge failed: PagerDuty answered 403: Access Denied "
            "(this API key cannot write incidents); fix: grant the account behind "
            "[sources.pd]'s api_token this permission, or set a token that has it",
        ),
        (500, {"error": {"message": "Internal error"}}, "PagerDuty answered 500: Internal error"),
    ],
)
async def test_a_refusal_by_pagerduty_is_told_and_the_click_can_be_retried(
    tmp_path, fake_slack, pagerduty_api, make_bot, status, body, told
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pagerduty_api.url))
    shown = await first_message(bot, fake_slack)
    pagerduty_api.answer(status, body)

    await slack_click(bot, shown["acknowledge"])

    assert told in await ephemeral(fake_slack)
    assert "pd-rest-key" not in json.dumps([c.body for c in fake_slack.calls])
    assert fake_slack.posts("chat.update") == []  # the message still offers the action
    pagerduty_api.answer(200, {"incident": {"status": "acknowledged"}})
    await slack_click(bot, shown["acknowledge"])
    await fake_slack.wait_for(1, "chat.update")
    assert len(pagerduty_api.calls) == 2
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="acknowledge",outcome="failed",source="pd"} 1.0' in metrics
    assert 'bot_actions_total{action="acknowledge",outcome="ok",source="pd"} 1.0' in metrics


async def test_a_click_from_another_workspace_is_refused_and_counted(
    tmp_path, fake_slack, pagerduty_api, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pagerduty_api.url))
    shown = await first_message(bot, fake_slack)

    await slack_click(bot, shown["acknowledge"], team="T0OTHER")

    text = await ephemeral(fake_slack)
    assert "(T0OTHER) is not one this bot takes commands and clicks from" in text
    assert "[slack] team_ids" in text
    assert pagerduty_api.calls == [] and fake_slack.posts("chat.update") == []
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_commands_refused_total{platform="slack",reason="unbound workspace"} 1.0' in metrics
    assert "bot_actions_total{" not in metrics  # nothing was looked up or recorded


async def test_the_click_is_recorded_shown_by_why_and_people_check(
    tmp_path, fake_slack, pagerduty_api, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pagerduty_api.url, people={}))
    shown = await first_message(bot, fake_slack)
    await slack_click(bot, shown["acknowledge"])
    await fake_slack.wait_for(1, "chat.update")

    [action] = await bot.app[STORE].recent_actions()
    assert (action.action, action.outcome, action.user_id) == ("acknowledge", "ok", "U1")
    assert action.identity == "alice"  # not in [people]: PagerDuty got from_email
    assert pagerduty_api.calls[0].headers["From"] == "oncall@acme.com"
    assert "incident PFQZPSY is acknowledged" in action.answer

    why = await notify(bot, "why 1.0")
    assert "acknowledge by alice (slack:U1)" in why and "ok: incident PFQZPSY" in why


async def test_people_check_lists_clickers_missing_from_people(
    tmp_path, fake_slack, pagerduty_api, make_bot, capsys
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pagerduty_api.url, people={}))
    shown = await first_message(bot, fake_slack)
    await slack_click(bot, shown["mute_1h"])
    await fake_slack.wait_for(1, "chat.update")
    store_url = f"sqlite:///{tmp_path / 'bot.db'}"
    unmapped = tmp_path / "unmapped.toml"
    unmapped.write_text(f'[store]\nurl = "{store_url}"\n')
    mapped = tmp_path / "mapped.toml"
    mapped.write_text(f'[store]\nurl = "{store_url}"\n[people]\nU1 = "alice@acme.com"\n')

    assert await asyncio.to_thread(main, ["people", "check", "--config", str(unmapped)]) == 1
    listed = capsys.readouterr().out
    assert "1 of 1 clicker(s) missing from [people]" in listed
    assert '"U1" = ""   # slack alice' in listed
    assert await asyncio.to_thread(main, ["people", "check", "--config", str(mapped)]) == 0
    assert "every clicker is in [people] (1 seen)" in capsys.readouterr().out


async def test_the_inspector_lists_clicks_without_tokens(
    tmp_path, fake_slack, pagerduty_api, make_bot
):
    config = pd_config(
        tmp_path, fake_slack.url, pagerduty_api.url, inspector={"token": "inspect-me"}
    )
    bot = await make_bot(config)
    shown = await first_message(bot, fake_slack)
    pagerduty_api.answer(403, PAGERDUTY_FORBIDDEN)
    await slack_click(bot, shown["acknowledge"])
    await ephemeral(fake_slack)

    page = await (await bot.get("/inspect", headers={"Authorization": "Bearer inspect-me"})).text()

    clicks = page.split('id="actions"', 1)[1].split("</table>", 1)[0]
    assert "alice (slack:U1, as alice@acme.com)" in clicks
    assert "acknowledge" in clicks and "failed" in clicks
    assert "PagerDuty answered 403: Access Denied" in clicks
    assert "pd-rest-key" not in page


async def test_a_click_over_socket_mode_acts_too(tmp_path, fake_slack, pagerduty_api, make_bot):
    config = pd_config(tmp_path, fake_slack.url, pagerduty_api.url)
    config["slack"]["signing_secret"] = ""
    config["slack"]["app_token"] = fake_slack.app_token
    bot = await make_bot(config)
    shown = await first_message(bot, fake_slack)
    payload = json.loads(parse_qs(block_actions(shown["acknowledge"]).decode())["payload"][0])

    ack = await fake_slack.socket_send(
        {
            "envelope_id": "e-2",
            "type": "interactive",
            "accepts_response_payload": False,
            "payload": payload,
        }
    )

    assert ack["envelope_id"] == "e-2"
    [update] = await fake_slack.wait_for(1, "chat.update")
    assert list(buttons_of(update)) == ["resolve", "mute_1h"]
    assert pagerduty_api.calls[0].headers["From"] == "alice@acme.com"
