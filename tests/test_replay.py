"""Dead letters: told to the operators, listed and replayed from the command line."""

from __future__ import annotations

import asyncio
import json

from bot.cli.main import main
from bot.intake.web import STORE
from tests.conftest import (
    base_config,
    eventually,
    github_headers,
    issue_body,
    let_time_pass,
    posts_on,
)


async def cli(tmp_path, capsys, *argv: str) -> tuple[int, str, str]:
    """``python -m bot --config cli.toml ARGV``, run beside the bot as an operator would:
    the exit code, what it printed, and what it complained about."""
    config = tmp_path / "cli.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n')
    code = await asyncio.to_thread(main, ["--config", str(config), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def post_issue(bot, number: int) -> str:
    body = issue_body(number)
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, "issues", f"d-{number}")
    )
    return (await response.json())["id"]


def two_targets(tmp_path, slack_url: str) -> dict:
    return base_config(
        tmp_path,
        slack_url,
        targets={"eng": {"slack": "#eng"}, "ops": {"slack": "#ops"}},
        routes=[{"to": ["eng", "ops"]}],
    )


async def test_replay_all_with_filters_requeues_just_those_and_shows_progress(
    tmp_path, fake_slack, make_bot, clock, capsys
):
    fake_slack.fail_next(times=3, error="channel_not_found", channel="#eng")
    fake_slack.fail_next(times=3, error="is_archived", channel="#ops")
    bot = await make_bot(two_targets(tmp_path, fake_slack.url), clock)
    for number in range(3):
        await post_issue(bot, number)
    store = bot.app[STORE]

    async def six_dead():
        return len(await store.dead_letters()) == 6

    assert await eventually(six_dead, clock=clock)

    code, out, _ = await cli(tmp_path, capsys, "dead", "list", "--error", "ARCHIVED")
    assert code == 0
    assert out.count("/ops") == 3 and "/eng" not in out
    assert "3 dead letter(s)" in out

    code, out, _ = await cli(
        tmp_path, capsys, "replay", "--all", "--target", "eng", "--since", "1h"
    )
    assert code == 0
    assert "replaying 3 dead letter(s) (target=eng, since " in out
    assert "[3/3] delivery" in out and "3 queued" in out

    # The bot polls the store (fake seconds, moved here): the command line cannot nudge it.
    posts = await posts_on(fake_slack, 3, clock)
    assert sorted(p.body["channel"] for p in posts) == ["#eng"] * 3
    remaining = await store.dead_letters()
    assert sorted(d["target"] for d in remaining) == ["ops"] * 3

    code, out, _ = await cli(tmp_path, capsys, "replay", "--all", "--source", "stripe")
    assert (code, out.strip()) == (0, "no dead letters to replay (source=stripe)")


async def test_replay_needs_an_id_or_all(tmp_path, capsys):
    assert (await cli(tmp_path, capsys, "migrate"))[0] == 0  # a store, as the bot leaves one
    code, out, err = await cli(tmp_path, capsys, "replay", "--target", "eng")
    assert code == 2 and out == "" and "give one ID, or --all" in err
    code, out, err = await cli(tmp_path, capsys, "dead", "list", "--since", "last tuesday")
    assert code == 2 and out == "" and "give a duration" in err


def test_config_may_follow_a_nested_command(tmp_path, capsys):
    """``dead list --config FILE``, the way the README writes every other command."""
    config = tmp_path / "cli.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n')
    assert main(["migrate", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["dead", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "no dead letters"


def test_one_shot_commands_print_their_answer_without_info_logs(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    config = tmp_path / "cli.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n')
    assert main(["migrate", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["list", "--config", str(config)]) == 0
    said = capsys.readouterr()
    assert said.out.strip() == "No mutes or reroutes in force."
    assert said.err == ""  # no `info command ... ok=True` under the answer


async def test_replaying_a_request_uses_todays_routes_and_templates(
    tmp_path, fake_slack, make_bot, clock, capsys
):
    """The request is normalized, routed and rendered again: a fixed config applies."""
    fake_slack.fail_next(error="channel_not_found", channel="#typo")
    yesterday = base_config(
        tmp_path, fake_slack.url, targets={"eng": {"slack": "#typo"}}, routes=[{"to": ["eng"]}]
    )
    bot = await make_bot(yesterday, clock)
    inbox_id = await post_issue(bot, 7)
    assert await eventually(bot.app[STORE].dead_letters, clock=clock)
    await bot.close()

    templates = tmp_path / "templates" / "github"
    templates.mkdir(parents=True)
    (templates / "issues.j2").write_text(
        '{% extends "default.j2" %}{% block title %}Today: {{ event.title }}{% endblock %}'
    )
    today = base_config(
        tmp_path,
        fake_slack.url,
        targets={"eng": {"slack": "#eng"}},
        routes=[{"to": ["eng"]}],
        templates={"dir": str(tmp_path / "templates")},
    )
    bot = await make_bot(today, clock)
    code, out, _ = await cli(tmp_path, capsys, "replay", inbox_id)
    assert code == 0 and "normalized again with today's config" in out

    [post] = await posts_on(fake_slack, 1, clock)
    assert post.body["channel"] == "#eng"
    assert post.title == "Today: [a/b] Issue #7: issue 7"
    assert await bot.app[STORE].dead_letters() == []


def notifying(tmp_path, slack_url: str) -> dict:
    return base_config(
        tmp_path,
        slack_url,
        delivery={"notify": "ops"},
        targets={"eng": {"slack": "#eng"}, "ops": {"slack": "#ops"}},
        routes=[{"to": ["eng"]}],
    )


async def test_deaths_are_told_to_the_notify_target_in_one_message(
    tmp_path, fake_slack, make_bot, clock
):
    fake_slack.fail_next(times=3, error="channel_not_found", channel="#eng")
    bot = await make_bot(notifying(tmp_path, fake_slack.url), clock)
    for number in range(3):
        await post_issue(bot, number)

    [notice] = await posts_on(fake_slack, 1, clock)
    await let_time_pass(clock, 0.5)
    assert len(fake_slack.posts()) == 1  # one message for the three, not three
    assert notice.body["channel"] == "#ops"
    assert notice.body["text"] == "3 failed deliveries"
    listing = json.dumps(notice.body["attachments"])
    assert all(f"Not delivered to eng: issues.opened {n}.0" in listing for n in (1, 2, 3))


async def test_a_notice_that_dies_is_not_announced_again(tmp_path, fake_slack, make_bot, clock):
    fake_slack.fail_next(times=5, error="channel_not_found", channel="#eng")
    fake_slack.fail_next(times=5, error="channel_not_found", channel="#ops")
    bot = await make_bot(notifying(tmp_path, fake_slack.url), clock)
    await post_issue(bot, 1)
    store = bot.app[STORE]

    async def both_dead():
        dead = await store.dead_letters()
        return dead if len(dead) == 2 else None

    dead = await eventually(both_dead, clock=clock)
    assert sorted(d["target"] for d in dead) == ["eng", "ops"]
    await let_time_pass(clock, 2.5)  # a notice about the notice would be due by now
    assert len(await store.dead_letters()) == 2
    assert len([c for c in fake_slack.calls if c.body.get("channel") == "#ops"]) == 1
