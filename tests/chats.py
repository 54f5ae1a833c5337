"""One view of every chat platform's fake, so a scenario is written once and run on each
(``chat`` fixtures parametrize over them): rooms, what was posted and edited, failures."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

from bot.chat.discord.markup import DiscordMarkup
from bot.chat.mattermost.markup import MattermostMarkup
from bot.chat.slack.markup import SlackMarkup
from bot.chat.teams.markup import TeamsMarkup
from bot.chat.telegram.markup import TelegramMarkup
from bot.commands import Caller
from bot.core.errors import DeliveryError, MessageGone
from tests.conftest import eventually
from tests.fakes.clock import FakeClock
from tests.fakes.discord import API, BOT_TOKEN, GUILD, FakeDiscord
from tests.fakes.mattermost import BOT_TOKEN as MATTERMOST_TOKEN
from tests.fakes.mattermost import TEAM_ID, FakeMattermost
from tests.fakes.recorder import Recorder
from tests.fakes.slack import FakeSlack
from tests.fakes.teams import FakeTeams, texts
from tests.fakes.telegram import BOT_TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram, parse_html


class Chat(Protocol):
    name: str
    edits_in_place: bool
    """Whether a change edits the message (else, as on a Teams webhook, it is a new one)."""

    def config(self) -> dict[str, Any]:
        """The config sections the platform needs (besides its targets)."""

    def target(self, room: str) -> dict[str, str]:
        """A target posting into ``room``."""

    def posts(self, room: str | None = None) -> list[str]:
        """Each first message as it was posted (its title, as a reader sees it)."""

    def listing(self, room: str) -> str:
        """Everything the first message posted into ``room`` showed, as text."""

    def edits(self) -> list[str]:
        """Each edit's title, in order."""

    def calls(self) -> list[str]:
        """``post``, ``update``, ``update:failed``..., in order."""

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        """The next calls (to ``room`` only, if given) meet a server error."""

    def gone_next(self) -> None:
        """The next edit finds its message deleted."""

    def rate_limit_next(self, seconds: int) -> None:
        """The next call meets the platform's own rate-limit answer, saying to wait
        ``seconds`` the way that platform says it."""

    def use_clock(self, clock: FakeClock) -> None:
        """The fake stamps its calls (and counts any limits) in ``clock``'s time."""

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        """Wait until ``count`` messages are posted; returns ``posts()``. With a ``clock``,
        fake time moves while waiting (as ``posts_on``), so the bot's timers come due."""

    def shown(self, room: str) -> list[str]:
        """Each first message in ``room``: all the text it shows, as a reader sees it."""

    def caller(self, room: str) -> Caller:
        """Someone typing a command in ``room``, as the platform's front end reports them."""

    def mentions(self, room: str) -> list[str]:
        """Whom the first message in ``room`` would notify, read the way the platform
        reads mentions."""

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        """For each version of the first message in ``room`` (the post, then its edits;
        on a platform that cannot edit, each new card), the link buttons a reader can
        press, as (label, URL) in the order shown: buttons where the platform has them,
        else the links of the message's fields."""


MARKDOWN_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)")


def markdown_links(text: str, unescape: Callable[[str], str]) -> list[tuple[str, str]]:
    """``[label](url)`` links in order, their labels as a reader sees them."""
    return [(unescape(label), url) for label, url in MARKDOWN_LINK.findall(text)]


def links_field(fields: list[dict[str, Any]], name: str, value: str) -> str:
    """The value of the last field if it is the *Links* field, else nothing."""
    return str(fields[-1].get(value, "")) if fields and fields[-1].get(name) == "Links" else ""


def strings(body: Any) -> str:
    """Every string in a JSON body, one a line: what a message can show."""
    if isinstance(body, dict):
        return "\n".join(strings(v) for v in body.values())
    if isinstance(body, list):
        return "\n".join(strings(v) for v in body)
    return body if isinstance(body, str) else ""


async def posted(
    posts: Callable[[], list[str]],
    count: int,
    timeout: float,
    clock: FakeClock | None,
    step: float = 0.05,
) -> list[str]:
    """``posts()`` once it holds ``count`` messages, moving ``clock`` (if any) meanwhile."""

    async def arrived() -> list[str]:
        return found if len(found := posts()) >= count else []

    try:
        result: list[str] = await eventually(arrived, timeout, clock=clock, step=step)
    except AssertionError as timed_out:
        raise AssertionError(f"{len(posts())} of {count} posted: {timed_out}") from None
    return result


