"""The markdown subset of Adaptive Card text blocks: ``**bold**``, ``_italic_``, lists
and ``[label](url)`` links. Markers in payload text are backslash-escaped; HTML is never
rendered, and a card mentions someone only through an explicit ``<at>`` entity, which
the bot never sends, so no payload text can notify anyone."""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\*_~`\[\]()])")
_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+\.)", re.MULTILINE)
_ESCAPED = re.compile(r"\\([\\*_~`\[\]()#>+.-])")
_AT_TAG = re.compile(r"<(/?at\b)", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"


class TeamsMarkup:
    def escape(self, text: str) -> str:
        # An <at> tag is a mention only with an entity the bot never sends; it is broken
        # anyway, so no card can even look like it mentions someone.
        escaped = _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))
        return _AT_TAG.sub("<" + ZERO_WIDTH_SPACE + r"\1", escaped)

    def unescape(self, text: str) -> str:
        return _ESCAPED.sub(r"\1", text.replace("<" + ZERO_WIDTH_SPACE, "<"))

    def link(self, address: str, label: str) -> str:
        address = address.replace(")", "%29").replace(" ", "%20")
        return f"[{label}]({address})"

    def bold(self, inner: str) -> str:
        return f"**{inner}**"

    def code(self, inner: str) -> str:
        # Card text has no code span: the text is shown escaped, as typed.
        return self.escape(inner)

    def time(self, stamp: int, fallback: str) -> str:
        return fallback
