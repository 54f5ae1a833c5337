"""Discord's markdown: inline markers are escaped everywhere, block markers (headings,
quotes, lists) only at line starts, and its ``<...>`` tags are made to show as typed."""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\*_~`|\[\]]|<(?=[@#:!]|a:|t:))")
_LINE_START = re.compile(r"^(\s*)([#>-])", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\*_~`|\[\]<#>-])")
_MASKED_LINK = re.compile(r"\[([^\]]*)\]\([^)\s]*\)")
_LABEL_MARKERS = re.compile(r"[*`]|~~|\|\||(?<!\w)_|_(?!\w)|<(?=[@#:!]|a:|t:)")
_LOOK_ALIKES = {
    "*": "\u2217",  # ∗
    "`": "\u02cb",  # ˋ, as a code span's own backtick
    "~~": "\u223c\u223c",  # ∼∼
    "||": "\u01c0\u01c0",  # ǀǀ
    "_": "\uff3f",  # ＿
    "<": "\u2039",  # ‹
}
"""A masked link's text shows backslashes as typed, so the markdown a label carries
(``**``, ``||``, a ``_`` that starts or ends a word, a ``<@`` tag) is written with
characters that look the same and mean nothing: the label shows as it was typed."""
_TIMESTAMP = re.compile(r"<t:-?\d+(?::[tTdDfFR])?>")
_TIMESTAMP_SHOWN = "in 12 minutes"
"""About as long as Discord shows a ``<t:...:R>`` tag."""


def visible(text: str) -> str:
    """``text`` roughly as Discord shows it: a masked link is its label, a timestamp tag
    a few words, an escape its character. What a reader sees decides the layout (an
    inline field's width), not the URL behind a link."""
    shown = _TIMESTAMP.sub(_TIMESTAMP_SHOWN, _MASKED_LINK.sub(r"\1", text))
    return _ESCAPED.sub(r"\1", shown)


class DiscordMarkup:
    def escape(self, text: str) -> str:
        # Mentions are made inert by allowed_mentions at send time; the `<` of Discord's
        # tags (`<@123>`, `<#1>`, `<:emoji:1>`, `<t:1>`) is escaped so they show as typed,
        # and `@everyone` gets a zero-width space so it does not even look live.
        escaped = _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))
        return escaped.replace("@everyone", "@\u200beveryone").replace("@here", "@\u200bhere")

    def unescape(self, text: str) -> str:
        return _ESCAPED.sub(r"\1", text.replace("@\u200b", "@"))

    def link(self, address: str, label: str) -> str:
        address = address.replace(")", "%29")  # it would end the link early
        # Discord shows a backslash inside a masked link's text as typed: the label keeps
        # its characters unescaped (its @everyone stays broken), without the brackets
        # that would end it or a last backslash that would escape the end.
        shown = _ESCAPED.sub(r"\1", label).replace("[", "").replace("]", "").rstrip("\\")
        shown = _LABEL_MARKERS.sub(lambda marker: _LOOK_ALIKES[marker.group()], shown)
        return f"[{shown}]({address})"

    def bold(self, inner: str) -> str:
        return f"**{inner}**"

    def code(self, inner: str) -> str:
        # Discord shows a code span literally: only the backtick that would end it (already
        # replaced) could break out.
        return f"`{inner}`"

    def time(self, stamp: int, fallback: str) -> str:
        return f"<t:{stamp}:R>"