class SlackChat:
    name = "slack"
    edits_in_place = True

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {"slack": {"bot_token": self.fake.token, "api_url": self.fake.url}}

    def use_clock(self, clock: FakeClock) -> None:
        self.fake.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"slack": f"#{room}"}

    def posts(self, room: str | None = None) -> list[str]:
        return [
            SlackMarkup().unescape(c.body["text"])
            for c in self.fake.posts()
            if room is None or c.body["channel"] == f"#{room}"
        ]

    def listing(self, room: str) -> str:
        [first, *_] = [c for c in self.fake.posts() if c.body["channel"] == f"#{room}"]
        return json.dumps(first.body["attachments"])

    def edits(self) -> list[str]:
        return [SlackMarkup().unescape(c.body["text"]) for c in self.fake.posts("chat.update")]

    def calls(self) -> list[str]:
        names = {"chat.postMessage": "post", "chat.update": "update"}
        return [
            ":".join([names[c.method.split(":")[0]], *c.method.split(":")[1:]])
            for c in self.fake.calls
        ]

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        self.fake.fail_next(times=times, status=500, channel=f"#{room}" if room else None)

    def gone_next(self) -> None:
        self.fake.fail_next(error="message_not_found")

    def rate_limit_next(self, seconds: int) -> None:
        # https://api.slack.com/docs/rate-limits: HTTP 429 with Retry-After
        self.fake.fail_next(status=429, error="ratelimited", headers={"Retry-After": str(seconds)})

    def shown(self, room: str) -> list[str]:
        bodies = [c.body for c in self.fake.posts() if c.body["channel"] == f"#{room}"]
        return [SlackMarkup().unescape(strings(b)) for b in bodies if "thread_ts" not in b]

    def caller(self, room: str) -> Caller:
        channel = self.fake.channel_id(f"#{room}")
        return Caller("slack", "U0ALICE", "alice", channel, room, workspace="T0FAKE")

    def mentions(self, room: str) -> list[str]:
        [first, *_] = [c for c in self.fake.posts() if c.body["channel"] == f"#{room}"]
        return SLACK_MENTION.findall(json.dumps(first.body))

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        [first, *_] = [c for c in self.fake.posts() if c.body["channel"] == f"#{room}"]
        edits = [
            c
            for c in self.fake.posts("chat.update")
            if c.body["channel"] == self.fake.channel_id(f"#{room}")
        ]
        return [
            [
                (element["text"]["text"], element["url"])
                for attachment in body.get("attachments", [])
                for block in attachment.get("blocks", [])
                if block["type"] == "actions"
                for element in block["elements"]
                if "url" in element
            ]
            for body in [first.body, *(c.body for c in edits)]
        ]

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)


SLACK_MENTION = re.compile(r"<!(?:channel|here|everyone|subteam\^)[^>]*>|<@[UW][A-Z0-9]+[^>]*>")
DISCORD_MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>")
TELEGRAM_MENTION = re.compile(r"(?<!\w)@[A-Za-z]\w{4,31}")

ROOM_IDS = {"ops": "1001", "eng": "1002", "ci": "1003"}


