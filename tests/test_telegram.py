"""Telegram: HTML that stays inert and within 4,096 characters, what each Bot API answer
leads to, forum topics, group pacing, and /notify through POST /telegram/updates."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from bot.chat import registry
from bot.chat.telegram.adapter import TEXT_LIMIT, classify, payload, text_for
from bot.chat.telegram.markup import TelegramMarkup, cut_html, visible_size
from bot.chat.telegram.platform import CHAT_PACE, GROUP_PACE
from bot.core.errors import MessageGone
from bot.intake.web import STORE
from bot.render.renderer import Field, Message, Renderer
from tests.conftest import base_config, eventually, github_headers, issue_body, post_issue
from tests.fakes.telegram import BOT_TOKEN, FakeTelegram, parse_html
from tests.test_commands import pull_request
from tests.test_rendering import issue_event

GROUP = "-1001234567890"
SECRET = "webhook-Secret_42"


def config(fake: FakeTelegram, tmp_path: Any, **target: Any) -> dict[str, Any]:
    return base_config(
        tmp_path,
        telegram={"api_url": fake.url, "bot_token": BOT_TOKEN, "webhook_secret": SECRET},
        targets={"room": {"telegram": GROUP, **target}},
        routes=[{"to": ["room"]}],
        delivery={"retry_base": "0.05s", "retry_cap": "0.1s"},
    )


def failed(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    """A Bot API error answer, as Telegram words it."""
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


UPGRADED = failed(
    400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009
)


@pytest.mark.parametrize(
    ("status", "body", "retryable", "retry_after", "gone"),
    [
        (429, failed(429, "Too Many Requests: retry after 7", retry_after=7), True, 7.0, False),
        (429, failed(429, "Too Many Requests"), True, 1.0, False),
        (502, "<html>Bad Gateway</html>", True, None, False),
        (500, failed(500, "Internal Server Error"), True, None, False),
        (400, failed(400, "Bad Request: chat not found"), False, None, False),
        (403, failed(403, "Forbidden: bot was blocked by the user"), False, None, False),
        (
            403,
            failed(403, "Forbidden: bot is not a member of the channel chat"),
            False,
            None,
            False,
        ),
        (401, failed(401, "Unauthorized"), False, None, False),
        (400, failed(400, "Bad Request: can't parse entities: x"), False, None, False),
        (400, failed(400, "Bad Request: message to edit not found"), False, None, True),
        (400, failed(400, "Bad Request: message to be replied not found"), False, None, True),
        (400, UPGRADED, False, None, False),
    ],
)
def test_failure_classification(status, body, retryable, retry_after, gone):
    error = classify(status, body)
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert isinstance(error, MessageGone) is gone
    assert BOT_TOKEN not in error.reason


def test_an_upgraded_group_says_its_new_id():
    assert 'telegram = "-1009"' in classify(400, UPGRADED).reason


HOSTILE = '@everyone <b>bold</b> </i> & &amp; <a href="x">@alice</a> `code` \\@bob'


def test_hostile_text_shows_as_typed_and_pings_nobody():
    markup = TelegramMarkup()
    escaped = markup.escape(HOSTILE)
    shown, problem = parse_html(f"<b>{escaped}</b>")
    assert problem == ""  # Telegram accepts it
    assert shown.replace("\u2060", "") == HOSTILE  # a reader sees what was typed
    assert "@alice" not in shown and "@bob" not in shown and "@everyone" not in shown
    assert markup.unescape(escaped) == HOSTILE


def test_links_and_code_keep_their_content_inert():
    markup = TelegramMarkup()
    link = markup.link('https://e.com/?a=1&b="2"<', markup.escape("PR <1>"))
    assert parse_html(link) == ("PR <1>", "")
    assert 'href="https://e.com/?a=1&amp;b=&quot;2&quot;&lt;"' in link
    assert parse_html(markup.code("<b>&</b>")) == ("<b>&</b>", "")


def test_a_cut_never_breaks_a_tag_or_an_entity():
    html = "<b>" + "&lt;x&gt; " * 2000 + '</b><a href="https://e.com">' + "y" * 3000 + "</a>"
    for limit in (5, 6, 7, 100, 4096):
        cut = cut_html(html, limit)
        shown, problem = parse_html(cut)
        assert problem == "", (limit, cut[-40:])
        assert len(shown) <= limit and visible_size(cut) == len(shown)
        assert shown.endswith("…")
    assert cut_html("<b>short</b>", 4096) == "<b>short</b>"


def test_huge_messages_fit_in_4096_characters():
    message = Message(
        title="T" * 5000,
        url="https://example.com/pr/1",
        text="<i>" + "x" * 50_000 + "</i>",
        fields=[Field(name=f"f{i}", value="v" * 500) for i in range(30)],
        footer="f" * 5000,
    )
    shown, problem = parse_html(text_for(message))
    assert problem == "" and len(shown) <= TEXT_LIMIT and shown.endswith("…")
    body = payload(message)
    assert body["parse_mode"] == "HTML"
    assert body["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open", "url": "https://example.com/pr/1"}]]
    }


def test_groups_are_paced_to_twenty_a_minute_and_chats_to_one_a_second():
    assert registry.pace("telegram", "telegram:-1001234567890") == GROUP_PACE
    assert registry.pace("telegram", "telegram:@releases") == GROUP_PACE
    assert registry.pace("telegram", "telegram:4242") == CHAT_PACE
    # A token bucket lets through at most burst + 60 * rate in any minute.
    assert GROUP_PACE.burst + 60 * GROUP_PACE.rate <= 20
    assert CHAT_PACE.rate <= 1


async def test_a_burst_to_a_group_stays_within_twenty_a_minute(
    tmp_path, fake_telegram, make_bot, clock
):
    """The fake answers 429 past 20 sends a minute to a group; the bot never draws one."""
    fake_telegram.limit_groups(per_minute=20)
    fake_telegram.clock = clock.monotonic
    bot = await make_bot(config(fake_telegram, tmp_path), clock)
    for number in range(26):
        body = issue_body(number)
        headers = github_headers(body, "issues", f"d{number}")
        assert (await bot.post("/hooks/github", data=body, headers=headers)).status == 200

    async def all_posted() -> list[float]:
        sent = [c.at for c in fake_telegram.delivered("sendMessage")]
        return sent if len(sent) == 26 else []

    sent = await eventually(all_posted, timeout=30, clock=clock, step=2)
    assert [c for c in fake_telegram.sends() if c.status == 429] == []
    assert max(sum(1 for t in sent if start <= t < start + 60) for start in sent) <= 20
    assert sent[-1] - sent[0] >= 60  # 26 messages took more than a minute


async def test_hostile_titles_reach_telegram_inert(tmp_path, fake_telegram, make_bot):
    bot = await make_bot(config(fake_telegram, tmp_path))
    await post_issue(bot, HOSTILE, "hostile")
    [call] = await fake_telegram.wait_until(lambda: fake_telegram.delivered("sendMessage"))
    assert call.body["parse_mode"] == "HTML" and call.body["chat_id"] == GROUP
    shown, problem = parse_html(call.body["text"])
    assert problem == ""
    assert HOSTILE in shown.replace("\u2060", "")
    assert "@alice" not in shown and "@everyone" not in shown


async def test_a_forum_topic_target_posts_and_replies_in_its_topic(
    tmp_path, fake_telegram, make_bot
):
    bot = await make_bot(config(fake_telegram, tmp_path, topic=42))
    for action, delivery in (("opened", "d1"), ("closed", "d2")):
        body = pull_request(action, merged=action == "closed")
        await bot.post(
            "/hooks/github", data=body, headers=github_headers(body, "pull_request", delivery)
        )
    await fake_telegram.wait_until(lambda: len(fake_telegram.delivered("sendMessage")) == 2)
    first, reply = fake_telegram.delivered("sendMessage")
    assert first.body["message_thread_id"] == reply.body["message_thread_id"] == 42
    [root] = fake_telegram.roots()
    assert reply.body["reply_to_message_id"] == root.message_id
    [edit] = await fake_telegram.wait_until(lambda: fake_telegram.delivered("editMessageText"))
    assert edit.body["message_id"] == root.message_id


async def test_a_429_is_waited_out_as_telegram_says(tmp_path, fake_telegram, make_bot, clock):
    fake_telegram.fail_next(
        status=429, description="Too Many Requests: retry after 30", retry_after=30
    )
    bot = await make_bot(config(fake_telegram, tmp_path), clock)
    await post_issue(bot, "rate limited", "d1")
    await fake_telegram.wait_until(fake_telegram.sends)
    started = clock.monotonic()
    await eventually(lambda: _sent(fake_telegram), clock=clock, step=1.0)
    assert clock.monotonic() - started >= 29  # not before Telegram said it may go
    assert [c.status for c in fake_telegram.sends()] == [429, 200]


async def _sent(fake: FakeTelegram) -> bool:
    return bool(fake.delivered("sendMessage"))


async def test_a_chat_the_bot_cannot_reach_fails_once_and_says_why(
    tmp_path, fake_telegram, make_bot
):
    fake_telegram.blocked.add(GROUP)
    bot = await make_bot(config(fake_telegram, tmp_path))
    await post_issue(bot, "nobody hears", "d1")

    async def dead():
        deliveries = await bot.app[STORE].deliveries_for("1")
        return deliveries[0] if deliveries and deliveries[0].state == "dead" else None

    delivery = await eventually(dead)
    assert "bot is not a member" in delivery.last_error and "add the bot" in delivery.last_error
    assert len(fake_telegram.sends()) == 1  # permanent: not retried


# -- /notify through POST /telegram/updates ---------------------------------------------


def update(text: str, chat: str = GROUP, topic: int | None = None, user: int = 4242) -> dict:
    """A ``message`` update as Telegram posts it to a webhook."""
    message: dict[str, Any] = {
        "message_id": 77,
        "from": {"id": user, "is_bot": False, "first_name": "Alice", "username": "alice"},
        "chat": {
            "id": int(chat),
            "title": "Ops",
            "type": "supergroup",
            "is_forum": topic is not None,
        },
        "date": 1_700_000_000,
        "text": text,
    }
    if topic is not None:
        message.update(message_thread_id=topic, is_topic_message=True)
    return {"update_id": 10_000, "message": message}


async def notify(bot, text: str, **where: Any) -> dict[str, Any]:
    response = await bot.post(
        "/telegram/updates",
        json=update(text, **where),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status == 200
    return dict(await response.json())


async def test_notify_replies_to_the_command_in_its_chat(tmp_path, fake_telegram, make_bot):
    bot = await make_bot(config(fake_telegram, tmp_path))
    answer = await notify(bot, "/notify@chatops_bot list")
    assert answer["method"] == "sendMessage" and answer["chat_id"] == int(GROUP)
    assert answer["reply_parameters"] == {"message_id": 77}
    assert answer["parse_mode"] == "HTML" and "No mutes" in answer["text"]
    assert await notify(bot, "just chatting") == {}  # taken, so Telegram does not resend


async def test_updates_without_the_secret_are_refused(tmp_path, fake_telegram, make_bot):
    bot = await make_bot(config(fake_telegram, tmp_path))
    body = json.dumps(update("/notify mute github"))
    wrong = await bot.post(
        "/telegram/updates", data=body, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
    )
    missing = await bot.post("/telegram/updates", data=body)
    broken = await bot.post(
        "/telegram/updates", data="{", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    odd = [
        await bot.post(
            "/telegram/updates", json=odd, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        for odd in ([1], {"message": {"text": "/notify list", "chat": "x"}}, {"message": 5})
    ]
    assert [o.status for o in odd] == [200, 200, 200]  # taken and ignored, never a 500
    assert [wrong.status, missing.status, broken.status] == [401, 401, 400]
    assert "webhook_secret" in (await wrong.json())["error"]
    assert "No mutes" in (await notify(bot, "/notify list"))["text"]  # nothing was muted


async def test_not_mounted_without_a_webhook_secret(tmp_path, fake_telegram, make_bot):
    settings = config(fake_telegram, tmp_path)
    settings["telegram"]["webhook_secret"] = ""
    bot = await make_bot(settings)
    assert (await bot.post("/telegram/updates", json=update("/notify list"))).status == 404


async def test_a_mute_in_a_topic_covers_the_target_posting_there(tmp_path, fake_telegram, make_bot):
    settings = config(fake_telegram, tmp_path, topic=42)
    settings["targets"]["general"] = {"telegram": GROUP}
    settings["routes"] = [{"to": ["room", "general"]}]
    bot = await make_bot(settings)
    answer = await notify(bot, "/notify mute github for 2h because deploy", topic=42)
    assert "Muted m1" in answer["text"] and answer["message_thread_id"] == 42
    await post_issue(bot, "during the deploy", "d1")

    async def general_only() -> Any:
        posted = [c.body for c in fake_telegram.delivered("sendMessage")]
        issues = [b for b in posted if "during the deploy" in b["text"]]
        return issues if len(issues) == 1 else None

    [posted] = await eventually(general_only)
    assert "message_thread_id" not in posted  # the general chat, not the muted topic

    async def muted() -> bool:
        return "muted (kept, not posted) 1" in (await notify(bot, "/notify status"))["text"]

    assert await eventually(muted)


@pytest.mark.slow
async def test_set_webhook_from_the_command_line(tmp_path, fake_telegram):
    path = tmp_path / "bot.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n'
        f'[telegram]\napi_url = "{fake_telegram.url}"\nbot_token = "{BOT_TOKEN}"\n'
        f'webhook_secret = "{SECRET}"\n'
    )

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(path), "telegram", "set-webhook", *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        return process.returncode or 0, output.decode()

    code, output = await run("https://bot.example.com/telegram/updates")
    assert code == 0, output
    assert "Telegram now sends /notify commands to https://bot.example.com" in output
    assert fake_telegram.webhook == {
        "url": "https://bot.example.com/telegram/updates",
        "secret_token": SECRET,
        "allowed_updates": ["message"],
    }
    code, output = await run("http://bot.example.com/telegram/updates")
    assert code == 1 and "Telegram calls only https" in output
    path.write_text(path.read_text().replace(BOT_TOKEN, "1:wrong"))
    code, output = await run("https://bot.example.com/telegram/updates")
    assert code == 1 and "Telegram refused the webhook" in output and "Unauthorized" in output
    assert "1:wrong" not in output


def test_renderer_escapes_payload_text_for_telegram():
    event = issue_event("<script>@here & co</script>")
    message = Renderer(markups=registry.markups()).render(event, "telegram")
    shown, problem = parse_html(text_for(message))
    assert problem == "" and "<script>@\u2060here & co</script>" in shown


async def test_commands_from_a_chat_the_bot_does_not_post_into_are_refused(
    tmp_path, fake_telegram, make_bot
):
    bot = await make_bot(config(fake_telegram, tmp_path))
    answer = await notify(bot, "/notify mute github", chat="-100999")
    assert "not one this bot takes commands from" in answer["text"]
    assert "No mutes" in (await notify(bot, "/notify list"))["text"]
