"""Storms: a burst of events on one route becomes one digest message, edited as it grows.

When a route groups (``group_wait`` > 0; unset, the provider's ``group_wait``, which
alerting providers set), each of its deliveries waits ``group_wait`` before it may go.
The first to come due takes every other pending delivery of the same route and target
with it:

- alone, it is posted like any other event (its conversation, its lifecycle);
- with company, one digest is posted instead ("37 alerts firing" and the latest of
  them), and every delivery it shows is marked sent into it in the same write;
- while the burst goes on, later deliveries join that digest: it is edited at most once
  per ``group_interval``; a burst quiet for ``group_interval`` is over, and the next
  event starts afresh (a new alert is not buried in an old message).

Events of one conversation (the same ``thread_key``) are one line of the digest showing
their latest state, so an alert that fires and resolves in the storm is counted once.
Everything here runs in the delivery stage and reads the store, so a crash resumes: a
delivery is pending until a digest that shows it was posted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bot.chat import ChatAdapter, registry
from bot.config.settings import RouteConfig
from bot.core.clock import Clock
from bot.core.errors import MessageGone
from bot.pipeline.quiet import HELD_GROUP
from bot.providers import PROVIDERS
from bot.render.renderer import RESOLVED_COLOR, SEVERITY_COLORS, Formatted, Message
from bot.store import DeliveryRecord, DigestRecord, Store

DEFAULT_GROUP_INTERVAL = 30.0
LISTED = 20
"""Lines a digest lists (the newest); the title counts them all."""

_STATUS_WORDS = {"open": "firing", "acknowledged": "acknowledged", "resolved": "resolved"}
_COLOR_RANK = {color: rank for rank, color in enumerate(SEVERITY_COLORS.values())}


@dataclass(frozen=True)
class Grouping:
    """How one route groups: wait before the first message, then edit at most this often."""

    wait: float
    interval: float

    @staticmethod
    def key(route: int, target: str) -> str:
        return f"route{route}:{target}"

    def describe(self) -> str:
        return f"after {self.wait:g}s with any burst, in one digest edited every {self.interval:g}s"


def grouping_for(route: RouteConfig, provider: str) -> Grouping | None:
    """The route's grouping for an event of ``provider``; None when it posts each event."""
    wait = route.group_wait
    if wait is None:
        known = PROVIDERS.get(provider)
        wait = known.group_wait if known else 0.0
    if wait <= 0:
        return None
    return Grouping(wait, route.group_interval or DEFAULT_GROUP_INTERVAL)


def entry(delivery: DeliveryRecord) -> tuple[str, dict[str, Any]]:
    """A delivery as one line of a digest, keyed so a conversation is one line."""
    message = delivery.message
    return delivery.thread_key or delivery.id, {
        "title": message.get("title", ""),
        "line": message.get("line", ""),
        "url": message.get("url"),
        "color": message.get("color", SEVERITY_COLORS["info"]),
        "status": delivery.status,
        "type": delivery.event_type,
        "at": delivery.occurred_at,
    }


def merge(entries: dict[str, dict[str, Any]], members: list[DeliveryRecord]) -> dict[str, Any]:
    """``entries`` with the members' states added; the newest state of a line wins."""
    merged = dict(entries)
    for member in members:
        key, line = entry(member)
        if key not in merged or merged[key]["at"] <= line["at"]:
            merged[key] = line
    return merged


BURST_FOOTER = "A burst of events, grouped into one message; edited while it goes on"
HELD_FOOTER = "Held for quiet hours or a scheduled digest, then posted together"


def digest_message(
    entries: dict[str, dict[str, Any]], platform: str, now: float, footer: str = BURST_FOOTER
) -> Message:
    """The digest: what, how many, in which state, and the newest of them.

    When every line is about one thing (40 alerts of one rule) the title names it once
    and each line says what tells it apart (its ``line``: ``host=node-7``); a line's
    state is said once, in the title when all share it, else after the line. Each line
    links to its own event's address.
    """
    lines = sorted(entries.values(), key=lambda line: line["at"], reverse=True)
    alerts = all(str(line["type"]).startswith("alert") for line in lines)
    words = [_state_word(line["status"], alerts) for line in lines]
    states = Counter(words)
    total = f"{len(lines)} {_noun(lines, alerts, plural=len(lines) != 1)}"
    named = ", ".join(f"{count} {state}" for state, count in states.most_common() if state)
    # One state for all is said once, in the title; a mix is counted there and per line.
    counted = f"{total} {words[0]}".rstrip() if len(states) == 1 else f"{total}: {named}"
    titles = {line["title"] for line in lines}
    about = titles.pop() if len(titles) == 1 and len(lines) > 1 else ""
    formatter = registry.formatter(platform)
    listed = []
    for line, word in list(zip(lines, words, strict=True))[:LISTED]:
        shown = formatter.link(line["url"], Formatted(_line_text(line, about)))
        listed.append(f"• {shown} ({word})" if len(states) > 1 and word else f"• {shown}")
    if len(lines) > LISTED:
        listed.append(f"…and {len(lines) - LISTED} more")
    firing = [line["color"] for line in lines if line["status"] != "resolved"]
    color = max(firing, key=lambda c: _COLOR_RANK.get(c, -1)) if firing else RESOLVED_COLOR
    return Message(
        title=f"{about} · {counted}" if about else counted,
        text="\n".join(listed),
        color=color,
        footer=footer,
        timestamp=now,
    )