class DiscordChat:
    name = "discord"
    edits_in_place = True

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {"discord": {"api_url": self.fake.url, "bot_token": BOT_TOKEN}}

    def use_clock(self, clock: FakeClock) -> None:
        self.fake.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"discord": ROOM_IDS[room]}

    def _title(self, body: Any) -> str:
        return DiscordMarkup().unescape(str(body["embeds"][0].get("title", "")))

    def _delivered(self, method: str, room: str | None = None) -> list[Any]:
        prefix = f"{API}/channels/{ROOM_IDS[room]}/" if room else f"{API}/channels/"
        return [
            c.body
            for c in self.fake.delivered()
            if c.method == method and c.path.startswith(prefix)
        ]

    def posts(self, room: str | None = None) -> list[str]:
        return [self._title(body) for body in self._delivered("POST", room)]

    def listing(self, room: str) -> str:
        return json.dumps(self._delivered("POST", room)[0]["embeds"], ensure_ascii=False)

    def edits(self) -> list[str]:
        return [self._title(body) for body in self._delivered("PATCH")]

    def calls(self) -> list[str]:
        names = {"POST": "post", "PATCH": "update"}
        return [names[c.method] + (":failed" if c.status >= 300 else "") for c in self.fake.calls]

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        match = f"/channels/{ROOM_IDS[room]}/" if room else ""
        self.fake.fail_next(times, status=500, match=match)

    def gone_next(self) -> None:
        self.fake.fail_next(
            status=404, body={"code": 10008, "message": "Unknown Message"}, match="PATCH"
        )

    def rate_limit_next(self, seconds: int) -> None:
        # https://discord.com/developers/docs/topics/rate-limits: the body's retry_after
        body = {"message": "You are being rate limited.", "retry_after": seconds, "global": False}
        headers = {"Retry-After": str(seconds), "X-RateLimit-Scope": "user"}
        self.fake.fail_next(status=429, body=body, headers=headers)

    def shown(self, room: str) -> list[str]:
        return [DiscordMarkup().unescape(strings(b)) for b in self._delivered("POST", room)]

    def caller(self, room: str) -> Caller:
        return Caller("discord", "4242", "alice", ROOM_IDS[room], room, workspace=GUILD)

    def mentions(self, room: str) -> list[str]:
        first = self._delivered("POST", room)[0]
        if first.get("allowed_mentions") == {"parse": []}:
            return []  # Discord notifies nobody, whatever the text says
        return DISCORD_MENTION.findall(json.dumps(first))

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        [first, *_] = [m for m in self.fake.roots() if m.channel_id == ROOM_IDS[room]]
        return [discord_links(body) for body in first.versions]

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)


def discord_links(body: dict[str, Any]) -> list[tuple[str, str]]:
    """A Discord message's link buttons (style 5), else its *Links* field's links."""
    buttons = [
        (button["label"], button["url"])
        for row in body.get("components") or []
        for button in row["components"]
        if button.get("style") == 5
    ]
    text = links_field(body["embeds"][0].get("fields") or [], "name", "value")
    return buttons + markdown_links(text, DiscordMarkup().unescape)


_MATTERMOST_WORD = re.compile(r"[\w:.@-]+")
"""What Mattermost's mention parser reads as a word: letters, digits and ``:._-@``;
anything else (a space, a backslash, a zero-width space) ends one."""


def mattermost_mentions(text: str) -> list[str]:
    """The ``@`` mentions Mattermost's server finds in ``text``, read as its standard
    mention parser reads them (server/channels/app/mention_parser_standard.go,
    ``ProcessText``): words split where no mention can go on, leading ``:.-_`` dropped,
    trailing ``.-:_`` tried off, and a word such as ``x.@all`` split further at ``.-:``.
    Stricter than the server: mentions inside code are counted too."""
    found: list[str] = []
    for word in _MATTERMOST_WORD.findall(text):
        word = word.lstrip(":.-_")
        pieces = [word] if word.startswith("@") else re.split(r"[.:-]", word)
        found += [p.rstrip(".-:_") for p in pieces if p.startswith("@") and p.rstrip(".-:_@")]
    return found


CHANNEL_IDS = {room: f"{room}channel".ljust(26, "0") for room in ("ops", "eng", "ci")}


