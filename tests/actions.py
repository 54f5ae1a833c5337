"""Clicks as Slack and Discord send them, and the buttons as the bot drew them.

``slack_click`` is a signed ``block_actions`` request for one button of a posted message,
``discord_press`` an Ed25519-signed component interaction (type 3), ``telegram_press`` a
``callback_query`` update with the webhook's secret token; ``buttons_of``,
``components_of`` and ``callbacks_of`` read the buttons back out of what the bot sent.
``SlackClicks``, ``DiscordClicks`` and ``TelegramClicks`` put them behind one face, so a
test of an action runs on every platform with action buttons: the conversation's one
message, its versions, its thread, what the clicker alone was told.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.telegram.markup import TelegramMarkup
from bot.core.text import ELLIPSIS
from tests.conftest import base_config, fixture_bytes
from tests.fakes import mattermost, telegram
from tests.fakes.apis import FakeApi
from tests.fakes.discord import GUILD, FakeDiscord, Posted
from tests.fakes.mattermost import BOT_TOKEN as MATTERMOST_TOKEN
from tests.fakes.mattermost import FakeMattermost
from tests.fakes.slack import Call, FakeSlack
from tests.fakes.telegram import BOT_TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram, parse_html
from tests.senders import PAGERDUTY_SECRET
from tests.senders import pagerduty as pagerduty_headers
from tests.test_discord_commands import APPLICATION, CHANNEL
from tests.test_discord_commands import config as discord_config
from tests.test_discord_commands import signed as discord_signed
from tests.test_slack_commands import signed, slack_config

STATES = {
    "triggered": "triggered",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "escalated": "triggered",
}


def with_pagerduty(config: dict[str, Any], api_url: str, user: str) -> dict[str, Any]:
    """``config`` with a PagerDuty source whose REST API is ``api_url``, and ``user`` (the
    clicker) known to ``[people]`` as alice@acme.com unless the config says otherwise."""
    config["sources"]["pd"] = {
        "provider": "pagerduty",
        "secret": PAGERDUTY_SECRET,
        "api_token": "pd-rest-key",
        "api_url": api_url,
        "from_email": "oncall@acme.com",
    }
    config.setdefault("people", {user: "alice@acme.com"})
    return config


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


async def pagerduty_bot(
    clicks: Clicks, tmp_path: Any, api: FakeApi, make_bot: Any, clock: Any = None, **sections: Any
) -> Any:
    """A bot with the PagerDuty source on ``clicks``' platform, and its first message up."""
    config = with_pagerduty(clicks.config(tmp_path, **sections), api.url, clicks.user)
    bot = await make_bot(config, clock)
    await incident(bot, "triggered")
    await clicks.posted()
    return bot


async def some(found: list[Any]) -> list[Any]:
    """``found`` as an awaitable check for ``eventually``: truthy once anything is there."""
    return found


def _elements(call: Call) -> list[dict[str, Any]]:
    """Every button of the message's ``actions`` blocks, in the order Slack shows them."""
    blocks = [b for a in call.body.get("attachments", []) for b in a.get("blocks", [])]
    return [e for block in blocks if block["type"] == "actions" for e in block["elements"]]


def buttons_of(call: Call) -> dict[str, dict[str, Any]]:
    """The message's action buttons by action (``acknowledge``), as Slack shows them."""
    return {
        element["action_id"].removeprefix("bot."): element
        for element in _elements(call)
        if element["action_id"].startswith("bot.")
    }


def links_of(call: Call) -> list[tuple[str, str]]:
    """The message's link buttons (label, URL), as Slack shows them."""
    return [(e["text"]["text"], e["url"]) for e in _elements(call) if "url" in e]


def block_actions(
    button: dict[str, Any],
    user: str = "U1",
    name: str = "alice",
    channel: str = "CENG",
    ts: str = "1700000000.000001",
    team: str = "T0FAKE",
) -> bytes:
    """The form Slack posts to the interactivity URL when ``button`` is pressed."""
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": name, "name": name, "team_id": team},
        "api_app_id": "A0FAKE",
        "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "trigger_id": "1.2.3",
        "channel": {"id": channel, "name": "eng"},
        "response_url": "https://hooks.slack.com/actions/T0FAKE/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "bot_actions",
                "text": button["text"],
                "value": button["value"],
                "action_ts": "1700000001.000002",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def slack_click(bot: Any, button: dict[str, Any], **who: str) -> None:
    """Press ``button`` in Slack; Slack requires the answer (the ack) within 3 s."""
    body = block_actions(button, **who)
    response = await bot.post("/slack/interactions", data=body, headers=signed(body))
    assert response.status == 200, await response.text()


