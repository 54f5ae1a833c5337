"""Conversations: one message per incident, alert or pull request, edited in place, with
its later events replied in its thread, on Slack, Discord channels and Discord webhooks."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.telegram.markup import TelegramMarkup
from bot.intake.web import STORE
from bot.pipeline.conversations import plan, thread_reply
from bot.pipeline.story import keep_story, said
from bot.render.outcomes import AMBER, BLUE, CRITICAL, GREEN, PURPLE, RED
from bot.render.renderer import Field, Message
from bot.store import ConversationRecord, DeliveryRecord
from tests.conftest import (
    DISCORD_WEBHOOK,
    base_config,
    discord_section,
    dumps,
    eventually,
    fixture_bytes,
    github_headers,
)
from tests.fakes.discord import BOT_TOKEN, FakeDiscord
from tests.fakes.mattermost import BOT_TOKEN as MATTERMOST_TOKEN
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.recorder import Recorder
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import BOT_TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram, parse_html
from tests.senders import (
    ALERTMANAGER_TOKEN,
    PAGERDUTY_SECRET,
    STRIPE_SECRET,
    bearer,
    pagerduty,
)
from tests.senders import stripe as stripe_headers

CHANNEL = "112233445566778899"
TELEGRAM_CHAT = "-1001234567890"
MATTERMOST_CHANNEL = "4xp9fdt8jpgfmkwbn7rd5yqe3a"

# -- the rules, without I/O ---------------------------------------------------------


def delivery(**changes: Any) -> DeliveryRecord:
    fields: dict[str, Any] = {
        "id": "2.0/t",
        "event_id": "2.0",
        "target": "t",
        "platform": "slack",
        "address": "C1",
        "message": {},
        "thread_key": "k",
        "status": "acknowledged",
        "occurred_at": 20.0,
    }
    return DeliveryRecord(**{**fields, **changes})


def conversation(**changes: Any) -> ConversationRecord:
    fields: dict[str, Any] = {
        "target": "t",
        "thread_key": "k",
        "ref": {},
        "status": "open",
        "latest_at": 10.0,
        "ended": False,
        "started_by": "1.0/t",
    }
    return ConversationRecord(**{**fields, **changes})


RESOLVED = conversation(status="resolved", ended=True)


@pytest.mark.parametrize(
    ("existing", "event", "action", "edit", "reply"),
    [
        (None, {}, "start", False, False),
        (None, {"thread_key": None}, "post", False, False),
        (conversation(), {"lifecycle": "new"}, "post", False, False),
        (conversation(), {}, "follow", True, True),
        (conversation(), {"lifecycle": "update"}, "follow", True, False),
        (conversation(), {"lifecycle": "thread"}, "follow", False, True),
        (conversation(), {"occurred_at": 10.0, "status": "resolved"}, "follow", True, True),
        # An older state arriving late changes nothing...
        (conversation(), {"occurred_at": 5.0, "status": "open"}, "skip", False, False),
        # ...not even after the end: a late "triggered" does not resurrect the incident.
        (RESOLVED, {"occurred_at": 5.0, "status": "open"}, "skip", False, False),
        # Firing again after the end is a new conversation.
        (RESOLVED, {"occurred_at": 20.0, "status": "open"}, "start", False, False),
        # Comments and reviews carry no state: a reply only, whatever their time.
        (conversation(), {"status": None, "occurred_at": 5.0}, "follow", False, True),
        (conversation(), {"status": None, "lifecycle": "thread"}, "follow", False, True),
        (conversation(), {"status": None, "lifecycle": "update"}, "post", False, False),
        (RESOLVED, {"status": None, "occurred_at": 5.0}, "follow", False, True),
        (RESOLVED, {"status": None, "occurred_at": 20.0}, "start", False, False),
    ],
)
def test_lifecycle_rules(existing, event, action, edit, reply):
    decided = plan(existing, delivery(**event))
    assert (decided.action, decided.edit, decided.reply) == (action, edit, reply)
    assert decided.why


def test_the_reply_is_one_line_and_never_the_title_again():
    merged = Message(
        headline="🟣 Merged by mona into main",
        reply="🟣 Merged by mona",
        title="#2 Fix it",
        url="https://github.com/a/b/pull/2",
        fields=[Field(name="Branch", value="x")],
        color="#8250DF",
        footer="GitHub",
        timestamp=1.0,
    )
    assert thread_reply(merged) == Message(
        title="", headline="🟣 Merged by mona", color="#8250DF", timestamp=1.0
    )
    without_reply = merged.model_copy(update={"reply": ""})
    assert thread_reply(without_reply).headline == "🟣 Merged by mona into main"
    chatty = merged.model_copy(update={"reply": "y" * 5000})
    assert len(thread_reply(chatty).headline) == 300
    assert thread_reply(chatty).headline.endswith("…")
    timed = merged.model_copy(update={"elapsed": "{elapsed} after opening"})
    assert thread_reply(timed, 192.0).headline == "🟣 Merged by mona · 3m after opening"
    assert thread_reply(timed).headline == "🟣 Merged by mona"  # no start known


def shown_as(headline: str, text: str, outcome: str) -> Message:
    return Message(title="t", headline=headline, text=text, outcome=outcome)


@pytest.mark.parametrize(
    ("before", "after", "text"),
    [
        # A merge says nothing of the description: the edit keeps it.
        (("🔵 Opened", "The description", "info"), ("🟣 Merged", "", "merged"), "The description"),
        # A new text replaces the old one.
        (("🔥 Triggered", "old", "problem"), ("✅ Resolved", "new", "resolved"), "new"),
        # A decline then a success: the story, not the decline's reason as if still true.
        (
            ("❌ Payment failed", "Your card was declined.", "failed"),
            ("✅ Payment succeeded", "", "succeeded"),
            "Earlier: ❌ Payment failed · Your card was declined.",
        ),
        (
            ("❌ Run failed", "", "failed"),
            ("✅ Run succeeded", "3 jobs", "succeeded"),
            "Earlier: ❌ Run failed\n3 jobs",
        ),
        # A second failure says its own reason, or none: never the first one's.
        (("❌ Payment failed", "declined", "failed"), ("❌ Payment failed", "", "failed"), ""),
    ],
)
def test_an_edit_keeps_what_is_still_true(before, after, text):
    remembered = said(shown_as(*before))
    assert keep_story(remembered, shown_as(*after)).text == text


def test_a_conversation_that_remembers_nothing_edits_as_rendered():
    merged = shown_as("🟣 Merged", "", "merged")
    assert keep_story(None, merged) == merged


# -- payload sequences ----------------------------------------------------------------


def github(event: str, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    body = dumps(payload)
    return "/hooks/github", body, github_headers(body, event, f"{event}-{hash(body)}")


def pull_request(name: str, **changes: Any) -> tuple[str, bytes, dict[str, str]]:
    payload = json.loads(fixture_bytes(f"github/pull_request__{name}.json"))
    payload.update(changes.pop("top", {}))
    payload["pull_request"].update(changes)
    return github("pull_request", payload)


def pr_opened():
    return pull_request("opened")


def pr_merged():
    # The example collection has no merged PR: the closed one, merged (GitHub sets both).
    return pull_request("closed", merged=True, merged_at="2019-05-15T15:21:18Z")


def pr_reopened():
    return pull_request("opened", top={"action": "reopened"}, updated_at="2019-05-16T09:00:00Z")


def pr_review():
    return github(
        "pull_request_review",
        json.loads(fixture_bytes("github/pull_request_review__submitted.json")),
    )


def incident(name: str, occurred_at: str | None = None) -> tuple[str, bytes, dict[str, str]]:
    """Three real PagerDuty bodies moved onto one incident (the triggered one's id, number
    and links) and one time line: the examples come from different incidents."""
    triggered = json.loads(fixture_bytes("pagerduty/incident__triggered.json"))["event"]["data"]
    payload = json.loads(fixture_bytes(f"pagerduty/incident__{name}.json"))
    data = payload["event"]["data"]
    for key in ("id", "number", "title", "html_url", "self"):
        data[key] = triggered[key]
    if occurred_at:
        payload["event"]["occurred_at"] = occurred_at
    body = dumps(payload)
    return "/hooks/pagerduty", body, pagerduty(body)


def alert_group(name: str) -> tuple[str, bytes, dict[str, str]]:
    """Two real Alertmanager bodies of the same group (``groupKey``): firing, then resolved."""
    body = fixture_bytes(f"alertmanager/{name}.json")
    return "/hooks/prometheus", body, bearer(ALERTMANAGER_TOKEN)


def payment(name: str) -> tuple[str, bytes, dict[str, str]]:
    """Stripe's published examples of one PaymentIntent (the same ``pi_...``): its
    attempt declined, then its retry succeeded a minute later."""
    body = fixture_bytes(f"stripe/payment_intent__{name}.json")
    return "/hooks/stripe", body, stripe_headers(body, int(time.time()))


SOURCES = {
    "stripe": {"provider": "stripe", "secret": STRIPE_SECRET},
    "github": {"provider": "github", "secret": "It's a Secret to Everybody"},
    "pagerduty": {"provider": "pagerduty", "secret": PAGERDUTY_SECRET},
    "prometheus": {"provider": "alertmanager", "token": ALERTMANAGER_TOKEN},
}


# -- what each platform shows -----------------------------------------------------------


@dataclass
class Shown:
    """One first message as a reader sees it: every version of it, and its thread."""

    versions: list[str]
    replies: list[str]

    @property
    def now(self) -> str:
        return self.versions[-1]


def on_slack(fake: FakeSlack) -> list[Shown]:
    return [
        Shown(
            [json.dumps(v, ensure_ascii=False) for v in versions],
            [json.dumps(r, ensure_ascii=False) for r in fake.replies.get(key, [])],
        )
        for key, versions in fake.messages.items()
    ]


def on_discord(fake: FakeDiscord) -> list[Shown]:
    return [
        Shown(
            [json.dumps(v, ensure_ascii=False) for v in root.versions],
            [
                json.dumps(reply.versions[-1], ensure_ascii=False)
                for reply in (fake.in_thread(root.thread_id) if root.thread_id else [])
            ],
        )
        for root in fake.roots()
    ]


def on_mattermost(fake: FakeMattermost) -> list[Shown]:
    return [
        Shown(
            [json.dumps(v, ensure_ascii=False) for v in root.versions],
            [json.dumps(r, ensure_ascii=False) for r in root.replies],
        )
        for root in fake.roots()
    ]


def on_telegram(fake: FakeTelegram) -> list[Shown]:
    return [
        Shown(
            [json.dumps(v, ensure_ascii=False) for v in root.versions],
            [json.dumps(r, ensure_ascii=False) for r in root.replies],
        )
        for root in fake.roots()
    ]


def on_recorder(recorder: Recorder) -> list[Shown]:
    return [
        Shown(
            [json.dumps(v, ensure_ascii=False) for v in message.versions],
            [json.dumps(r, ensure_ascii=False) for r in message.replies],
        )
        for message in recorder.posts()
    ]


@dataclass
class Platform:
    name: str
    config: dict[str, Any]
    shown: Callable[[], list[Shown]]
    threads: bool
    """Whether follow-ups reply in a thread (a webhook message has none until a person
    starts one: there the edit alone shows the change)."""
    delete_all: Callable[[], None]
    """Someone deletes every message posted so far."""
    colours: bool = True
    """Whether messages carry a colour bar (a Telegram message has none)."""


@pytest.fixture(
    params=[
        "slack",
        "discord-channel",
        "discord-webhook",
        "mattermost",
        "telegram",
        "telegram-topic",
        "recorder",
    ]
)
def platform(request, fake_slack, fake_discord, fake_mattermost, fake_telegram) -> Platform:
    if request.param == "recorder":  # registered from the tests alone
        recorder = request.getfixturevalue("recorder")
        return Platform(
            "recorder",
            {"recorder": "room"},
            lambda: on_recorder(recorder),
            True,
            recorder.messages.clear,
        )
    if request.param == "slack":
        return Platform(
            "slack",
            {"slack": "#eng"},
            lambda: on_slack(fake_slack),
            True,
            fake_slack.messages.clear,
        )
    if request.param == "discord-channel":
        return Platform(
            "discord",
            {"discord": CHANNEL},
            lambda: on_discord(fake_discord),
            True,
            fake_discord.messages.clear,
        )
    if request.param == "mattermost":
        target = {"mattermost": MATTERMOST_CHANNEL}
        return Platform(
            "mattermost",
            target,
            lambda: on_mattermost(fake_mattermost),
            True,
            fake_mattermost.posts.clear,
        )
    if request.param.startswith("telegram"):
        target = {"telegram": TELEGRAM_CHAT}
        if request.param == "telegram-topic":
            target["topic"] = 42
        return Platform(
            "telegram",
            target,
            lambda: on_telegram(fake_telegram),
            True,
            fake_telegram.messages.clear,
            colours=False,
        )
    return Platform(
        "discord",
        {"discord_webhook": DISCORD_WEBHOOK},
        lambda: on_discord(fake_discord),
        False,
        fake_discord.messages.clear,
    )


def config_for(
    tmp_path,
    target: dict[str, Any],
    fake_slack,
    fake_discord,
    fake_telegram=None,
    fake_mattermost=None,
    **route: Any,
):
    config = base_config(
        tmp_path,
        fake_slack.url,
        discord=discord_section(fake_discord, BOT_TOKEN),
        mattermost={
            "url": fake_mattermost.url if fake_mattermost else "",
            "bot_token": MATTERMOST_TOKEN,
        },
        telegram={
            "api_url": fake_telegram.url if fake_telegram else "",
            "bot_token": TELEGRAM_TOKEN,
        },
        targets={"t": target},
        routes=[{"to": ["t"], **route}],
        delivery={"retry_base": "0.05s"},
    )
    config["sources"] = SOURCES
    return config


Send = Callable[[tuple[str, bytes, dict[str, str]]], Awaitable[list[DeliveryRecord]]]


@pytest.fixture
def bot_for(make_bot, tmp_path, fake_slack, fake_discord, fake_telegram, fake_mattermost, clock):
    """A bot posting to one target, and ``send``: post a webhook, wait until delivered
    (on fake time, so ``group_wait`` and retries pass without real waiting)."""

    async def make(target: dict[str, str], **route: Any) -> Send:
        config = config_for(
            tmp_path, target, fake_slack, fake_discord, fake_telegram, fake_mattermost, **route
        )
        bot = await make_bot(config, clock)

        async def send(request: tuple[str, bytes, dict[str, str]]) -> list[DeliveryRecord]:
            path, body, headers = request
            accepted = await (await bot.post(path, data=body, headers=headers)).json()
            assert accepted["status"] == "accepted", accepted

            async def settled():
                deliveries = await bot.app[STORE].deliveries_for(str(accepted["id"]))
                return all(d.state != "pending" for d in deliveries) and deliveries

            settled_deliveries: list[DeliveryRecord] = await eventually(settled, clock=clock)
            assert settled_deliveries, f"nothing delivered for {path}"
            return settled_deliveries

        return send

    return make


def first_line(shown: str) -> str:
    """What a person reads first: Slack's top-level text, Discord's author line (a
    reply's description), the recorder's headline."""
    body = json.loads(shown)
    if "embeds" in body:
        embed = body["embeds"][0]
        return str(embed.get("author", {}).get("name") or embed.get("description", ""))
    if "props" in body:  # Mattermost: the post's message
        return MattermostMarkup().unescape(str(body["message"]))
    if body.get("parse_mode") == "HTML":  # Telegram: the first line shown
        return TelegramMarkup().unescape(parse_html(body["text"])[0].splitlines()[0])
    return str(body["headline"] if "headline" in body else body["text"])


def colour(shown: str) -> str | None:
    """The colour bar, where the platform draws one (Telegram has none)."""
    body = json.loads(shown)
    if body.get("parse_mode") == "HTML":
        return None
    if "props" in body:
        return str(body["props"]["attachments"][0]["color"])
    if "embeds" in body:
        return f"#{body['embeds'][0]['color']:06X}"
    return str(body["attachments"][0]["color"] if "attachments" in body else body["color"])


def replies_expected(platform: Platform, count: int) -> int:
    return count if platform.threads else 0


# -- the three sequences, on each platform ---------------------------------------------


async def test_pull_request_opened_then_merged(platform, bot_for):
    send = await bot_for(platform.config)
    await send(pr_opened())
    await send(pr_merged())

    [message] = platform.shown()
    assert len(message.versions) == 2
    assert first_line(message.versions[0]) == "🔵 Opened by Codertocat · changes → master"
    assert first_line(message.now) == "🟣 Merged by Codertocat into master"
    if platform.colours:
        assert colour(message.versions[0]) == BLUE and colour(message.now) == PURPLE
    assert len(message.replies) == replies_expected(platform, 1)
    for reply in message.replies:
        assert first_line(reply) == "🟣 Merged by Codertocat · 45s after opening"
        assert "Update the README" not in reply  # never the title again
    # The merge's webhook says nothing of the description; the edit still shows it.
    description = "This is a pretty simple change that we need to pull into master."
    assert description in message.versions[0] and description in message.now


async def test_a_payment_declined_then_paid_on_retry_keeps_the_decline(platform, bot_for):
    send = await bot_for(platform.config)
    await send(payment("payment_failed"))
    await send(payment("succeeded"))

    [message] = platform.shown()
    assert [first_line(v) for v in message.versions] == [
        "❌ Payment failed · 10.99 USD",
        "✅ Payment succeeded · 10.99 USD",
    ]
    # What the first message said is still true as history: the card was declined first.
    assert "Earlier: ❌ Payment failed · 10" in message.now
    assert "USD · Your card was declined." in message.now
    if platform.colours:
        assert colour(message.versions[0]) == RED and colour(message.now) == GREEN


async def test_pagerduty_incident_triggered_acknowledged_resolved(platform, bot_for):
    send = await bot_for(platform.config)
    await send(incident("triggered"))
    await send(incident("acknowledged"))
    await send(incident("resolved", occurred_at="2021-06-04T14:05:00.000Z"))

    [message] = platform.shown()
    assert len(message.versions) == 3
    assert all("#9 Test Incident 3" in v for v in message.versions)
    assert [first_line(v) for v in message.versions] == [
        "🔥 Triggered · high urgency · pig208",
        "👀 Acknowledged by PIG 208 · high urgency · pig208",
        "✅ Resolved by PIG 208 · high urgency · pig208",
    ]
    if platform.colours:
        assert [colour(v) for v in message.versions] == [RED, AMBER, GREEN]
    assert "Resolved by" in message.now
    assert len(message.replies) == replies_expected(platform, 2)
    if platform.threads:
        assert [first_line(r) for r in message.replies] == [
            "👀 Acknowledged by PIG 208 · 20m after trigger",
            "✅ Resolved by PIG 208 · 29m after trigger",
        ]


async def test_alertmanager_group_firing_then_resolved(platform, bot_for):
    send = await bot_for(platform.config)
    await send(alert_group("firing__two_alerts"))
    await send(alert_group("resolved__single_alert"))

    [message] = platform.shown()
    assert len(message.versions) == 2
    assert first_line(message.versions[0]) == "🚨 Firing · critical · 2 alerts"
    assert first_line(message.now) == "✅ Resolved · critical"
    if platform.colours:
        assert colour(message.versions[0]) == CRITICAL and colour(message.now) == GREEN
    for reply in message.replies:
        assert first_line(reply).startswith("✅ Resolved · fired for ")
    assert len(message.replies) == replies_expected(platform, 1)


async def test_resolved_before_triggered_stays_resolved(platform, bot_for, caplog):
    caplog.set_level(logging.INFO, logger="bot.pipeline")
    send = await bot_for(platform.config)
    await send(incident("resolved", occurred_at="2021-06-04T14:05:00.000Z"))
    [late] = await send(incident("triggered"))

    [message] = platform.shown()
    assert len(message.versions) == 1 and first_line(message.now).startswith("✅ Resolved by")
    assert message.replies == []
    assert late.state == "sent" and late.ref["action"] == "skipped"
    assert "older" in late.ref["why"]
    said = {r.getMessage() for r in caplog.records if getattr(r, "delivery", None) == late.id}
    assert said == {"skipped"}  # the log does not claim a post that never happened


async def test_a_resolved_conversation_is_over_and_the_next_event_starts_anew(platform, bot_for):
    send = await bot_for(platform.config)
    await send(pr_opened())
    await send(pr_merged())
    await send(pr_reopened())

    first, second = platform.shown()
    assert first_line(first.now) == "🟣 Merged by Codertocat into master"
    assert len(second.versions) == 1
    assert first_line(second.now) == "🔵 Reopened by Codertocat · changes → master"


async def test_a_review_only_replies_and_leaves_the_state_alone(platform, bot_for):
    send = await bot_for(platform.config)
    await send(pr_opened())
    await send(pr_review())

    shown = platform.shown()
    if platform.threads:
        [message] = shown
        assert len(message.versions) == 1
        [reply] = message.replies
        assert first_line(reply).startswith("💬 Review commented by Codertocat")
    else:
        # No thread to reply in and no state to show: the review is a message of its own.
        first, review = shown
        assert len(first.versions) == 1
        assert first_line(review.now).startswith("💬 Review commented by Codertocat")


# -- lifecycles, failures and restarts --------------------------------------------------


@pytest.mark.parametrize(
    ("lifecycle", "messages", "versions", "replies"),
    [("update", 1, 2, 0), ("thread", 1, 1, 1), ("new", 2, 1, 0)],
)
async def test_each_lifecycle(bot_for, fake_slack, lifecycle, messages, versions, replies):
    send = await bot_for({"slack": "#eng"}, lifecycle=lifecycle)
    await send(pr_opened())
    await send(pr_merged())
    shown = on_slack(fake_slack)
    assert len(shown) == messages
    assert len(shown[0].versions) == versions
    assert len(shown[0].replies) == replies


async def test_a_follow_up_whose_first_message_died_posts_the_current_state(bot_for, fake_slack):
    fake_slack.fail_next(error="channel_not_found")
    send = await bot_for({"slack": "#eng"})
    [dead] = await send(pr_opened())
    assert dead.state == "dead"
    [merged] = await send(pr_merged())
    [message] = on_slack(fake_slack)
    assert (
        len(message.versions) == 1
        and first_line(message.now) == "🟣 Merged by Codertocat into master"
    )
    assert merged.ref["action"] == "started"


async def test_a_deleted_first_message_is_replaced_by_a_new_one(platform, bot_for):
    send = await bot_for(platform.config)
    await send(incident("triggered"))
    platform.delete_all()
    [acknowledged] = await send(incident("acknowledged"))
    [message] = platform.shown()
    assert len(message.versions) == 1
    assert first_line(message.now).startswith("👀 Acknowledged by")
    assert acknowledged.ref["action"] == "started"


async def test_the_edit_goes_to_the_channel_id_slack_answered_with(bot_for, fake_slack):
    send = await bot_for({"slack": "#eng"})
    await send(pr_opened())
    await send(pr_merged())
    [post, reply] = fake_slack.posts()
    [update] = fake_slack.posts("chat.update")
    channel_id = fake_slack.channel_id("#eng")
    assert post.body["channel"] == "#eng"
    assert update.body["channel"] == reply.body["channel"] == channel_id
    assert update.body["ts"] == reply.body["thread_ts"]
    assert "thread_ts" not in post.body


async def test_a_discord_channel_message_gets_one_thread_for_all_its_replies(bot_for, fake_discord):
    send = await bot_for({"discord": CHANNEL})
    await send(incident("triggered"))
    await send(incident("acknowledged"))
    await send(incident("resolved", occurred_at="2021-06-04T14:05:00.000Z"))
    starts = [c for c in fake_discord.calls if c.path.endswith("/threads")]
    [root] = fake_discord.roots()
    assert len(starts) == 1
    assert starts[0].body["name"] == "#9 Test Incident 3"
    assert len(fake_discord.in_thread(root.thread_id)) == 2
    edits = [c for c in fake_discord.calls if c.method == "PATCH"]
    assert len(edits) == 2 and all(c.body["allowed_mentions"] == {"parse": []} for c in edits)


async def test_a_reply_retried_after_its_thread_was_made_uses_that_thread(bot_for, fake_discord):
    send = await bot_for({"discord": CHANNEL}, lifecycle="thread")
    await send(incident("triggered"))
    [root] = fake_discord.roots()
    fake_discord.fail_next(status=503, body="busy", match=f"POST /api/v10/channels/{root.id}/")
    await send(incident("acknowledged"))
    assert len(fake_discord.in_thread(root.id)) == 1
    refused = [c for c in fake_discord.calls if c.status == 400]
    assert [c.path.endswith("/threads") for c in refused] == [True]  # "already created"


async def test_a_webhook_replies_in_a_thread_a_person_started(bot_for, fake_discord):
    send = await bot_for({"discord_webhook": DISCORD_WEBHOOK})
    await send(incident("triggered"))
    [root] = fake_discord.roots()
    fake_discord.human_starts_thread(root.id)
    await send(incident("acknowledged"))  # the edit's answer shows the thread
    await send(incident("resolved", occurred_at="2021-06-04T14:05:00.000Z"))
    acknowledged, resolved = fake_discord.in_thread(root.id)
    assert "Acknowledged by" in json.dumps(acknowledged.versions[-1])
    assert "Resolved by" in json.dumps(resolved.versions[-1])
    assert len(root.versions) == 3
    posted_in_thread = [c for c in fake_discord.calls if c.query.get("thread_id") == root.id]
    assert [c.query["wait"] for c in posted_in_thread] == ["true", "true"]


async def test_the_conversation_survives_a_restart(
    make_bot, tmp_path, platform, fake_slack, fake_discord, fake_telegram, fake_mattermost
):
    config = config_for(
        tmp_path, platform.config, fake_slack, fake_discord, fake_telegram, fake_mattermost
    )
    first = await make_bot(config)
    path, body, headers = pr_opened()
    await first.post(path, data=body, headers=headers)

    async def posted() -> list[Shown]:
        return platform.shown()

    await eventually(posted)
    await first.close()

    second = await make_bot(config)
    path, body, headers = pr_merged()
    await second.post(path, data=body, headers=headers)

    async def edited() -> list[Shown]:
        shown = platform.shown()
        return shown if shown and len(shown[0].versions) == 2 else []

    [message] = await eventually(edited)
    assert first_line(message.now) == "🟣 Merged by Codertocat into master"
