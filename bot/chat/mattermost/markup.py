"""Mattermost's markdown: markers are backslash-escaped, and every ``@`` in payload text
gets a zero-width space after it.

Mattermost finds mentions (``@channel``, ``@all``, ``@here``, ``@alice``) in the raw text
before markdown: a backslash before the ``@`` or an HTML entity does not stop them, a
character between ``@`` and the name does. Raw HTML is never rendered, so ``<`` and
``>`` show as typed; they are escaped anyway so no ``<https://...>`` autolink forms.
"""

from __future__ import annotations

import re

ZERO_WIDTH_SPACE = "\u200b"

_INLINE = re.compile(r"([\\`*_~\[\]()|<>!])")
_LINE_START = re.compile(r"^(\s*)([#>+-])", re.MULTILINE)
_NUMBERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)
"""``1.`` would start a numbered list: its dot is escaped (a backslash before a digit
would show, as digits are not markdown's to escape)."""
_ESCAPED = re.compile(r"\\([\\`*_~\[\]()|<>!#+.-])")


class MattermostMarkup:
    def escape(self, text: str) -> str:
        escaped = _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))
        escaped = _NUMBERED.sub(r"\1\\.", escaped)
        return escaped.replace("@", "@" + ZERO_WIDTH_SPACE)

    def unescape(self, text: str) -> str:
        return _ESCAPED.sub(r"\1", text.replace("@" + ZERO_WIDTH_SPACE, "@"))

    def link(self, address: str, label: str) -> str:
        address = address.replace(")", "%29").replace(" ", "%20").replace("<", "%3C")
        return f"[{label}]({address})"

    def bold(self, inner: str) -> str:
        return f"**{inner}**"

    def code(self, inner: str) -> str:
        # Mattermost shows a code span literally and finds no mention in it.
        return f"`{inner}`"

    def time(self, stamp: int, fallback: str) -> str:
        return fallback