def components_of(body: dict[str, Any]) -> dict[str, str]:
    """custom_id by action, as a Discord message's components show them (link buttons,
    which carry a url and no custom_id, are not actions)."""
    return {
        button["custom_id"].split(":", 1)[0].removeprefix("bot."): button["custom_id"]
        for row in body.get("components", [])
        for button in row["components"]
        if "custom_id" in button
    }


def component_links_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The message's link buttons (style 5): label and URL."""
    return [
        (button["label"], button["url"])
        for row in body.get("components", [])
        for button in row["components"]
        if button["style"] == 5
    ]


def component(
    custom_id: str, message: Posted, user: str = "4242", name: str = "alice", guild: str = GUILD
) -> bytes:
    """A MESSAGE_COMPONENT interaction as Discord sends it for a button press."""
    return json.dumps(
        {
            "type": 3,
            "id": "1300",
            "application_id": APPLICATION,
            "token": "interaction-token",
            "version": 1,
            "guild_id": guild,
            "channel_id": CHANNEL,
            "member": {"user": {"id": user, "username": name, "global_name": name.title()}},
            "message": {"id": message.id, "channel_id": CHANNEL},
            "data": {"custom_id": custom_id, "component_type": 2},
        }
    ).encode()


async def discord_press(bot: Any, custom_id: str, message: Posted, **who: str) -> None:
    body = component(custom_id, message, **who)
    response = await bot.post("/discord/interactions", data=body, headers=discord_signed(body))
    assert response.status == 200
    assert await response.json() == {"type": 6}  # deferred update: no error shown meanwhile


def followups(discord: FakeDiscord) -> list[Any]:
    """What the bot said to clickers alone: follow-ups through the interaction's webhook."""
    path = f"/webhooks/{APPLICATION}/interaction-token"
    return [c for c in discord.calls if c.method == "POST" and c.path.endswith(path)]


class SlackClicks:
    """The conversation's message in Slack's #eng, and clicks on it by ``U1`` (alice)."""

    platform = "slack"
    via = "Slack"
    user = "U1"

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    def config(self, tmp_path: Any, **sections: Any) -> dict[str, Any]:
        return slack_config(tmp_path, self.fake.url, **sections)

    def _roots(self) -> list[Call]:
        return [c for c in self.fake.posts() if not c.body.get("thread_ts")]

    def versions(self) -> list[dict[str, Any]]:
        """Every body the one message was given: as posted, then each edit."""
        return [c.body for c in self._roots()[:1] + self.fake.posts("chat.update")]

    async def posted(self) -> None:
        await self.fake.wait_for(1)

    def buttons(self, version: int = -1) -> dict[str, Any]:
        calls = self._roots()[:1] + self.fake.posts("chat.update")
        return buttons_of(calls[version])

    def links(self, version: int = -1) -> list[tuple[str, str]]:
        """The link buttons (label, URL) of a version of the message."""
        calls = self._roots()[:1] + self.fake.posts("chat.update")
        return links_of(calls[version])

    def text(self, version: int = -1) -> str:
        return json.dumps(self.versions()[version], ensure_ascii=False)

    def messages(self) -> int:
        """How many messages (not thread replies) were posted."""
        return len(self._roots())

    def replies(self) -> list[str]:
        return [str(c.body["text"]) for c in self.fake.posts() if c.body.get("thread_ts")]

    def told(self) -> list[str]:
        """What clickers were told, each alone (ephemerally), oldest first."""
        return [str(c.body["text"]) for c in self.fake.posts("chat.postEphemeral")]

    def link(self) -> str:
        """Where the message is, as the click says (``block_actions``' container)."""
        return "https://slack.com/archives/CENG/p1700000000000001"

    async def press(self, bot: Any, button: Any, user: str = "", name: str = "alice") -> None:
        await slack_click(bot, button, user=user or self.user, name=name)


class _RootMessage:
    """The conversation's message on a fake that keeps its ``roots`` (Discord, Telegram,
    Mattermost): its bodies, first to latest, and waiting for it to be posted."""

    fake: Any

    def versions(self) -> list[dict[str, Any]]:
        return self.fake.roots()[0].versions if self.fake.roots() else []

    async def posted(self) -> None:
        await self.fake.wait_until(lambda: self.fake.roots() or None)


