"""Microsoft Teams through a Workflows webhook: one Adaptive Card (1.4) per message.

The card has the headline, the title (bold, linked with an ``Action.OpenUrl`` button),
the text, the fields as a ``FactSet``, the footer, the severity as the container's
style (Teams draws no colour bar), and the link buttons as more ``Action.OpenUrl`` (up
to the six actions Teams shows; the rest as links under the facts). The whole request
stays within Teams' 28 KB message limit: text and facts are cut, then halved, until it
fits.

A webhook answers 202 and no message id, so nothing can be edited or threaded: each
state change of a conversation is a new card. 429 (with ``Retry-After``) and 5xx are
retried by the delivery stage; 400, 401, 403, 404 and 413 are not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from bot.chat import Ref
from bot.chat.teams.markup import TeamsMarkup
from bot.core.errors import DeliveryError
from bot.core.text import shorten
from bot.render.renderer import RESOLVED_COLOR, SEVERITY_COLORS, Formatter, Message

MAX_BYTES = 28_000
"""Teams refuses messages over about 28 KB, the card and its envelope together."""
CARD_VERSION = "1.4"
TITLE_LIMIT = 400
TEXT_LIMIT = 8000
FACT_LIMIT = 1000
MAX_FACTS = 25
MAX_ACTIONS = 6
"""Teams shows at most six actions on a card."""
_formatter = Formatter(TeamsMarkup())
STYLES = {
    SEVERITY_COLORS["info"]: "accent",
    SEVERITY_COLORS["warning"]: "warning",
    SEVERITY_COLORS["error"]: "attention",
    SEVERITY_COLORS["critical"]: "attention",
    RESOLVED_COLOR: "good",
}
"""Container styles Teams colours: the nearest to each severity's colour."""


def _cut(text: str, limit: int) -> str:
    if limit <= 0:
        return ""
    return shorten(text.strip(), limit, tidy=_before_ellipsis)


def _before_ellipsis(head: str) -> str:
    head = head.rstrip()
    trailing = len(head) - len(head.rstrip("\\"))
    return head[:-1] if trailing % 2 else head  # a lone backslash would escape the ellipsis


def card_for(
    message: Message, text_limit: int = TEXT_LIMIT, fact_limit: int = FACT_LIMIT
) -> dict[str, Any]:
    # The headline (what happened, how bad) first, as every platform's first line; then
    # the object it happened to.
    heading: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": line, "wrap": True}
        for line in [_cut(message.headline, TITLE_LIMIT)]
        if line and message.title
    ]
    heading.append(
        {
            "type": "TextBlock",
            "text": _cut(message.title or message.headline, TITLE_LIMIT),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        }
    )
    if text := _cut(message.text, text_limit):
        heading.append({"type": "TextBlock", "text": text, "wrap": True})
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": STYLES.get(message.color.upper(), "default"),
            "bleed": True,
            "items": heading,
        }
    ]
    facts = [
        {"title": _cut(f.name, 100), "value": value}
        for f in message.fields[:MAX_FACTS]
        if (value := _cut(f.value, fact_limit))
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    actions = []
    if message.url and message.url.startswith(("https://", "http://")):
        actions.append({"type": "Action.OpenUrl", "title": "Open", "url": message.url})
    room = MAX_ACTIONS - len(actions)
    actions += [
        {"type": "Action.OpenUrl", "title": b.label, "url": b.url} for b in message.links[:room]
    ]
    if links := _formatter.links(message.unlinked(message.links[room:]), fact_limit):
        body.append({"type": "TextBlock", "text": links, "wrap": True})
    if message.footer.strip():
        body.append(
            {
                "type": "TextBlock",
                "text": _cut(message.footer, 500),
                "isSubtle": True,
                "size": "Small",
                "wrap": True,
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """A Workflows webhook's body: a message carrying the card as an attachment."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def size(body: dict[str, Any]) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def payload(message: Message) -> dict[str, Any]:
    """The request body within ``MAX_BYTES``: text and facts halved until it fits."""
    text_limit, fact_limit = TEXT_LIMIT, FACT_LIMIT
    while True:
        body = envelope(card_for(message, text_limit, fact_limit))
        if size(body) <= MAX_BYTES or (text_limit < 50 and fact_limit < 50):
            return body
        text_limit, fact_limit = text_limit // 2, fact_limit // 2


def classify(status: int, headers: Mapping[str, str], said: str) -> DeliveryError:
    """Turn a webhook's failed answer into retry-or-not (table-tested)."""
    detail = f": {said}" if said else ""
    if status == 429:
        return DeliveryError(
            f"teams rate limited (429){detail}",
            retryable=True,
            retry_after=_retry_after(headers),
            http_status=status,
        )
    if status >= 500:
        return DeliveryError(
            f"teams server error {status}{detail}", retryable=True, http_status=status
        )
    hints = {
        400: "teams rejected the card (400)",
        401: "teams refused the webhook (401): its URL lost its sig= part; copy the whole URL",
        403: "teams refused the webhook (403): the workflow is turned off or its owner left",
        404: "teams webhook no longer exists (404): create the workflow again and put its URL "
        "in the target's teams_webhook",
        413: "teams refused the card as too large (413)",
    }
    reason = hints.get(status, f"teams error {status}")
    return DeliveryError(f"{reason}{detail}", retryable=False, http_status=status)


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(float(headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return 1.0


class TeamsAdapter:
    platform = "teams"

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    def lane(self, address: str) -> str:
        # Never the URL: its sig= is the credential, and lanes appear in logs.
        return f"teams:{hashlib.sha256(address.encode()).hexdigest()[:12]}"

    def can_reply(self, address: str, ref: Ref) -> bool:
        return False  # a webhook cannot thread

    async def post(self, address: str, message: Message) -> Ref:
        try:
            async with self.session.post(
                address, json=payload(message), timeout=aiohttp.ClientTimeout(total=15)
            ) as response:
                status, headers = response.status, response.headers
                said = (await response.text(errors="replace"))[:200].strip()
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The exception text can hold the URL, and the URL holds the signature.
            raise DeliveryError(
                f"teams unreachable: {type(exc).__name__}", retryable=True
            ) from None
        if 200 <= status < 300:
            return {}  # a webhook says which message it made nowhere
        raise classify(status, headers, said)

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        """No edit through a webhook: the new state is a new card."""
        return await self.post(address, message)

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        raise DeliveryError("a teams webhook cannot reply in a thread", retryable=False)
