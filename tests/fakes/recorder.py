"""A third chat platform, defined entirely here: the proof that a platform is a folder's
worth of code and one registry entry, with nothing in the bot naming it.

Its adapter keeps what it was asked to post, edit and thread in memory, and can be
told to fail like any platform (a server error, a deleted message).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.chat import Ref
from bot.chat.platform import Platform, TargetKey
from bot.core.errors import DeliveryError, MessageGone
from bot.core.pacing import Pace
from bot.render.renderer import Message

NAME = "recorder"


class RecorderMarkup:
    """Plain text with a few visible marks, so a test can tell formatting happened."""

    def escape(self, text: str) -> str:
        return text.replace("*", "\\*")

    def unescape(self, text: str) -> str:
        return text.replace("\\*", "*")

    def link(self, address: str, label: str) -> str:
        return f"[{label}]({address})"

    def bold(self, inner: str) -> str:
        return f"**{inner}**"

    def code(self, inner: str) -> str:
        return f"`{inner}`"

    def time(self, stamp: int, fallback: str) -> str:
        return fallback


@dataclass
class Recorded:
    """One first message: every version it was given, and the replies in its thread."""

    room: str
    versions: list[dict[str, Any]]
    replies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Recorder:
    messages: dict[str, Recorded] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    """``post``, ``update``, ``reply`` in order; a failed one ends in ``:failed``."""
    at: list[float] = field(default_factory=list)
    """When each of ``calls`` was made, in ``clock``'s time."""
    clock: Callable[[], float] = time.monotonic
    """What ``at`` counts in (a ``FakeClock``'s monotonic, for a bot on one)."""
    failures: list[tuple[DeliveryError, str]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def fail_next(self, error: DeliveryError, times: int = 1, room: str = "") -> None:
        """The next ``times`` calls (to ``room`` only, if given) raise ``error``."""
        self.failures.extend((error, room) for _ in range(times))

    def posts(self, room: str | None = None) -> list[Recorded]:
        return [m for m in self.messages.values() if room is None or m.room == room]

    def platform(self) -> Platform:
        return Platform(
            name=NAME,
            markup=RecorderMarkup(),
            target_keys=(TargetKey(NAME),),
            pace=Pace(rate=20.0, burst=20.0),
            adapter=lambda settings, session, directory, clock: RecorderAdapter(self),
            configured=lambda settings: True,
        )


class RecorderAdapter:
    platform = NAME

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def lane(self, address: str) -> str:
        return f"{NAME}:{address}"

    def can_reply(self, address: str, ref: Ref) -> bool:
        return True

    def _call(self, method: str, room: str) -> None:
        self.recorder.at.append(self.recorder.clock())
        failing = [f for f in self.recorder.failures if f[1] in ("", room)]
        if failing:
            self.recorder.failures.remove(failing[0])
            self.recorder.calls.append(f"{method}:failed")
            raise failing[0][0]
        self.recorder.calls.append(method)
        self.recorder.arrived.set()

    async def post(self, address: str, message: Message) -> Ref:
        self._call("post", address)
        message_id = str(next(self.recorder._ids))
        self.recorder.messages[message_id] = Recorded(address, [message.model_dump()])
        return {"id": message_id}

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        self._call("update", address)
        if ref["id"] not in self.recorder.messages:
            raise MessageGone("recorder: the message was deleted")
        self.recorder.messages[ref["id"]].versions.append(message.model_dump())
        return ref

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        self._call("reply", address)
        self.recorder.messages[ref["id"]].replies.append(message.model_dump())
        return ref