def _line_text(line: dict[str, Any], about: str) -> str:
    """A line's words: what tells it apart, after its title unless the digest's title
    already names it."""
    title, detail = str(line["title"]), str(line.get("line") or "")
    if about:
        return detail or title
    return f"{title} · {detail}" if detail and detail != title else title


def _noun(lines: list[dict[str, Any]], alerts: bool, *, plural: bool) -> str:
    if alerts:
        return "alerts" if plural else "alert"
    if all(line["type"] == "delivery.dead" for line in lines):  # ``[delivery] notify``
        return "failed deliveries" if plural else "failed delivery"
    return "events" if plural else "event"


def _state_word(status: str | None, alerts: bool) -> str:
    if not status:
        return ""
    return _STATUS_WORDS.get(status, status) if alerts else status


class Grouper:
    """Decides, for a grouped delivery, whether to wait, join a digest or post one."""

    def __init__(self, store: Store, lease: float, clock: Clock) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock
        self._absorbed: set[str] = set()
        """Deliveries this worker holds (in its lanes, or claimed on their way there)
        that a digest already showed."""

    def shown(self, delivery_id: str) -> bool:
        """Whether a digest already showed this delivery that this worker holds (said
        once: the worker then lets go of it)."""
        if delivery_id in self._absorbed:
            self._absorbed.discard(delivery_id)
            return True
        return False

    async def ready(self, delivery: DeliveryRecord) -> bool:
        """False when it must not go now: a digest already showed it, or the group's
        digest was edited less than ``group_interval`` ago (it is deferred till then)."""
        if self.shown(delivery.id):
            return False
        edited = await self.store.last_digest_at(str(delivery.group_key))
        if edited is None or not self._joins(edited, delivery.created_at, delivery):
            return True
        next_edit = edited + delivery.group_interval
        if self.clock.now() >= next_edit:
            return True
        await self.store.defer(delivery.id, next_edit)
        return False

    async def take(self, delivery: DeliveryRecord, held: list[str]) -> list[DeliveryRecord]:
        """The group's pending deliveries, leased for this worker (``held``: its lanes)."""
        return await self.store.take_group(
            str(delivery.group_key), held, self.clock.now(), self.lease
        )

    async def current(self, members: list[DeliveryRecord]) -> DigestRecord | None:
        """The digest these members join, or None when they start a new burst."""
        first = members[0]
        digest = await self.store.latest_digest(str(first.group_key))
        if digest is None:
            return None
        earliest = min(member.created_at for member in members)
        return digest if self._joins(digest.updated_at, earliest, first) else None

    @staticmethod
    def _joins(edited: float, arrived: float, delivery: DeliveryRecord) -> bool:
        """Whether what arrived at ``arrived`` joins a digest last edited at ``edited``."""
        return arrived - edited <= delivery.group_interval

    async def show(
        self,
        adapter: ChatAdapter,
        members: list[DeliveryRecord],
        digest: DigestRecord | None,
        held: list[str],
        started: float,
    ) -> DigestRecord:
        """Post a new digest or edit the current one, then record it and its members."""
        first = members[0]
        now = self.clock.now()
        entries = merge(digest.entries if digest else {}, members)
        footer = HELD_FOOTER if HELD_GROUP in str(first.group_key) else BURST_FOOTER
        message = digest_message(entries, first.platform, now, footer)
        if digest is not None:
            try:
                ref = await adapter.update(first.address, digest.ref, message)
            except MessageGone:  # someone deleted the digest: a new one takes its place
                digest = None
        if digest is None:
            ref = await adapter.post(first.address, message)
            digest = DigestRecord(
                f"{first.group_key}@{now:.3f}", str(first.group_key), ref, {}, now, now
            )
        saved = DigestRecord(
            digest.id, digest.group_key, ref, entries, digest.opened_at, self.clock.now()
        )
        ids = [member.id for member in members]
        await self.store.save_digest(saved, ids, saved.updated_at, started=started)
        waiting = set(held)
        self._absorbed.update(i for i in ids if i in waiting)
        return saved
