"""Discord through its REST API: one embed per message, for both kinds of target.

- ``discord_webhook = URL``: execute with ``wait=true`` (only then does the answer carry
  the message id needed to edit later), edit through ``.../messages/{id}``. No auth
  header: webhooks are limited per webhook and per IP, not against the bot.
- ``discord = CHANNEL_ID``: the bot token; replies go in a thread started from the
  message.

Calls go through the process's one aiohttp session, not discord.py's HTTP client:
discord.py retries 5xx for ~25 s while holding a lock and retries 429 only behind a
``Via`` header, which fights the delivery stage that owns retry. discord.py's models
still build the payload (``Embed``, ``AllowedMentions``).

Rate limits: a 429 becomes a retryable ``DeliveryError`` with Discord's ``retry_after``
(the delivery stage rests the lane that long); an exhausted bucket
(``X-RateLimit-Remaining: 0``) and a global 429 hold later calls here until Discord said
they may go, instead of spending a request to be told again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

import aiohttp

from bot.chat import Ref
from bot.chat.directory import ChannelDirectory
from bot.chat.discord.markup import DiscordMarkup, visible
from bot.chat.discord.platform import WEBHOOK_URL
from bot.core.clock import Clock, SystemClock
from bot.core.errors import DeliveryError, MessageGone
from bot.core.text import shorten
from bot.core.text import utf16_size as _size
from bot.render.renderer import SEVERITY_COLORS, Formatter, LinkButton, Message

# discord.py takes a tenth of a second of CPU to import: the functions building a
# payload import it at the first Discord message, so a bot posting elsewhere never does.
if TYPE_CHECKING:
    import discord

TITLE_LIMIT = 256
AUTHOR_LIMIT = 256
DESCRIPTION_LIMIT = 4096
MAX_FIELDS = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
THREAD_NAME_LIMIT = 100
INLINE_FIELD_CHARS = 40
THREAD_ARCHIVE_MINUTES = 10080
MAX_HOLD_SECONDS = 5.0
"""Longer rests are handed to the delivery stage (as a retry) instead of waited out here."""

USER_AGENT = "DiscordBot (https://github.com/chatops-bot/bot, 0.1.0)"

# JSON error codes, from Discord's "opcodes and status codes" page.
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
THREAD_ALREADY_CREATED = 160004

Kind = Literal["webhook", "channel"]

_plain = DiscordMarkup().unescape
"""Footers and thread names show no markdown, so the escapes would show."""


@dataclass(frozen=True)
class Destination:
    """What a target's address names: a webhook (maybe posting into a thread) or a channel."""

    kind: Kind
    id: str
    token: str = ""
    thread_id: str | None = None

    @classmethod
    def parse(cls, address: str) -> Destination:
        match = WEBHOOK_URL.match(address)
        if match is None:
            return cls("channel", address)
        thread = parse_qs(match["query"] or "").get("thread_id", [None])[0]
        return cls("webhook", match["id"], match["token"], thread)

    @property
    def lane(self) -> str:
        # Never the token: lanes appear in logs and task names.
        return f"discord:{self.kind}:{self.id}"


# -- payloads -----------------------------------------------------------------------


