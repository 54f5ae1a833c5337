"""Conversations: the events of one incident, alert or pull request share one message.

Events with the same ``thread_key`` at a target are one conversation. The first posts a
message, and where it lives is stored in the same write that marks the delivery sent.
Later events follow their route's ``lifecycle``:

- ``update+thread`` (default): edit the first message to show the current state (keeping
  what it said that is still true, ``bot.pipeline.story``), and add a short reply in its
  thread;
- ``update``: edit only; ``thread``: reply only; ``new``: every event a message of its own.

A click on an action button (``bot.commands.actions``) edits the message and replies
whatever its state, even after the conversation ended; the provider's own webhook for
the state a click set is then folded in without a second reply.

Only events with a ``status`` change what the first message shows; comments and reviews
only reply. ``occurred_at`` decides what is current, not arrival order: a state older
than the one shown is recorded and changes nothing, so a "triggered" arriving after its
"resolved" cannot resurrect the incident. ``resolved`` ends the conversation, and the
next newer event starts a new message (an alert firing again next week is not buried in
last week's thread). A follow-up whose first message was never posted (muted, dead) or
was deleted posts a new one showing the current state. Where a target has no thread to
reply in, the edit alone shows the change; an event with nothing to edit (a comment)
then gets a message of its own rather than vanish.

Nothing here knows a platform: adapters post, update and reply.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from bot.chat import ChatAdapter, Ref
from bot.core.durations import format_duration
from bot.core.errors import MessageGone
from bot.core.text import shorten
from bot.pipeline.story import keep_story, new_links, said
from bot.render.renderer import LinkButton, Message
from bot.store import ConversationRecord, DeliveryRecord, Store

REPLY_LINE_LIMIT = 300

Action = Literal["post", "start", "follow", "skip"]


@dataclass(frozen=True)
class Plan:
    """What one delivery does to its conversation, decided before any call."""

    action: Action
    """``post`` a message of its own, ``start`` the conversation with a new message,
    ``follow`` the first message (edit and/or reply), or ``skip`` (nothing to show)."""
    edit: bool = False
    reply: bool = False
    why: str = ""


def plan(conversation: ConversationRecord | None, delivery: DeliveryRecord) -> Plan:
    """The lifecycle rules, free of I/O (table-tested)."""
    lifecycle = delivery.lifecycle
    if delivery.thread_key is None:
        return Plan("post", why="not part of a conversation")
    if lifecycle == "new":
        return Plan("post", why="the route's lifecycle is new")
    if conversation is None:
        return Plan("start", why="first message of the conversation")
    if is_click(delivery):
        return Plan(
            "follow", edit=True, reply=lifecycle != "update", why="a click changed what it shows"
        )
    if delivery.status is not None and conversation.ref.get("acted") == delivery.status:
        return Plan("skip", why=f"{delivery.status} from chat: the message shows it already")
    older = delivery.occurred_at < conversation.latest_at
    if conversation.ended and not older:
        return Plan("start", why="the conversation was resolved; a new one starts")
    if delivery.status is None:
        if lifecycle == "update":
            return Plan("post", why="no state to show and the route does not thread")
        return Plan("follow", reply=True, why="no state to show: a reply only")
    if older:
        return Plan("skip", why="older than the state the first message shows")
    return Plan(
        "follow",
        edit=lifecycle != "thread",
        reply=lifecycle != "update",
        why=f"{delivery.status}: the conversation's new state",
    )


def is_click(delivery: DeliveryRecord) -> bool:
    """Whether the action core queued it: the message after a button did its work."""
    return delivery.event_type.startswith("action.")


def thread_reply(
    message: Message, elapsed: float | None = None, links: list[LinkButton] | None = None
) -> Message:
    """The short reply under the first message: one line of what changed, who did it and
    how long since the start (the template's ``reply``), never the title again.

    ``elapsed`` is the seconds since the conversation's first event, where known; the
    template's ``elapsed`` phrase says it (a reply that already says how long has none).
    ``links`` are buttons the reply carries: those of an event the first message does
    not show (a pull request's failed run: its Commit and Workflow runs)."""
    line = message.reply or message.fallback()
    if elapsed is not None and elapsed >= 0 and "{elapsed}" in message.elapsed:
        line = f"{line} · {message.elapsed.replace('{elapsed}', format_duration(elapsed))}"
    return Message(
        title="",
        headline=shorten(line, REPLY_LINE_LIMIT, tidy=str.rstrip),
        color=message.color,
        timestamp=message.timestamp,
        links=links or [],
    )


@dataclass(frozen=True)
class Outcome:
    """What a delivery did (kept on its row) and its conversation's state afterwards."""

    ref: Ref
    conversation: ConversationRecord | None = None
    """``None``: the conversation did not change."""


class Conversations:
    """Delivers one outbox row the way its conversation calls for."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def deliver(self, adapter: ChatAdapter, delivery: DeliveryRecord) -> Outcome:
        message = Message.model_validate(delivery.message)
        lane = adapter.lane(delivery.address)
        current = None
        if delivery.thread_key is not None and delivery.lifecycle != "new":
            current = await self.store.get_conversation(delivery.target, delivery.thread_key)
        if current is not None and current.ref.get("lane") != lane:
            current = None  # the target points somewhere else now: start over there
        decided = plan(current, delivery)
        if decided.action == "skip":
            return Outcome({"action": "skipped", "why": decided.why})
        if decided.action == "follow" and current is not None:
            try:
                return await self._follow(adapter, delivery, current, decided, message)
            except MessageGone:
                decided = Plan("start", why="the first message was deleted")
        ref = await adapter.post(delivery.address, message)
        if decided.action == "post":
            return Outcome({"action": "posted", **ref})
        status = delivery.status
        started = ConversationRecord(
            target=delivery.target,
            thread_key=str(delivery.thread_key),
            ref={**ref, "lane": lane, "started_at": delivery.occurred_at, "said": said(message)},
            status=status,
            latest_at=delivery.occurred_at if status is not None else 0.0,
            ended=status == "resolved",
            started_by=delivery.id,
        )
        return Outcome({"action": "started", **ref}, started)

    async def _follow(
        self,
        adapter: ChatAdapter,
        delivery: DeliveryRecord,
        conversation: ConversationRecord,
        decided: Plan,
        message: Message,
    ) -> Outcome:
        address, ref = delivery.address, conversation.ref
        done = []
        shown = conversation.ref.get("said")
        if decided.edit:
            message = keep_story(shown, message)
            ref = await adapter.update(address, ref, message)
            done.append("updated")
            shown = said(message)
        if decided.reply:
            if adapter.can_reply(address, ref):
                started = conversation.ref.get("started_at")
                since = delivery.occurred_at - started if isinstance(started, int | float) else None
                # A reply that edits nothing is the event's only message: it carries
                # the links the first message has not (after an edit, that has them).
                links = [] if decided.edit else new_links(shown, message)
                ref = await adapter.reply(address, ref, thread_reply(message, since, links))
                done.append("replied")
            elif delivery.status is not None and not decided.edit:
                message = keep_story(shown, message)
                ref = await adapter.update(address, ref, message)  # no thread: the edit alone
                done.append("updated")
                shown = said(message)
        if not done:
            posted = await adapter.post(address, message)
            return Outcome({"action": "posted", "why": "no thread to reply in", **posted})
        # ``acted``: the state a click set, so the provider's own webhook for that change
        # (PagerDuty's incident.acknowledged) is folded in without a second reply.
        keys = ("lane", "started_at", "acted") if is_click(delivery) else ("lane", "started_at")
        kept: Ref = {key: conversation.ref[key] for key in keys if key in conversation.ref}
        if is_click(delivery) and delivery.status != conversation.status:
            kept["acted"] = delivery.status
        if shown is not None:
            kept["said"] = shown
        ref = {**ref, **kept}
        after = dataclasses.replace(conversation, ref=ref)
        if delivery.status is not None:
            # A click that leaves the status as it was (Silence, Mute, Re-run) moves no
            # clock: the source's next state, stamped by its own clock before the click
            # reached it (Alertmanager flushes a resolved alert a group_interval later),
            # must still count as newer than what the message showed.
            kept_state = is_click(delivery) and delivery.status == conversation.status
            after = dataclasses.replace(
                after,
                status=delivery.status,
                latest_at=conversation.latest_at if kept_state else delivery.occurred_at,
                ended=delivery.status == "resolved",
            )
        return Outcome({"action": "+".join(done), **ref}, after)
