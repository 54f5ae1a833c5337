"""Telegram's HTML parse mode: ``<``, ``>`` and ``&`` are the only characters to escape,
and a message is cut by what a reader sees (tags count nothing, an entity one character).

MarkdownV2 is never used: it reserves eighteen characters, and one missed escape makes
Telegram refuse the whole message.
"""

from __future__ import annotations

import re

from bot.core.text import ELLIPSIS, utf16_size

WORD_JOINER = "\u2060"
"""After an ``@``, Telegram no longer reads a username mention (nobody is notified)."""

_MENTION = re.compile(r"@(?=\w)")
_PIECE = re.compile(r"<(/?)([a-z-]+)[^>]*>|&[#\w]+;|.", re.DOTALL)


def escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TelegramMarkup:
    def escape(self, text: str) -> str:
        return _MENTION.sub("@" + WORD_JOINER, escape_html(text))

    def unescape(self, text: str) -> str:
        text = text.replace("@" + WORD_JOINER, "@")
        return (
            text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", '"')
            .replace("&amp;", "&")
        )

    def link(self, address: str, label: str) -> str:
        return f'<a href="{escape_html(address).replace(chr(34), "&quot;")}">{label}</a>'

    def bold(self, inner: str) -> str:
        return f"<b>{inner}</b>"

    def code(self, inner: str) -> str:
        # Entities and mentions are not parsed inside <code>: escaping <>& is enough.
        return f"<code>{escape_html(inner)}</code>"

    def time(self, stamp: int, fallback: str) -> str:
        return fallback  # the Bot API has no local-time entity


def visible_size(html: str) -> int:
    """What Telegram counts against its limit: the text after parsing, in UTF-16 units."""
    return sum(_piece_size(m) for m in _PIECE.finditer(html))


def _piece_size(piece: re.Match[str]) -> int:
    if piece.group(2) is not None:
        return 0  # a tag
    return 1 if piece.group(0).startswith("&") else utf16_size(piece.group(0))


def cut_html(html: str, limit: int) -> str:
    """``html`` within ``limit`` visible characters, cut with an ellipsis where it must be:
    never inside a tag or an entity, and every tag left open is closed again."""
    if visible_size(html) <= limit:
        return html
    kept: list[str] = []
    open_tags: list[str] = []
    used = 0
    for piece in _PIECE.finditer(html):
        size = _piece_size(piece)
        if used + size > limit - 1:
            break
        used += size
        kept.append(piece.group(0))
        closing, tag = piece.group(1), piece.group(2)
        if tag is not None and closing:
            if tag in open_tags:
                open_tags.remove(tag)
        elif tag is not None:
            open_tags.append(tag)
    head = "".join(kept).rstrip()
    return head + ELLIPSIS + "".join(f"</{tag}>" for tag in reversed(open_tags))