def _before_ellipsis(head: str) -> str:
    head = head.rstrip()
    trailing = len(head) - len(head.rstrip("\\"))
    return head[:-1] if trailing % 2 else head  # a lone backslash would escape the ellipsis


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit``, cut at the end with an ellipsis when it must be."""
    if limit <= 0:
        return ""
    return shorten(text.strip(), limit, tidy=_before_ellipsis, utf16=True)


def _colour(value: str) -> discord.Colour:
    import discord

    try:
        return discord.Colour.from_str(value)
    except ValueError:
        return discord.Colour.from_str(SEVERITY_COLORS["info"])


LINKS_FIELD = "Links"
_formatter = Formatter(DiscordMarkup())


def embed_for(message: Message, text_links: list[LinkButton] | None = None) -> dict[str, Any]:
    """The message as one embed inside every Discord limit, cut with an ellipsis.

    ``text_links`` are link buttons shown as a last field (a webhook's message carries
    no components); by default all of them, but those the text already links. That
    field is shown whole or not at all: a link cut short would show its markup."""
    import discord

    title = _cut(message.title, TITLE_LIMIT)
    footer = _cut(_plain(message.footer), FOOTER_LIMIT)
    # The headline is the author line when there is a title under it; a reply (no
    # title) is its headline alone, as the description.
    author = _cut(_plain(message.headline), AUTHOR_LIMIT) if title else ""
    text = message.text if title else message.headline
    wanted_links = message.links if text_links is None else text_links
    links = _formatter.links(message.unlinked(wanted_links), FIELD_VALUE_LIMIT, _size)
    budget = TOTAL_LIMIT - _size(title) - _size(footer) - _size(author)
    if links:
        budget -= _size(LINKS_FIELD) + _size(links)
    fields = [
        (_cut(f.name, FIELD_NAME_LIMIT), _cut(f.value, FIELD_VALUE_LIMIT))
        for f in message.fields[: MAX_FIELDS - (1 if links else 0)]
    ]
    wanted = sum(_size(name) + _size(value) for name, value in fields)
    description = _cut(text, min(DESCRIPTION_LIMIT, max(budget - wanted, budget // 2)))
    budget -= _size(description)
    embed = discord.Embed(
        title=title or None,
        url=message.url,
        description=description or None,
        colour=_colour(message.color),
        timestamp=(datetime.fromtimestamp(message.timestamp, UTC) if message.timestamp else None),
    )
    for name, value in fields:
        room = budget - _size(name)
        if room < 2 or not name:
            break
        shown = _cut(value, room)
        if not shown:
            break
        inline = _size(visible(shown)) <= INLINE_FIELD_CHARS
        embed.add_field(name=name, value=shown, inline=inline)
        budget -= _size(name) + _size(shown)
    if links:
        embed.add_field(name=LINKS_FIELD, value=links, inline=False)
    if author:
        embed.set_author(name=author)
    if footer:
        embed.set_footer(text=footer)
    return embed.to_dict()  # type: ignore[return-value]


def message_payload(message: Message, text_links: list[LinkButton] | None = None) -> dict[str, Any]:
    """Body of a create or an edit: payload text never pings anyone. Without components
    (a webhook's message), the link buttons are a last field of links."""
    import discord

    return {
        "embeds": [embed_for(message, text_links)],
        "allowed_mentions": discord.AllowedMentions.none().to_dict(),
    }


ACTION_PREFIX = "bot."
"""Starts every action button's ``custom_id`` (``bot.acknowledge:12.0/eng``)."""
BUTTON_STYLES = {"primary": 1, "danger": 4}
SECONDARY = 2
LINK_STYLE = 5
ROW_SIZE = 5
MAX_ROWS = 5
LINK_URL_LIMIT = 512
"""Discord's limit for a link button's URL (an embed's is 2,048)."""


def button_links(message: Message) -> list[LinkButton]:
    """The link buttons that fit as components after the action buttons: five rows of
    five in all, each URL within Discord's 512 characters."""
    room = ROW_SIZE * MAX_ROWS - min(len(message.actions), ROW_SIZE * MAX_ROWS)
    return [b for b in message.links if len(b.url) <= LINK_URL_LIMIT][:room]


def components_for(message: Message) -> list[dict[str, Any]]:
    """The message's buttons in action rows of five (Discord's limits: five rows,
    ``custom_id`` up to 100 characters): the action buttons, then the link buttons
    (style 5) in the same rows. An empty list clears the buttons on an edit."""
    buttons: list[dict[str, Any]] = [
        {
            "type": 2,
            "style": BUTTON_STYLES.get(button.style, SECONDARY),
            "label": button.label,
            "custom_id": f"{ACTION_PREFIX}{button.action}:{button.value}"[:100],
        }
        for button in message.actions[: ROW_SIZE * MAX_ROWS]
    ]
    buttons += [
        {"type": 2, "style": LINK_STYLE, "label": link.label, "url": link.url}
        for link in button_links(message)
    ]
    return [
        {"type": 1, "components": buttons[i : i + ROW_SIZE]}
        for i in range(0, len(buttons), ROW_SIZE)
    ]


def channel_payload(message: Message) -> dict[str, Any]:
    """A bot's own message: components work there (a webhook's carry none); a link
    that does not fit as a button is still a link in the last field."""
    shown = button_links(message)
    rest = [b for b in message.links if b not in shown]
    return {**message_payload(message, rest), "components": components_for(message)}


def thread_name(ref: Ref) -> str:
    return _cut(str(ref.get("title") or "Updates"), THREAD_NAME_LIMIT) or "Updates"


# -- failures -----------------------------------------------------------------------


def _field(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _first_error(errors: Any, path: str = "") -> str:
    """Discord nests a 400's reasons by field path; the first one is the useful one."""
    if not isinstance(errors, dict):
        return ""
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list) and value:
            return f"{path}: {_field(value[0], 'message') or value[0]}"
        found = _first_error(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return ""


def _number(value: Any) -> float | None:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return None


def retry_after(data: Any, headers: Mapping[str, str]) -> float:
    """The body's ``retry_after`` (fractional seconds) or the ``Retry-After`` header."""
    seconds = _number(_field(data, "retry_after"))
    if seconds is None:
        seconds = _number(headers.get("Retry-After"))
    return 1.0 if seconds is None else seconds


def is_global(data: Any, headers: Mapping[str, str]) -> bool:
    return _field(data, "global") is True or headers.get("X-RateLimit-Global", "") == "true"


def classify(status: int, data: Any, headers: Mapping[str, str]) -> DeliveryError:
    """Turn a failed REST answer into retry-or-not (table-tested)."""
    code = _field(data, "code")
    text = _first_error(_field(data, "errors")) or _field(data, "message") or ""
    detail = f": {text} (code {code})" if text else ""
    if status == 429:
        scope = "global " if is_global(data, headers) else ""
        return DeliveryError(
            f"discord {scope}rate limited (429)",
            retryable=True,
            retry_after=retry_after(data, headers),
            http_status=status,
        )
    if status >= 500:
        return DeliveryError(f"discord server error {status}", retryable=True, http_status=status)
    if status == 404 and code == UNKNOWN_MESSAGE:
        return MessageGone(
            "discord: the message was deleted (404 Unknown Message)", http_status=status
        )
    if status == 404 and code == UNKNOWN_WEBHOOK:
        return DeliveryError(
            "discord webhook no longer exists (404): create a new one and put its URL in "
            "the target's discord_webhook",
            retryable=False,
            http_status=status,
        )
    hints = {
        400: "discord rejected the message (400)",
        401: "discord rejected the credentials (401); check [discord] bot_token or the webhook URL",
        403: "discord refused (403); give the bot the channel's permissions",
        404: "discord: not found (404); check the target's channel id or webhook URL",
    }
    reason = hints.get(status, f"discord error {status}")
    return DeliveryError(f"{reason}{detail}", retryable=False, http_status=status)


# -- rate-limit holds ---------------------------------------------------------------


class _Holds:
    """Monotonic times (on ``clock``) before which a bucket (or all calls of one kind)
    must not call."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._until: dict[str, float] = {}

    def hold(self, key: str, seconds: float) -> None:
        until = self.clock.monotonic() + seconds
        self._until[key] = max(self._until.get(key, 0.0), until)

    async def wait(self, *keys: str) -> None:
        rest = max(self._until.get(key, 0.0) for key in keys) - self.clock.monotonic()
        if rest <= 0:
            return
        if rest > MAX_HOLD_SECONDS:
            raise DeliveryError(
                "discord rate limit still in force", retryable=True, retry_after=rest
            )
        await self.clock.sleep(rest)

    def learn(
        self, bucket: str, scope: str, status: int, data: Any, headers: Mapping[str, str]
    ) -> None:
        if headers.get("X-RateLimit-Remaining") == "0":
            reset_after = _number(headers.get("X-RateLimit-Reset-After"))
            if reset_after:
                self.hold(bucket, reset_after)
        if status == 429:
            self.hold(scope if is_global(data, headers) else bucket, retry_after(data, headers))


# -- the adapter --------------------------------------------------------------------


class DiscordAdapter:
    platform = "discord"

    def __init__(
        self,
        api_url: str,
        bot_token: str,
        session: aiohttp.ClientSession,
        directory: ChannelDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.bot_token = bot_token
        self.session = session
        self.directory = directory or ChannelDirectory()
        self.clock = clock or SystemClock()
        self._holds = _Holds(self.clock)
        self._gone_webhooks: set[str] = set()

    def lane(self, address: str) -> str:
        return Destination.parse(address).lane

    def can_reply(self, address: str, ref: Ref) -> bool:
        # A bot starts a thread from its message. A webhook cannot, so it replies only in
        # a thread someone started there (an edit's answer reveals it); a webhook that
        # already posts inside a thread has no deeper level to reply in.
        where = Destination.parse(address)
        if where.kind == "channel":
            return True
        return bool(ref.get("thread_id")) and where.thread_id is None

    async def post(self, address: str, message: Message) -> Ref:
        where = Destination.parse(address)
        if where.kind == "webhook":
            answer = await self._call(
                where, "POST", _hook(where), message_payload(message), _execute(where)
            )
            if not where.thread_id:
                self.directory.learn(address, str(answer.get("channel_id", "")))
        else:
            path = f"/channels/{where.id}/messages"
            answer = await self._call(where, "POST", path, channel_payload(message))
        return _ref(answer, message)

    async def update(self, address: str, ref: Ref, message: Message) -> Ref:
        where = Destination.parse(address)
        if where.kind == "webhook":
            path = f"{_hook(where)}/messages/{ref['message_id']}"
            params = {"thread_id": where.thread_id} if where.thread_id else {}
            payload = message_payload(message)
        else:
            path = f"/channels/{ref['channel_id']}/messages/{ref['message_id']}"
            params = {}
            payload = channel_payload(message)
        answer = await self._call(where, "PATCH", path, payload, params)
        updated = _ref(answer, message)
        if ref.get("thread_id") and "thread_id" not in updated:
            updated["thread_id"] = ref["thread_id"]
        return updated

    async def reply(self, address: str, ref: Ref, message: Message) -> Ref:
        where = Destination.parse(address)
        # A bot's reply shows its buttons as components; a webhook's, as a Links field.
        buttons = where.kind != "webhook" and (message.links or message.actions)
        payload = channel_payload(message) if buttons else message_payload(message)
        thread = ref.get("thread_id")
        if where.kind == "webhook":
            if not thread:
                raise DeliveryError("discord webhook message has no thread", retryable=False)
            params = {"wait": "true", "thread_id": str(thread)}
            await self._call(where, "POST", _hook(where), payload, params)
            return ref
        if not thread:
            thread = await self._start_thread(where, ref)
        await self._call(where, "POST", f"/channels/{thread}/messages", payload)
        return {**ref, "thread_id": str(thread)}

    async def learn_webhook_channels(self, addresses: list[str], retry_seconds: float) -> None:
        """Ask Discord which channel each webhook posts into, until every one is known.

        Mutes are issued in channels; without this a webhook target would only be known
        to post there after its first message.
        """
        unknown = [a for a in addresses if Destination.parse(a).kind == "webhook"]
        while unknown:
            for address in list(unknown):
                where = Destination.parse(address)
                try:
                    status, data, _ = await self._exchange(where, "GET", _hook(where), None)
                except DeliveryError:
                    continue  # unreachable for now: ask again later
                if 200 <= status < 300 and _field(data, "channel_id"):
                    self.directory.learn(address, str(data["channel_id"]))
                if self.directory.knows(address) or status == 404:
                    unknown.remove(address)
            if unknown:
                await self.clock.sleep(retry_seconds)

    async def ask(self, where: Destination, path: str) -> tuple[int, Any]:
        """GET ``path`` as a post to ``where`` would be authorized: status and JSON body.

        For start-up checks, which read answers a delivery would treat as failures."""
        status, data, _ = await self._exchange(where, "GET", path, None)
        return status, data

    async def _start_thread(self, where: Destination, ref: Ref) -> str:
        path = f"/channels/{ref['channel_id']}/messages/{ref['message_id']}/threads"
        body = {"name": thread_name(ref), "auto_archive_duration": THREAD_ARCHIVE_MINUTES}
        status, data, headers = await self._exchange(where, "POST", path, body)
        if 200 <= status < 300 and _field(data, "id"):
            return str(data["id"])
        if _field(data, "code") == THREAD_ALREADY_CREATED:
            # Started by an earlier attempt or by a person: a thread started from a
            # message has the message's id.
            return str(ref["message_id"])
        raise self._failure(where, status, data, headers)

    async def _call(
        self,
        where: Destination,
        method: str,
        path: str,
        body: dict[str, Any],
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        status, data, headers = await self._exchange(where, method, path, body, params)
        if 200 <= status < 300:
            return data if isinstance(data, dict) else {}
        raise self._failure(where, status, data, headers)

    def _failure(
        self, where: Destination, status: int, data: Any, headers: Mapping[str, str]
    ) -> DeliveryError:
        error = classify(status, data, headers)
        if where.kind == "webhook" and status == 404 and not isinstance(error, MessageGone):
            # Discord asks clients to stop using a webhook after a 404: retries would only
            # earn a temporary restriction.
            self._gone_webhooks.add(where.id)
        return error

    async def _exchange(
        self,
        where: Destination,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        if where.kind == "webhook" and where.id in self._gone_webhooks:
            raise DeliveryError(
                "discord webhook no longer exists (404 earlier): create a new one and put "
                "its URL in the target's discord_webhook",
                retryable=False,
            )
        headers = {"User-Agent": USER_AGENT}
        if where.kind == "channel":
            if not self.bot_token:
                raise DeliveryError("discord not configured", retryable=False)
            headers["Authorization"] = f"Bot {self.bot_token}"
        scope = f"global:{where.kind}"
        bucket = _bucket(path)
        await self._holds.wait(scope, bucket)
        try:
            async with self.session.request(
                method,
                self.api_url + path,
                json=body,
                params=params or None,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=15),
            ) as response:
                raw = await response.read()
                status, answer_headers = response.status, response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The exception text can hold the URL, and a webhook URL holds its token.
            raise DeliveryError(
                f"discord unreachable: {type(exc).__name__}", retryable=True
            ) from None
        data = _json(raw)
        self._holds.learn(bucket, scope, status, data, answer_headers)
        return status, data, answer_headers


def _hook(where: Destination) -> str:
    return f"/webhooks/{where.id}/{where.token}"


def _execute(where: Destination) -> dict[str, str]:
    params = {"wait": "true"}
    if where.thread_id:
        params["thread_id"] = where.thread_id
    return params


def _bucket(path: str) -> str:
    """Discord keys rate limits by the top-level resource: the channel or the webhook."""
    parts = path.strip("/").split("/")
    return f"{parts[0]}:{parts[1]}"


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _ref(answer: dict[str, Any], message: Message) -> Ref:
    if not answer.get("id"):
        raise DeliveryError(
            "discord answered without a message id (does a proxy drop ?wait=true?)",
            retryable=False,
        )
    ref: Ref = {
        "message_id": str(answer["id"]),
        "channel_id": str(answer.get("channel_id", "")),
        "title": _plain(message.title)[:THREAD_NAME_LIMIT],
    }
    thread = answer.get("thread")
    if isinstance(thread, dict) and thread.get("id"):
        ref["thread_id"] = str(thread["id"])
    return ref
