"""Every action and every refusal, clicked in Slack (signed ``block_actions``) and in
Discord (Ed25519-signed component interactions, type 3): the source is called, the one
message follows with its new buttons, the thread says who did it, and what went wrong is
told to the clicker alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.intake.web import STORE
from tests.actions import (
    Clicks,
    MattermostClicks,
    TelegramClicks,
    incident,
    pagerduty_bot,
    some,
    with_pagerduty,
)
from tests.conftest import eventually, fixture_bytes, github_headers
from tests.fakes.apis import FakeApi
from tests.fakes.clock import FakeClock

POLICY = ("Escalation policy", "https://pig208.pagerduty.com/escalation_policies/PY82TC6")


async def edits(clicks: Clicks, count: int) -> list[dict[str, Any]]:
    """The message's versions once it was edited ``count`` times."""

    async def enough() -> list[dict[str, Any]]:
        versions = clicks.versions()
        return versions if len(versions) > count else []

    return list(await eventually(enough))


async def told(clicks: Clicks, count: int = 1) -> str:
    """The newest thing told to a clicker alone, once ``count`` were."""

    async def enough() -> list[str]:
        said = clicks.told()
        return said if len(said) >= count else []

    return str((await eventually(enough))[-1])


async def test_resolve_clears_the_buttons_and_pagerdutys_echo_adds_no_second_reply(
    tmp_path, clicks, pagerduty_api, make_bot
):
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    assert list(clicks.buttons()) == ["acknowledge", "resolve", "mute_1h"]

    await clicks.press(bot, clicks.buttons()["resolve"])

    await edits(clicks, 1)
    assert clicks.buttons() == {}  # no action on a resolved conversation
    assert clicks.links(0) == clicks.links() == [POLICY]  # the pages it is about stay
    assert f"Resolved by @alice via {clicks.via}" in clicks.text()
    assert pagerduty_api.calls[0].body["incident"]["status"] == "resolved"
    [reply] = await eventually(lambda: some(clicks.replies()))
    assert f"Resolved by @alice via {clicks.via}" in reply

    await incident(bot, "resolved")  # PagerDuty's own webhook for the same change

    async def folded() -> bool:
        rows = await bot.app[STORE].deliveries_for("2.0")
        return bool(rows) and rows[0].ref.get("action") == "skipped"

    assert await eventually(folded)
    assert len(clicks.replies()) == 1 and len(clicks.versions()) == 2 and clicks.messages() == 1


async def test_a_change_made_in_pagerduty_updates_the_buttons(
    tmp_path, clicks, pagerduty_api, make_bot
):
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)

    await incident(bot, "acknowledged")  # acknowledged in PagerDuty's own UI

    await edits(clicks, 1)
    assert list(clicks.buttons()) == ["resolve", "mute_1h"]
    await incident(bot, "resolved")
    await edits(clicks, 2)
    assert clicks.buttons() == {}
    assert pagerduty_api.calls == []


async def test_a_stale_click_says_so_and_refreshes_the_message(
    tmp_path, clicks, pagerduty_api, make_bot
):
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    await incident(bot, "resolved")  # resolved in PagerDuty's UI meanwhile
    await edits(clicks, 1)
    assert clicks.buttons() == {} and clicks.links() == [POLICY]
    if isinstance(clicks, MattermostClicks):
        # Mattermost finds a clicked button in the post as it is now: one the post no
        # longer shows is refused by the server (404) and never reaches the bot. The
        # stale click that does reach it is in test_actions_mattermost.py.
        with pytest.raises(LookupError, match="has no action"):
            await clicks.press(bot, clicks.buttons(0)["acknowledge"])
        assert pagerduty_api.calls == []
        return

    await clicks.press(bot, clicks.buttons(0)["acknowledge"])  # the button the page still showed

    text = await told(clicks)
    assert "Acknowledge is not possible any more: it was resolved meanwhile" in text
    assert "The message now shows the current state" in text
    if isinstance(clicks, TelegramClicks):
        # It shows the current state already, and Telegram keeps no edit that changes
        # nothing: the refresh is asked for, and answered "message is not modified".
        await eventually(lambda: some(clicks.unchanged_edits()))
    else:
        await edits(clicks, 2)
    assert clicks.buttons() == {}
    assert pagerduty_api.calls == []