class DiscordClicks(_RootMessage):
    """The conversation's message in a Discord channel, and clicks on it by ``4242``."""

    platform = "discord"
    via = "Discord"
    user = "4242"

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def config(self, tmp_path: Any, **sections: Any) -> dict[str, Any]:
        return discord_config(tmp_path, self.fake, **sections)

    def _message(self) -> Posted:
        return self.fake.roots()[0]

    def buttons(self, version: int = -1) -> dict[str, Any]:
        return components_of(self.versions()[version])

    def links(self, version: int = -1) -> list[tuple[str, str]]:
        return component_links_of(self.versions()[version])

    def text(self, version: int = -1) -> str:
        return json.dumps(self.versions()[version], ensure_ascii=False)

    def messages(self) -> int:
        return len(self.fake.roots())

    def replies(self) -> list[str]:
        thread = self._message().thread_id
        return [json.dumps(m.versions[-1]) for m in self.fake.in_thread(thread)] if thread else []

    def told(self) -> list[str]:
        found = followups(self.fake)
        assert all(c.body["flags"] == 64 for c in found)  # ephemeral: the clicker alone
        return [str(c.body["content"]) for c in found]

    def link(self) -> str:
        return f"https://discord.com/channels/{GUILD}/{CHANNEL}/{self._message().id}"

    async def press(self, bot: Any, button: Any, user: str = "", name: str = "alice") -> None:
        await discord_press(bot, button, self._message(), user=user or self.user, name=name)


TELEGRAM_CHAT = "-1001234567890"
TELEGRAM_SECRET = "webhook-Secret_42"


def callbacks_of(body: dict[str, Any]) -> dict[str, str]:
    """callback_data by action, as a Telegram message's inline keyboard shows them (URL
    buttons carry no callback_data: they are not actions)."""
    rows = (body.get("reply_markup") or {}).get("inline_keyboard", [])
    return {
        button["callback_data"].split(":", 1)[0].removeprefix("bot."): button["callback_data"]
        for row in rows
        for button in row
        if "callback_data" in button
    }


def telegram_config(tmp_path: Any, fake: FakeTelegram, **sections: Any) -> dict[str, Any]:
    """A bot posting to one supergroup, taking updates (commands, clicks) on its webhook."""
    return base_config(
        tmp_path,
        telegram={
            "api_url": fake.url,
            "bot_token": TELEGRAM_TOKEN,
            "webhook_secret": TELEGRAM_SECRET,
        },
        targets={"room": {"telegram": TELEGRAM_CHAT}},
        routes=[{"to": ["room"]}],
        **sections,
    )