class MattermostChat:
    name = "mattermost"
    edits_in_place = True

    def __init__(self, fake: FakeMattermost) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {"mattermost": {"url": self.fake.url, "bot_token": MATTERMOST_TOKEN}}

    def use_clock(self, clock: FakeClock) -> None:
        self.fake.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"mattermost": CHANNEL_IDS[room]}

    @staticmethod
    def _attachment(body: dict[str, Any]) -> dict[str, Any]:
        attachments: list[dict[str, Any]] = body["props"]["attachments"]
        return attachments[0]

    def _title(self, body: dict[str, Any]) -> str:
        return MattermostMarkup().unescape(str(self._attachment(body)["title"]))

    def posts(self, room: str | None = None) -> list[str]:
        channel = CHANNEL_IDS[room] if room else None
        return [self._title(p.versions[0]) for p in self.fake.roots(channel)]

    def listing(self, room: str) -> str:
        [first, *_] = self.fake.roots(CHANNEL_IDS[room])
        return json.dumps(first.versions[0], ensure_ascii=False)

    def edits(self) -> list[str]:
        return [self._title(c.body) for c in self.fake.delivered("PUT")]

    def calls(self) -> list[str]:
        names = {"POST": "post", "PUT": "update"}
        return [names[c.method] + (":failed" if c.status >= 300 else "") for c in self.fake.calls]

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        self.fake.fail_next(times, status=503, match=CHANNEL_IDS[room] if room else "")

    def gone_next(self) -> None:
        self.fake.fail_next(status=404, match="PUT")

    def rate_limit_next(self, seconds: int) -> None:
        # https://docs.mattermost.com/configure/rate-limiting-configuration-settings.html
        headers = {"X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0"}
        self.fake.fail_next(status=429, headers={**headers, "X-Ratelimit-Reset": str(seconds)})

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)

    def shown(self, room: str) -> list[str]:
        roots = self.fake.roots(CHANNEL_IDS[room])
        return [MattermostMarkup().unescape(strings(p.versions[0])) for p in roots]

    def caller(self, room: str) -> Caller:
        user, channel = "alice0user0id00000000000000", CHANNEL_IDS[room]
        return Caller("mattermost", user, "alice", channel, room, workspace=TEAM_ID)

    def mentions(self, room: str) -> list[str]:
        [first, *_] = self.fake.roots(CHANNEL_IDS[room])
        return mattermost_mentions(strings(first.versions[0]))  # the text, not its JSON

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        """Mattermost's attachment buttons only call an integration back: a reader's
        links are the markdown links of the fields (the *Links* field last)."""
        [first, *_] = self.fake.roots(CHANNEL_IDS[room])
        return [
            [
                link
                for field in self._attachment(body).get("fields") or []
                for link in markdown_links(str(field["value"]), MattermostMarkup().unescape)
            ]
            for body in first.versions
        ]


CHAT_IDS = {"ops": "-1001001", "eng": "-1001002", "ci": "-1001003"}
"""Supergroups, as most teams' chats are: the slower group pace applies."""


class TelegramChat:
    name = "telegram"
    edits_in_place = True

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {"telegram": {"api_url": self.fake.url, "bot_token": TELEGRAM_TOKEN}}

    def use_clock(self, clock: FakeClock) -> None:
        self.fake.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"telegram": CHAT_IDS[room]}

    @staticmethod
    def _title(body: dict[str, Any]) -> str:
        """The first line as a reader sees it (the headline, else the title)."""
        return TelegramMarkup().unescape(parse_html(str(body["text"]))[0].splitlines()[0])

    def posts(self, room: str | None = None) -> list[str]:
        chat = CHAT_IDS[room] if room else None
        return [self._title(m.versions[0]) for m in self.fake.roots(chat)]

    def listing(self, room: str) -> str:
        [first, *_] = self.fake.roots(CHAT_IDS[room])
        return parse_html(str(first.versions[0]["text"]))[0]

    def edits(self) -> list[str]:
        return [self._title(c.body) for c in self.fake.delivered("editMessageText")]

    def calls(self) -> list[str]:
        names = {"sendMessage": "post", "editMessageText": "update"}
        return [
            names[c.method] + (":failed" if c.status >= 300 else "")
            for c in self.fake.calls
            if c.method in names
        ]

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        chat = CHAT_IDS[room] if room else None
        self.fake.fail_next(times, status=502, description="Bad Gateway", chat=chat)

    def gone_next(self) -> None:
        self.fake.fail_next(status=400, description="Bad Request: message to edit not found")

    def rate_limit_next(self, seconds: int) -> None:
        # https://core.telegram.org/bots/api#responseparameters: retry_after
        self.fake.fail_next(
            status=429, description=f"Too Many Requests: retry after {seconds}", retry_after=seconds
        )

    def shown(self, room: str) -> list[str]:
        roots = self.fake.roots(CHAT_IDS[room])
        return [TelegramMarkup().unescape(parse_html(m.versions[0]["text"])[0]) for m in roots]

    def caller(self, room: str) -> Caller:
        chat = CHAT_IDS[room]
        return Caller("telegram", "4242", "alice", chat, room, workspace=chat)

    def mentions(self, room: str) -> list[str]:
        return TELEGRAM_MENTION.findall(self.listing(room))

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        [first, *_] = self.fake.roots(CHAT_IDS[room])
        return [
            [
                (button["text"], button["url"])
                for row in (body.get("reply_markup") or {}).get("inline_keyboard", [])
                for button in row
                if "url" in button
            ]
            for body in first.versions
        ]

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)


WORKFLOWS = {room: f"{room}workflow".ljust(32, "0") for room in ("ops", "eng", "ci")}


