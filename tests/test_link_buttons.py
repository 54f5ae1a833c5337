"""Link buttons: the pages an event is about (Checks, Runbook, Dashboard, Silence), as
buttons where the platform has them and as links where it has none, next to the action
buttons and within each platform's limits. Webhooks go in over a real socket; what a
reader sees is read off each fake chat server."""

from __future__ import annotations

import json
from typing import Any

from tests.chats import Chat, discord_links, posted
from tests.conftest import (
    DISCORD_WEBHOOK,
    base_config,
    discord_section,
    eventually,
    fixture_bytes,
    github_headers,
    issue_body,
)
from tests.senders import ALERTMANAGER_TOKEN, bearer
from tests.test_commands import pull_request
from tests.test_discord_commands import config as discord_config
from tests.test_slack_commands import slack_config

PR = "https://github.com/Codertocat/Hello-World/pull/2"
"""The pull request of the sample (GitHub's documented ``pull_request`` payload)."""
PR_LINKS = [("Files changed", f"{PR}/files"), ("Checks", f"{PR}/checks")]


async def send(bot: Any, event: str, body: bytes, delivery: str) -> None:
    response = await bot.post(
        "/hooks/github", data=body, headers=github_headers(body, event, delivery)
    )
    assert response.status == 200, await response.text()


def config(tmp_path: Any, chat: Chat) -> dict[str, Any]:
    settings = base_config(tmp_path, **chat.config())
    settings["targets"] = {"eng": chat.target("eng")}
    settings["routes"] = [{"to": ["eng"]}]
    return settings


async def test_every_chat_shows_the_link_buttons_and_an_edit_keeps_them(tmp_path, poster, make_bot):
    bot = await make_bot(config(tmp_path, poster))
    await send(bot, "pull_request", pull_request("opened"), "pr-opened")
    await poster.wait_for(1)
    await send(bot, "pull_request", pull_request("closed", merged=True), "pr-merged")

    async def two_versions() -> list[list[tuple[str, str]]]:
        shown = poster.links("eng")
        return shown if len(shown) >= 2 else []

    opened, merged = (await eventually(two_versions))[:2]
    for version in (opened, merged):
        assert [link for link in version if link in PR_LINKS] == PR_LINKS
        # The title already links the pull request: only Telegram's and Teams' *Open*
        # (which is how they link the title) goes there again.
        assert all(label == "Open" for label, url in version if url == PR)
        assert len({url for _, url in version}) == len(version)


async def test_slack_puts_actions_then_links_in_one_row_within_25(tmp_path, fake_slack, make_bot):
    """A template may declare more buttons than Slack takes: the action button comes
    first and the row stops at Slack's 25 elements (the fake refuses more)."""
    templates = tmp_path / "templates" / "github"
    templates.mkdir(parents=True)
    (templates / "issues.j2").write_text(
        '{% extends "github/default.j2" %}\n'
        "{% block links %}{% for i in range(40) %}"
        '{{ button("Page " ~ i, "https://docs.example/" ~ i) }}'
        "{% endfor %}{% endblock %}\n"
    )
    settings = slack_config(
        tmp_path, fake_slack.url, templates={"dir": str(tmp_path / "templates")}
    )
    settings["commands"] = {"admins": ["U1"]}
    bot = await make_bot(settings)
    await send(bot, "issues", issue_body(1), "many")
    [post] = await fake_slack.wait_for(1)
    [row] = [block for block in post.body["attachments"][0]["blocks"] if block["type"] == "actions"]
    elements = row["elements"]
    assert len(elements) == 25
    assert elements[0]["action_id"] == "bot.mute_1h" and "url" not in elements[0]
    assert [(e["text"]["text"], e["url"]) for e in elements[1:]] == [
        (f"Page {i}", f"https://docs.example/{i}") for i in range(24)
    ]
    assert not [c for c in fake_slack.calls if c.method.endswith(":failed")]


