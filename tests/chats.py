"""One view of every chat platform's fake, so a scenario is written once and run on each
(``chat`` fixtures parametrize over them): rooms, what was posted and edited, failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from bot.chat.discord.markup import DiscordMarkup
from bot.chat.slack.markup import SlackMarkup
from bot.core.errors import DeliveryError, MessageGone
from tests.conftest import eventually
from tests.fakes.clock import FakeClock
from tests.fakes.discord import API, BOT_TOKEN, FakeDiscord
from tests.fakes.recorder import Recorder
from tests.fakes.slack import FakeSlack


class Chat(Protocol):
    name: str

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

    def use_clock(self, clock: FakeClock) -> None:
        """The fake stamps its calls (and counts any limits) in ``clock``'s time."""

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        """Wait until ``count`` messages are posted; returns ``posts()``. With a ``clock``,
        fake time moves while waiting (as ``posts_on``), so the bot's timers come due."""


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

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)


ROOM_IDS = {"ops": "1001", "eng": "1002", "ci": "1003"}


class DiscordChat:
    name = "discord"

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

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)


class RecorderChat:
    name = "recorder"

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

    async def wait_for(
        self, count: int, timeout: float = 10, clock: FakeClock | None = None
    ) -> list[str]:
        return await posted(self.posts, count, timeout, clock)