async def test_a_double_click_acts_once(tmp_path, clicks, pagerduty_api, make_bot):
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)
    resolve = clicks.buttons()["resolve"]
    pagerduty_api.hold()  # the first click is still at PagerDuty when the second arrives

    await clicks.press(bot, resolve)
    await eventually(lambda: some(pagerduty_api.calls))
    await clicks.press(bot, resolve)

    assert "Resolve is already done (or under way); nothing more to do." in await told(clicks)
    pagerduty_api.release()
    await edits(clicks, 1)
    assert clicks.buttons() == {}
    assert len(pagerduty_api.calls) == 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="resolve",outcome="duplicate",source="pd"} 1.0' in metrics
    assert 'bot_actions_total{action="resolve",outcome="ok",source="pd"} 1.0' in metrics


async def test_a_provider_silent_for_5s_is_told_and_nothing_changes(
    tmp_path, clicks, pagerduty_api, make_bot
):
    clock = FakeClock()
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot, clock)
    pagerduty_api.hold()  # PagerDuty takes the request and never answers

    await clicks.press(bot, clicks.buttons()["acknowledge"])  # answered at once all the same

    async def said() -> list[str]:
        return clicks.told()

    [text] = await eventually(said, clock=clock, step=0.5)
    assert "Acknowledge failed: PagerDuty did not answer within 5 s" in text
    assert "try again in a moment" in text
    assert len(clicks.versions()) == 1  # the message still offers Acknowledge
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="acknowledge",outcome="failed",source="pd"} 1.0' in metrics


async def test_only_the_allowed_may_click_and_a_refusal_says_why(
    tmp_path, clicks, pagerduty_api, make_bot
):
    bot = await pagerduty_bot(
        clicks,
        tmp_path,
        pagerduty_api,
        make_bot,
        actions={"allowed": ["admins"]},
        commands={"admins": ["9000"]},
    )

    await clicks.press(bot, clicks.buttons()["acknowledge"])

    text = await told(clicks)
    assert "you may not act on sources from chat here: [actions] allowed" in text
    assert "[commands] admins" in text and f"({clicks.user})" in text
    assert pagerduty_api.calls == [] and len(clicks.versions()) == 1
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="acknowledge",outcome="refused",source="pd"} 1.0' in metrics

    await clicks.press(bot, clicks.buttons()["acknowledge"], user="9000", name="boss")

    [call] = await eventually(lambda: some(pagerduty_api.calls))
    assert call.headers["From"] == "oncall@acme.com"  # 9000 is not in [people]
    await edits(clicks, 1)
    assert f"Acknowledged by @boss via {clicks.via}" in clicks.text()


async def test_mute_this_1h_and_unmute_from_the_message(tmp_path, clicks, pagerduty_api, make_bot):
    bot = await pagerduty_bot(clicks, tmp_path, pagerduty_api, make_bot)

    await clicks.press(bot, clicks.buttons()["mute_1h"])

    await edits(clicks, 1)
    assert list(clicks.buttons()) == ["acknowledge", "resolve", "unmute"]
    assert f"Muted here for 1h by @alice via {clicks.via}" in clicks.text()
    [mute] = await bot.app[STORE].live_mutes()
    assert mute.threads == ["pagerduty:PFQZPSY"]
    assert mute.creator == f"{clicks.platform}:{clicks.user} (alice)"
    await incident(bot, "escalated")  # kept, not posted: this conversation is muted here

    async def held() -> bool:
        rows = await bot.app[STORE].deliveries_for("2.0")
        return bool(rows) and rows[0].state == "muted"

    assert await eventually(held)
    await clicks.press(bot, clicks.buttons()["unmute"])
    await edits(clicks, 2)
    assert list(clicks.buttons()) == ["acknowledge", "resolve", "mute_1h"]
    assert await bot.app[STORE].live_mutes() == []
    assert pagerduty_api.calls == []  # ours: PagerDuty is not asked


async def failed_run_bot(clicks: Clicks, tmp_path: Any, api: FakeApi, make_bot: Any) -> Any:
    """A bot whose GitHub source may re-run jobs at ``api``, a failed run's message up;
    the clicker is octocat on GitHub by ``[people]``."""
    config = clicks.config(tmp_path, people={clicks.user: "octocat"})
    config["sources"]["github"].update(api_token="ghp-test-token", api_url=api.url)
    bot = await make_bot(config)
    payload = json.loads(fixture_bytes("github/workflow_run__completed.json"))
    payload["workflow_run"]["conclusion"] = "failure"
    body = json.dumps(payload).encode()
    headers = github_headers(body, "workflow_run", "run-1")
    assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    await clicks.posted()
    return bot