async def test_discord_channel_buttons_fill_five_rows_of_five(tmp_path, fake_discord, make_bot):
    """Action button first, then link buttons (style 5) in the same rows; what does not
    fit (Discord's 25, or a URL over 512 characters) is still a link in the last field."""
    templates = tmp_path / "templates" / "github"
    templates.mkdir(parents=True)
    long_url = "https://docs.example/" + "a" * 600
    (templates / "issues.j2").write_text(
        '{% extends "github/default.j2" %}\n'
        "{% block links %}"
        f'{{{{ button("Long", "{long_url}") }}}}'
        "{% for i in range(30) %}"
        '{{ button("Page " ~ i, "https://docs.example/" ~ i) }}'
        "{% endfor %}{% endblock %}\n"
    )
    settings = discord_config(
        tmp_path, fake_discord, templates={"dir": str(tmp_path / "templates")}
    )
    settings["commands"] = {"admins": ["4242"]}
    bot = await make_bot(settings)
    await send(bot, "issues", issue_body(1), "many")
    [message] = await fake_discord.wait_until(lambda: fake_discord.roots() or None)
    body = message.versions[0]
    rows = body["components"]
    assert [len(row["components"]) for row in rows] == [5, 5, 5, 5, 5]
    first = rows[0]["components"][0]
    assert first["custom_id"].startswith("bot.mute_1h:") and first["style"] == 2
    buttons = [button for row in rows for button in row["components"]][1:]
    assert [(b["label"], b["url"], b["style"]) for b in buttons] == [
        (f"Page {i}", f"https://docs.example/{i}", 5) for i in range(24)
    ]
    # A message keeps 25 link buttons at most; the long URL is too long for a button.
    assert discord_links(body)[24:] == [("Long", long_url)]


async def test_a_discord_webhook_keeps_the_links_as_text(tmp_path, fake_discord, make_bot):
    """A webhook's message cannot carry components (the fake refuses them, as Discord
    does for a webhook no application owns): the links are its last field."""
    settings = base_config(
        tmp_path,
        discord=discord_section(fake_discord),
        targets={"hook": {"discord_webhook": DISCORD_WEBHOOK}},
        routes=[{"to": ["hook"]}],
    )
    bot = await make_bot(settings)
    await send(bot, "pull_request", pull_request("opened"), "pr-opened")

    async def delivered() -> list[Any]:
        return fake_discord.delivered()

    [call] = await eventually(delivered)
    assert "components" not in call.body
    [embed] = call.body["embeds"]
    assert embed["fields"][-1] == {
        "name": "Links",
        "value": f"[Files changed]({PR}/files) · [Checks]({PR}/checks)",
        "inline": False,
    }
    assert discord_links(call.body) == PR_LINKS


def alert(status: str) -> bytes:
    """One alert of Alertmanager's webhook (Zulip's fixture), with a runbook."""
    payload = json.loads(fixture_bytes("alertmanager/resolved__single_alert.json"))
    payload["status"] = payload["alerts"][0]["status"] = status
    payload["alerts"][0]["annotations"]["runbook_url"] = RUNBOOK
    if status == "resolved":
        payload["alerts"][0]["endsAt"] = "2020-02-06T00:21:10Z"
    return json.dumps(payload).encode()


RUNBOOK = "https://runbooks.example/cpu-temperature"


async def test_a_resolved_alert_keeps_its_runbook_and_loses_silence(
    tmp_path, chat, make_bot, clock
):
    settings = config(tmp_path, chat)
    settings["sources"]["prom"] = {"provider": "alertmanager", "token": ALERTMANAGER_TOKEN}
    bot = await make_bot(settings, clock)
    for status in ("firing", "resolved"):
        response = await bot.post(
            "/hooks/prom", data=alert(status), headers=bearer(ALERTMANAGER_TOKEN)
        )
        assert response.status == 200, await response.text()
        if status == "firing":
            await posted(chat.posts, 1, 10, clock, step=0.25)  # after group_wait

    async def edited() -> list[list[tuple[str, str]]]:
        shown = chat.links("eng")
        return shown if len(shown) >= 2 else []

    firing, resolved = (await eventually(edited, clock=clock, step=0.25))[:2]
    silence = [label for label, url in firing if url.startswith("http://ops1:9093/#/silences/new")]
    assert silence == ["Silence in Alertmanager"]
    # Mattermost shows the runbook once, as the link its field already has.
    assert all(RUNBOOK in {url for _, url in version} for version in (firing, resolved))
    assert not [url for _, url in resolved if "/#/silences/" in url]


