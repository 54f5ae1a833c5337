"""Cutting text to a limit, the one way every stage does it.

Chat platforms, templates and providers all cap what they show; they differ only in how
they count (Discord counts UTF-16 units) and in how the kept start is tidied before the
ellipsis, so those are parameters rather than copies.
"""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"


def _as_is(head: str) -> str:
    return head


def utf16_size(text: str) -> int:
    """Length in UTF-16 units: characters beyond the BMP count twice."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def shorten(
    text: str,
    limit: int,
    *,
    tidy: Callable[[str], str] = _as_is,
    utf16: bool = False,
) -> str:
    """``text`` when it fits in ``limit``, else as much of its start as leaves room for an
    ellipsis, passed through ``tidy`` (e.g. ``str.rstrip``), then the ellipsis.

    ``utf16`` counts as Discord does, so a cut never lands inside a surrogate pair's budget.
    """
    if (utf16_size(text) if utf16 else len(text)) <= limit:
        return text
    if not utf16:
        return tidy(text[: limit - 1]) + ELLIPSIS
    kept, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit - 1:
            break
        kept.append(ch)
    return tidy("".join(kept)) + ELLIPSIS
