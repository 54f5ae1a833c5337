"""How the gallery shows a platform: the contract each ``bot/chat/<name>/preview.py``
fills, and the drawing helpers they share.

The gallery runs the real pipeline and the real adapters against a recording server on
127.0.0.1; a platform's ``Preview`` says how to point its adapter there (``config``,
``target``), what that server answers each call (``answer``: the least the adapter reads
back, a message id), how the recorded calls become a channel's messages (``read``) and
how one request body looks in the client (``draw``). Drawing reads only the JSON the
adapter sent, never the ``Message`` behind it, so what is shown is what was sent.

Every body is hostile: ``draw`` escapes all of its text, and only ``http(s)`` links
become hrefs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request an adapter made to the recording server."""

    method: str
    path: str
    """After the platform's own prefix: ``/chat.postMessage``, ``/channels/1/messages``."""
    query: dict[str, str]
    body: Any
    """The JSON body, or ``None``."""
    answered: Any = None
    """What the recording server answered (the message id a later call refers to)."""


@dataclass
class Shown:
    """One message of a channel as its client shows it at the end: the body it was
    posted with, the body of each edit in order, and the bodies replied in its thread."""

    posted: Any
    edits: list[Any] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)

    @property
    def current(self) -> Any:
        return self.edits[-1] if self.edits else self.posted


Answer = tuple[int, Any]


@dataclass(frozen=True)
class Preview:
    client: str
    """The client's name as people say it (``Microsoft Teams``)."""
    config: Callable[[str], dict[str, Any]]
    """Config sections that send the adapter's calls to ``base`` (the recording
    server's prefix for this platform), with clicks taken where the platform can."""
    target: Callable[[str], dict[str, str]]
    """A ``[targets.NAME]`` table posting through ``base``."""
    answer: Callable[[Call, int], Answer]
    """The status and JSON the platform would answer ``call`` with; the number is new
    for each call, for message ids."""
    read: Callable[[list[Call]], list[Shown]]
    """The calls, in order, as the messages a channel shows."""
    draw: Callable[[Any, bool], str]
    """One body as the client draws it (marked edited when the flag says so): HTML with
    every payload text escaped."""
    style: str = ""
    """CSS for what ``draw`` writes (class names prefixed with the platform's name)."""
    threads: bool = True
    """Whether replies show in a thread under the message (else each is its own)."""


# -- drawing helpers ----------------------------------------------------------------


def text(value: Any) -> str:
    """Any value as escaped HTML text."""
    return html.escape(str(value if value is not None else ""), quote=True)


def href(url: Any) -> str:
    """An escaped ``href`` value, or empty unless it is a web address."""
    address = str(url or "").strip()
    if not address.lower().startswith(("https://", "http://")):
        return ""
    return html.escape(address, quote=True)


def link(url: Any, inner_html: str) -> str:
    """``inner_html`` (already escaped) as a link to ``url`` when it is a web address."""
    target = href(url)
    if not target:
        return inner_html
    return f'<a href="{target}" rel="noopener noreferrer" target="_blank">{inner_html}</a>'


def moment(stamp: Any) -> str:
    """A Unix time or ISO string as the clients' short form, in UTC."""
    try:
        if isinstance(stamp, int | float) or str(stamp).isdigit():
            when = datetime.fromtimestamp(float(stamp), UTC)
        else:
            when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return ""
    return when.astimezone(UTC).strftime("%b %d, %H:%M UTC")


def colour(value: Any) -> str:
    """A CSS colour from ``#RRGGBB`` or an integer (Discord), else a neutral grey."""
    if isinstance(value, int) and 0 <= value <= 0xFFFFFF:
        return f"#{value:06x}"
    candidate = str(value or "")
    if re.fullmatch(r"#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3}", candidate):
        return candidate
    return "#8c959f"


_HOLE = re.compile("[\ue000\ue001]")
_SLOT = re.compile("\ue000(\\d+)\ue001")


class Slots:
    """Pieces of finished HTML kept aside while the rest of a text is escaped."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def keep(self, piece: str) -> str:
        self.pieces.append(piece)
        return f"\ue000{len(self.pieces) - 1}\ue001"

    def put_back(self, escaped: str) -> str:
        return _SLOT.sub(lambda m: self.pieces[int(m[1])], escaped)

    @staticmethod
    def clean(source: str) -> str:
        """``source`` without the characters that mark a kept piece."""
        return _HOLE.sub("", source)


_CODE = re.compile(r"`([^`\n]+)`")
_MASKED = re.compile(r"\[((?:\\.|[^\]\\\n])*)\]\(<?([^()\s<>]+)>?\)")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_DISCORD_TIME = re.compile(r"<t:(-?\d{1,12})(?::[tTdDfFR])?>")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_UNDERLINE = re.compile(r"__(?=\S)(.+?)(?<=\S)__")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)([^*_\n]+?)(?<=\S)[*_](?![\w*])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def markdown(source: str) -> str:
    """The markdown Discord, Mattermost and Adaptive Cards share, as escaped HTML:
    ``**bold**``, ``*italic*``, ``__underline__``, ``~~strike~~``, code spans,
    ``[label](url)`` and backslash escapes (which show the character as typed)."""
    slots = Slots()
    work = Slots.clean(str(source))
    work = _CODE.sub(lambda m: slots.keep(f"<code>{text(m[1])}</code>"), work)
    work = _MASKED.sub(lambda m: slots.keep(link(m[2], markdown(m[1]))), work)
    work = _DISCORD_TIME.sub(lambda m: slots.keep(f"<time>{text(moment(m[1]))}</time>"), work)
    work = _ESCAPE.sub(lambda m: slots.keep(text(m[1])), work)
    escaped = text(work)
    escaped = _BOLD.sub(r"<b>\1</b>", escaped)
    escaped = _UNDERLINE.sub(r"<u>\1</u>", escaped)
    escaped = _STRIKE.sub(r"<s>\1</s>", escaped)
    escaped = _ITALIC.sub(r"<i>\1</i>", escaped)
    return slots.put_back(escaped).replace("\n", "<br>")


def buttons(labels: list[tuple[str, str, str]], css: str) -> str:
    """A row of buttons: ``(label, url, kind)``; a url makes it a link button."""
    if not labels:
        return ""
    drawn = []
    for label, url, kind in labels:
        inner = text(label) + (" ↗" if href(url) else "")
        cls = f"{css}-button {css}-{text(kind)}" if kind else f"{css}-button"
        drawn.append(link(url, f'<span class="{cls}">{inner}</span>'))
    return f'<div class="{css}-buttons">{"".join(drawn)}</div>'