def failed_run_of_pull_request_2() -> bytes:
    """GitHub's documented ``workflow_run`` sample, failed, as a run of the PR samples'
    pull request #2 (its repository, and GitHub's ``pull_requests`` entry naming it)."""
    pr = json.loads(fixture_bytes("github/pull_request__opened.json"))
    run = json.loads(fixture_bytes("github/workflow_run__completed.json"))
    run["repository"] = pr["repository"]
    run["workflow_run"]["conclusion"] = "failure"
    run["workflow_run"]["pull_requests"] = [{"number": 2, "head": {"ref": "changes"}}]
    return json.dumps(run).encode()


RUN_LINKS = [
    ("Commit", "https://github.com/Codertocat/Hello-World/commit/"),
    ("Workflow runs", "https://github.com/Codertocat/Hello-World/actions/workflows/"),
]


def run_links(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The links, each URL cut to the length of the one expected in its place."""
    return [
        (label, url[: len(prefix)])
        for (label, url), (_, prefix) in zip(shown, RUN_LINKS, strict=True)
    ]


async def test_a_failed_run_replying_in_its_pull_requests_thread_keeps_its_own_links(
    tmp_path, fake_slack, make_bot
):
    """The reply is the run's only message: it carries the pages the pull request's
    message does not link (not "PR #2", which is that message's title)."""
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    await send(bot, "pull_request", pull_request("opened"), "pr")
    await fake_slack.wait_for(1)
    await send(bot, "workflow_run", failed_run_of_pull_request_2(), "run")
    await fake_slack.wait_for(2)
    [(key, [_])] = fake_slack.messages.items()  # the pull request's message, not edited
    [reply] = fake_slack.replies[key]
    assert reply["text"].startswith('❌ Workflow "test" #163 failed on master')
    section, row = reply["blocks"]
    assert section["text"]["text"] == reply["text"]
    shown = [(e["text"]["text"], e["url"]) for e in row["elements"] if "url" in e]
    assert len(shown) == 2 and run_links(shown) == RUN_LINKS
    assert PR not in {url for _, url in shown}


async def test_a_discord_reply_of_a_failed_run_has_its_link_buttons(
    tmp_path, fake_discord, make_bot
):
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await send(bot, "pull_request", pull_request("opened"), "pr")
    [first] = await fake_discord.wait_until(lambda: fake_discord.roots() or None)
    await send(bot, "workflow_run", failed_run_of_pull_request_2(), "run")
    [reply] = await fake_discord.wait_until(
        lambda: fake_discord.in_thread(str(first.thread_id or first.id)) or None
    )
    body = reply.versions[0]
    assert body["embeds"][0]["description"].startswith('❌ Workflow "test" #163 failed')
    shown = discord_links(body)
    assert len(shown) == 2 and run_links(shown) == RUN_LINKS


async def test_a_reply_that_edits_the_first_message_stays_one_line(tmp_path, fake_slack, make_bot):
    """A change of state shows its buttons on the edited first message: the reply is
    the line alone."""
    bot = await make_bot(slack_config(tmp_path, fake_slack.url))
    await send(bot, "pull_request", pull_request("opened"), "pr")
    await fake_slack.wait_for(1)
    await send(bot, "pull_request", pull_request("closed", merged=True), "merged")
    await fake_slack.wait_for(2)
    [(key, _)] = fake_slack.messages.items()
    [reply] = fake_slack.replies[key]
    assert "blocks" not in reply and "attachments" not in reply
