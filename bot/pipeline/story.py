"""What an edit keeps of the message it replaces: what that message said that is still true.

An edit shows a conversation's new state, rendered from the new event alone, and the new
event does not always repeat what the first one said: a merged pull request's webhook
carries no description, a payment that succeeds on retry does not mention the decline.
So the conversation remembers what its message says (``said``, kept on its ref), and
the edit keeps

- the text, when the new message has none (the description after the merge);
- a failure that a success now follows, as an ``Earlier:`` line (the payment was
  declined, then succeeded on retry; the run failed, then passed on re-run).

The rules are pure (table-tested); the conversation stage reads and writes ``said``.
"""

from __future__ import annotations

from typing import Any

from bot.core.text import shorten
from bot.render.renderer import LinkButton, Message

SAID_TEXT_LIMIT = 1000
"""What a conversation remembers of its message's text (its ref is stored per delivery)."""

_RECOVERED = ("succeeded", "resolved", "merged")
EARLIER = "Earlier: "


def said(message: Message) -> dict[str, Any]:
    """What a message says, as much of it as a later edit may keep, and the pages it
    links (its title's and its buttons'), so a reply adds only the links it does not."""
    return {
        "headline": message.headline,
        "text": shorten(message.text, SAID_TEXT_LIMIT),
        "outcome": message.outcome,
        "links": [url for url in (message.url, *(b.url for b in message.links)) if url],
    }


def new_links(before: Any, message: Message) -> list[LinkButton]:
    """The link buttons of ``message`` that the message it replies under, which said
    ``before``, does not have; none when that message's links were not remembered."""
    known = before.get("links") if isinstance(before, dict) else None
    if not isinstance(known, list):
        return []
    return [button for button in message.links if button.url not in known]


def keep_story(before: Any, message: Message) -> Message:
    """``message`` as the edit of a message that said ``before`` (``said``'s dict, or
    anything else for a conversation that remembers nothing)."""
    if not isinstance(before, dict):
        return message
    text = str(before.get("text") or "")
    if before.get("outcome") == "failed" and message.outcome in _RECOVERED:
        reason = text.split("\n", 1)[0] if text and not text.startswith(EARLIER) else ""
        earlier = " · ".join(part for part in (str(before.get("headline") or ""), reason) if part)
        if not earlier:
            return message
        story = "\n".join(part for part in (f"{EARLIER}{earlier}", message.text) if part)
        return message.model_copy(update={"text": story})
    if not message.text and text and before.get("outcome") != "failed":
        return message.model_copy(update={"text": text})
    return message