async def telegram_press(bot: Any, update: dict[str, Any]) -> None:
    """Post a ``callback_query`` update as Telegram does: taken at once (the answer to
    the clicker is an ``answerCallbackQuery`` that follows)."""
    response = await bot.post(
        "/telegram/updates",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status == 200
    assert await response.json() == {}


def _shown(body: dict[str, Any]) -> str:
    """A message's text as a reader sees it."""
    return TelegramMarkup().unescape(parse_html(str(body.get("text", "")))[0])


class TelegramClicks(_RootMessage):
    """The conversation's message in a Telegram supergroup, and clicks on it by ``4242``."""

    platform = "telegram"
    via = "Telegram"
    user = "4242"

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def config(self, tmp_path: Any, **sections: Any) -> dict[str, Any]:
        return telegram_config(tmp_path, self.fake, **sections)

    def _message(self) -> telegram.Posted:
        return self.fake.roots()[0]

    def buttons(self, version: int = -1) -> dict[str, Any]:
        return callbacks_of(self.versions()[version])

    def links(self, version: int = -1) -> list[tuple[str, str]]:
        """The link buttons (label, URL); not *Open*, which is the title's own link."""
        rows = (self.versions()[version].get("reply_markup") or {}).get("inline_keyboard", [])
        return [
            (b["text"], b["url"]) for row in rows for b in row if "url" in b and b["text"] != "Open"
        ]

    def text(self, version: int = -1) -> str:
        return _shown(self.versions()[version])

    def messages(self) -> int:
        return len(self.fake.roots())

    def unchanged_edits(self) -> list[telegram.Call]:
        """Edits Telegram refused because the message shows that already ("message is
        not modified": it keeps no version for them)."""
        return [
            c
            for c in self.fake.calls
            if c.method == "editMessageText" and "message is not modified" in c.description
        ]

    def _answers(self) -> list[dict[str, Any]]:
        """The bot's own replies under the message: the whole of a reason too long for
        an alert (thread lines reply with ``reply_to_message_id`` instead)."""
        return [r for r in self._message().replies if "reply_parameters" in r]

    def replies(self) -> list[str]:
        if not self.fake.roots():
            return []
        return [_shown(r) for r in self._message().replies if "reply_to_message_id" in r]

    def told(self) -> list[str]:
        """What clickers were told as alerts (``show_alert``), oldest first; an alert cut
        at Telegram's 200 characters is read whole from the reply that carries it, and
        ends the list until that reply has arrived (it is posted after the alert)."""
        whole = iter(self._answers()) if self.fake.roots() else iter([])
        said = []
        for answer in self.fake.answers:
            if not answer.get("show_alert"):
                continue
            text = str(answer["text"])
            if not text.endswith(ELLIPSIS):
                said.append(text)
            elif (reply := next(whole, None)) is not None:
                said.append(_shown(reply))
            else:
                break
        return said

    def notices(self) -> list[str]:
        """The passing notices (not alerts) clickers were shown."""
        return [str(a.get("text", "")) for a in self.fake.answers if not a.get("show_alert")]

    def link(self) -> str:
        return f"https://t.me/c/{TELEGRAM_CHAT[4:]}/{self._message().message_id}"

    async def press(
        self, bot: Any, button: Any, user: str = "", name: str = "alice", chat: str | None = None
    ) -> None:
        update = self.fake.callback_query(
            self._message(), str(button), int(user or self.user), name, chat
        )
        await telegram_press(bot, update)


MATTERMOST_CHANNEL = "4xp9fdt8jpgfmkwbn7rd5yqe3a"
ACTIONS_SECRET = "mattermost-actions-secret-0123456789abcdef"
PUBLIC_URL = "https://bot.example.com"


def mattermost_config(tmp_path: Any, fake: FakeMattermost, **sections: Any) -> dict[str, Any]:
    """A bot posting to one channel as the bot account, its buttons calling back at
    ``PUBLIC_URL``."""
    return base_config(
        tmp_path,
        mattermost={
            "url": fake.url,
            "bot_token": MATTERMOST_TOKEN,
            "actions_secret": ACTIONS_SECRET,
        },
        server={"public_url": PUBLIC_URL},
        targets={"room": {"mattermost": MATTERMOST_CHANNEL}},
        routes=[{"to": ["room"]}],
        **sections,
    )


def attachment_actions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A post's action buttons by the action their context names."""
    attachments = (body.get("props") or {}).get("attachments") or []
    return {
        action["integration"]["context"]["action"]: action
        for attachment in attachments
        for action in attachment.get("actions") or []
    }


async def mattermost_press(bot: Any, url: str, request: dict[str, Any]) -> dict[str, Any]:
    """What the Mattermost server does for a click: post the integration request to the
    button's ``integration.url`` (here, the bot under test) and wait for the answer."""
    assert url == f"{PUBLIC_URL}/mattermost/actions"  # the bot's public address
    response = await bot.post(urlsplit(url).path, json=request)
    assert response.status == 200, await response.text()
    return dict(await response.json())


class MattermostClicks(_RootMessage):
    """The conversation's post in a Mattermost channel (the bot account's), and clicks on
    it. The server waits for the bot's answer to a click while the clicker sees it
    pending: each press runs on until answered, and ``told`` reads the answers."""

    platform = "mattermost"
    via = "Mattermost"
    user = "alice0user0id0000000000000"

    def __init__(self, fake: FakeMattermost) -> None:
        self.fake = fake
        self.pressed: list[asyncio.Task[dict[str, Any]]] = []

    def config(self, tmp_path: Any, **sections: Any) -> dict[str, Any]:
        return mattermost_config(tmp_path, self.fake, **sections)

    def _message(self) -> mattermost.Posted:
        return self.fake.roots()[0]

    def buttons(self, version: int = -1) -> dict[str, Any]:
        return attachment_actions(self.versions()[version])

    def links(self, version: int = -1) -> list[tuple[str, str]]:
        """The *Links* field's markdown links: Mattermost's own buttons open no page."""
        from tests.chats import links_field, markdown_links

        [attachment] = self.versions()[version]["props"]["attachments"]
        value = links_field(attachment.get("fields") or [], "title", "value")
        return markdown_links(value, MattermostMarkup().unescape)

    def text(self, version: int = -1) -> str:
        from tests.chats import strings

        return MattermostMarkup().unescape(strings(self.versions()[version]))

    def messages(self) -> int:
        return len(self.fake.roots())

    def replies(self) -> list[str]:
        if not self.fake.roots():
            return []
        return [MattermostMarkup().unescape(str(r["message"])) for r in self._message().replies]

    def told(self) -> list[str]:
        """What clickers were told, each alone (``ephemeral_text``), oldest first."""
        answers = [task.result() for task in self.pressed if task.done()]
        return [MattermostMarkup().unescape(a["ephemeral_text"]) for a in answers if a]

    def link(self) -> str:
        return f"{self.fake.url}/{mattermost.TEAM_DOMAIN}/pl/{self._message().id}"

    async def press(self, bot: Any, button: Any, user: str = "", name: str = "alice") -> None:
        # The server finds the button in the post as it is now (LookupError: a 404 there).
        url, request = self.fake.action_request(
            self._message(), str(button["id"]), user or self.user, name
        )
        self.pressed.append(asyncio.create_task(mattermost_press(bot, url, request)))
        await asyncio.sleep(0)  # under way, as the server's request is once clicked


Clicks = SlackClicks | DiscordClicks | TelegramClicks | MattermostClicks