async def test_rerun_failed_jobs_of_a_failed_workflow_run(tmp_path, clicks, github_api, make_bot):
    bot = await failed_run_bot(clicks, tmp_path, github_api, make_bot)
    assert list(clicks.buttons()) == ["rerun", "mute_1h"]

    await clicks.press(bot, clicks.buttons()["rerun"])

    await edits(clicks, 1)
    [call] = github_api.calls
    assert (call.method, call.path) == (
        "POST",
        "/repos/octo-org/octo-repo/actions/runs/289782451/rerun-failed-jobs",
    )
    assert call.headers["Authorization"] == "Bearer ghp-test-token"
    assert call.body is None  # the endpoint takes no note: GitHub logs the token's account
    assert list(clicks.buttons()) == ["mute_1h"]  # under way: no second re-run
    done = f"Re-run of failed jobs started by @alice via {clicks.via} (octocat on GitHub)"
    assert done in clicks.text()
    [reply] = await eventually(lambda: some(clicks.replies()))
    assert done in reply  # the audit note: who asked, by their GitHub handle
    [action] = await bot.app[STORE].recent_actions()
    assert (action.action, action.outcome, action.identity) == ("rerun", "ok", "octocat")
    assert "failed jobs re-run, asked by octocat" in action.answer  # what `why` shows


GITHUB_FORBIDDEN = {
    # GitHub's answer to a token without actions:write: docs.github.com/en/rest/
    # using-the-rest-api/troubleshooting-the-rest-api ("Resource not accessible by ...").
    "message": "Resource not accessible by integration",
    "documentation_url": (
        "https://docs.github.com/rest/actions/workflow-runs#re-run-failed-jobs-from-a-workflow-run"
    ),
    "status": "403",
}


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (
            403,
            GITHUB_FORBIDDEN,
            "Re-run failed jobs failed: GitHub answered 403: Resource not accessible by "
            "integration; fix: grant the account behind [sources.github]'s api_token this "
            "permission",
        ),
        (500, None, "Re-run failed jobs failed: GitHub answered 500: no reason given"),
    ],
)
async def test_a_refused_rerun_is_told_and_the_button_stays(
    tmp_path, clicks, github_api, make_bot, status, body, said
):
    bot = await failed_run_bot(clicks, tmp_path, github_api, make_bot)
    github_api.answer(status, body)

    await clicks.press(bot, clicks.buttons()["rerun"])

    text = await told(clicks)
    assert said in text
    assert "ghp-test-token" not in text
    assert len(github_api.calls) == 1
    assert len(clicks.versions()) == 1 and list(clicks.buttons()) == ["rerun", "mute_1h"]
    metrics = await (await bot.get("/metrics")).text()
    assert 'bot_actions_total{action="rerun",outcome="failed",source="github"} 1.0' in metrics


async def test_without_its_api_a_source_offers_only_our_mute(tmp_path, clicks, make_bot):
    config = with_pagerduty(clicks.config(tmp_path), "", clicks.user)
    del config["sources"]["pd"]["api_token"]  # the webhook alone: PagerDuty cannot be asked
    bot = await make_bot(config)

    await incident(bot, "triggered")

    await clicks.posted()
    assert list(clicks.buttons()) == ["mute_1h"]


async def test_the_api_token_comes_from_the_environment_per_source(
    tmp_path, clicks, pagerduty_api, make_bot, monkeypatch
):
    config = with_pagerduty(clicks.config(tmp_path), pagerduty_api.url, clicks.user)
    del config["sources"]["pd"]["api_token"]
    monkeypatch.setenv("BOT_SOURCES__PD__API_TOKEN", "pd-key-from-env")
    bot = await make_bot(config)
    await incident(bot, "triggered")
    await clicks.posted()

    await clicks.press(bot, clicks.buttons()["acknowledge"])

    [call] = await eventually(lambda: some(pagerduty_api.calls))
    assert call.headers["Authorization"] == "Token token=pd-key-from-env"
    await edits(clicks, 1)
    assert "pd-key-from-env" not in json.dumps(clicks.versions())
