"""Discord delivery: embeds within limits, both target kinds, and what each failure leads to."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.chat.discord.adapter import (
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    TOTAL_LIMIT,
    Destination,
    classify,
    embed_for,
)
from bot.chat.discord.markup import DiscordMarkup
from bot.config.settings import ConfigError, load_config
from bot.core.errors import MessageGone
from bot.intake.web import STORE
from bot.ops.logs import JsonFormatter, TextFormatter
from bot.render.renderer import Field, LinkButton, Message
from tests.conftest import (
    DISCORD_WEBHOOK,
    DISCORD_WEBHOOK_ID,
    DISCORD_WEBHOOK_TOKEN,
    base_config,
    discord_section,
    eventually,
    fixture_bytes,
    github_headers,
    let_time_pass,
    post_issue,
)
from tests.fakes.discord import BOT_TOKEN, embed_problem

CHANNEL = "112233445566778899"
RATE_HEADERS = {"Retry-After": "1", "X-RateLimit-Scope": "user"}


@pytest.mark.parametrize(
    ("status", "body", "headers", "retryable", "retry_after", "reason"),
    [
        (429, {"retry_after": 1.5, "global": False}, {"Retry-After": "2"}, True, 1.5, "rate"),
        (429, {"message": "slow down"}, {"Retry-After": "3"}, True, 3.0, "rate limited"),
        (429, {"retry_after": 0.2, "global": True}, {}, True, 0.2, "global rate"),
        (429, None, {"X-RateLimit-Global": "true", "Retry-After": "4"}, True, 4.0, "global"),
        (429, "<html>cloudflare</html>", {}, True, 1.0, "rate limited"),
        (500, None, {}, True, None, "server error 500"),
        (502, "<html>bad gateway</html>", {}, True, None, "server error 502"),
        (
            400,
            {
                "code": 50035,
                "message": "Invalid Form Body",
                "errors": {"embeds": {"0": {"title": {"_errors": [{"message": "Too long."}]}}}},
            },
            {},
            False,
            None,
            "embeds.0.title: Too long. (code 50035)",
        ),
        (401, {"code": 0, "message": "401: Unauthorized"}, {}, False, None, "bot_token"),
        (403, {"code": 50013, "message": "Missing Permissions"}, {}, False, None, "50013"),
        (404, {"code": 10015, "message": "Unknown Webhook"}, {}, False, None, "no longer"),
        (404, {"code": 10003, "message": "Unknown Channel"}, {}, False, None, "channel id"),
        (404, {"code": 10008, "message": "Unknown Message"}, {}, False, None, "deleted"),
    ],
)
def test_failure_classification(status, body, headers, retryable, retry_after, reason):
    error = classify(status, body, headers)
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert reason in error.reason
    assert isinstance(error, MessageGone) == (body is not None and "Unknown Message" in str(body))


def test_huge_messages_fit_every_embed_limit_and_end_in_an_ellipsis():
    message = Message(
        title="T" * 10_000,
        url="https://example.com/x",
        text="x" * 50_000,
        fields=[Field(name="n" * 400, value="v" * 5000) for _ in range(40)],
        footer="f" * 5000,
    )
    embed = embed_for(message)
    assert embed_problem(embed) is None
    assert len(embed["title"]) == TITLE_LIMIT and embed["title"].endswith("…")
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert embed["description"].endswith("…")
    sizes = [embed["title"], embed["description"], embed["footer"]["text"]]
    sizes += [f["name"] + f["value"] for f in embed["fields"]]
    assert sum(len(s) for s in sizes) <= TOTAL_LIMIT


def test_emoji_count_double_and_are_never_split():
    embed = embed_for(Message(title="🔥" * 300))
    title = embed["title"]
    assert title.endswith("…")
    assert set(title[:-1]) == {"🔥"}
    assert 2 * (len(title) - 1) + 1 <= TITLE_LIMIT


def test_a_cut_never_leaves_a_backslash_escaping_the_ellipsis():
    text = "a" * 4094 + "\\*" * 10
    description = embed_for(Message(title="t", text=text))["description"]
    head = description[:-1]
    assert (len(head) - len(head.rstrip("\\"))) % 2 == 0


def test_embed_carries_colour_footer_timestamp_link_and_inline_fields():
    embed = embed_for(
        Message(
            title="Deploy",
            url="https://example.com/d",
            text="done",
            fields=[Field(name="Status", value="ok"), Field(name="Log", value="l" * 200)],
            color="#E01E5A",
            footer="GitHub · acme/web\\_app",
            timestamp=1_700_000_000,
        )
    )
    assert embed["color"] == 0xE01E5A
    assert embed["url"] == "https://example.com/d"
    assert embed["footer"]["text"] == "GitHub · acme/web_app"  # footers show no markdown
    assert embed["timestamp"].startswith("2023-11-14T22:13:20")
    assert [f["inline"] for f in embed["fields"]] == [True, False]


def test_a_linked_field_is_inline_when_its_label_is_short_whatever_its_url():
    dashboard = (
        "[dashboard](https://play.grafana.org/d/ece9fb32-7f71-4be9-bd94?orgId=1&viewPanel=2)"
    )
    embed = embed_for(
        Message(
            title="t",
            fields=[
                Field(name="Dashboard", value=dashboard),
                Field(name="Started", value="<t:1700000000:R>"),
                Field(name="Description", value="[" + "x" * 60 + "](https://example.com)"),
            ],
        )
    )
    assert [f["inline"] for f in embed["fields"]] == [True, True, False]


def test_a_link_label_shows_no_backslashes():
    markup = DiscordMarkup()
    label = markup.escape("[FIRING:1] node_exporter down @everyone")
    link = markup.link("https://example.com/alerts", label)
    assert link == "[FIRING:1 node_exporter down @\u200beveryone](https://example.com/alerts)"


def test_markdown_in_a_link_label_shows_as_typed_and_formats_nothing():
    markup = DiscordMarkup()
    label = markup.escape("**down** ||x|| ~~y~~ _z_ `q` <@123> node_exporter")
    link = markup.link("https://example.com/alerts", label)
    shown = link.removeprefix("[").removesuffix("](https://example.com/alerts)")
    assert shown == "∗∗down∗∗ ǀǀxǀǀ ∼∼y∼∼ ＿z＿ ˋqˋ ‹@123> node_exporter"
    assert not any(marker in shown for marker in ("*", "||", "~~", "`", "<@", "\\"))


def test_a_webhook_links_field_keeps_a_hostile_button_label_inert():
    embed = embed_for(
        Message(
            title="t",
            links=[LinkButton(label="**Runbook** ||now||", url="https://example.com/rb")],
        )
    )
    [links] = [f for f in embed["fields"] if f["name"] == "Links"]
    assert links["value"] == "[∗∗Runbook∗∗ ǀǀnowǀǀ](https://example.com/rb)"


def test_a_url_discord_would_refuse_is_left_out():
    assert "url" not in embed_for(Message(title="t", url="javascript:alert(1)"))


def test_webhook_url_names_webhook_thread_and_lane_without_the_token():
    where = Destination.parse(DISCORD_WEBHOOK + "?thread_id=42")
    assert (where.kind, where.id, where.token, where.thread_id) == (
        "webhook",
        DISCORD_WEBHOOK_ID,
        DISCORD_WEBHOOK_TOKEN,
        "42",
    )
    assert DISCORD_WEBHOOK_TOKEN not in where.lane
    assert Destination.parse(CHANNEL).lane == f"discord:channel:{CHANNEL}"


@pytest.mark.parametrize(
    ("target", "complaint"),
    [
        ({"discord_webhook": "https://example.com/hooks/1"}, "not a Discord webhook URL"),
        ({"discord": "#alerts"}, "channel id"),
    ],
)
def test_bad_discord_targets_fail_at_start_naming_the_key(tmp_path, target, complaint):
    config = tmp_path / "bot.toml"
    key, value = next(iter(target.items()))
    config.write_text(f'[targets.ops]\n{key} = "{value}"\n')
    with pytest.raises(ConfigError, match=complaint) as caught:
        load_config(config)
    assert "targets.ops" in str(caught.value)


def discord_config(tmp_path, fake, *, bot_token="", **sections):
    targets = {"hook": {"discord_webhook": DISCORD_WEBHOOK}, "room": {"discord": CHANNEL}}
    config = base_config(
        tmp_path,
        discord=discord_section(fake, bot_token),
        targets=targets,
        routes=[{"to": ["hook"]}],
    )
    config.update(sections)
    return config


async def post_pr(bot, delivery="pr-1"):
    body = fixture_bytes("github/pull_request__opened.json")
    headers = github_headers(body, "pull_request", delivery)
    return await bot.post("/hooks/github", data=body, headers=headers)


async def test_webhook_target_gets_one_embed_and_the_message_id_is_kept(
    tmp_path, fake_discord, make_bot
):
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await post_pr(bot)
    [call] = await fake_discord.wait_until(fake_discord.delivered)
    assert call.path == f"/api/v10/webhooks/{DISCORD_WEBHOOK_ID}/{DISCORD_WEBHOOK_TOKEN}"
    assert call.query == {"wait": "true"}
    assert "Authorization" not in call.headers
    assert call.body["allowed_mentions"] == {"parse": []}
    [embed] = call.body["embeds"]
    assert embed["title"] == "#2 Update the README with new information."
    assert embed["author"]["name"] == "🔵 Opened by Codertocat · changes → master"
    assert embed["url"] == "https://github.com/Codertocat/Hello-World/pull/2"
    assert (
        embed["description"] == "This is a pretty simple change that we need to pull into master."
    )
    # State, branches and author are the author line's; only the links a webhook's
    # message cannot carry as buttons are a field.
    assert [f["name"] for f in embed["fields"]] == ["Links"]
    assert embed["color"] == 0x439FE0  # opened: the outcome table's blue
    assert embed["footer"]["text"].startswith("GitHub · Codertocat/Hello-World")
    assert embed["timestamp"].startswith("2019-05-15T15:20:33")

    async def stored():
        [delivery] = await bot.app[STORE].deliveries_for("1")
        return delivery.ref.get("message_id")

    [posted] = fake_discord.roots()
    assert await eventually(stored) == posted.id


async def test_channel_target_posts_with_the_bot_token(tmp_path, fake_discord, make_bot):
    config = discord_config(tmp_path, fake_discord, bot_token=BOT_TOKEN)
    config["routes"] = [{"to": ["room"]}]
    bot = await make_bot(config)
    await post_pr(bot)
    [call] = await fake_discord.wait_until(fake_discord.delivered)
    assert call.path == f"/api/v10/channels/{CHANNEL}/messages"
    assert call.headers["Authorization"] == f"Bot {BOT_TOKEN}"
    assert call.headers["User-Agent"].startswith("DiscordBot (")
    assert call.body["allowed_mentions"] == {"parse": []}


async def test_channel_target_without_a_bot_token_is_dead_as_not_configured(
    tmp_path, fake_discord, make_bot
):
    config = discord_config(tmp_path, fake_discord)
    config["routes"] = [{"to": ["room"]}]
    bot = await make_bot(config)
    await post_pr(bot)
    dead = await eventually(bot.app[STORE].dead_letters)
    assert dead[0]["error"] == "discord not configured"
    assert fake_discord.calls == []


async def delivered_on(fake_discord, clock, count=1):
    """``count`` calls Discord accepted, fake time moving meanwhile (retries come due)."""

    async def accepted():
        calls = fake_discord.delivered()
        return calls if len(calls) >= count else []

    return await eventually(accepted, clock=clock, step=0.25)


async def test_429_waits_for_retry_after_then_delivers(tmp_path, fake_discord, make_bot, clock):
    fake_discord.clock = clock.monotonic
    fake_discord.fail_next(
        status=429,
        body={"message": "You are being rate limited.", "retry_after": 1.0, "global": False},
        headers=RATE_HEADERS,
    )
    bot = await make_bot(discord_config(tmp_path, fake_discord), clock)
    await post_pr(bot)
    await fake_discord.wait_until(lambda: fake_discord.calls)
    await let_time_pass(clock, 0.9, step=0.3)
    assert fake_discord.delivered() == []  # not before Discord said it may go
    [posted] = await delivered_on(fake_discord, clock)
    [refused] = [c for c in fake_discord.calls if c.status == 429]
    assert posted.at - refused.at >= 0.95


async def test_a_global_429_holds_the_other_channels_too(tmp_path, fake_discord, make_bot, clock):
    fake_discord.clock = clock.monotonic
    config = discord_config(tmp_path, fake_discord, bot_token=BOT_TOKEN)
    config["targets"]["other"] = {"discord": "998877665544332211"}
    config["routes"] = [
        {"match": {"event": "issues.*"}, "to": ["room"]},
        {"to": ["other"]},
    ]
    fake_discord.fail_next(
        status=429,
        body={"message": "global", "retry_after": 1.0, "global": True},
        headers={"X-RateLimit-Global": "true", **RATE_HEADERS},
    )
    bot = await make_bot(config, clock)
    await post_issue(bot, "first", "global-1")
    await fake_discord.wait_until(lambda: fake_discord.calls)
    await post_pr(bot, "global-2")
    await let_time_pass(clock, 0.9, step=0.3)
    assert fake_discord.delivered() == []  # the other channel waits out the global hold too
    delivered = await delivered_on(fake_discord, clock, 2)
    assert len(delivered) == 2
    [refused] = [c for c in fake_discord.calls if c.status == 429]
    other = next(c for c in fake_discord.delivered() if "998877665544332211" in c.path)
    assert other.at - refused.at >= 0.95


async def test_an_empty_bucket_slows_the_lane_before_discord_has_to_refuse(
    tmp_path, fake_discord, make_bot
):
    fake_discord.bucket_headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1"}
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await post_pr(bot, "bucket-1")
    await post_issue(bot, "second", "bucket-2")
    first, second = await fake_discord.wait_until(
        lambda: len(fake_discord.calls) >= 2 and fake_discord.calls
    )
    assert second.at - first.at >= 0.95
    assert all(c.status == 200 for c in fake_discord.calls)


async def test_a_refused_embed_is_dead_with_discords_reason_and_not_retried(
    tmp_path, fake_discord, make_bot
):
    fake_discord.fail_next(
        status=400,
        body={
            "code": 50035,
            "message": "Invalid Form Body",
            "errors": {"embeds": {"0": {"url": {"_errors": [{"message": "Bad URL."}]}}}},
        },
    )
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await post_pr(bot)
    dead = await eventually(bot.app[STORE].dead_letters)
    assert dead[0]["error"] == (
        "discord rejected the message (400): embeds.0.url: Bad URL. (code 50035)"
    )
    await asyncio.sleep(0.2)
    assert len(fake_discord.calls) == 1


async def test_after_a_webhook_404_the_webhook_is_not_called_again(
    tmp_path, fake_discord, make_bot
):
    fake_discord.deleted_webhooks.add(DISCORD_WEBHOOK_ID)
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await post_pr(bot, "gone-1")
    await post_issue(bot, "later", "gone-2")

    async def both_dead():
        dead = await bot.app[STORE].dead_letters()
        return len(dead) == 2 and dead

    dead = await eventually(both_dead)
    assert all("webhook no longer exists" in d["error"] for d in dead)
    assert len(fake_discord.calls) == 1


async def test_server_errors_are_retried(tmp_path, fake_discord, make_bot, clock):
    fake_discord.fail_next(times=2, status=502, body="<html>bad gateway</html>")
    config = discord_config(tmp_path, fake_discord, delivery={"retry_base": "0.05s"})
    bot = await make_bot(config, clock)
    await post_pr(bot)
    await delivered_on(fake_discord, clock)
    assert [c.status for c in fake_discord.calls] == [502, 502, 200]


async def test_tokens_never_appear_in_logs_or_dead_letters(tmp_path, make_bot, caplog):
    # Every record, even third-party DEBUG ones, as the bot's log formats would show it.
    caplog.set_level(logging.DEBUG)
    config = base_config(
        tmp_path,
        discord={"api_url": "http://127.0.0.1:9/api/v10", "bot_token": BOT_TOKEN},
        targets={"hook": {"discord_webhook": DISCORD_WEBHOOK}, "room": {"discord": CHANNEL}},
        routes=[{"to": ["hook", "room"]}],
        delivery={"max_attempts": 1},
    )
    bot = await make_bot(config)
    await post_pr(bot)

    async def both_dead():
        dead = await bot.app[STORE].dead_letters()
        return len(dead) == 2 and dead

    dead = await eventually(both_dead)
    assert all("discord unreachable: ClientConnectorError" in d["error"] for d in dead)
    shown = "\n".join(
        formatter.format(record)
        for record in caplog.records
        for formatter in (TextFormatter(), JsonFormatter())
    )
    for secret in (DISCORD_WEBHOOK_TOKEN, BOT_TOKEN):
        assert secret not in shown
        assert all(secret not in d["error"] for d in dead)


async def test_hostile_titles_ping_nobody_and_keep_the_layout(tmp_path, fake_discord, make_bot):
    hostile = "@everyone <@123> <@&456> <!channel> `rm -rf` **bold** # head ||spoiler|| "
    hostile += "שלום עליכם مرحبا 🔥👩‍👩‍👧 " + "x" * 10_000
    bot = await make_bot(discord_config(tmp_path, fake_discord))
    await post_issue(bot, hostile, "hostile")
    [call] = await fake_discord.wait_until(fake_discord.delivered)
    assert call.body["allowed_mentions"] == {"parse": []}
    title = call.body["embeds"][0]["title"]
    assert len(title) <= TITLE_LIMIT and title.endswith("…")
    assert "@everyone" not in title  # a zero-width joiner keeps it from even looking live
    assert "\\<@123> \\<@&456> \\<!channel>" in title  # shown as typed, not as names
    assert "\\`rm -rf\\`" in title
    assert "\\*\\*bold\\*\\*" in title and "\\|\\|spoiler\\|\\|" in title
    assert "שלום עליכם مرحبا 🔥👩‍👩‍👧" in title
