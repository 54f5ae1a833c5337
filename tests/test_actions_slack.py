"""Buttons under a PagerDuty incident in Slack: a signed click acts at PagerDuty, the
message follows, the provider's echo is folded in; refusals and failures are told."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.cli.main import main
from bot.intake.web import STORE
from tests.actions import block_actions, buttons_of, links_of, slack_click
from tests.conftest import eventually, fixture_bytes, github_headers, on_loopback
from tests.fakes.apis import PAGERDUTY_FORBIDDEN, FakeApi, fake_github, fake_pagerduty
from tests.fakes.slack import FakeSlack
from tests.senders import PAGERDUTY_SECRET
from tests.senders import pagerduty as pagerduty_headers
from tests.test_slack_commands import slack_config


@pytest.fixture
async def pd() -> Any:
    fake = fake_pagerduty()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url(""))
        yield fake


def pd_config(tmp_path: Any, slack_url: str, pd_url: str, **sections: Any) -> dict[str, Any]:
    config = slack_config(tmp_path, slack_url, **sections)
    config["sources"]["pd"] = {
        "provider": "pagerduty",
        "secret": PAGERDUTY_SECRET,
        "api_token": "pd-rest-key",
        "api_url": pd_url,
        "from_email": "oncall@acme.com",
    }
    config.setdefault("people", {"U1": "alice@acme.com"})
    return config


INCIDENT = "PFQZPSY"  # the sample's incident; its later states are made from it
STATES = {
    "triggered": "triggered",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "escalated": "triggered",
}


async def incident(bot: Any, event: str) -> None:
    """PagerDuty's webhook for ``incident.<event>`` of the one incident, a minute later
    for each step, so each is newer than the last."""
    payload = json.loads(fixture_bytes("pagerduty/incident__triggered.json"))
    step = list(STATES).index(event)
    payload["event"].update(
        id=f"01BZYIL05THJDFF2Y08X9SV{step:03d}",
        event_type=f"incident.{event}",
        occurred_at=f"2021-06-04T13:{35 + step}:29.781Z",
    )
    payload["event"]["data"]["status"] = STATES[event]
    body = json.dumps(payload).encode()
    response = await bot.post("/hooks/pd", data=body, headers=pagerduty_headers(body))
    assert response.status == 200


async def first_message(bot: Any, slack: FakeSlack) -> dict[str, dict[str, Any]]:
    await incident(bot, "triggered")
    [post] = await slack.wait_for(1)
    return buttons_of(post)


async def ephemeral(slack: FakeSlack, count: int = 1) -> str:
    calls = await slack.wait_for(count, "chat.postEphemeral")
    assert calls[-1].body["user"] == "U1"
    return str(calls[-1].body["text"])


async def test_acknowledge_from_slack_acts_at_pagerduty_and_the_message_follows(
    tmp_path, fake_slack, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)
    assert list(shown) == ["acknowledge", "resolve", "mute_1h"]

    await slack_click(bot, shown["acknowledge"])

    [update] = await fake_slack.wait_for(1, "chat.update")
    [call] = pd.calls
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


async def test_resolve_ends_the_buttons_and_a_stale_click_refreshes(
    tmp_path, fake_slack, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)
    await incident(bot, "resolved")  # resolved in PagerDuty's UI meanwhile
    [changed] = await fake_slack.wait_for(1, "chat.update")
    assert buttons_of(changed) == {}  # no action on a resolved conversation
    [post] = fake_slack.posts()
    policy = ("Escalation policy", "https://pig208.pagerduty.com/escalation_policies/PY82TC6")
    assert links_of(post) == links_of(changed) == [policy]  # the pages it is about stay

    await slack_click(bot, shown["acknowledge"])  # the button the page still showed

    text = await ephemeral(fake_slack)
    assert "Acknowledge is not possible any more: it was resolved meanwhile" in text
    refreshed = (await fake_slack.wait_for(2, "chat.update"))[-1]
    assert buttons_of(refreshed) == {}
    assert pd.calls == []


async def test_a_double_click_acts_once(tmp_path, fake_slack, pd, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)
    pd.slow = 0.5  # the first click is still at PagerDuty when the second arrives

    await asyncio.gather(slack_click(bot, shown["resolve"]), slack_click(bot, shown["resolve"]))

    text = await ephemeral(fake_slack)
    assert "Resolve is already done (or under way)" in text
    [update] = await fake_slack.wait_for(1, "chat.update")
    assert buttons_of(update) == {}
    assert len(pd.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "told"),
    [
        (
            403,
            PAGERDUTY_FORBIDDEN,
            "Acknowledge failed: PagerDuty answered 403: Access Denied "
            "(this API key cannot write incidents)",
        ),
        (500, {"error": {"message": "Internal error"}}, "PagerDuty answered 500: Internal error"),
    ],
)
async def test_a_refusal_by_pagerduty_is_told_and_the_click_can_be_retried(
    tmp_path, fake_slack, pd, make_bot, status, body, told
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)
    pd.answer(status, body)

    await slack_click(bot, shown["acknowledge"])

    assert told in await ephemeral(fake_slack)
    assert "pd-rest-key" not in json.dumps([c.body for c in fake_slack.calls])
    assert fake_slack.posts("chat.update") == []  # the message still offers the action
    pd.answer(200, {"incident": {"status": "acknowledged"}})
    await slack_click(bot, shown["acknowledge"])
    await fake_slack.wait_for(1, "chat.update")
    assert len(pd.calls) == 2
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="acknowledge",outcome="failed",source="pd"} 1.0' in metrics
    assert 'bot_actions_total{action="acknowledge",outcome="ok",source="pd"} 1.0' in metrics


async def test_a_provider_that_does_not_answer_in_5s_is_told(tmp_path, fake_slack, pd, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)
    pd.slow = 8

    await slack_click(bot, shown["acknowledge"])  # answered at once: the ack comes first

    text = await ephemeral(fake_slack)
    assert "PagerDuty did not answer within 5 s" in text


async def test_only_the_allowed_may_click_and_a_refusal_says_why(
    tmp_path, fake_slack, pd, make_bot
):
    config = pd_config(
        tmp_path,
        fake_slack.url,
        pd.url,
        actions={"allowed": ["admins"]},
        commands={"admins": ["UBOSS"]},
    )
    bot = await make_bot(config)
    shown = await first_message(bot, fake_slack)

    await slack_click(bot, shown["acknowledge"])

    text = await ephemeral(fake_slack)
    assert "you may not act on sources from chat here" in text
    assert "[commands] admins" in text and "(U1)" in text
    assert pd.calls == []
    await slack_click(bot, shown["acknowledge"], user="UBOSS", name="boss")
    [call] = await _calls(pd)
    assert call.headers["From"] == "oncall@acme.com"  # UBOSS is not in [people]


async def test_a_click_from_another_workspace_is_refused_and_counted(
    tmp_path, fake_slack, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)

    await slack_click(bot, shown["acknowledge"], team="T0OTHER")

    text = await ephemeral(fake_slack)
    assert "(T0OTHER) is not one this bot takes commands and clicks from" in text
    assert "[slack] team_ids" in text
    assert pd.calls == [] and fake_slack.posts("chat.update") == []
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_commands_refused_total{platform="slack",reason="unbound workspace"} 1.0' in metrics
    assert "bot_actions_total{" not in metrics  # nothing was looked up or recorded


async def _calls(fake: FakeApi) -> list[Any]:
    async def some() -> list[Any]:
        return fake.calls

    return list(await eventually(some))


async def test_the_click_is_recorded_shown_by_why_and_people_check(
    tmp_path, fake_slack, pd, make_bot
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url, people={}))
    shown = await first_message(bot, fake_slack)
    await slack_click(bot, shown["acknowledge"])
    await fake_slack.wait_for(1, "chat.update")

    [action] = await bot.app[STORE].recent_actions()
    assert (action.action, action.outcome, action.user_id) == ("acknowledge", "ok", "U1")
    assert action.identity == "alice"  # not in [people]: PagerDuty got from_email
    assert pd.calls[0].headers["From"] == "oncall@acme.com"
    assert "incident PFQZPSY is acknowledged" in action.answer

    from tests.test_slack_commands import notify

    why = await notify(bot, "why 1.0")
    assert "acknowledge by alice (slack:U1)" in why and "ok: incident PFQZPSY" in why


async def test_mute_this_1h_and_unmute_from_the_message(tmp_path, fake_slack, pd, make_bot):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url))
    shown = await first_message(bot, fake_slack)

    await slack_click(bot, shown["mute_1h"])

    [update] = await fake_slack.wait_for(1, "chat.update")
    assert list(buttons_of(update)) == ["acknowledge", "resolve", "unmute"]
    [mute] = await bot.app[STORE].live_mutes()
    assert mute.threads == ["pagerduty:PFQZPSY"] and mute.creator == "slack:U1 (alice)"
    await incident(bot, "escalated")  # kept, not posted: this conversation is muted here

    async def held() -> bool:
        rows = await bot.app[STORE].deliveries_for("2.0/eng")
        return bool(rows) and rows[0].state == "muted"

    assert await eventually(held)
    await slack_click(bot, buttons_of(update)["unmute"])
    second = (await fake_slack.wait_for(2, "chat.update"))[-1]
    assert list(buttons_of(second)) == ["acknowledge", "resolve", "mute_1h"]
    assert await bot.app[STORE].live_mutes() == []


@pytest.fixture
async def gh() -> Any:
    fake = fake_github()
    async with on_loopback(fake.app) as server:
        fake.url = str(server.make_url(""))
        yield fake


async def test_rerun_failed_jobs_of_a_failed_workflow_run(tmp_path, fake_slack, gh, make_bot):
    config = slack_config(tmp_path, fake_slack.url)
    config["sources"]["github"].update(api_token="ghp-test-token", api_url=gh.url)
    bot = await make_bot(config)
    payload = json.loads(fixture_bytes("github/workflow_run__completed.json"))
    payload["workflow_run"]["conclusion"] = "failure"
    body = json.dumps(payload).encode()
    headers = github_headers(body, "workflow_run", "run-1")
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    [post] = await fake_slack.wait_for(1)
    shown = buttons_of(post)
    assert list(shown) == ["rerun", "mute_1h"]

    await slack_click(bot, shown["rerun"])

    [update] = await fake_slack.wait_for(1, "chat.update")
    [call] = gh.calls
    assert (call.method, call.path) == (
        "POST",
        "/repos/octo-org/octo-repo/actions/runs/289782451/rerun-failed-jobs",
    )
    assert call.headers["Authorization"] == "Bearer ghp-test-token"
    assert list(buttons_of(update)) == ["mute_1h"]  # under way: no second re-run
    assert "Re-run of failed jobs started by @alice via Slack" in json.dumps(update.body)


async def test_people_check_lists_clickers_missing_from_people(
    tmp_path, fake_slack, pd, make_bot, capsys
):
    bot = await make_bot(pd_config(tmp_path, fake_slack.url, pd.url, people={}))
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


async def test_the_inspector_lists_clicks_without_tokens(tmp_path, fake_slack, pd, make_bot):
    config = pd_config(tmp_path, fake_slack.url, pd.url, inspector={"token": "inspect-me"})
    bot = await make_bot(config)
    shown = await first_message(bot, fake_slack)
    pd.answer(403, PAGERDUTY_FORBIDDEN)
    await slack_click(bot, shown["acknowledge"])
    await ephemeral(fake_slack)

    page = await (await bot.get("/inspect", headers={"Authorization": "Bearer inspect-me"})).text()

    clicks = page.split('id="actions"', 1)[1].split("</table>", 1)[0]
    assert "alice (slack:U1, as alice@acme.com)" in clicks
    assert "acknowledge" in clicks and "failed" in clicks
    assert "PagerDuty answered 403: Access Denied" in clicks
    assert "pd-rest-key" not in page


async def test_a_click_over_socket_mode_acts_too(tmp_path, fake_slack, pd, make_bot):
    config = pd_config(tmp_path, fake_slack.url, pd.url)
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
    assert pd.calls[0].headers["From"] == "alice@acme.com"
