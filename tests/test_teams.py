"""Microsoft Teams through a Workflows webhook: Adaptive Cards within 28 KB, one card per
state change, and what each answer leads to."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.chat.teams.adapter import MAX_BYTES, TeamsAdapter, card_for, classify, payload, size
from bot.intake.web import STORE
from bot.render.renderer import RESOLVED_COLOR, SEVERITY_COLORS, Field, Message
from tests.conftest import base_config, eventually, github_headers, post_issue
from tests.fakes.teams import SIG, FakeTeams, card_problem, texts
from tests.test_commands import pull_request


def config(fake: FakeTeams, tmp_path: Any, url: str | None = None) -> dict[str, Any]:
    return base_config(
        tmp_path,
        targets={"room": {"teams_webhook": url or fake.webhook_url()}},
        routes=[{"to": ["room"]}],
        delivery={"retry_base": "0.05s", "retry_cap": "0.1s"},
    )


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "12"}, True, 12.0),
        (429, {}, True, 1.0),
        (500, {}, True, None),
        (502, {}, True, None),
        (400, {}, False, None),
        (401, {}, False, None),
        (403, {}, False, None),
        (404, {}, False, None),
        (413, {}, False, None),
    ],
)
def test_failure_classification(status, headers, retryable, retry_after):
    error = classify(status, headers, "")
    assert error.retryable is retryable
    assert error.retry_after == retry_after


def test_a_card_has_the_title_facts_style_and_a_button():
    message = Message(
        title="**Disk** full",
        url="https://grafana.example.com/d/1",
        text="on node-1",
        fields=[Field(name="Host", value="node-1"), Field(name="Env", value="prod")],
        color=SEVERITY_COLORS["error"],
        footer="Grafana",
    )
    card = card_for(message)
    assert card_problem(payload(message)) is None
    assert card["version"] == "1.4"
    [container, facts, footer] = card["body"]
    assert container["style"] == "attention" and container["items"][0]["weight"] == "Bolder"
    assert facts["facts"] == [
        {"title": "Host", "value": "node-1"},
        {"title": "Env", "value": "prod"},
    ]
    assert footer["isSubtle"] is True
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open", "url": "https://grafana.example.com/d/1"}
    ]
    resolved = card_for(message.model_copy(update={"color": RESOLVED_COLOR}))
    assert resolved["body"][0]["style"] == "good"


def test_huge_messages_fit_in_28_kb():
    message = Message(
        title="T" * 5000,
        text="ü" * 100_000,
        fields=[Field(name=f"f{i}", value="v" * 5000) for i in range(40)],
        footer="f" * 5000,
    )
    body = payload(message)
    assert size(body) <= MAX_BYTES
    assert texts(body["attachments"][0]["content"])[1].endswith("…")


async def test_each_change_is_a_new_card_through_the_whole_url(tmp_path, fake_teams, make_bot):
    bot = await make_bot(config(fake_teams, tmp_path))
    for action, delivery in (("opened", "d1"), ("closed", "d2")):
        body = pull_request(action, merged=action == "closed")
        headers = github_headers(body, "pull_request", delivery)
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    opened, merged = await fake_teams.wait_until(
        lambda: len(fake_teams.cards()) == 2 and fake_teams.cards()
    )
    # The state shows on the card, in its headline.
    assert texts(merged)[0] == "🟣 Merged by Codertocat into master"
    assert "merged" not in json.dumps(opened).lower()
    assert all(c.query["sig"] == SIG and c.status == 202 for c in fake_teams.calls)


async def test_a_429_waits_as_long_as_teams_says(tmp_path, fake_teams, make_bot, clock):
    fake_teams.fail_next(status=429, headers={"Retry-After": "20"})
    bot = await make_bot(config(fake_teams, tmp_path), clock)
    await post_issue(bot, "throttled", "d1")
    await fake_teams.wait_until(lambda: fake_teams.calls)
    started = clock.monotonic()

    async def posted() -> bool:
        return bool(fake_teams.cards())

    await eventually(posted, clock=clock, step=1.0)
    assert clock.monotonic() - started >= 19
    assert [c.status for c in fake_teams.calls] == [429, 202]


async def test_server_errors_are_retried(tmp_path, fake_teams, make_bot, clock):
    fake_teams.fail_next(2, status=502)
    bot = await make_bot(config(fake_teams, tmp_path), clock)
    await post_issue(bot, "flaky", "d1")

    async def carded() -> list[Any]:
        return fake_teams.cards()

    await eventually(carded, clock=clock, step=0.25)  # the backoff runs out in fake time
    assert [c.status for c in fake_teams.calls] == [502, 502, 202]


async def test_a_url_without_its_signature_or_workflow_fails_at_once(
    tmp_path, fake_teams, make_bot
):
    unsigned = fake_teams.webhook_url().split("&sig=")[0]
    bot = await make_bot(config(fake_teams, tmp_path, unsigned))
    await post_issue(bot, "nobody sees this", "d1")

    async def dead():
        deliveries = await bot.app[STORE].deliveries_for("1")
        return deliveries[0] if deliveries and deliveries[0].state == "dead" else None

    delivery = await eventually(dead)
    assert "sig=" in delivery.last_error and "401" in delivery.last_error
    assert len(fake_teams.calls) == 1


def test_the_lane_never_shows_the_signature():
    url = (
        "https://prod.example.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SECRET"
    )
    lane = TeamsAdapter(None).lane(url)  # type: ignore[arg-type]
    assert "SECRET" not in lane and lane.startswith("teams:")
