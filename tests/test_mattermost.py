"""Mattermost: attachments that ping nobody, what each answer leads to, incoming webhooks
that can only post, and /notify as a slash command on POST /mattermost/commands."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.chat.mattermost.adapter import MAX_FIELDS, TEXT_LIMIT, attachment_for, classify
from bot.chat.mattermost.markup import MattermostMarkup
from bot.core.errors import MessageGone
from bot.intake.web import STORE
from bot.render.renderer import Field, Message
from tests.chats import mattermost_mentions
from tests.conftest import base_config, eventually, github_headers, post_issue
from tests.fakes.mattermost import BOT_TOKEN, HOOK_ID, FakeMattermost, api_error
from tests.test_commands import pull_request

CHANNEL = "4xp9fdt8jpgfmkwbn7rd5yqe3a"
COMMAND_TOKEN = "slash-command-token"


def config(fake: FakeMattermost, tmp_path: Any, **target: str) -> dict[str, Any]:
    return base_config(
        tmp_path,
        mattermost={"url": fake.url, "bot_token": BOT_TOKEN, "command_token": COMMAND_TOKEN},
        targets={"room": target or {"mattermost": CHANNEL}},
        routes=[{"to": ["room"]}],
    )


def refusal(status: int, error_id: str) -> dict[str, Any]:
    return api_error(status, error_id, "refused")


@pytest.mark.parametrize(
    ("status", "about", "body", "headers", "retryable", "retry_after", "gone"),
    [
        (429, "channel", None, {"X-Ratelimit-Reset": "3"}, True, 3.0, False),
        (429, "channel", None, {"Retry-After": "7"}, True, 7.0, False),
        (502, "channel", None, {}, True, None, False),
        (
            401,
            "channel",
            refusal(401, "api.context.session_expired.app_error"),
            {},
            False,
            None,
            False,
        ),
        (403, "channel", refusal(403, "api.context.permissions.app_error"), {}, False, None, False),
        (
            404,
            "channel",
            refusal(404, "app.channel.get.existing.app_error"),
            {},
            False,
            None,
            False,
        ),
        (404, "message", refusal(404, "app.post.get.app_error"), {}, False, None, True),
        (
            400,
            "message",
            refusal(400, "api.post.create_post.root_id.app_error"),
            {},
            False,
            None,
            True,
        ),
        (
            400,
            "webhook",
            refusal(400, "web.incoming_webhook.invalid.app_error"),
            {},
            False,
            None,
            False,
        ),
        (
            400,
            "channel",
            refusal(400, "api.post.create_post.message_too_long"),
            {},
            False,
            None,
            False,
        ),
    ],
)
def test_failure_classification(status, about, body, headers, retryable, retry_after, gone):
    error = classify(status, body, headers, about)
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert isinstance(error, MessageGone) is gone


def test_a_deleted_webhook_says_to_make_a_new_one():
    body = api_error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.")
    assert "create a new one" in classify(400, body, {}, "webhook").reason


def test_mentions_are_broken_where_mattermost_looks_for_them():
    markup = MattermostMarkup()
    hostile = "@channel @all @here @alice \\@bob &#64;carol x.@all -@here **x** [a](b) <https://x>"
    assert len(mattermost_mentions(hostile)) == 7  # as typed, each would notify
    escaped = markup.escape(hostile)
    assert mattermost_mentions(escaped) == []
    assert markup.unescape(escaped) == hostile
    assert re.search(r"(?<!\\)[*\[\]()<>]", escaped) is None  # every marker escaped


def test_huge_messages_are_cut_to_what_mattermost_shows():
    message = Message(
        title="T" * 5000,
        url="https://example.com/1",
        text="x\\" * 50_000,
        fields=[Field(name=f"f{i}", value="v" * 5000) for i in range(30)],
        footer="f" * 5000,
    )
    attachment = attachment_for(message)
    assert len(attachment["text"]) <= TEXT_LIMIT and attachment["text"].endswith("…")
    assert not attachment["text"].endswith("\\…")  # no lone backslash escapes the ellipsis
    assert len(attachment["fields"]) == MAX_FIELDS
    assert attachment["title_link"] == "https://example.com/1"
    assert len(json.dumps(attachment)) < 60_000


async def test_hostile_titles_reach_mattermost_inert(tmp_path, fake_mattermost, make_bot):
    bot = await make_bot(config(fake_mattermost, tmp_path))
    await post_issue(bot, "@channel @all @here @alice `@dev`", "hostile")
    [post] = await fake_mattermost.wait_until(fake_mattermost.roots)
    seen = json.dumps(post.versions[0], ensure_ascii=False)
    assert mattermost_mentions(seen) == []
    assert post.versions[0]["props"]["attachments"][0]["color"].startswith("#")


async def test_a_webhook_target_posts_a_new_message_per_change(tmp_path, fake_mattermost, make_bot):
    hook = f"{fake_mattermost.url}/hooks/{HOOK_ID}"
    bot = await make_bot(config(fake_mattermost, tmp_path, mattermost_webhook=hook))
    for action, delivery in (("opened", "d1"), ("closed", "d2")):
        body = pull_request(action, merged=action == "closed")
        headers = github_headers(body, "pull_request", delivery)
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200
    first, second = await fake_mattermost.wait_until(
        lambda: len(fake_mattermost.roots()) == 2 and fake_mattermost.roots()
    )
    assert first.webhook and second.webhook
    # The state shows above the card, in the post's message (its headline).
    assert second.versions[0]["text"] == "🟣 Merged by Codertocat into master"  # a webhook's
    assert "merged" not in json.dumps(first.versions[0]).lower()
    assert [c.method for c in fake_mattermost.calls] == ["POST", "POST"]  # no edit, no thread
    assert all("Authorization" not in json.dumps(c.body) for c in fake_mattermost.calls)


async def test_a_deleted_webhook_fails_at_once(tmp_path, fake_mattermost, make_bot):
    hook = f"{fake_mattermost.url}/hooks/{'z' * 26}"
    bot = await make_bot(config(fake_mattermost, tmp_path, mattermost_webhook=hook))
    await post_issue(bot, "nobody reads this", "d1")

    async def dead():
        deliveries = await bot.app[STORE].deliveries_for("1")
        return deliveries[0] if deliveries and deliveries[0].state == "dead" else None

    delivery = await eventually(dead)
    assert "webhook no longer exists" in delivery.last_error and "z" * 26 not in delivery.last_error
    assert len(fake_mattermost.calls) == 1


# -- /notify as a slash command ----------------------------------------------------------


def slash(text: str, token: str = COMMAND_TOKEN) -> dict[str, str]:
    """The form Mattermost posts for a custom slash command."""
    return {
        "channel_id": CHANNEL,
        "channel_name": "ops",
        "command": "/notify",
        "response_url": "https://mm.example.com/hooks/commands/abc",
        "team_domain": "acme",
        "team_id": "team0id0000000000000000000",
        "text": text,
        "token": token,
        "trigger_id": "trigger",
        "user_id": "alice0user0id00000000000000",
        "user_name": "alice",
    }


async def test_notify_answers_ephemerally_and_its_mute_holds(tmp_path, fake_mattermost, make_bot):
    bot = await make_bot(config(fake_mattermost, tmp_path))
    response = await bot.post("/mattermost/commands", data=slash("mute github for 2h"))
    assert response.status == 200
    answer = await response.json()
    assert answer["response_type"] == "ephemeral" and "Muted m1" in answer["text"]
    [announcement] = await fake_mattermost.wait_until(fake_mattermost.roots)
    assert "Mute m1" in json.dumps(announcement.versions[0])
    await post_issue(bot, "kept back", "d1")

    async def muted() -> bool:
        status = await bot.post("/mattermost/commands", data=slash("status"))
        return "muted (kept, not posted) 1" in (await status.json())["text"]

    assert await eventually(muted)
    assert len(fake_mattermost.roots()) == 1


async def test_a_wrong_token_is_refused(tmp_path, fake_mattermost, make_bot):
    bot = await make_bot(config(fake_mattermost, tmp_path))
    wrong = await bot.post("/mattermost/commands", data=slash("mute github", token="guess"))
    missing = await bot.post("/mattermost/commands", data={"text": "list"})
    assert [wrong.status, missing.status] == [401, 401]
    assert "command_token" in (await wrong.json())["error"]


async def test_not_mounted_without_a_command_token(tmp_path, fake_mattermost, make_bot):
    settings = config(fake_mattermost, tmp_path)
    settings["mattermost"]["command_token"] = ""
    bot = await make_bot(settings)
    assert (await bot.post("/mattermost/commands", data=slash("list"))).status == 404


async def test_commands_from_another_team_are_refused(tmp_path, fake_mattermost, make_bot):
    bot = await make_bot(config(fake_mattermost, tmp_path))
    form = {**slash("mute github"), "team_id": "other0team00000000000000000"}
    answer = await (await bot.post("/mattermost/commands", data=form)).json()
    assert "not one this bot takes commands from" in answer["text"]