class TeamsChat:
    """A Workflows webhook per room: it posts cards and can do nothing else."""

    name = "teams"
    edits_in_place = False

    def __init__(self, fake: FakeTeams) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {}

    def use_clock(self, clock: FakeClock) -> None:
        self.fake.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"teams_webhook": self.fake.webhook_url(WORKFLOWS[room])}

    def posts(self, room: str | None = None) -> list[str]:
        cards = self.fake.cards(WORKFLOWS[room] if room else None)
        return [TeamsMarkup().unescape(texts(card)[0]) for card in cards]

    def listing(self, room: str) -> str:
        return json.dumps(self.fake.cards(WORKFLOWS[room])[0], ensure_ascii=False)

    def edits(self) -> list[str]:
        return []  # a webhook cannot edit: every change is a post

    def calls(self) -> list[str]:
        return ["post" + (":failed" if c.status >= 300 else "") for c in self.fake.calls]

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        self.fake.fail_next(times, status=502)

    def gone_next(self) -> None:
        raise NotImplementedError("a Teams webhook edits nothing, so nothing is found gone")

    def rate_limit_next(self, seconds: int) -> None:
        self.fake.fail_next(status=429, headers={"Retry-After": str(seconds)})

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)

    def shown(self, room: str) -> list[str]:
        cards = self.fake.cards(WORKFLOWS[room])
        return [TeamsMarkup().unescape("\n".join(texts(card))) for card in cards]

    def caller(self, room: str) -> Caller:
        raise NotImplementedError("a Teams webhook takes no commands")

    def mentions(self, room: str) -> list[str]:
        """Teams notifies only for an ``<at>`` that an ``msteams.entities`` entry backs."""
        card = self.fake.cards(WORKFLOWS[room])[0]
        entities = (card.get("msteams") or {}).get("entities") or []
        tagged = [t for text in texts(card) for t in re.findall(r"<at>.*?</at>", text)]
        return [str(e) for e in entities if e.get("type") == "mention"] + tagged

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        """Each card is a version (a webhook cannot edit): its ``Action.OpenUrl`` buttons,
        then the links of a text block after the facts (those past Teams' six actions)."""
        out = []
        for card in self.fake.cards(WORKFLOWS[room]):
            buttons = [(a["title"], a["url"]) for a in card.get("actions") or []]
            for element in card.get("body") or []:  # the footer is the subtle one
                if element.get("type") == "TextBlock" and not element.get("isSubtle"):
                    text = str(element.get("text", ""))
                    buttons += markdown_links(text, TeamsMarkup().unescape)
            out.append(buttons)
        return out


class RecorderChat:
    name = "recorder"
    edits_in_place = True

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def config(self) -> dict[str, Any]:
        return {}

    def use_clock(self, clock: FakeClock) -> None:
        self.recorder.clock = clock.monotonic

    def target(self, room: str) -> dict[str, str]:
        return {"recorder": room}

    def posts(self, room: str | None = None) -> list[str]:
        return [m.versions[0]["title"] for m in self.recorder.posts(room)]

    def listing(self, room: str) -> str:
        return json.dumps(self.recorder.posts(room)[0].versions[0], ensure_ascii=False)

    def edits(self) -> list[str]:
        return [v["title"] for m in self.recorder.posts() for v in m.versions[1:]]

    def calls(self) -> list[str]:
        return list(self.recorder.calls)

    def fail_next(self, times: int = 1, room: str | None = None) -> None:
        error = DeliveryError("recorder server error 500", retryable=True, http_status=500)
        self.recorder.fail_next(error, times, room or "")

    def gone_next(self) -> None:
        self.recorder.fail_next(MessageGone("recorder: the message was deleted"))

    def rate_limit_next(self, seconds: int) -> None:
        error = DeliveryError(
            "recorder rate limited (429)", retryable=True, retry_after=seconds, http_status=429
        )
        self.recorder.fail_next(error)

    def shown(self, room: str) -> list[str]:
        return [strings(m.versions[0]) for m in self.recorder.posts(room)]

    def caller(self, room: str) -> Caller:
        return Caller("recorder", "u1", "alice", room, room)

    def mentions(self, room: str) -> list[str]:
        raise NotImplementedError("the recorder is no chat: nobody is there to notify")

    def links(self, room: str) -> list[list[tuple[str, str]]]:
        [first, *_] = self.recorder.posts(room)
        return [[(b["label"], b["url"]) for b in v.get("links", [])] for v in first.versions]

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)
